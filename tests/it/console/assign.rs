//! Assign: selected records to a seller or a team through `ops::assignments::assign`,
//! "Show eligible sellers" offering only eligible ones and sending `only_eligible`,
//! results per record, and roles that may not.

use serde_json::json;

use super::monitor::at_capacity;
use super::{Browser, From};
use crate::fixtures;
use crate::helpers::{ADMIN, TestApp};

/// [`at_capacity`] with room for Sam, a French seller Zoé (not eligible for UK leads)
/// and a team.
fn with_sellers(n: usize) -> TestApp {
    let app = at_capacity(n);
    assert_eq!(app.put("/api/v1/sellers/s1", fixtures::seller()).status, 200);
    let mut zoe = fixtures::seller();
    zoe["name"] = json!("Zoé");
    zoe["attributes"]["country"] = json!("FR");
    zoe["assign_records"] = json!(false);
    assert_eq!(app.put("/api/v1/sellers/s2", zoe).status, 201);
    assert_eq!(app.put("/api/v1/teams/t1", fixtures::team(&["s1"])).status, 201);
    app
}

#[test]
fn selected_records_are_assigned_to_a_seller_with_a_result_per_record() {
    let app = with_sellers(3);
    let b = Browser::signed_in(&app, ADMIN);
    let page = b.get("/console/assign?record_ids=l001&record_ids=l002");
    assert_eq!(page.status, 200, "{}", page.text);
    super::session::assert_inert(&page.text);
    assert!(page.text.contains("Assign 2 records"));
    assert!(page.text.contains("value=\"seller:s1\"") && page.text.contains("value=\"seller:s2\""));
    assert!(
        page.text.contains("0 open, 20 available"),
        "capacity shown: {}",
        page.text
    );
    assert!(
        page.text.contains("opted out of automatic assignment"),
        "Zoé's opt-out shown"
    );
    assert!(page.text.contains("value=\"team:t1\""), "teams offered");
    assert!(!page.text.contains("only_eligible"), "all sellers: no only_eligible");
    let csrf = page.csrf();
    let r = b.post(
        "/console/assign",
        &[
            ("csrf", &csrf),
            ("record_ids", "l001"),
            ("record_ids", "l002"),
            ("assignee", "seller:s1"),
        ],
        From::SameOrigin,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.text
            .contains("role=\"status\" class=\"ok\">2 of 2 assigned to seller s1."),
        "{}",
        r.text
    );
    for id in ["l001", "l002"] {
        let rec = app.get(&format!("/api/v1/records/{id}"));
        assert_eq!(rec.body["owner"], json!({"type": "seller", "id": "s1"}), "{}", rec.text);
        assert_eq!(rec.body["status_reason"], "assigned_manually");
    }
    assert_eq!(
        app.get("/api/v1/records/l000").body["owner"],
        json!(null),
        "the unselected one stays"
    );
    let history = app.get("/api/v1/assignments?seller_id=s1");
    assert_eq!(
        history.body["items"].as_array().map(Vec::len),
        Some(2),
        "{}",
        history.text
    );
    assert!(
        history.body["items"]
            .as_array()
            .is_some_and(|h| h.iter().all(|e| e["by"] == "manual"))
    );
    // A record that is not there fails alone.
    let r = b.post(
        "/console/assign",
        &[
            ("csrf", &csrf),
            ("record_ids", "l000"),
            ("record_ids", "nope"),
            ("assignee", "team:t1"),
        ],
        From::SameOrigin,
    );
    assert!(r.text.contains("1 of 2 assigned to team t1."), "{}", r.text);
    assert!(r.text.contains("nope"), "{}", r.text);
}

#[test]
fn show_eligible_sellers_offers_only_eligible_ones_and_sends_only_eligible() {
    let app = with_sellers(2);
    let b = Browser::signed_in(&app, ADMIN);
    let page = b.get("/console/assign?record_ids=l000&record_ids=l001&eligible=1");
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("value=\"seller:s1\""),
        "Sam is eligible: {}",
        page.text
    );
    assert!(!page.text.contains("value=\"seller:s2\""), "Zoé is not");
    assert!(!page.text.contains("value=\"team:"), "eligible sellers only");
    assert!(page.text.contains("name=\"only_eligible\" value=\"true\""));
    assert!(page.text.contains("Show all sellers"));
    // only_eligible to someone not eligible is refused whole, as the API refuses it.
    let csrf = page.csrf();
    let r = b.post(
        "/console/assign",
        &[
            ("csrf", &csrf),
            ("record_ids", "l000"),
            ("record_ids", "l001"),
            ("only_eligible", "true"),
            ("assignee", "seller:s2"),
        ],
        From::SameOrigin,
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("role=\"alert\""), "{}", r.text);
    assert_eq!(
        app.get("/api/v1/records/l000").body["owner"],
        json!(null),
        "nothing changed"
    );
    let r = b.post(
        "/console/assign",
        &[
            ("csrf", &csrf),
            ("record_ids", "l000"),
            ("record_ids", "l001"),
            ("only_eligible", "true"),
            ("assignee", "seller:s1"),
        ],
        From::SameOrigin,
    );
    assert!(r.text.contains("2 of 2 assigned"), "{}", r.text);
    // No choice made: asked again.
    let r = b.post(
        "/console/assign",
        &[("csrf", &csrf), ("record_ids", "l000")],
        From::SameOrigin,
    );
    assert_eq!(r.status, 422);
    assert!(r.text.contains("Choose a seller or a team."));
}

#[test]
fn roles_that_may_not_assign_get_no_page_and_are_refused() {
    let app = with_sellers(1);
    for role in ["reader", "sequence_manager", "integration"] {
        let b = Browser::signed_in(&app, &app.token(role));
        assert_eq!(b.get("/console/assign?record_ids=l000").status, 403, "{role}");
        let csrf = b.csrf();
        let r = b.post(
            "/console/assign",
            &[("csrf", &csrf), ("record_ids", "l000"), ("assignee", "seller:s1")],
            From::SameOrigin,
        );
        assert_eq!(r.status, 403, "{role}: {}", r.text);
    }
    assert_eq!(app.get("/api/v1/records/l000").body["owner"], json!(null));
}
