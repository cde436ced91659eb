//! The W1 reference workload (`../shared/W1.md`), generated exactly: leads, sellers,
//! segments and rules, and what W1 expects of each lead. The fixture the server's tests
//! and benchmarks share, and what the load driver posts and checks.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Map, Value, json};

use allot::domain::config::{
    AssignTo, Distribution, DistributionMethod, Rule, Segment, Seller, TargetKind, TargetMatch,
};
use allot::domain::record::RecordInput;
use allot::domain::{Id, RecordType};

pub const SEED: u64 = 0x5731_2026_1123_0001;
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
pub const COUNTRIES: [&str; 10] = ["US", "UK", "DE", "FR", "ES", "IT", "NL", "SE", "JP", "BR"];
pub const SOURCES: [&str; 5] = ["web", "referral", "trade show", "partner", "cold call"];
pub const LANGUAGES: [&str; 6] = ["en", "de", "fr", "es", "it", "ja"];
pub const INDUSTRIES: [&str; 8] = [
    "finance",
    "retail",
    "tech",
    "health",
    "manufacturing",
    "energy",
    "education",
    "government",
];
pub const SELLERS: usize = 500;

/// SplitMix64, stream `i` of `seed`.
pub struct SplitMix(u64);

impl SplitMix {
    pub fn stream(seed: u64, i: u64) -> SplitMix {
        SplitMix(seed.wrapping_add(16u64.wrapping_mul(i).wrapping_mul(GAMMA)))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    pub fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len() as u64) as usize]
    }
}

pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single().unwrap_or_default()
}

/// The attributes of lead `i`, drawn in W1.md's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeadAttributes {
    pub country: &'static str,
    pub source: &'static str,
    pub revenue: u64,
    pub language: &'static str,
    pub industry: &'static str,
}

pub fn lead_attributes(i: u64) -> LeadAttributes {
    let mut r = SplitMix::stream(SEED, i);
    LeadAttributes {
        country: r.pick(&COUNTRIES),
        source: r.pick(&SOURCES),
        revenue: r.below(200_000),
        language: r.pick(&LANGUAGES),
        industry: r.pick(&INDUSTRIES),
    }
}

fn created_on(i: u64) -> String {
    (epoch() + Duration::seconds(i as i64)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Lead `i` as JSON, exactly as W1.md posts it.
pub fn lead_json(i: u64) -> Value {
    let a = lead_attributes(i);
    json!({
        "id": format!("lead-{i:07}"),
        "record_type": "lead",
        "name": format!("Lead {i}"),
        "topic": "W1",
        "created_on": created_on(i),
        "attributes": {"country": a.country, "source": a.source, "revenue": a.revenue, "language": a.language, "industry": a.industry}
    })
}

/// Appends lead `i` to `out` as the bytes W1.md posts (no `serde_json::Value` in
/// between: a load driver writes a million of them). Every string written is one of
/// the generator's constants or digits, so nothing needs escaping.
pub fn write_lead_json(i: u64, out: &mut String) {
    use std::fmt::Write;
    let a = lead_attributes(i);
    let _ = write!(
        out,
        r#"{{"id":"lead-{i:07}","record_type":"lead","name":"Lead {i}","topic":"W1","created_on":"{}","attributes":{{"country":"{}","source":"{}","revenue":{},"language":"{}","industry":"{}"}}}}"#,
        created_on(i),
        a.country,
        a.source,
        a.revenue,
        a.language,
        a.industry
    );
}

/// The position (0 = `w1-01` … 20 = `w1-21`) of the segment that takes a lead: W1's 21
/// conditions written out in Rust, so that a driver can check the server's segmentation
/// without running rhai itself.
pub fn expected_segment(a: &LeadAttributes) -> usize {
    let (c, s, r, l, ind) = (a.country, a.source, a.revenue, a.language, a.industry);
    let conditions = [
        c == "US" && r > 100_000,
        c == "UK" && s == "web",
        r > 150_000 && ind == "finance",
        s == "trade show" && ind == "tech",
        ind == "retail" && s == "web" && r > 100_000,
        c == "DE" && l == "de",
        c == "FR" && r > 50_000,
        l == "en" && s == "referral",
        ind == "health" && s != "cold call",
        c == "US" && s != "cold call",
        ind == "manufacturing" && r > 60_000,
        c == "UK" && r > 20_000,
        c == "DE" && ind != "government",
        s == "partner" && r > 80_000,
        c == "ES" && s != "partner",
        c == "IT" && r > 30_000,
        c == "NL" && l != "ja" && s != "cold call",
        c == "SE" && ind != "energy" && r > 40_000,
        c == "JP" && s != "referral",
        c == "BR" && r > 40_000 && ind != "education",
    ];
    conditions.iter().position(|m| *m).unwrap_or(SEGMENTS.len() - 1)
}

/// Whether W1 expects the lead to be assigned by its segment's `-rr` rule (revenue
/// above 50,000: one of the 50 sellers of its country) rather than by `-lb`.
pub fn expects_round_robin(a: &LeadAttributes) -> bool {
    a.revenue > 50_000
}

/// The body of `PUT /api/v1/sellers/s-{j:03}`, exactly as W1.md gives it.
pub fn seller_body(j: usize) -> Value {
    let (_, s) = seller(j);
    json!({
        "name": s.name,
        "email": s.email,
        "roles": s.roles,
        "record_access": ["lead"],
        "attributes": s.attributes,
        "assign_records": true,
        "capacity": s.capacity,
        "availability": null
    })
}

/// The body of `PUT /api/v1/segments/{id}` of segment position `k`.
pub fn segment_body(k: usize) -> Value {
    let (_, name, condition) = SEGMENTS[k];
    json!({
        "name": name,
        "record_type": "lead",
        "priority": k + 1,
        "active": true,
        "condition": condition,
        "sequence_id": null,
        "accept_previously_segmented": false,
        "run_rules_on_move": false
    })
}

/// The two rules of a segment as `(rule id, body of PUT /segments/{seg}/rules/{rule})`.
pub fn rule_bodies(segment: &str) -> [(String, Value); 2] {
    let rr = format!("{segment}-rr");
    let lb = format!("{segment}-lb");
    [
        (
            rr.clone(),
            json!({
                "name": rr, "priority": 1, "active": true, "condition": "record.revenue > 50000",
                "created_within_hours": null, "assignment_window_hours": null,
                "assign_to": {"type": "sellers", "match": "condition", "condition": "seller.attributes.country == record.country", "ids": []},
                "distribution": {"method": "round_robin", "available_within_hours": null, "use_capacity": true, "script": null}
            }),
        ),
        (
            lb.clone(),
            json!({
                "name": lb, "priority": 2, "active": true, "condition": "",
                "created_within_hours": null, "assignment_window_hours": null,
                "assign_to": {"type": "sellers", "match": "any", "condition": null, "ids": []},
                "distribution": {"method": "load_balancing", "available_within_hours": null, "use_capacity": true, "script": null}
            }),
        ),
    ]
}

pub fn lead(i: u64) -> RecordInput {
    let mut r = SplitMix::stream(SEED, i);
    let mut attributes = Map::new();
    attributes.insert("country".into(), r.pick(&COUNTRIES).into());
    attributes.insert("source".into(), r.pick(&SOURCES).into());
    attributes.insert("revenue".into(), r.below(200_000).into());
    attributes.insert("language".into(), r.pick(&LANGUAGES).into());
    attributes.insert("industry".into(), r.pick(&INDUSTRIES).into());
    RecordInput {
        id: Id::parse("id", &format!("lead-{i:07}")).unwrap_or_else(|_| unreachable!("W1 ids are valid")),
        record_type: lead_type(),
        name: format!("Lead {i}"),
        topic: "W1".into(),
        created_on: Some(epoch() + Duration::seconds(i as i64)),
        attributes,
    }
}

pub fn lead_type() -> RecordType {
    RecordType::parse("record_type", "lead").unwrap_or_else(|_| unreachable!("lead is a record type"))
}

fn id(s: &str) -> Id {
    Id::parse("id", s).unwrap_or_else(|_| unreachable!("W1 ids are valid"))
}

/// Seller `j` (`s-000` … `s-499`).
pub fn seller(j: usize) -> (Id, Seller) {
    let mut r = SplitMix::stream(SEED ^ 0x5E11_E500, j as u64);
    let first = r.below(6) as usize;
    let mut languages = vec![LANGUAGES[first]];
    if r.below(2) == 1 {
        languages.push(LANGUAGES[(first + 1 + r.below(5) as usize) % 6]);
    }
    let mut attributes = Map::new();
    attributes.insert("country".into(), COUNTRIES[j % 10].into());
    attributes.insert("language".into(), json!(languages));
    (
        id(&format!("s-{j:03}")),
        Seller {
            name: format!("Seller {j}"),
            email: Some(format!("s-{j:03}@w1.example")),
            roles: vec!["seller".into()],
            record_access: Some(vec![lead_type()]),
            attributes,
            assign_records: true,
            capacity: Some(1_000_000),
            availability: None,
        },
    )
}

/// The 21 segments: (id, priority, name, condition).
pub const SEGMENTS: [(&str, &str, &str); 21] = [
    (
        "w1-01",
        "US enterprise",
        r#"record.country == "US" && record.revenue > 100000"#,
    ),
    ("w1-02", "UK web", r#"record.country == "UK" && record.source == "web""#),
    (
        "w1-03",
        "Big finance",
        r#"record.revenue > 150000 && record.industry == "finance""#,
    ),
    (
        "w1-04",
        "Tech at trade shows",
        r#"record.source == "trade show" && record.industry == "tech""#,
    ),
    (
        "w1-05",
        "Big retail from the web",
        r#"record.industry == "retail" && record.source == "web" && record.revenue > 100000"#,
    ),
    (
        "w1-06",
        "German speakers in DE",
        r#"record.country == "DE" && record.language == "de""#,
    ),
    (
        "w1-07",
        "FR mid-market",
        r#"record.country == "FR" && record.revenue > 50000"#,
    ),
    (
        "w1-08",
        "English referrals",
        r#"record.language == "en" && record.source == "referral""#,
    ),
    (
        "w1-09",
        "Warm health",
        r#"record.industry == "health" && record.source != "cold call""#,
    ),
    (
        "w1-10",
        "Warm US",
        r#"record.country == "US" && record.source != "cold call""#,
    ),
    (
        "w1-11",
        "Manufacturing",
        r#"record.industry == "manufacturing" && record.revenue > 60000"#,
    ),
    ("w1-12", "UK", r#"record.country == "UK" && record.revenue > 20000"#),
    (
        "w1-13",
        "DE",
        r#"record.country == "DE" && record.industry != "government""#,
    ),
    (
        "w1-14",
        "Big partners",
        r#"record.source == "partner" && record.revenue > 80000"#,
    ),
    ("w1-15", "ES", r#"record.country == "ES" && record.source != "partner""#),
    ("w1-16", "IT", r#"record.country == "IT" && record.revenue > 30000"#),
    (
        "w1-17",
        "NL",
        r#"record.country == "NL" && record.language != "ja" && record.source != "cold call""#,
    ),
    (
        "w1-18",
        "SE",
        r#"record.country == "SE" && record.industry != "energy" && record.revenue > 40000"#,
    ),
    (
        "w1-19",
        "JP",
        r#"record.country == "JP" && record.source != "referral""#,
    ),
    (
        "w1-20",
        "BR",
        r#"record.country == "BR" && record.revenue > 40000 && record.industry != "education""#,
    ),
    ("w1-21", "Catch-all", ""),
];

/// W1's segments and rules compiled into a catalog, as the segment actor would publish
/// it (for in-process benchmarks).
pub fn catalog(scripting: &allot::scripting::Scripting) -> allot::pipeline::catalog::SegmentCatalog {
    use allot::pipeline::catalog::{CatalogRule, CatalogSegment, SegmentCatalog};
    use allot::scripting::ScriptPurpose;
    let compile = |purpose, src: Option<&str>| {
        src.and_then(|s| {
            scripting
                .compile(purpose, s)
                .unwrap_or_else(|e| panic!("W1 scripts compile: {e}"))
        })
    };
    let mut cat = SegmentCatalog {
        generation: 1,
        ..Default::default()
    };
    for (id, seg) in segments() {
        let rules = rules(id.as_str())
            .into_iter()
            .map(|(rid, rule)| {
                let condition = compile(ScriptPurpose::RecordCondition, rule.condition.as_deref());
                let target = compile(ScriptPurpose::SellerCondition, rule.assign_to.condition.as_deref());
                CatalogRule::new(rid, rule, condition, target, None)
            })
            .collect();
        let entry = std::sync::Arc::new(CatalogSegment {
            id: id.clone(),
            condition: compile(ScriptPurpose::RecordCondition, seg.condition.as_deref()),
            segment: seg,
            rules,
        });
        cat.by_type.entry(lead_type()).or_default().push(entry.clone());
        cat.segments.insert(id, entry);
    }
    cat
}

/// W1's 500 sellers in a book with no assignments yet.
pub fn book() -> allot::pipeline::book::SellerBook {
    let sellers: Vec<(Id, Seller)> = (0..SELLERS).map(seller).collect();
    let mut book = allot::pipeline::book::SellerBook::new(std::collections::HashMap::new(), 1);
    book.set_config(
        sellers.iter().map(|(id, s)| (id, s)),
        std::iter::empty(),
        std::iter::empty(),
        &allot::domain::config::Settings::default(),
    );
    book
}

pub fn segments() -> Vec<(Id, Segment)> {
    SEGMENTS
        .iter()
        .enumerate()
        .map(|(i, (sid, name, cond))| {
            (
                id(sid),
                Segment {
                    name: (*name).into(),
                    record_type: lead_type(),
                    priority: i as u32 + 1,
                    active: true,
                    condition: Some((*cond).into()),
                    sequence_id: None,
                    accept_previously_segmented: false,
                    run_rules_on_move: false,
                },
            )
        })
        .collect()
}

/// The two rules of a segment: `{seg}-rr` and `{seg}-lb`.
pub fn rules(segment: &str) -> Vec<(Id, Rule)> {
    let rr = Rule {
        name: format!("{segment}-rr"),
        priority: 1,
        active: true,
        condition: Some("record.revenue > 50000".into()),
        created_within_hours: None,
        assignment_window_hours: None,
        assign_to: AssignTo {
            kind: TargetKind::Sellers,
            matching: TargetMatch::Condition,
            condition: Some("seller.attributes.country == record.country".into()),
            ids: Vec::new(),
        },
        distribution: Distribution {
            method: DistributionMethod::RoundRobin,
            available_within_hours: None,
            use_capacity: true,
            script: None,
        },
    };
    let lb = Rule {
        name: format!("{segment}-lb"),
        priority: 2,
        active: true,
        condition: Some(String::new()),
        created_within_hours: None,
        assignment_window_hours: None,
        assign_to: AssignTo {
            kind: TargetKind::Sellers,
            matching: TargetMatch::Any,
            condition: None,
            ids: Vec::new(),
        },
        distribution: Distribution {
            method: DistributionMethod::LoadBalancing,
            available_within_hours: None,
            use_capacity: true,
            script: None,
        },
    };
    vec![(id(&format!("{segment}-rr")), rr), (id(&format!("{segment}-lb")), lb)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_7_is_as_w1_md_posts_it() {
        let expected: Value = serde_json::from_str(
            r#"{"id":"lead-0000007","record_type":"lead","name":"Lead 7","topic":"W1","created_on":"2026-11-01T00:00:07Z","attributes":{"country":"SE","source":"cold call","revenue":138663,"language":"de","industry":"government"}}"#,
        )
        .unwrap();
        assert_eq!(lead_json(7), expected);
    }

    #[test]
    fn lead_7_is_written_byte_for_byte_as_w1_md_posts_it() {
        let mut out = String::new();
        write_lead_json(7, &mut out);
        assert_eq!(
            out,
            r#"{"id":"lead-0000007","record_type":"lead","name":"Lead 7","topic":"W1","created_on":"2026-11-01T00:00:07Z","attributes":{"country":"SE","source":"cold call","revenue":138663,"language":"de","industry":"government"}}"#
        );
        for i in [0, 1, 999, 1000, 123_456, 999_999, 1_000_000, 12_345_678] {
            out.clear();
            write_lead_json(i, &mut out);
            assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), lead_json(i), "lead {i}");
        }
    }

    #[test]
    fn seller_7_body_is_as_w1_md_puts_it() {
        let expected: Value = serde_json::from_str(
            r#"{"name":"Seller 7","email":"s-007@w1.example","roles":["seller"],"record_access":["lead"],"attributes":{"country":"SE","language":["it"]},"assign_records":true,"capacity":1000000,"availability":null}"#,
        )
        .unwrap();
        assert_eq!(seller_body(7), expected);
    }

    #[test]
    fn expected_segments_take_w1_md_shares() {
        // W1.md's share column, in per mille of leads (rounded as the table is).
        let shares = [
            50.0, 20.0, 27.5, 23.8, 10.0, 15.5, 68.7, 28.3, 79.7, 32.3, 65.0, 51.3, 49.5, 51.5, 56.7, 50.8, 37.8, 38.4,
            50.9, 38.4, 154.0,
        ];
        let n = 200_000u64;
        let mut counts = [0u64; 21];
        let mut rr = 0u64;
        for i in 0..n {
            let a = lead_attributes(i);
            counts[expected_segment(&a)] += 1;
            rr += u64::from(expects_round_robin(&a));
        }
        for (k, (count, share)) in counts.iter().zip(shares).enumerate() {
            let got = *count as f64 * 1000.0 / n as f64;
            assert!(
                (got - share).abs() < 2.0,
                "segment w1-{:02}: {got:.1} per mille, W1.md {share}",
                k + 1
            );
        }
        let rr_share = rr as f64 / n as f64;
        assert!((rr_share - 0.75).abs() < 0.005, "-rr share {rr_share}");
    }

    #[test]
    fn seller_7_is_as_w1_md_puts_it() {
        let (id, s) = seller(7);
        assert_eq!(id.as_str(), "s-007");
        assert_eq!(s.attributes["country"], "SE");
        assert_eq!(s.attributes["language"], json!(["it"]));
        let two = (0..SELLERS)
            .filter(|j| seller(*j).1.attributes["language"].as_array().map(Vec::len) == Some(2))
            .count();
        assert_eq!(two, 267, "W1.md: 267 of 500 sellers have two languages");
    }
}
