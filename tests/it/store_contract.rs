//! The `SessionStore` contract, called directly on every server-side store — `MemoryStore`,
//! `FileStore` (a file in a directory of the test's own), `RedisStore` on a real
//! `redis-server` and SQLite through `TowerSessionsStore` — as tower-sessions' own store
//! tests do: save / load / delete, `save_if_unchanged`'s compare-and-set, `take`, lookup
//! keys, expiry, the refresh lock; and, for the stores that claim them, compare-and-set
//! and `take` that are atomic against each other and a lock that admits one holder.
//! (`TowerSessionsStore` claims neither: tower-sessions has no compare-and-set and no lock;
//! README "Know the limits".)
//!
//! The flows through an app on each store are `stores`, `delete_wins` and `interleavings`.
//!
//! ```text
//! cargo test --all-features --test it store_contract
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum_oauth_login::store::{LockToken, SessionId, SessionStore};

use crate::delete_wins::{Shared, on_every_store, open};
use crate::support::bounded;

const HOUR: Duration = Duration::from_secs(3600);

on_every_store!(
    saves_loads_overwrites_and_deletes,
    save_if_unchanged_writes_only_over_the_record_loaded,
    take_deletes_and_returns_the_record,
    lookup_keys_find_the_live_records,
    records_expire_with_their_ttl,
    locks_exclude_and_belong_to_their_holder,
    one_compare_and_set_of_many_wins,
    a_take_and_a_write_after_a_load_never_both_stick,
    one_lock_of_many_is_taken,
);

/// Opens the store, or returns from the test where it cannot run here (Redis missing
/// outside CI: a loud notice was printed).
macro_rules! store {
    ($kind:expr) => {
        match open($kind).await {
            Some(opened) => opened,
            None => return,
        }
    };
}

/// Whether `save_if_unchanged` and `take` are single steps in this store (a delete never
/// lands between a compare and its set).
fn atomic(kind: Shared) -> bool {
    #[cfg(feature = "tower-sessions")]
    if kind == Shared::Sqlite {
        return false;
    }
    let _ = kind;
    true
}

fn keys(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

/// The ids found under `key`, sorted.
async fn found(store: &dyn SessionStore, key: &str) -> BTreeSet<String> {
    let ids = bounded("find", store.find(key)).await.expect("find");
    ids.iter().map(|id| id.as_str().to_owned()).collect()
}

fn set(ids: &[&SessionId]) -> BTreeSet<String> {
    ids.iter().map(|id| id.as_str().to_owned()).collect()
}

async fn load(store: &dyn SessionStore, id: &SessionId) -> Option<String> {
    bounded("load", store.load(id)).await.expect("load")
}

async fn saves_loads_overwrites_and_deletes(kind: Shared) {
    let (store, _keep) = store!(kind);
    let id = SessionId::random();
    assert_eq!(load(&*store, &id).await, None);
    store.save(&id, "sealed-1", &[], HOUR).await.unwrap();
    assert_eq!(load(&*store, &id).await.as_deref(), Some("sealed-1"));
    store.save(&id, "sealed-2", &[], HOUR).await.unwrap();
    assert_eq!(load(&*store, &id).await.as_deref(), Some("sealed-2"));
    // Records are apart: another id is untouched by either.
    let other = SessionId::random();
    store.save(&other, "other", &[], HOUR).await.unwrap();
    store.delete(&id).await.unwrap();
    assert_eq!(load(&*store, &id).await, None);
    assert_eq!(load(&*store, &other).await.as_deref(), Some("other"));
    // Deleting what is not there is no error.
    store.delete(&id).await.unwrap();
    store.delete(&SessionId::random()).await.unwrap();
    // A record of 20 KB (a large token set, sealed) comes back whole.
    let big: String = (0..20_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    store.save(&id, &big, &[], HOUR).await.unwrap();
    assert_eq!(load(&*store, &id).await.as_deref(), Some(big.as_str()));
}

async fn save_if_unchanged_writes_only_over_the_record_loaded(kind: Shared) {
    let (store, _keep) = store!(kind);
    let id = SessionId::random();
    store
        .save(&id, "v1", &keys(&["sub:old"]), HOUR)
        .await
        .unwrap();
    let loaded = load(&*store, &id).await.expect("saved");
    assert!(
        store
            .save_if_unchanged(&id, &loaded, "v2", &keys(&["sub:new"]), HOUR)
            .await
            .unwrap(),
        "unchanged since loaded: written"
    );
    assert_eq!(load(&*store, &id).await.as_deref(), Some("v2"));
    // The write takes the new lookup keys, as a save does.
    assert!(found(&*store, "sub:old").await.is_empty());
    assert_eq!(found(&*store, "sub:new").await, set(&[&id]));

    assert!(
        !store
            .save_if_unchanged(&id, &loaded, "v3", &[], HOUR)
            .await
            .unwrap(),
        "replaced since loaded: not written"
    );
    assert_eq!(load(&*store, &id).await.as_deref(), Some("v2"));

    store.delete(&id).await.unwrap();
    assert!(
        !store
            .save_if_unchanged(&id, "v2", "v4", &keys(&["sub:new"]), HOUR)
            .await
            .unwrap(),
        "deleted since loaded: not written"
    );
    assert_eq!(load(&*store, &id).await, None, "deleted stays deleted");
    assert!(found(&*store, "sub:new").await.is_empty());
    // Never there at all: nothing is created.
    let never = SessionId::random();
    assert!(
        !store
            .save_if_unchanged(&never, "", "v1", &[], HOUR)
            .await
            .unwrap()
    );
    assert_eq!(load(&*store, &never).await, None);
}

async fn take_deletes_and_returns_the_record(kind: Shared) {
    let (store, _keep) = store!(kind);
    let id = SessionId::random();
    store
        .save(&id, "sealed", &keys(&["sid:a"]), HOUR)
        .await
        .unwrap();
    store
        .save(&id, "newer", &keys(&["sid:a"]), HOUR)
        .await
        .unwrap();
    assert_eq!(
        store.take(&id).await.unwrap().as_deref(),
        Some("newer"),
        "the record as it was when taken"
    );
    assert_eq!(load(&*store, &id).await, None);
    assert!(found(&*store, "sid:a").await.is_empty());
    assert_eq!(store.take(&id).await.unwrap(), None, "taken once");
    assert_eq!(store.take(&SessionId::random()).await.unwrap(), None);
}

async fn lookup_keys_find_the_live_records(kind: Shared) {
    let (store, _keep) = store!(kind);
    let (a, b, c) = (
        SessionId::random(),
        SessionId::random(),
        SessionId::random(),
    );
    store
        .save(&a, "a", &keys(&["sub:x", "vault:accounts"]), HOUR)
        .await
        .unwrap();
    store.save(&b, "b", &keys(&["sub:x"]), HOUR).await.unwrap();
    store.save(&c, "c", &keys(&["sub:y"]), HOUR).await.unwrap();
    assert_eq!(found(&*store, "sub:x").await, set(&[&a, &b]));
    assert_eq!(found(&*store, "vault:accounts").await, set(&[&a]));
    assert_eq!(found(&*store, "sub:y").await, set(&[&c]));
    assert!(found(&*store, "sub:z").await.is_empty());
    // Saved again with other keys: found under those only.
    store.save(&a, "a", &keys(&["sub:y"]), HOUR).await.unwrap();
    assert!(found(&*store, "vault:accounts").await.is_empty());
    assert_eq!(found(&*store, "sub:x").await, set(&[&b]));
    assert_eq!(found(&*store, "sub:y").await, set(&[&a, &c]));
    // Saved with none: found under none.
    store.save(&c, "c", &[], HOUR).await.unwrap();
    assert_eq!(found(&*store, "sub:y").await, set(&[&a]));
    // Deleted or taken: found no more.
    store.delete(&b).await.unwrap();
    assert!(found(&*store, "sub:x").await.is_empty());
    store.take(&a).await.unwrap();
    assert!(found(&*store, "sub:y").await.is_empty());
}

/// Every store may round a TTL (`FileStore` keeps whole seconds, rounded down, so never
/// later): a record is there right after its save and gone once its TTL has passed.
async fn records_expire_with_their_ttl(kind: Shared) {
    let (store, _keep) = store!(kind);
    let ttl = Duration::from_secs(2);
    let (short, long) = (SessionId::random(), SessionId::random());
    let lookup = keys(&["sub:e"]);
    store.save(&short, "short", &lookup, ttl).await.unwrap();
    store.save(&long, "long", &lookup, HOUR).await.unwrap();
    assert_eq!(load(&*store, &short).await.as_deref(), Some("short"));
    assert_eq!(found(&*store, "sub:e").await, set(&[&short, &long]));

    tokio::time::sleep(ttl + Duration::from_millis(500)).await;
    assert_eq!(load(&*store, &short).await, None, "expired");
    assert_eq!(found(&*store, "sub:e").await, set(&[&long]));
    assert!(
        !store
            .save_if_unchanged(&short, "short", "back", &lookup, HOUR)
            .await
            .unwrap(),
        "an expired record is not written over"
    );
    assert_eq!(load(&*store, &short).await, None);
    assert_eq!(store.take(&short).await.unwrap(), None, "nothing to take");
    assert_eq!(load(&*store, &long).await.as_deref(), Some("long"));
}

async fn locks_exclude_and_belong_to_their_holder(kind: Shared) {
    let (store, _keep) = store!(kind);
    let id = SessionId::random();
    let held = store.lock(&id, HOUR).await.unwrap().expect("free");
    if !store.locks() {
        // A store that cannot lock says so; the crate coordinates without it. Its
        // tokens must still be accepted back.
        store.unlock(&id, &held).await.unwrap();
        return;
    }
    assert!(store.lock(&id, HOUR).await.unwrap().is_none(), "held");
    // Another id's lock is another lock.
    let other = SessionId::random();
    assert!(store.lock(&other, HOUR).await.unwrap().is_some());
    // Someone else's token does not release it.
    store.unlock(&id, &LockToken::random()).await.unwrap();
    assert!(store.lock(&id, HOUR).await.unwrap().is_none(), "still held");
    store.unlock(&id, &held).await.unwrap();
    let again = store.lock(&id, HOUR).await.unwrap().expect("released");
    // A released holder's token does not release the next holder's lock.
    store.unlock(&id, &held).await.unwrap();
    assert!(store.lock(&id, HOUR).await.unwrap().is_none());
    store.unlock(&id, &again).await.unwrap();
    // A lock ends with its TTL (a holder that died).
    let lapsing = SessionId::random();
    store
        .lock(&lapsing, Duration::from_millis(50))
        .await
        .unwrap()
        .expect("free");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        store.lock(&lapsing, HOUR).await.unwrap().is_some(),
        "lapsed"
    );
    // Locks and records are apart: a lock is no record, a delete no unlock.
    assert_eq!(load(&*store, &lapsing).await, None);
    store.delete(&lapsing).await.unwrap();
    assert!(store.lock(&lapsing, HOUR).await.unwrap().is_none());
}

/// Sixteen writes after one load, at once: one wins, and its record is what is left.
async fn one_compare_and_set_of_many_wins(kind: Shared) {
    if !atomic(kind) {
        return;
    }
    let (store, _keep) = store!(kind);
    let id = SessionId::random();
    store.save(&id, "loaded", &[], HOUR).await.unwrap();
    let writes: Vec<_> = (0..16)
        .map(|i| {
            let (store, id) = (Arc::clone(&store), id.clone());
            tokio::spawn(async move {
                let record = format!("writer-{i}");
                let won = store
                    .save_if_unchanged(&id, "loaded", &record, &[], HOUR)
                    .await
                    .unwrap();
                won.then_some(record)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for write in writes {
        winners.extend(bounded("a write", write).await.expect("task"));
    }
    assert_eq!(winners.len(), 1, "one winner: {winners:?}");
    assert_eq!(load(&*store, &id).await, winners.pop());
}

/// A logout's `take` and a refresh's write after a load, at once, many times: whichever
/// comes first, the record is gone afterwards, and `take` returned what was there last.
async fn a_take_and_a_write_after_a_load_never_both_stick(kind: Shared) {
    if !atomic(kind) {
        return;
    }
    let (store, _keep) = store!(kind);
    for round in 0..20 {
        let id = SessionId::random();
        store
            .save(&id, "loaded", &keys(&["sub:r"]), HOUR)
            .await
            .unwrap();
        let write = {
            let (store, id) = (Arc::clone(&store), id.clone());
            tokio::spawn(async move {
                store
                    .save_if_unchanged(&id, "loaded", "refreshed", &keys(&["sub:r"]), HOUR)
                    .await
                    .unwrap()
            })
        };
        let take = {
            let (store, id) = (Arc::clone(&store), id.clone());
            tokio::spawn(async move { store.take(&id).await.unwrap() })
        };
        let written = bounded("the write", write).await.expect("task");
        let taken = bounded("the take", take).await.expect("task");
        let expected = if written { "refreshed" } else { "loaded" };
        assert_eq!(taken.as_deref(), Some(expected), "round {round}");
        assert_eq!(load(&*store, &id).await, None, "round {round}: came back");
        assert!(found(&*store, "sub:r").await.is_empty(), "round {round}");
    }
}

/// Sixteen requests for one session's lock at once: one holds it.
async fn one_lock_of_many_is_taken(kind: Shared) {
    let (store, _keep) = store!(kind);
    if !store.locks() {
        return;
    }
    let id = SessionId::random();
    let takers: Vec<_> = (0..16)
        .map(|_| {
            let (store, id) = (Arc::clone(&store), id.clone());
            tokio::spawn(async move { store.lock(&id, HOUR).await.unwrap() })
        })
        .collect();
    let mut holders = 0;
    for taker in takers {
        holders += usize::from(bounded("a lock", taker).await.expect("task").is_some());
    }
    assert_eq!(holders, 1);
}
