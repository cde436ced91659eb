//! A small blocking HTTP client over `ureq`: one agent (one keep-alive connection) per
//! thread, bodies sent from borrowed bytes and answers read into reused buffers.

use std::io::Read;
use std::time::Duration;

use serde_json::Value;

use crate::{DriverError, Result};

#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    auth: String,
}

/// An answer read into the caller's buffer.
pub struct Answer {
    pub status: u16,
}

impl Client {
    pub fn new(base: &str, token: &str) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(600)))
            .max_idle_connections_per_host(64)
            .build()
            .into();
        Client {
            agent,
            base: base.trim_end_matches('/').to_string(),
            auth: format!("Bearer {token}"),
        }
    }

    /// A client with its own connection pool (one per driver thread).
    pub fn fresh(&self) -> Client {
        let token = self.auth.trim_start_matches("Bearer ");
        Client::new(&self.base, token)
    }

    /// Sends `body` (JSON bytes) and reads the answer into `out` (cleared first).
    pub fn send(&self, method: &str, path: &str, body: Option<&[u8]>, out: &mut Vec<u8>) -> Result<Answer> {
        let url = format!("{}{}", self.base, path);
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("Authorization", &self.auth);
        let result = match body {
            Some(b) => {
                let req = req
                    .header("Content-Type", "application/json")
                    .body(b)
                    .map_err(|e| DriverError(format!("{method} {path}: {e}")))?;
                self.agent.run(req)
            }
            None => {
                let req = req.body(()).map_err(|e| DriverError(format!("{method} {path}: {e}")))?;
                self.agent.run(req)
            }
        };
        let mut resp = result.map_err(|e| DriverError(format!("{method} {url}: {e}")))?;
        out.clear();
        resp.body_mut()
            .as_reader()
            .read_to_end(out)
            .map_err(|e| DriverError(format!("{method} {url}: reading the answer: {e}")))?;
        Ok(Answer {
            status: resp.status().as_u16(),
        })
    }

    /// Sends JSON and answers the parsed body when the status is one of `ok`; any other
    /// status is an error quoting the answer.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>, ok: &[u16]) -> Result<Value> {
        let bytes = body.map(serde_json::to_vec).transpose()?;
        let mut out = Vec::new();
        let answer = self.send(method, path, bytes.as_deref(), &mut out)?;
        if !ok.contains(&answer.status) {
            return Err(DriverError(format!(
                "{method} {path} answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&out[..out.len().min(2000)])
            )));
        }
        if out.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&out).map_err(|e| DriverError(format!("{method} {path}: answer is not JSON: {e}")))
    }

    pub fn get(&self, path: &str) -> Result<Value> {
        self.call("GET", path, None, &[200])
    }

    pub fn put(&self, path: &str, body: &Value) -> Result<Value> {
        self.call("PUT", path, Some(body), &[200, 201])
    }

    /// A plain GET that answers the status and the text (for `/healthz` and `/metrics`).
    pub fn get_text(&self, path: &str) -> Result<(u16, String)> {
        let mut out = Vec::new();
        let answer = self.send("GET", path, None, &mut out)?;
        Ok((answer.status, String::from_utf8_lossy(&out).into_owned()))
    }
}
