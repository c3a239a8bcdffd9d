//! The flow suite: one session flow per function, each run against every backend by
//! `store_suite!` (`stores::{backend}::{flow}`).

use super::*;

/// Returns the backend, or from the test when it cannot run here.
macro_rules! backend {
    ($kind:expr) => {
        match Backend::start($kind).await {
            Some(backend) => backend,
            None => return,
        }
    };
}

/// A login gives a session whose tokens a handler sees; with a server-side store the
/// cookie is only a small sealed id, never the tokens.
pub(super) async fn login_then_tokens(kind: Kind) {
    let backend = backend!(kind);
    let app = spawn(&backend, start_mock().await, |b| b).await;
    app.login().await;
    let (status, t) = tokens(&app).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let access = str_of(&t, "access_token");
    assert!(!access.is_empty());
    let cookie = app.session_cookie().expect("session cookie");
    assert!(!cookie.contains(access), "no token in clear in the cookie");
    if backend.server_side() {
        assert!(
            cookie.len() < MAX_ID_COOKIE,
            "only a sealed id in the cookie, got {} bytes",
            cookie.len()
        );
    }
    // The provider accepts the session's token.
    let res = app
        .get_with("/api/me", &[("accept", "application/json")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// 100 s into a 120 s token: one refresh, the handler sees the new tokens, and the
/// next request uses them without refreshing again.
pub(super) async fn refresh_at_expiry(kind: Kind) {
    let backend = backend!(kind);
    let app = spawn(&backend, rotating_mock().await, |b| b).await;
    app.login().await;
    let (_, before) = tokens(&app).await;
    assert_eq!(app.mock.refresh_hits(), 0);

    advance(&app, 100);
    let res = app.get("/tokens").await;
    assert_eq!(res.status(), StatusCode::OK);
    let rewritten = set_cookie_for(res.headers(), SESSION_COOKIE);
    if backend.server_side() {
        // The cookie holds the session's id, which a refresh does not change.
        assert!(rewritten.is_none(), "{rewritten:?}");
    } else {
        let set = rewritten.expect("the cookie store rewrites the session cookie");
        assert!(!has_attr(&set, "Max-Age=0"), "{set}");
    }
    let (_, after) = read_tokens(res).await;
    assert_ne!(after["access_token"], before["access_token"], "new token");
    assert_ne!(after["refresh_token"], before["refresh_token"], "rotated");
    assert_eq!(app.mock.refresh_hits(), 1);

    let (status, again) = tokens(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["access_token"], after["access_token"]);
    assert_eq!(app.mock.refresh_hits(), 1, "no second refresh");
    let res = app
        .get_with("/api/me", &[("accept", "application/json")])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the provider takes the new token"
    );
}

/// A request still carrying the pre-refresh cookie (sent before the browser saw the
/// new one) gets the refreshed tokens and spends no refresh token: the provider has
/// rotated the old one away.
pub(super) async fn rotation_grace_keeps_the_pre_refresh_cookie_working(kind: Kind) {
    let backend = backend!(kind);
    let app = spawn(&backend, rotating_mock().await, |b| b).await;
    app.login().await;
    let old_cookie = app.session_cookie().expect("session");
    let (_, before) = tokens(&app).await;
    advance(&app, 100);
    let (status, after) = tokens(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.mock.refresh_hits(), 1);

    // The provider rotated: the old refresh token is dead.
    let old_refresh =
        axum_oauth_login::secret::RefreshToken::new(str_of(&before, "refresh_token").to_owned());
    let err = app.oauth.client().refresh(&old_refresh).await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");
    assert_eq!(app.mock.refresh_hits(), 2);

    let stale = app.new_browser();
    for attempt in 0..2 {
        let res = tokens_with(&stale, &old_cookie).await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "attempt {attempt}: not logged out"
        );
        assert_not_removed(&res);
        let (_, body) = read_tokens(res).await;
        assert_eq!(
            body["access_token"], after["access_token"],
            "attempt {attempt}"
        );
    }
    assert_eq!(app.mock.refresh_hits(), 2, "no refresh with the dead token");
}

/// Logout removes the cookie and revokes the tokens; with a server-side store the
/// record goes too, so a copy of the cookie is dead everywhere.
pub(super) async fn logout_ends_the_session(kind: Kind) {
    let backend = backend!(kind);
    let app = spawn(&backend, start_mock().await, |b| b).await;
    app.login().await;
    let copied = app.session_cookie().expect("session");
    let (_, t) = tokens(&app).await;
    let access = str_of(&t, "access_token").to_owned();

    let res = app.post("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_removed(&res, SESSION_COOKIE);
    assert!(app.session_cookie().is_none());
    let (status, _) = tokens(&app).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the browser is logged out"
    );

    let other = app.new_browser();
    let res = other
        .get_with("/api/me", &[("authorization", &bearer(&access))])
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "token revoked");
    if backend.server_side() {
        let res = tokens_with(&other, &copied).await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "a copy of the pre-logout cookie has no session"
        );
        assert_removed(&res, SESSION_COOKIE);
    }
    // Whatever the backend, a copy of the cookie cannot use the revoked token.
    let res = other
        .get_with(
            "/api/me",
            &[
                ("cookie", &session_header(&copied)),
                ("accept", "application/json"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// A cookie changed by one character means "not logged in" (401, cookie removed), and
/// leaves the genuine session alone.
pub(super) async fn tampered_cookie_is_not_logged_in(kind: Kind) {
    let backend = backend!(kind);
    let app = spawn(&backend, start_mock().await, |b| b).await;
    app.login().await;
    let good = app.session_cookie().expect("session");
    let bad = tampered(&good);

    let other = app.new_browser();
    let res = tokens_with(&other, &bad).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_removed(&res, SESSION_COOKIE);

    // In the browser's own jar: the bad cookie is replaced by nothing.
    let url = url::Url::parse(&app.url("/")).expect("url");
    app.jar
        .add_cookie_str(&format!("{SESSION_COOKIE}={bad}; Path=/"), &url);
    let (status, _) = tokens(&app).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        app.session_cookie().is_none(),
        "the jar dropped the bad cookie"
    );

    // The genuine session is untouched.
    let res = tokens_with(&app.new_browser(), &good).await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// Every login starts a new session (a new id: no fixation); with a server-side
/// store the browser's previous record is deleted.
pub(super) async fn relogin_replaces_the_session(kind: Kind) {
    let backend = backend!(kind);
    let app = spawn(&backend, start_mock().await, |b| b).await;
    app.login().await;
    let first = app.session_cookie().expect("session");
    let (_, t1) = tokens(&app).await;
    app.login().await;
    let second = app.session_cookie().expect("session");
    assert_ne!(first, second, "a new session cookie");

    let other = app.new_browser();
    let (status, t2) = read_tokens(tokens_with(&other, &second).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(
        t2["access_token"], t1["access_token"],
        "the new login's tokens"
    );
    if backend.server_side() {
        let res = tokens_with(&other, &first).await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "the previous session's record is gone"
        );
    }
}

/// `idle_timeout(120 s)`: requests keep the session alive past 120 s in total; 121 s
/// without one end it.
pub(super) async fn idle_timeout_ends_an_unused_session(kind: Kind) {
    let backend = backend!(kind);
    let app = spawn(&backend, start_mock().await, |b| {
        b.idle_timeout(Duration::from_secs(120))
    })
    .await;
    app.login().await;
    advance(&app, 100);
    assert_eq!(tokens(&app).await.0, StatusCode::OK, "100 s idle");
    advance(&app, 100);
    assert_eq!(
        tokens(&app).await.0,
        StatusCode::OK,
        "200 s after login, 100 s after the last request: renewed"
    );
    advance(&app, 121);
    let res = app.get("/tokens").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "121 s idle");
    assert_removed(&res, SESSION_COOKIE);
    assert!(app.session_cookie().is_none());
}

/// `session_lifetime(300 s)`: however active, the session ends at 300 s.
pub(super) async fn absolute_lifetime_ends_even_an_active_session(kind: Kind) {
    let backend = backend!(kind);
    let app = spawn(&backend, start_mock().await, |b| {
        b.session_lifetime(Duration::from_secs(300))
            .idle_timeout(Duration::from_secs(120))
    })
    .await;
    app.login().await;
    for (step, at) in [(100, 100), (100, 200), (99, 299)] {
        advance(&app, step);
        assert_eq!(tokens(&app).await.0, StatusCode::OK, "{at} s after login");
    }
    advance(&app, 1);
    let res = app.get("/tokens").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "300 s after login");
    assert_removed(&res, SESSION_COOKIE);
}

/// A 5 KB access token of varied base64url text (as real tokens are): more than one
/// cookie holds (3800 bytes sealed), within the cookie store's cap (6144 bytes sealed,
/// after deflate). The cookie store splits it over `oauth_session` and
/// `oauth_session.1` and needs both; a server-side store keeps one small cookie.
pub(super) async fn token_larger_than_one_cookie(kind: Kind) {
    let backend = backend!(kind);
    let app = spawn(&backend, start_mock().await, |b| b).await;
    let token = big_token(5 * 1024);
    answer_login_with(&app.mock, &token);
    let res = app.complete_login(None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "login completes");
    let first = set_cookie_for(res.headers(), SESSION_COOKIE).expect("session cookie");
    assert!(!has_attr(&first, "Max-Age=0"), "{first}");
    let chunk = format!("{SESSION_COOKIE}.1");
    if backend.server_side() {
        assert!(set_cookie_for(res.headers(), &chunk).is_none());
        assert!(cookie_value(&first).len() < MAX_ID_COOKIE, "{first}");
    } else {
        let second = set_cookie_for(res.headers(), &chunk).expect("a second chunk");
        assert!(!has_attr(&second, "Max-Age=0"), "{second}");
        assert!(set_cookie_for(res.headers(), &format!("{SESSION_COOKIE}.2")).is_none());
        // The first chunk alone is not a session.
        let res = tokens_with(&app.new_browser(), &cookie_value(&first)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let (status, t) = tokens(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(str_of(&t, "access_token"), token, "the whole token");
}

/// A 20 KB access token: server-side stores keep it; the cookie store refuses the
/// login with a clear page pointing at a server-side store, and sets no session.
pub(super) async fn token_of_20_kb(kind: Kind) {
    let backend = backend!(kind);
    let app = spawn(&backend, start_mock().await, |b| b).await;
    let token = big_token(20 * 1024);
    answer_login_with(&app.mock, &token);
    let res = app.complete_login(None).await;
    if backend.server_side() {
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "login completes");
        let cookie = set_cookie_for(res.headers(), SESSION_COOKIE).expect("session cookie");
        assert!(cookie_value(&cookie).len() < MAX_ID_COOKIE, "{cookie}");
        let (status, t) = tokens(&app).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(str_of(&t, "access_token"), token, "the whole token");
        return;
    }
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    for name in [SESSION_COOKIE.to_owned(), format!("{SESSION_COOKIE}.1")] {
        assert!(
            set_cookie_for(res.headers(), &name).is_none(),
            "{name}: {:?}",
            set_cookies(res.headers())
        );
    }
    let page = body(res).await;
    assert_eq!(
        element_text(&page, "code").as_deref(),
        Some("session_too_large"),
        "{page}"
    );
    let message = element_text(&page, "message").expect("a message");
    assert!(message.contains("server-side store"), "{message}");
    assert!(app.session_cookie().is_none());
    assert_eq!(tokens(&app).await.0, StatusCode::UNAUTHORIZED);
}

/// A session sealed with key K1 is accepted by an app on `K2.with_previous(K1)`, which
/// re-seals the cookie under K2; an app on K2 alone then takes the new cookie (and no
/// longer the old one).
pub(super) async fn key_rotation_reseals_the_cookie(kind: Kind) {
    let backend = backend!(kind);
    let mock = start_mock().await;
    let k1 = CookieKey::generate();
    let k2 = CookieKey::generate();
    let old_app = spawn(&backend, mock.clone(), {
        let k1 = k1.clone();
        move |b| b.cookie_key(k1)
    })
    .await;
    old_app.login().await;
    let old = old_app.session_cookie().expect("session");
    let (_, t) = tokens(&old_app).await;

    let rotating = spawn(&backend, mock.clone(), {
        let key = k2.clone().with_previous(k1);
        move |b| b.cookie_key(key)
    })
    .await;
    let res = tokens_with(&rotating.new_browser(), &old).await;
    assert_eq!(res.status(), StatusCode::OK, "the old key still opens it");
    let set = set_cookie_for(res.headers(), SESSION_COOKIE).unwrap_or_else(|| {
        panic!(
            "the cookie is re-sealed under the new key; got {:?}",
            set_cookies(res.headers())
        )
    });
    assert!(!has_attr(&set, "Max-Age=0"), "{set}");
    let new = cookie_value(&set);
    assert_ne!(new, old);
    let (_, body) = read_tokens(res).await;
    assert_eq!(body["access_token"], t["access_token"]);

    let new_only = spawn(&backend, mock.clone(), move |b| b.cookie_key(k2)).await;
    let (status, body) = read_tokens(tokens_with(&new_only.new_browser(), &new).await).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the re-sealed cookie opens with K2 alone"
    );
    assert_eq!(body["access_token"], t["access_token"]);
    let res = tokens_with(&new_only.new_browser(), &old).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "K1 is gone");
}
