//! Logout reaches every copy of a cookie-held session (the cookie store): the session id
//! goes on the denylist until the session would have expired, on this instance at once
//! and, through a shared denylist store, on the others after their next sync.

use std::sync::Arc;
use std::time::Duration;

use axum_oauth_login::store::{MemoryStore, SessionStore};
use axum_oauth_login::{Clock, CookieKey};
use axum_oauth_login_mock::MockProvider;
use reqwest::StatusCode;

use crate::harness::*;
use crate::support::redis::RedisServer;

/// How often the instances of these tests pull the shared denylist.
const SYNC: Duration = Duration::from_millis(20);

/// `path` on `browser` with `cookie` as the session cookie (a copy, not the jar's).
async fn with_copy(browser: &Browser, path: &str, cookie: &str) -> StatusCode {
    let header = format!("{SESSION_COOKIE}={cookie}");
    browser
        .get_with(path, &[("cookie", &header)])
        .await
        .status()
}

/// Logs in on `app`, uses the session once through `BearerUser` (`/api/me`, so the
/// session value keeps the resolved user) and `AuthSession` (`/tokens`), and returns a
/// copy of its cookie.
async fn login_and_copy(app: &TestApp) -> String {
    app.login().await;
    let copy = app.session_cookie().expect("session cookie");
    let other = app.new_browser();
    assert_eq!(with_copy(&other, "/api/me", &copy).await, StatusCode::OK);
    assert_eq!(with_copy(&other, "/tokens", &copy).await, StatusCode::OK);
    copy
}

/// Review issue 21, defect 3: after a same-origin logout, a copy of the pre-logout
/// cookie answered 200 on `/api/me` (the session value kept the user it had resolved)
/// and on every `AuthSession` route until the session expired.
#[tokio::test]
async fn a_copied_cookie_is_refused_right_after_logout() {
    let app = TestApp::spawn().await;
    let copy = login_and_copy(&app).await;
    let res = app.post("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let other = app.new_browser();
    assert_eq!(
        (
            with_copy(&other, "/api/me", &copy).await,
            with_copy(&other, "/tokens", &copy).await,
        ),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED),
        "the copied session through (BearerUser, AuthSession)"
    );
    // Still refused later, until the session would have expired anyway.
    advance(&app, 3600);
    assert_eq!(
        with_copy(&other, "/tokens", &copy).await,
        StatusCode::UNAUTHORIZED
    );
}

/// One instance of a two-instance deployment ([`instance`], its own clock): the cookie
/// store, `key`, and `shared` as the logout denylist's store.
async fn denylist_instance(
    mock: &MockProvider,
    key: &CookieKey,
    shared: Arc<dyn SessionStore>,
) -> TestApp {
    let clock = Clock::manual_from_now();
    instance(mock, key, &clock, |b| b.logout_denylist_arc(shared, SYNC)).await
}

/// Logs in on A, logs out on A, and expects the copy refused on A at once and on B
/// within a bounded wait (B pulls every [`SYNC`]).
async fn logout_reaches_the_other_instance(
    a_store: Arc<dyn SessionStore>,
    b_store: Arc<dyn SessionStore>,
) {
    let mock = start_mock().await;
    let key = CookieKey::generate();
    let a = denylist_instance(&mock, &key, a_store).await;
    let b = denylist_instance(&mock, &key, b_store).await;
    let copy = login_and_copy(&a).await;
    let on_b = b.new_browser();
    assert_eq!(with_copy(&on_b, "/api/me", &copy).await, StatusCode::OK);
    assert_eq!(with_copy(&on_b, "/tokens", &copy).await, StatusCode::OK);

    assert_eq!(a.post("/auth/logout").await.status(), StatusCode::SEE_OTHER);
    let on_a = a.new_browser();
    assert_eq!(
        (
            with_copy(&on_a, "/api/me", &copy).await,
            with_copy(&on_a, "/tokens", &copy).await,
        ),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED),
        "the copied session on A through (BearerUser, AuthSession)"
    );

    // B follows after its next sync: bounded, far below a second in practice.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        if with_copy(&on_b, "/tokens", &copy).await == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "instance B still honours the copied cookie 3 s after the logout on A"
        );
        tokio::time::sleep(SYNC).await;
    }
    assert_eq!(
        with_copy(&on_b, "/api/me", &copy).await,
        StatusCode::UNAUTHORIZED,
        "BearerUser on B"
    );
}

#[tokio::test]
async fn a_copied_cookie_is_refused_on_another_instance_through_a_shared_memory_store() {
    let shared: Arc<dyn SessionStore> = Arc::new(MemoryStore::new(10_000));
    logout_reaches_the_other_instance(shared.clone(), shared).await;
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn a_copied_cookie_is_refused_on_another_instance_through_redis() {
    use axum_oauth_login::store::RedisStore;
    let Some(server) = RedisServer::start().await else {
        return;
    };
    let open = || -> Arc<dyn SessionStore> {
        Arc::new(RedisStore::open(&server.url()).expect("RedisStore opens"))
    };
    logout_reaches_the_other_instance(open(), open()).await;
}
