//! chromedriver as a child process, and a WebDriver session on a fresh headless Chromium
//! profile (in a scratch directory of the test's own).

use std::fs::{self, File};
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

use super::{POLL, STARTUP, Tools};

/// A fresh directory under `target/tmp/browser/` for one test's profile and logs,
/// removed on drop.
pub(super) struct Scratch(pub(super) PathBuf);

impl Scratch {
    pub(super) fn new(test: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("browser")
            .join(format!(
                "{test}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the scratch directory");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A chromedriver child process on a free loopback port, killed (with its process group,
/// so no Chromium is left behind) on drop.
pub(super) struct ChromeDriver {
    child: Child,
    port: u16,
    pub(super) log: PathBuf,
}

impl ChromeDriver {
    pub(super) async fn start(tools: &Tools, scratch: &Path) -> ChromeDriver {
        let log = scratch.join("chromedriver.log");
        let mut last_error = String::new();
        // A free port may be taken between probing and chromedriver binding it: retry.
        for _ in 0..3 {
            let port = StdListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("probe a free port")
                .port();
            let out = File::create(&log).expect("create the chromedriver log");
            let err = out.try_clone().expect("clone the log handle");
            let child = {
                use std::os::unix::process::CommandExt as _;
                Command::new(&tools.chromedriver)
                    .arg(format!("--port={port}"))
                    .stdin(Stdio::null())
                    .stdout(out)
                    .stderr(err)
                    .process_group(0)
                    .spawn()
                    .unwrap_or_else(|e| {
                        panic!("cannot start {}: {e}", tools.chromedriver.display())
                    })
            };
            let mut driver = ChromeDriver {
                child,
                port,
                log: log.clone(),
            };
            match driver.wait_ready().await {
                Ok(()) => return driver,
                Err(e) => last_error = e,
            }
        }
        panic!(
            "chromedriver did not start: {last_error}\n--- chromedriver log ---\n{}",
            fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Polls `GET /status` until chromedriver answers ready, it exits, or [`STARTUP`].
    async fn wait_ready(&mut self) -> Result<(), String> {
        let status = format!("http://127.0.0.1:{}/status", self.port);
        let http = crate::support::client_builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("HTTP client");
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Some(code) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!("chromedriver exited with {code}"));
            }
            if let Ok(res) = http.get(&status).send().await {
                let body: serde_json::Value = res.json().await.unwrap_or_default();
                if body["value"]["ready"] == true {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(format!("no ready answer on {status} within {STARTUP:?}"));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The group id is chromedriver's own pid (process_group(0)); Chromium inherits it.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver session on a fresh headless Chromium profile in `profile`.
pub(super) async fn new_session(tools: &Tools, driver: &ChromeDriver, profile: &Path) -> Client {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": tools.chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                // Without these Chromium reaches for the network, which is closed here.
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1024,768",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object")
    };
    let connect = async {
        ClientBuilder::rustls()
            .expect("rustls connector")
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
    };
    match tokio::time::timeout(STARTUP, connect).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => panic!(
            "no WebDriver session on {}: {e}\n--- chromedriver log ---\n{}",
            tools.chromium.display(),
            fs::read_to_string(&driver.log).unwrap_or_default()
        ),
        Err(_) => panic!("no WebDriver session within {STARTUP:?}"),
    }
}
