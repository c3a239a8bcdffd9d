//! Where sessions live. One flow suite ([`flows`]) runs against every backend — the
//! browser's encrypted cookie (no store), [`MemoryStore`], `FileStore` in a directory of
//! the test's own, `RedisStore` on a real `redis-server`, and SQLite through
//! `TowerSessionsStore` — and then what only a shared
//! server-side store does ([`shared_redis`]): two instances with one session and one
//! refresh, records sealed at rest, and a Redis outage that is a `503`, never a logout.
//!
//! Time never passes for real: the app's manual clock and the mock's clock move together
//! (`advance`). Redis tests start their own server (`tests/support/redis.rs`) and are
//! skipped, loudly, where `redis-server` is not installed (never on CI).
//!
//! ```text
//! cargo test --all-features --test it stores
//! ```

use std::sync::Arc;
use std::time::Duration;

use axum_oauth_login::store::{MemoryStore, SessionStore};
use axum_oauth_login::{CookieKey, OAuthBuilder};
use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;
use crate::support::redis::RedisServer;
use crate::support::{TempDir, body, bounded, element_text, example};

// ---------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------

/// Where a test app keeps its sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// In the browser: the session sealed into the cookie (chunked when large).
    Cookie,
    /// `MemoryStore::new(10_000)`.
    Memory,
    /// `FileStore` on a file in a directory of the test's own.
    #[cfg(feature = "file-store")]
    File,
    /// `RedisStore` on a `redis-server` of the test's own.
    #[cfg(feature = "redis")]
    Redis,
    /// `TowerSessionsStore` over tower-sessions' SQLx `SqliteStore`, in memory.
    #[cfg(feature = "tower-sessions")]
    Sqlite,
}

/// A backend ready for apps: the store (shared by every app built on it) and whatever
/// keeps it alive.
struct Backend {
    store: Option<Arc<dyn SessionStore>>,
    /// The Redis server of a Redis backend (killed when the test ends).
    _redis: Option<RedisServer>,
    /// The directory of a file backend (removed when the test ends).
    _dir: Option<TempDir>,
}

impl Backend {
    /// `None` when the backend cannot run on this machine (`redis-server` missing outside
    /// CI; a loud notice was printed): the test returns early.
    async fn start(kind: Kind) -> Option<Backend> {
        type Parts = (
            Option<Arc<dyn SessionStore>>,
            Option<RedisServer>,
            Option<TempDir>,
        );
        let (store, redis, dir): Parts = match kind {
            Kind::Cookie => (None, None, None),
            Kind::Memory => (Some(Arc::new(MemoryStore::new(10_000))), None, None),
            #[cfg(feature = "file-store")]
            Kind::File => {
                let dir = TempDir::new("file-store");
                let store = axum_oauth_login::store::FileStore::open(dir.join("sessions.json"))
                    .expect("FileStore opens");
                (Some(Arc::new(store)), None, Some(dir))
            }
            #[cfg(feature = "redis")]
            Kind::Redis => {
                let server = RedisServer::start().await?;
                let store = axum_oauth_login::store::RedisStore::open(&server.url())
                    .expect("RedisStore opens");
                (Some(Arc::new(store)), Some(server), None)
            }
            #[cfg(feature = "tower-sessions")]
            Kind::Sqlite => (Some(Arc::new(sqlite().await)), None, None),
        };
        Some(Backend {
            store,
            _redis: redis,
            _dir: dir,
        })
    }

    /// Whether sessions live on the server (only a sealed id in the cookie).
    fn server_side(&self) -> bool {
        self.store.is_some()
    }
}

/// tower-sessions' SQLite store on an in-memory database, migrated.
#[cfg(feature = "tower-sessions")]
async fn sqlite()
-> axum_oauth_login::store::TowerSessionsStore<tower_sessions_sqlx_store::SqliteStore> {
    use tower_sessions_sqlx_store::SqliteStore;
    use tower_sessions_sqlx_store::sqlx::SqlitePool;
    let pool = bounded("SQLite connects", SqlitePool::connect("sqlite::memory:"))
        .await
        .expect("an in-memory SQLite pool");
    let store = SqliteStore::new(pool);
    bounded("SQLite migrates", store.migrate())
        .await
        .expect("the tower-sessions table is created");
    axum_oauth_login::store::TowerSessionsStore::new(store)
}

/// An app on `backend` (its store, if any, shared with every other app on it), with the
/// builder further customised by `configure`.
async fn spawn(
    backend: &Backend,
    mock: MockProvider,
    configure: impl FnOnce(OAuthBuilder) -> OAuthBuilder,
) -> TestApp {
    let store = backend.store.clone();
    TestApp::spawn_with_mock(mock, move |b| {
        let b = match store {
            Some(store) => b.session_store_arc(store),
            None => b,
        };
        configure(b)
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// `GET /tokens` with exactly this session cookie value (the browser's jar should be
/// empty: a copy of the cookie, as another device or an attacker would send it).
async fn tokens_with(browser: &Browser, session_cookie: &str) -> Response {
    browser
        .get_with("/tokens", &[("cookie", &session_header(session_cookie))])
        .await
}

async fn read_tokens(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let body = bounded("reading /tokens", res.json::<Value>())
        .await
        .unwrap_or(Value::Null);
    (status, body)
}

fn session_header(value: &str) -> String {
    format!("{SESSION_COOKIE}={value}")
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

/// The response removes cookie `name` (`Max-Age=0`, empty value).
fn assert_removed(res: &Response, name: &str) {
    let set = set_cookie_for(res.headers(), name)
        .unwrap_or_else(|| panic!("{name} is removed; got {:?}", set_cookies(res.headers())));
    assert!(has_attr(&set, "Max-Age=0"), "{set}");
    assert_eq!(cookie_value(&set), "", "{set}");
}

/// The response does not remove the session cookie (it may rewrite it).
fn assert_not_removed(res: &Response) {
    if let Some(set) = set_cookie_for(res.headers(), SESSION_COOKIE) {
        assert!(
            !has_attr(&set, "Max-Age=0"),
            "session cookie removed: {set}"
        );
    }
}

/// A sealed cookie with one character changed in the middle.
fn tampered(sealed: &str) -> String {
    let mut bytes = sealed.as_bytes().to_vec();
    let mid = bytes.len() / 2;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ascii")
}

/// An access token of `len` characters (URL-safe, varied: nothing compresses or repeats).
fn big_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            // xorshift64: deterministic, no dependency.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(ALPHABET[(x % 64) as usize])
        })
        .collect()
}

/// Queues a token answer carrying `access_token` for the next code exchange.
fn answer_login_with(mock: &MockProvider, access_token: &str) {
    let answer = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 3600,
    });
    mock.respond_next(
        MockEndpoint::Token,
        1,
        200,
        "application/json",
        answer.to_string(),
    );
    // The login hook asks who logged in with that token.
    mock.respond_next(
        MockEndpoint::Userinfo,
        1,
        200,
        "application/json",
        mock.user().info.to_string(),
    );
}

/// A sealed session id is small: an opaque handle, not a session.
const MAX_ID_COOKIE: usize = 200;

// ---------------------------------------------------------------------------------------
// The flow suite, against every backend
// ---------------------------------------------------------------------------------------

/// Instantiates every flow of [`flows`] as a `#[tokio::test]` in one module per backend
/// (as tower-sessions' `route_tests!` does): `stores::{backend}::{flow}`.
macro_rules! store_suite {
    ($($(#[$attr:meta])* $backend:ident => $kind:expr;)+) => {$(
        $(#[$attr])*
        mod $backend {
            store_suite!(@flows $kind;
                login_then_tokens,
                refresh_at_expiry,
                rotation_grace_keeps_the_pre_refresh_cookie_working,
                logout_ends_the_session,
                tampered_cookie_is_not_logged_in,
                relogin_replaces_the_session,
                idle_timeout_ends_an_unused_session,
                absolute_lifetime_ends_even_an_active_session,
                token_larger_than_one_cookie,
                token_of_20_kb,
                key_rotation_reseals_the_cookie,
            );
        }
    )+};
    (@flows $kind:expr; $($flow:ident),+ $(,)?) => {$(
        #[tokio::test]
        async fn $flow() {
            super::flows::$flow($kind).await
        }
    )+};
}

store_suite! {
    cookie => super::Kind::Cookie;
    memory => super::Kind::Memory;
    #[cfg(feature = "file-store")]
    file => super::Kind::File;
    #[cfg(feature = "redis")]
    redis => super::Kind::Redis;
    #[cfg(feature = "tower-sessions")]
    sqlite => super::Kind::Sqlite;
}

mod flows {
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
        let old_refresh = axum_oauth_login::secret::RefreshToken::new(
            str_of(&before, "refresh_token").to_owned(),
        );
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
}

// ---------------------------------------------------------------------------------------
// What a shared Redis does
// ---------------------------------------------------------------------------------------

#[cfg(feature = "redis")]
mod shared_redis {
    use axum_oauth_login::store::RedisStore;
    use axum_oauth_login::{Clock, OAuth};

    use super::*;
    use crate::support::bind;

    /// One instance of the app: its own `OAuth` (and Redis connection), sharing the
    /// cookie key, the clock, the mock's client and the Redis server with the others.
    async fn instance(
        server: &RedisServer,
        mock: &MockProvider,
        key: &CookieKey,
        clock: &Clock,
    ) -> TestApp {
        let (listener, port) = bind().await;
        let oauth = example::configure(
            OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
                .redirect_uri(format!("http://127.0.0.1:{port}/auth/callback"))
                .clock(clock.clone())
                .cookie_key(key.clone())
                .session_store(RedisStore::open(&server.url()).expect("RedisStore opens")),
        )
        .build()
        .expect("OAuth builds");
        TestApp::serve(mock.clone(), listener, oauth, clock.clone())
    }

    /// A raw connection to the test's Redis, to look at what the store wrote.
    async fn raw(server: &RedisServer) -> ::redis::aio::MultiplexedConnection {
        let client = ::redis::Client::open(server.url()).expect("redis client");
        bounded(
            "raw Redis connection",
            client.get_multiplexed_async_connection(),
        )
        .await
        .expect("connects")
    }

    async fn query<T: ::redis::FromRedisValue>(
        con: &mut ::redis::aio::MultiplexedConnection,
        cmd: &mut ::redis::Cmd,
    ) -> T {
        bounded("a Redis command", cmd.query_async(con))
            .await
            .expect("Redis answers")
    }

    /// Log in on A, use the session on B; 20 requests split over A and B at expiry share
    /// one refresh; logout on B ends the session on A too.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_instances_share_a_session_and_refresh_once() {
        let Some(server) = RedisServer::start().await else {
            return;
        };
        let mock = rotating_mock().await;
        let key = CookieKey::generate();
        let clock = Clock::manual_from_now();
        let a = instance(&server, &mock, &key, &clock).await;
        let b = instance(&server, &mock, &key, &clock).await;

        a.login().await;
        let cookie = a.session_cookie().expect("session on A");
        let (_, on_a) = tokens(&a).await;
        let (status, on_b) = read_tokens(tokens_with(&b.new_browser(), &cookie).await).await;
        assert_eq!(status, StatusCode::OK, "B knows A's session");
        assert_eq!(on_b["access_token"], on_a["access_token"]);

        // 20 s left on the token; the refresh is held open 300 ms so that requests on
        // both instances arrive while it is in flight.
        advance(&a, 100);
        mock.delay_next(MockEndpoint::Token, 1, Duration::from_millis(300));
        let browsers = [Arc::new(a.new_browser()), Arc::new(b.new_browser())];
        let send = |i: usize| {
            let browser = browsers[i % 2].clone();
            let cookie = cookie.clone();
            tokio::spawn(async move { read_tokens(tokens_with(&browser, &cookie).await).await })
        };
        // Ten, alternating A and B: one instance takes the Redis lock and calls the
        // provider ...
        let mut tasks: Vec<_> = (0..10).map(send).collect();
        bounded("the refresh reaches the provider", async {
            while mock.refresh_hits() == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        // ... and ten more while its answer is held: both instances read the pre-refresh
        // record, so both must wait for the lock holder's tokens instead of refreshing.
        tasks.extend((10..20).map(send));
        let mut seen = std::collections::HashSet::new();
        for (i, task) in tasks.into_iter().enumerate() {
            let (status, body) = bounded("a concurrent request", task).await.expect("task");
            assert_eq!(status, StatusCode::OK, "request {i} ({body})");
            seen.insert(str_of(&body, "access_token").to_owned());
        }
        assert_eq!(
            mock.refresh_hits(),
            1,
            "exactly one refresh call at the provider"
        );
        assert_eq!(seen.len(), 1, "every request saw the same token: {seen:?}");
        assert!(
            !seen.contains(str_of(&on_a, "access_token")),
            "the refreshed token"
        );
        // Both instances carry on with it.
        for app in [&a, &b] {
            let (status, body) = read_tokens(tokens_with(&app.new_browser(), &cookie).await).await;
            assert_eq!(status, StatusCode::OK);
            assert!(seen.contains(str_of(&body, "access_token")));
        }
        assert_eq!(mock.refresh_hits(), 1);

        // Logout on B: A sees no session, and the copied cookie is dead on both.
        let on_b = b.new_browser();
        let res = on_b
            .send(
                on_b.client
                    .post(on_b.url("/auth/logout"))
                    .header("cookie", session_header(&cookie)),
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_removed(&res, SESSION_COOKIE);
        for (name, app) in [("A", &a), ("B", &b)] {
            let res = tokens_with(&app.new_browser(), &cookie).await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{name}");
        }
        let (status, _) = tokens(&a).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "A's own browser too");
    }

    /// What Redis holds is sealed: neither token appears in clear in any key, before or
    /// after a refresh; the cookie does not carry the id in clear; records expire.
    #[tokio::test]
    async fn records_are_sealed_at_rest() {
        let Some(server) = RedisServer::start().await else {
            return;
        };
        let store = RedisStore::open(&server.url()).expect("RedisStore opens");
        let app =
            TestApp::spawn_with_mock(rotating_mock().await, move |b| b.session_store(store)).await;
        app.login().await;
        let cookie = app.session_cookie().expect("session");
        let mut con = raw(&server).await;

        for round in ["after login", "after a refresh"] {
            if round == "after a refresh" {
                advance(&app, 100);
            }
            let (status, t) = tokens(&app).await;
            assert_eq!(status, StatusCode::OK, "{round}");
            let secrets = [
                str_of(&t, "access_token").to_owned(),
                str_of(&t, "refresh_token").to_owned(),
            ];

            let sessions: Vec<String> = query(
                &mut con,
                ::redis::cmd("KEYS").arg("axum-oauth-login:session:*"),
            )
            .await;
            assert_eq!(
                sessions.len(),
                1,
                "{round}: one session record: {sessions:?}"
            );
            let id = sessions[0]
                .strip_prefix("axum-oauth-login:session:")
                .expect("prefix");
            assert!(!cookie.contains(id), "{round}: the cookie seals the id");
            let ttl: i64 = query(&mut con, ::redis::cmd("PTTL").arg(&sessions[0])).await;
            assert!(
                ttl > 0 && ttl <= 7 * 24 * 3600 * 1000,
                "{round}: the record expires (PTTL {ttl})"
            );

            // Every key, whatever its type.
            let keys: Vec<String> = query(&mut con, ::redis::cmd("KEYS").arg("*")).await;
            for key in &keys {
                let kind: String = query(&mut con, ::redis::cmd("TYPE").arg(key)).await;
                let values: Vec<String> = match kind.as_str() {
                    "string" => vec![query(&mut con, ::redis::cmd("GET").arg(key)).await],
                    "set" => query(&mut con, ::redis::cmd("SMEMBERS").arg(key)).await,
                    other => panic!("{round}: unexpected {other} key {key}"),
                };
                for value in values {
                    for secret in &secrets {
                        assert!(
                            !value.contains(secret.as_str()) && !key.contains(secret.as_str()),
                            "{round}: a token in clear under {key}"
                        );
                    }
                }
            }
        }
        assert_eq!(app.mock.refresh_hits(), 1);
    }

    /// Redis goes down: requests that need the session answer 503 (not 401, not 500, no
    /// cookie removal, no logout); a login answers 503 too. Redis comes back (with its
    /// data): the same session works again, with the same app.
    #[tokio::test]
    async fn outage_is_503_and_recovers_without_a_restart() {
        let Some(mut server) = RedisServer::start().await else {
            return;
        };
        let store = RedisStore::open(&server.url()).expect("RedisStore opens");
        let app = TestApp::spawn_with_mock(start_mock().await, move |b| {
            b.session_store(store)
                .store_timeout(Duration::from_millis(500))
        })
        .await;
        app.login().await;
        let (_, before) = tokens(&app).await;

        // Written to disk so that the restarted server has the session, as a persistent
        // Redis would after an outage.
        server.persist().await;
        server.stop().await;

        let started = std::time::Instant::now();
        let res = app.get("/tokens").await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(res.headers().contains_key("retry-after"));
        assert!(
            set_cookie_for(res.headers(), SESSION_COOKIE).is_none(),
            "the session cookie is kept: {:?}",
            set_cookies(res.headers())
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "bounded by the store timeout: {:?}",
            started.elapsed()
        );
        let res = app
            .get_with("/api/me", &[("accept", "application/json")])
            .await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "/api/me");
        assert!(set_cookie_for(res.headers(), SESSION_COOKIE).is_none());
        let res = app.get("/me").await;
        assert_eq!(
            res.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "/me (navigation)"
        );
        assert!(app.session_cookie().is_some(), "still logged in");
        // `Option<AuthSession>` cannot tell "no session" from "cannot know": 503. A public
        // page that takes `Result<AuthSession, AuthRejection>` renders as anonymous.
        assert_eq!(
            app.get("/").await.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "Option<AuthSession>"
        );
        let res = app.get("/public").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(body(res).await, "anonymous (session store unavailable)");

        // A login cannot keep its session now: a clear 503, no cookie.
        let newcomer = app.new_browser();
        let res = newcomer.complete_login(None).await;
        assert_eq!(
            res.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "login during the outage"
        );
        assert!(set_cookie_for(res.headers(), SESSION_COOKIE).is_none());
        let page = body(res).await;
        assert_eq!(
            element_text(&page, "code").as_deref(),
            Some("temporarily_unavailable"),
            "{page}"
        );

        server.restart().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let after = loop {
            let (status, body) = tokens(&app).await;
            match status {
                StatusCode::OK => break body,
                StatusCode::SERVICE_UNAVAILABLE => {}
                other => panic!("while Redis recovers: {other} {body}"),
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still 503 5 s after Redis came back"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(
            after["access_token"], before["access_token"],
            "the same session"
        );
        let res = app
            .get_with("/api/me", &[("accept", "application/json")])
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
}
