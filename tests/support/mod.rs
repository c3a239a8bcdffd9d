//! Helpers shared by the test binaries (`it`, `interop`, `browser`), each of which
//! includes this module with `#[path = "…/support/mod.rs"] mod support;`:
//!
//! * [`bounded`]: a time limit on every step;
//! * [`Http`]: a cookie-keeping HTTP client that never follows redirects;
//! * [`client_builder`]: every test client's builder (loopback http: no system roots);
//! * response readers ([`location`], [`body`], [`json`]), URL helpers ([`urls`]) and
//!   an HTML reader ([`html`]);
//! * [`app`]: the `vcita_login` example's router, served with the test-only routes;
//! * [`redis`]: a throwaway `redis-server` for the session-store tests;
//! * [`TempDir`]: a throwaway directory (the file store's tests).
//!
//! Helpers for one binary only live next to it (`tests/it/harness.rs`,
//! `tests/interop/harness/`, `tests/browser/harness/`).
// Each binary uses a part of this module.
#![allow(dead_code, unused_imports)]

pub mod app;
pub mod dpop;
pub mod html;
pub mod redis;
pub mod urls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use reqwest::cookie::CookieStore as _;
use reqwest::header::LOCATION;
use reqwest::{RequestBuilder, Response};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::Url;

pub use app::{example, test_app};
pub use html::{Form, element_text};
pub use urls::*;

/// Upper bound for any single step of a test (an HTTP request, a mock walk).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Awaits `fut`, failing the test if it takes longer than [`STEP_TIMEOUT`].
pub async fn bounded<F: Future>(what: &str, fut: F) -> F::Output {
    bounded_by(STEP_TIMEOUT, what, fut).await
}

/// Awaits `fut`, failing the test if it takes longer than `limit`.
pub async fn bounded_by<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {limit:?}"))
}

/// Binds `127.0.0.1:0`; returns the listener and its port.
pub async fn bind() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    (listener, port)
}

/// A router served in the background; stopped when dropped.
pub struct Server(JoinHandle<()>);

impl Server {
    pub fn start(listener: TcpListener, router: Router) -> Server {
        Server(tokio::spawn(async move {
            axum::serve(listener, router).await.expect("the app serves");
        }))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A `reqwest::ClientBuilder` for the tests' loopback http: its TLS is one rustls
/// configuration without roots, made once per process. A default builder would load the
/// system's CA bundle for every client (about 50 ms in a debug build — native-tls under
/// `--all-features` — and the suites build thousands of clients: a third of `it`'s time).
pub fn client_builder() -> reqwest::ClientBuilder {
    use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto::ring};
    static PLAIN: std::sync::LazyLock<ClientConfig> = std::sync::LazyLock::new(|| {
        ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("rustls protocol versions")
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth()
    });
    reqwest::Client::builder().tls_backend_preconfigured(PLAIN.clone())
}

/// An HTTP client with its own cookie jar that never follows redirects: what a browser
/// does, one request at a time, with every redirect visible to the test.
#[derive(Clone)]
pub struct Http {
    pub client: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
}

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

impl Http {
    pub fn new() -> Http {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        // A browser's navigation headers: the crate tells navigations (login redirects,
        // HTML pages) from API calls (401, JSON) by them. Requests that set `accept`
        // themselves replace this default.
        let mut navigation = reqwest::header::HeaderMap::new();
        navigation.insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static(
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            ),
        );
        let client = client_builder()
            .default_headers(navigation)
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(STEP_TIMEOUT)
            .build()
            .expect("client builds");
        Http { client, jar }
    }

    /// Sends `req` (bounded); panics when there is no answer.
    pub async fn send(&self, req: RequestBuilder) -> Response {
        bounded("an HTTP request", req.send())
            .await
            .expect("request succeeds")
    }

    /// `GET` an absolute URL.
    pub async fn get_url(&self, url: &str) -> Response {
        self.send(self.client.get(url)).await
    }

    /// Every cookie the jar would send to `url`, as (name, value).
    pub fn cookies_for(&self, url: &str) -> Vec<(String, String)> {
        let url = Url::parse(url).expect("a valid URL");
        let Some(header) = self.jar.cookies(&url) else {
            return Vec::new();
        };
        header
            .to_str()
            .expect("ascii cookies")
            .split(';')
            .filter_map(|pair| {
                let (n, v) = pair.trim().split_once('=')?;
                Some((n.to_owned(), v.to_owned()))
            })
            .collect()
    }
}

/// The `Location` header (panics when missing).
pub fn location(res: &Response) -> String {
    res.headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("a Location header on a {} answer", res.status()))
        .to_str()
        .expect("ascii Location")
        .to_owned()
}

pub async fn body(res: Response) -> String {
    bounded("reading a body", res.text())
        .await
        .expect("body reads")
}

pub async fn json(res: Response) -> Value {
    bounded("reading a JSON body", res.json())
        .await
        .expect("JSON body")
}

/// A fresh directory under the system's temp dir, created now and removed (with what is
/// in it) when dropped.
#[derive(Debug)]
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "axum-oauth-login-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        TempDir(dir)
    }

    /// `name` inside the directory.
    pub fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
