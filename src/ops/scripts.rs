//! Script operations: `POST /api/v1/scripts/check` compiles a script, checks it against
//! its record type's schema and runs it on sample values the way the pipeline would.
//!
//! [`evaluate`] is the whole check as a plain function (no actors, no IO), so the
//! `scripts/` catalogue test runs its cases through the same code the endpoint does;
//! [`check_script`] adds the role check, the schema lookup and a blocking thread.

use chrono::{DateTime, Utc};
use rhai::{Array, Dynamic, Map};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::{Permission, Principal};
use crate::domain::config::{Attributes, RecordTypeSchema, Seller};
use crate::domain::record::record_fields;
use crate::domain::{Id, RecordType};
use crate::error::Error;
use crate::ops::config::{ConfigKind, fetch};
use crate::scripting::{
    Bindings, ScriptError, ScriptErrorKind, ScriptPurpose, Scripting, analyse, api_time, json_to_dynamic, record_map,
    seller_map,
};
use crate::state::AppState;

/// The name script errors of a check carry in `details.script`: the body field.
const SCRIPT_FIELD: &str = "source";

/// What the script is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// A segment or rule condition over `record`.
    Condition,
    /// A rule's target condition over `record` and `seller`.
    SellerCondition,
    /// A distribution script defining `fn distribute(record, candidates)`.
    Distribution,
}

impl CheckKind {
    pub fn purpose(self) -> ScriptPurpose {
        match self {
            CheckKind::Condition => ScriptPurpose::RecordCondition,
            CheckKind::SellerCondition => ScriptPurpose::SellerCondition,
            CheckKind::Distribution => ScriptPurpose::Distribution,
        }
    }
}

/// The body of `POST /api/v1/scripts/check`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptCheck {
    pub kind: CheckKind,
    pub source: String,
    /// A sample record, in the shape `POST /records` takes.
    #[serde(default)]
    pub record: Option<RecordSample>,
    /// A sample seller, in the shape `PUT /sellers/{id}` takes plus `id` and optionally
    /// `open_records` (default 0), for seller conditions.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub seller: Option<Value>,
    /// Sample candidates, for distributions.
    #[serde(default)]
    pub candidates: Option<Vec<CandidateSample>>,
    /// The record type whose schema the script is checked against; defaults to
    /// `record.record_type`.
    #[serde(default)]
    pub record_type: Option<RecordType>,
}

impl ScriptCheck {
    /// The record type named by the body or its sample record (they must agree).
    pub fn record_type(&self) -> Result<Option<&RecordType>, Error> {
        let from_record = self.record.as_ref().and_then(|r| r.record_type.as_ref());
        match (&self.record_type, from_record) {
            (Some(a), Some(b)) if a != b => Err(Error::validation(
                "record.record_type",
                format!("the sample record is a {b} but record_type says {a}"),
            )),
            (Some(a), _) => Ok(Some(a)),
            (None, b) => Ok(b),
        }
    }
}

record_fields! {
    /// A record as `POST /records` takes it; everything but the attributes may be left out.
    // The id is any string, not an `Id`: a script sees it as `record.id` only, and the
    // check has always taken any.
    #[derive(Clone, Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct RecordSample {
        #[serde(default)]
        pub id: Option<String>,
        #[serde(default)]
        pub record_type: Option<RecordType>,
    }
    created_on = " Defaults to now, so `age_hours` is 0."
}

impl RecordSample {
    /// The `record` a script sees.
    pub fn to_map(&self, record_type: Option<&RecordType>, now: DateTime<Utc>) -> Map {
        record_map(
            self.id.as_deref().unwrap_or("sample"),
            record_type.map(RecordType::as_str).unwrap_or(""),
            &self.name,
            &self.topic,
            self.created_on.unwrap_or(now),
            now,
            &self.attributes,
        )
    }
}

fn default_true() -> bool {
    true
}

/// A candidate as a distribution script sees it (API.md, "Segments and assignment rules").
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CandidateSample {
    pub id: Id,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: Attributes,
    #[serde(default)]
    pub open_records: u64,
    /// Null (the default) means unlimited.
    #[serde(default)]
    pub available_capacity: Option<i64>,
    /// Null (the default) means never assigned.
    #[serde(default)]
    pub last_assigned_at: Option<DateTime<Utc>>,
    #[serde(default = "default_true")]
    pub available_now: bool,
}

impl CandidateSample {
    pub fn to_map(&self) -> Map {
        let mut m = Map::new();
        m.insert("id".into(), self.id.as_str().into());
        m.insert("name".into(), self.name.as_str().into());
        m.insert(
            "attributes".into(),
            json_to_dynamic(&Value::Object(self.attributes.clone())),
        );
        m.insert("open_records".into(), Dynamic::from_int(clamp_i64(self.open_records)));
        m.insert(
            "available_capacity".into(),
            self.available_capacity.map(Dynamic::from_int).unwrap_or(Dynamic::UNIT),
        );
        m.insert(
            "last_assigned_at".into(),
            self.last_assigned_at
                .map(|t| Dynamic::from(api_time(t)))
                .unwrap_or(Dynamic::UNIT),
        );
        m.insert("available_now".into(), Dynamic::from_bool(self.available_now));
        m
    }
}

fn clamp_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The `seller` a seller condition sees, from a sample in the `PUT /sellers` shape plus
/// `id` and `open_records`.
pub fn seller_sample(sample: &Value) -> Result<Map, Error> {
    let Value::Object(fields) = sample else {
        return Err(Error::validation("seller", "a seller sample is an object"));
    };
    let mut fields = fields.clone();
    let id = match fields.remove("id") {
        Some(Value::String(s)) => Id::parse("seller.id", &s)?,
        Some(_) => return Err(Error::validation("seller.id", "an id is a string")),
        None => return Err(Error::validation("seller.id", "a seller sample needs its id")),
    };
    let open_records = match fields.remove("open_records") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_u64()
            .ok_or_else(|| Error::validation("seller.open_records", "open_records is an integer of at least 0"))?,
    };
    let seller: Seller = serde_path_to_error::deserialize(Value::Object(fields)).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "seller".to_string()
        } else {
            format!("seller.{path}")
        };
        Error::validation(field, e.into_inner().to_string())
    })?;
    seller
        .validate()
        .map_err(|e| Error::validation(format!("seller.{}", e.field), e.message))?;
    let available = seller
        .capacity
        .map(|c| clamp_i64(c).saturating_sub(clamp_i64(open_records)));
    Ok(seller_map(
        id.as_str(),
        &seller.name,
        &seller.attributes,
        open_records,
        available,
    ))
}

/// The answer of a check.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ScriptCheckAnswer {
    pub ok: bool,
    /// The condition's answer (true/false), the distribution's chosen candidate id (or
    /// null for none); null when no samples were given.
    pub result: Value,
    pub reads: ReadsView,
}

/// What the script reads (see `scripting::analysis`).
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct ReadsView {
    /// Record fields read by name.
    pub record_fields: Vec<String>,
    /// The record is used other than by named fields: a seller condition reading it so
    /// cannot be memoised per record fields.
    pub dynamic: bool,
    /// Top-level seller fields read by name.
    pub seller_fields: Vec<String>,
    /// Reads `open_records` or `available_capacity` (answers change as records are assigned).
    pub reads_counters: bool,
    /// Calls the clock (`timestamp()`) or a function named at run time.
    pub nondeterministic: bool,
}

/// Refuses a `(field, given)` sample that a `kind` of script does not see: giving it is a
/// mistake worth saying.
fn not_seen(kind: &str, (field, given): (&str, bool)) -> Result<(), Error> {
    if given {
        return Err(Error::validation(
            field,
            format!("a {kind} does not see a {field} sample; leave it out"),
        ));
    }
    Ok(())
}

/// Whether a `kind` that runs with a record sample and a `(with, given)` one is given both
/// (it runs) or neither (it is only compiled); one without the other is refused.
fn record_and(kind: &str, record: bool, (with, given): (&str, bool)) -> Result<bool, Error> {
    let missing = |field: &str, other: &str| {
        Error::validation(
            field,
            format!("a {kind} runs with a {other} sample and a {field} sample"),
        )
    };
    match (record, given) {
        (true, false) => Err(missing(with, "record")),
        (false, true) => Err(missing("record", with)),
        (both, _) => Ok(both),
    }
}

/// Checks that the sample record's declared attributes have their declared types, as
/// ingest would (and, when the schema is strict, that it declares every attribute).
fn check_sample_against_schema(sample: &RecordSample, rt: &RecordType, schema: &RecordTypeSchema) -> Result<(), Error> {
    for (name, value) in &sample.attributes {
        match schema.attributes.get(name) {
            Some(t) if !value.is_null() && !t.matches(value) => {
                let t = serde_json::to_value(t)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                return Err(Error::validation(
                    format!("record.attributes.{name}"),
                    format!("{name} is declared {t} in the schema of {rt}"),
                ));
            }
            None if schema.strict => {
                return Err(Error::validation(
                    format!("record.attributes.{name}"),
                    format!("{name} is not declared in the strict schema of {rt}"),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The check itself: compile `check.source` for its kind, check it against `schema`
/// (the schema of the record type, if it has one), and run it when samples are given.
/// `now` is the instant `age_hours` is measured at.
pub fn evaluate(
    scripting: &Scripting,
    check: ScriptCheck,
    schema: Option<(&RecordType, &RecordTypeSchema)>,
    now: DateTime<Utc>,
) -> Result<ScriptCheckAnswer, Error> {
    let kind_name = match check.kind {
        CheckKind::Condition => "condition",
        CheckKind::SellerCondition => "seller condition",
        CheckKind::Distribution => "distribution",
    };
    // Which samples the kind runs with, and whether they are all given (then it runs).
    let record = check.record.is_some();
    let seller = ("seller", check.seller.is_some());
    let candidates = ("candidates", check.candidates.is_some());
    let run = match check.kind {
        CheckKind::Condition => {
            not_seen(kind_name, seller)?;
            not_seen(kind_name, candidates)?;
            record
        }
        CheckKind::SellerCondition => {
            not_seen(kind_name, candidates)?;
            record_and(kind_name, record, seller)?
        }
        CheckKind::Distribution => {
            not_seen(kind_name, seller)?;
            record_and(kind_name, record, candidates)?
        }
    };
    let record_type = check.record_type()?.cloned();
    if let (Some(sample), Some((rt, schema))) = (&check.record, schema) {
        check_sample_against_schema(sample, rt, schema)?;
    }
    let seller = check.seller.as_ref().map(seller_sample).transpose()?;

    let script = scripting
        .compile(check.kind.purpose(), &check.source)
        .map_err(|e| e.in_script(SCRIPT_FIELD))?;
    let Some(script) = script else {
        if check.kind == CheckKind::Distribution {
            return Err(ScriptError::new(
                ScriptErrorKind::Syntax,
                "a distribution script defines fn distribute(record, candidates)",
            )
            .in_script(SCRIPT_FIELD)
            .into());
        }
        // An empty condition is true.
        return Ok(ScriptCheckAnswer {
            ok: true,
            result: if run { Value::Bool(true) } else { Value::Null },
            reads: ReadsView::default(),
        });
    };
    if let Some((rt, schema)) = schema {
        crate::scripting::check_schema(&script, rt.as_str(), schema).map_err(|e| e.in_script(SCRIPT_FIELD))?;
    }
    let reads = analyse(&script);
    let reads = ReadsView {
        record_fields: reads.record_fields.into_iter().collect(),
        dynamic: reads.record_dynamic,
        seller_fields: reads.seller_fields.into_iter().collect(),
        reads_counters: reads.reads_counters,
        nondeterministic: reads.nondeterministic,
    };
    let result = match (run, check.record) {
        (true, Some(sample)) => {
            let record = sample.to_map(record_type.as_ref(), now);
            run_script(scripting, &script, check.kind, record, seller, check.candidates)
                .map_err(|e| e.in_script(SCRIPT_FIELD))?
        }
        _ => Value::Null,
    };
    Ok(ScriptCheckAnswer {
        ok: true,
        result,
        reads,
    })
}

fn run_script(
    scripting: &Scripting,
    script: &crate::scripting::Script,
    kind: CheckKind,
    record: Map,
    seller: Option<Map>,
    candidates: Option<Vec<CandidateSample>>,
) -> Result<Value, ScriptError> {
    match kind {
        CheckKind::Condition | CheckKind::SellerCondition => {
            let mut bindings = Bindings::new(record);
            if let Some(seller) = seller {
                bindings.set_target("seller", Dynamic::from_map(seller));
            }
            scripting.eval_condition_in(script, &mut bindings).map(Value::Bool)
        }
        CheckKind::Distribution => {
            let candidates = candidates.unwrap_or_default();
            let array: Array = candidates.iter().map(|c| Dynamic::from_map(c.to_map())).collect();
            match scripting.call_distribution(script, record, array)? {
                None => Ok(Value::Null),
                Some(id) if candidates.iter().any(|c| c.id.as_str() == id) => Ok(Value::String(id)),
                Some(id) => Err(ScriptError::new(
                    ScriptErrorKind::Runtime,
                    format!("distribute answered {id:?}, which is not one of the candidates"),
                )),
            }
        }
    }
}

/// `POST /api/v1/scripts/check`.
///
/// Role: `Configure` (administrators, sales managers) or `ManageSequences` (sequence
/// managers). The check changes nothing, but it compiles and runs admin-written code on
/// the server (bounded by the sandbox: operations, sizes, 100 ms of wall time), so the
/// read-only roles, `reader` and `integration`, may not call it. Sequence managers may:
/// they connect sequences to segments and need to see what a segment's condition does.
pub async fn check_script(s: &AppState, who: &Principal, check: ScriptCheck) -> Result<ScriptCheckAnswer, Error> {
    who.require(Permission::Configure)
        .or_else(|_| who.require(Permission::ManageSequences))?;
    let record_type = check.record_type()?.cloned();
    let schema = match &record_type {
        Some(rt) => schema_of(s, rt).await?,
        None => None,
    };
    let scripting = s.scripting.clone();
    let now = s.clock.now();
    // Compiling and running take up to the sandbox's wall time: off the async workers.
    tokio::task::spawn_blocking(move || {
        let schema = record_type.as_ref().zip(schema.as_ref());
        evaluate(&scripting, check, schema, now)
    })
    .await
    .map_err(|e| Error::Internal(format!("script check task: {e}")))?
}

/// The schema of `rt`, if it has one.
async fn schema_of(s: &AppState, rt: &RecordType) -> Result<Option<RecordTypeSchema>, Error> {
    match fetch::<RecordTypeSchema>(s, RecordTypeSchema::parse_id(rt.as_str())?).await {
        Ok(schema) => Ok(Some(schema)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::RecordInput;
    use crate::json::parse_json;

    fn check_with_record(record: Value) -> Result<ScriptCheck, Error> {
        let body = serde_json::json!({"kind": "condition", "source": "true", "record": record});
        parse_json::<ScriptCheck>(body.to_string().as_bytes())
    }

    fn refusal(r: Result<impl std::fmt::Debug, Error>) -> (String, String) {
        match r {
            Err(Error::Validation(crate::domain::Invalid { field, message })) => (field, message),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_sample_record_may_leave_out_or_null_its_id_and_type_and_give_any_id() -> Result<(), Error> {
        let empty = check_with_record(serde_json::json!({}))?;
        let sample = empty.record.as_ref().expect("the record sample");
        assert_eq!((sample.id.as_deref(), sample.record_type.as_ref()), (None, None));
        assert!(sample.name.is_empty() && sample.created_on.is_none() && sample.attributes.is_empty());

        let nulls = check_with_record(serde_json::json!({"id": null, "record_type": null, "created_on": null}))?;
        assert!(nulls.record.is_some_and(|r| r.id.is_none() && r.record_type.is_none()));

        // Not an id a record could have; the sample takes it as the script will see it.
        let any_id = check_with_record(serde_json::json!({"id": "not an id!"}))?;
        assert_eq!(any_id.record.and_then(|r| r.id).as_deref(), Some("not an id!"));
        Ok(())
    }

    /// The shared fields are declared once (`record_fields!`); a sample refuses what a
    /// record refuses, naming the same field with the same message.
    #[test]
    fn a_sample_record_refuses_unknown_fields_and_wrong_types_like_a_record() {
        let record = |extra: Value| {
            let mut r = serde_json::json!({"id": "lead-1", "record_type": "lead"});
            if let (Value::Object(r), Value::Object(extra)) = (&mut r, extra) {
                r.extend(extra);
            }
            parse_json::<RecordInput>(r.to_string().as_bytes())
        };

        let (field, message) = refusal(check_with_record(serde_json::json!({"nmae": "Ann"})));
        assert_eq!(field, "record.nmae");
        assert_eq!(
            message,
            "unknown field `nmae`, expected one of `id`, `record_type`, `name`, `topic`, `created_on`, `attributes`"
        );
        assert_eq!(refusal(record(serde_json::json!({"nmae": "Ann"}))).1, message);

        for (extra, name) in [
            (serde_json::json!({"name": 5}), "name"),
            (serde_json::json!({"topic": []}), "topic"),
            (serde_json::json!({"created_on": "yesterday"}), "created_on"),
            (serde_json::json!({"attributes": "x"}), "attributes"),
        ] {
            let (field, message) = refusal(check_with_record(extra.clone()));
            assert_eq!(field, format!("record.{name}"));
            assert_eq!(refusal(record(extra)), (name.to_string(), message));
        }

        // A wrong type of the id or type is the sample's own rule: a string or null.
        let (field, message) = refusal(check_with_record(serde_json::json!({"id": 5})));
        assert_eq!(
            (field.as_str(), message.as_str()),
            ("record.id", "invalid type: integer `5`, expected a string")
        );
        assert_eq!(
            refusal(check_with_record(serde_json::json!({"record_type": "Lead"}))).0,
            "record.record_type"
        );
    }

    /// Each kind's samples: the ones it cannot see are refused first, then one of a
    /// needed pair without the other; both (or none) pass.
    #[test]
    fn each_kind_runs_with_its_own_samples_only() {
        let scripting = Scripting::new();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let source = |kind: &str| {
            if kind == "distribution" {
                "fn distribute(record, candidates) { () }"
            } else {
                "true"
            }
        };
        let outcome = |kind: &str, record: bool, seller: bool, candidates: bool| {
            let mut body = serde_json::json!({"kind": kind, "source": source(kind)});
            if record {
                body["record"] = serde_json::json!({});
            }
            if seller {
                body["seller"] = serde_json::json!({"id": "s1", "name": "Sam"});
            }
            if candidates {
                body["candidates"] = serde_json::json!([{"id": "s1"}]);
            }
            let check = parse_json::<ScriptCheck>(body.to_string().as_bytes())?;
            evaluate(&scripting, check, None, now).map(|a| a.result)
        };
        // The samples given (record, seller, candidates) and the refused one, if any,
        // with the sample it lacks its partner of.
        let cases = [
            ("condition", "r s", Some(("seller", None))),
            ("condition", "r c", Some(("candidates", None))),
            ("condition", "r", None),
            ("seller_condition", "r s c", Some(("candidates", None))),
            ("seller_condition", "r", Some(("seller", Some("record")))),
            ("seller_condition", "s", Some(("record", Some("seller")))),
            ("seller_condition", "r s", None),
            ("distribution", "r s c", Some(("seller", None))),
            ("distribution", "r", Some(("candidates", Some("record")))),
            ("distribution", "c", Some(("record", Some("candidates")))),
            ("distribution", "r c", None),
            ("distribution", "", None),
        ];
        for (kind, given, expected) in cases {
            let has = |sample: &str| given.split(' ').any(|g| g == sample);
            let got = outcome(kind, has("r"), has("s"), has("c"));
            let name = kind.replace('_', " ");
            let Some((field, partner)) = expected else {
                assert!(got.is_ok(), "{kind} with {given:?}: {got:?}");
                continue;
            };
            let message = match partner {
                None => format!("a {name} does not see a {field} sample; leave it out"),
                Some(partner) => format!("a {name} runs with a {partner} sample and a {field} sample"),
            };
            assert_eq!(refusal(got), (field.to_string(), message), "{kind} with {given:?}");
        }
    }
}
