//! `BearerUser` resolved by token introspection (RFC 7662) instead of userinfo.

use std::time::Duration;

use axum_oauth_login::provider::UserResolver;
use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::*;
use crate::support::*;

/// An app whose provider resolves users by introspection, with a 5 min user cache.
async fn app_with(mock: MockProvider) -> TestApp {
    let provider = mock
        .provider()
        .to_builder()
        .user_resolver(UserResolver::Introspection)
        .build()
        .expect("provider");
    let (listener, port) = bind().await;
    let clock = axum_oauth_login::Clock::manual_from_now();
    let oauth = example::configure(
        axum_oauth_login::OAuth::builder(provider, mock.client_id(), mock.client_secret())
            .redirect_uri(format!("http://127.0.0.1:{port}/auth/callback"))
            .clock(clock.clone())
            .user_cache(Duration::from_secs(300), 100),
    )
    .build()
    .expect("oauth");
    TestApp::serve(mock, listener, oauth, clock)
}

async fn app() -> TestApp {
    app_with(start_mock().await).await
}

#[tokio::test]
async fn active_token_resolves_to_the_user() {
    let app = app().await;
    let token = app.mock.issue_token();
    let res = app
        .get_with("/api/me", &[("authorization", &bearer(&token))])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["email"], "owner@example.com", "{body}");
    assert_eq!(body["client_id"], app.mock.client_id(), "{body}");
    assert_eq!(app.mock.hits(MockEndpoint::Introspect), 1);
    assert_eq!(
        app.mock.hits(MockEndpoint::Userinfo),
        0,
        "userinfo is not used"
    );
    // Introspection is client-authenticated and carries the token type hint.
    let recorded = app.mock.requests(MockEndpoint::Introspect);
    assert_eq!(
        recorded[0]
            .fields
            .get("token_type_hint")
            .map(String::as_str),
        Some("access_token")
    );
    assert!(recorded[0].client_auth().is_some());
}

#[tokio::test]
async fn inactive_token_is_401_invalid_token() {
    let app = app().await;
    let res = app
        .get_with("/api/me", &[("authorization", "Bearer 0123456789abcdef")])
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
}

#[tokio::test]
async fn provider_down_is_503_not_401() {
    let app = app().await;
    let token = app.mock.issue_token();
    app.mock.fail_next(MockEndpoint::Introspect, 1, 503);
    let res = app
        .get_with("/api/me", &[("authorization", &bearer(&token))])
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
    // Back up: the same token works.
    let res = app
        .get_with("/api/me", &[("authorization", &bearer(&token))])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn cache_entry_never_outlives_the_tokens_exp() {
    let mock = bounded(
        "mock",
        MockProvider::builder()
            .token_lifetime(Duration::from_secs(100))
            .start(),
    )
    .await
    .expect("mock");
    let app = app_with(mock).await;
    let auth = bearer(&app.mock.issue_token());
    let headers = [("authorization", auth.as_str())];
    let call = || app.get_with("/api/me", &headers);
    assert_eq!(call().await.status(), StatusCode::OK);
    assert_eq!(app.mock.hits(MockEndpoint::Introspect), 1);

    // Within exp (and the 5 min TTL): served from the cache.
    app.clock.advance(Duration::from_secs(60));
    app.mock.advance_clock(Duration::from_secs(60));
    assert_eq!(call().await.status(), StatusCode::OK);
    assert_eq!(app.mock.hits(MockEndpoint::Introspect), 1);

    // Past exp, though well inside the TTL: asked again, and now inactive.
    app.clock.advance(Duration::from_secs(41));
    app.mock.advance_clock(Duration::from_secs(41));
    assert_eq!(call().await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.mock.hits(MockEndpoint::Introspect), 2);
}

#[tokio::test]
async fn session_login_works_with_introspection() {
    let app = app().await;
    app.login().await;
    assert_eq!(app.get("/me").await.status(), StatusCode::OK);
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["email"], "owner@example.com");
}
