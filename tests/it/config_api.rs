//! Configuration API: upserts, reads, lists, deletes, validation.

use serde_json::json;

use crate::helpers::TestApp;

#[test]
fn seller_upsert_is_201_then_200_and_delete_then_404() {
    let app = TestApp::spawn();
    let body = json!({"name": "Sam", "capacity": 20, "roles": ["seller"]});
    let r = app.put("/api/v1/sellers/s1", body.clone());
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["id"], "s1");
    assert_eq!(r.body["available_capacity"], 20);
    let r = app.put("/api/v1/sellers/s1", body);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.delete("/api/v1/sellers/s1").status, 204);
    let r = app.get("/api/v1/sellers/s1");
    assert_eq!(r.status, 404);
    assert_eq!(r.code(), "not_found");
}

#[test]
fn config_survives_a_restart() {
    let app = TestApp::spawn();
    assert_eq!(app.put("/api/v1/sellers/s1", json!({"name": "Sam"})).status, 201);
    let app = app.restart();
    let r = app.get("/api/v1/sellers/s1");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "Sam");
}
