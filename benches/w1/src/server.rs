//! The server under test as a child process: `exe serve` on a fresh data directory and a
//! free port, stopped with SIGTERM like a deployment would. `exe` is the driver's own
//! binary (its hidden `serve` runs `allot::cli::serve`) or an `allot` binary.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::{DriverError, Result};

pub struct ServerProcess {
    exe: PathBuf,
    data: PathBuf,
    bind: String,
    token: String,
    workers: usize,
    log: PathBuf,
    child: Option<Child>,
}

impl ServerProcess {
    /// Starts `exe serve` on `data` and a free port; answers once `/healthz` is 200.
    pub fn start(exe: &Path, data: &Path, token: &str, workers: usize) -> Result<ServerProcess> {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            listener.local_addr()?.port()
        };
        let mut server = ServerProcess {
            exe: exe.to_path_buf(),
            data: data.to_path_buf(),
            bind: format!("127.0.0.1:{port}"),
            token: token.to_string(),
            workers,
            log: data.join("server.log"),
            child: None,
        };
        server.spawn_and_wait(Duration::from_secs(60))?;
        Ok(server)
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.bind)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Spawns the server and answers how long it took until `/healthz` answered 200.
    pub fn spawn_and_wait(&mut self, timeout: Duration) -> Result<Duration> {
        let log = File::options().create(true).append(true).open(&self.log)?;
        let started = Instant::now();
        let child = Command::new(&self.exe)
            .arg("serve")
            .arg("--data")
            .arg(&self.data)
            .arg("--bind")
            .arg(&self.bind)
            .arg("--workers")
            .arg(self.workers.to_string())
            .env("ALLOT_ADMIN_TOKEN", &self.token)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| DriverError(format!("starting {} serve: {e}", self.exe.display())))?;
        self.child = Some(child);
        let health = Client::new(&self.base(), &self.token);
        loop {
            if let Ok((200, _)) = health.get_text("/healthz") {
                return Ok(started.elapsed());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(DriverError(format!(
                    "the server exited ({status}) before /healthz answered; its log: {}\n{}",
                    self.log.display(),
                    self.log_tail()
                )));
            }
            if started.elapsed() > timeout {
                return Err(DriverError(format!(
                    "/healthz did not answer 200 within {timeout:?}; server log: {}",
                    self.log.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Sends SIGTERM and waits for the process to exit; answers how long that took.
    pub fn stop(&mut self, timeout: Duration) -> Result<Duration> {
        let Some(mut child) = self.child.take() else {
            return Ok(Duration::ZERO);
        };
        let started = Instant::now();
        let pid = rustix::process::Pid::from_child(&child);
        if let Err(e) = rustix::process::kill_process(pid, rustix::process::Signal::TERM) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(DriverError(format!("SIGTERM to the server: {e}")));
        }
        loop {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    return Err(DriverError(format!(
                        "the server exited with {status} after SIGTERM; log: {}\n{}",
                        self.log.display(),
                        self.log_tail()
                    )));
                }
                return Ok(started.elapsed());
            }
            if started.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                return Err(DriverError(format!(
                    "the server did not exit within {timeout:?} of SIGTERM (killed)"
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The last lines of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // `stop` kills the process itself when SIGTERM does not end it in time.
        let _ = self.stop(Duration::from_secs(20));
    }
}
