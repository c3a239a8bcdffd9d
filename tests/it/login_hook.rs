//! The login hook: the app's typed user, made once at login, kept in the session and
//! handed back by `AuthSession<U>`; a refused login shows its reason, creates no session
//! and revokes the tokens just issued.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum_oauth_login::{Login, LoginRefusal, UserInfo};
use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::*;
use crate::support::example::AppUser;
use crate::support::*;

async fn app_user(app: &TestApp) -> (StatusCode, Value) {
    let res = app
        .get_with("/app-user", &[("accept", "application/json")])
        .await;
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The access token the mock was asked to revoke, from its recorded requests.
fn revoked_tokens(mock: &MockProvider) -> Vec<String> {
    mock.requests(MockEndpoint::Revoke)
        .into_iter()
        .filter_map(|r| r.fields.get("token").cloned())
        .collect()
}

#[tokio::test]
async fn a_refused_login_shows_its_reason_creates_no_session_and_revokes_the_tokens() {
    let app = TestApp::spawn_with(|b| {
        b.on_login(|login: Login| async move {
            let info: UserInfo = login.user_info()?;
            Err::<AppUser, _>(LoginRefusal::new(format!(
                "{} may not use this app <yet>.",
                info.display_name()
            )))
        })
    })
    .await;
    let res = app.complete_login(Some("/me")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        set_cookie_for(res.headers(), SESSION_COOKIE).is_none(),
        "no session: {:?}",
        set_cookies(res.headers())
    );
    let page = body(res).await;
    assert_eq!(
        element_text(&page, "code").as_deref(),
        Some("login_refused")
    );
    assert!(
        page.contains("Demo Salon may not use this app &lt;yet&gt;."),
        "the reason, escaped: {page}"
    );
    assert!(app.session_cookie().is_none());
    assert_eq!(app_user(&app).await.0, StatusCode::UNAUTHORIZED);

    // The tokens just issued are revoked, and dead at the provider.
    let revoked = revoked_tokens(&app.mock);
    assert_eq!(
        revoked.len(),
        1,
        "the access token (vcita issues no refresh token)"
    );
    let res = app
        .new_browser()
        .get_with(
            "/api/me",
            &[
                ("authorization", &bearer(&revoked[0])),
                ("accept", "application/json"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_typed_user_is_made_once_and_survives_refresh() {
    let mock = MockProvider::builder()
        .refresh_tokens(true)
        .token_lifetime(std::time::Duration::from_secs(120))
        .start()
        .await
        .expect("mock");
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let app = TestApp::spawn_with_mock(mock, move |b| {
        b.on_login(move |login: Login| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let info = login.user_info()?;
                Ok(AppUser {
                    name: format!("member {}", info.sub.unwrap_or_default()),
                    email: info.email,
                    role: info.role,
                    business: info.business_name,
                    business_id: info.business_id,
                    brand_color: None,
                })
            }
        })
    })
    .await;
    app.login().await;
    let (status, user) = app_user(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["name"], "member u-1001");
    assert_eq!(user["role"], "owner");
    let (_, before) = tokens(&app).await;

    advance(&app, 100); // within the 60 s refresh skew of expiry
    let (status, after_refresh) = app_user(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after_refresh, user, "the same typed user after the refresh");
    assert_eq!(app.mock.refresh_hits(), 1);
    let (_, after) = tokens(&app).await;
    assert_ne!(before["access_token"], after["access_token"], "refreshed");
    assert_eq!(app_user(&app).await.1, user);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the hook runs at login only"
    );
}

#[tokio::test]
async fn a_user_too_large_for_the_cookie_is_an_error_never_dropped() {
    let app = TestApp::spawn_with(|b| {
        b.on_login(|_: Login| async move {
            // 12 KB of pseudo-random letters (xorshift): past the cookie store's 6 KiB
            // even deflated.
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            let name: String = (0..12_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    char::from(b'a' + (x % 26) as u8)
                })
                .collect();
            Ok(AppUser {
                name,
                email: None,
                role: None,
                business: None,
                business_id: None,
                brand_color: None,
            })
        })
    })
    .await;
    let res = app.complete_login(None).await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert!(set_cookie_for(res.headers(), SESSION_COOKIE).is_none());
    let page = body(res).await;
    assert_eq!(
        element_text(&page, "code").as_deref(),
        Some("session_too_large")
    );
    assert_eq!(
        revoked_tokens(&app.mock).len(),
        1,
        "the unusable tokens are revoked"
    );
    assert_eq!(app_user(&app).await.0, StatusCode::UNAUTHORIZED);
}

/// A type with a field no provider answer has.
#[derive(serde::Deserialize, serde::Serialize)]
struct Strict {
    loyalty_tier: String,
}

#[tokio::test]
async fn a_user_type_that_does_not_fit_is_the_apps_500_not_the_providers_502() {
    // In the login hook: the callback answers 500 with a generic message.
    let app = TestApp::spawn_with(|b| {
        b.on_login(|login: Login| async move { login.userinfo_as::<Strict>() })
    })
    .await;
    let res = app.complete_login(None).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let page = body(res).await;
    assert_eq!(element_text(&page, "code").as_deref(), Some("server_error"));
    assert!(
        !page.contains("loyalty_tier"),
        "no detail for the visitor: {page}"
    );
    assert_eq!(revoked_tokens(&app.mock).len(), 1);

    // In an extractor: `BearerUser<Strict>` is 500, not 502.
    let app = TestApp::spawn().await;
    app.login().await;
    let res = app
        .get_with("/api/strict", &[("accept", "application/json")])
        .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("server_error") && !text.contains("loyalty_tier"),
        "{text}"
    );
}

#[tokio::test]
async fn the_hook_needs_the_user_and_a_provider_outage_is_a_503_that_revokes() {
    let app = TestApp::spawn().await;
    let authorize = app.start_login(None).await;
    let callback = app.authorize(&authorize).await;
    app.mock.fail_next(MockEndpoint::Userinfo, 1, 503);
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let page = body(res).await;
    assert_eq!(
        element_text(&page, "code").as_deref(),
        Some("temporarily_unavailable")
    );
    assert!(app.session_cookie().is_none());
    assert_eq!(revoked_tokens(&app.mock).len(), 1);
}

#[tokio::test]
async fn asking_for_another_user_type_than_the_hook_makes_is_a_500() {
    let app = TestApp::spawn().await;
    app.login().await;
    let res = app
        .get_with("/wrong-user-type", &[("accept", "application/json")])
        .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = res.text().await.unwrap();
    assert!(text.contains("server_error"), "{text}");
    // The session itself is fine.
    assert_eq!(app_user(&app).await.0, StatusCode::OK);
}

/// Two apps on one mock and one cookie key (cookies do not tell ports apart): `plain`
/// without a login hook, `hooked` with the example's.
async fn with_and_without_hook() -> (TestApp, TestApp) {
    use axum_oauth_login::{Clock, CookieKey, OAuth};
    let mock = start_mock().await;
    let key = CookieKey::generate();
    let mut apps = Vec::new();
    for hooked in [false, true] {
        let (listener, port) = bind().await;
        let clock = Clock::manual_from_now();
        let builder = OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
            .redirect_uri(format!("http://127.0.0.1:{port}/auth/callback"))
            .clock(clock.clone())
            .cookie_key(key.clone());
        let builder = if hooked {
            example::configure(builder)
        } else {
            builder
        };
        let oauth = builder.build().expect("OAuth builds");
        apps.push(TestApp::serve(mock.clone(), listener, oauth, clock));
    }
    let hooked = apps.pop().unwrap();
    (apps.pop().unwrap(), hooked)
}

#[tokio::test]
async fn a_session_from_before_the_hook_logs_in_again_and_its_tokens_are_revoked() {
    let (plain, hooked) = with_and_without_hook().await;
    plain.login().await;
    // The same browser (cookie jar) on the app that now has a hook.
    let res = plain
        .send(plain.client.get(format!("{}/me", hooked.base)))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "a browser is sent to log in"
    );
    assert!(location(&res).starts_with("/auth/login?return_to="));
    assert_eq!(
        revoked_tokens(&plain.mock).len(),
        1,
        "the old session's token"
    );
}

#[tokio::test]
async fn a_session_from_a_removed_hook_is_not_read_as_another_type() {
    let (plain, hooked) = with_and_without_hook().await;
    hooked.login().await;
    let res = hooked
        .send(
            hooked
                .client
                .get(format!("{}/tokens", plain.base))
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(revoked_tokens(&hooked.mock).len(), 1);
}

#[tokio::test]
async fn a_callback_dropped_during_the_hook_revokes_its_tokens() {
    let app = TestApp::spawn_with(|b| {
        b.on_login(|_: Login| async move {
            // Longer than the browser waits.
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            Err::<AppUser, _>(LoginRefusal::new("never reached"))
        })
    })
    .await;
    let authorize = app.start_login(None).await;
    let callback = app.authorize(&authorize).await;
    let gone = app
        .client
        .get(app.url(&path_and_query(&callback)))
        .timeout(std::time::Duration::from_millis(300))
        .send()
        .await;
    assert!(gone.is_err(), "the browser gave up");
    // The server notices the closed connection, drops the callback, and revokes.
    let mut revoked = 0;
    for _ in 0..60 {
        revoked = revoked_tokens(&app.mock).len();
        if revoked > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(revoked, 1, "the unclaimed token is revoked");
}
