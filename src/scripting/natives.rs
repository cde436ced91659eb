//! Native helpers registered with the engine, mainly for distribution scripts. A loop
//! over 50 candidates costs ~22 µs in rhai and ~2.5 µs as a native function (DESIGN.md),
//! so the common choices are offered natively. Documented for admins in
//! `scripts/README.md`.
//!
//! Every helper is pure (same arguments, same answer): the analysis in
//! [`super::analysis`] relies on that when it memoises conditions. The arrays are taken
//! by reference (`&mut Array` in a function rhai knows is pure), so calling a helper
//! does not copy the candidates.

use std::cmp::Ordering;

use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position};

pub fn register(engine: &mut Engine) {
    engine.register_fn("min_by_key", |items: &mut Array, key: &str| {
        pick_by_key(items, key, Ordering::Less, "min_by_key")
    });
    engine.register_fn("max_by_key", |items: &mut Array, key: &str| {
        pick_by_key(items, key, Ordering::Greater, "max_by_key")
    });
    engine.register_fn("covers", |have: &mut Array, need: Dynamic| covers(have, &need));
}

fn runtime(message: String) -> Box<EvalAltResult> {
    // rhai fills in the position of the call.
    EvalAltResult::ErrorRuntime(message.into(), Position::NONE).into()
}

/// The first map of `items` whose `key` is least (`Less`) or greatest (`Greater`), or
/// `()` when no map has a value there. Maps whose `key` is missing or `()` are skipped
/// (`available_capacity` and `last_assigned_at` are `()` for "unlimited" and "never").
/// Numbers compare as numbers, strings as strings; anything else is an error.
fn pick_by_key(items: &mut Array, key: &str, want: Ordering, name: &str) -> Result<Dynamic, Box<EvalAltResult>> {
    let mut best: Option<(usize, Dynamic)> = None;
    for (i, item) in items.iter().enumerate() {
        let Some(map) = item.read_lock::<Map>() else {
            return Err(runtime(format!(
                "{name}: item {i} is a {}, not a map",
                item.type_name()
            )));
        };
        let Some(value) = map.get(key).filter(|v| !v.is_unit()) else {
            continue;
        };
        let order = match &best {
            None => compare(value, value),
            Some((_, b)) => compare(value, b),
        };
        match order {
            None => {
                let with = best
                    .as_ref()
                    .map(|(_, b)| format!(" with {} values", b.type_name()))
                    .unwrap_or_default();
                return Err(runtime(format!(
                    "{name}: item {i} has a {} {key}, which does not compare{with}; \
                     use numbers or strings",
                    value.type_name()
                )));
            }
            Some(o) if best.is_none() || o == want => best = Some((i, value.clone())),
            Some(_) => {}
        }
    }
    Ok(best.map(|(i, _)| items[i].clone()).unwrap_or(Dynamic::UNIT))
}

fn compare(a: &Dynamic, b: &Dynamic) -> Option<Ordering> {
    if let (Ok(x), Ok(y)) = (a.as_int(), b.as_int()) {
        return Some(x.cmp(&y));
    }
    let number = |d: &Dynamic| d.as_int().map(|i| i as f64).or_else(|_| d.as_float()).ok();
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x.partial_cmp(&y);
    }
    if let (Some(x), Some(y)) = (a.read_lock::<ImmutableString>(), b.read_lock::<ImmutableString>()) {
        return Some(x.as_str().cmp(y.as_str()));
    }
    None
}

/// Whether `have` contains `need`, or every element of `need` when it is an array.
fn covers(have: &mut Array, need: &Dynamic) -> bool {
    match need.read_lock::<Array>() {
        Some(needs) => needs.iter().all(|n| have.iter().any(|h| same(h, n))),
        None => have.iter().any(|h| same(h, need)),
    }
}

/// Equality of the plain values attributes hold: strings, numbers, bools, characters.
fn same(a: &Dynamic, b: &Dynamic) -> bool {
    if let (Some(x), Some(y)) = (a.read_lock::<ImmutableString>(), b.read_lock::<ImmutableString>()) {
        return x.as_str() == y.as_str();
    }
    if let (Ok(x), Ok(y)) = (a.as_bool(), b.as_bool()) {
        return x == y;
    }
    if let (Ok(x), Ok(y)) = (a.as_char(), b.as_char()) {
        return x == y;
    }
    compare(a, b) == Some(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use rhai::Scope;

    use crate::scripting::{ScriptErrorKind, ScriptPurpose, Scripting};

    fn run(src: &str) -> Result<Option<String>, crate::scripting::ScriptError> {
        let s = Scripting::new();
        let script = s
            .compile(ScriptPurpose::Distribution, src)
            .unwrap_or_else(|e| panic!("{src:?} should compile: {e}"))
            .unwrap_or_else(|| panic!("not empty"));
        let candidates: rhai::Array = rhai::Engine::new()
            .eval_with_scope(
                &mut Scope::new(),
                r#"[
                    #{id: "a", open_records: 4, available_capacity: 2, last_assigned_at: "2026-11-20T10:00:00Z"},
                    #{id: "b", open_records: 1, available_capacity: (), last_assigned_at: ()},
                    #{id: "c", open_records: 1, available_capacity: 7.5, last_assigned_at: "2026-11-19T10:00:00Z"},
                ]"#,
            )
            .unwrap_or_default();
        s.call_distribution(&script, rhai::Map::new(), candidates)
    }

    #[test]
    fn min_and_max_by_key_pick_the_first_extreme() {
        let pick = |expr: &str| run(&format!("fn distribute(record, candidates) {{ {expr} }}"));
        assert_eq!(
            pick(r#"min_by_key(candidates, "open_records")?.id"#).ok(),
            Some(Some("b".into()))
        );
        assert_eq!(
            pick(r#"max_by_key(candidates, "open_records")?.id"#).ok(),
            Some(Some("a".into()))
        );
        // `()` is skipped; an integer and a float compare as numbers.
        assert_eq!(
            pick(r#"max_by_key(candidates, "available_capacity")?.id"#).ok(),
            Some(Some("c".into()))
        );
        assert_eq!(
            pick(r#"min_by_key(candidates, "last_assigned_at")?.id"#).ok(),
            Some(Some("c".into()))
        );
        assert_eq!(pick(r#"min_by_key(candidates, "nothing")?.id"#).ok(), Some(None));
        assert_eq!(pick(r#"min_by_key([], "open_records")?.id"#).ok(), Some(None));
    }

    #[test]
    fn mixed_or_unordered_keys_are_an_error_with_a_position() {
        let e = run("fn distribute(record, candidates) {\n  min_by_key([#{k: 1}, #{k: \"x\"}], \"k\")\n}")
            .expect_err("a string does not compare with numbers");
        assert_eq!(e.kind, ScriptErrorKind::Runtime);
        assert!(e.message.contains("min_by_key"), "{}", e.message);
        assert!(e.line.is_some(), "the error has the call's position");
        let e = run(r#"fn distribute(record, candidates) { max_by_key([1, 2], "k") }"#).expect_err("not maps");
        assert!(e.message.contains("not a map"), "{}", e.message);
    }

    #[test]
    fn covers_checks_one_value_or_all_of_an_array() {
        let yes = |expr: &str| {
            run(&format!(
                r#"fn distribute(record, candidates) {{ if {expr} {{ "yes" }} else {{ "no" }} }}"#
            ))
            .ok()
            .flatten()
        };
        assert_eq!(yes(r#"covers(["crm", "erp"], "erp")"#).as_deref(), Some("yes"));
        assert_eq!(yes(r#"covers(["crm", "erp"], ["erp", "crm"])"#).as_deref(), Some("yes"));
        assert_eq!(yes(r#"covers(["crm"], ["erp", "crm"])"#).as_deref(), Some("no"));
        assert_eq!(yes(r#"covers([1, 2], 2.0)"#).as_deref(), Some("yes"));
        assert_eq!(yes(r#"covers([], [])"#).as_deref(), Some("yes"));
    }
}
