//! The mock provider's several users through the app: staff logs in with
//! `authorize_as`, the owners-only page follows the role the provider reports (also
//! after a demotion at the provider, once the user cache's TTL has passed), and bearer
//! tokens issued for a user resolve to that user.

use std::time::Duration;

use axum_oauth_login_mock::{MockEndpoint, MockUser, UnknownUser};
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;
use crate::support::*;

/// A full login through the app as the mock's user `email`.
async fn login_as(b: &Browser, email: &str) {
    let authorize = b.start_login(None).await;
    let callback = bounded("mock authorize_as", b.mock.authorize_as(email, &authorize))
        .await
        .expect("mock authorizes");
    let res = b.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "callback answers 303");
    assert!(b.session_cookie().is_some(), "a session cookie is set");
}

#[tokio::test]
async fn staff_logs_in_and_the_app_sees_staff() {
    let app = TestApp::spawn().await;
    login_as(&app, "staff@example.com").await;
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    let me = json(res).await;
    assert_eq!(me["sub"], "u-1002");
    assert_eq!(me["email"], "staff@example.com");
    assert_eq!(me["role"], "staff");
    assert_eq!(me["business_name"], "Demo Salon");
    assert_eq!(app.get("/owner").await.status(), StatusCode::FORBIDDEN);

    // The owner, in another browser, gets in.
    let owner = app.new_browser();
    login_as(&owner, "owner@example.com").await;
    assert_eq!(owner.get("/owner").await.status(), StatusCode::OK);
    assert_eq!(json(owner.get("/api/me").await).await["sub"], "u-1001");
}

#[tokio::test]
async fn a_demoted_owner_loses_the_owner_page_after_the_cache_ttl() {
    let app = TestApp::spawn_with(|b| b.user_cache(Duration::from_secs(60), 100)).await;
    app.login().await;
    assert_eq!(app.get("/owner").await.status(), StatusCode::OK);
    let hits = app.mock.hits(MockEndpoint::Userinfo);

    let demoted = app
        .mock
        .update_user_info("owner@example.com", |info| info["role"] = json!("staff"));
    assert_eq!(demoted, Ok(()));
    // Within the TTL the app still trusts what it cached.
    assert_eq!(app.get("/owner").await.status(), StatusCode::OK);
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), hits, "cached");

    advance(&app, 61);
    assert_eq!(app.get("/owner").await.status(), StatusCode::FORBIDDEN);
    assert!(app.mock.hits(MockEndpoint::Userinfo) > hits, "asked again");

    // Promoted back: in again after the next TTL.
    let mut info = app.mock.user().info;
    info["role"] = json!("owner");
    app.mock.set_user_info("owner@example.com", info).unwrap();
    advance(&app, 61);
    assert_eq!(app.get("/owner").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn bearer_tokens_issued_for_a_user_resolve_to_that_user() {
    let app = TestApp::spawn().await;
    let token = app.mock.issue_token_for("staff@example.com").unwrap();
    let res = app
        .get_with("/api/me", &[("authorization", &bearer(&token))])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let me = json(res).await;
    assert_eq!(me["sub"], MockUser::staff().info["sub"]);
    assert_eq!(me["role"], "staff");

    assert_eq!(
        app.mock.issue_token_for("nobody@example.com"),
        Err(UnknownUser {
            email: "nobody@example.com".into()
        })
    );
    let authorize = app.start_login(None).await;
    let err = app
        .mock
        .authorize_as("nobody@example.com", &authorize)
        .await
        .unwrap_err();
    assert!(err.contains("knows no user `nobody@example.com`"), "{err}");
}
