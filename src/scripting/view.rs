//! The values scripts see: JSON turned into rhai maps, built once per record or seller.

use rhai::{Dynamic, Map};
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
    m.insert("created_on".into(), created_on.to_rfc3339().into());
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
    let mut m = Map::new();
    m.insert("id".into(), id.into());
    m.insert("name".into(), name.into());
    m.insert("attributes".into(), json_to_dynamic(&Value::Object(attributes.clone())));
    m.insert("open_records".into(), Dynamic::from_int(open_records as i64));
    m.insert(
        "available_capacity".into(),
        available_capacity.map(Dynamic::from_int).unwrap_or(Dynamic::UNIT),
    );
    m
}
