//! Scripts that never end cost only their record: the rest of the batch is processed.

use serde_json::{Value, json};

use super::*;
use crate::helpers::TestApp;

/// Posts leads ok1, bad (`spin: true`) and ok2 in one batch and waits; answers the three
/// views in that order.
fn post_bad_between_two_good(app: &TestApp) -> Vec<Value> {
    post_batch_wait(
        app,
        vec![
            lead("ok1", json!({})),
            lead("bad", json!({"spin": true})),
            lead("ok2", json!({})),
        ],
    )
}

#[test]
fn an_endless_segment_condition_marks_only_its_record() {
    let app = TestApp::spawn();
    seller(&app, "s1", json!({}));
    segment(
        &app,
        "spin",
        json!({"priority": 1, "condition": "if record.spin == true { loop { } } false"}),
    );
    segment(&app, "all", json!({"priority": 2}));
    rule(&app, "all", "r", json!({}));
    let views = post_bad_between_two_good(&app);
    assert_eq!(views[1]["segment_status"], "segment_error", "{}", views[1]);
    let details = views[1]["error_details"].as_str().unwrap_or_default();
    assert!(
        details.contains("segment spin condition"),
        "names the script: {details:?}"
    );
    assert_eq!(views[1]["owner"], json!(null));
    for v in [&views[0], &views[2]] {
        assert_eq!(v["segment_id"], "all", "{v}");
        assert_eq!(v["status_reason"], "assigned", "the others are processed normally: {v}");
        assert_eq!(v["segment_status"], json!(null));
    }
    assert_views(&app, "bad", true, true, true);
    assert_eq!(app.get("/healthz").status, 200);
}

#[test]
fn an_endless_rule_condition_marks_only_its_record() {
    let app = TestApp::spawn();
    let endless_for_spin = json!({"condition": "if record.spin == true { loop { } } true"});
    one_seller_one_rule(&app, "s1", "spin", endless_for_spin);
    let views = post_bad_between_two_good(&app);
    assert_eq!(views[1]["status_reason"], "server_error", "{}", views[1]);
    let details = views[1]["error_details"].as_str().unwrap_or_default();
    assert!(details.contains("rule spin condition"), "names the script: {details:?}");
    assert_eq!(owner_id(&views[0]), "s1", "{}", views[0]);
    assert_eq!(owner_id(&views[2]), "s1", "{}", views[2]);
    assert_eq!(seller_view(&app, "s1")["open_records"], 2);
}

#[test]
fn a_failing_target_condition_is_server_error_naming_the_script() {
    let app = TestApp::spawn();
    let failing_target =
        json!({"assign_to": {"match": "condition", "condition": "seller.attributes.level.no_such_method()"}});
    one_seller_one_rule(&app, "s1", "tc", failing_target);
    let v = post_wait(&app, lead("l1", json!({})));
    assert_eq!(v["status_reason"], "server_error", "{v}");
    let details = v["error_details"].as_str().unwrap_or_default();
    assert!(details.contains("rule tc assign_to.condition"), "{details:?}");
}

/// `allot_script_suspensions_total` and `allot_scripts_suspended` from `/metrics`.
fn suspension_metrics(app: &TestApp) -> (u64, u64) {
    let r = app.get("/metrics");
    let read = |name: &str| {
        r.text
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(u64::MAX)
    };
    (read("allot_script_suspensions_total"), read("allot_scripts_suspended"))
}

/// Issue #10: a rule condition failing on `SUSPEND_AFTER` (5) consecutive records is
/// suspended: the next records get its failure at once, without running it, with the
/// reason; saving the rule again clears it.
#[test]
fn a_rule_condition_failing_on_consecutive_records_is_suspended_until_saved_again() {
    let app = TestApp::spawn();
    let failing = json!({"condition": "if record.bad == true { throw \"bad record\" } true"});
    one_seller_one_rule(&app, "s1", "r", failing.clone());
    let batch = (0..7).map(|i| lead(&format!("bad{i}"), json!({"bad": true}))).collect();
    let views = post_batch_wait(&app, batch);
    for (i, v) in views.iter().enumerate() {
        assert_eq!(v["status_reason"], "server_error", "{v}");
        let details = v["error_details"].as_str().unwrap_or_default();
        assert!(details.contains("rule r condition"), "names the script: {details:?}");
        assert!(details.contains("bad record"), "says why: {details:?}");
        assert_eq!(details.contains("suspended"), i >= 5, "record {i}: {details:?}");
    }
    // Suspended, it fails even a record it would take, and says so.
    let v = post_wait(&app, lead("good", json!({})));
    assert_eq!(v["status_reason"], "server_error", "{v}");
    let details = v["error_details"].as_str().unwrap_or_default();
    assert!(
        details.contains("rule r condition: suspended after 5 consecutive failures"),
        "{details:?}"
    );
    // The counter is the process's (tests share it), the gauge this server's catalog's.
    let (total, now) = suspension_metrics(&app);
    assert!((1..u64::MAX).contains(&total), "{total}");
    assert_eq!(now, 1);
    // Saved again, it runs.
    rule(&app, "seg", "r", failing);
    let v = post_wait(&app, lead("good2", json!({})));
    assert_eq!(owner_id(&v), "s1", "{v}");
    assert_eq!(suspension_metrics(&app).1, 0);
}

/// The same for a segment condition, which runs on the HTTP workers first: a suspended
/// one is honoured there (it is the same compiled script, shared by every catalog).
#[test]
fn a_suspended_segment_condition_is_honoured_on_the_way_in() {
    let app = TestApp::spawn();
    seller(&app, "s1", json!({}));
    let failing = json!({"priority": 1, "condition": "if record.bad == true { throw \"bad record\" } false"});
    segment(&app, "failing", failing.clone());
    segment(&app, "all", json!({"priority": 2}));
    rule(&app, "all", "r", json!({}));
    for i in 0..5 {
        let v = post_wait(&app, lead(&format!("bad{i}"), json!({"bad": true})));
        assert_eq!(v["segment_status"], "segment_error", "{v}");
    }
    let v = post_wait(&app, lead("good", json!({})));
    assert_eq!(v["segment_status"], "segment_error", "{v}");
    let details = v["error_details"].as_str().unwrap_or_default();
    assert!(
        details.contains("segment failing condition: suspended after 5 consecutive failures"),
        "{details:?}"
    );
    segment(&app, "failing", failing);
    let v = post_wait(&app, lead("good2", json!({})));
    assert_eq!(v["segment_id"], "all", "{v}");
    assert_eq!(owner_id(&v), "s1", "{v}");
}
