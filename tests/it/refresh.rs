//! Automatic refresh: tokens renewed before they expire, once per session however many
//! requests race, safe against rotating refresh tokens, and never a logout for an outage.

use std::sync::Arc;
use std::time::Duration;

use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::*;
use crate::support::*;

async fn app() -> TestApp {
    TestApp::spawn_with_mock(rotating_mock().await, |b| b).await
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
        .delay_next(MockEndpoint::Token, 1, Duration::from_millis(300));
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

/// A refresh refused with `invalid_grant` while the access token is still valid keeps
/// the session on that token (with the cookie store another instance most likely spent
/// the refresh token first) and never presents the refused token again; once the
/// access token has expired, the session ends.
#[tokio::test]
async fn refused_refresh_ends_the_session() {
    let app = app().await;
    app.login().await;
    app.mock.revoke_all(); // the refresh token is now refused with invalid_grant
    advance(&app, 100);
    for _ in 0..3 {
        let res = app.get("/me").await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "kept while the access token is valid"
        );
    }
    assert_eq!(
        app.mock.refresh_hits(),
        1,
        "the refused token presented once"
    );
    advance(&app, 30);
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
    // An API client in the same state gets a 401 once the access token has expired.
    let api = app.new_browser();
    api.login().await;
    app.mock.revoke_all();
    advance(&app, 100);
    let res = api.get_with("/me", &[("accept", "application/json")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    advance(&app, 30);
    let res = api.get_with("/me", &[("accept", "application/json")]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn outage_with_a_still_valid_token_keeps_working() {
    let app = app().await;
    app.login().await;
    let (_, before) = tokens(&app).await;
    advance(&app, 100); // 20 s left
    app.mock.fail_next(MockEndpoint::Token, 1, 503);
    let res = app.get("/tokens").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        set_cookie_for(res.headers(), SESSION_COOKIE).is_none(),
        "session untouched"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["access_token"], before["access_token"]);
    assert_eq!(app.mock.refresh_hits(), 1);
    // Requests within the back-off (1 s after a first transient failure) do not call.
    let (status, _) = tokens(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.mock.refresh_hits(), 1, "backing off");
    // After it, the next request tries again and succeeds.
    advance(&app, 1);
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
    app.mock.fail_next(MockEndpoint::Token, 1, 503);
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
    assert_eq!(app.mock.refresh_hits(), 1, "one call, then back-off");
    // Provider back: after the back-off the same session refreshes and carries on.
    advance(&app, 1);
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

/// Logs in, moves past the refresh skew, delays the token endpoint by 2 s and returns a
/// fresh browser with the session cookie, plus the access token before the refresh.
async fn slow_refresh_setup() -> (TestApp, Browser, String, Value) {
    let app = app().await;
    app.login().await;
    let old_cookie = app.session_cookie().expect("session");
    let (_, before) = tokens(&app).await;
    advance(&app, 100);
    app.mock
        .delay_next(MockEndpoint::Token, 1, Duration::from_secs(2));
    let stale = app.new_browser();
    (app, stale, format!("{SESSION_COOKIE}={old_cookie}"), before)
}

/// Review defect 1: the request that started a refresh is dropped (client gone, timeout
/// layer, HTTP/2 reset) while the token endpoint is slow. The refresh must still land
/// where the next request with the same cookie finds it: one refresh call, and 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_request_does_not_lose_the_refreshed_tokens() {
    let (app, stale, cookie, before) = slow_refresh_setup().await;
    let with_old = [("cookie", cookie.as_str())];
    // The first request gives up after 100 ms; its connection closes.
    let dropped = tokio::time::timeout(
        Duration::from_millis(100),
        stale.get_with("/tokens", &with_old),
    )
    .await;
    assert!(
        dropped.is_err(),
        "the first request was dropped mid-refresh"
    );
    // The provider answers the refresh 2 s after it was sent.
    tokio::time::sleep(Duration::from_millis(2200)).await;

    let res = stale.get_with("/tokens", &with_old).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let calls = app.mock.refresh_hits();
    eprintln!("follow-up request: {status}, refresh calls: {calls}");
    assert_eq!(status, StatusCode::OK, "not logged out");
    assert_ne!(body["access_token"], before["access_token"], "new tokens");
    assert_eq!(calls, 1, "the refresh token was spent exactly once");
}

/// Review defect 1, the waiter: a request already waiting on the refresh when the
/// request that started it is dropped must not spend the refresh token a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_does_not_refresh_again_when_the_starter_is_dropped() {
    let (app, stale, cookie, before) = slow_refresh_setup().await;
    let with_old = [("cookie", cookie.as_str())];
    let starter = stale.get_with("/tokens", &with_old);
    let waiter = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        stale.get_with("/tokens", &with_old).await
    };
    let (dropped, res) = tokio::join!(
        tokio::time::timeout(Duration::from_millis(100), starter),
        waiter
    );
    assert!(dropped.is_err(), "the starter was dropped mid-refresh");
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let calls = app.mock.refresh_hits();
    eprintln!("waiting request: {status}, refresh calls: {calls}");
    assert_eq!(status, StatusCode::OK);
    assert_ne!(body["access_token"], before["access_token"], "new tokens");
    assert_eq!(calls, 1, "the refresh token was spent exactly once");
    // A later request with the same cookie gets the same tokens (grace window).
    let res = stale.get_with("/tokens", &with_old).await;
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["access_token"], body["access_token"]);
    assert_eq!(app.mock.refresh_hits(), 1);
}

/// Review defect 3: a refresh answer that omits `scope`, `id_token` or the refresh token
/// leaves them as they were (RFC 6749 §5.1/§6, OpenID Connect Core §12.2).
#[tokio::test]
async fn a_refresh_answer_that_omits_fields_keeps_them() {
    let app = app().await;
    let login_answer = serde_json::json!({
        "access_token": "first-access", "token_type": "Bearer", "expires_in": 120,
        "refresh_token": "first-refresh", "scope": "openid profile",
        "id_token": "eyJhbGciOiJub25lIn0.e30.",
    });
    app.mock.respond_next(
        MockEndpoint::Token,
        1,
        200,
        "application/json",
        login_answer.to_string(),
    );
    // The login hook asks who logged in with that token.
    app.mock.respond_next(
        MockEndpoint::Userinfo,
        1,
        200,
        "application/json",
        app.mock.user().info.to_string(),
    );
    app.login().await;
    let (_, before) = tokens(&app).await;
    assert_eq!(before["scope"], "openid profile");
    advance(&app, 100);
    app.mock.respond_next(
        MockEndpoint::Token,
        1,
        200,
        "application/json",
        r#"{"access_token":"second-access","token_type":"Bearer","expires_in":120}"#,
    );
    let (status, after) = tokens(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after["access_token"], "second-access");
    assert_eq!(
        after["refresh_token"], "first-refresh",
        "refresh token kept"
    );
    assert_eq!(after["scope"], "openid profile", "scope kept");
    assert_eq!(after["id_token"], before["id_token"], "ID token kept");
    assert!(after["id_token"].is_string());
}

/// Review defect 4, client errors: a rotated client secret makes every refresh fail with
/// `invalid_client`. The session is kept (the operator fixes the secret, users stay
/// logged in), requests get 503, and the token endpoint is not called per request.
#[tokio::test]
async fn a_client_error_on_refresh_backs_off_and_keeps_the_session() {
    let app = app().await;
    app.login().await;
    advance(&app, 130); // expired
    app.mock.respond_next(
        MockEndpoint::Token,
        10,
        401,
        "application/json",
        r#"{"error":"invalid_client","error_description":"client authentication failed"}"#,
    );
    for _ in 0..5 {
        let res = app.get("/tokens").await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            set_cookie_for(res.headers(), SESSION_COOKIE).is_none(),
            "session kept"
        );
    }
    assert_eq!(app.mock.refresh_hits(), 1, "one token call, then back-off");
    assert!(app.session_cookie().is_some());
    // After the back-off the session tries again (here the provider still refuses).
    advance(&app, 31);
    assert_eq!(
        app.get("/tokens").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(app.mock.refresh_hits(), 2);
}

/// Review defect 4, grant errors: `invalid_scope` ends the session like `invalid_grant`.
#[tokio::test]
async fn invalid_scope_on_refresh_ends_the_session() {
    let app = app().await;
    app.login().await;
    advance(&app, 130);
    app.mock.respond_next(
        MockEndpoint::Token,
        1,
        400,
        "application/json",
        r#"{"error":"invalid_scope"}"#,
    );
    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "to the login page");
    let removal = set_cookie_for(res.headers(), SESSION_COOKIE).expect("cookie removed");
    assert!(has_attr(&removal, "Max-Age=0"), "{removal}");
}

/// Review defect 6: a response that sets a session cookie is never stored by a shared
/// cache; other responses keep what the app set.
#[tokio::test]
async fn responses_that_set_the_session_cookie_are_private_no_store() {
    let app = app().await;
    let res = app.complete_login(None).await;
    assert!(set_cookie_for(res.headers(), SESSION_COOKIE).is_some());
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    // An app route that refreshes the session re-seals the cookie: private too.
    advance(&app, 100);
    let res = app.get("/tokens").await;
    assert!(set_cookie_for(res.headers(), SESSION_COOKIE).is_some());
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    // A response that sets no cookie is left alone.
    let res = app.get("/tokens").await;
    assert!(set_cookie_for(res.headers(), SESSION_COOKIE).is_none());
    assert!(res.headers().get("cache-control").is_none());
}
