//! A webhook receiver for the tests: a real HTTP/1.1 server on port 0 (std only,
//! keep-alive, one thread per connection) that records every request and answers what
//! the test says.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
    pub body: String,
    pub json: Value,
}

impl Received {
    pub fn event_id(&self) -> String {
        self.json["id"].as_str().unwrap_or("").to_string()
    }

    /// Whether `Allot-Signature` is the HMAC-SHA-256 of `t.body` under `secret`, and
    /// `Allot-Event-Id` is the body's id.
    pub fn signed_by(&self, secret: &str) -> bool {
        let Some(sig) = self.headers.get("allot-signature") else {
            return false;
        };
        let Some((t, v1)) = sig.split_once(',') else {
            return false;
        };
        let (Some(t), Some(v1)) = (t.strip_prefix("t="), v1.strip_prefix("v1=")) else {
            return false;
        };
        let expected = hex(&allot::domain::webhook::hmac_sha256(
            secret.as_bytes(),
            format!("{t}.{}", self.body).as_bytes(),
        ));
        expected == v1 && self.headers.get("allot-event-id") == Some(&self.event_id())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What to answer the `n`th request (from 0): a status, after a delay.
pub type Behaviour = dyn Fn(usize, &Received) -> (u16, Duration) + Send + Sync;

pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    /// A receiver answering 200 at once.
    pub fn ok() -> Receiver {
        Receiver::with(|_, _| (200, Duration::ZERO))
    }

    pub fn with(behaviour: impl Fn(usize, &Received) -> (u16, Duration) + Send + Sync + 'static) -> Receiver {
        Receiver::on(TcpListener::bind("127.0.0.1:0").expect("bind receiver"), behaviour)
    }

    /// A receiver on `listener` (so a test can choose the port).
    pub fn on(
        listener: TcpListener,
        behaviour: impl Fn(usize, &Received) -> (u16, Duration) + Send + Sync + 'static,
    ) -> Receiver {
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let behaviour: Arc<Behaviour> = Arc::new(behaviour);
        let (rec, stopping) = (received.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (rec, behaviour) = (rec.clone(), behaviour.clone());
                std::thread::spawn(move || serve(conn, &rec, behaviour.as_ref()));
            }
        });
        Receiver { url, received, stop }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The events received of `kind`, in arrival order.
    pub fn events_of(&self, kind: &str) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.json["type"] == kind).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        if let Some(addr) = self.url.strip_prefix("http://").and_then(|r| r.strip_suffix("/hook")) {
            let _ = TcpStream::connect(addr);
        }
    }
}

fn serve(conn: TcpStream, received: &Mutex<Vec<Received>>, behaviour: &Behaviour) {
    let Ok(mut writer) = conn.try_clone() else { return };
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        let req = Received {
            json: serde_json::from_str(&body).unwrap_or(Value::Null),
            headers,
            body,
        };
        let n = {
            let Ok(mut all) = received.lock() else { return };
            all.push(req.clone());
            all.len() - 1
        };
        let (status, delay) = behaviour(n, &req);
        std::thread::sleep(delay);
        let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok");
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
