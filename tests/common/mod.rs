//! Shared harness: a `MockProvider`, an axum app wired like `examples/vcita_login/app.rs`
//! on `127.0.0.1:0`, and a cookie-keeping, non-redirecting HTTP client ("browser").
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use axum_oauth_login::testing::MockProvider;
use axum_oauth_login::{AuthSession, BearerUser, Clock, CookieKey, OAuth, OAuthBuilder, UserInfo};
use reqwest::cookie::CookieStore as _;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::Url;

mod urls;
#[allow(unused_imports)] // not every test file uses every helper
pub use urls::*;

/// Upper bound for any single step of a test (HTTP request, mock walk).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// The default (http) session cookie name.
pub const SESSION_COOKIE: &str = "oauth_session";

/// Awaits `fut`, failing the test if it takes longer than [`STEP_TIMEOUT`].
pub async fn bounded<F: Future>(what: &str, fut: F) -> F::Output {
    tokio::time::timeout(STEP_TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {STEP_TIMEOUT:?}"))
}

/// The example's router: `/`, `/me` (login required), `/api/me`, `/api/maybe`, the auth
/// routes, the layer, and `/health` outside the layer.
pub fn app_router(oauth: &OAuth) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/me", get(me).route_layer(oauth.require_login()))
        .route("/api/me", get(me))
        .route("/api/maybe", get(maybe))
        .route("/tokens", get(tokens))
        .merge(oauth.routes())
        .layer(oauth.layer())
        .route("/health", get(|| async { "ok" }))
}

async fn home(session: Option<AuthSession>) -> impl IntoResponse {
    match session {
        Some(s) => format!(
            "Hello, {}",
            s.user().map_or("there", UserInfo::display_name)
        ),
        None => "Welcome".to_owned(),
    }
}

async fn me(user: BearerUser) -> Json<UserInfo> {
    Json(user.into_info())
}

/// The session's tokens as JSON — a test-only window into what the handler sees.
async fn tokens(session: AuthSession) -> Json<serde_json::Value> {
    let t = session.tokens();
    Json(serde_json::json!({
        "access_token": t.access_token().secret(),
        "refresh_token": t.refresh_token().map(|r| r.secret().to_owned()),
        "expires_at": t.expires_at(),
        "scope": t.scope(),
        "id_token": t.id_token().map(|i| i.secret().to_owned()),
    }))
}

async fn maybe(user: Option<BearerUser>) -> String {
    match user {
        Some(u) => format!("user {}", u.info().display_name()),
        None => "anonymous".to_owned(),
    }
}

/// Binds `127.0.0.1:0`; returns the listener and its port.
pub async fn bind() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    (listener, port)
}

pub async fn start_mock() -> MockProvider {
    bounded("starting the mock", MockProvider::start())
        .await
        .expect("mock starts")
}

/// A running app with its mock provider and a default browser.
pub struct TestApp {
    pub mock: MockProvider,
    pub oauth: OAuth,
    pub addr: SocketAddr,
    pub base: String,
    /// The manual clock the app was built with (unless the configure closure replaced it).
    pub clock: Clock,
    pub browser: Browser,
    server: JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Deref for TestApp {
    type Target = Browser;
    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl TestApp {
    /// Default settings: manual clock, random cookie key.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|b| b).await
    }

    /// Like [`spawn`](Self::spawn), with the builder customised by `configure` (applied
    /// last, so it may override the redirect URI, clock or key).
    pub async fn spawn_with(configure: impl FnOnce(OAuthBuilder) -> OAuthBuilder) -> TestApp {
        let mock = start_mock().await;
        Self::spawn_with_mock(mock, configure).await
    }

    pub async fn spawn_with_mock(
        mock: MockProvider,
        configure: impl FnOnce(OAuthBuilder) -> OAuthBuilder,
    ) -> TestApp {
        let (listener, port) = bind().await;
        let clock = Clock::manual_from_now();
        let builder = OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
            .redirect_uri(format!("http://127.0.0.1:{port}/auth/callback"))
            .clock(clock.clone())
            .cookie_key(CookieKey::generate());
        let oauth = configure(builder).build().expect("OAuth builds");
        Self::serve(mock, listener, oauth, clock)
    }

    /// Serves an already built `OAuth` on `listener`.
    pub fn serve(mock: MockProvider, listener: TcpListener, oauth: OAuth, clock: Clock) -> TestApp {
        let addr = listener.local_addr().expect("local addr");
        let router = app_router(&oauth);
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("server runs");
        });
        let base = format!("http://{addr}");
        let browser = Browser::new(&base, &mock);
        TestApp {
            mock,
            oauth,
            addr,
            base,
            clock,
            browser,
            server,
        }
    }

    /// Another browser (empty cookie jar) on the same app.
    pub fn new_browser(&self) -> Browser {
        Browser::new(&self.base, &self.mock)
    }
}

/// An HTTP client with its own cookie jar that never follows redirects.
pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub base: String,
    pub mock: MockProvider,
}

impl Browser {
    pub fn new(base: &str, mock: &MockProvider) -> Browser {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        // A browser's navigation headers: the crate tells navigations (login redirects,
        // HTML pages) from API calls (401, JSON) by them. Requests that set `accept`
        // themselves replace this default.
        let mut navigation = HeaderMap::new();
        navigation.insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static(
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            ),
        );
        let client = reqwest::Client::builder()
            .default_headers(navigation)
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(STEP_TIMEOUT)
            .build()
            .expect("client builds");
        Browser {
            client,
            jar,
            base: base.to_owned(),
            mock: mock.clone(),
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Response {
        bounded("an HTTP request", req.send())
            .await
            .expect("request succeeds")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = self.client.get(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    pub async fn post(&self, path: &str) -> Response {
        self.send(self.client.post(self.url(path))).await
    }

    /// `GET /auth/login?{raw_query}`; asserts 303 and returns the Location.
    pub async fn start_login_query(&self, raw_query: &str) -> String {
        let res = self.get(&format!("/auth/login?{raw_query}")).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "login answers 303");
        location(&res)
    }

    /// `GET /auth/login` (with `return_to` percent-encoded when given); asserts 303 and
    /// returns the provider's authorize URL.
    pub async fn start_login(&self, return_to: Option<&str>) -> String {
        match return_to {
            Some(r) => {
                self.start_login_query(&format!("return_to={}", enc(r)))
                    .await
            }
            None => {
                let res = self.get("/auth/login").await;
                assert_eq!(res.status(), StatusCode::SEE_OTHER, "login answers 303");
                location(&res)
            }
        }
    }

    /// The mock logs in and clicks Allow; returns the callback URL (not followed).
    pub async fn authorize(&self, authorize_url: &str) -> Url {
        bounded("mock authorize", self.mock.authorize(authorize_url))
            .await
            .expect("mock authorizes")
    }

    /// The mock logs in and clicks Deny; returns the error redirect (not followed).
    pub async fn deny(&self, authorize_url: &str) -> Url {
        bounded("mock deny", self.mock.deny(authorize_url))
            .await
            .expect("mock denies")
    }

    /// GETs the path and query of `callback` on this app (whatever its origin).
    pub async fn callback(&self, callback: &Url) -> Response {
        self.get(&path_and_query(callback)).await
    }

    /// Start → mock Allow → callback; returns the callback response.
    pub async fn complete_login(&self, return_to: Option<&str>) -> Response {
        let authorize = self.start_login(return_to).await;
        let callback = self.authorize(&authorize).await;
        self.callback(&callback).await
    }

    /// A full login that must succeed (303 from the callback).
    pub async fn login(&self) {
        let res = self.complete_login(None).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "callback answers 303");
        assert!(self.session_cookie().is_some(), "a session cookie is set");
    }

    /// Every cookie the jar would send to the callback path (`/` and `/auth` cookies).
    pub fn cookies(&self) -> Vec<(String, String)> {
        let url = Url::parse(&self.url("/auth/callback")).expect("url");
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

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .into_iter()
            .find_map(|(n, v)| (n == name).then_some(v))
    }

    pub fn session_cookie(&self) -> Option<String> {
        self.cookie(SESSION_COOKIE)
    }

    /// Names of the login-flow cookies in the jar.
    pub fn flow_cookies(&self) -> Vec<String> {
        self.cookies()
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| n.contains("_flow_"))
            .collect()
    }
}

/// Percent-encodes a query value.
pub fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

pub fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// The `Location` header (panics when missing).
pub fn location(res: &Response) -> String {
    res.headers()
        .get(LOCATION)
        .expect("a Location header")
        .to_str()
        .expect("ascii Location")
        .to_owned()
}

/// Every `Set-Cookie` header of a response.
pub fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii Set-Cookie").to_owned())
        .collect()
}

/// The `Set-Cookie` for cookie `name`, if any.
pub fn set_cookie_for(headers: &HeaderMap, name: &str) -> Option<String> {
    set_cookies(headers)
        .into_iter()
        .find(|c| c.split_once('=').is_some_and(|(n, _)| n == name))
}

/// The value part of a `Set-Cookie` string.
pub fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().expect("a name=value pair");
    pair.split_once('=').expect("name=value").1.to_owned()
}

/// Whether a `Set-Cookie` string carries `attr` (case-insensitive, exact attribute).
pub fn has_attr(set_cookie: &str, attr: &str) -> bool {
    set_cookie
        .split(';')
        .skip(1)
        .any(|a| a.trim().eq_ignore_ascii_case(attr))
}

pub async fn body(res: Response) -> String {
    bounded("reading a body", res.text())
        .await
        .expect("body reads")
}

pub async fn json(res: Response) -> serde_json::Value {
    bounded("reading a JSON body", res.json())
        .await
        .expect("JSON body")
}
