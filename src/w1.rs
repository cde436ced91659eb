//! The W1 reference workload (`../shared/W1.md`), generated exactly: leads, sellers,
//! segments and rules. Used by the benchmarks and the load driver.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Map, Value, json};

use crate::domain::config::{
    AssignTo, Distribution, DistributionMethod, Rule, Segment, Seller, TargetKind, TargetMatch,
};
use crate::domain::record::RecordInput;
use crate::domain::{Id, RecordType};

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

/// Lead `i` as JSON, exactly as W1.md posts it.
pub fn lead_json(i: u64) -> Value {
    let mut r = SplitMix::stream(SEED, i);
    let country = r.pick(&COUNTRIES);
    let source = r.pick(&SOURCES);
    let revenue = r.below(200_000);
    let language = r.pick(&LANGUAGES);
    let industry = r.pick(&INDUSTRIES);
    json!({
        "id": format!("lead-{i:07}"),
        "record_type": "lead",
        "name": format!("Lead {i}"),
        "topic": "W1",
        "created_on": (epoch() + Duration::seconds(i as i64)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "attributes": {"country": country, "source": source, "revenue": revenue, "language": language, "industry": industry}
    })
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
