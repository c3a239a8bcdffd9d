//! Apicbase end to end through the app: the exact trailing-slash URLs, form bodies,
//! introspection as the user resolver, one-week tokens and rotating refresh tokens.

use std::time::Duration;

use axum_oauth_login::provider::{TokenBody, UserResolver};
use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::*;
use crate::support::*;

const WEEK: u64 = 7 * 24 * 3600;

async fn app() -> TestApp {
    let mock = bounded("mock", MockProvider::apicbase().start())
        .await
        .expect("apicbase mock");
    // Sessions outlive several one-week tokens here (the default lifetime is 7 days).
    TestApp::spawn_with_mock(mock, |b| {
        b.session_lifetime(Duration::from_secs(30 * 24 * 3600))
    })
    .await
}

#[tokio::test]
async fn the_preset_shape_is_what_the_mock_serves() {
    let app = app().await;
    let p = app.mock.provider();
    assert!(p.authorize_url().path().ends_with("/oauth/authorize/"));
    assert!(p.token_url().path().ends_with("/oauth/token/"));
    assert!(
        p.introspection_url()
            .unwrap()
            .path()
            .ends_with("/oauth/introspect/")
    );
    assert!(p.userinfo_url().is_none());
    assert_eq!(p.token_body(), TokenBody::Form);
    assert_eq!(p.user_resolver(), UserResolver::Introspection);
}

#[tokio::test]
async fn full_flow_with_form_bodies_and_introspection() {
    let app = app().await;
    let authorize = app.start_login(Some("/me")).await;
    assert!(authorize.contains("/oauth/authorize/?"), "{authorize}");
    let callback = app.authorize(&authorize).await;
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/me");

    let token_requests = app.mock.requests(MockEndpoint::Token);
    assert_eq!(token_requests.len(), 1);
    assert_eq!(
        token_requests[0].content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(token_requests[0].fields["grant_type"], "authorization_code");

    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = body(res).await;
    assert_eq!(
        element_text(&page, "email").as_deref(),
        Some("chef@example.com")
    );
    assert_eq!(
        element_text(&page, "provider").as_deref(),
        Some(app.mock.provider().name())
    );
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["email"], "chef@example.com", "{me}");
    let home = body(app.get("/").await).await;
    assert_eq!(
        element_text(&home, "greeting").as_deref(),
        Some("Hello, chef@example.com")
    );
    assert!(app.mock.hits(MockEndpoint::Introspect) >= 1);
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), 0);
}

#[tokio::test]
async fn a_code_older_than_sixty_seconds_is_refused() {
    let app = app().await;
    let authorize = app.start_login(None).await;
    let callback = app.authorize(&authorize).await;
    app.mock.advance_clock(Duration::from_secs(61));
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert!(res.text().await.unwrap().contains("invalid_grant"));
    assert!(app.session_cookie().is_none());
}

#[tokio::test]
async fn a_week_later_the_session_refreshes_with_rotation() {
    let app = app().await;
    app.login().await;
    let before: Value = app.get("/tokens").await.json().await.unwrap();
    let old_cookie = app.session_cookie().expect("session");

    // One week on, the access token is about to expire: refreshed transparently.
    advance(&app, WEEK - 30);
    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.mock.refresh_hits(), 1);
    let refresh = app
        .mock
        .requests(MockEndpoint::Token)
        .into_iter()
        .find(|r| r.fields.get("grant_type").map(String::as_str) == Some("refresh_token"))
        .expect("refresh request");
    assert_eq!(
        refresh.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let after: Value = app.get("/tokens").await.json().await.unwrap();
    assert_ne!(after["refresh_token"], before["refresh_token"], "rotated");

    // A tab still holding the old cookie is not logged out and causes no refresh.
    let stale = app.new_browser();
    let res = stale
        .get_with(
            "/me",
            &[("cookie", &format!("{SESSION_COOKIE}={old_cookie}"))],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.mock.refresh_hits(), 1);

    // Another week: the rotated refresh token works once more.
    advance(&app, WEEK);
    assert_eq!(app.get("/me").await.status(), StatusCode::OK);
    assert_eq!(app.mock.refresh_hits(), 2);
}
