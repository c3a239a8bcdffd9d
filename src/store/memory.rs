//! [`MemoryStore`]: sessions in this process's memory, bounded and expiring.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{LockToken, SessionId, SessionStore, StoreError};

/// Sessions in memory: for one instance and for tests. Bounded (least recently used
/// sessions go first past `capacity`) and expiring (each record after its TTL). Its lock
/// excludes other requests of this process only; several instances need a shared store
/// such as `RedisStore` (feature `redis`).
///
/// ```
/// use axum_oauth_login::{OAuth, Provider, store::MemoryStore};
/// let oauth = OAuth::builder(Provider::vcita(), "id", "secret")
///     .redirect_uri("http://127.0.0.1:3000/auth/callback")
///     .session_store(MemoryStore::new(100_000))
///     .build()
///     .unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct MemoryStore {
    records: moka::sync::Cache<SessionId, Entry>,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Clone, Debug)]
struct Entry {
    record: Arc<str>,
    lookup: Arc<[String]>,
    ttl: Duration,
}

#[derive(Debug, Default)]
struct Inner {
    locks: HashMap<SessionId, (LockToken, Instant)>,
    index: HashMap<String, HashSet<SessionId>>,
}

struct PerEntryTtl;

impl moka::Expiry<SessionId, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _: &SessionId, entry: &Entry, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }
    fn expire_after_update(
        &self,
        _: &SessionId,
        entry: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

impl MemoryStore {
    /// A store that keeps at most `capacity` sessions.
    pub fn new(capacity: u64) -> MemoryStore {
        MemoryStore {
            records: moka::sync::Cache::builder()
                .max_capacity(capacity.max(1))
                .expire_after(PerEntryTtl)
                .build(),
            inner: Arc::default(),
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait::async_trait]
impl SessionStore for MemoryStore {
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        Ok(self.records.get(id).map(|e| e.record.to_string()))
    }

    async fn save(
        &self,
        id: &SessionId,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        {
            let mut inner = self.inner();
            for key in lookup {
                inner
                    .index
                    .entry(key.clone())
                    .or_default()
                    .insert(id.clone());
            }
        }
        self.records.insert(
            id.clone(),
            Entry {
                record: record.into(),
                lookup: lookup.into(),
                ttl,
            },
        );
        Ok(())
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        if let Some(entry) = self.records.remove(id) {
            let mut inner = self.inner();
            for key in entry.lookup.iter() {
                if let Some(ids) = inner.index.get_mut(key) {
                    ids.remove(id);
                    if ids.is_empty() {
                        inner.index.remove(key);
                    }
                }
            }
        }
        Ok(())
    }

    async fn lock(&self, id: &SessionId, ttl: Duration) -> Result<Option<LockToken>, StoreError> {
        let now = Instant::now();
        let mut inner = self.inner();
        if let Some((_, until)) = inner.locks.get(id)
            && *until > now
        {
            return Ok(None);
        }
        inner.locks.retain(|_, (_, until)| *until > now);
        let token = LockToken::random();
        inner.locks.insert(id.clone(), (token.clone(), now + ttl));
        Ok(Some(token))
    }

    async fn unlock(&self, id: &SessionId, token: &LockToken) -> Result<(), StoreError> {
        let mut inner = self.inner();
        if inner.locks.get(id).is_some_and(|(held, _)| held == token) {
            inner.locks.remove(id);
        }
        Ok(())
    }

    async fn find(&self, key: &str) -> Result<Vec<SessionId>, StoreError> {
        let candidates: Vec<SessionId> = self
            .inner()
            .index
            .get(key)
            .map(|ids| ids.iter().cloned().collect())
            .unwrap_or_default();
        // Records expire by themselves; their index entries go when found stale.
        let (live, stale): (Vec<_>, Vec<_>) = candidates
            .into_iter()
            .partition(|id| self.records.contains_key(id));
        if !stale.is_empty() {
            let mut inner = self.inner();
            if let Some(ids) = inner.index.get_mut(key) {
                for id in &stale {
                    ids.remove(id);
                }
            }
        }
        Ok(live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn locks_belong_to_their_holder() {
        let store = MemoryStore::new(10);
        let id = SessionId::random();
        let a = store
            .lock(&id, Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .lock(&id, Duration::from_secs(30))
                .await
                .unwrap()
                .is_none()
        );
        // Someone else's token does not release it.
        store.unlock(&id, &LockToken::random()).await.unwrap();
        assert!(
            store
                .lock(&id, Duration::from_secs(30))
                .await
                .unwrap()
                .is_none()
        );
        store.unlock(&id, &a).await.unwrap();
        assert!(
            store
                .lock(&id, Duration::from_secs(30))
                .await
                .unwrap()
                .is_some()
        );
        // An expired lock is free again.
        let other = SessionId::random();
        store.lock(&other, Duration::ZERO).await.unwrap().unwrap();
        assert!(
            store
                .lock(&other, Duration::from_secs(1))
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn records_expire_and_deletes_leave_the_index() {
        let store = MemoryStore::new(10);
        let id = SessionId::random();
        let keys = ["sub:a".to_owned()];
        store
            .save(&id, "r", &keys, Duration::from_millis(30))
            .await
            .unwrap();
        assert_eq!(store.find("sub:a").await.unwrap().len(), 1);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(store.load(&id).await.unwrap().is_none());
        assert!(store.find("sub:a").await.unwrap().is_empty());
        store
            .save(&id, "r", &keys, Duration::from_secs(60))
            .await
            .unwrap();
        store.delete(&id).await.unwrap();
        assert!(store.find("sub:a").await.unwrap().is_empty());
    }
}
