//! Logout: local state always goes; tokens are revoked (RFC 7009) where the provider can.

use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use reqwest::StatusCode;

use crate::harness::*;
use crate::support::*;

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
    assert_eq!(app.mock.hits(MockEndpoint::Revoke), 1);
    let revoked = &app.mock.requests(MockEndpoint::Revoke)[0];
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
        .requests(MockEndpoint::Revoke)
        .iter()
        .map(|r| r.fields.get("token_type_hint").cloned().unwrap_or_default())
        .collect();
    assert_eq!(hints, ["refresh_token", "access_token"]);
}

#[tokio::test]
async fn failing_revocation_still_logs_out() {
    let app = TestApp::spawn().await;
    app.login().await;
    app.mock.fail_next(MockEndpoint::Revoke, 5, 500);
    logged_out(&app).await;
    assert_eq!(app.mock.hits(MockEndpoint::Revoke), 1);
}

#[tokio::test]
async fn provider_without_revocation_endpoint_just_logs_out() {
    let mock = start_mock().await;
    let provider = axum_oauth_login::Provider::custom("no-revoke")
        .authorize_url(mock.provider().authorize_url().as_str())
        .token_url(mock.provider().token_url().as_str())
        .userinfo_url(mock.provider().userinfo_url().unwrap().as_str())
        .token_body(axum_oauth_login::provider::TokenBody::Json)
        .build()
        .unwrap();
    let (listener, port) = bind().await;
    let clock = axum_oauth_login::Clock::manual_from_now();
    let oauth = example::configure(
        axum_oauth_login::OAuth::builder(provider, mock.client_id(), mock.client_secret())
            .redirect_uri(format!("http://127.0.0.1:{port}/auth/callback"))
            .clock(clock.clone()),
    )
    .build()
    .unwrap();
    let app = TestApp::serve(mock, listener, oauth, clock);
    app.login().await;
    logged_out(&app).await;
    assert_eq!(app.mock.hits(MockEndpoint::Revoke), 0);
}

#[tokio::test]
async fn logout_is_post_only_and_harmless_without_a_session() {
    let app = TestApp::spawn().await;
    let res = app.get("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    let res = app.post("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.mock.hits(MockEndpoint::Revoke), 0);
}

/// Review defect 2: another tab refreshed (rotating refresh tokens), and logout arrives
/// with the pre-refresh cookie. The refreshed tokens are revoked too, and replaying the
/// old cookie inside the grace window does not bring a session back.
#[tokio::test]
async fn logout_with_a_pre_refresh_cookie_revokes_the_refreshed_tokens() {
    let mock = bounded(
        "mock",
        MockProvider::builder()
            .refresh_tokens(true)
            .rotate_refresh_tokens(true)
            .token_lifetime(std::time::Duration::from_secs(120))
            .start(),
    )
    .await
    .expect("mock");
    let app = TestApp::spawn_with_mock(mock, |b| b).await;
    app.login().await;
    let old_cookie = app.session_cookie().expect("session");
    app.clock.advance(std::time::Duration::from_secs(100));
    app.mock.advance_clock(std::time::Duration::from_secs(100));
    // "Another tab" refreshes: the jar now holds the new cookie.
    let res = app.get("/tokens").await;
    assert_eq!(res.status(), StatusCode::OK);
    let refreshed: serde_json::Value = res.json().await.unwrap();
    assert_eq!(app.mock.refresh_hits(), 1);

    // Logout with the old cookie.
    let old = app.new_browser();
    let cookie = format!("{SESSION_COOKIE}={old_cookie}");
    let res = old
        .send(
            old.client
                .post(old.url("/auth/logout"))
                .header("cookie", &cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // The refreshed access token no longer works at the provider.
    let new_access = refreshed["access_token"].as_str().unwrap();
    let res = app
        .new_browser()
        .get_with(
            "/api/me",
            &[("authorization", &format!("Bearer {new_access}"))],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "refreshed token revoked"
    );
    let revoked: Vec<String> = app
        .mock
        .requests(MockEndpoint::Revoke)
        .iter()
        .filter_map(|r| r.fields.get("token").cloned())
        .collect();
    assert!(revoked.iter().any(|t| t == new_access), "{revoked:?}");
    let new_refresh = refreshed["refresh_token"].as_str().unwrap();
    assert!(revoked.iter().any(|t| t == new_refresh), "{revoked:?}");

    // Replaying the old cookie inside the grace window gets no session.
    let res = old.get_with("/tokens", &[("cookie", &cookie)]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "no session back");
}

/// A provider with an end-session endpoint (RP-Initiated Logout): after the local logout
/// the browser goes there with `client_id`, `post_logout_redirect_uri` and `state` (and
/// no `id_token_hint` without an id_token); `logout_at_provider(false)` keeps it local.
#[tokio::test]
async fn logout_continues_at_the_end_session_endpoint_unless_turned_off() {
    use axum_oauth_login::{Clock, CookieKey, OAuth};

    for at_provider in [true, false] {
        let mock = start_mock().await;
        let provider = mock
            .provider()
            .to_builder()
            .end_session_url("http://127.0.0.1:9/session/end")
            .logout_at_provider(at_provider)
            .build()
            .unwrap();
        let (listener, port) = bind().await;
        let clock = Clock::manual_from_now();
        let oauth = example::configure(
            OAuth::builder(provider, mock.client_id(), mock.client_secret())
                .redirect_uri(format!("http://127.0.0.1:{port}/auth/callback"))
                .post_logout_redirect_uri(format!("http://127.0.0.1:{port}/bye"))
                .clock(clock.clone())
                .cookie_key(CookieKey::generate()),
        )
        .build()
        .unwrap();
        let app = TestApp::serve(mock, listener, oauth, clock);
        app.login().await;
        let res = app.post("/auth/logout").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(
            app.session_cookie().is_none(),
            "the local session ended first"
        );
        let to = location(&res);
        if !at_provider {
            assert_eq!(to, "/");
            continue;
        }
        let url = url::Url::parse(&to).expect("absolute");
        assert!(to.starts_with("http://127.0.0.1:9/session/end?"), "{to}");
        assert_eq!(
            query_param(&url, "client_id").as_deref(),
            Some(app.mock.client_id())
        );
        assert_eq!(
            query_param(&url, "post_logout_redirect_uri"),
            Some(format!("http://127.0.0.1:{port}/bye"))
        );
        assert_eq!(query_param(&url, "state").map(|s| s.len()), Some(43));
        assert_eq!(
            query_param(&url, "id_token_hint"),
            None,
            "vcita issues no id_token"
        );
        // Logged out without a session: nothing to end at the provider either.
        let again = app.post("/auth/logout").await;
        assert_eq!(location(&again), "/");
    }
}
