//! Harness for the browser end-to-end suite: finds Chromium and chromedriver (or skips,
//! or fails under CI), runs chromedriver as a child process, serves the `vcita_login`
//! example's app (`support::example::app`, as `cargo run --example vcita_login` does)
//! with a `MockProvider` on loopback ([`run`]) or against panva's oidc-provider
//! (`tests/interop/server.mjs`, configured from `OAUTH_*` variables as the example's
//! `main` is: [`run_oidc`]), drives headless Chromium through WebDriver (fantoccini),
//! and leaves a screenshot and the page source in `target/browser-failures/` when a
//! test body fails.

use std::fs::{self, File};
use std::io::Write as _;
use std::net::TcpListener as StdListener;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum_oauth_login::{OAuth, OAuthConfig};
use axum_oauth_login_mock::MockProvider;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt as _;
use serde_json::json;
use url::Url;

use crate::interop_harness::{OidcProvider, POST_CLIENT, ProviderOptions, node_available};
use crate::support::{Server, bind, bounded, example};

/// Longest wait for one element, page or URL to show up.
pub const WAIT: Duration = Duration::from_secs(10);
/// How often a wait polls.
const POLL: Duration = Duration::from_millis(50);
/// Longest wait for chromedriver to answer on its port, and for a new browser session.
const STARTUP: Duration = Duration::from_secs(20);
/// Upper bound for a whole test body.
const TEST_TIMEOUT: Duration = Duration::from_secs(90);

/// The Chromium binary and chromedriver this suite runs.
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

/// `name` on `PATH`, if there.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Finds `/usr/bin/chromium` (or `chromium` on `PATH`) and `chromedriver`.
///
/// When either is missing: under `CI=true` this panics (CI never skips silently);
/// otherwise it prints a loud SKIPPED line straight to stderr (not through the test
/// harness's capture, so it shows with a passing test) and returns `None`.
pub fn tools(test: &str) -> Option<Tools> {
    let chromium = Some(PathBuf::from("/usr/bin/chromium"))
        .filter(|p| p.is_file())
        .or_else(|| on_path("chromium"));
    let chromedriver = on_path("chromedriver")
        .or_else(|| Some(PathBuf::from("/usr/bin/chromedriver")).filter(|p| p.is_file()));
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Some(Tools {
            chromium,
            chromedriver,
        }),
        (chromium, chromedriver) => {
            let missing = [
                chromium.is_none().then_some("chromium"),
                chromedriver.is_none().then_some("chromedriver"),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" and ");
            if in_ci() {
                panic!(
                    "browser test `{test}`: {missing} not found and CI=true: CI must not skip \
                     the browser suite; run `bash .ci/browser.sh` first \
                     (apt-get install chromium chromium-driver)"
                );
            }
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                 !! SKIPPED: browser test `{test}`: {missing} not found.\n\
                 !! SKIPPED: install chromium and chromium-driver (bash .ci/browser.sh)\n\
                 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
            );
            None
        }
    }
}

/// `target/` (the parent of Cargo's per-target temporary directory).
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

/// A fresh directory under `target/tmp/browser/` for one test's profile and logs,
/// removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
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
struct ChromeDriver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl ChromeDriver {
    async fn start(tools: &Tools, scratch: &Path) -> ChromeDriver {
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

/// The `vcita_login` example's app (`examples/vcita_login/app.rs`) on `127.0.0.1`, and
/// the provider it logs in with (`P`), wired as the example's `main` does.
pub struct App<P> {
    base: String,
    provider: P,
    server: Server,
}

impl App<MockProvider> {
    /// With the example's embedded mock provider (what `main` does without
    /// `OAUTH_CLIENT_ID`); the app on port 0.
    async fn mock() -> App<MockProvider> {
        let mock = MockProvider::start()
            .await
            .expect("the mock provider starts");
        let (listener, port) = bind().await;
        let base = format!("http://127.0.0.1:{port}");
        let oauth = example::configure(
            OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
                .redirect_uri(format!("{base}/auth/callback")),
        )
        .build()
        .expect("OAuth builds");
        App {
            base,
            provider: mock,
            server: Server::start(listener, example::app(&oauth)),
        }
    }
}

impl App<OidcProvider> {
    /// Against oidc-provider, configured as `main` configures a real provider: from
    /// `OAUTH_*` variables (`OAuthConfig::from_vars_async`, which `from_env_async` reads
    /// the environment into) with `OAUTH_PROVIDER=oidc`, then the example's
    /// `configure(config.into_builder())` and `app(&oauth)`. The app's port is bound
    /// first: oidc-provider registers its callback and post-logout redirect URI.
    async fn oidc() -> App<OidcProvider> {
        let (listener, port) = bind().await;
        let base = format!("http://127.0.0.1:{port}");
        let redirect_uri = format!("{base}/auth/callback");
        let post_logout_redirect_uri = format!("{base}/");
        let provider = OidcProvider::start_with(
            std::slice::from_ref(&redirect_uri),
            ProviderOptions {
                backchannel_logout_uri: None,
                post_logout_redirect_uris: vec![post_logout_redirect_uri.clone()],
            },
        )
        .await;
        let (client_id, client_secret, _) = POST_CLIENT;
        let vars = oidc_vars(
            &provider.issuer,
            client_id,
            client_secret,
            &redirect_uri,
            &post_logout_redirect_uri,
        );
        let config = bounded(
            "OAuthConfig::from_vars_async (discovery)",
            OAuthConfig::from_vars_async("OAUTH", vars),
        )
        .await
        .unwrap_or_else(|e| panic!("the OAUTH_* variables configure the app: {e}"));
        let oauth = example::configure(config.into_builder())
            .build()
            .expect("OAuth builds");
        App {
            base,
            provider,
            server: Server::start(listener, example::app(&oauth)),
        }
    }
}

/// The `OAUTH_*` variables `cargo run --example vcita_login` takes for oidc-provider
/// (besides `PORT`, which `main` alone reads to bind; here the listener is bound already).
///
/// `OAUTH_CLIENT_AUTH=post`: discovery chooses `client_secret_basic`, the first method
/// oidc-provider advertises, and `server.mjs` holds `interop-post` to the method it was
/// registered with, `client_secret_post`.
fn oidc_vars(
    issuer: &str,
    client_id: &str,
    client_secret: &str,
    redirect_uri: &str,
    post_logout_redirect_uri: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("OAUTH_PROVIDER", "oidc".to_owned()),
        ("OAUTH_ISSUER", issuer.to_owned()),
        ("OAUTH_CLIENT_ID", client_id.to_owned()),
        ("OAUTH_CLIENT_SECRET", client_secret.to_owned()),
        ("OAUTH_CLIENT_AUTH", "post".to_owned()),
        ("OAUTH_REDIRECT_URI", redirect_uri.to_owned()),
        (
            "OAUTH_POST_LOGOUT_REDIRECT_URI",
            post_logout_redirect_uri.to_owned(),
        ),
        ("OAUTH_SCOPES", "openid email profile".to_owned()),
    ]
}

/// What a test body drives: a WebDriver session on headless Chromium, the app, and the
/// provider the app logs in with (the in-process `MockProvider` unless said otherwise).
pub struct Browser<P = MockProvider> {
    pub client: Client,
    /// `http://127.0.0.1:PORT` of the app.
    pub base: String,
    pub provider: P,
}

impl<P> Browser<P> {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Navigates to `path` on the app.
    pub async fn goto(&self, path: &str) {
        let url = self.url(path);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("navigating to {url}: {e}"));
    }

    pub async fn current_url(&self) -> Url {
        self.client.current_url().await.expect("current URL")
    }

    /// The element matching `css`, polled for at most [`WAIT`].
    pub async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => {
                let url = self.client.current_url().await.map(String::from);
                panic!("`{css}` did not appear within {WAIT:?} (page {url:?}): {e}")
            }
        }
    }

    /// Waits for `css`, then clicks it.
    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking `{css}`: {e}"));
    }

    /// Waits for `css`, then types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        self.wait_for(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into `{css}`: {e}"));
    }

    /// Waits for `css`, then returns its visible text.
    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("reading the text of `{css}`: {e}"))
    }

    /// Polls until the current URL satisfies `ok`, for at most [`WAIT`]; returns it.
    pub async fn wait_for_url(&self, what: &str, ok: impl Fn(&Url) -> bool) -> Url {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.current_url().await;
            if ok(&url) {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "the page did not reach {what} within {WAIT:?}; it is at {url}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// What the app answers a navigation to `path` from this browser right now, without
    /// following a redirect: a `GET` with the cookies the browser holds for the page it
    /// shows (WebDriver hands over `HttpOnly` ones too; cookies ignore ports, so any
    /// `127.0.0.1` page will do) and a navigation's headers. Returns the status and the
    /// `Location` header, if any. For "is there a session?" where a real navigation
    /// would go on through the provider and log in again.
    pub async fn probe(&self, path: &str) -> (reqwest::StatusCode, Option<String>) {
        let shown = self.current_url().await;
        let app = Url::parse(&self.base).expect("the app's base URL");
        assert_eq!(
            shown.host_str(),
            app.host_str(),
            "probe from a page on the app's host (the browser is at {shown})"
        );
        let cookies = self.client.get_all_cookies().await.expect("the cookies");
        let header = cookies
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ");
        let http = crate::support::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(WAIT)
            .build()
            .expect("HTTP client");
        let url = self.url(path);
        let mut req = http
            .get(&url)
            .header("accept", "text/html,application/xhtml+xml")
            .header("sec-fetch-mode", "navigate")
            .header("sec-fetch-dest", "document");
        if !header.is_empty() {
            req = req.header("cookie", header);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let location = res
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| l.to_str().expect("an ASCII Location").to_owned());
        (res.status(), location)
    }

    pub async fn source(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// With `BROWSER_SCREENSHOTS` set, saves a screenshot of the current page as
    /// `target/browser-screenshots/{name}.png` (for a person to look at).
    pub async fn snapshot(&self, name: &str) {
        if std::env::var_os("BROWSER_SCREENSHOTS").is_none() {
            return;
        }
        let dir = target_dir().join("browser-screenshots");
        fs::create_dir_all(&dir).expect("create target/browser-screenshots");
        let png = self.client.screenshot().await.expect("screenshot");
        fs::write(dir.join(format!("{name}.png")), png).expect("write the screenshot");
    }

    /// Saves a screenshot, the page source and the chromedriver log of a failed test
    /// under `target/browser-failures/`; returns where.
    async fn save_failure(&self, test: &str, driver_log: &Path) -> PathBuf {
        let dir = target_dir().join("browser-failures");
        let _ = fs::create_dir_all(&dir);
        let bounded = Duration::from_secs(10);
        match tokio::time::timeout(bounded, self.client.screenshot()).await {
            Ok(Ok(png)) => {
                let _ = fs::write(dir.join(format!("{test}.png")), png);
            }
            other => eprintln!("browser test `{test}`: no screenshot: {other:?}"),
        }
        let url = tokio::time::timeout(bounded, self.client.current_url()).await;
        match tokio::time::timeout(bounded, self.client.source()).await {
            Ok(Ok(html)) => {
                let url = match url {
                    Ok(Ok(u)) => u.to_string(),
                    _ => "unknown".into(),
                };
                let _ = fs::write(
                    dir.join(format!("{test}.html")),
                    format!("<!-- {url} -->\n{html}"),
                );
            }
            other => eprintln!("browser test `{test}`: no page source: {other:?}"),
        }
        let _ = fs::copy(driver_log, dir.join(format!("{test}.chromedriver.log")));
        dir
    }
}

/// Runs one browser test against the example's app with its embedded `MockProvider`:
/// see [`run_with`].
pub async fn run<B>(test: &str, body: B)
where
    B: AsyncFnOnce(&Browser),
{
    run_with(test, App::mock, body).await;
}

/// Runs one browser test against the example's app logging in with panva's
/// oidc-provider (`tests/interop/server.mjs`; see [`App::oidc`]): see [`run_with`].
/// Needs Node and `npm ci --prefix tests/interop` as well as Chromium: without either,
/// a loud SKIPPED notice locally, a failure under `CI=true`.
pub async fn run_oidc<B>(test: &str, body: B)
where
    B: AsyncFnOnce(&Browser<OidcProvider>),
{
    if tools(test).is_none() || !node_available() {
        return;
    }
    run_with(test, App::oidc, body).await;
}

/// Runs one browser test: checks the tools (skip or CI panic), starts chromedriver,
/// the app and its provider (`start`), and a fresh headless Chromium; runs `body` at
/// most [`TEST_TIMEOUT`]; on a panic or timeout saves the failure artifacts, tears
/// everything down, and fails the test.
async fn run_with<P, S, B>(test: &str, start: S, body: B)
where
    S: AsyncFnOnce() -> App<P>,
    B: AsyncFnOnce(&Browser<P>),
{
    let Some(tools) = tools(test) else {
        return;
    };
    let started = Instant::now();
    let scratch = Scratch::new(test);
    let driver = ChromeDriver::start(&tools, &scratch.0).await;
    let App {
        base,
        provider,
        server,
    } = start().await;
    let client = new_session(&tools, &driver, &scratch.0.join("profile")).await;
    let browser = Browser {
        client,
        base,
        provider,
    };

    let outcome = tokio::time::timeout(
        TEST_TIMEOUT,
        AssertUnwindSafe(body(&browser)).catch_unwind(),
    )
    .await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(panic)) => Some(panic),
        Err(_) => Some(Box::new(format!(
            "browser test `{test}` took longer than {TEST_TIMEOUT:?}"
        )) as Box<dyn std::any::Any + Send>),
    };
    if failure.is_some() {
        let dir = browser.save_failure(test, &driver.log).await;
        eprintln!(
            "browser test `{test}` failed: screenshot and page source in {}",
            dir.display()
        );
    }
    let Browser {
        client, provider, ..
    } = browser;
    let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
    drop(driver);
    drop(provider);
    drop(server);
    drop(scratch);
    if let Some(panic) = failure {
        std::panic::resume_unwind(panic);
    }
    eprintln!("browser test `{test}` passed in {:?}", started.elapsed());
}

/// A WebDriver session on a fresh headless Chromium profile in `profile`.
async fn new_session(tools: &Tools, driver: &ChromeDriver, profile: &Path) -> Client {
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
