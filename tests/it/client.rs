//! `OAuthClient` against the in-process `MockProvider`, over real HTTP on 127.0.0.1.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum_oauth_login::client::{Endpoint, ErrorCode, Introspection, OAuthClientBuilder, TokenRef};
use axum_oauth_login::secret::{
    AccessToken, AuthorizationCode, CsrfState, PkceVerifier, RefreshToken,
};
use axum_oauth_login::{
    Clock, CookieKey, OAuth, Provider, TokenSet, UserInfo,
    client::{OAuthClient, OAuthError},
    provider::{ClientAuth, ProviderBuilder, TokenBody},
};
use axum_oauth_login_mock::{
    MockClient, MockEndpoint, MockProvider, MockProviderBuilder, RecordedRequest,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use url::Url;

use crate::support::{Server, bind};

/// The client's default cap on a provider response body (1 MiB, as documented).
const MAX_BODY_BYTES: usize = 1024 * 1024;
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const JSON: &str = "application/json";

/// Unwraps the error of `$result`, asserts it matches the pattern, and returns it.
macro_rules! err {
    ($result:expr => $($pattern:tt)+) => {{
        let err = $result.unwrap_err();
        assert!(matches!(&err, $($pattern)+), "{err:?}");
        err
    }};
}

async fn start(builder: MockProviderBuilder) -> MockProvider {
    builder.start().await.unwrap()
}

/// The mock's provider with some settings changed.
fn provider(
    mock: &MockProvider,
    change: impl FnOnce(ProviderBuilder) -> ProviderBuilder,
) -> Provider {
    change(mock.provider().to_builder()).build().unwrap()
}

fn builder(mock: &MockProvider, provider: Provider) -> OAuthClientBuilder {
    OAuthClient::builder(provider, mock.client_id(), mock.client_secret()).redirect_uri(REDIRECT)
}

fn client(mock: &MockProvider, provider: Provider) -> OAuthClient {
    builder(mock, provider).build().unwrap()
}

/// A default mock and a client for its default app.
async fn setup() -> (MockProvider, OAuthClient) {
    let mock = MockProvider::start().await.unwrap();
    let c = client(&mock, mock.provider());
    (mock, c)
}

/// The value of `name` in `url`'s query; fails when the parameter is repeated.
fn param(url: &Url, name: &str) -> Option<String> {
    let mut values = url.query_pairs().filter(|(k, _)| k == name);
    let first = values.next().map(|(_, v)| v.into_owned());
    assert!(values.next().is_none(), "`{name}` repeated in {url}");
    first
}

/// Logs the mock's user in through `client`'s authorize URL and returns the code.
async fn code_for(
    mock: &MockProvider,
    client: &OAuthClient,
    pkce: Option<&PkceVerifier>,
) -> AuthorizationCode {
    let state = CsrfState::random();
    let url = client.authorize_url(&state, pkce);
    let callback = mock.authorize(url.as_str()).await.unwrap();
    assert_eq!(param(&callback, "state").as_deref(), Some(state.secret()));
    AuthorizationCode::new(param(&callback, "code").expect("a code in the callback"))
}

/// A whole login with PKCE: authorize, then exchange.
async fn login(mock: &MockProvider, client: &OAuthClient) -> TokenSet {
    let verifier = PkceVerifier::random();
    let code = code_for(mock, client, Some(&verifier)).await;
    client.exchange_code(code, Some(&verifier)).await.unwrap()
}

fn last(mock: &MockProvider, endpoint: MockEndpoint) -> RecordedRequest {
    mock.requests(endpoint).pop().expect("a recorded request")
}

/// Exchanges a code the provider never issued (for canned answers and dead servers).
async fn dummy(client: &OAuthClient) -> Result<TokenSet, OAuthError> {
    client
        .exchange_code(AuthorizationCode::new("x"), None)
        .await
}

/// Queues one canned token answer, then exchanges a dummy code against it.
async fn canned(
    mock: &MockProvider,
    client: &OAuthClient,
    status: u16,
    content_type: &str,
    body: impl Into<bytes::Bytes>,
) -> Result<TokenSet, OAuthError> {
    mock.respond_next(MockEndpoint::Token, 1, status, content_type, body);
    dummy(client).await
}

/// A valid token response padded to exactly `len` bytes.
fn padded(len: usize) -> String {
    let head = r#"{"access_token":"a","token_type":"bearer","pad":""#;
    format!("{head}{}\"}}", "x".repeat(len - head.len() - 2))
}

fn unix_now() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    now.unwrap().as_secs()
}

/// Serves `app` on a fresh loopback port, until the returned [`Server`] drops.
async fn serve(app: Router) -> (SocketAddr, Server) {
    let (listener, port) = bind().await;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    (addr, Server::start(listener, app))
}

fn token_url_at(mock: &MockProvider, url: String) -> Provider {
    provider(mock, |p| p.token_url(url))
}

// ---- request shape -------------------------------------------------------------------

/// Logs in with PKCE, checks every recorded field, and returns the content type.
async fn exchange_and_check_fields(mock: &MockProvider, c: &OAuthClient) -> String {
    let verifier = PkceVerifier::random();
    let code = code_for(mock, c, Some(&verifier)).await;
    let expected: BTreeMap<String, String> = [
        ("grant_type", "authorization_code"),
        ("code", code.secret()),
        ("redirect_uri", REDIRECT),
        ("client_id", mock.client_id()),
        ("client_secret", mock.client_secret()),
        ("code_verifier", verifier.secret()),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into();
    let tokens = c.exchange_code(code, Some(&verifier)).await.unwrap();
    assert_eq!(tokens.access_token().secret().len(), 64);
    let r = last(mock, MockEndpoint::Token);
    assert_eq!(r.fields, expected);
    assert_eq!(r.client_auth(), Some(ClientAuth::ClientSecretPost));
    assert_eq!(r.authorization, None);
    r.content_type.unwrap_or_default()
}

#[tokio::test]
async fn json_and_form_token_bodies() {
    let (mock, json) = setup().await;
    assert_eq!(exchange_and_check_fields(&mock, &json).await, JSON);
    let form = client(&mock, provider(&mock, |p| p.token_body(TokenBody::Form)));
    let content_type = exchange_and_check_fields(&mock, &form).await;
    assert_eq!(content_type, "application/x-www-form-urlencoded");
}

#[tokio::test]
async fn json_only_provider_rejects_form_bodies() {
    let mock = start(MockProvider::builder().accept_form(false)).await;
    let c = client(&mock, provider(&mock, |p| p.token_body(TokenBody::Form)));
    let code = code_for(&mock, &c, None).await;
    let err = err!(c.exchange_code(code, None).await =>
        OAuthError::Provider { endpoint: Endpoint::Token, status: 400, error, .. }
            if *error == ErrorCode::InvalidRequest);
    assert!(!err.is_transient() && !err.is_invalid_grant());
    // The same mock takes the JSON body.
    login(&mock, &client(&mock, mock.provider())).await;
}

#[tokio::test]
async fn client_secret_basic_form_encodes_the_credentials() {
    // Post (the other method) is checked in `exchange_and_check_fields`.
    const ID: &str = "app:id/ü+1 %x";
    const SECRET: &str = "s3cr:et with spaces&+%2F=/é";
    let mock = start(MockProvider::builder().client(MockClient::new(ID, SECRET))).await;
    let unescape = |s: &str| {
        let query = format!("x={s}");
        let pair = url::form_urlencoded::parse(query.as_bytes()).next();
        pair.unwrap().1.into_owned()
    };
    for body in [TokenBody::Json, TokenBody::Form] {
        let p = provider(&mock, |p| {
            p.token_body(body)
                .client_auth(ClientAuth::ClientSecretBasic)
        });
        let c = OAuthClient::builder(p, ID, SECRET).redirect_uri(REDIRECT);
        let c = c.build().unwrap();
        let tokens = login(&mock, &c).await;
        let r = last(&mock, MockEndpoint::Token);
        assert_eq!(r.client_auth(), Some(ClientAuth::ClientSecretBasic));
        assert!(!r.fields.contains_key("client_secret"), "{:?}", r.fields);
        let header = r.authorization.expect("an Authorization header");
        let raw = STANDARD.decode(header.strip_prefix("Basic ").unwrap());
        let raw = String::from_utf8(raw.unwrap()).unwrap();
        assert_eq!(raw.matches(':').count(), 1, "colons are escaped: {raw}");
        let (id, secret) = raw.split_once(':').unwrap();
        assert_eq!(
            (unescape(id).as_str(), unescape(secret).as_str()),
            (ID, SECRET)
        );
        // The token really belongs to the odd client.
        let i = c.introspect(TokenRef::Access(tokens.access_token())).await;
        assert_eq!(i.unwrap().client_id.as_deref(), Some(ID));
    }
}

// ---- PKCE --------------------------------------------------------------------------

#[tokio::test]
async fn pkce_verifier_is_checked() {
    let (mock, c) = setup().await;
    let verifier = PkceVerifier::random();
    let url = c.authorize_url(&CsrfState::random(), Some(&verifier));
    let challenge = param(&url, "code_challenge");
    assert_eq!(challenge, Some(verifier.s256_challenge()));
    let method = param(&url, "code_challenge_method");
    assert_eq!(method.as_deref(), Some("S256"));
    assert!(!url.as_str().contains(verifier.secret()), "{url}");
    assert!(!url.as_str().contains(mock.client_secret()), "{url}");

    let code = code_for(&mock, &c, Some(&verifier)).await;
    assert!(c.exchange_code(code, Some(&verifier)).await.is_ok());

    let code = code_for(&mock, &c, Some(&verifier)).await;
    let wrong = PkceVerifier::random();
    let err = c.exchange_code(code, Some(&wrong)).await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err:?}");
    assert_eq!(err.status(), Some(400));

    let code = code_for(&mock, &c, Some(&verifier)).await;
    let err = c.exchange_code(code, None).await.unwrap_err();
    assert!(err.is_invalid_grant(), "a missing verifier: {err:?}");
}

/// `GET /auth/login` of an `OAuth` for `provider`: the OAuth and the provider URL.
async fn login_route(mock: &MockProvider, provider: Provider) -> (OAuth, Url) {
    let oauth = OAuth::builder(provider, mock.client_id(), mock.client_secret())
        .redirect_uri(REDIRECT)
        .cookie_key(CookieKey::generate())
        .build()
        .unwrap();
    let request = http::Request::get("/auth/login").body(Body::empty());
    // The app applies the OAuth layer, outermost, around the auth routes too.
    let router = oauth.routes::<()>().layer(oauth.layer());
    let res = router.oneshot(request.unwrap()).await.unwrap();
    assert_eq!(res.status(), http::StatusCode::SEE_OTHER);
    let location = res.headers()[http::header::LOCATION].to_str().unwrap();
    let url = Url::parse(location).unwrap();
    (oauth, url)
}

#[tokio::test]
async fn pkce_off_sends_no_challenge_from_the_login_route() {
    let mock = MockProvider::start().await.unwrap();
    let (_, on) = login_route(&mock, mock.provider()).await;
    assert_eq!(param(&on, "code_challenge_method").as_deref(), Some("S256"));
    let (oauth, off) = login_route(&mock, provider(&mock, |p| p.pkce(false))).await;
    assert_eq!(param(&off, "code_challenge"), None, "{off}");
    assert_eq!(param(&off, "code_challenge_method"), None, "{off}");
    // Without a challenge, the code exchanges without a verifier.
    let callback = mock.authorize(off.as_str()).await.unwrap();
    let code = AuthorizationCode::new(param(&callback, "code").unwrap());
    oauth.client().exchange_code(code, None).await.unwrap();
    let fields = last(&mock, MockEndpoint::Token).fields;
    assert!(!fields.contains_key("code_verifier"), "{fields:?}");
}

// ---- failures ----------------------------------------------------------------------

#[tokio::test]
async fn expired_and_reused_codes_are_invalid_grant() {
    let (mock, c) = setup().await;
    let code = code_for(&mock, &c, None).await;
    mock.advance_clock(Duration::from_secs(31));
    let err = err!(c.exchange_code(code, None).await =>
        OAuthError::Provider { status: 400, description: Some(d), .. } if d == "code expired");
    assert!(err.is_invalid_grant() && !err.is_transient(), "{err:?}");

    let code = code_for(&mock, &c, None).await;
    let again = AuthorizationCode::new(code.secret());
    c.exchange_code(code, None).await.unwrap();
    let err = err!(c.exchange_code(again, None).await =>
        OAuthError::Provider { description: Some(d), .. } if d == "code already used");
    assert!(err.is_invalid_grant(), "{err:?}");
}

#[tokio::test]
async fn wrong_secret_is_invalid_client() {
    let (mock, good) = setup().await;
    let code = code_for(&mock, &good, None).await;
    let bad = OAuthClient::builder(mock.provider(), mock.client_id(), "wrong-secret");
    let bad = bad.redirect_uri(REDIRECT).build().unwrap();
    let err = err!(bad.exchange_code(code, None).await =>
        OAuthError::Provider { status: 401, error: ErrorCode::InvalidClient, .. });
    assert!(!err.is_invalid_grant() && !err.is_invalid_token() && !err.is_transient());
}

#[tokio::test]
async fn html_500_is_malformed_and_transient() {
    let (mock, c) = setup().await;
    let html = "<html><body><h1>500 Internal Server Error</h1>\n<p>nginx</p></body></html>";
    let err = err!(canned(&mock, &c, 500, "text/html", html).await =>
        OAuthError::Malformed { endpoint: Endpoint::Token, status: 500, excerpt: Some(e), .. }
            if e.contains("500 Internal Server Error"));
    assert!(err.is_transient());
    // A provider error body with 503 is transient too.
    mock.fail_next(MockEndpoint::Token, 1, 503);
    let err = err!(dummy(&c).await =>
        OAuthError::Provider { status: 503, error: ErrorCode::ServerError, .. });
    assert!(err.is_transient());
}

#[tokio::test]
async fn unusable_success_bodies_are_malformed() {
    let (mock, c) = setup().await;
    let result = canned(&mock, &c, 200, JSON, "{not json").await;
    let err = err!(result => OAuthError::Malformed { status: 200, .. });
    assert!(!err.is_transient());

    let body = r#"{"token_type":"bearer","expires_in":3600}"#;
    err!(canned(&mock, &c, 200, JSON, body).await =>
        OAuthError::Malformed { status: 200, reason, .. } if reason.contains("access_token"));
    let body = r#"{"access_token":"abc","token_type":"mac"}"#;
    err!(canned(&mock, &c, 200, JSON, body).await =>
        OAuthError::UnsupportedTokenType { token_type } if token_type == "mac");
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused() {
    let mock = MockProvider::start().await.unwrap();
    let small = builder(&mock, mock.provider()).max_body_bytes(1024);
    let small = small.build().unwrap();
    let ok = canned(&mock, &small, 200, JSON, padded(1000)).await;
    assert!(ok.is_ok(), "under the cap: {ok:?}");
    err!(canned(&mock, &small, 200, JSON, padded(2048)).await =>
        OAuthError::BodyTooLarge { endpoint: Endpoint::Token, limit: 1024 });
    // The default cap: 1 MiB.
    let c = client(&mock, mock.provider());
    let big = padded(MAX_BODY_BYTES * 3 / 2);
    err!(canned(&mock, &c, 200, JSON, big).await =>
        OAuthError::BodyTooLarge { limit: MAX_BODY_BYTES, .. });
}

#[tokio::test]
async fn chunked_bodies_over_the_cap_are_refused() {
    // A streamed body has no Content-Length: the cap must hold while reading.
    let stream = || {
        let body = padded(2048).into_bytes();
        let ok = |c: &[u8]| Ok::<_, Infallible>(c.to_vec());
        let chunks: Vec<_> = body.chunks(256).map(ok).collect();
        std::future::ready(Body::from_stream(futures_util::stream::iter(chunks)))
    };
    let (addr, _server) = serve(Router::new().fallback(stream)).await;
    let mock = MockProvider::start().await.unwrap();
    let p = token_url_at(&mock, format!("http://{addr}/oauth/token"));
    let big = builder(&mock, p.clone()).max_body_bytes(4096).build();
    assert!(dummy(&big.unwrap()).await.is_ok());
    let small = builder(&mock, p).max_body_bytes(1024).build();
    err!(dummy(&small.unwrap()).await => OAuthError::BodyTooLarge { limit: 1024, .. });
}

#[tokio::test]
async fn connection_refused_is_transport() {
    let mock = MockProvider::start().await.unwrap();
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let url = format!("http://127.0.0.1:{port}/oauth/token?k=q");
    let c = client(&mock, token_url_at(&mock, url));
    let err = err!(dummy(&c).await =>
        OAuthError::Transport { endpoint: Endpoint::Token, reason }
            if !reason.contains("/oauth/token"));
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_hanging_provider_times_out() {
    let mock = MockProvider::start().await.unwrap();
    let c = builder(&mock, mock.provider()).timeout(Duration::from_millis(300));
    let c = c.build().unwrap();
    mock.delay_next(MockEndpoint::Token, 1, Duration::from_secs(2));
    let started = Instant::now();
    let err = err!(dummy(&c).await =>
        OAuthError::Timeout { endpoint: Endpoint::Token, timeout }
            if *timeout == Duration::from_millis(300));
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (mock, c) = setup().await;
    let page = "<a href=\"/elsewhere\">moved</a>";
    err!(canned(&mock, &c, 302, "text/html", page).await =>
        OAuthError::Malformed { status: 302, reason, .. } if reason.contains("redirect"));
    // With a real Location: 302, and 307 (which would resend the body and secret).
    for code in [302, 307] {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let redirect = move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let status = http::StatusCode::from_u16(code).unwrap();
            std::future::ready((status, [(http::header::LOCATION, "/followed")]))
        };
        let (addr, _server) = serve(Router::new().fallback(redirect)).await;
        let c = client(&mock, token_url_at(&mock, format!("http://{addr}/t")));
        err!(dummy(&c).await => OAuthError::Malformed { status, .. } if *status == code);
        assert_eq!(hits.load(Ordering::SeqCst), 1, "{code} was followed");
    }
}

// ---- tolerant parsing ----------------------------------------------------------------

#[tokio::test]
async fn token_responses_are_parsed_tolerantly() {
    let (mock, c) = setup().await;
    let created_at = unix_now() - 100;
    let body = json!({
        "access_token": "tok-1", "token_type": "BEARER", "expires_in": "3600",
        "created_at": created_at, "refresh_token": "r-1", "id_token": "id-1",
        "scope": "read write", "x_vendor": {"k": 1}, "instance_url": "https://x.example",
    });
    let t = canned(&mock, &c, 200, JSON, body.to_string()).await;
    let t = t.unwrap();
    assert_eq!(t.access_token().secret(), "tok-1");
    assert_eq!(t.expires_at(), Some(created_at + 3600));
    assert_eq!(t.refresh_token().map(RefreshToken::secret), Some("r-1"));
    assert_eq!(t.id_token().map(|i| i.secret()), Some("id-1"));
    assert_eq!(t.scope(), Some("read write"));
    let extra: BTreeSet<&str> = t.extra().keys().map(String::as_str).collect();
    assert_eq!(extra, BTreeSet::from(["instance_url", "x_vendor"]));
    assert_eq!(t.extra()["x_vendor"], json!({"k": 1}));

    // Without created_at, expiry counts from now; a missing token_type is Bearer.
    let body = r#"{"access_token":"tok-2","expires_in":60}"#;
    let before = unix_now();
    let t = canned(&mock, &c, 200, JSON, body).await.unwrap();
    let at = t.expires_at().unwrap();
    assert!((before + 60..=unix_now() + 60).contains(&at), "{at}");

    // The mock's own answer: vcita's created_at and 20-year expires_in.
    let at = login(&mock, &c).await.expires_at().unwrap();
    assert!(at.abs_diff(unix_now() + 631_152_000) <= 5, "{at}");
}

#[tokio::test]
async fn expiry_uses_the_client_clock() {
    let mock = MockProvider::start().await.unwrap();
    let clock = Clock::manual(1_000_000);
    let c = builder(&mock, mock.provider()).clock(clock.clone()).build();
    let c = c.unwrap();
    let body = r#"{"access_token":"a","expires_in":60}"#;
    let t = canned(&mock, &c, 200, JSON, body).await.unwrap();
    assert_eq!(t.expires_at(), Some(1_000_060));
    // A created_at later than the client's now is clamped to now.
    clock.advance(Duration::from_secs(40));
    let at = login(&mock, &c).await.expires_at();
    assert_eq!(at, Some(1_000_040 + 631_152_000));
}

// ---- refresh -----------------------------------------------------------------------

#[tokio::test]
async fn refresh_rotates_and_the_old_token_dies() {
    let mock = start(MockProvider::builder().refresh_tokens(true)).await;
    let c = client(&mock, mock.provider());
    let first = login(&mock, &c).await;
    let r1 = first.refresh_token().expect("a refresh token").clone();
    let second = c.refresh(&r1).await.unwrap();
    let (a1, a2) = (first.access_token(), second.access_token());
    assert_ne!(a1.secret(), a2.secret());
    let r2 = second.refresh_token().expect("a rotated refresh token");
    assert_ne!(r2.secret(), r1.secret());
    assert_eq!(mock.refresh_hits(), 1);
    let r = last(&mock, MockEndpoint::Token);
    assert_eq!(r.fields["grant_type"], "refresh_token");
    assert_eq!(r.fields["refresh_token"], r1.secret());
    assert_eq!(r.client_auth(), Some(ClientAuth::ClientSecretPost));

    let err = c.refresh(&r1).await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err:?}");
    let user: UserInfo = c.userinfo(a2).await.unwrap();
    assert_eq!(user.sub.as_deref(), Some("u-1001"));
    assert!(c.refresh(r2).await.is_ok());
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_refresh_token() {
    let no_rotation = MockProvider::builder().rotate_refresh_tokens(false);
    let mock = start(no_rotation.refresh_tokens(true)).await;
    let c = client(&mock, mock.provider());
    let first = login(&mock, &c).await;
    let r1 = first.refresh_token().unwrap();
    let second = c.refresh(r1).await.unwrap();
    let kept = second.refresh_token().map(RefreshToken::secret);
    assert_eq!(kept, Some(r1.secret()));
    let (a1, a2) = (first.access_token(), second.access_token());
    assert_ne!(a1.secret(), a2.secret());
    assert!(c.refresh(r1).await.is_ok());
}

// ---- userinfo, introspection, revocation ---------------------------------------------

#[tokio::test]
async fn userinfo_returns_vcita_fields() {
    let (mock, c) = setup().await;
    let token = login(&mock, &c).await.access_token().clone();
    let info: UserInfo = c.userinfo(&token).await.unwrap();
    assert_eq!(info.sub.as_deref(), Some("u-1001"));
    assert_eq!(info.business_name.as_deref(), Some("Demo Salon"));
    assert_eq!(info.email.as_deref(), Some("owner@example.com"));
    assert_eq!(info.role.as_deref(), Some("owner"));
    assert_eq!(info.user_type.as_deref(), Some("staff"));
    assert_eq!(info.business_id.as_deref(), Some("b-42"));
    assert_eq!(info.business_uid.as_deref(), Some("biz_42"));
    assert_eq!(info.directory_uid.as_deref(), Some("dir-1"));
    assert_eq!(info.brand_host.as_deref(), Some("app.vcita.com"));
    assert_eq!(info.extra["brand_theme"]["primary_color"], "#1a73e8");
    let r = last(&mock, MockEndpoint::Userinfo);
    assert_eq!(r.authorization, Some(format!("Bearer {}", token.secret())));

    let raw: Value = c.userinfo(&token).await.unwrap();
    assert_eq!(raw, mock.user().info);
    let issued = AccessToken::new(mock.issue_token());
    let info: UserInfo = c.userinfo(&issued).await.unwrap();
    assert_eq!(info.display_name(), "Demo Salon");
}

#[tokio::test]
async fn userinfo_failures() {
    let (mock, c) = setup().await;
    let err = err!(c.userinfo::<UserInfo>(&AccessToken::new("nope")).await =>
        OAuthError::Provider { endpoint: Endpoint::Userinfo, status: 401, .. });
    assert!(err.is_invalid_token() && !err.is_transient(), "{err:?}");

    let token = AccessToken::new(mock.issue_token());
    mock.respond_next(MockEndpoint::Userinfo, 1, 401, "text/plain", "");
    let err = c.userinfo::<UserInfo>(&token).await.unwrap_err();
    assert!(err.is_invalid_token(), "a bare 401: {err:?}");

    mock.fail_next(MockEndpoint::Userinfo, 1, 503);
    let err = c.userinfo::<Value>(&token).await.unwrap_err();
    assert!(err.is_transient() && !err.is_invalid_token(), "{err:?}");
    assert_eq!(err.status(), Some(503));

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Strict {
        sub: u64,
    }
    err!(c.userinfo::<Strict>(&token).await => OAuthError::Malformed { status: 200, .. });
    // Still works after the injected failures.
    assert!(c.userinfo::<UserInfo>(&token).await.is_ok());
}

#[tokio::test]
async fn introspect_and_revoke() {
    let mock = start(MockProvider::builder().refresh_tokens(true)).await;
    let c = client(&mock, mock.provider());
    let tokens = login(&mock, &c).await;
    let (access, refresh) = (tokens.access_token(), tokens.refresh_token().unwrap());
    let i = c.introspect(TokenRef::Access(access)).await.unwrap();
    assert!(i.active);
    assert_eq!(i.client_id.as_deref(), Some(mock.client_id()));
    assert_eq!(i.username.as_deref(), Some("owner@example.com"));
    assert_eq!(i.sub.as_deref(), Some("u-1001"));
    assert_eq!(i.token_type.as_deref(), Some("access_token"));
    assert!(i.exp.unwrap() > unix_now());
    let r = last(&mock, MockEndpoint::Introspect);
    assert_eq!(r.fields["token"], access.secret());
    assert_eq!(r.fields["token_type_hint"], "access_token");
    assert_eq!(r.client_auth(), Some(ClientAuth::ClientSecretPost));

    let i = c.introspect(TokenRef::Refresh(refresh)).await.unwrap();
    assert!(i.active);
    assert_eq!(i.token_type.as_deref(), Some("refresh_token"));
    let hint = &last(&mock, MockEndpoint::Introspect).fields["token_type_hint"];
    assert_eq!(hint, "refresh_token");

    let unknown = AccessToken::new("0".repeat(64));
    let i = c.introspect(TokenRef::Access(&unknown)).await.unwrap();
    assert_eq!(i, Introspection::default(), "inactive and nothing else");

    c.revoke(TokenRef::Access(access)).await.unwrap();
    let r = last(&mock, MockEndpoint::Revoke);
    assert_eq!(r.fields["token"], access.secret());
    assert_eq!(r.fields["token_type_hint"], "access_token");
    let i = c.introspect(TokenRef::Access(access)).await.unwrap();
    assert!(!i.active);
    let err = c.userinfo::<UserInfo>(access).await.unwrap_err();
    assert!(err.is_invalid_token(), "{err:?}");

    c.revoke(TokenRef::Refresh(refresh)).await.unwrap();
    let i = c.introspect(TokenRef::Refresh(refresh)).await.unwrap();
    assert!(!i.active);
    assert!(c.refresh(refresh).await.unwrap_err().is_invalid_grant());
}

// ---- authorize URL -------------------------------------------------------------------

#[tokio::test]
async fn authorize_url_carries_every_parameter() {
    let mock = MockProvider::start().await.unwrap();
    let base = mock.base_url();
    let with_query = format!("{base}/app/oauth/authorize?tenant=acme&lang=en");
    let p = provider(&mock, |p| {
        p.authorize_url(with_query)
            .scopes(["openid", "email"])
            .authorize_param("prompt", "consent")
    });
    let c = client(&mock, p);
    let state = CsrfState::random();
    let url = c.authorize_url(&state, None);
    assert_eq!(url.path(), "/app/oauth/authorize");
    assert_eq!(url.host_str(), Some("127.0.0.1"));
    assert_eq!(param(&url, "tenant").as_deref(), Some("acme"));
    assert_eq!(param(&url, "lang").as_deref(), Some("en"));
    assert_eq!(param(&url, "response_type").as_deref(), Some("code"));
    assert_eq!(param(&url, "client_id").as_deref(), Some(mock.client_id()));
    assert_eq!(param(&url, "redirect_uri").as_deref(), Some(REDIRECT));
    assert_eq!(param(&url, "state").as_deref(), Some(state.secret()));
    assert_eq!(param(&url, "scope").as_deref(), Some("openid email"));
    assert_eq!(param(&url, "prompt").as_deref(), Some("consent"));
    assert_eq!(url.query_pairs().count(), 8, "{url}");
    assert!(!url.as_str().contains(mock.client_secret()));

    // The mock takes it as is, and the code it yields exchanges.
    let callback = mock.authorize(url.as_str()).await.unwrap();
    let r = &mock.requests(MockEndpoint::Authorize)[0];
    assert_eq!(r.fields["tenant"], "acme");
    assert_eq!(r.fields["scope"], "openid email");
    let code = AuthorizationCode::new(param(&callback, "code").unwrap());
    let tokens = c.exchange_code(code, None).await.unwrap();
    assert_eq!(tokens.scope(), Some("openid email"));

    // Without scopes, no scope parameter.
    let plain = client(&mock, mock.provider()).authorize_url(&state, None);
    assert_eq!(param(&plain, "scope"), None, "{plain}");
    assert_eq!(plain.query_pairs().count(), 4, "{plain}");
}
