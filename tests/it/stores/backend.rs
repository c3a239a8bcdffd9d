//! The session backends the flow suite runs against (cookie, memory, file, Redis, SQLite),
//! and a test app on one of them.

use std::sync::Arc;

use axum_oauth_login::OAuthBuilder;
use axum_oauth_login::store::{MemoryStore, SessionStore};
use axum_oauth_login_mock::MockProvider;

use crate::harness::*;
use crate::support::redis::RedisServer;
use crate::support::{TempDir, bounded};

/// Where a test app keeps its sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
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
pub(super) struct Backend {
    store: Option<Arc<dyn SessionStore>>,
    /// The Redis server of a Redis backend (killed when the test ends).
    _redis: Option<RedisServer>,
    /// The directory of a file backend (removed when the test ends).
    _dir: Option<TempDir>,
}

impl Backend {
    /// `None` when the backend cannot run on this machine (`redis-server` missing outside
    /// CI; a loud notice was printed): the test returns early.
    pub(super) async fn start(kind: Kind) -> Option<Backend> {
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
    pub(super) fn server_side(&self) -> bool {
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
pub(super) async fn spawn(
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
