//! [`MemoryStore`]: sessions in this process's memory, bounded and expiring.

use std::collections::{BTreeMap, HashMap, HashSet};
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
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Entry {
    record: Arc<str>,
    lookup: Vec<String>,
    expires: Instant,
    /// When it was written: with `expires`, its key in [`Inner::expiry`].
    written: u64,
    /// When it was last read or written: its key in [`Inner::recency`].
    used: u64,
}

/// Everything behind one lock: every operation of the store is one step, so a write's
/// check of the record there now (`save_if_unchanged`), the record and the index never
/// disagree.
#[derive(Debug)]
struct Inner {
    capacity: usize,
    records: HashMap<SessionId, Entry>,
    /// The records' ids, least recently used first.
    recency: BTreeMap<u64, SessionId>,
    /// The records' ids, soonest to expire first.
    expiry: BTreeMap<(Instant, u64), SessionId>,
    /// The last use's number.
    uses: u64,
    locks: HashMap<SessionId, (LockToken, Instant)>,
    index: HashMap<String, HashSet<SessionId>>,
}

/// Longer TTLs are kept this long (an `Instant` cannot reach every `Duration`).
const LONGEST_TTL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl Inner {
    /// The record of `id` if it has not expired; an expired one is removed.
    fn live(&mut self, id: &SessionId, now: Instant) -> Option<&mut Entry> {
        if self.records.get(id)?.expires <= now {
            self.remove(id);
            return None;
        }
        self.records.get_mut(id)
    }

    /// The record of `id` if it has not expired, now the most recently used.
    fn used(&mut self, id: &SessionId, now: Instant) -> Option<Arc<str>> {
        self.uses += 1;
        let uses = self.uses;
        let entry = self.live(id, now)?;
        let before = std::mem::replace(&mut entry.used, uses);
        let record = entry.record.clone();
        self.recency.remove(&before);
        self.recency.insert(uses, id.clone());
        Some(record)
    }

    /// Removes `id`'s record, its place in the recency order and its index keys.
    fn remove(&mut self, id: &SessionId) -> Option<Entry> {
        let entry = self.records.remove(id)?;
        self.recency.remove(&entry.used);
        self.expiry.remove(&(entry.expires, entry.written));
        for key in &entry.lookup {
            if let Some(ids) = self.index.get_mut(key) {
                ids.remove(id);
                if ids.is_empty() {
                    self.index.remove(key);
                }
            }
        }
        Some(entry)
    }

    /// Writes `record` under `id` (replacing what was there, keys included). Expired
    /// records go first, then, past the capacity, the least recently used: a live
    /// session is never evicted while an expired one takes its room.
    fn put(&mut self, id: &SessionId, record: &str, lookup: &[String], ttl: Duration) {
        let now = Instant::now();
        self.remove(id);
        while let Some(entry) = self.expiry.first_entry()
            && entry.key().0 <= now
        {
            let expired = entry.remove();
            self.remove(&expired);
        }
        self.uses += 1;
        let expires = now + ttl.min(LONGEST_TTL);
        for key in lookup {
            self.index
                .entry(key.clone())
                .or_default()
                .insert(id.clone());
        }
        self.records.insert(
            id.clone(),
            Entry {
                record: record.into(),
                lookup: lookup.to_vec(),
                expires,
                written: self.uses,
                used: self.uses,
            },
        );
        self.recency.insert(self.uses, id.clone());
        self.expiry.insert((expires, self.uses), id.clone());
        while self.records.len() > self.capacity {
            let Some((_, oldest)) = self.recency.pop_first() else {
                break;
            };
            self.remove(&oldest);
        }
    }
}

impl MemoryStore {
    /// A store that keeps at most `capacity` sessions.
    pub fn new(capacity: u64) -> MemoryStore {
        MemoryStore {
            inner: Arc::new(Mutex::new(Inner {
                capacity: usize::try_from(capacity.max(1)).unwrap_or(usize::MAX),
                records: HashMap::new(),
                recency: BTreeMap::new(),
                expiry: BTreeMap::new(),
                uses: 0,
                locks: HashMap::new(),
                index: HashMap::new(),
            })),
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means a panic elsewhere; every step leaves the maps
        // consistent before it could panic.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait::async_trait]
impl SessionStore for MemoryStore {
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        Ok(self
            .inner()
            .used(id, Instant::now())
            .map(|record| record.to_string()))
    }

    async fn save(
        &self,
        id: &SessionId,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.inner().put(id, record, lookup, ttl);
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
        let mut inner = self.inner();
        let unchanged = inner
            .live(id, Instant::now())
            .is_some_and(|e| *e.record == *expected);
        if unchanged {
            inner.put(id, record, lookup, ttl);
        }
        Ok(unchanged)
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.inner().remove(id);
        Ok(())
    }

    async fn take(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        let mut inner = self.inner();
        if inner.live(id, Instant::now()).is_none() {
            return Ok(None);
        }
        Ok(inner.remove(id).map(|entry| entry.record.to_string()))
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
        inner
            .locks
            .insert(id.clone(), (token.clone(), now + ttl.min(LONGEST_TTL)));
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
        let now = Instant::now();
        let inner = self.inner();
        // Expired records leave the index when next touched; they are not found.
        Ok(inner
            .index
            .get(key)
            .into_iter()
            .flatten()
            .filter(|id| inner.records.get(*id).is_some_and(|e| e.expires > now))
            .cloned()
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
            .save(&id, "r", &keys, Duration::from_millis(300))
            .await
            .unwrap();
        assert_eq!(store.find("sub:a").await.unwrap().len(), 1);
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(store.load(&id).await.unwrap().is_none());
        assert!(store.find("sub:a").await.unwrap().is_empty());
        store
            .save(&id, "r", &keys, Duration::from_secs(60))
            .await
            .unwrap();
        store.delete(&id).await.unwrap();
        assert!(store.find("sub:a").await.unwrap().is_empty());
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
        assert!(store.find("sid:old").await.unwrap().is_empty());
        assert!(!store.inner().index.contains_key("sid:old"));
        assert_eq!(store.find("sid:new").await.unwrap(), vec![id]);
    }

    #[tokio::test]
    async fn the_least_recently_used_session_goes_first() {
        let store = MemoryStore::new(2);
        let ttl = Duration::from_secs(60);
        let (a, b, c) = (
            SessionId::random(),
            SessionId::random(),
            SessionId::random(),
        );
        store
            .save(&a, "a", &["sub:a".to_owned()], ttl)
            .await
            .unwrap();
        store
            .save(&b, "b", &["sub:b".to_owned()], ttl)
            .await
            .unwrap();
        // Reading `a` makes `b` the least recently used.
        assert!(store.load(&a).await.unwrap().is_some());
        store.save(&c, "c", &[], ttl).await.unwrap();
        assert!(store.load(&b).await.unwrap().is_none());
        assert!(store.find("sub:b").await.unwrap().is_empty());
        assert_eq!(store.load(&a).await.unwrap().as_deref(), Some("a"));
        assert_eq!(store.load(&c).await.unwrap().as_deref(), Some("c"));
        assert_eq!(store.inner().recency.len(), 2);
    }

    /// A full store evicts its least recently used live session only once every expired
    /// record has gone (an expired record read more recently is not in the way).
    #[tokio::test]
    async fn an_expired_record_goes_before_a_live_one_is_evicted() {
        let store = MemoryStore::new(2);
        let (idle, brief, new) = (
            SessionId::random(),
            SessionId::random(),
            SessionId::random(),
        );
        let long = Duration::from_secs(60);
        store.save(&idle, "idle", &[], long).await.unwrap();
        store
            .save(&brief, "brief", &[], Duration::from_millis(20))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        store.save(&new, "new", &[], long).await.unwrap();
        assert_eq!(store.load(&idle).await.unwrap().as_deref(), Some("idle"));
        assert_eq!(store.load(&new).await.unwrap().as_deref(), Some("new"));
        assert!(store.inner().expiry.len() == 2 && store.inner().recency.len() == 2);
    }

    #[tokio::test]
    async fn expired_records_leave_with_later_writes() {
        let store = MemoryStore::new(100);
        let short = Duration::from_millis(20);
        let old: Vec<SessionId> = (0..4).map(|_| SessionId::random()).collect();
        for id in &old {
            store
                .save(id, "r", &["sub:x".to_owned()], short)
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
        for _ in 0..2 {
            let id = SessionId::random();
            store
                .save(&id, "r", &[], Duration::from_secs(60))
                .await
                .unwrap();
        }
        let inner = store.inner();
        assert_eq!(inner.records.len(), 2, "never read again, yet gone");
        assert!(!inner.index.contains_key("sub:x"));
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
