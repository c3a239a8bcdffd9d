//! The denylist's shared store: an append-only change log per instance, so that a sync
//! reads what changed since the last one rather than every entry.
//!
//! Each instance writes only its own log (a random writer id, new per process), so
//! appends need no lock and no compare-and-set, and work on every store, tower-sessions
//! included. Records, all under the client context's hash `denylist:{hash}`:
//!
//! * `{prefix}:{writer}:{n}`: the writer's `n`-th change (the entries of one logout),
//!   kept until those entries would expire;
//! * `{prefix}:{writer}`: the writer's head, `{first, next}`: changes `first..next` may
//!   still be live. Saved under the lookup key `{prefix}:writers`, so readers find the
//!   writers; it lives a session lifetime past the writer's last change.
//!
//! A reader remembers, per writer, the next change it has not read. A sync is one `find`
//! (the writers), one load per writer's head, and one load per new change: O(instances +
//! changes), where the list it replaces asked the store about every entry every time.
//! Nothing grows: changes and heads expire, and the lookup key holds one id per writer
//! (per process that appended within a session lifetime).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use super::super::{TimedStore, lookup_key};
use crate::store::{SessionId, StoreError};

/// At most this many changes of one writer are read per sync (a bogus head cannot make
/// a sync endless); the rest follow at the next one.
const MAX_READS_PER_SYNC: u64 = 10_000;

/// One denylist entry: its lookup key (kind and hashed value) and the logout's `iat`.
#[derive(Serialize, Deserialize)]
pub(super) struct Entry {
    pub(super) key: String,
    pub(super) iat: u64,
}

/// A writer's head: changes `first..next` may still be live.
#[derive(Serialize, Deserialize)]
struct Head {
    first: u64,
    next: u64,
}

/// This instance's log: what it appended, still live.
#[derive(Default)]
struct Appender {
    next: u64,
    /// Changes by number, with when they expire: the front bounds `first`. A change
    /// behind a longer-lived one stays counted until that one expires, so `first` is
    /// conservative, never past a live change.
    live: VecDeque<(u64, Instant)>,
}

/// One client's denylist log in a shared store.
pub(super) struct SharedLog {
    store: TimedStore,
    /// `denylist:{hash of the client context}`.
    prefix: String,
    writer: String,
    /// The session lifetime: no change outlives it, and heads live that long.
    ttl: Duration,
    /// Held across an append's two writes, so a head never names a change not written.
    appender: tokio::sync::Mutex<Appender>,
    /// Per writer, the next change this instance has not read yet.
    read: tokio::sync::Mutex<HashMap<String, u64>>,
}

impl SharedLog {
    pub(super) fn new(store: TimedStore, context: &str, ttl: Duration) -> SharedLog {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        SharedLog {
            store,
            prefix: lookup_key("denylist", context),
            writer: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            ttl,
            appender: tokio::sync::Mutex::default(),
            read: tokio::sync::Mutex::default(),
        }
    }

    fn writers_key(&self) -> String {
        format!("{}:writers", self.prefix)
    }

    fn head(&self, writer: &str) -> SessionId {
        SessionId::from_stored(format!("{}:{writer}", self.prefix))
    }

    fn change(&self, writer: &str, n: u64) -> SessionId {
        SessionId::from_stored(format!("{}:{writer}:{n}", self.prefix))
    }

    /// Appends one change (the entries of one logout), live for `ttl` (at most the
    /// session lifetime).
    pub(super) async fn append(&self, entries: &[Entry], ttl: Duration) -> Result<(), StoreError> {
        let record = serde_json::to_string(entries).map_err(|e| StoreError::new("save", e))?;
        let ttl = ttl.min(self.ttl).max(Duration::from_millis(1));
        let mut log = self.appender.lock().await;
        let n = log.next;
        self.store
            .save(&self.change(&self.writer, n), &record, &[], ttl)
            .await?;
        // Written: the next head names it, even if this one fails to be saved.
        log.next += 1;
        let now = Instant::now();
        log.live.push_back((n, now + ttl));
        while log.live.front().is_some_and(|(_, until)| *until <= now) {
            log.live.pop_front();
        }
        let head = Head {
            first: log.live.front().map_or(log.next, |(first, _)| *first),
            next: log.next,
        };
        let head = serde_json::to_string(&head).map_err(|e| StoreError::new("save", e))?;
        self.store
            .save(
                &self.head(&self.writer),
                &head,
                &[self.writers_key()],
                self.ttl,
            )
            .await
    }

    /// Reads the other writers' changes not read yet, handing their entries to `apply`.
    pub(super) async fn pull(&self, mut apply: impl FnMut(Entry)) -> Result<(), StoreError> {
        let mut read = self.read.lock().await;
        let heads = self.store.find(&self.writers_key()).await?;
        let own = format!("{}:", self.prefix);
        let writers: HashSet<&str> = heads
            .iter()
            .filter_map(|id| id.as_str().strip_prefix(&own))
            .filter(|writer| *writer != self.writer && !writer.contains(':'))
            .collect();
        // A writer whose head expired wrote nothing live: forget where we were.
        read.retain(|writer, _| writers.contains(writer.as_str()));
        for writer in writers {
            let Some(head) = self.store.load(&self.head(writer)).await? else {
                continue;
            };
            let Ok(head) = serde_json::from_str::<Head>(&head) else {
                tracing::warn!("ignoring an unreadable head in the shared logout denylist");
                continue;
            };
            let from = read.get(writer).copied().unwrap_or(0).max(head.first);
            let to = head.next.min(from.saturating_add(MAX_READS_PER_SYNC));
            for n in from..to {
                // Absent: expired (or never saved); nothing to apply either way.
                if let Some(record) = self.store.load(&self.change(writer, n)).await?
                    && let Ok(entries) = serde_json::from_str::<Vec<Entry>>(&record)
                {
                    entries.into_iter().for_each(&mut apply);
                }
                read.insert(writer.to_owned(), n + 1);
            }
        }
        Ok(())
    }
}
