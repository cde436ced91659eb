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
