//! The data directory: what a restart keeps, and the starts that are refused (another
//! schema version, a second server on the same directory), in process and with the real
//! binary.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fixtures::{self, assert_absent};
use crate::helpers::{TestApp, free_port, serve_command, start_error};

/// Everything the configuration API shows, by path.
fn snapshot(app: &TestApp) -> Vec<(String, Value)> {
    [
        "/api/v1/sellers",
        "/api/v1/teams",
        "/api/v1/queues",
        "/api/v1/sequences",
        "/api/v1/segments",
        "/api/v1/segments?record_type=lead",
        "/api/v1/segments/seg1/rules",
        "/api/v1/segments/seg1/rules/r1",
        "/api/v1/record-types/lead",
        "/api/v1/settings",
        "/api/v1/tokens",
    ]
    .into_iter()
    .map(|path| {
        let r = app.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text);
        (path.to_string(), r.body)
    })
    .collect()
}

#[test]
fn a_restart_keeps_every_kind_of_configuration_and_the_tokens() {
    let app = fixtures::seeded();
    assert_eq!(
        app.put("/api/v1/sellers/s2", json!({"name": "Min", "capacity": 3}))
            .status,
        201
    );
    assert_eq!(
        app.put("/api/v1/segments/seg2", fixtures::segment("lead", 2, None))
            .status,
        201
    );
    let settings = json!({"max_records_per_run": 42, "eligible_roles": ["seller"], "round_robin_scope": "rule"});
    assert_eq!(app.put("/api/v1/settings", settings.clone()).status, 200);
    let reader = app.token("reader");
    let revoked = app.post("/api/v1/tokens", json!({"name": "gone", "role": "integration"}));
    let revoked_secret = revoked.body["token"].as_str().expect("secret").to_string();
    let revoked_id = revoked.body["id"].as_str().expect("id").to_string();
    assert_eq!(app.delete(&format!("/api/v1/tokens/{revoked_id}")).status, 204);
    assert_eq!(app.delete("/api/v1/queues/q1").status, 204);
    let before = snapshot(&app);

    let app = app.restart();
    let after = snapshot(&app);
    for ((path, was), (_, is)) in before.iter().zip(&after) {
        assert_eq!(is, was, "GET {path} answers the same after a restart");
    }
    let mut with_default = settings.clone();
    with_default["event_retention_days"] = json!(7);
    assert_eq!(
        app.get("/api/v1/settings").body,
        with_default,
        "with the retention's default"
    );
    assert_absent(&app, "/api/v1/queues/q1", "a deleted queue stays deleted");
    let me = app.request("GET", "/api/v1/me", Some(&reader), None);
    assert_eq!(
        me.status, 200,
        "a token made before the restart authenticates: {}",
        me.text
    );
    assert_eq!(me.body["role"], "reader");
    let r = app.request("GET", "/api/v1/me", Some(&revoked_secret), None);
    assert_eq!(
        r.status, 401,
        "a token revoked before the restart stays revoked: {}",
        r.text
    );

    // And the restarted server writes as before.
    assert_eq!(app.put("/api/v1/sellers/s3", json!({"name": "New"})).status, 201);
    let app = app.restart();
    assert_eq!(
        app.get("/api/v1/sellers/s3").status,
        200,
        "written after the first restart"
    );
}

#[test]
fn a_data_file_of_another_schema_version_is_refused() {
    let app = TestApp::spawn();
    assert_eq!(app.put("/api/v1/sellers/s1", json!({"name": "Sam"})).status, 201);
    let dir = app.stop().expect("the app owns its directory");
    {
        let db = redb::Database::create(dir.path().join("allot.redb")).expect("open the data file");
        let txn = db.begin_write().expect("write");
        // The store's own `meta` table, written as another allot version would.
        let meta: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
        txn.open_table(meta)
            .expect("meta table")
            .insert("schema_version", allot::store::SCHEMA_VERSION + 1)
            .expect("insert");
        txn.commit().expect("commit");
    }
    let error = start_error(dir.path());
    assert!(
        error.contains("schema version"),
        "the start is refused naming the schema version: {error:?}"
    );
    assert!(
        error.contains(&(allot::store::SCHEMA_VERSION + 1).to_string()),
        "and the version found: {error:?}"
    );
}

#[test]
fn a_second_server_on_the_same_directory_is_refused() {
    let app = TestApp::spawn();
    assert_eq!(app.put("/api/v1/sellers/s1", json!({"name": "Sam"})).status, 201);
    let error = start_error(app.data_path());
    assert!(error.contains("already open"), "the second start is refused: {error:?}");
    let r = app.get("/api/v1/sellers/s1");
    assert_eq!(r.status, 200, "the first server is unaffected: {}", r.text);
    assert_eq!(
        app.put("/api/v1/sellers/s2", json!({"name": "Min"})).status,
        201,
        "and still writes"
    );
}

/// A child process killed (and reaped) however the test ends.
struct Server {
    child: Child,
    stdout: mpsc::Receiver<String>,
    port: u16,
}

impl Server {
    /// Kills the server and answers every line it printed that was not read yet.
    fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The reader thread ends (and the channel closes) at the end of the output.
        let mut lines = Vec::new();
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(10)) {
            lines.push(line);
        }
        lines
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary without an admin token in its environment (it makes the first one), one
/// worker, its output piped.
fn allot(dir: &Path, port: u16) -> Command {
    let mut cmd = serve_command(dir, port, 1, "warn");
    cmd.env_remove("ALLOT_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn agent() -> ureq::Agent {
    crate::helpers::agent(Duration::from_secs(5))
}

/// Starts the binary and waits until `/healthz` answers 200.
fn serve(dir: &Path) -> Server {
    let port = free_port();
    let mut child = allot(dir, port).spawn().expect("start allot");
    let out = child.stdout.take().expect("stdout");
    let (tx, stdout) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut server = Server { child, stdout, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = format!("http://127.0.0.1:{port}/healthz");
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = server.child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("allot exited with {status} before it was healthy: {err}");
        }
        if agent().get(&url).call().is_ok_and(|r| r.status() == 200) {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "allot on port {} was not healthy within 30 s",
            server.port
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_binary_prints_a_first_token_once_and_refuses_a_second_server() {
    let data = tempfile::tempdir().expect("temp dir");
    let first = serve(data.path());
    let token = loop {
        let line = first
            .stdout
            .recv_timeout(Duration::from_secs(30))
            .expect("the first start prints an administrator token");
        if let Some(t) = line.trim().strip_prefix("allot_") {
            break format!("allot_{t}");
        }
    };
    let me = agent()
        .get(format!("http://127.0.0.1:{}/api/v1/me", first.port))
        .header("Authorization", format!("Bearer {token}"))
        .call();
    let mut me = me.expect("GET /me");
    assert_eq!(me.status(), 200, "the printed token authenticates");
    let me: Value = serde_json::from_str(&me.body_mut().read_to_string().expect("body")).expect("json");
    assert_eq!(me["role"], "system_administrator", "as an administrator: {me}");

    // A second server on the same directory exits at once, non-zero, saying why.
    let mut second = allot(data.path(), free_port()).spawn().expect("start a second allot");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            let _ = second.wait();
            panic!("a second allot on the same directory kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = second.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!status.success(), "the second server exits non-zero: {status}");
    assert!(
        stderr.contains("already open"),
        "and says the data is already open: {stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("allot_"),
        "and prints no token"
    );

    drop(first);
    let again = serve(data.path());
    let me = agent()
        .get(format!("http://127.0.0.1:{}/api/v1/me", again.port))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .expect("GET /me");
    assert_eq!(me.status(), 200, "the first token still works after a restart");
    let printed = again.stop();
    assert!(
        !printed.iter().any(|l| l.contains("allot_") || l.contains("token")),
        "a second start on the same directory prints no token: {printed:?}"
    );
}

#[test]
fn a_start_that_cannot_listen_releases_the_data_directory() {
    let data = tempfile::tempdir().expect("temp dir");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut config = allot::ServeConfig::new(data.path(), taken.local_addr().expect("addr").to_string());
    config.admin_token = Some(crate::helpers::ADMIN.to_string());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let system = actix::System::new();
        let r = system.block_on(async move { allot::Application::build(config).await.map(|_| ()) });
        let _ = tx.send(r.err().map(|e| e.to_string()));
    });
    let error = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the start attempt finished")
        .expect("a start on a port in use fails");
    assert!(error.contains("cannot listen"), "the failure says why: {error}");
    drop(taken);

    let app = TestApp::spawn_at(data.path(), chrono::Utc::now());
    assert_eq!(
        app.get("/api/v1/me").status,
        200,
        "the directory of a failed start can be opened again in the same process"
    );
}
