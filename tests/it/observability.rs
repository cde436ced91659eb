//! What operators see (issue #10, item 6): `--log-format json` writes one JSON object a
//! line; every request gets an access line with its route template, status and request
//! id; `X-Request-Id` is taken when sane and made otherwise, and echoed; refusals are
//! logged with the token id, never a secret.

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{agent, free_port, serve_command, wait_until};

const ADMIN: &str = "observability-admin-secret";

struct Server {
    child: std::process::Child,
    base: String,
}

impl Server {
    /// Stops the server (SIGKILL: the log is written line by line) and answers its stderr.
    fn log(mut self) -> Vec<Value> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut text = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut text);
        }
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {l}")))
            .collect()
    }
}

fn call(
    agent: &ureq::Agent,
    base: &str,
    method: &str,
    path: &str,
    token: &str,
    request_id: Option<&str>,
) -> (u16, Option<String>, Value) {
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .header("Authorization", format!("Bearer {token}"));
    if let Some(id) = request_id {
        req = req.header("X-Request-Id", id);
    }
    let body = if method == "POST" {
        r#"{"name": "r", "role": "reader"}"#
    } else {
        ""
    };
    let mut resp = agent
        .run(
            req.header("Content-Type", "application/json")
                .body(body.to_string())
                .expect("request"),
        )
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        resp.status().as_u16(),
        id,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn access_lines<'a>(log: &'a [Value], request_id: &str) -> Vec<&'a Value> {
    log.iter()
        .filter(|l| l["target"] == "allot::access" && l["fields"]["request_id"] == request_id)
        .collect()
}

#[test]
fn json_access_log_with_request_ids_and_refusals_logged_without_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let child = serve_command(dir.path(), port, 1, "info")
        .env("ALLOT_ADMIN_TOKEN", ADMIN)
        .env("ALLOT_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start allot");
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let agent = agent(Duration::from_secs(10));
    wait_until("the server answers /healthz", 30, || {
        agent
            .get(format!("{}/healthz", server.base))
            .call()
            .is_ok_and(|r| r.status() == 200)
    });
    let base = server.base.clone();

    // A sane client id is kept and echoed; the route is logged as its template.
    let (status, echoed, _) = call(
        &agent,
        &base,
        "GET",
        "/api/v1/sellers/s-404",
        ADMIN,
        Some("client-id.1"),
    );
    assert_eq!(status, 404);
    assert_eq!(echoed.as_deref(), Some("client-id.1"));

    // An id that is too long, or not visible ASCII, is replaced by a made one.
    let long = "x".repeat(129);
    let (_, made, _) = call(&agent, &base, "GET", "/api/v1/me", ADMIN, Some(&long));
    let made = made.expect("an id is made");
    assert_eq!(made.len(), 16, "{made}");
    assert!(made.bytes().all(|b| b.is_ascii_hexdigit()), "{made}");
    let (_, made2, _) = call(&agent, &base, "GET", "/api/v1/me", ADMIN, Some("has space"));
    assert!(
        made2.as_deref().is_some_and(|id| id != "has space" && id.len() == 16),
        "{made2:?}"
    );

    // A reader token refused a token creation (403), and a wrong secret (401).
    let (status, _, token) = call(&agent, &base, "POST", "/api/v1/tokens", ADMIN, Some("make-reader"));
    assert_eq!(status, 201, "{token}");
    let reader_secret = token["token"].as_str().expect("secret").to_string();
    let reader_id = token["id"].as_str().expect("id").to_string();
    let (status, _, _) = call(
        &agent,
        &base,
        "POST",
        "/api/v1/tokens",
        &reader_secret,
        Some("reader-refused"),
    );
    assert_eq!(status, 403);
    let wrong = "not-a-token-but-a-secret-to-keep-out-of-logs";
    let (status, _, _) = call(&agent, &base, "GET", "/api/v1/me", wrong, Some("bad-token"));
    assert_eq!(status, 401);

    let log = server.log();
    let text: String = log.iter().map(|l| l.to_string()).collect();
    assert!(
        !text.contains(ADMIN) && !text.contains(&reader_secret) && !text.contains(wrong),
        "a secret reached the log"
    );

    let found = access_lines(&log, "client-id.1");
    assert_eq!(found.len(), 1, "one access line per request: {found:?}");
    let fields = &found[0]["fields"];
    assert_eq!(fields["method"], "GET");
    assert_eq!(fields["route"], "/api/v1/sellers/{id}");
    assert_eq!(fields["status"], 404);
    assert!(fields["ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{fields}");
    assert_eq!(fields["token_id"], "env:ALLOT_ADMIN_TOKEN");
    assert_eq!(access_lines(&log, &made).len(), 1);

    let refused = access_lines(&log, "reader-refused");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["level"], "WARN");
    assert_eq!(refused[0]["fields"]["status"], 403);
    assert_eq!(refused[0]["fields"]["token_id"], reader_id.as_str());
    assert_eq!(refused[0]["fields"]["role"], "reader");

    let unauthorized = access_lines(&log, "bad-token");
    assert_eq!(unauthorized.len(), 1);
    assert_eq!(unauthorized[0]["level"], "INFO");
    assert_eq!(unauthorized[0]["fields"]["status"], 401);
}

/// The value of the `/metrics` line that starts with `series` (name and labels).
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
}

#[test]
fn metrics_show_unassigned_records_outcomes_and_run_durations_with_bounded_labels() {
    let app = crate::helpers::TestApp::spawn();
    let segment = serde_json::json!({"name": "All leads", "record_type": "lead", "priority": 1});
    assert!(app.put("/api/v1/segments/all-leads", segment).status < 300);
    let records: Vec<Value> = (0..3)
        .map(|i| serde_json::json!({"id": format!("m-{i}"), "record_type": "lead", "attributes": {}}))
        .collect();
    let r = app.post("/api/v1/records?wait=true", serde_json::json!({ "records": records }));
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["records"][0]["status_reason"], "no_assignment_rule");
    let r = app.post("/api/v1/segments/all-leads/runs", serde_json::json!({}));
    assert_eq!(r.status, 201, "{}", r.text);
    // A method outside the fixed set must not become a label of its own.
    // (Raw: HTTP clients refuse to send an unknown method.)
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).expect("connect");
    std::io::Write::write_all(
        &mut conn,
        b"BREW /api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .expect("send");
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");

    let text = app.request("GET", "/metrics", None, None).text;
    assert_eq!(
        metric(&text, r#"allot_unassigned_records{record_type="lead"}"#),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            r#"allot_segment_unassigned_records{record_type="lead",segment="all-leads"}"#
        ),
        Some(3.0)
    );
    // Counters are per process, and tests share it: at least this test's decisions.
    let outcomes = metric(
        &text,
        r#"allot_record_outcomes_total{status_reason="no_assignment_rule"}"#,
    );
    assert!(
        outcomes.is_some_and(|n| n >= 6.0),
        "3 ingested and 3 run again: {outcomes:?}"
    );
    let runs = metric(&text, r#"allot_run_duration_seconds_count{status="succeeded"}"#);
    assert!(runs.is_some_and(|n| n >= 1.0), "{runs:?}");
    assert!(text.contains(r#"allot_run_duration_seconds_bucket{status="succeeded",le="+Inf"}"#));
    assert!(!text.contains("BREW"), "an unknown method is counted as OTHER");
    assert!(text.contains(r#"method="OTHER""#));
}
