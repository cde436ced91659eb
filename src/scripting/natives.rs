//! Native helpers registered with the engine, mainly for distribution scripts. A loop
//! over 50 candidates costs ~22 µs in rhai and ~2.5 µs as a native function (DESIGN.md),
//! so the common choices are offered natively. Documented for admins in
//! `scripts/README.md`.
//!
//! Every helper is pure (same arguments, same answer): the analysis in
//! [`super::analysis`] relies on that when it memoises conditions. The arrays are taken
//! by reference (`&mut Array` in a function rhai knows is pure), so calling a helper
//! does not copy the candidates.
//!
//! Every helper is linear in its arguments and charges the evaluation one operation per
//! element it touches, before touching them ([`super::engine::charge`], which checks the
//! deadline too): rhai counts a native call as one operation, so a helper that did
//! unbounded work per call would escape both the operation budget and the wall-time
//! limit (issue #10: a quadratic `covers` ran 1.9 s inside one operation).

use std::cmp::Ordering;
use std::collections::HashSet;

use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, NativeCallContext, Position};

use super::engine::charge;

pub fn register(engine: &mut Engine) {
    engine.register_fn("min_by_key", |ctx: NativeCallContext, items: &mut Array, key: &str| {
        charge_for(&ctx, items.len())?;
        pick_by_key(items, key, Ordering::Less, "min_by_key")
    });
    engine.register_fn("max_by_key", |ctx: NativeCallContext, items: &mut Array, key: &str| {
        charge_for(&ctx, items.len())?;
        pick_by_key(items, key, Ordering::Greater, "max_by_key")
    });
    engine.register_fn(
        "covers",
        |ctx: NativeCallContext, have: &mut Array, need: Dynamic| -> Result<bool, Box<EvalAltResult>> {
            let needs = need.read_lock::<Array>().map_or(1, |n| n.len());
            charge_for(&ctx, have.len().saturating_add(needs))?;
            Ok(covers(have, &need))
        },
    );
}

/// Charges `elements` operations to the evaluation `ctx` belongs to.
fn charge_for(ctx: &NativeCallContext, elements: usize) -> Result<(), Box<EvalAltResult>> {
    charge(
        ctx.global_runtime_state().num_operations(),
        u64::try_from(elements).unwrap_or(u64::MAX),
    )
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

/// Below this many pairs, `covers` compares every pair: cheaper than hashing for the
/// few skills or languages attributes hold, and the same answer.
const COVERS_PAIRWISE: usize = 64;

/// Whether `have` contains `need`, or every element of `need` when it is an array
/// (`same` equality). Linear: large arrays go through [`Plain`], `have` hashed once.
fn covers(have: &[Dynamic], need: &Dynamic) -> bool {
    match need.read_lock::<Array>() {
        Some(needs) if have.len().saturating_mul(needs.len()) <= COVERS_PAIRWISE => covers_pairwise(have, &needs),
        Some(needs) => {
            let plain = Plain::of(have);
            needs.iter().all(|n| plain.holds(n))
        }
        None => have.iter().any(|h| same(h, need)),
    }
}

fn covers_pairwise(have: &[Dynamic], needs: &[Dynamic]) -> bool {
    needs.iter().all(|n| have.iter().any(|h| same(h, n)))
}

/// The plain values of an array, hashed so that `holds(n)` answers
/// `have.iter().any(|h| same(h, n))` in constant time. [`same`] is type-wise: strings
/// with strings, bools with bools, characters with characters, integers with integers
/// exactly, and a float with any number as `f64` (an integer converted with `as f64`);
/// NaN equals nothing and `-0.0` equals `0.0`. Anything else equals nothing.
#[derive(Default)]
struct Plain {
    strings: HashSet<ImmutableString>,
    bools: [bool; 2],
    chars: HashSet<char>,
    ints: HashSet<rhai::INT>,
    /// The integers of `have` as `f64` bits, for a float `need`.
    ints_as_floats: HashSet<u64>,
    floats: HashSet<u64>,
}

/// The bits of `f` with the two zeros as one, or `None` for NaN (which `partial_cmp`
/// finds equal to nothing).
fn float_key(f: rhai::FLOAT) -> Option<u64> {
    if f.is_nan() {
        None
    } else if f == 0.0 {
        Some(0.0f64.to_bits())
    } else {
        Some(f.to_bits())
    }
}

impl Plain {
    fn of(have: &[Dynamic]) -> Plain {
        let mut plain = Plain::default();
        for h in have {
            // The same accessors, in the same order, as `same`.
            if let Some(s) = h.read_lock::<ImmutableString>() {
                plain.strings.insert(s.clone());
            } else if let Ok(b) = h.as_bool() {
                plain.bools[usize::from(b)] = true;
            } else if let Ok(c) = h.as_char() {
                plain.chars.insert(c);
            } else if let Ok(i) = h.as_int() {
                plain.ints.insert(i);
                plain.ints_as_floats.extend(float_key(i as f64));
            } else if let Ok(f) = h.as_float() {
                plain.floats.extend(float_key(f));
            }
        }
        plain
    }

    fn holds(&self, n: &Dynamic) -> bool {
        if let Some(s) = n.read_lock::<ImmutableString>() {
            self.strings.contains(s.as_str())
        } else if let Ok(b) = n.as_bool() {
            self.bools[usize::from(b)]
        } else if let Ok(c) = n.as_char() {
            self.chars.contains(&c)
        } else if let Ok(i) = n.as_int() {
            self.ints.contains(&i) || float_key(i as f64).is_some_and(|k| self.floats.contains(&k))
        } else if let Ok(f) = n.as_float() {
            float_key(f).is_some_and(|k| self.floats.contains(&k) || self.ints_as_floats.contains(&k))
        } else {
            false
        }
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

    /// Evaluates a condition; with `patient`, under a minute of wall time, so that only
    /// the operation budget can stop it.
    fn condition_with(src: &str, patient: bool) -> Result<bool, crate::scripting::ScriptError> {
        let mut s = Scripting::new();
        if patient {
            s = s.with_wall_time(std::time::Duration::from_secs(60));
        }
        let script = s
            .compile(ScriptPurpose::RecordCondition, src)
            .unwrap_or_else(|e| panic!("{src:?} should compile: {e}"))
            .unwrap_or_else(|| panic!("not empty"));
        s.eval_condition(&script, &[("record", rhai::Dynamic::from_map(rhai::Map::new()))])
    }

    fn condition(src: &str) -> Result<bool, crate::scripting::ScriptError> {
        condition_with(src, false)
    }

    /// Issue #10: quadratic, this took 1.9 s in one rhai operation (past the deadline,
    /// which only `on_progress` checked). Linear, it answers.
    #[test]
    fn covers_over_the_largest_arrays_answers_within_the_limits() {
        let answer = condition("let h = []; h.pad(9999, 0); h.push(1); let n = []; n.pad(10000, 1); covers(h, n)");
        assert!(answer.as_ref().is_ok_and(|yes| *yes), "{answer:?}");
    }

    /// A helper charges the operations it does: 200 calls over 10,000 elements are at
    /// least 2 million element operations, over the budget, and fail like a rhai loop
    /// that runs too long, at the call.
    #[test]
    fn helpers_charge_the_operation_budget() {
        for call in [
            "covers(h, h)",
            "min_by_key(m, \"k\") == ()",
            "max_by_key(m, \"k\") == ()",
        ] {
            let e = condition_with(
                &format!(
                    "let h = []; h.pad(10000, 1); let m = []; m.pad(10000, #{{}});\n\
                     let all = true; for i in 0..200 {{ all = all && {call}; }} all"
                ),
                true,
            )
            .expect_err("over the operation budget");
            assert_eq!(e.kind, ScriptErrorKind::Limit, "{call}: {e}");
            assert!(e.message.contains("operations"), "{call}: {e}");
            assert_eq!(e.line, Some(2), "{call}: at the call: {e}");
            assert!(e.column.is_some(), "{call}: {e}");
        }
    }

    /// The hashed `covers` answers exactly what comparing every pair answers, over
    /// every kind of value (`same` is type-wise; integers and floats mix as `f64`).
    #[test]
    fn hashed_covers_is_pairwise_covers() {
        use rhai::Dynamic;
        let big = (1i64 << 53) + 1;
        let values: Vec<Dynamic> = vec![
            "erp".into(),
            "".into(),
            Dynamic::from_char('e'),
            Dynamic::from_bool(true),
            Dynamic::from_bool(false),
            Dynamic::from_int(2),
            Dynamic::from_int(0),
            Dynamic::from_int(big),
            Dynamic::from_int(big - 1),
            Dynamic::from_float(2.0),
            Dynamic::from_float(-0.0),
            Dynamic::from_float(f64::NAN),
            Dynamic::from_float((1i64 << 53) as f64),
            Dynamic::from_float(2.5),
            Dynamic::UNIT,
            Dynamic::from_map(rhai::Map::new()),
            Dynamic::from_array(vec![Dynamic::from_int(2)]),
            Dynamic::from_int(7).into_shared(),
            Dynamic::from("erp").into_shared(),
        ];
        // Every subset of `have` of a sliding window, against every single value.
        for start in 0..values.len() {
            for len in 0..=values.len() - start {
                let have = &values[start..start + len];
                let plain = super::Plain::of(have);
                for n in &values {
                    let pairwise = have.iter().any(|h| super::same(h, n));
                    assert_eq!(plain.holds(n), pairwise, "have {have:?}, need {n:?}");
                }
            }
        }
        // And through `covers` itself, above the pairwise threshold.
        let mut have: Vec<Dynamic> = (0..100).map(Dynamic::from_int).collect();
        let need = Dynamic::from_array((0..100).map(|i| Dynamic::from_float(f64::from(i))).collect());
        assert!(super::covers(&have, &need));
        have.pop();
        assert!(!super::covers(&have, &need));
    }
}
