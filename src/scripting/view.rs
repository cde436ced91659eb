//! The values scripts see: JSON turned into rhai maps, built once per record or seller,
//! and [`Bindings`], the scope many conditions are evaluated in without copying them.
//!
//! # Why `Bindings`
//! Building a record's `Map` from JSON costs more than evaluating a condition over it
//! (~1.2 µs against ~0.5 µs, DESIGN.md), and a record meets ~13 segment conditions and
//! then rule and seller conditions. [`Scripting::eval_condition`] takes its variables as
//! `&[(&str, Dynamic)]` and must clone each into a fresh `Scope`: for a `Map` that is a
//! deep copy per evaluation, as costly as building it. [`Bindings`] holds the record in
//! a `Scope` as a *constant*, once; [`Scripting::eval_condition_in`] evaluates in that
//! scope and rewinds it afterwards (dropping the script's own `let`s), so no evaluation
//! copies the record. Reading `record.x` in rhai borrows the scope entry in place
//! (`eval/chaining.rs`), and rhai refuses to change a constant (assignment, `+=`,
//! non-pure methods, closures that capture it: `ErrorAssignmentToConstant` /
//! `ErrorNonPureMethodCallOnConstant`), so one script cannot alter what the next sees.
//!
//! The alternative, a shared value (`Dynamic::into_shared`, an `Arc<RwLock>` under
//! `sync`), makes passing the record cheap but takes a *write* lock on every property
//! read (rhai locks shared chain targets for writing), which serialises threads that
//! evaluate against the same value and costs a lock per read. The micro-check
//! `binding_costs` in `engine.rs` (`cargo test --lib binding_costs -- --ignored
//! --nocapture`) measures the three ways. In four runs on the shared 2-core machine
//! (debug build, dependencies at opt-level 1, a 3-field condition over an 11-field
//! record) a cloned map cost 2.4–6.1 µs per evaluation, a shared record 2.3–3.5 µs and
//! `Bindings` 1.7–2.5 µs, the cheapest in every run. Only the order is meant; release
//! builds are several times faster.
//!
//! For seller conditions the seller changes while the record stays: bind it with
//! [`Bindings::set_target`]. A caller that keeps each seller's map as a shared value
//! (built once per seller edit) binds it for the price of an `Arc` clone.
//!
//! [`Scripting::eval_condition`]: super::Scripting::eval_condition
//! [`Scripting::eval_condition_in`]: super::Scripting::eval_condition_in

use rhai::{Dynamic, Map, Scope};
use serde_json::Value;

/// JSON to rhai: numbers that are whole stay integers, others are floats.
pub fn json_to_dynamic(v: &Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Dynamic::from(s.clone()),
        Value::Array(a) => Dynamic::from_array(a.iter().map(json_to_dynamic).collect()),
        Value::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(k.as_str().into(), json_to_dynamic(v));
            }
            Dynamic::from_map(m)
        }
    }
}

/// A time as scripts see it: the API's RFC 3339 form (`2026-11-23T09:00:00Z`, fractions
/// only when present), so a script compares the same strings clients send and read.
pub fn api_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// The `record` a script sees: built-in fields plus every attribute as a field.
pub fn record_map(
    id: &str,
    record_type: &str,
    name: &str,
    topic: &str,
    created_on: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    attributes: &serde_json::Map<String, Value>,
) -> Map {
    let mut m = Map::new();
    for (k, v) in attributes {
        m.insert(k.as_str().into(), json_to_dynamic(v));
    }
    m.insert("id".into(), id.into());
    m.insert("record_type".into(), record_type.into());
    m.insert("name".into(), name.into());
    m.insert("topic".into(), topic.into());
    m.insert("created_on".into(), api_time(created_on).into());
    let age = (now - created_on).num_seconds() as f64 / 3600.0;
    m.insert("age_hours".into(), Dynamic::from_float(age));
    m
}

/// The `seller` a target condition sees.
pub fn seller_map(
    id: &str,
    name: &str,
    attributes: &serde_json::Map<String, Value>,
    open_records: u64,
    available_capacity: Option<i64>,
) -> Map {
    let mut m = target_map(id, name, attributes);
    add_seller_counters(&mut m, open_records, available_capacity);
    m
}

/// A seller, team or queue as a script sees it, without counters: `id`, `name`,
/// `attributes`.
pub fn target_map(id: &str, name: &str, attributes: &serde_json::Map<String, Value>) -> Map {
    let mut m = Map::new();
    m.insert("id".into(), id.into());
    m.insert("name".into(), name.into());
    m.insert("attributes".into(), json_to_dynamic(&Value::Object(attributes.clone())));
    m
}

/// Adds a seller's `open_records` and `available_capacity` (`()` when unlimited).
pub fn add_seller_counters(m: &mut Map, open_records: u64, available_capacity: Option<i64>) {
    m.insert("open_records".into(), Dynamic::from_int(open_records as i64));
    m.insert(
        "available_capacity".into(),
        available_capacity.map(Dynamic::from_int).unwrap_or(Dynamic::UNIT),
    );
}

/// The variables of one evaluation context: `record`, pushed once, and optionally one
/// target (`seller`, `team` or `queue`). Every variable is a constant, so scripts read it
/// in place and cannot change it. See the module documentation for why.
pub struct Bindings {
    /// Index 0 is `record`; index 1, when present, is the target.
    scope: Scope<'static>,
}

impl Bindings {
    /// Bindings with `record` in scope.
    pub fn new(record: Map) -> Bindings {
        let mut scope = Scope::new();
        scope.push_constant_dynamic("record", Dynamic::from_map(record));
        Bindings { scope }
    }

    /// Binds `name` (`seller`, `team` or `queue`) to `value` for the following
    /// evaluations, replacing the target bound before.
    pub fn set_target(&mut self, name: &'static str, value: Dynamic) {
        self.scope.rewind(1);
        self.scope.push_constant_dynamic(name, value);
    }

    /// Leaves only `record` bound.
    pub fn clear_target(&mut self) {
        self.scope.rewind(1);
    }

    /// The bound `record` map, taken back (to hand to another thread's bindings).
    pub fn into_map(mut self) -> Map {
        self.scope.remove::<Map>("record").unwrap_or_default()
    }

    /// The bound `record`.
    pub fn record(&self) -> Option<&Dynamic> {
        self.scope.get("record")
    }

    pub(super) fn scope_mut(&mut self) -> &mut Scope<'static> {
        &mut self.scope
    }
}
