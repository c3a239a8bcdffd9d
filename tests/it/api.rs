//! Calling the provider's API as the logged-in user (`AuthSession::api`), through the
//! example's `GET /business` (vcita's `GET /platform/v1/businesses/{id}`): the token is
//! refreshed when due and once after a `401`, with one refresh however many requests
//! race, and a second `401` is a typed error, never a loop.

use std::sync::Arc;
use std::time::Duration;

use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::*;
use crate::support::*;

const JSON: (&str, &str) = ("accept", "application/json");

/// A vcita-shaped mock whose 120 s access tokens come with (non-rotating) refresh
/// tokens; the refresh skew is 60 s.
async fn refreshing_app() -> TestApp {
    let mock = bounded(
        "mock",
        MockProvider::builder()
            .refresh_tokens(true)
            .token_lifetime(Duration::from_secs(120))
            .start(),
    )
    .await
    .expect("mock starts");
    TestApp::spawn_with_mock(mock, |b| b).await
}

/// `GET /business` as JSON: the status and the body (`null` when not JSON).
async fn business(browser: &Browser) -> (StatusCode, Value) {
    let res = browser.get_with("/business", &[JSON]).await;
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The session's current access token, as `/tokens` shows it.
async fn access_token(browser: &Browser) -> String {
    let (status, body) = tokens(browser).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// The `Authorization` header of every API request the mock received, in order.
fn api_bearers(app: &TestApp) -> Vec<String> {
    app.mock
        .requests(MockEndpoint::Api)
        .into_iter()
        .map(|r| r.authorization.unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn a_token_due_for_refresh_is_refreshed_before_the_api_call() {
    let app = refreshing_app().await;
    app.login().await;
    let before = access_token(&app).await;
    let (status, body) = business(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.mock.refresh_hits(), 0, "a fresh token is used as it is");

    // 20 s left: inside the 60 s skew.
    advance(&app, 100);
    let (status, body) = business(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Demo Salon");
    assert_eq!(body["id"], "b-42");
    assert_eq!(app.mock.refresh_hits(), 1, "exactly one refresh");

    // The session keeps the new tokens, and the API got the new token.
    let after = access_token(&app).await;
    assert_ne!(after, before, "the session holds the refreshed token");
    assert_eq!(
        api_bearers(&app),
        [bearer(&before), bearer(&after)],
        "the second call carried the refreshed token"
    );

    // The next call uses them: no further refresh.
    let (status, body) = business(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.mock.refresh_hits(), 1, "no second refresh");
    assert_eq!(access_token(&app).await, after);
    assert_eq!(app.mock.hits(MockEndpoint::Api), 3);
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries_once() {
    let app = refreshing_app().await;
    app.login().await;
    let before = access_token(&app).await;

    // The token is not due, but the API refuses it once.
    app.mock.fail_next(MockEndpoint::Api, 1, 401);
    let (status, body) = business(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Demo Salon");
    assert_eq!(app.mock.refresh_hits(), 1, "one refresh after the 401");
    assert_eq!(app.mock.hits(MockEndpoint::Api), 2, "one retry");

    // The retry carried the refreshed token, and the session kept it.
    let after = access_token(&app).await;
    assert_ne!(after, before);
    assert_eq!(api_bearers(&app), [bearer(&before), bearer(&after)]);
    let (status, _) = business(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.mock.refresh_hits(), 1);
}

#[tokio::test]
async fn a_second_401_is_a_typed_error_not_a_loop() {
    let app = refreshing_app().await;
    app.login().await;

    app.mock.fail_next(MockEndpoint::Api, 2, 401);
    let (status, body) = business(&app).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"], "api_error", "{body}");
    assert_eq!(
        body["error_description"], "the provider's API refused the token",
        "{body}"
    );
    assert_eq!(app.mock.refresh_hits(), 1, "exactly one refresh");
    assert_eq!(app.mock.hits(MockEndpoint::Api), 2, "no third attempt");

    // The user is still logged in, and the API works again once it accepts the token.
    let (status, body) = business(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.mock.hits(MockEndpoint::Api), 3);
    assert_eq!(app.mock.refresh_hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_api_calls_at_expiry_share_one_refresh() {
    let app = Arc::new(refreshing_app().await);
    app.login().await;
    let before = access_token(&app).await;

    // Expired on both clocks: a call with the old token would be refused by the API.
    advance(&app, 125);
    // Hold the refresh open so that all 20 calls arrive while it is in flight.
    app.mock
        .delay_next(MockEndpoint::Token, 1, Duration::from_millis(300));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { business(&app).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let (status, body) = bounded("a parallel call", task).await.expect("task");
        assert_eq!(status, StatusCode::OK, "call {i}: {body}");
        assert_eq!(body["name"], "Demo Salon", "call {i}");
    }
    assert_eq!(app.mock.refresh_hits(), 1, "exactly one refresh call");
    assert_eq!(app.mock.hits(MockEndpoint::Api), 20, "no call was retried");
    let bearers: std::collections::HashSet<_> = api_bearers(&app).into_iter().collect();
    assert_eq!(
        bearers.len(),
        1,
        "every call used the same token: {bearers:?}"
    );
    assert!(!bearers.contains(&bearer(&before)), "the refreshed one");
}

#[tokio::test]
async fn without_a_session_business_is_a_guarded_route() {
    let app = refreshing_app().await;
    // A browser navigation is sent to log in ...
    let res = app.get("/business").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&res).starts_with("/auth/login"),
        "{}",
        location(&res)
    );
    // ... an API client gets a 401.
    let (status, _) = business(&app).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.mock.hits(MockEndpoint::Api),
        0,
        "the API was not called"
    );
    assert_eq!(app.mock.hits(MockEndpoint::Token), 0);
}

#[tokio::test]
async fn without_a_refresh_token_a_401_is_an_error_and_no_refresh() {
    // vcita's default: long-lived access tokens, no refresh token.
    let app = TestApp::spawn().await;
    app.login().await;
    let (_, t) = tokens(&app).await;
    assert!(t["refresh_token"].is_null(), "{t}");
    let (status, body) = business(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Demo Salon");

    app.mock.fail_next(MockEndpoint::Api, 1, 401);
    let (status, body) = business(&app).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"], "api_error", "{body}");
    assert_eq!(app.mock.refresh_hits(), 0, "nothing to refresh with");
    assert_eq!(
        app.mock.hits(MockEndpoint::Api),
        2,
        "no retry with the same token"
    );
    // The session is kept.
    let (status, _) = business(&app).await;
    assert_eq!(status, StatusCode::OK);
}
