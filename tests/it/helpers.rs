//! `TestApp`: a real server on port 0 over a temporary data directory, and a small
//! HTTP client with one method per verb.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use allot::domain::clock::ManualClock;
use allot::{Application, ServeConfig};
use chrono::{DateTime, Utc};
use serde_json::Value;

pub const ADMIN: &str = "test-admin-token";

/// A server running in its own thread (with its own actix system).
pub struct TestApp {
    pub base: String,
    pub clock: Arc<ManualClock>,
    data: Option<tempfile::TempDir>,
    data_path: PathBuf,
    handle: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
    agent: ureq::Agent,
}

/// An answer: status and parsed JSON body (Null when empty or not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
    /// The `Allow` header, when the answer has one.
    pub allow: Option<String>,
    /// The `Retry-After` header, when the answer has one.
    pub retry_after: Option<String>,
}

impl Resp {
    /// An answer of `status` with the body `text`, parsed when it is JSON.
    pub fn new(status: u16, text: String) -> Resp {
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            text,
            allow: None,
            retry_after: None,
        }
    }

    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// The ids of a list answer's `items`, in order.
    #[track_caller]
    pub fn item_ids(&self) -> Vec<String> {
        let items = self.body["items"].as_array();
        crate::work::ids(items.unwrap_or_else(|| panic!("a list answer has items: {}", self.text)))
    }
}

/// An HTTP client that answers every status as an answer (not an error), with `timeout`
/// for each call.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// The answer to `method path`; a call that got none (refused, reset, timed out) fails
/// the test.
pub fn answer(method: &str, path: &str, result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Resp {
    let mut resp = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let allow = header("allow");
    let retry_after = header("retry-after");
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    Resp {
        allow,
        retry_after,
        ..Resp::new(status, text)
    }
}

pub fn start_error(dir: &Path) -> String {
    let (tx, rx) = mpsc::channel();
    let config = config_for(dir, Arc::new(ManualClock::new(Utc::now())));
    std::thread::spawn(move || {
        let system = actix::System::new();
        let r = system.block_on(async move { Application::build(config).await.map(|_| ()) });
        let _ = tx.send(r.err().map(|e| e.to_string()).unwrap_or_default());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("start attempt finished")
}

fn config_for(dir: &Path, clock: Arc<ManualClock>) -> ServeConfig {
    let mut config = ServeConfig::new(dir, "127.0.0.1:0");
    config.admin_token = Some(ADMIN.to_string());
    config.clock = clock;
    config.workers = 2;
    config
}

impl TestApp {
    /// A server on a fresh temporary data directory, its clock standing at now.
    pub fn spawn() -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().to_path_buf();
        let mut app = TestApp::spawn_at(&path, Utc::now());
        app.data = Some(dir);
        app
    }

    /// A server on a fresh temporary data directory, its configuration changed by `change`.
    pub fn spawn_with(change: impl FnOnce(&mut ServeConfig)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().to_path_buf();
        let mut app = TestApp::spawn_configured(&path, Utc::now(), change);
        app.data = Some(dir);
        app
    }

    /// A server on `dir` (kept after stop), its clock standing at `now`.
    pub fn spawn_at(dir: &Path, now: DateTime<Utc>) -> TestApp {
        TestApp::spawn_configured(dir, now, |_| {})
    }

    fn spawn_configured(dir: &Path, now: DateTime<Utc>, change: impl FnOnce(&mut ServeConfig)) -> TestApp {
        let clock = Arc::new(ManualClock::new(now));
        let mut config = config_for(dir, clock.clone());
        change(&mut config);
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix::System::new();
            system.block_on(async move {
                match Application::build(config).await {
                    Ok(app) => {
                        let _ = tx.send(Ok((app.addr(), app.handle())));
                        let _ = app.run_until_stopped().await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            });
        });
        let (addr, handle) = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server started in time")
            .expect("server started");
        let agent = agent(Duration::from_secs(60));
        TestApp {
            base: format!("http://{addr}"),
            clock,
            data: None,
            data_path: dir.to_path_buf(),
            handle,
            thread: Some(thread),
            agent,
        }
    }

    pub fn data_path(&self) -> &Path {
        &self.data_path
    }

    /// Stops the server gracefully and waits until the data file is released; answers the
    /// temporary directory (if this app owns one) so that a restart can reuse it.
    pub fn stop(mut self) -> Option<tempfile::TempDir> {
        self.shutdown();
        self.data.take()
    }

    fn shutdown(&mut self) {
        if let Some(thread) = self.thread.take() {
            futures_executor(self.handle.stop(true));
            let _ = thread.join();
        }
    }

    /// Restarts on the same data directory (stop, then start again).
    pub fn restart(mut self) -> TestApp {
        self.shutdown();
        let data = self.data.take();
        let mut app = TestApp::spawn_at(&self.data_path, self.clock.now_utc());
        app.data = data;
        app
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `method path`, with `Authorization: Bearer {token}` when there is a token.
    fn builder(&self, method: &str, path: &str, token: Option<&str>) -> ureq::http::request::Builder {
        let req = ureq::http::Request::builder().method(method).uri(self.url(path));
        match token {
            Some(t) => req.header("Authorization", format!("Bearer {t}")),
            None => req,
        }
    }

    pub fn request(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Resp {
        let req = self.builder(method, path, token);
        let result = match body {
            Some(b) => self.agent.run(
                req.header("Content-Type", "application/json")
                    .body(b.to_string())
                    .expect("request"),
            ),
            None => self.agent.run(req.body(()).expect("request")),
        };
        answer(method, path, result)
    }

    /// Sends a raw body (for malformed JSON and size limits).
    pub fn raw(&self, method: &str, path: &str, token: Option<&str>, body: Vec<u8>) -> Resp {
        let req = self
            .builder(method, path, token)
            .header("Content-Type", "application/json")
            .body(body)
            .expect("request");
        answer(method, path, self.agent.run(req))
    }

    pub fn get(&self, path: &str) -> Resp {
        self.request("GET", path, Some(ADMIN), None)
    }

    pub fn put(&self, path: &str, body: Value) -> Resp {
        self.request("PUT", path, Some(ADMIN), Some(&body))
    }

    pub fn post(&self, path: &str, body: Value) -> Resp {
        self.request("POST", path, Some(ADMIN), Some(&body))
    }

    pub fn delete(&self, path: &str) -> Resp {
        self.request("DELETE", path, Some(ADMIN), None)
    }

    /// A client of this server, with `token`, that another thread can own.
    pub fn client(&self, token: &str) -> Client {
        Client {
            base: self.base.clone(),
            token: token.to_string(),
            agent: self.agent.clone(),
        }
    }

    /// Creates a token of `role` and answers its secret.
    pub fn token(&self, role: &str) -> String {
        let r = self.post(
            "/api/v1/tokens",
            serde_json::json!({"name": format!("{role} token"), "role": role}),
        );
        assert_eq!(r.status, 201, "creating a {role} token: {}", r.text);
        r.body["token"].as_str().expect("token secret").to_string()
    }
}

/// What the shared checks need of a server: calls as the administrator. `TestApp` and
/// the crash tests' child process both answer it.
pub trait Api {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Resp;

    fn api_get(&self, path: &str) -> Resp {
        self.call("GET", path, None)
    }

    fn api_put(&self, path: &str, body: Value) -> Resp {
        self.call("PUT", path, Some(&body))
    }

    fn api_post(&self, path: &str, body: Value) -> Resp {
        self.call("POST", path, Some(&body))
    }
}

impl Api for TestApp {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.request(method, path, Some(ADMIN), body)
    }
}

/// A client of one server that threads can own: the base URL, a token and an agent.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub token: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client of the server at `base` (`http://host:port`) with a timeout per call.
    pub fn new(base: String, token: &str, timeout: Duration) -> Client {
        Client {
            base,
            token: token.to_string(),
            agent: agent(timeout),
        }
    }

    /// The call, or the transport error (refused, reset, timed out) as text.
    pub fn try_call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Resp, String> {
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path))
            .header("Authorization", format!("Bearer {}", self.token));
        let result = match body {
            Some(b) => self.agent.run(
                req.header("Content-Type", "application/json")
                    .body(b.to_string())
                    .map_err(|e| e.to_string())?,
            ),
            None => self.agent.run(req.body(()).map_err(|e| e.to_string())?),
        };
        let mut resp = result.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().map_err(|e| e.to_string())?;
        Ok(Resp::new(status, text))
    }
}

impl Api for Client {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }
}

/// A port on 127.0.0.1 that was free a moment ago (its listener is dropped at once).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

/// `allot serve --data {dir} --bind 127.0.0.1:{port}` of the built binary, with `workers`
/// HTTP workers, `RUST_LOG` at `log_level`, stdin closed and no `ALLOT_DATA` or
/// `ALLOT_BIND` from the environment; the caller sets the admin token and the outputs.
pub fn serve_command(dir: &Path, port: u16, workers: u32, log_level: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_allot"));
    cmd.args(["serve", "--data"])
        .arg(dir)
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .env_remove("ALLOT_DATA")
        .env_remove("ALLOT_BIND")
        .env("ALLOT_WORKERS", workers.to_string())
        .env("RUST_LOG", log_level)
        .stdin(std::process::Stdio::null());
    cmd
}

/// Polls `done` every 50 ms until it holds; fails naming `what` after `secs` seconds.
#[track_caller]
pub fn wait_until(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown();
    }
}

trait NowUtc {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl NowUtc for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        allot::domain::clock::Clock::now(self)
    }
}

/// Drives a future to completion on this (non-async) thread.
fn futures_executor<F: std::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(f)
}
