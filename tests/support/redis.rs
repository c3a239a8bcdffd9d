//! A throwaway `redis-server` on 127.0.0.1 for the session-store tests: its own free
//! port and data directory, no persistence unless asked ([`RedisServer::persist`]), killed
//! when dropped. It speaks to the server with raw inline commands, so it needs no Redis
//! client crate and compiles whatever the features.
//!
//! When `redis-server` is not installed: with `CI=true` [`RedisServer::start`] panics (CI
//! must never skip silently); otherwise it prints a loud notice and returns `None`, and
//! the test returns early: `let Some(server) = RedisServer::start().await else { return };`.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// How long a start (or restart) may take until the server answers `PING`.
pub const REDIS_START_TIMEOUT: Duration = Duration::from_secs(5);

/// The server binary (on the `PATH`).
const BINARY: &str = "redis-server";

/// Whether `redis-server` can be run. When it cannot: panics with `CI=true`, otherwise
/// prints a loud notice (once per test binary) and returns `false`.
pub fn redis_available() -> bool {
    let problem = match std::process::Command::new(BINARY)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Err(e) => format!("`{BINARY}` could not be run ({e})"),
        Ok(status) if !status.success() => format!("`{BINARY} --version` failed ({status})"),
        Ok(_) => return true,
    };
    if std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
        panic!(
            "session-store tests cannot run on CI: {problem}. \
             Install it (`apt-get install redis-server`) before `cargo test`."
        );
    }
    // Written to the real stderr, not through `eprintln!`, which the test harness
    // captures and hides for passing tests; once per test binary.
    static NOTICE: std::sync::Once = std::sync::Once::new();
    NOTICE.call_once(|| {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "\n**************************************************************\n\
             SKIPPED: Redis session-store tests: {BINARY} not installed ({problem}).\n\
             install it (`apt-get install redis-server`) to run them\n\
             **************************************************************\n"
        );
    });
    false
}

/// A `redis-server` child process on `127.0.0.1:{port}`.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free port and waits (bounded) until it answers `PING`.
    /// `None` (after a notice) when `redis-server` is missing outside CI.
    pub async fn start() -> Option<RedisServer> {
        if !redis_available() {
            return None;
        }
        let dir = scratch_dir();
        std::fs::create_dir_all(&dir).expect("create the Redis data directory");
        // A free port can be taken between our probe and the server's bind: try again.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut server = RedisServer {
                port,
                dir: dir.clone(),
                child: None,
            };
            match server.launch().await {
                Ok(()) => return Some(server),
                Err(e) => {
                    last_error = e;
                    // Keep the directory for the next attempt.
                    server.dir = PathBuf::new();
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("redis-server did not start: {last_error}");
    }

    /// `redis://127.0.0.1:{port}/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Writes the dataset to disk (`SAVE`), so that [`restart`](Self::restart) finds it:
    /// a Redis that comes back after an outage with its data, as a persistent deployment
    /// does.
    pub async fn persist(&self) {
        let answer = inline(self.port, "SAVE")
            .await
            .unwrap_or_else(|e| panic!("SAVE failed: {e}"));
        assert_eq!(answer, "+OK", "SAVE answered {answer}");
    }

    /// Kills the server and waits for it to exit: connections break, the port refuses.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            crate::support::bounded("redis-server exits", child.wait())
                .await
                .expect("wait for redis-server");
        }
        // Bounded: until nothing answers on the port any more.
        let deadline = tokio::time::Instant::now() + REDIS_START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "port {} still answers after redis-server was killed",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts the server again on the same port (with what [`persist`](Self::persist)
    /// last wrote, if anything) and waits until it answers `PING`.
    pub async fn restart(&mut self) {
        self.stop().await;
        if let Err(e) = self.launch().await {
            panic!("redis-server did not restart on port {}: {e}", self.port);
        }
    }

    /// Spawns the server on `self.port` and waits for `PONG`.
    async fn launch(&mut self) -> Result<(), String> {
        let log = self.dir.join("redis.log");
        let child = Command::new(BINARY)
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--dbfilename", "dump.rdb"])
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("spawn {BINARY}: {e}"))?;
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + REDIS_START_TIMEOUT;
        loop {
            if let Ok(answer) = inline(self.port, "PING").await
                && answer == "+PONG"
            {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                return Err(format!(
                    "redis-server exited ({status}) on port {}: {}",
                    self.port,
                    log_tail(&log)
                ));
            }
            if tokio::time::Instant::now() >= deadline {
                if let Some(mut child) = self.child.take() {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                }
                return Err(format!(
                    "no PONG on port {} within {REDIS_START_TIMEOUT:?}: {}",
                    self.port,
                    log_tail(&log)
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Sends one inline command and returns the first line of the answer (`+PONG`, `+OK`,
/// `-LOADING ...`), bounded by a second.
async fn inline(port: u16, command: &str) -> Result<String, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        stream
            .write_all(format!("{command}\r\n").as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut line = String::new();
        BufReader::new(stream)
            .read_line(&mut line)
            .await
            .map_err(|e| format!("read: {e}"))?;
        Ok(line.trim_end().to_owned())
    };
    tokio::time::timeout(Duration::from_secs(1), exchange)
        .await
        .unwrap_or_else(|_| Err(format!("{command}: no answer within 1 s")))
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a probe port")
        .port()
}

/// A fresh directory under the system's temp dir for one server's files.
fn scratch_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "axum-oauth-login-redis-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// The last lines of the server's log, for a failure message.
fn log_tail(log: &std::path::Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}
