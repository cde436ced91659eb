//! Console foundation: mounting, sign-in and sessions, CSRF and origin checks, the
//! cookie kept away from `/api/v1`, security headers and assets.

use sha2::{Digest, Sha256};

use super::{Browser, From};
use crate::helpers::{ADMIN, TestApp};

#[test]
fn the_root_redirects_to_the_console_and_the_console_to_sign_in() {
    let app = TestApp::spawn();
    let b = Browser::new(&app);
    let root = b.get("/");
    assert_eq!(root.status, 303, "{}", root.text);
    assert_eq!(root.header("location"), Some("/console"));
    let console = b.get("/console");
    assert_eq!(console.status, 303, "no session: to the sign-in page");
    assert_eq!(console.header("location"), Some("/console/login"));
    let login = b.get("/console/login");
    assert_eq!(login.status, 200);
    assert!(login.text.contains("<label for=\"token\">"), "{}", login.text);
    assert_eq!(login.header("content-type"), Some("text/html; charset=utf-8"));
}

#[test]
fn signing_in_gives_a_strict_session_cookie_and_shows_the_role() {
    let app = TestApp::spawn();
    let reader = app.token("reader");
    let mut b = Browser::new(&app);
    let r = b.sign_in(&reader);
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some("/console"));
    let cookie = r.header("set-cookie").expect("a session cookie");
    for part in ["allot_console=", "HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(part), "the cookie has {part}: {cookie}");
    }
    assert!(!cookie.contains(&reader), "the cookie is not the token");
    let home = b.get("/console");
    assert_eq!(home.status, 200, "{}", home.text);
    assert!(
        home.text.contains("reader token"),
        "shows the token's name: {}",
        home.text
    );
    assert!(home.text.contains("Reader"), "shows the role");
    assert!(!home.text.contains(&reader), "the page never holds the token");
    // Signed in already: the sign-in page sends you on.
    assert_eq!(b.get("/console/login").status, 303);
}

#[test]
fn a_wrong_token_is_refused_with_an_alert_and_no_cookie() {
    let app = TestApp::spawn();
    let mut b = Browser::new(&app);
    let r = b.sign_in("not-a-token");
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.header("set-cookie").is_none());
    assert!(r.text.contains("role=\"alert\""), "the error is announced: {}", r.text);
    assert!(
        r.text.contains("aria-invalid=\"true\""),
        "the field is marked: {}",
        r.text
    );
    assert_eq!(b.get("/console").status, 303, "still signed out");
}

#[test]
fn failed_sign_ins_are_rate_limited() {
    let app = TestApp::spawn();
    let mut b = Browser::new(&app);
    let statuses: Vec<u16> = (0..25).map(|i| b.sign_in(&format!("wrong-{i}")).status).collect();
    assert!(statuses[..20].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[20..], [429; 5], "past 20 a minute: {statuses:?}");
    // Even the right token waits out the minute; then it works.
    assert_eq!(b.sign_in(ADMIN).status, 429);
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(b.sign_in(ADMIN).status, 303);
}

#[test]
fn signing_in_from_another_site_is_refused() {
    let app = TestApp::spawn();
    let b = Browser::new(&app);
    for from in [From::CrossSite, From::OtherPort, From::Nowhere] {
        let r = b.post("/console/login", &[("token", ADMIN)], from);
        assert_eq!(r.status, 403, "{}", r.text);
        assert!(r.header("set-cookie").is_none());
    }
}

#[test]
fn signing_out_ends_the_session() {
    let app = TestApp::spawn();
    let b = Browser::signed_in(&app, ADMIN);
    let csrf = b.csrf();
    let r = b.post("/console/logout", &[("csrf", &csrf)], From::SameOrigin);
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some("/console/login"));
    let cleared = r.header("set-cookie").expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The old cookie is dead even if a browser kept it.
    assert_eq!(b.get("/console").status, 303);
}

#[test]
fn a_state_changing_request_needs_the_csrf_token_and_the_origin() {
    let app = TestApp::spawn();
    let b = Browser::signed_in(&app, ADMIN);
    let csrf = b.csrf();
    let refused = [
        b.post("/console/logout", &[], From::SameOrigin),
        b.post("/console/logout", &[("csrf", "0000")], From::SameOrigin),
        b.post("/console/logout", &[("csrf", &csrf)], From::CrossSite),
        b.post("/console/logout", &[("csrf", &csrf)], From::OtherPort),
        b.post("/console/logout", &[("csrf", &csrf)], From::Nowhere),
    ];
    for r in &refused {
        assert_eq!(r.status, 403, "{}", r.text);
        assert!(r.text.contains("role=\"alert\""), "{}", r.text);
    }
    assert_eq!(b.get("/console").status, 200, "none of them signed out");
    // htmx sends the token as a header instead of a field.
    let r = b.post_with("/console/logout", &[], From::SameOrigin, &[("X-CSRF-Token", &csrf)]);
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(b.get("/console").status, 303);
}

#[test]
fn revoking_the_token_ends_its_sessions() {
    let app = TestApp::spawn();
    let token = app.token("sales_manager");
    let b = Browser::signed_in(&app, &token);
    assert_eq!(b.get("/console").status, 200);
    let id = app.get("/api/v1/tokens").body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|t| t["role"] == "sales_manager"))
        .map(|t| t["id"].as_str().unwrap_or_default().to_string())
        .expect("the token is listed");
    assert_eq!(app.delete(&format!("/api/v1/tokens/{id}")).status, 204);
    assert_eq!(b.get("/console").status, 303, "the session ended with its token");
}

#[test]
fn sessions_expire_when_idle_and_at_their_absolute_age() {
    let app = TestApp::spawn();
    let idle = Browser::signed_in(&app, ADMIN);
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(idle.get("/console").status, 200, "29 minutes idle is alive");
    app.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(idle.get("/console").status, 303, "31 minutes idle has expired");
    // Active every 29 minutes, it still ends 12 hours after sign-in.
    let mut alive_for = chrono::Duration::zero();
    let mut last = 200;
    let long = Browser::signed_in(&app, ADMIN);
    while alive_for < chrono::Duration::hours(13) && last == 200 {
        app.clock.advance(chrono::Duration::minutes(29));
        alive_for += chrono::Duration::minutes(29);
        last = long.get("/console").status;
    }
    assert_eq!(last, 303, "the session ended");
    assert!(
        alive_for > chrono::Duration::hours(12)
            && alive_for <= chrono::Duration::hours(12) + chrono::Duration::minutes(29),
        "it ended at its 12-hour age: {alive_for}"
    );
}

#[test]
fn the_api_never_accepts_the_console_cookie() {
    let app = TestApp::spawn();
    let b = Browser::signed_in(&app, ADMIN);
    let me = b.get("/api/v1/me");
    assert_eq!(me.status, 401, "{}", me.text);
    assert!(me.text.contains("unauthorized"), "{}", me.text);
    // Nor does a write with the cookie and a CSRF token reach it.
    let csrf = b.csrf();
    let r = b.post_with("/api/v1/records", &[], From::SameOrigin, &[("X-CSRF-Token", &csrf)]);
    assert_eq!(r.status, 401, "{}", r.text);
}

#[test]
fn an_htmx_request_without_a_session_is_sent_to_sign_in() {
    let app = TestApp::spawn();
    let b = Browser::new(&app);
    let r = b.get_with("/console/types/lead/badge", &[("HX-Request", "true")]);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("hx-redirect"), Some("/console/login"));
}

#[test]
fn every_console_answer_has_the_strict_headers_and_no_inline_script() {
    let app = TestApp::spawn();
    let signed_out = Browser::new(&app);
    let b = Browser::signed_in(&app, ADMIN);
    let pages = [
        signed_out.get("/console/login"),
        signed_out.get("/console"),
        b.get("/console"),
        b.get("/console/no-such-page"),
        b.post("/console/logout", &[], From::CrossSite),
    ];
    for p in &pages {
        let csp = p
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("a CSP: {p:?}"));
        for part in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(part), "CSP has {part}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "no unsafe-inline or unsafe-eval: {csp}");
        assert_eq!(p.header("cache-control"), Some("no-store"), "{p:?}");
        assert_eq!(p.header("x-content-type-options"), Some("nosniff"));
        // `no-referrer` would make browsers send `Origin: null` on the console's own forms.
        assert_eq!(p.header("referrer-policy"), Some("same-origin"));
        assert_inert(&p.text);
    }
    assert_eq!(pages[3].status, 404);
}

/// No inline script, event handler or style attribute in a page's tags (the CSP would
/// block them; this finds them before a browser does). Escaped text is not a tag.
#[track_caller]
pub fn assert_inert(html: &str) {
    let lower = html.to_ascii_lowercase();
    for tag in lower.split('<').skip(1).map(|t| &t[..t.find('>').unwrap_or(t.len())]) {
        // Attribute names only: a quoted value (escaped record text) is no attribute.
        let tag: String = tag.split('"').step_by(2).collect::<Vec<_>>().join("\"\"");
        if tag.starts_with("script") {
            assert!(tag.contains(" src="), "an inline script: <{tag}>");
        }
        for attr in [" style=", " onclick=", " onload=", " onerror=", " hx-on", "javascript:"] {
            assert!(!tag.contains(attr), "{attr} in <{tag}>");
        }
    }
}

#[test]
fn assets_are_served_with_etags_and_the_vendored_htmx_matches_its_checksum() {
    let app = TestApp::spawn();
    let b = Browser::new(&app);
    let htmx = b.get("/console/assets/vendor/htmx.min.js");
    assert_eq!(htmx.status, 200);
    assert_eq!(htmx.header("content-type"), Some("text/javascript; charset=utf-8"));
    let etag = htmx.header("etag").expect("an ETag").to_string();
    assert_eq!(
        htmx.header("cache-control"),
        Some("no-cache"),
        "revalidated, not stored"
    );
    let vendor = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/console/assets/vendor/VENDOR.txt"))
        .expect("VENDOR.txt");
    let sha = hex::encode(Sha256::digest(htmx.text.as_bytes()));
    assert!(
        vendor.contains(&format!("sha256:  {sha}")),
        "VENDOR.txt records {sha}: {vendor}"
    );
    assert!(vendor.contains("htmx.org 2.0.11"));
    let again = b.get_with("/console/assets/vendor/htmx.min.js", &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    assert!(again.text.is_empty());
    assert_eq!(
        b.get("/console/assets/console.css").header("content-type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(b.get("/console/assets/nope.js").status, 404);
    assert_eq!(
        b.get("/console/assets/vendor/VENDOR.txt").status,
        404,
        "only what pages use"
    );
}

#[test]
fn the_console_can_be_turned_off() {
    let app = TestApp::spawn_with(|config| config.console = None);
    let b = Browser::new(&app);
    for path in ["/", "/console", "/console/login", "/console/assets/console.css"] {
        let r = b.get(path);
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert!(r.text.contains("not_found"), "the API's JSON 404: {}", r.text);
    }
    assert_eq!(app.get("/api/v1/me").status, 200, "the API still serves");
}

/// Record data reaches pages escaped: no template opts out of askama's escaping.
#[test]
fn no_template_marks_anything_safe() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/console/templates");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("the templates") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("a template");
        checked += 1;
        for banned in ["|safe", "| safe", "escape = \"none\"", "|escape(\"none\")"] {
            assert!(!text.contains(banned), "{}: {banned}", path.display());
        }
    }
    assert!(checked >= 5, "read the templates");
}
