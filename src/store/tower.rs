//! [`TowerSessionsStore`]: any `tower-sessions` store as a session store.

use std::collections::HashMap;
use std::time::Duration;

use cookie::time::OffsetDateTime;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tower_sessions_core::session::{Id, Record};

use super::{LockToken, SessionId, SessionStore, StoreError};

/// Any [`tower_sessions_core::SessionStore`] (feature `tower-sessions`): the SQLx
/// Postgres / SQLite / MySQL stores, MongoDB, moka, ... work unchanged. Records are
/// sealed before they reach it, like every store's.
///
/// **No lock across instances.** tower-sessions stores cannot lock, so a refresh is not
/// coordinated: when the provider refuses a refresh (`invalid_grant`), the session is
/// reloaded once and tokens another instance saved are adopted before the session ends.
/// With rotating refresh tokens and several instances, a provider with reuse detection
/// may still revoke the grant when two instances refresh at once: use a locking store
/// (Redis, or memory on one instance) there.
///
/// ```no_run
/// # async fn run(pool: tower_sessions_sqlx_store::sqlx::SqlitePool) -> Result<(), Box<dyn std::error::Error>> {
/// use axum_oauth_login::{OAuth, Provider, store::TowerSessionsStore};
/// use tower_sessions_sqlx_store::SqliteStore;
/// let sqlite = SqliteStore::new(pool);
/// sqlite.migrate().await?;
/// let oauth = OAuth::builder(Provider::vcita(), "id", "secret")
///     .redirect_uri("https://app.example.com/auth/callback")
///     .cookie_key(axum_oauth_login::CookieKey::from_base64(&std::env::var("OAUTH_COOKIE_KEY")?)?)
///     .session_store(TowerSessionsStore::new(sqlite))
///     .build()?;
/// # let _ = oauth; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TowerSessionsStore<S> {
    inner: S,
}

impl<S> TowerSessionsStore<S> {
    /// Wraps a tower-sessions store.
    pub fn new(inner: S) -> Self {
        TowerSessionsStore { inner }
    }
}

/// The tower-sessions id of a name: 128 bits of its SHA-256. An app's own tower-sessions
/// layer on the same store loads whatever id a visitor's cookie names; the crate's names
/// are random session ids or MACs under the cookie key, so nobody can compute one.
fn id_of(name: &str) -> Id {
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Id(i128::from_le_bytes(bytes))
}

fn session_id(id: &SessionId) -> Id {
    id_of(&format!("session:{}", id.as_str()))
}

fn index_id(key: &str) -> Id {
    id_of(&format!("index:{key}"))
}

fn failed(
    operation: &'static str,
) -> impl Fn(tower_sessions_core::session_store::Error) -> StoreError {
    move |e| StoreError::new(operation, e)
}

fn expiry(ttl: Duration) -> OffsetDateTime {
    OffsetDateTime::now_utc() + ttl
}

impl<S: tower_sessions_core::SessionStore> TowerSessionsStore<S> {
    async fn live(&self, id: Id, operation: &'static str) -> Result<Option<Record>, StoreError> {
        let record = self.inner.load(&id).await.map_err(failed(operation))?;
        Ok(record.filter(|r| r.expiry_date > OffsetDateTime::now_utc()))
    }
}

impl<S: tower_sessions_core::SessionStore> TowerSessionsStore<S> {
    /// The ids filed under `key` (as saved: live or not), and the index's expiry.
    async fn index_of(
        &self,
        key: &str,
    ) -> Result<Option<(Vec<String>, OffsetDateTime)>, StoreError> {
        let Some(index) = self.live(index_id(key), "find").await? else {
            return Ok(None);
        };
        let ids = strings(index.data.get("ids"));
        Ok(Some((ids, index.expiry_date)))
    }

    /// Writes the index of `key` (deleted when empty).
    async fn write_index(
        &self,
        key: &str,
        ids: Vec<String>,
        expiry_date: OffsetDateTime,
        operation: &'static str,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return self
                .inner
                .delete(&index_id(key))
                .await
                .map_err(failed(operation));
        }
        let ids = ids.into_iter().map(Value::String).collect();
        self.inner
            .save(&Record {
                id: index_id(key),
                data: HashMap::from([("ids".to_owned(), Value::Array(ids))]),
                expiry_date,
            })
            .await
            .map_err(failed(operation))
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl<S: tower_sessions_core::SessionStore> SessionStore for TowerSessionsStore<S> {
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        let record = self.live(session_id(id), "load").await?;
        Ok(record.and_then(|r| r.data.get("record")?.as_str().map(str::to_owned)))
    }

    async fn save(
        &self,
        id: &SessionId,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let expiry_date = expiry(ttl);
        // The record names its lookup keys, so that its delete can take it out of them.
        let data = HashMap::from([
            ("record".to_owned(), json!(record)),
            ("lookup".to_owned(), json!(lookup)),
        ]);
        self.inner
            .save(&Record {
                id: session_id(id),
                data,
                expiry_date,
            })
            .await
            .map_err(failed("save"))?;
        // Lookup indexes: read-modify-write, not atomic (this store cannot lock); a lost
        // update only hides a session from back-channel logout until its next save.
        for key in lookup {
            let (mut ids, expires) = self
                .index_of(key)
                .await?
                .unwrap_or((Vec::new(), expiry_date));
            if !ids.iter().any(|v| v == id.as_str()) {
                ids.push(id.as_str().to_owned());
            }
            self.write_index(key, ids, expires.max(expiry_date), "save")
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        // Out of its indexes first: nothing is left behind that names a deleted id.
        if let Some(record) = self.live(session_id(id), "delete").await? {
            for key in strings(record.data.get("lookup")) {
                if let Some((mut ids, expires)) = self.index_of(&key).await? {
                    ids.retain(|v| v != id.as_str());
                    self.write_index(&key, ids, expires, "delete").await?;
                }
            }
        }
        self.inner
            .delete(&session_id(id))
            .await
            .map_err(failed("delete"))
    }

    fn locks(&self) -> bool {
        false
    }

    async fn lock(&self, _: &SessionId, _: Duration) -> Result<Option<LockToken>, StoreError> {
        Ok(Some(LockToken::random()))
    }

    async fn unlock(&self, _: &SessionId, _: &LockToken) -> Result<(), StoreError> {
        Ok(())
    }

    async fn find(&self, key: &str) -> Result<Vec<SessionId>, StoreError> {
        let Some((ids, _)) = self.index_of(key).await? else {
            return Ok(Vec::new());
        };
        let mut live = Vec::with_capacity(ids.len());
        let mut latest = None::<OffsetDateTime>;
        for id in &ids {
            // Live, and still saved with `key`: a save with other keys leaves the id here.
            // (A record of 0.2 names no keys: kept.)
            if let Some(record) = self
                .live(session_id(&SessionId::from_stored(id.as_str())), "find")
                .await?
                .filter(|r| {
                    r.data
                        .get("lookup")
                        .is_none_or(|keys| strings(Some(keys)).iter().any(|k| k == key))
                })
            {
                latest = Some(latest.map_or(record.expiry_date, |l| l.max(record.expiry_date)));
                live.push(id.clone());
            }
        }
        if live.len() != ids.len() {
            // Expired records, and those saved since with other keys, leave the index; its
            // expiry follows the live ones.
            let expires = latest.unwrap_or_else(OffsetDateTime::now_utc);
            self.write_index(key, live.clone(), expires, "find").await?;
        }
        Ok(live.into_iter().map(SessionId::from_stored).collect())
    }
}

#[cfg(test)]
mod tests {
    use tower_sessions_sqlx_store::SqliteStore;
    use tower_sessions_sqlx_store::sqlx::SqlitePool;

    use super::*;

    /// A record saved again with other keys is no longer found under the old ones (and
    /// leaves their index on that read); a record written before records named their keys
    /// is still found where it was filed.
    #[tokio::test]
    async fn find_answers_the_keys_a_record_was_last_saved_with() {
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        let inner = SqliteStore::new(pool);
        inner.migrate().await.unwrap();
        let store = TowerSessionsStore::new(inner.clone());
        let ttl = Duration::from_secs(600);
        let (moved, older) = (SessionId::random(), SessionId::random());
        store
            .save(&moved, "r", &["sub:a".to_owned()], ttl)
            .await
            .unwrap();
        store
            .save(&moved, "r", &["sub:b".to_owned()], ttl)
            .await
            .unwrap();
        // As the adapter wrote records before they named their keys.
        tower_sessions_core::SessionStore::save(
            &inner,
            &Record {
                id: session_id(&older),
                data: HashMap::from([("record".to_owned(), json!("r0"))]),
                expiry_date: expiry(ttl),
            },
        )
        .await
        .unwrap();
        let (mut ids, expires) = store.index_of("sub:a").await.unwrap().expect("index");
        ids.push(older.as_str().to_owned());
        store
            .write_index("sub:a", ids, expires, "test")
            .await
            .unwrap();

        assert_eq!(store.find("sub:a").await.unwrap(), vec![older.clone()]);
        assert_eq!(store.find("sub:b").await.unwrap(), vec![moved]);
        let (left, _) = store.index_of("sub:a").await.unwrap().expect("index");
        assert_eq!(left, vec![older.as_str().to_owned()]);
    }
}
