//! Reassignment schedules: validation, PUT/GET/DELETE, durability, the segment cascade,
//! and scheduled runs that fire at local wall-clock time.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, wait_until};
use crate::work::at;

fn segment(app: &TestApp, id: &str) {
    let r = app.put(
        &format!("/api/v1/segments/{id}"),
        json!({"name": format!("segment {id}"), "record_type": "lead", "priority": 1}),
    );
    assert!(r.status == 201 || r.status == 200, "creating segment {id}: {}", r.text);
}

fn weekdays_body() -> Value {
    json!({"start_date": "2026-11-24", "days": ["mon", "tue", "wed", "thu", "fri"],
           "times": ["06:00", "14:00"], "timezone": "Europe/London"})
}

/// `allot_scheduled_runs_total` of `segment` in `/metrics`, if the line is there.
fn scheduled_runs(app: &TestApp, segment: &str) -> Option<u64> {
    let r = app.request("GET", "/metrics", None, None);
    assert_eq!(r.status, 200, "{}", r.text);
    let prefix = format!("allot_scheduled_runs_total{{segment=\"{segment}\"}} ");
    r.text
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|n| n.trim().parse().unwrap_or_else(|e| panic!("metric value {n:?}: {e}")))
}

#[test]
fn invalid_schedules_are_refused_naming_the_field() {
    let app = TestApp::spawn();
    segment(&app, "uk");
    let cases = [
        ("times", json!(["06:00", "14:00", "18:00"]), "times[2]"),
        ("times", json!(["06:00", "06:00"]), "times"),
        ("times", json!(["06:00", "6pm"]), "times[1]"),
        ("timezone", json!("Europe/Atlantis"), "timezone"),
        ("days", json!([]), "days"),
        ("days", json!(["mon", "funday"]), "days[1]"),
        ("start_date", json!("2026-02-30"), "start_date"),
    ];
    for (key, value, field) in cases {
        let mut body = weekdays_body();
        body[key] = value.clone();
        let r = app.put("/api/v1/segments/uk/schedule", body);
        assert_eq!(r.status, 422, "{key} = {value}: {}", r.text);
        assert_eq!(r.code(), "validation_failed", "{key} = {value}: {}", r.text);
        assert_eq!(
            r.body["error"]["details"]["field"], field,
            "{key} = {value}: {}",
            r.text
        );
    }
    let mut body = weekdays_body();
    body["every"] = json!("hour");
    let r = app.put("/api/v1/segments/uk/schedule", body);
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.code(), "validation_failed", "{}", r.text);
    assert_eq!(r.body["error"]["details"]["field"], "every", "{}", r.text);
    // Nothing was saved.
    assert_eq!(app.get("/api/v1/segments/uk/schedule").status, 404);
}

#[test]
fn put_get_delete_follow_the_upsert_contract() {
    let app = TestApp::spawn();
    app.clock.set(at("2026-11-24T12:00:00Z"));
    let r = app.put("/api/v1/segments/nope/schedule", weekdays_body());
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["kind"], "segment", "{}", r.text);

    segment(&app, "uk");
    let r = app.get("/api/v1/segments/uk/schedule");
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["kind"], "schedule", "{}", r.text);
    assert_eq!(app.get("/api/v1/segments/uk").body["schedule"], Value::Null);

    let r = app.put("/api/v1/segments/uk/schedule", weekdays_body());
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["segment_id"], "uk");
    assert_eq!(r.body["times"], json!(["06:00", "14:00"]));
    // Tuesday 12:00 in London (GMT): the next run is 14:00 the same day.
    assert_eq!(r.body["next_run_at"], "2026-11-24T14:00:00Z", "{}", r.text);

    let mut replaced = weekdays_body();
    replaced["times"] = json!(["07:30"]);
    let r = app.put("/api/v1/segments/uk/schedule", replaced.clone());
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["next_run_at"], "2026-11-25T07:30:00Z", "{}", r.text);

    let r = app.get("/api/v1/segments/uk/schedule");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["times"], json!(["07:30"]));
    assert_eq!(r.body["timezone"], "Europe/London");
    let seg = app.get("/api/v1/segments/uk");
    assert_eq!(seg.body["schedule"]["times"], json!(["07:30"]), "{}", seg.text);
    assert_eq!(seg.body["schedule"]["next_run_at"], "2026-11-25T07:30:00Z");

    assert_eq!(app.delete("/api/v1/segments/uk/schedule").status, 204);
    assert_eq!(app.get("/api/v1/segments/uk/schedule").status, 404);
    assert_eq!(app.get("/api/v1/segments/uk").body["schedule"], Value::Null);
    let r = app.delete("/api/v1/segments/uk/schedule");
    assert_eq!(r.status, 404, "{}", r.text);
}

#[test]
fn readers_read_and_only_configurers_write() {
    let app = TestApp::spawn();
    segment(&app, "uk");
    assert_eq!(app.put("/api/v1/segments/uk/schedule", weekdays_body()).status, 201);
    let reader = app.token("reader");
    let r = app.request("GET", "/api/v1/segments/uk/schedule", Some(&reader), None);
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.request(
        "PUT",
        "/api/v1/segments/uk/schedule",
        Some(&reader),
        Some(&weekdays_body()),
    );
    assert_eq!(r.status, 403, "{}", r.text);
    let sequences = app.token("sequence_manager");
    let r = app.request("DELETE", "/api/v1/segments/uk/schedule", Some(&sequences), None);
    assert_eq!(r.status, 403, "{}", r.text);
    let r = app.request("GET", "/api/v1/segments/uk/schedule", None, None);
    assert_eq!(r.status, 401, "{}", r.text);
    let manager = app.token("sales_manager");
    let r = app.request("DELETE", "/api/v1/segments/uk/schedule", Some(&manager), None);
    assert_eq!(r.status, 204, "{}", r.text);
}

#[test]
fn a_schedule_survives_a_restart() {
    let app = TestApp::spawn();
    app.clock.set(at("2026-11-24T12:00:00Z"));
    segment(&app, "uk");
    assert_eq!(app.put("/api/v1/segments/uk/schedule", weekdays_body()).status, 201);
    let app = app.restart();
    let r = app.get("/api/v1/segments/uk/schedule");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["days"], json!(["mon", "tue", "wed", "thu", "fri"]));
    assert_eq!(r.body["start_date"], "2026-11-24");
    // Armed again at start.
    assert_eq!(r.body["next_run_at"], "2026-11-24T14:00:00Z", "{}", r.text);
}

#[test]
fn deleting_the_segment_deletes_its_schedule() {
    let app = TestApp::spawn();
    segment(&app, "uk");
    assert_eq!(app.put("/api/v1/segments/uk/schedule", weekdays_body()).status, 201);
    assert_eq!(scheduled_runs(&app, "uk"), Some(0));
    assert_eq!(app.delete("/api/v1/segments/uk").status, 204);
    assert_eq!(app.get("/api/v1/segments/uk/schedule").status, 404);
    assert_eq!(scheduled_runs(&app, "uk"), None);
    // A new segment of the same id starts without a schedule, also after a restart.
    segment(&app, "uk");
    assert_eq!(app.get("/api/v1/segments/uk/schedule").status, 404);
    let app = app.restart();
    assert_eq!(app.get("/api/v1/segments/uk/schedule").status, 404);
}

#[test]
fn a_scheduled_run_fires_at_its_local_time() {
    // Tuesday 2026-11-24, 05:59:58.5 in New York (UTC-5): a 06:00 run is 1.5 s away.
    let app = TestApp::spawn();
    app.clock.set(at("2026-11-24T10:59:58.500Z"));
    segment(&app, "ny");
    segment(&app, "later");
    let body = json!({"start_date": "2026-11-24", "days": ["tue", "thu"], "times": ["06:00"],
                      "timezone": "America/New_York"});
    let r = app.put("/api/v1/segments/ny/schedule", body);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["next_run_at"], "2026-11-24T11:00:00Z", "{}", r.text);
    let later = json!({"start_date": "2026-12-01", "days": ["tue"], "times": ["06:00"],
                       "timezone": "America/New_York"});
    assert_eq!(app.put("/api/v1/segments/later/schedule", later).status, 201);

    wait_until("the 06:00 run to fire", 8, || scheduled_runs(&app, "ny") == Some(1));
    // The next one is armed: Thursday 06:00 New York time.
    let r = app.get("/api/v1/segments/ny/schedule");
    assert_eq!(r.body["next_run_at"], "2026-11-26T11:00:00Z", "{}", r.text);
    // A schedule that starts next week has not fired.
    assert_eq!(scheduled_runs(&app, "later"), Some(0));
}

#[test]
fn a_run_in_the_spring_forward_gap_fires_when_the_gap_ends() {
    // Sunday 2026-03-08 in New York: 02:00 EST jumps to 03:00 EDT at 07:00 UTC, so 02:30
    // does not exist that day. The clock stands at 01:59:58.5 EST.
    let app = TestApp::spawn();
    app.clock.set(at("2026-03-08T06:59:58.500Z"));
    segment(&app, "ny");
    let body = json!({"start_date": "2026-03-01", "days": ["sun"], "times": ["02:30"],
                      "timezone": "America/New_York"});
    let r = app.put("/api/v1/segments/ny/schedule", body);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["next_run_at"], "2026-03-08T07:00:00Z", "{}", r.text);

    wait_until("the run at the end of the gap", 8, || {
        scheduled_runs(&app, "ny") == Some(1)
    });
    // Next Sunday 02:30 is daylight time: 06:30 UTC.
    let r = app.get("/api/v1/segments/ny/schedule");
    assert_eq!(r.body["next_run_at"], "2026-03-15T06:30:00Z", "{}", r.text);
}

#[test]
fn a_replaced_or_deleted_schedule_does_not_fire_its_old_time() {
    // Tuesday 2026-11-24, 05:59:58.5 in New York: 06:00 is 1.5 s away.
    let app = TestApp::spawn();
    app.clock.set(at("2026-11-24T10:59:58.500Z"));
    let tuesday = json!({"start_date": "2026-11-24", "days": ["tue"], "times": ["06:00"],
                         "timezone": "America/New_York"});
    let thursday = json!({"start_date": "2026-11-24", "days": ["thu"], "times": ["06:00"],
                          "timezone": "America/New_York"});
    for id in ["moved", "gone", "control"] {
        segment(&app, id);
    }
    assert_eq!(app.put("/api/v1/segments/moved/schedule", tuesday.clone()).status, 201);
    assert_eq!(app.put("/api/v1/segments/gone/schedule", tuesday.clone()).status, 201);
    let r = app.put("/api/v1/segments/moved/schedule", thursday);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["next_run_at"], "2026-11-26T11:00:00Z", "{}", r.text);
    assert_eq!(app.delete("/api/v1/segments/gone/schedule").status, 204);
    // Armed last, so it fires in the same poll as the replaced jobs would, or later.
    assert_eq!(app.put("/api/v1/segments/control/schedule", tuesday).status, 201);

    wait_until("the control run", 8, || scheduled_runs(&app, "control") == Some(1));
    // Jobs due in one poll of the job library run together; allow one more poll.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        scheduled_runs(&app, "moved"),
        Some(0),
        "the replaced 06:00 Tuesday run fired"
    );
    assert_eq!(scheduled_runs(&app, "gone"), None, "the deleted schedule fired");
}
