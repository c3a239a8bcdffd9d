//! `OAuthClient` against the in-process `MockProvider`, over real HTTP on 127.0.0.1: what
//! the tests share here, one submodule per concern.

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

// After `err!`, which they use.
mod authorize_url;
mod dpop;
mod endpoints;
mod failures;
mod pkce;
mod private_key_jwt;
mod request_shape;
mod token_responses;

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
    let url = client.authorize_url(&state, pkce, None).await.unwrap();
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
