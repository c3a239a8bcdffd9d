//! Automatic refresh: tokens renewed before they expire, once per session however many
//! requests race, safe against rotating refresh tokens, and never a logout for an outage.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum_oauth_login::testing::{Endpoint, MockProvider};
use common::*;
use reqwest::StatusCode;
use serde_json::Value;

/// A mock that issues rotating refresh tokens and 120 s access tokens.
async fn refreshing_mock() -> MockProvider {
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

async fn app() -> TestApp {
    TestApp::spawn_with_mock(refreshing_mock().await, |b| b).await
}

/// Moves the app's clock and the provider's clock together.
fn advance(app: &TestApp, secs: u64) {
    app.clock.advance(Duration::from_secs(secs));
    app.mock.advance_clock(Duration::from_secs(secs));
}

async fn tokens(browser: &Browser) -> (StatusCode, Value) {
    let res = browser.get("/tokens").await;
    let status = res.status();
    let body = res.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn expiring_token_is_refreshed_before_the_handler_runs() {
    let app = app().await;
    app.login().await;
    let (_, before) = tokens(&app).await;
    assert_eq!(app.mock.refresh_hits(), 0);

    // 100 s later the token has 20 s left: inside the 60 s skew.
    advance(&app, 100);
    let res = app.get("/tokens").await;
    assert_eq!(res.status(), StatusCode::OK);
    let new_cookie = set_cookie_for(res.headers(), SESSION_COOKIE).expect("session rewritten");
    assert!(!has_attr(&new_cookie, "Max-Age=0"), "{new_cookie}");
    let after: Value = res.json().await.unwrap();
    assert_ne!(
        after["access_token"], before["access_token"],
        "handler sees the new token"
    );
    assert_ne!(after["refresh_token"], before["refresh_token"], "rotated");
    assert_eq!(app.mock.refresh_hits(), 1);

    // The new cookie carries the new tokens: no further refresh.
    let (status, again) = tokens(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["access_token"], after["access_token"]);
    assert_eq!(app.mock.refresh_hits(), 1);
    // And the provider accepts the new token.
    assert_eq!(app.get("/api/me").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_refresh() {
    let app = Arc::new(app().await);
    app.login().await;
    advance(&app, 100);
    // Hold the refresh open so all 50 requests arrive while it is in flight.
    app.mock
        .delay_next(Endpoint::Token, 1, Duration::from_millis(300));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move { tokens(&app).await }));
    }
    let mut seen = std::collections::HashSet::new();
    for task in tasks {
        let (status, body) = bounded("request", task).await.expect("task");
        assert_eq!(status, StatusCode::OK);
        seen.insert(body["access_token"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(app.mock.refresh_hits(), 1, "exactly one refresh call");
    assert_eq!(seen.len(), 1, "every request saw the same refreshed token");
}

#[tokio::test]
async fn a_request_with_the_pre_refresh_cookie_is_not_logged_out() {
    let app = app().await;
    app.login().await;
    let old_cookie = app.session_cookie().expect("session");
    let (_, before) = tokens(&app).await;
    advance(&app, 100);
    let (_, after) = tokens(&app).await;
    assert_eq!(app.mock.refresh_hits(), 1);

    // The provider rotated: the old refresh token is dead.
    let old_refresh = axum_oauth_login::secret::RefreshToken::new(
        before["refresh_token"]
            .as_str()
            .expect("refresh token")
            .to_owned(),
    );
    let err = app.oauth.client().refresh(&old_refresh).await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");
    assert_eq!(app.mock.refresh_hits(), 2);

    // A request sent before the browser saw the new cookie still carries the old one.
    let stale = app.new_browser();
    let res = stale
        .get_with(
            "/tokens",
            &[("cookie", &format!("{SESSION_COOKIE}={old_cookie}"))],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "not logged out");
    let set = set_cookie_for(res.headers(), SESSION_COOKIE).expect("brought up to date");
    assert!(!has_attr(&set, "Max-Age=0"), "{set}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["access_token"], after["access_token"]);
    assert_eq!(
        app.mock.refresh_hits(),
        2,
        "no second refresh with the dead token"
    );
}

#[tokio::test]
async fn refused_refresh_ends_the_session() {
    let app = app().await;
    app.login().await;
    app.mock.revoke_all(); // the refresh token is now refused with invalid_grant
    advance(&app, 100);
    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "browser goes to login");
    assert!(
        location(&res).starts_with("/auth/login"),
        "{}",
        location(&res)
    );
    let removal = set_cookie_for(res.headers(), SESSION_COOKIE).expect("cookie removed");
    assert!(has_attr(&removal, "Max-Age=0"), "{removal}");
    assert!(app.session_cookie().is_none());
    // An API client in the same state gets a 401.
    let api = app.new_browser();
    api.login().await;
    app.mock.revoke_all();
    advance(&app, 100);
    let res = api.get_with("/me", &[("accept", "application/json")]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn outage_with_a_still_valid_token_keeps_working() {
    let app = app().await;
    app.login().await;
    let (_, before) = tokens(&app).await;
    advance(&app, 100); // 20 s left
    app.mock.fail_next(Endpoint::Token, 1, 503);
    let res = app.get("/tokens").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        set_cookie_for(res.headers(), SESSION_COOKIE).is_none(),
        "session untouched"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["access_token"], before["access_token"]);
    assert_eq!(app.mock.refresh_hits(), 1);
    // The next request tries again and succeeds.
    let (status, after) = tokens(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(after["access_token"], before["access_token"]);
    assert_eq!(app.mock.refresh_hits(), 2);
}

#[tokio::test]
async fn outage_with_an_expired_token_is_503_and_keeps_the_session() {
    let app = app().await;
    app.login().await;
    advance(&app, 130); // expired 10 s ago
    app.mock.fail_next(Endpoint::Token, 2, 503);
    let res = app.get("/tokens").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
    assert!(
        set_cookie_for(res.headers(), SESSION_COOKIE).is_none(),
        "session kept"
    );
    let res = app.get_with("/me", &[("accept", "application/json")]).await;
    assert_eq!(
        res.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "RequireLogin too"
    );
    assert!(app.session_cookie().is_some());
    // Provider back: the same session refreshes and carries on.
    let (status, _) = tokens(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get("/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn expired_token_without_refresh_token_ends_the_session() {
    // vcita issues no refresh tokens.
    let mock = bounded(
        "mock",
        MockProvider::builder()
            .token_lifetime(Duration::from_secs(120))
            .start(),
    )
    .await
    .expect("mock");
    let app = TestApp::spawn_with_mock(mock, |b| b).await;
    app.login().await;
    advance(&app, 100); // inside the skew, not expired: keep using it
    assert_eq!(app.get("/tokens").await.status(), StatusCode::OK);
    advance(&app, 30); // expired
    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(app.session_cookie().is_none());
    assert_eq!(app.mock.refresh_hits(), 0);
}
