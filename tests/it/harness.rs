//! The integration suite's harness: a `MockProvider`, the example's app with the
//! test-only routes ([`test_app`]) on `127.0.0.1:0`, and a [`Browser`] (the shared
//! cookie-keeping, non-redirecting [`Http`] client, pointed at the app) that logs in
//! through the mock.

use std::net::SocketAddr;
use std::ops::Deref;
use std::time::Duration;

use axum_oauth_login::{Clock, CookieKey, OAuth, OAuthBuilder};
use axum_oauth_login_mock::MockProvider;
use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::{Response, StatusCode};
use tokio::net::TcpListener;
use url::Url;

use crate::support::{
    Http, Server, bind, bounded, enc, example, location, path_and_query, test_app,
};

/// The default (http) session cookie name.
pub const SESSION_COOKIE: &str = "oauth_session";

/// One instance of the app: its own `OAuth`, sharing the cookie key, the clock and the
/// mock with the others; `configure` picks where sessions live.
pub async fn instance(
    mock: &MockProvider,
    key: &CookieKey,
    clock: &Clock,
    configure: impl FnOnce(OAuthBuilder) -> OAuthBuilder,
) -> TestApp {
    let (listener, port) = bind().await;
    let builder = example::configure(
        OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
            .redirect_uri(format!("http://127.0.0.1:{port}/auth/callback"))
            .clock(clock.clone())
            .cookie_key(key.clone()),
    );
    let oauth = configure(builder).build().expect("OAuth builds");
    TestApp::serve(mock.clone(), listener, oauth, clock.clone())
}

pub async fn start_mock() -> MockProvider {
    bounded("starting the mock", MockProvider::start())
        .await
        .expect("mock starts")
}

/// A mock that issues rotating refresh tokens and 120 s access tokens.
pub async fn rotating_mock() -> MockProvider {
    bounded(
        "mock",
        MockProvider::builder()
            .refresh_tokens(true)
            .rotate_refresh_tokens(true)
            .token_lifetime(Duration::from_secs(120))
            .start(),
    )
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
    _server: Server,
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
        let oauth = configure(example::configure(builder))
            .build()
            .expect("OAuth builds");
        Self::serve(mock, listener, oauth, clock)
    }

    /// Serves an already built `OAuth` on `listener`.
    pub fn serve(mock: MockProvider, listener: TcpListener, oauth: OAuth, clock: Clock) -> TestApp {
        let addr = listener.local_addr().expect("local addr");
        let server = Server::start(listener, test_app(&oauth));
        let base = format!("http://{addr}");
        let browser = Browser::new(&base, &mock);
        TestApp {
            mock,
            oauth,
            addr,
            base,
            clock,
            browser,
            _server: server,
        }
    }

    /// Another browser (empty cookie jar) on the same app.
    pub fn new_browser(&self) -> Browser {
        Browser::new(&self.base, &self.mock)
    }
}

/// The shared [`Http`] client (its own cookie jar, no redirects followed) pointed at
/// one app, logging in through its mock provider.
pub struct Browser {
    pub http: Http,
    pub base: String,
    pub mock: MockProvider,
}

impl Deref for Browser {
    type Target = Http;
    fn deref(&self) -> &Http {
        &self.http
    }
}

impl Browser {
    pub fn new(base: &str, mock: &MockProvider) -> Browser {
        Browser {
            http: Http::new(),
            base: base.to_owned(),
            mock: mock.clone(),
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
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
        self.cookies_for(&self.url("/auth/callback"))
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

/// `GET /tokens` (the session's tokens as JSON): the status and the body (`null` when
/// it is not JSON).
pub async fn tokens(browser: &Browser) -> (StatusCode, serde_json::Value) {
    let res = browser.get("/tokens").await;
    let status = res.status();
    let body = res.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// Moves the app's clock and the mock's clock forward together by `secs`.
pub fn advance(app: &TestApp, secs: u64) {
    app.clock.advance(Duration::from_secs(secs));
    app.mock.advance_clock(Duration::from_secs(secs));
}

/// An `Authorization` header value for `token`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
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
