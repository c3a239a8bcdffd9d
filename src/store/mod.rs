//! Server-side session stores: the [`SessionStore`] trait and its implementations.
//!
//! The default keeps the session in the browser's encrypted cookie; it needs no store.
//! A server-side store keeps the session on the server and only a sealed, opaque session
//! id (256 random bits) in the cookie, so logout ends a session everywhere at once, large
//! token sets fit, and several instances share sessions and coordinate refreshes.
//!
//! Records reach the store already **sealed** (AES-256-GCM with the cookie key, bound to
//! the session id): a dump or backup of the store holds no usable token.
//!
//! | store | feature | locks refresh across instances | a write after a load never undoes a delete |
//! |---|---|---|---|
//! | [`MemoryStore`] | — | yes, within one process | yes (atomic compare-and-set) |
//! | `FileStore` | `file-store` | yes, within its one process (one JSON file, mode `0600`; one process at a time) | yes (within its process) |
//! | `RedisStore` | `redis` | yes (`SET NX PX`, compare-and-delete) | yes (a compare-and-set script) |
//! | `TowerSessionsStore` | `tower-sessions` | no: rotating refresh tokens across instances need a locking store | narrowed, not closed: no compare-and-set in tower-sessions |

#[cfg(feature = "file-store")]
mod file;
mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "tower-sessions")]
mod tower;

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[cfg(feature = "file-store")]
pub use self::file::FileStore;
pub use self::memory::MemoryStore;
#[cfg(feature = "redis")]
pub use self::redis::RedisStore;
#[cfg(feature = "tower-sessions")]
pub use self::tower::TowerSessionsStore;

/// A server-side session's id: 256 random bits, base64url. It is a bearer credential
/// (whoever has it has the session), so `Debug` does not print it; the crate only ever
/// sends it to the browser sealed.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SessionId(String);

impl SessionId {
    /// A new random id.
    pub fn random() -> SessionId {
        let bytes: [u8; 32] = crate::secret::random_bytes();
        SessionId(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The id as text, for a store's key.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An id read back from a store (as written by [`as_str`](Self::as_str)).
    pub fn from_stored(text: impl Into<String>) -> SessionId {
        SessionId(text.into())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId([redacted])")
    }
}

/// Proof of holding a session's refresh lock; released with [`SessionStore::unlock`].
#[derive(Clone, PartialEq, Eq)]
pub struct LockToken(String);

impl LockToken {
    /// A new random token (each holder gets its own, so only the holder can release).
    pub fn random() -> LockToken {
        let bytes: [u8; 16] = crate::secret::random_bytes();
        LockToken(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The token as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LockToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LockToken(..)")
    }
}

/// A store could not do what was asked: unreachable, timed out, or answered nonsense.
/// Requests that need the session answer `503`; the session is not ended for it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("session store: {operation} failed: {reason}")]
pub struct StoreError {
    operation: &'static str,
    reason: String,
}

impl StoreError {
    /// A failure of `operation` (`load`, `save`, ...) for `reason` (never a record or id).
    pub fn new(operation: &'static str, reason: impl fmt::Display) -> StoreError {
        StoreError {
            operation,
            reason: reason.to_string(),
        }
    }
}

/// Where server-side sessions live. Implement it for another engine, or use
/// `TowerSessionsStore` (feature `tower-sessions`) to reuse any
/// `tower-sessions` store.
///
/// The crate calls every method with its own timeout around it. Records are opaque,
/// sealed strings; lookup keys (the provider's user and session ids, for back-channel
/// logout) and the ids of records that are not sessions (connected accounts) are MACs
/// under a key derived from the cookie key: nobody without the key can compute them,
/// even from public values — which matters where visitors pick ids, as in an app's own
/// `tower-sessions` layer sharing the store.
///
/// ```
/// use std::time::Duration;
/// use axum_oauth_login::store::{MemoryStore, SessionId, SessionStore};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let store = MemoryStore::new(10_000);
/// let id = SessionId::random();
/// store.save(&id, "sealed", &["sub:abc".into()], Duration::from_secs(60)).await.unwrap();
/// assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("sealed"));
/// assert_eq!(store.find("sub:abc").await.unwrap(), vec![id.clone()]);
/// let lock = store.lock(&id, Duration::from_secs(30)).await.unwrap().expect("free");
/// assert!(store.lock(&id, Duration::from_secs(30)).await.unwrap().is_none(), "held");
/// store.unlock(&id, &lock).await.unwrap();
/// store.delete(&id).await.unwrap();
/// assert!(store.load(&id).await.unwrap().is_none());
/// # }
/// ```
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug + 'static {
    /// The record saved under `id`, if it has not expired or been deleted.
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError>;

    /// Saves `record` under `id` for `ttl`, findable under each of `lookup`.
    async fn save(
        &self,
        id: &SessionId,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// Saves `record` under `id` only if the record there is still `expected`, the
    /// sealed record as [`load`](Self::load) returned it: `Ok(true)` when saved,
    /// `Ok(false)` when the record was deleted or replaced since. The crate writes
    /// through this whenever the write follows a load — a refresh, an idle renewal, a
    /// re-seal under a new key — so that such a write never brings back a session that
    /// was logged out (or an account that was disconnected) on another request or
    /// instance, nor overwrites newer tokens.
    ///
    /// The default loads, compares and saves: it is **not atomic**, so a delete that
    /// lands between its load and its save is still undone. Stores that can compare and
    /// set in one step (Redis with a script, a SQL `UPDATE ... WHERE record = ?`, a
    /// mutex) override it; `MemoryStore`, `RedisStore` and `FileStore` do,
    /// `TowerSessionsStore` cannot (tower-sessions has no compare-and-set).
    async fn save_if_unchanged(
        &self,
        id: &SessionId,
        expected: &str,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        if self.load(id).await?.as_deref() != Some(expected) {
            return Ok(false);
        }
        self.save(id, record, lookup, ttl).await?;
        Ok(true)
    }

    /// Deletes the record of `id` (no error when there is none).
    async fn delete(&self, id: &SessionId) -> Result<(), StoreError>;

    /// Deletes the record of `id` and returns it as it was when deleted. Logout uses it
    /// to revoke exactly the tokens it removed: a refresh on another instance that saved
    /// new tokens just before is then revoked by the logout, and one that saves just
    /// after finds the record gone ([`save_if_unchanged`](Self::save_if_unchanged)).
    ///
    /// The default loads, then deletes: not atomic (a save between the two is deleted
    /// unseen). `MemoryStore`, `RedisStore` (`GETDEL`) and `FileStore` take in one step.
    async fn take(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        let record = self.load(id).await?;
        self.delete(id).await?;
        Ok(record)
    }

    /// Whether [`lock`](Self::lock) excludes other holders, in other processes too.
    /// Without it, the crate falls back to reloading the session once when a refresh is
    /// refused, which a provider with refresh-token reuse detection may punish.
    fn locks(&self) -> bool {
        true
    }

    /// Takes the refresh lock of `id` for at most `ttl`: `Some` when taken, `None` when
    /// another holder has it.
    async fn lock(&self, id: &SessionId, ttl: Duration) -> Result<Option<LockToken>, StoreError>;

    /// Releases the lock if `token` still holds it (never another holder's lock).
    async fn unlock(&self, id: &SessionId, token: &LockToken) -> Result<(), StoreError>;

    /// The sessions saved with `key` among their lookup keys.
    async fn find(&self, key: &str) -> Result<Vec<SessionId>, StoreError>;
}
