//! The denylist's shared store: an append-only change log per instance, so that a sync
//! reads what changed since the last one rather than every entry.
//!
//! Each instance writes only its own log (a random writer id, new per process), so
//! appends need no lock and no compare-and-set, and work on every store, tower-sessions
//! included. Records, all under the client's store name `denylist:{mac}` (keyed by the
//! cookie key: nobody else can name them, see [`StoreNames`](super::super::StoreNames)):
//!
//! * `{prefix}:{writer}:{n}`: the writer's `n`-th change (the entries of one logout),
//!   kept until those entries would expire;
//! * `{prefix}:{writer}`: the writer's head, `{first, next}`: changes `first..next` may
//!   still be live. Saved under the lookup key `{prefix}:writers`, so readers find the
//!   writers; it lives a session lifetime past the writer's last change.
//!
//! A reader remembers, per writer, the next change it has not read. A sync is one `find`
//! per cookie key (the writers under the current key's prefix, and under each previous
//! key's, so instances not yet rotated are heard), one load per writer's head, and one
//! load per new change: O(keys + instances + changes), where the list it replaces asked
//! the store about every entry every time. (No unkeyed prefix is read: 0.2 kept its
//! entries in another format, which this log replaces.)
//! Nothing grows: changes and heads expire, and the lookup key holds one id per writer
//! (per process that appended within a session lifetime).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::super::{Name, StoreNames, TimedStore};
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
    /// `denylist:{mac}` under the current cookie key (written and read), then under the
    /// previous keys (read only).
    prefixes: Vec<String>,
    writer: String,
    /// The session lifetime: no change outlives it, and heads live that long.
    ttl: Duration,
    /// Held across an append's two writes, so a head never names a change not written.
    appender: tokio::sync::Mutex<Appender>,
    /// Per writer's head (`{prefix}:{writer}`), the next change this instance has not
    /// read yet.
    read: tokio::sync::Mutex<HashMap<String, u64>>,
}

impl SharedLog {
    pub(super) fn new(store: TimedStore, names: &StoreNames, ttl: Duration) -> SharedLog {
        let bytes: [u8; 16] = crate::secret::random_bytes();
        SharedLog {
            store,
            prefixes: names.every_keyed(Name::Denylist),
            writer: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            ttl,
            appender: tokio::sync::Mutex::default(),
            read: tokio::sync::Mutex::default(),
        }
    }

    /// The prefix this instance writes under (the current key's).
    fn prefix(&self) -> &str {
        self.prefixes.first().map_or("denylist", String::as_str)
    }

    fn writers_key(prefix: &str) -> String {
        format!("{prefix}:writers")
    }

    fn head(prefix: &str, writer: &str) -> SessionId {
        SessionId::from_stored(format!("{prefix}:{writer}"))
    }

    fn change(prefix: &str, writer: &str, n: u64) -> SessionId {
        SessionId::from_stored(format!("{prefix}:{writer}:{n}"))
    }

    /// Appends one change (the entries of one logout), live for `ttl` (at most the
    /// session lifetime).
    pub(super) async fn append(&self, entries: &[Entry], ttl: Duration) -> Result<(), StoreError> {
        let record = serde_json::to_string(entries).map_err(|e| StoreError::new("save", e))?;
        let ttl = ttl.min(self.ttl).max(Duration::from_millis(1));
        let mut log = self.appender.lock().await;
        let n = log.next;
        self.store
            .save(
                &Self::change(self.prefix(), &self.writer, n),
                &record,
                &[],
                ttl,
            )
            .await?;
        // Written: the next head names it, even if this one fails to be saved.
        log.next += 1;
        let now = Instant::now();
        log.live.push_back((n, now + ttl.min(super::LONGEST_TTL)));
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
                &Self::head(self.prefix(), &self.writer),
                &head,
                &[Self::writers_key(self.prefix())],
                self.ttl,
            )
            .await
    }

    /// Reads the other writers' changes not read yet, handing their entries to `apply`.
    pub(super) async fn pull(&self, mut apply: impl FnMut(Entry)) -> Result<(), StoreError> {
        let mut read = self.read.lock().await;
        // The other writers' heads, under every key's prefix: head id → (prefix, writer).
        let mut heads: HashMap<String, (&str, String)> = HashMap::new();
        for prefix in &self.prefixes {
            let own = format!("{prefix}:");
            for id in self.store.find(&Self::writers_key(prefix)).await? {
                if let Some(writer) = id.as_str().strip_prefix(&own)
                    && writer != self.writer
                    && !writer.contains(':')
                {
                    let writer = writer.to_owned();
                    heads.insert(id.as_str().to_owned(), (prefix.as_str(), writer));
                }
            }
        }
        // A writer whose head expired wrote nothing live: forget where we were.
        read.retain(|head, _| heads.contains_key(head));
        for (head_id, (prefix, writer)) in heads {
            let Some(head) = self.store.load(&Self::head(prefix, &writer)).await? else {
                continue;
            };
            let Ok(head) = serde_json::from_str::<Head>(&head) else {
                tracing::warn!("ignoring an unreadable head in the shared logout denylist");
                continue;
            };
            let from = read.get(&head_id).copied().unwrap_or(0).max(head.first);
            let to = head.next.min(from.saturating_add(MAX_READS_PER_SYNC));
            for n in from..to {
                // Absent: expired (or never saved); nothing to apply either way.
                if let Some(record) = self.store.load(&Self::change(prefix, &writer, n)).await?
                    && let Ok(entries) = serde_json::from_str::<Vec<Entry>>(&record)
                {
                    entries.into_iter().for_each(&mut apply);
                }
                read.insert(head_id.clone(), n + 1);
            }
        }
        Ok(())
    }
}
