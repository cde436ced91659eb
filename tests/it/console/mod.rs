//! The web console against its HTML: a small "browser" that keeps the session cookie,
//! sends what a browser sends on the console's own forms (`Origin`, `Sec-Fetch-Site`)
//! and reads pages as text.

mod assign;
mod home;
mod monitor;
mod runs;
mod session;

use std::time::Duration;

use crate::helpers::TestApp;

/// An answer of the console: status, the headers that matter here, and the body.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of the first `name="csrf" value="..."` field of the page.
    #[track_caller]
    pub fn csrf(&self) -> String {
        let at = self
            .text
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("the page has a csrf field: {}", self.text));
        let rest = &self.text[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').expect("closing quote")].to_string()
    }
}

/// How a request says where it comes from.
#[derive(Clone, Copy)]
pub enum From {
    /// A form or htmx request of the console's own page.
    SameOrigin,
    /// Another site (`Origin` of elsewhere, `Sec-Fetch-Site: cross-site`).
    CrossSite,
    /// Another port of the same host: same site, other origin.
    OtherPort,
    /// Neither header (a script outside a browser).
    Nowhere,
}

pub struct Browser {
    pub base: String,
    agent: ureq::Agent,
    pub cookie: Option<String>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Browser {
            base: app.base.clone(),
            agent,
            cookie: None,
        }
    }

    /// A browser signed in with `token`.
    #[track_caller]
    pub fn signed_in(app: &TestApp, token: &str) -> Browser {
        let mut b = Browser::new(app);
        let r = b.sign_in(token);
        assert_eq!(r.status, 303, "signing in: {}", r.text);
        b
    }

    pub fn sign_in(&mut self, token: &str) -> Page {
        let r = self.post("/console/login", &[("token", token)], From::SameOrigin);
        if let Some(set) = r.header("set-cookie") {
            self.cookie = set.split(';').next().map(str::to_string);
        }
        r
    }

    fn send(&self, req: ureq::http::request::Builder, body: Option<String>) -> Page {
        let req = match &self.cookie {
            Some(c) => req.header("Cookie", c),
            None => req,
        };
        let result = match body {
            Some(b) => self.agent.run(
                req.header("Content-Type", "application/x-www-form-urlencoded")
                    .body(b)
                    .expect("request"),
            ),
            None => self.agent.run(req.body(()).expect("request")),
        };
        let mut resp = result.unwrap_or_else(|e| panic!("console request: {e}"));
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        Page {
            status: resp.status().as_u16(),
            headers,
            text: resp.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    pub fn get(&self, path: &str) -> Page {
        self.get_with(path, &[])
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = ureq::http::Request::builder()
            .method("GET")
            .uri(format!("{}{}", self.base, path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req, None)
    }

    /// A form post as the console's pages send it, from `from`.
    pub fn post(&self, path: &str, fields: &[(&str, &str)], from: From) -> Page {
        self.post_with(path, fields, from, &[])
    }

    pub fn post_with(&self, path: &str, fields: &[(&str, &str)], from: From, headers: &[(&str, &str)]) -> Page {
        let mut req = ureq::http::Request::builder()
            .method("POST")
            .uri(format!("{}{}", self.base, path));
        let host = self.base.trim_start_matches("http://").to_string();
        let port_elsewhere = format!("http://{}:1", host.split(':').next().unwrap_or("127.0.0.1"));
        req = match from {
            From::SameOrigin => req
                .header("Origin", self.base.as_str())
                .header("Sec-Fetch-Site", "same-origin"),
            From::CrossSite => req
                .header("Origin", "http://evil.example")
                .header("Sec-Fetch-Site", "cross-site"),
            From::OtherPort => req
                .header("Origin", port_elsewhere)
                .header("Sec-Fetch-Site", "same-site"),
            From::Nowhere => req,
        };
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter())
            .finish();
        self.send(req, Some(body))
    }

    /// The CSRF token of the signed-in session (from the home page's sign-out form).
    #[track_caller]
    pub fn csrf(&self) -> String {
        let home = self.get("/console");
        assert_eq!(home.status, 200, "the home page: {}", home.text);
        home.csrf()
    }
}
