//! Suspension: a saved script that keeps failing stops running until it is saved again.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::engine::Script;
use super::error::ScriptError;

/// A saved script that fails (an error or a limit) on this many consecutive evaluations
/// is suspended until it is saved again: it then fails at once, without running, with
/// the failure that suspended it. So a hostile script costs at most this many times its
/// limits (100 ms each), not that for every record of every batch (issue #10).
pub const SUSPEND_AFTER: u32 = 5;

/// Scripts suspended since start, for `/metrics`.
static SUSPENSIONS: AtomicU64 = AtomicU64::new(0);

/// Scripts suspended since the process started (`allot_script_suspensions_total`).
pub fn suspensions_total() -> u64 {
    SUSPENSIONS.load(Ordering::Relaxed)
}

#[derive(Debug, Default)]
pub(super) struct Health {
    /// Failed evaluations since the last one that answered. Atomic because segment
    /// conditions also run on the HTTP workers; "consecutive" is then the order of
    /// these atomic updates.
    failures: AtomicU32,
    /// The failure that suspended the script, set once.
    suspended: OnceLock<ScriptError>,
}

impl Script {
    /// The failure that suspended this script, if it is suspended (its message says so).
    pub fn suspended(&self) -> Option<&ScriptError> {
        self.health.suspended.get()
    }

    fn answered(&self) {
        // A load first: a healthy script does not write a shared cache line per call.
        if self.health.failures.load(Ordering::Relaxed) != 0 {
            self.health.failures.store(0, Ordering::Relaxed);
        }
    }

    fn failed(&self, e: &ScriptError) {
        let failures = self.health.failures.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        if failures >= SUSPEND_AFTER {
            let mut suspended = e.clone();
            suspended.message = format!(
                "suspended after {SUSPEND_AFTER} consecutive failures, until it is saved again; \
                 the last: {}",
                e.message
            );
            if self.health.suspended.set(suspended).is_ok() {
                SUSPENSIONS.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Runs `f` unless the script is suspended, and keeps count of its failures.
    pub(super) fn guarded<T>(&self, f: impl FnOnce() -> Result<T, ScriptError>) -> Result<T, ScriptError> {
        if let Some(e) = self.suspended() {
            return Err(e.clone());
        }
        let result = f();
        match &result {
            Ok(_) => self.answered(),
            Err(e) => self.failed(e),
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use rhai::Map;

    use super::*;
    use crate::scripting::{Bindings, ScriptErrorKind, ScriptPurpose, Scripting};

    fn lead() -> Map {
        let mut m = Map::new();
        m.insert("revenue".into(), rhai::Dynamic::from_int(25_000));
        m
    }

    #[test]
    fn a_script_failing_on_consecutive_records_is_suspended_until_compiled_again() {
        let s = Scripting::new();
        let src = "if record.revenue > 0 { loop { } } true";
        let script = s.compile(ScriptPurpose::RecordCondition, src).unwrap().unwrap();
        let mut rich = Bindings::new(lead());
        let mut poor = Bindings::new(Map::new());
        // An answer in between starts the count again.
        for _ in 1..SUSPEND_AFTER {
            assert_eq!(
                s.eval_condition_in(&script, &mut rich).unwrap_err().kind,
                ScriptErrorKind::Limit
            );
        }
        assert!(s.eval_condition_in(&script, &mut poor).unwrap());
        assert!(script.suspended().is_none());
        let before = suspensions_total();
        for _ in 0..SUSPEND_AFTER {
            let _ = s.eval_condition_in(&script, &mut rich);
        }
        let suspended = script.suspended().cloned().expect("suspended");
        assert_eq!(suspended.kind, ScriptErrorKind::Limit);
        assert!(
            suspended.message.starts_with("suspended after 5 consecutive failures"),
            "{suspended}"
        );
        assert!(suspended.message.contains("was stopped"), "why: {suspended}");
        assert!(suspensions_total() > before);
        // Suspended, it fails at once, even on a record it would answer, and every clone
        // (every catalog holding it) is suspended too.
        let clone = script.clone();
        let e = s.eval_condition_in(&clone, &mut poor).unwrap_err();
        assert_eq!(e.message, suspended.message);
        // Compiled again (saved again), it runs.
        let again = s.compile(ScriptPurpose::RecordCondition, src).unwrap().unwrap();
        assert!(s.eval_condition_in(&again, &mut poor).unwrap());
    }
}
