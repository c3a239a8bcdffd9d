//! The session invariants across instances (`DESIGN.md`, "Session lifecycle"), each
//! shown on the race that broke it:
//!
//! * **Delete wins**: a refresh in flight on instance A when the user logs out on B does
//!   not bring the session back (memory, file, Redis, SQLite through tower-sessions), and
//!   revokes what it got.
//! * **Nothing issued is orphaned**: logout revokes the access tokens the session's
//!   refreshes superseded (the mock, like Doorkeeper, leaves them live until they expire).
//! * **Cookie sessions on two instances with a rotating provider**: a request with the
//!   pre-refresh cookie on B does not log the user out — with a shared store B adopts A's
//!   tokens; without one B keeps the still-valid access token.
//!
//! The randomized interleavings of the same class live in `interleavings`.

use std::sync::Arc;
use std::time::Duration;

use axum_oauth_login::store::{MemoryStore, SessionStore};
use axum_oauth_login::{Clock, CookieKey, OAuthBuilder};
use axum_oauth_login_mock::MockProvider;
use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::harness::*;
use crate::support::redis::RedisServer;
use crate::support::{TempDir, bounded};

/// A server-side store shared by the instances of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shared {
    Memory,
    /// `FileStore` on a file in a directory of the test's own.
    #[cfg(feature = "file-store")]
    File,
    #[cfg(feature = "redis")]
    Redis,
    #[cfg(feature = "tower-sessions")]
    Sqlite,
}

/// What keeps a store alive for the test: its Redis server (killed when dropped) or its
/// directory (removed when dropped).
#[derive(Default)]
pub(crate) struct Keep {
    _redis: Option<RedisServer>,
    _dir: Option<TempDir>,
}

/// The store (and what keeps it alive), or `None` where it cannot run here.
pub(crate) async fn open(kind: Shared) -> Option<(Arc<dyn SessionStore>, Keep)> {
    Some(match kind {
        Shared::Memory => (Arc::new(MemoryStore::new(10_000)), Keep::default()),
        #[cfg(feature = "file-store")]
        Shared::File => {
            let dir = TempDir::new("file-store");
            let store = axum_oauth_login::store::FileStore::open(dir.join("sessions.json"))
                .expect("FileStore opens");
            let keep = Keep {
                _dir: Some(dir),
                ..Keep::default()
            };
            (Arc::new(store), keep)
        }
        #[cfg(feature = "redis")]
        Shared::Redis => {
            let server = RedisServer::start().await?;
            let store =
                axum_oauth_login::store::RedisStore::open(&server.url()).expect("RedisStore opens");
            let keep = Keep {
                _redis: Some(server),
                ..Keep::default()
            };
            (Arc::new(store), keep)
        }
        #[cfg(feature = "tower-sessions")]
        Shared::Sqlite => {
            use tower_sessions_sqlx_store::SqliteStore;
            use tower_sessions_sqlx_store::sqlx::SqlitePool;
            let pool = bounded("SQLite connects", SqlitePool::connect("sqlite::memory:"))
                .await
                .expect("pool");
            let store = SqliteStore::new(pool);
            bounded("SQLite migrates", store.migrate())
                .await
                .expect("migrated");
            (
                Arc::new(axum_oauth_login::store::TowerSessionsStore::new(store)),
                Keep::default(),
            )
        }
    })
}

/// `GET /tokens` with exactly this session cookie (a copy, as another tab sends it).
pub(crate) async fn tokens_with(app: &TestApp, cookie: &str) -> (StatusCode, Value) {
    let browser = app.new_browser();
    let res = browser
        .get_with(
            "/tokens",
            &[("cookie", &format!("{SESSION_COOKIE}={cookie}"))],
        )
        .await;
    let status = res.status();
    let body = bounded("reading /tokens", res.json::<Value>())
        .await
        .unwrap_or(Value::Null);
    (status, body)
}

/// A same-origin `POST /auth/logout` with exactly this session cookie.
pub(crate) async fn logout_with(app: &TestApp, cookie: &str) -> Response {
    let browser = app.new_browser();
    browser
        .send(
            browser
                .client
                .post(browser.url("/auth/logout"))
                .header("cookie", format!("{SESSION_COOKIE}={cookie}")),
        )
        .await
}

/// Waits (bounded) until the mock has received `n` refresh requests.
pub(crate) async fn refresh_reached(mock: &MockProvider, n: usize) {
    bounded("the refresh reaches the provider", async {
        while mock.refresh_hits() < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Nothing the provider issued is live: every token was revoked or rotated away.
fn assert_nothing_live(mock: &MockProvider) {
    assert_eq!(
        mock.live_access_tokens(),
        Vec::<String>::new(),
        "live access tokens"
    );
    assert_eq!(
        mock.live_refresh_tokens(),
        Vec::<String>::new(),
        "live refresh tokens"
    );
}

/// Instantiates each test once per store, `{module}::{store}::{test}`: memory, and file,
/// Redis and SQLite when their features are on. Also used by `store_contract`.
macro_rules! on_every_store {
    ($($test:ident),+ $(,)?) => {
        mod memory { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $test() { super::$test(super::Shared::Memory).await })+ }
        #[cfg(feature = "file-store")]
        mod file { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $test() { super::$test(super::Shared::File).await })+ }
        #[cfg(feature = "redis")]
        mod redis { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $test() { super::$test(super::Shared::Redis).await })+ }
        #[cfg(feature = "tower-sessions")]
        mod sqlite { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $test() { super::$test(super::Shared::Sqlite).await })+ }
    };
}

pub(crate) use on_every_store;

on_every_store!(
    a_refresh_in_flight_does_not_undo_a_logout,
    logout_revokes_superseded_access_tokens_of_stored_sessions,
);

/// Defect 1: A refreshes (the provider's answer held after it issued the tokens), the
/// user logs out on B meanwhile; A's save used to write the record back, so the copied
/// cookie worked again with tokens nobody would revoke.
async fn a_refresh_in_flight_does_not_undo_a_logout(kind: Shared) {
    let Some((store, _server)) = open(kind).await else {
        return;
    };
    let mock = rotating_mock().await;
    let (key, clock) = (CookieKey::generate(), Clock::manual_from_now());
    let a = instance(&mock, &key, &clock, |b| b.session_store_arc(store.clone())).await;
    let b = instance(&mock, &key, &clock, |b| b.session_store_arc(store.clone())).await;
    a.login().await;
    let cookie = a.session_cookie().expect("a session");

    advance(&a, 100);
    mock.delay_token_answer_next(1, Duration::from_millis(500));
    let refreshing = {
        let (a_base, mock, cookie) = (a.base.clone(), mock.clone(), cookie.clone());
        tokio::spawn(async move {
            let browser = Browser::new(&a_base, &mock);
            let res = browser
                .get_with(
                    "/tokens",
                    &[("cookie", &format!("{SESSION_COOKIE}={cookie}"))],
                )
                .await;
            res.status()
        })
    };
    refresh_reached(&mock, 1).await;
    let res = logout_with(&b, &cookie).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let status = bounded("A's refresh ends", refreshing).await.expect("task");
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the session ended while A refreshed"
    );

    for (name, app) in [("A", &a), ("B", &b)] {
        let (status, body) = tokens_with(app, &cookie).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
    }
    assert_nothing_live(&mock);
}

/// Defect 2 with a store: login, a refresh (the old access token stays live at a
/// provider like Doorkeeper), logout: every access token the session held is revoked.
async fn logout_revokes_superseded_access_tokens_of_stored_sessions(kind: Shared) {
    let Some((store, _server)) = open(kind).await else {
        return;
    };
    let mock = rotating_mock().await;
    let (key, clock) = (CookieKey::generate(), Clock::manual_from_now());
    let a = instance(&mock, &key, &clock, |b| b.session_store_arc(store.clone())).await;
    superseded_tokens_are_revoked_at_logout(&a).await;
}

/// Defect 2 with the cookie store.
#[tokio::test]
async fn logout_revokes_superseded_access_tokens_of_cookie_sessions() {
    let mock = rotating_mock().await;
    let a = instance(
        &mock,
        &CookieKey::generate(),
        &Clock::manual_from_now(),
        |b| b,
    )
    .await;
    superseded_tokens_are_revoked_at_logout(&a).await;
}

async fn superseded_tokens_are_revoked_at_logout(app: &TestApp) {
    app.login().await;
    let (_, first) = tokens(app).await;
    advance(app, 100);
    let (status, _) = tokens(app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.mock.refresh_hits(), 1, "one refresh");
    let live = app.mock.live_access_tokens();
    assert_eq!(
        live.len(),
        2,
        "the provider keeps the superseded token live"
    );
    assert!(live.iter().any(|t| *t == first["access_token"]));
    let res = app.post("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_nothing_live(&app.mock);
}

/// Defect 8, without a shared store: A refreshes; requests with the pre-refresh cookie
/// then reach B, whose refresh is refused (A spent the token). They used to get 401 and
/// the session ended; now B keeps the still-valid access token, presents the refused
/// refresh token only once, and the browser's newer cookie keeps working on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_sessions_on_two_instances_survive_a_rotating_refresh() {
    let mock = rotating_mock().await;
    let (key, clock) = (CookieKey::generate(), Clock::manual_from_now());
    let a = instance(&mock, &key, &clock, |b| b).await;
    let b = instance(&mock, &key, &clock, |b| b).await;
    a.login().await;
    let before = a.session_cookie().expect("a session");
    advance(&a, 100);
    let (status, on_a) = tokens(&a).await;
    assert_eq!(status, StatusCode::OK);
    let after = a.session_cookie().expect("the refreshed cookie");
    assert_ne!(before, after);
    for i in 0..8 {
        let (status, body) = tokens_with(&b, &before).await;
        assert_eq!(status, StatusCode::OK, "request {i} on B: {body}");
    }
    assert_eq!(
        mock.refresh_hits(),
        2,
        "B presented the spent token once, not eight times"
    );
    for app in [&a, &b] {
        let (status, body) = tokens_with(app, &after).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["access_token"], on_a["access_token"]);
    }
    // Once the old access token has expired, the old cookie is over (the new one is not).
    advance(&a, 30);
    let (status, _) = tokens_with(&b, &before).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        mock.refresh_hits(),
        2,
        "the refused token is never presented again"
    );
}

/// Defect 8, with a shared store (the back-channel denylist's): B adopts A's tokens for
/// the pre-refresh cookie and spends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_sessions_with_a_shared_store_adopt_the_other_instances_refresh() {
    let mock = rotating_mock().await;
    let (key, clock) = (CookieKey::generate(), Clock::manual_from_now());
    let shared: Arc<dyn SessionStore> = Arc::new(MemoryStore::new(1_000));
    let with_shared =
        |b: OAuthBuilder| b.logout_denylist_arc(shared.clone(), Duration::from_secs(2));
    let a = instance(&mock, &key, &clock, with_shared).await;
    let b = instance(&mock, &key, &clock, with_shared).await;
    a.login().await;
    let before = a.session_cookie().expect("a session");
    advance(&a, 100);
    let (status, on_a) = tokens(&a).await;
    assert_eq!(status, StatusCode::OK);
    for i in 0..8 {
        let (status, body) = tokens_with(&b, &before).await;
        assert_eq!(status, StatusCode::OK, "request {i} on B: {body}");
        assert_eq!(body["access_token"], on_a["access_token"], "A's tokens");
    }
    assert_eq!(mock.refresh_hits(), 1, "one refresh across both instances");
}

/// Defect 5 for tower-sessions: the adapter's index records kept every id ever saved
/// (delete left them, find never rewrote). Deleted and expired ids now leave, and an
/// empty index is deleted.
#[cfg(feature = "tower-sessions")]
#[tokio::test]
async fn tower_sessions_indexes_hold_only_live_ids() {
    use axum_oauth_login::store::{SessionId, TowerSessionsStore};
    use tower_sessions_sqlx_store::SqliteStore;
    use tower_sessions_sqlx_store::sqlx::{self, SqlitePool};
    let pool = SqlitePool::connect("sqlite::memory:").await.expect("pool");
    let sqlite = SqliteStore::new(pool.clone());
    sqlite.migrate().await.expect("migrated");
    let store = TowerSessionsStore::new(sqlite);
    let rows = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM tower_sessions")
            .fetch_one(&pool)
            .await
            .expect("count")
    };
    let keys = ["sub:someone".to_owned(), "vault:accounts".to_owned()];
    let ids: Vec<SessionId> = (0..50).map(|_| SessionId::random()).collect();
    for id in &ids {
        store
            .save(id, "sealed", &keys, Duration::from_secs(600))
            .await
            .unwrap();
    }
    assert_eq!(rows().await, 52, "50 records and two indexes");
    for id in &ids {
        store.delete(id).await.unwrap();
    }
    assert_eq!(rows().await, 0, "deleted ids leave no index behind");
    // Expired records leave their index when it is next read; the last live one's
    // delete then removes the index.
    for _ in 0..20 {
        store
            .save(&SessionId::random(), "sealed", &keys, Duration::ZERO)
            .await
            .unwrap();
    }
    let live = SessionId::random();
    store
        .save(&live, "sealed", &keys, Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(store.find("sub:someone").await.unwrap(), vec![live.clone()]);
    assert_eq!(
        store.find("vault:accounts").await.unwrap(),
        vec![live.clone()]
    );
    store.delete(&live).await.unwrap();
    assert_eq!(
        rows().await,
        20,
        "the 20 expired records themselves, no index"
    );
}

/// Defect 5 for Redis: a delete left the id in its lookup sets (only `find` pruned them,
/// and only for the keys it was asked about). Deletes and re-saves with other keys now
/// take the id out; nothing is left once every record is gone.
#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_lookup_sets_hold_only_live_ids() {
    use axum_oauth_login::store::{RedisStore, SessionId};
    let Some(server) = RedisServer::start().await else {
        return;
    };
    let store = RedisStore::open(&server.url()).expect("RedisStore opens");
    let client = ::redis::Client::open(server.url()).expect("client");
    let mut raw = bounded("raw connection", client.get_multiplexed_async_connection())
        .await
        .expect("connects");
    let keys = ["sub:someone".to_owned(), "vault:accounts".to_owned()];
    let ids: Vec<SessionId> = (0..50).map(|_| SessionId::random()).collect();
    let ttl = Duration::from_secs(600);
    for id in &ids {
        store.save(id, "sealed", &keys, ttl).await.unwrap();
    }
    // One moves to another key: it leaves the first.
    store
        .save(&ids[0], "sealed", &["sid:other".to_owned()], ttl)
        .await
        .unwrap();
    assert_eq!(store.find("sub:someone").await.unwrap().len(), 49);
    for id in &ids {
        store.delete(id).await.unwrap();
    }
    let left: i64 = ::redis::cmd("DBSIZE")
        .query_async(&mut raw)
        .await
        .expect("DBSIZE");
    assert_eq!(left, 0, "no record, lookup set or index is left behind");
}

/// Defect 1 for connected accounts: an API call refreshes the connection (the provider's
/// answer held after it issued the tokens) while the account is disconnected; the
/// refresh used to write the connection back, connected again with tokens nobody would
/// revoke.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_in_flight_does_not_undo_a_disconnect() {
    let app = TestApp::spawn_with_mock(rotating_mock().await, |b| {
        b.connections_store(MemoryStore::new(1000))
    })
    .await;
    app.login().await;
    crate::connections::connect(&app, "lib-1").await;
    assert_eq!(crate::connections::accounts(&app).await, ["lib-1"]);

    // The connection's token is due; the browser logs in afresh, so the only refresh is
    // the connection's.
    advance(&app, 100);
    app.login().await;
    let session_tokens = app.mock.live_access_tokens();
    let hits = app.mock.refresh_hits();
    app.mock
        .delay_token_answer_next(1, Duration::from_millis(500));
    let calling = {
        let (base, mock) = (app.base.clone(), app.mock.clone());
        let cookies = format!(
            "{SESSION_COOKIE}={}",
            app.session_cookie().expect("a session")
        );
        tokio::spawn(async move {
            let browser = Browser::new(&base, &mock);
            browser
                .get_with(
                    "/accounts/lib-1/api?path=platform%2Fv1%2Fbusinesses%2Fb-42",
                    &[("cookie", &cookies)],
                )
                .await
                .status()
        })
    };
    refresh_reached(&app.mock, hits + 1).await;
    let res = app.post("/accounts/lib-1/disconnect").await;
    assert_eq!(res.text().await.unwrap(), "true");
    let status = bounded("the API call ends", calling).await.expect("task");
    assert_ne!(status, StatusCode::OK, "the call had no connection to use");

    assert!(
        crate::connections::accounts(&app).await.is_empty(),
        "still disconnected"
    );
    let res = app.post("/accounts/lib-1/disconnect").await;
    assert_eq!(res.text().await.unwrap(), "false", "nothing came back");
    let live = app.mock.live_access_tokens();
    assert!(
        live.iter().all(|t| session_tokens.contains(t)),
        "the connection's refreshed tokens were revoked"
    );
}
