//! Run assignment rules: Run now through the operation (htmx and plain form), run
//! history and details, the schedule form (two times at most, errors at their field),
//! delete, and roles that may not.

use serde_json::json;

use super::monitor::at_capacity;
use super::{Browser, From};
use crate::fixtures;
use crate::helpers::{ADMIN, TestApp};

fn raise_capacity(app: &TestApp) {
    assert_eq!(app.put("/api/v1/sellers/s1", fixtures::seller()).status, 200);
}

#[test]
fn run_now_assigns_the_backlog_after_capacity_is_raised_and_shows_the_result() {
    let app = at_capacity(3);
    let b = Browser::signed_in(&app, ADMIN);
    let page = b.get("/console/segments/uk/runs");
    assert_eq!(page.status, 200, "{}", page.text);
    super::session::assert_inert(&page.text);
    assert!(
        page.text.contains("<dd id=\"unassigned-count\">3</dd>"),
        "{}",
        page.text
    );
    assert!(page.text.contains("Never"), "no run yet");
    assert!(page.text.contains(">Run now</button>"));
    raise_capacity(&app);
    let csrf = page.csrf();
    let r = b.post_with(
        "/console/segments/uk/runs",
        &[("csrf", &csrf)],
        From::SameOrigin,
        &[("HX-Request", "true")],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("role=\"status\""), "announced: {}", r.text);
    assert!(
        r.text
            .contains("Run finished: 3 records assigned, 0 still unassigned (3 considered)."),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("<dd id=\"unassigned-count\">0</dd>"),
        "the count follows: {}",
        r.text
    );
    assert!(!r.text.contains("<html"), "a fragment");
    assert!(
        r.text.contains("id=\"run-history\" hx-swap-oob=\"true\""),
        "the history follows: {}",
        r.text
    );
    assert!(r.text.contains("Details of run run-"), "with the new run: {}", r.text);
    let runs = app.get("/api/v1/segments/uk/runs");
    assert_eq!(runs.body["items"][0]["trigger"], "manual", "{}", runs.text);
    assert_eq!(runs.body["items"][0]["assigned"], 3);
    let run_id = runs.body["items"][0]["id"].as_str().expect("run id").to_string();
    assert_eq!(app.get("/api/v1/record-types/lead/summary").body["unassigned"], 0);

    let page = b.get("/console/segments/uk/runs");
    assert!(
        page.text.contains(&format!("href=\"/console/runs/{run_id}\"")),
        "in the history: {}",
        page.text
    );
    let details = b.get(&format!("/console/runs/{run_id}"));
    assert_eq!(details.status, 200);
    for id in ["l000", "l001", "l002"] {
        assert!(
            details.text.contains(&format!("/console/records/{id}")),
            "{id} in the details"
        );
    }
    // A plain form (no script) comes back to the page with the result.
    let r = b.post("/console/segments/uk/runs", &[("csrf", &csrf)], From::SameOrigin);
    assert_eq!(r.status, 303);
    let back = b.get(r.header("location").expect("location"));
    assert!(back.text.contains("Run finished: 0 records assigned"), "{}", back.text);
}

#[test]
fn a_role_that_may_not_run_sees_no_button_and_is_refused() {
    let app = at_capacity(1);
    let reader = Browser::signed_in(&app, &app.token("reader"));
    let page = reader.get("/console/segments/uk/runs");
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(!page.text.contains("Run now</button>") && !page.text.contains("Add schedule"));
    let csrf = reader.csrf();
    let r = reader.post("/console/segments/uk/runs", &[("csrf", &csrf)], From::SameOrigin);
    assert_eq!(r.status, 403, "{}", r.text);
    let r = reader.post(
        "/console/segments/uk/schedule",
        &[
            ("csrf", &csrf),
            ("start_date", "2026-11-24"),
            ("days", "mon"),
            ("time1", "06:00"),
            ("timezone", "UTC"),
        ],
        From::SameOrigin,
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        app.get("/api/v1/segments/uk/runs").body["items"],
        json!([]),
        "no run happened"
    );
    assert_eq!(app.get("/api/v1/segments/uk/schedule").status, 404, "no schedule saved");
}

#[test]
fn a_schedule_is_set_shown_edited_and_deleted() {
    let app = at_capacity(1);
    let b = Browser::signed_in(&app, ADMIN);
    let page = b.get("/console/segments/uk/runs");
    assert!(page.text.contains("No schedule"));
    assert_eq!(page.text.matches("type=\"time\"").count(), 2, "two times, no third");
    let csrf = page.csrf();
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("start_date", "2026-11-24"),
        ("time1", "06:00"),
        ("time2", "14:00"),
        ("timezone", "Europe/London"),
    ];
    for d in ["mon", "tue", "wed", "thu", "fri"] {
        form.push(("days", d));
    }
    let r = b.post("/console/segments/uk/schedule", &form, From::SameOrigin);
    assert_eq!(r.status, 303, "{}", r.text);
    let saved = app.get("/api/v1/segments/uk/schedule");
    assert_eq!(saved.body["times"], json!(["06:00", "14:00"]), "{}", saved.text);
    assert_eq!(saved.body["days"], json!(["mon", "tue", "wed", "thu", "fri"]));
    assert_eq!(saved.body["timezone"], "Europe/London");
    let page = b.get(r.header("location").expect("location"));
    assert!(
        page.text.contains("role=\"status\" class=\"ok\">Schedule saved."),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("Scheduled: Mon–Fri at 06:00 and 14:00 (Europe/London), from 2026-11-24."),
        "{}",
        page.text
    );
    assert!(page.text.contains("value=\"14:00\""), "the form edits what is saved");
    let home = b.get("/console");
    assert!(home.text.contains("calendar.svg"), "the calendar mark on home");

    // One time only, on the weekend.
    let r = b.post(
        "/console/segments/uk/schedule",
        &[
            ("csrf", &csrf),
            ("start_date", "2026-11-24"),
            ("days", "sat"),
            ("days", "sun"),
            ("time1", "09:30"),
            ("time2", ""),
            ("timezone", "UTC"),
        ],
        From::SameOrigin,
    );
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(app.get("/api/v1/segments/uk/schedule").body["times"], json!(["09:30"]));

    // A bad zone is refused at its field, keeping what was typed.
    let r = b.post(
        "/console/segments/uk/schedule",
        &[
            ("csrf", &csrf),
            ("start_date", "2026-11-24"),
            ("days", "mon"),
            ("time1", "07:00"),
            ("timezone", "Mars/Olympus"),
        ],
        From::SameOrigin,
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("role=\"alert\""), "{}", r.text);
    assert!(r.text.contains("value=\"Mars/Olympus\""), "kept");
    let tz = r.text.split("id=\"timezone\"").nth(1).expect("the zone field");
    assert!(
        tz[..tz.find('>').expect("tag end")].contains("aria-invalid=\"true\""),
        "{tz}"
    );
    assert_eq!(
        app.get("/api/v1/segments/uk/schedule").body["times"],
        json!(["09:30"]),
        "unchanged"
    );
    // No day at all is refused too.
    let r = b.post(
        "/console/segments/uk/schedule",
        &[
            ("csrf", &csrf),
            ("start_date", "2026-11-24"),
            ("time1", "07:00"),
            ("timezone", "UTC"),
        ],
        From::SameOrigin,
    );
    assert_eq!(r.status, 422, "{}", r.text);

    let r = b.post(
        "/console/segments/uk/schedule/delete",
        &[("csrf", &csrf)],
        From::SameOrigin,
    );
    assert_eq!(r.status, 303);
    assert_eq!(app.get("/api/v1/segments/uk/schedule").status, 404);
    let page = b.get("/console/segments/uk/runs?saved=deleted");
    assert!(page.text.contains("Schedule deleted.") && page.text.contains("No schedule"));
}
