//! [`FileStore`]: sessions in one file on disk, for command-line programs and
//! single-process tools.

mod disk;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use self::disk::{Entry, expires_at, now, prepare, read, write};
use super::{LockToken, SessionId, SessionStore, StoreError};

/// Sessions in one JSON file: for command-line programs and single-process tools, such
/// as a CLI that keeps a connected account's sealed token set between runs.
///
/// * The file maps session ids to their record (sealed by the crate before it gets
///   here), lookup keys and expiry (unix seconds). An expired record is absent; it is
///   dropped from the file on the next write. A record never outlives its TTL (expiry is
///   rounded down to the second).
/// * Every write is atomic: the whole document goes to a temporary file in the same
///   directory, which is synced and renamed over the file. A reader sees the old or the
///   new document, never half of one; a file that does not parse is an error, never
///   silently emptied.
/// * On unix the file is created with mode `0600` (its directory, if created, `0700`),
///   and [`open`](Self::open) refuses an existing file that other users may read or
///   write.
/// * **One process at a time.** Within a process, operations on one file are serialised
///   (every `FileStore` opened on the same file shares one queue), so
///   [`save_if_unchanged`](SessionStore::save_if_unchanged) and
///   [`take`](SessionStore::take) are single steps, and the refresh lock excludes every
///   other holder in the process ([`locks`](SessionStore::locks) is `true`, as for
///   `MemoryStore`): two `OAuth`s or `Connections` of one program on the file refresh
///   a session once. Nothing excludes another process: two programs on one file at once
///   may lose each other's writes and spend one refresh token twice.
///
/// File I/O runs on tokio's blocking pool, never on the runtime's workers; only
/// [`open`](Self::open) does its (small) I/O in place.
///
/// ```
/// use std::time::Duration;
/// use axum_oauth_login::store::{FileStore, SessionId, SessionStore};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = std::env::temp_dir().join(format!("file-store-doc-{}", SessionId::random().as_str()));
/// let path = dir.join("sessions.json");
///
/// let store = FileStore::open(&path)?;
/// let id = SessionId::random();
/// store.save(&id, "sealed", &["sub:abc".into()], Duration::from_secs(3600)).await?;
/// drop(store);
///
/// // The next run of the program finds it again.
/// let store = FileStore::open(&path)?;
/// assert_eq!(store.load(&id).await?.as_deref(), Some("sealed"));
/// assert_eq!(store.find("sub:abc").await?, vec![id]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
///
/// In an app: `OAuth::builder(..).session_store(FileStore::open(path)?)`.
#[derive(Clone)]
pub struct FileStore {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only where the file is: never its records.
        f.debug_struct("FileStore")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

/// What every `FileStore` on one file shares within the process.
struct Shared {
    /// The file, canonical (symlinks resolved, so renames replace the real file).
    path: PathBuf,
    /// Held for each read-modify-write, until its blocking task ends (even when the
    /// caller's future was dropped by a timeout).
    io: Arc<tokio::sync::Mutex<()>>,
    /// Refresh locks: in memory, within the process only.
    locks: Mutex<HashMap<SessionId, (LockToken, Instant)>>,
}

/// The stores open in this process, by canonical path.
static OPEN: Mutex<BTreeMap<PathBuf, Weak<Shared>>> = Mutex::new(BTreeMap::new());

impl FileStore {
    /// The store kept in the file at `path`, created (with its directory) if missing.
    ///
    /// Fails when the file cannot be created or read, is not a store's file (does not
    /// parse), or, on unix, may be read or written by other users (mode wider than
    /// `0600`): the error names the file and the fix, `chmod 600 <path>`.
    pub fn open(path: impl AsRef<Path>) -> Result<FileStore, StoreError> {
        let path = prepare(path.as_ref())?;
        let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|_, shared| shared.strong_count() > 0);
        if let Some(shared) = open.get(&path).and_then(Weak::upgrade) {
            return Ok(FileStore { shared });
        }
        let shared = Arc::new(Shared {
            path: path.clone(),
            io: Arc::default(),
            locks: Mutex::default(),
        });
        open.insert(path, Arc::downgrade(&shared));
        Ok(FileStore { shared })
    }

    /// The file (canonical: symlinks resolved).
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    fn lock_table(&self) -> MutexGuard<'_, HashMap<SessionId, (LockToken, Instant)>> {
        self.shared.locks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the file on the blocking pool, alone among this process's stores of
    /// the file.
    async fn with_file<T: Send + 'static>(
        &self,
        operation: &'static str,
        f: impl FnOnce(&Path) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let guard = Arc::clone(&self.shared.io).lock_owned().await;
        let path = self.shared.path.clone();
        tokio::task::spawn_blocking(move || {
            // Released when the file work is done, not when the caller stops waiting.
            let _guard = guard;
            f(&path)
        })
        .await
        .map_err(|e| StoreError::new(operation, format!("the file task failed: {e}")))?
    }

    /// Writes `record` under `id` in one step on the file: always (`expected` `None`,
    /// `save`), or only over the live record `expected` (`save_if_unchanged`). Whether
    /// it wrote.
    async fn put(
        &self,
        id: &SessionId,
        expected: Option<&str>,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let id = id.as_str().to_owned();
        let expected = expected.map(str::to_owned);
        let (record, lookup) = (record.to_owned(), lookup.to_vec());
        self.with_file("save", move |path| {
            let mut document = read(path, "save")?;
            let now = now();
            document.prune(now);
            if let Some(expected) = expected {
                let current = document.sessions.get(&id).map(|entry| &entry.record);
                if current != Some(&expected) {
                    return Ok(false);
                }
            }
            let expires_at = expires_at(now, ttl);
            let entry = Entry {
                record,
                lookup,
                expires_at,
            };
            document.sessions.insert(id, entry);
            write(path, &document, "save").map(|()| true)
        })
        .await
    }
}

#[async_trait::async_trait]
impl SessionStore for FileStore {
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        let id = id.as_str().to_owned();
        self.with_file("load", move |path| {
            let mut document = read(path, "load")?;
            let now = now();
            Ok(document
                .sessions
                .remove(&id)
                .filter(|entry| entry.live(now))
                .map(|entry| entry.record))
        })
        .await
    }

    async fn save(
        &self,
        id: &SessionId,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.put(id, None, record, lookup, ttl).await.map(drop)
    }

    async fn save_if_unchanged(
        &self,
        id: &SessionId,
        expected: &str,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.put(id, Some(expected), record, lookup, ttl).await
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.take(id).await.map(drop)
    }

    async fn take(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        let id = id.as_str().to_owned();
        self.with_file("delete", move |path| {
            let mut document = read(path, "delete")?;
            let now = now();
            let removed = document.sessions.remove(&id);
            let pruned = document.prune(now);
            if removed.is_some() || pruned {
                write(path, &document, "delete")?;
            }
            Ok(removed.filter(|e| e.live(now)).map(|e| e.record))
        })
        .await
    }

    async fn lock(&self, id: &SessionId, ttl: Duration) -> Result<Option<LockToken>, StoreError> {
        let now = Instant::now();
        let mut locks = self.lock_table();
        if let Some((_, until)) = locks.get(id)
            && *until > now
        {
            return Ok(None);
        }
        locks.retain(|_, (_, until)| *until > now);
        let token = LockToken::random();
        locks.insert(id.clone(), (token.clone(), now + ttl));
        Ok(Some(token))
    }

    async fn unlock(&self, id: &SessionId, token: &LockToken) -> Result<(), StoreError> {
        let mut locks = self.lock_table();
        if locks.get(id).is_some_and(|(held, _)| held == token) {
            locks.remove(id);
        }
        Ok(())
    }

    async fn find(&self, key: &str) -> Result<Vec<SessionId>, StoreError> {
        let key = key.to_owned();
        self.with_file("find", move |path| {
            let document = read(path, "find")?;
            let now = now();
            Ok(document
                .sessions
                .into_iter()
                .filter(|(_, entry)| entry.live(now) && entry.lookup.contains(&key))
                .map(|(id, _)| SessionId::from_stored(id))
                .collect())
        })
        .await
    }
}
