//! Logout: local state always goes; tokens are revoked (RFC 7009) where the provider can.

mod common;

use axum_oauth_login::testing::{Endpoint, MockProvider};
use common::*;
use reqwest::StatusCode;

async fn logged_out(app: &TestApp) {
    let res = app.post("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    let removal = set_cookie_for(res.headers(), SESSION_COOKIE).expect("cookie removed");
    assert!(has_attr(&removal, "Max-Age=0"), "{removal}");
    assert!(app.session_cookie().is_none());
    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "logged out");
}

#[tokio::test]
async fn logout_revokes_the_access_token_once() {
    let app = TestApp::spawn().await;
    app.login().await;
    let res = app.get("/tokens").await;
    let token = res.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    logged_out(&app).await;
    assert_eq!(app.mock.hits(Endpoint::Revoke), 1);
    let revoked = &app.mock.requests(Endpoint::Revoke)[0];
    assert_eq!(revoked.fields.get("token"), Some(&token));
    assert_eq!(
        revoked.fields.get("token_type_hint").map(String::as_str),
        Some("access_token")
    );
    // The provider no longer accepts the token.
    let res = app
        .new_browser()
        .get_with("/api/me", &[("authorization", &format!("Bearer {token}"))])
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token_first_then_the_access_token() {
    let mock = bounded("mock", MockProvider::builder().refresh_tokens(true).start())
        .await
        .expect("mock");
    let app = TestApp::spawn_with_mock(mock, |b| b).await;
    app.login().await;
    logged_out(&app).await;
    let hints: Vec<_> = app
        .mock
        .requests(Endpoint::Revoke)
        .iter()
        .map(|r| r.fields.get("token_type_hint").cloned().unwrap_or_default())
        .collect();
    assert_eq!(hints, ["refresh_token", "access_token"]);
}

#[tokio::test]
async fn failing_revocation_still_logs_out() {
    let app = TestApp::spawn().await;
    app.login().await;
    app.mock.fail_next(Endpoint::Revoke, 5, 500);
    logged_out(&app).await;
    assert_eq!(app.mock.hits(Endpoint::Revoke), 1);
}

#[tokio::test]
async fn provider_without_revocation_endpoint_just_logs_out() {
    let mock = start_mock().await;
    let provider = axum_oauth_login::Provider::custom("no-revoke")
        .authorize_url(mock.provider().authorize_url().as_str())
        .token_url(mock.provider().token_url().as_str())
        .userinfo_url(mock.provider().userinfo_url().unwrap().as_str())
        .token_body(axum_oauth_login::TokenBody::Json)
        .build()
        .unwrap();
    let (listener, port) = bind().await;
    let clock = axum_oauth_login::Clock::manual_from_now();
    let oauth = axum_oauth_login::OAuth::builder(provider, mock.client_id(), mock.client_secret())
        .redirect_uri(format!("http://127.0.0.1:{port}/auth/callback"))
        .clock(clock.clone())
        .build()
        .unwrap();
    let app = TestApp::serve(mock, listener, oauth, clock);
    app.login().await;
    logged_out(&app).await;
    assert_eq!(app.mock.hits(Endpoint::Revoke), 0);
}

#[tokio::test]
async fn logout_is_post_only_and_harmless_without_a_session() {
    let app = TestApp::spawn().await;
    let res = app.get("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    let res = app.post("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.mock.hits(Endpoint::Revoke), 0);
}
