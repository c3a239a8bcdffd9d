//! The denylist's tests: what a logout names, and the shared store's sync.

use std::collections::HashSet;
use std::sync::Mutex;

use super::*;
use crate::client::TokenSet;
use crate::oidc::LogoutClaims;
use crate::session::CookieKey;
use crate::session::LoginUser;

fn session(sub: &str, sid: Option<&str>, created_at: u64) -> SessionData {
    let tokens: TokenSet =
        serde_json::from_value(serde_json::json!({"access_token": "a", "token_type": "Bearer"}))
            .unwrap();
    let mut data = SessionData::start(tokens, LoginUser::None, Some(sub.into()), created_at, 3600);
    data.sid = sid.map(str::to_owned);
    data
}

/// The store names of the tests' client under `key`.
fn names(key: &CookieKey) -> crate::session::StoreNames {
    crate::session::CookieCodec::new(key.clone(), false, "client|token-url".into())
        .names()
        .clone()
}

#[tokio::test]
async fn a_logout_names_its_sid_or_the_users_older_sessions() {
    let list = Denylist::new(
        "client|token-url".into(),
        None,
        Duration::from_secs(3600),
        SYNC_EVERY,
    );
    let a1 = session("alice", Some("s1"), 1000);
    let a2 = session("alice", Some("s2"), 1000);
    let a_nosid = session("alice", None, 1000);
    let a_later = session("alice", None, 5000);
    let bob = session("bob", Some("s1-bob"), 1000);
    for s in [&a1, &a2, &a_nosid, &bob] {
        assert!(!list.denies(s));
    }
    // sid + sub: that session, and the user's sessions without a sid from before.
    list.add(Some("s1"), Some("alice"), 2000).await.unwrap();
    assert!(list.denies(&a1));
    assert!(
        !list.denies(&a2),
        "another session of the user at the provider stays"
    );
    assert!(list.denies(&a_nosid));
    assert!(!list.denies(&a_later), "begun after the logout");
    assert!(!list.denies(&bob));
    // sub only: every session of the user begun before it.
    list.add(None, Some("bob"), 2000).await.unwrap();
    assert!(list.denies(&bob));

    let claims = |sid: Option<&str>, sub: Option<&str>| LogoutClaims::for_test(sid, sub, 2000);
    assert!(Denylist::names(&claims(Some("s1"), None), &a1));
    assert!(!Denylist::names(&claims(Some("s1"), None), &a_nosid));
    assert!(Denylist::names(
        &claims(Some("s1"), Some("alice")),
        &a_nosid
    ));
    assert!(!Denylist::names(&claims(Some("s1"), Some("alice")), &a2));
    assert!(Denylist::names(&claims(None, Some("alice")), &a2));
    assert!(!Denylist::names(&claims(None, Some("alice")), &a_later));

    // Another client's list (same store, other context) names nobody here.
    let other = Denylist::new(
        "other|url".into(),
        None,
        Duration::from_secs(3600),
        SYNC_EVERY,
    );
    other.add(Some("s2"), None, 2000).await.unwrap();
    assert!(!list.denies(&a2));
}

/// The app's own logout names one session by its id: the user's other sessions (other
/// browsers) stay, and another instance learns it at its next pull.
#[tokio::test]
async fn a_logout_here_names_that_session_only() {
    let (a, b) = pair(Arc::default(), Duration::from_secs(3600));
    let ended = session("alice", Some("s1"), 1000);
    let same_user = session("alice", Some("s1"), 1000);
    a.add_session(&ended.id, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(a.denies(&ended));
    assert!(!a.denies(&same_user), "another session of the user");
    assert!(!b.denies(&ended), "not pulled yet");
    b.pull().await.unwrap();
    assert!(b.denies(&ended));
    assert!(!b.denies(&same_user));
}

/// Moka's bounded cache could evict a live entry under pressure, and let a logged-out
/// session back in: the local list keeps every entry until it expires, through every
/// sweep, and sweeps only expired ones (on the clock each call is given: no sleeping).
#[test]
fn local_entries_are_never_dropped_before_they_expire() {
    let start = std::time::Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let mut local = Local::default();
    // 5,000 entries live until t = 10 s, written from t = 0 on: the sweeps on the way
    // (at 1,024, 2,048 and 4,096 entries) keep them all.
    for i in 0..5_000u64 {
        local.insert(format!("id:{i}"), i, at(10_000), at(i));
    }
    assert!((0..5_000u64).all(|i| local.iat(&format!("id:{i}"), at(9_999)) == Some(i)));
    // At t = 10 s they are over: invisible at once, swept when the map has doubled.
    assert_eq!(local.iat("id:0", at(10_000)), None);
    for i in 0..3_500u64 {
        local.insert(format!("new:{i}"), i, at(20_000), at(10_000));
    }
    assert_eq!(local.entries.len(), 3_500, "the expired entries were swept");
    assert!((0..3_500u64).all(|i| local.iat(&format!("new:{i}"), at(10_000)) == Some(i)));
}

/// A [`MemoryStore`](crate::store::MemoryStore) that counts what the denylist asks of
/// it, and keeps every id ever saved under each lookup key (what Redis's index sets and
/// the tower-sessions adapter's index records hold until something prunes them).
#[derive(Debug)]
struct Counting {
    inner: crate::store::MemoryStore,
    /// Trait calls (load, save, delete, find, lock, unlock).
    calls: std::sync::atomic::AtomicUsize,
    /// Ids `find` answered: a `RedisStore` sends one `EXISTS` per id it holds, the
    /// tower-sessions adapter one load per id.
    found: std::sync::atomic::AtomicUsize,
    indexed: Mutex<std::collections::HashMap<String, HashSet<String>>>,
}

impl Default for Counting {
    fn default() -> Self {
        Counting {
            inner: crate::store::MemoryStore::new(1_000_000),
            calls: Default::default(),
            found: Default::default(),
            indexed: Mutex::default(),
        }
    }
}

impl Counting {
    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
    /// (trait calls, ids `find` answered) since the last reset.
    fn take(&self) -> (usize, usize) {
        (
            self.calls.swap(0, Ordering::Relaxed),
            self.found.swap(0, Ordering::Relaxed),
        )
    }
    /// The most ids ever indexed under one lookup key.
    fn largest_index(&self) -> usize {
        let indexed = self.indexed.lock().unwrap();
        indexed.values().map(HashSet::len).max().unwrap_or(0)
    }
}

#[async_trait::async_trait]
impl crate::store::SessionStore for Counting {
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        self.count();
        self.inner.load(id).await
    }
    async fn save(
        &self,
        id: &SessionId,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.count();
        {
            let mut indexed = self.indexed.lock().unwrap();
            for key in lookup {
                indexed
                    .entry(key.clone())
                    .or_default()
                    .insert(id.as_str().to_owned());
            }
        }
        self.inner.save(id, record, lookup, ttl).await
    }
    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.count();
        self.inner.delete(id).await
    }
    async fn lock(
        &self,
        id: &SessionId,
        ttl: Duration,
    ) -> Result<Option<crate::store::LockToken>, StoreError> {
        self.count();
        self.inner.lock(id, ttl).await
    }
    async fn unlock(
        &self,
        id: &SessionId,
        token: &crate::store::LockToken,
    ) -> Result<(), StoreError> {
        self.count();
        self.inner.unlock(id, token).await
    }
    async fn find(&self, key: &str) -> Result<Vec<SessionId>, StoreError> {
        self.count();
        let found = self.inner.find(key).await?;
        self.found.fetch_add(found.len(), Ordering::Relaxed);
        Ok(found)
    }
}

/// Two instances' lists of one client over one shared store (`sync_every` unused: the
/// tests pull by hand).
fn pair(store: Arc<Counting>, ttl: Duration) -> (Arc<Denylist>, Arc<Denylist>) {
    let names = names(&CookieKey::generate());
    let list = || {
        let timed = TimedStore::new(store.clone(), Duration::from_secs(5));
        Denylist::new(
            "client|token-url".into(),
            Some((timed, &names)),
            ttl,
            Duration::from_secs(3600),
        )
    };
    (list(), list())
}

/// The log is named by a MAC under the cookie key (issue 21, defect 9: names from public
/// values let a visitor's tower-sessions id reach it); after a rotation, instances on
/// the new key still hear those writing under the previous one.
#[tokio::test]
async fn logouts_written_under_a_previous_cookie_key_reach_rotated_instances() {
    let store: Arc<Counting> = Arc::default();
    let old = CookieKey::generate();
    let rotated = CookieKey::generate().with_previous(old.clone());
    let list = |key: &CookieKey| {
        let timed = TimedStore::new(store.clone(), Duration::from_secs(5));
        let names = names(key);
        Denylist::new(
            "client|token-url".into(),
            Some((timed, &names)),
            Duration::from_secs(3600),
            Duration::from_secs(3600),
        )
    };
    let (before, after) = (list(&old), list(&rotated));
    before.add(None, Some("alice"), 2000).await.unwrap();
    after.pull().await.unwrap();
    assert!(after.denies(&session("alice", None, 1000)));
    after.add(Some("s9"), None, 2000).await.unwrap();
    let again = list(&rotated);
    again.pull().await.unwrap();
    assert!(
        again.denies(&session("alice", None, 1000)),
        "the old key's log"
    );
    assert!(
        again.denies(&session("bob", Some("s9"), 1000)),
        "the new key's"
    );
}

/// Review issue 21, defect 9: the shared entry's id was `denylist-{hash}-{iat}`, the
/// hash without its kind, so a sub-only logout and a sid+sub logout of one user in the
/// same second overwrote each other and the other instances never saw the first.
#[tokio::test]
async fn two_logouts_of_one_user_in_one_second_both_reach_the_other_instances() {
    let (a, b) = pair(Arc::default(), Duration::from_secs(3600));
    let other_sid = session("alice", Some("s2"), 1000);
    let no_sid = session("alice", None, 1000);
    a.add(None, Some("alice"), 2000).await.unwrap();
    a.add(Some("s1"), Some("alice"), 2000).await.unwrap();
    assert!(a.denies(&other_sid) && a.denies(&no_sid), "here");
    b.pull().await.unwrap();
    assert!(
        b.denies(&other_sid),
        "the sub-only logout (every session of the user) reached the other instance"
    );
    assert!(b.denies(&no_sid));
    assert!(b.denies(&session("alice", Some("s1"), 1000)));
}

/// Review issue 21, defect 9: every sync asked the store about every entry (one `EXISTS`
/// per entry on Redis, one SQL load per entry on tower-sessions) for the whole session
/// lifetime. A sync now costs O(what changed): measured with 10,000 entries.
#[tokio::test]
async fn a_sync_costs_what_changed_not_what_the_list_holds() {
    const ENTRIES: usize = 10_000;
    let store: Arc<Counting> = Arc::default();
    let (a, b) = pair(store.clone(), Duration::from_secs(3600));
    for i in 0..ENTRIES {
        a.add(None, Some(&format!("user-{i}")), 2000).await.unwrap();
    }
    let (calls, _) = store.take();
    eprintln!("{ENTRIES} logouts written: {calls} store calls");
    b.pull().await.unwrap();
    let (calls, found_first) = store.take();
    eprintln!("first sync (learns every entry): {calls} store calls, {found_first} ids found");
    assert!(b.denies(&session(&format!("user-{}", ENTRIES - 1), None, 1000)));
    b.pull().await.unwrap();
    let idle = store.take();
    eprintln!(
        "sync, nothing new: {} store calls, {} ids found",
        idle.0, idle.1
    );
    a.add(None, Some("one-more"), 2000).await.unwrap();
    store.take();
    b.pull().await.unwrap();
    let one = store.take();
    eprintln!(
        "sync, one new entry: {} store calls, {} ids found",
        one.0, one.1
    );
    assert!(b.denies(&session("one-more", None, 1000)));
    // Store work per sync, counting each id `find` answers as the store's own per-id
    // work (Redis `EXISTS`, a tower-sessions load).
    assert!(idle.0 + idle.1 <= 4, "an idle sync: {idle:?}");
    assert!(one.0 + one.1 <= 6, "a sync with one change: {one:?}");
}

/// Review issue 21, defect 5: the shared list only grew — each entry joined one lookup
/// key's index, which deletes never leave and the tower-sessions adapter never prunes.
/// 1,000 entries that expired leave O(live) behind.
#[tokio::test]
async fn expired_entries_leave_the_shared_list() {
    let store: Arc<Counting> = Arc::default();
    let (a, b) = pair(store.clone(), Duration::from_millis(40));
    for i in 0..1_000 {
        a.add(None, Some(&format!("user-{i}")), 2000).await.unwrap();
    }
    b.pull().await.unwrap();
    // A 40 ms entry lifetime: sleeping past it is the point.
    tokio::time::sleep(Duration::from_millis(120)).await;
    for i in 0..10 {
        a.add(None, Some(&format!("later-{i}")), 2000)
            .await
            .unwrap();
    }
    store.take();
    b.pull().await.unwrap();
    let (calls, found) = store.take();
    assert!(
        store.largest_index() <= 10,
        "ids ever indexed under one key: {}",
        store.largest_index()
    );
    assert!(
        calls + found <= 30,
        "a sync after expiry: {calls} calls, {found} ids"
    );
    assert!(b.denies(&session("later-9", None, 1000)));
}

/// The same measure on tower-sessions, counting the loads the adapter sends to the
/// engine (each one an SQL query on the SQLx stores).
#[cfg(feature = "tower-sessions")]
mod tower {
    use std::collections::HashMap;
    use std::sync::atomic::AtomicUsize;

    use tower_sessions_core::session::{Id, Record};
    use tower_sessions_core::session_store::Result;

    use super::*;
    use crate::store::TowerSessionsStore;

    /// A tower-sessions engine in a map, counting loads.
    #[derive(Debug, Default)]
    struct Engine {
        records: Mutex<HashMap<Id, Record>>,
        loads: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl tower_sessions_core::SessionStore for Engine {
        async fn save(&self, record: &Record) -> Result<()> {
            self.records
                .lock()
                .unwrap()
                .insert(record.id, record.clone());
            Ok(())
        }
        async fn load(&self, id: &Id) -> Result<Option<Record>> {
            self.loads.fetch_add(1, Ordering::Relaxed);
            Ok(self.records.lock().unwrap().get(id).cloned())
        }
        async fn delete(&self, id: &Id) -> Result<()> {
            self.records.lock().unwrap().remove(id);
            Ok(())
        }
    }

    #[derive(Debug, Clone)]
    struct Shared(Arc<Engine>);

    #[async_trait::async_trait]
    impl tower_sessions_core::SessionStore for Shared {
        async fn save(&self, record: &Record) -> Result<()> {
            self.0.save(record).await
        }
        async fn load(&self, id: &Id) -> Result<Option<Record>> {
            self.0.load(id).await
        }
        async fn delete(&self, id: &Id) -> Result<()> {
            self.0.delete(id).await
        }
    }

    #[tokio::test]
    async fn a_sync_on_tower_sessions_loads_what_changed() {
        const ENTRIES: usize = 10_000;
        let engine = Arc::new(Engine::default());
        let store: Arc<dyn crate::store::SessionStore> =
            Arc::new(TowerSessionsStore::new(Shared(engine.clone())));
        let names = super::names(&crate::session::CookieKey::generate());
        let list = || {
            let timed = TimedStore::new(store.clone(), Duration::from_secs(5));
            Denylist::new(
                "client|token-url".into(),
                Some((timed, &names)),
                Duration::from_secs(3600),
                Duration::from_secs(3600),
            )
        };
        let (a, b) = (list(), list());
        for i in 0..ENTRIES {
            a.add(None, Some(&format!("user-{i}")), 2000).await.unwrap();
        }
        b.pull().await.unwrap();
        engine.loads.store(0, Ordering::Relaxed);
        b.pull().await.unwrap();
        let idle = engine.loads.swap(0, Ordering::Relaxed);
        a.add(None, Some("one-more"), 2000).await.unwrap();
        engine.loads.store(0, Ordering::Relaxed);
        b.pull().await.unwrap();
        let one = engine.loads.swap(0, Ordering::Relaxed);
        eprintln!("tower-sessions, {ENTRIES} entries: idle sync {idle} loads, one change {one}");
        assert!(b.denies(&session("one-more", None, 1000)));
        assert!(
            idle <= 4 && one <= 6,
            "loads per sync: idle {idle}, one change {one}"
        );
    }
}
