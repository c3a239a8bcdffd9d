//! The callback refuses anything it cannot match to a login started in this browser —
//! before any token request — and explains provider errors without leaking secrets.

use std::time::Duration;

use axum_oauth_login_mock::MockEndpoint;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, REFERRER_POLICY};
use url::Url;

use crate::harness::*;
use crate::support::*;

/// A started and approved login: the callback URL, not yet visited.
async fn approved(app: &TestApp) -> Url {
    let authorize = app.start_login(Some("/me")).await;
    app.authorize(&authorize).await
}

/// Asserts a refusal page: `status`, the error `code` in the page, no-store, no session
/// and no token request.
async fn assert_refused(app: &TestApp, res: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(res.headers()[REFERRER_POLICY], "no-referrer");
    assert!(set_cookie_for(res.headers(), SESSION_COOKIE).is_none());
    let page = body(res).await;
    assert!(
        page.contains(&format!("<code id=\"code\">{code}</code>")),
        "page names {code}: {page}"
    );
    assert!(page.contains("/auth/login"), "page offers a retry");
    assert_eq!(app.mock.hits(MockEndpoint::Token), 0, "no token request");
    assert!(app.session_cookie().is_none());
}

#[tokio::test]
async fn tampered_state_is_refused() {
    let app = TestApp::spawn().await;
    let callback = approved(&app).await;
    let real = query_param(&callback, "state").unwrap();
    let mut forged = real.clone().into_bytes();
    forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
    let forged = with_param(&callback, "state", std::str::from_utf8(&forged).unwrap());
    let res = app.callback(&forged).await;
    assert_refused(&app, res, StatusCode::BAD_REQUEST, "unknown_state").await;
    // The real login is untouched by the forgery.
    assert_eq!(
        app.callback(&callback).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn missing_state_is_refused() {
    let app = TestApp::spawn().await;
    let callback = approved(&app).await;
    let res = app.callback(&without_param(&callback, "state")).await;
    assert_refused(&app, res, StatusCode::BAD_REQUEST, "missing_state").await;
}

#[tokio::test]
async fn duplicated_state_is_refused() {
    let app = TestApp::spawn().await;
    let callback = approved(&app).await;
    let state = query_param(&callback, "state").unwrap();
    let mut doubled = callback.clone();
    doubled.query_pairs_mut().append_pair("state", &state);
    let res = app.callback(&doubled).await;
    assert_refused(&app, res, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn duplicated_code_is_refused() {
    let app = TestApp::spawn().await;
    let callback = approved(&app).await;
    let mut doubled = callback.clone();
    doubled.query_pairs_mut().append_pair("code", "other");
    let res = app.callback(&doubled).await;
    assert_refused(&app, res, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn replayed_callback_is_refused() {
    let app = TestApp::spawn().await;
    let callback = approved(&app).await;
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.mock.hits(MockEndpoint::Token), 1);
    let session = app.session_cookie().expect("logged in");

    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(set_cookie_for(res.headers(), SESSION_COOKIE).is_none());
    assert!(body(res).await.contains("unknown_state"));
    assert_eq!(
        app.mock.hits(MockEndpoint::Token),
        1,
        "the code is not sent again"
    );
    assert_eq!(app.session_cookie(), Some(session), "the session is kept");
}

#[tokio::test]
async fn expired_login_is_refused() {
    let app = TestApp::spawn_with(|b| b.login_timeout(Duration::from_secs(60))).await;
    let callback = approved(&app).await;
    app.clock.advance(Duration::from_secs(61));
    let res = app.callback(&callback).await;
    let removal = set_cookies(res.headers())
        .into_iter()
        .find(|c| c.contains("_flow_"))
        .expect("the expired flow cookie is removed");
    assert!(has_attr(&removal, "Max-Age=0"), "{removal}");
    assert_refused(&app, res, StatusCode::BAD_REQUEST, "login_expired").await;
    assert!(app.flow_cookies().is_empty());
}

#[tokio::test]
async fn login_just_inside_the_timeout_completes() {
    let app = TestApp::spawn_with(|b| b.login_timeout(Duration::from_secs(60))).await;
    let callback = approved(&app).await;
    app.clock.advance(Duration::from_secs(59));
    assert_eq!(
        app.callback(&callback).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn callback_in_another_browser_is_refused() {
    let app = TestApp::spawn().await;
    let callback = approved(&app).await;
    let other = app.new_browser();
    let res = other.callback(&callback).await;
    assert_refused(&app, res, StatusCode::BAD_REQUEST, "unknown_state").await;
    assert!(other.session_cookie().is_none());
}

#[tokio::test]
async fn issuer_mismatch_is_refused() {
    let app = TestApp::spawn().await;
    let callback = approved(&app).await;
    let forged = with_param(&callback, "iss", "https://evil.example");
    let res = app.callback(&forged).await;
    assert_refused(&app, res, StatusCode::BAD_REQUEST, "invalid_issuer").await;
    // The flow is spent: the genuine answer cannot be used after a forged one.
    assert!(app.flow_cookies().is_empty());
}

#[tokio::test]
async fn missing_code_is_refused() {
    let app = TestApp::spawn().await;
    let callback = approved(&app).await;
    let res = app.callback(&without_param(&callback, "code")).await;
    assert_refused(&app, res, StatusCode::BAD_REQUEST, "missing_code").await;
}

#[tokio::test]
async fn denied_consent_shows_access_denied() {
    let app = TestApp::spawn().await;
    let authorize = app.start_login(None).await;
    let callback = app.deny(&authorize).await;
    assert_eq!(
        query_param(&callback, "error").as_deref(),
        Some("access_denied")
    );
    let res = app.callback(&callback).await;
    assert_refused(&app, res, StatusCode::FORBIDDEN, "access_denied").await;
    assert!(app.flow_cookies().is_empty());
}

#[tokio::test]
async fn json_clients_get_json_errors() {
    let app = TestApp::spawn().await;
    let authorize = app.start_login(None).await;
    let callback = app.deny(&authorize).await;
    let accept = [("accept", "application/json")];
    let res = app.get_with(&path_and_query(&callback), &accept).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
    let err = json(res).await;
    assert_eq!(err["error"], "access_denied");
    assert!(
        err["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );

    let res = app.get_with("/auth/callback?code=x", &accept).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(res).await["error"], "missing_state");
    assert_eq!(app.mock.hits(MockEndpoint::Token), 0);
}

/// The page must not echo what the browser or the app hold secret.
fn assert_no_secrets(page: &str, app: &TestApp, callback: &Url) {
    let code = query_param(callback, "code").unwrap();
    let state = query_param(callback, "state").unwrap();
    for secret in [code.as_str(), state.as_str(), app.mock.client_secret()] {
        assert!(!page.contains(secret), "page leaks a secret: {page}");
    }
}

#[tokio::test]
async fn expired_code_is_a_bad_gateway_naming_invalid_grant() {
    let app = TestApp::spawn().await;
    let callback = approved(&app).await;
    // vcita codes live 30 s: let the provider's clock run past that.
    app.mock.advance_clock(Duration::from_secs(31));
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
    assert!(set_cookie_for(res.headers(), SESSION_COOKIE).is_none());
    let page = body(res).await;
    assert!(page.contains("invalid_grant"), "{page}");
    assert_no_secrets(&page, &app, &callback);
    assert_eq!(
        app.mock.hits(MockEndpoint::Token),
        1,
        "exchanged once, never retried"
    );
    assert!(app.session_cookie().is_none());
    assert!(app.flow_cookies().is_empty(), "the spent flow is removed");
}

#[tokio::test]
async fn token_endpoint_failure_is_a_bad_gateway() {
    let app = TestApp::spawn().await;
    let callback = approved(&app).await;
    app.mock.respond_next(
        MockEndpoint::Token,
        1,
        400,
        "application/json",
        r#"{"error":"invalid_grant","error_description":"code was revoked"}"#,
    );
    let res = app
        .get_with(
            &path_and_query(&callback),
            &[("accept", "application/json")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    let err = json(res).await;
    assert_eq!(err["error"], "invalid_grant");
    let description = err["error_description"].as_str().unwrap();
    assert!(description.contains("code was revoked"), "{description}");
    assert_no_secrets(&err.to_string(), &app, &callback);
    assert_eq!(app.mock.hits(MockEndpoint::Token), 1);

    // A provider that is down: still 502, still once.
    let callback = approved(&app).await;
    app.mock.fail_next(MockEndpoint::Token, 1, 503);
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    let page = body(res).await;
    assert!(page.contains("Login could not be completed"), "{page}");
    assert_no_secrets(&page, &app, &callback);
    assert_eq!(app.mock.hits(MockEndpoint::Token), 2);
    assert!(app.session_cookie().is_none());
}
