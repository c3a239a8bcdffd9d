//! [`MemoryStore`]: sessions in this process's memory, bounded and expiring.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use moka::notification::RemovalCause;
use moka::ops::compute::{CompResult, Op};

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

impl Inner {
    /// Files `id` under each of `keys`.
    fn index(&mut self, id: &SessionId, keys: &[String]) {
        for key in keys {
            self.index
                .entry(key.clone())
                .or_default()
                .insert(id.clone());
        }
    }

    /// Takes `id` out of each of `keys`, and drops keys left empty: the index holds no
    /// more keys and ids than the live records name.
    fn unindex(&mut self, id: &SessionId, keys: &[String]) {
        for key in keys {
            if let Some(ids) = self.index.get_mut(key) {
                ids.remove(id);
                if ids.is_empty() {
                    self.index.remove(key);
                }
            }
        }
    }
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
        let inner: Arc<Mutex<Inner>> = Arc::default();
        let index = Arc::downgrade(&inner);
        MemoryStore {
            records: moka::sync::Cache::builder()
                .max_capacity(capacity.max(1))
                // Least recently used first, as documented: moka's default (TinyLFU) may
                // refuse to admit a new session at all while the store is full.
                .eviction_policy(moka::policy::EvictionPolicy::lru())
                .expire_after(PerEntryTtl)
                // Evicted and expired records leave the index too. A replaced record's
                // keys are re-filed by the write that replaced it.
                .eviction_listener(move |id: Arc<SessionId>, entry: Entry, cause| {
                    if cause != RemovalCause::Replaced
                        && let Some(inner) = index.upgrade()
                    {
                        lock(&inner).unindex(&id, &entry.lookup);
                    }
                })
                .build(),
            inner,
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Writes `record` under `id` if `write` says so given the record there now (one
    /// step per id: moka runs the compute calls of one key one at a time, and every
    /// write of this store is one). Whether it wrote.
    fn write(
        &self,
        id: &SessionId,
        record: &str,
        lookup: &[String],
        ttl: Duration,
        write: impl FnOnce(Option<&Entry>) -> bool,
    ) -> bool {
        let mut replaced: Option<Arc<[String]>> = None;
        let result = self.records.entry(id.clone()).and_compute_with(|current| {
            let current = current.map(|e| e.into_value());
            if !write(current.as_ref()) {
                return Op::Nop;
            }
            replaced = current.map(|e| e.lookup);
            Op::Put(Entry {
                record: record.into(),
                lookup: lookup.into(),
                ttl,
            })
        });
        let written = matches!(
            result,
            CompResult::Inserted(_) | CompResult::ReplacedWith(_)
        );
        if written {
            // Outside moka's call: its eviction listener takes this lock too.
            let mut inner = self.inner();
            if let Some(old) = replaced {
                let gone: Vec<String> = old
                    .iter()
                    .filter(|k| !lookup.contains(k))
                    .cloned()
                    .collect();
                inner.unindex(id, &gone);
            }
            inner.index(id, lookup);
        }
        written
    }

    /// Runs moka's pending evictions now (tests of the index's bound).
    #[cfg(test)]
    fn settle(&self) {
        self.records.run_pending_tasks();
    }
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // A poisoned lock only means a panic elsewhere; the maps are still consistent.
    inner.lock().unwrap_or_else(|e| e.into_inner())
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
        self.write(id, record, lookup, ttl, |_| true);
        Ok(())
    }

    async fn save_if_unchanged(
        &self,
        id: &SessionId,
        expected: &str,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        Ok(self.write(id, record, lookup, ttl, |current| {
            current.is_some_and(|e| *e.record == *expected)
        }))
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        // A compute call, so it is ordered with every write of the same id; the eviction
        // listener takes the id out of the index.
        self.records
            .entry(id.clone())
            .and_compute_with(|current| match current {
                Some(_) => Op::Remove,
                None => Op::Nop,
            });
        Ok(())
    }

    async fn take(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        let result = self
            .records
            .entry(id.clone())
            .and_compute_with(|current| match current {
                Some(_) => Op::Remove,
                None => Op::Nop,
            });
        Ok(match result {
            CompResult::Removed(entry) => Some(entry.into_value().record.to_string()),
            _ => None,
        })
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
        // Expired records may wait for moka's maintenance to leave the index; skip them.
        Ok(candidates
            .into_iter()
            .filter(|id| self.records.contains_key(id))
            .collect())
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
        store.settle();
        assert!(
            store.inner().index.is_empty(),
            "a deleted id leaves no key behind"
        );
    }

    /// Defect 5 of the defects issue: 1,000 saves into a capacity of 10 left 1,001 index
    /// keys and 1,000 ids; evicted and expired records now leave the index.
    #[tokio::test]
    async fn the_index_is_bounded_by_the_live_records() {
        let store = MemoryStore::new(10);
        for i in 0..1_000 {
            let keys = [format!("sub:{i}"), "vault:accounts".to_owned()];
            store
                .save(&SessionId::random(), "r", &keys, Duration::from_secs(60))
                .await
                .unwrap();
        }
        store.settle();
        let (keys, ids) = {
            let inner = store.inner();
            let ids: usize = inner.index.values().map(HashSet::len).sum();
            (inner.index.len(), ids)
        };
        assert!(keys <= 11, "{keys} keys");
        assert!(ids <= 20, "{ids} ids");
        // A record re-saved with other keys leaves its old ones.
        let id = SessionId::random();
        store
            .save(&id, "r", &["sid:old".to_owned()], Duration::from_secs(60))
            .await
            .unwrap();
        store
            .save(&id, "r2", &["sid:new".to_owned()], Duration::from_secs(60))
            .await
            .unwrap();
        store.settle();
        assert!(store.find("sid:old").await.unwrap().is_empty());
        assert!(!store.inner().index.contains_key("sid:old"));
        assert_eq!(store.find("sid:new").await.unwrap(), vec![id]);
    }

    #[tokio::test]
    async fn a_write_after_a_load_never_brings_a_deleted_record_back() {
        let store = MemoryStore::new(10);
        let id = SessionId::random();
        let ttl = Duration::from_secs(60);
        store.save(&id, "v1", &[], ttl).await.unwrap();
        let loaded = store.load(&id).await.unwrap().unwrap();
        assert!(
            store
                .save_if_unchanged(&id, &loaded, "v2", &[], ttl)
                .await
                .unwrap()
        );
        assert!(
            !store
                .save_if_unchanged(&id, &loaded, "v3", &[], ttl)
                .await
                .unwrap(),
            "replaced since it was loaded"
        );
        store.delete(&id).await.unwrap();
        assert!(
            !store
                .save_if_unchanged(&id, "v2", "v4", &[], ttl)
                .await
                .unwrap()
        );
        assert!(
            store.load(&id).await.unwrap().is_none(),
            "deleted stays deleted"
        );
    }
}
