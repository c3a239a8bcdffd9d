//! Tests of the mock provider over real HTTP, one file per side of the server.

mod api;
mod apicbase;
mod authorize;
mod copy_code;
mod resources;
mod tokens;
mod users;

use std::time::{Duration, Instant};

use axum_oauth_login::{Provider, provider::TokenBody};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use super::*;

pub(super) const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// One client for every test (building one loads the system's CA bundle); no idle
/// connections kept, since every test starts its own mock.
pub(super) fn http() -> reqwest::Client {
    static CLIENT: std::sync::LazyLock<reqwest::Client> = std::sync::LazyLock::new(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    });
    CLIENT.clone()
}

pub(super) fn authorize_url(mock: &MockProvider, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", mock.client_id()),
        ("redirect_uri", REDIRECT),
        ("state", "st-1"),
    ];
    params.extend_from_slice(extra);
    Url::parse_with_params(mock.provider().authorize_url().as_str(), &params)
        .unwrap()
        .to_string()
}

pub(super) fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub(super) async fn login_code(mock: &MockProvider, extra: &[(&str, &str)]) -> String {
    let callback = mock.authorize(&authorize_url(mock, extra)).await.unwrap();
    param(&callback, "code").expect("a code in the callback")
}

pub(super) async fn post_json(url: String, body: Value) -> (StatusCode, Value) {
    let response = http().post(url).json(&body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(super) async fn exchange(mock: &MockProvider, code: &str, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({
        "grant_type": "authorization_code",
        "code": code,
        "client_id": mock.client_id(),
        "client_secret": mock.client_secret(),
        "redirect_uri": REDIRECT,
    });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    post_json(format!("{}/oauth/token", mock.base_url()), body).await
}

pub(super) async fn userinfo_status(mock: &MockProvider, token: &str) -> StatusCode {
    http()
        .get(format!("{}/oauth/userinfo", mock.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

pub(super) fn client_form<'a>(mock: &'a MockProvider, token: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("token", token),
        ("client_id", mock.client_id()),
        ("client_secret", mock.client_secret()),
    ]
}

pub(super) async fn introspect(mock: &MockProvider, token: &str) -> Value {
    let response = http()
        .post(format!("{}/oauth/introspect", mock.base_url()))
        .form(&client_form(mock, token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let mock = MockProvider::start().await.unwrap();
    let addr = mock.addr();
    assert_eq!(mock.base_url(), format!("http://{addr}"));
    mock.clone().shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let mock = MockProvider::start().await.unwrap();
    let addr = mock.addr();
    let clone = mock.clone();
    drop(mock);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_ok(),
        "a handle is left"
    );
    drop(clone);
    let deadline = Instant::now() + Duration::from_secs(2);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "still listening after the last handle dropped"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn fixed_port_and_provider_shape() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let mock = MockProvider::builder().port(port).start().await.unwrap();
    assert_eq!(mock.addr().port(), port);
    let p = mock.provider();
    assert_eq!(p.name(), "vcita-mock");
    assert_eq!(p.token_body(), TokenBody::Json);
    assert_eq!(p.client_auth(), ClientAuth::ClientSecretPost);
    assert_eq!(p.issuer(), Some(mock.base_url().as_str()));
    assert_eq!(
        p.revocation_url().unwrap().as_str(),
        format!("{}/oauth/revoke", mock.base_url())
    );
    assert_eq!(
        (mock.client_id(), mock.client_secret()),
        ("mock-client-id", "mock-client-secret")
    );
    let response = http()
        .get(format!("{}/nope", mock.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
