//! Admission control: the request-body bytes in flight are bounded; a request past the
//! bound waits for room a few seconds, then is answered 503 `unavailable` with
//! `Retry-After`, nothing stored; bodiless requests are unaffected, and the budget comes
//! back when the holders are done.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;

use crate::fixtures::assert_error;
use crate::helpers::{ADMIN, TestApp, wait_until};

const BODY_LIMIT: usize = 16 * 1024 * 1024;

fn gauge(app: &TestApp, name: &str) -> u64 {
    let text = app.get("/metrics").text;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics:\n{text}"))
}

/// A client that declared a largest body and sent only its first bytes: it holds its
/// reservation until it sends the rest.
struct StalledUpload {
    stream: TcpStream,
    sent: usize,
}

impl StalledUpload {
    fn start(app: &TestApp, id: usize) -> StalledUpload {
        let addr = app
            .url("")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let mut stream = TcpStream::connect(&addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
        let head = format!(
            "PUT /api/v1/sellers/stalled-{id} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ADMIN}\r\n\
             Content-Type: application/json\r\nContent-Length: {BODY_LIMIT}\r\n\r\n"
        );
        let first = br#"{"name": "Stalled"}"#;
        stream.write_all(head.as_bytes()).expect("send head");
        stream.write_all(first).expect("send the first bytes");
        StalledUpload {
            stream,
            sent: first.len(),
        }
    }

    /// Sends the rest (whitespace) and answers the status line.
    fn finish(mut self) -> String {
        let rest = vec![b' '; BODY_LIMIT - self.sent];
        self.stream.write_all(&rest).expect("send the rest");
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = self.stream.read(&mut buf).expect("read the answer");
            assert!(n > 0, "the server closed without answering");
            answer.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }
}

#[test]
fn past_the_in_flight_bound_requests_are_refused_with_retry_after_and_admitted_again_later() {
    let app = TestApp::spawn();
    let limit = gauge(&app, "allot_inflight_request_bytes_limit") as usize;
    assert!(limit >= BODY_LIMIT, "the bound admits one largest body: {limit}");
    let holders: Vec<StalledUpload> = (0..limit / BODY_LIMIT).map(|i| StalledUpload::start(&app, i)).collect();
    let held = holders.len() * BODY_LIMIT;
    wait_until("the stalled uploads hold their reservations", 30, || {
        gauge(&app, "allot_inflight_request_bytes") as usize == held
    });
    let room = limit - held;

    // A body larger than what is left is refused, whole, before anything is stored.
    let body =
        serde_json::to_vec(&json!({"name": "Late", "attributes": {"pad": "x".repeat(room + 1)}})).expect("encode");
    let refused = app.raw("PUT", "/api/v1/sellers/late", Some(ADMIN), body.clone());
    assert_error(&refused, 503, "unavailable", "a body past the in-flight bound");
    assert_eq!(
        refused.retry_after.as_deref(),
        Some("1"),
        "a refused client is told when to retry"
    );
    assert_eq!(
        app.get("/api/v1/sellers/late").status,
        404,
        "nothing of a refused request is stored"
    );
    assert_eq!(
        gauge(&app, "allot_admission_refused_total"),
        1,
        "the refusal is counted"
    );

    // Requests without a body are not held up by the bound.
    assert_eq!(app.get("/healthz").status, 200);
    assert_eq!(app.get("/api/v1/sellers").status, 200);

    for holder in holders {
        let status = holder.finish();
        assert!(
            status.contains(" 201 "),
            "a stalled upload completes once sent: {status}"
        );
    }
    wait_until("the reservations are given back", 30, || {
        gauge(&app, "allot_inflight_request_bytes") == 0
    });
    let admitted = app.raw("PUT", "/api/v1/sellers/late", Some(ADMIN), body);
    assert_eq!(
        admitted.status, 201,
        "the same request is admitted once the budget is back: {}",
        admitted.text
    );
}

#[test]
fn a_request_waiting_for_room_is_admitted_when_room_frees_within_the_wait() {
    let app = TestApp::spawn();
    let limit = gauge(&app, "allot_inflight_request_bytes_limit") as usize;
    let holders: Vec<StalledUpload> = (0..limit / BODY_LIMIT).map(|i| StalledUpload::start(&app, i)).collect();
    let held = holders.len() * BODY_LIMIT;
    wait_until("the stalled uploads hold their reservations", 30, || {
        gauge(&app, "allot_inflight_request_bytes") as usize == held
    });
    let refused_before = gauge(&app, "allot_admission_refused_total");
    let body = serde_json::to_vec(&json!({"name": "Patient", "attributes": {"pad": "x".repeat(limit - held + 1)}}))
        .expect("encode");
    let base = app.base.clone();
    let waiting = std::thread::spawn(move || {
        let agent = crate::helpers::agent(Duration::from_secs(60));
        let url = format!("{base}/api/v1/sellers/patient");
        let result = agent
            .put(&url)
            .header("Authorization", &format!("Bearer {ADMIN}"))
            .header("Content-Type", "application/json")
            .send(&body[..]);
        crate::helpers::answer("PUT", &url, result)
    });
    wait_until("the request waits for room", 30, || {
        gauge(&app, "allot_admission_waiting") == 1
    });
    // One holder finishes while the request waits: its room goes to the request.
    let mut holders = holders;
    let first = holders.remove(0);
    assert!(first.finish().contains(" 201 "));
    let r = waiting.join().expect("the waiting client");
    assert_eq!(r.status, 201, "admitted once room freed: {}", r.text);
    assert_eq!(
        gauge(&app, "allot_admission_refused_total"),
        refused_before,
        "nothing refused"
    );
    for holder in holders {
        assert!(holder.finish().contains(" 201 "));
    }
}
