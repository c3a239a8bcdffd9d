//! [`FileStore`]: sessions in one file on disk, for command-line programs and
//! single-process tools.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{LockToken, SessionId, SessionStore, StoreError};

/// The format version written in (and required of) the file.
const VERSION: u32 = 1;

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
///   (every `FileStore` opened on the same file shares one queue) and the refresh lock
///   excludes other requests of the process; nothing excludes another process, so
///   [`locks`](SessionStore::locks) is `false`.
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

/// The file's content.
#[derive(serde::Serialize, serde::Deserialize)]
struct Document {
    version: u32,
    /// By session id.
    sessions: BTreeMap<String, Entry>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    /// Sealed by the crate.
    record: String,
    #[serde(default)]
    lookup: Vec<String>,
    /// Unix seconds; the record is absent from then on.
    expires_at: u64,
}

impl Document {
    fn empty() -> Document {
        Document {
            version: VERSION,
            sessions: BTreeMap::new(),
        }
    }

    /// Drops expired records; whether any was.
    fn prune(&mut self, now: Duration) -> bool {
        let before = self.sessions.len();
        self.sessions.retain(|_, entry| entry.live(now));
        self.sessions.len() != before
    }
}

impl Entry {
    fn live(&self, now: Duration) -> bool {
        Duration::from_secs(self.expires_at) > now
    }
}

/// Now, since the unix epoch.
fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The expiry of a record saved `now` for `ttl`, rounded down (never later than asked).
fn expires_at(now: Duration, ttl: Duration) -> u64 {
    now.checked_add(ttl).map_or(u64::MAX, |at| at.as_secs())
}

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
}

/// Creates the directory and file if missing, checks the file, and returns its
/// canonical path.
fn prepare(path: &Path) -> Result<PathBuf, StoreError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::new("open", format!("{what} {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(|e| fail("cannot create the directory of", &e))?;
    }
    match create_new(path) {
        Ok(mut file) => {
            let empty = serde_json::to_vec(&Document::empty()).expect("serialisable");
            file.write_all(&empty)
                .and_then(|()| file.sync_all())
                .map_err(|e| fail("cannot write", &e))?;
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(fail("cannot create", &e)),
    }
    let path = fs::canonicalize(path).map_err(|e| fail("cannot resolve", &e))?;
    let meta = fs::metadata(&path).map_err(|e| fail("cannot read", &e))?;
    if !meta.is_file() {
        return Err(StoreError::new(
            "open",
            format!("{} is not a regular file", path.display()),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(StoreError::new(
                "open",
                format!(
                    "{path} holds session tokens but other users may access it (mode {mode:04o}); \
                     run `chmod 600 {path}`",
                    path = path.display()
                ),
            ));
        }
    }
    read(&path, "open")?;
    Ok(path)
}

/// Creates `path`, failing if it exists; `0600` on unix.
fn create_new(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// The whole document in the file (an empty file is an empty store).
fn read(path: &Path, operation: &'static str) -> Result<Document, StoreError> {
    let bytes = fs::read(path)
        .map_err(|e| StoreError::new(operation, format!("cannot read {}: {e}", path.display())))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Document::empty());
    }
    let document: Document = serde_json::from_slice(&bytes).map_err(|e| {
        // Only where: serde's message may quote the file's content (a record).
        StoreError::new(
            operation,
            format!(
                "{} is not a session store file ({} error at line {}, column {})",
                path.display(),
                match e.classify() {
                    serde_json::error::Category::Io => "I/O",
                    serde_json::error::Category::Syntax => "syntax",
                    serde_json::error::Category::Data => "data",
                    serde_json::error::Category::Eof => "unexpected end of file",
                },
                e.line(),
                e.column()
            ),
        )
    })?;
    if document.version != VERSION {
        return Err(StoreError::new(
            operation,
            format!(
                "{} has format version {}; this version reads {VERSION}",
                path.display(),
                document.version
            ),
        ));
    }
    Ok(document)
}

/// Replaces the file with `document`: a temporary file in the same directory (`0600`),
/// synced, renamed over it.
fn write(path: &Path, document: &Document, operation: &'static str) -> Result<(), StoreError> {
    let fail =
        |e: io::Error| StoreError::new(operation, format!("cannot write {}: {e}", path.display()));
    let bytes = serde_json::to_vec_pretty(document).map_err(|e| fail(io::Error::other(e)))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(
        ".{name}.{:016x}.tmp",
        u64::from_ne_bytes(crate::secret::random_bytes())
    ));
    let written = create_new(&temp).and_then(|mut file| {
        file.write_all(&bytes)?;
        file.write_all(b"\n")?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&temp, path)) {
        let _ = fs::remove_file(&temp);
        return Err(fail(e));
    }
    // The rename itself is durable once the directory is synced (unix; best effort).
    #[cfg(unix)]
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
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
        let id = id.as_str().to_owned();
        let entry = Entry {
            record: record.to_owned(),
            lookup: lookup.to_vec(),
            expires_at: 0,
        };
        self.with_file("save", move |path| {
            let mut document = read(path, "save")?;
            let now = now();
            document.prune(now);
            document.sessions.insert(
                id,
                Entry {
                    expires_at: expires_at(now, ttl),
                    ..entry
                },
            );
            write(path, &document, "save")
        })
        .await
    }

    async fn save_if_unchanged(
        &self,
        id: &SessionId,
        expected: &str,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let id = id.as_str().to_owned();
        let (expected, record, lookup) = (expected.to_owned(), record.to_owned(), lookup.to_vec());
        // One step on the file: this process's stores of the file take turns.
        self.with_file("save", move |path| {
            let mut document = read(path, "save")?;
            let now = now();
            document.prune(now);
            let Some(entry) = document.sessions.get_mut(&id) else {
                return Ok(false);
            };
            if entry.record != expected {
                return Ok(false);
            }
            *entry = Entry {
                record,
                lookup,
                expires_at: expires_at(now, ttl),
            };
            write(path, &document, "save").map(|()| true)
        })
        .await
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        let id = id.as_str().to_owned();
        self.with_file("delete", move |path| {
            let mut document = read(path, "delete")?;
            let removed = document.sessions.remove(&id).is_some();
            let pruned = document.prune(now());
            if removed || pruned {
                write(path, &document, "delete")?;
            }
            Ok(())
        })
        .await
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

    fn locks(&self) -> bool {
        false
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

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    /// A fresh directory under the system's temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            let dir = std::env::temp_dir().join(format!(
                "axum-oauth-login-file-store-{}",
                SessionId::random().as_str()
            ));
            TempDir(dir)
        }
        fn file(&self) -> PathBuf {
            self.0.join("nested").join("sessions.json")
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn keys(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| (*k).to_owned()).collect()
    }

    #[tokio::test]
    async fn saves_loads_and_deletes() {
        let dir = TempDir::new();
        let store = FileStore::open(dir.file()).unwrap();
        let id = SessionId::random();
        assert!(store.load(&id).await.unwrap().is_none());
        store.save(&id, "sealed-1", &[], HOUR).await.unwrap();
        assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("sealed-1"));
        store.save(&id, "sealed-2", &[], HOUR).await.unwrap();
        assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("sealed-2"));
        store.delete(&id).await.unwrap();
        assert!(store.load(&id).await.unwrap().is_none());
        // Deleting what is not there is fine.
        store.delete(&id).await.unwrap();
        store.delete(&SessionId::random()).await.unwrap();
    }

    #[tokio::test]
    async fn survives_reopening() {
        let dir = TempDir::new();
        let id = SessionId::random();
        {
            let store = FileStore::open(dir.file()).unwrap();
            store
                .save(&id, "sealed", &keys(&["sub:a"]), HOUR)
                .await
                .unwrap();
        }
        let store = FileStore::open(dir.file()).unwrap();
        assert_eq!(store.load(&id).await.unwrap().as_deref(), Some("sealed"));
        assert_eq!(store.find("sub:a").await.unwrap(), vec![id.clone()]);

        // Two stores open on one file at once see each other's writes.
        let other = FileStore::open(dir.file()).unwrap();
        other.delete(&id).await.unwrap();
        assert!(store.load(&id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn finds_live_sessions_by_lookup_key() {
        let dir = TempDir::new();
        let store = FileStore::open(dir.file()).unwrap();
        let (a, b, c) = (
            SessionId::random(),
            SessionId::random(),
            SessionId::random(),
        );
        store
            .save(&a, "a", &keys(&["sub:x", "list"]), HOUR)
            .await
            .unwrap();
        store.save(&b, "b", &keys(&["sub:x"]), HOUR).await.unwrap();
        store.save(&c, "c", &keys(&["sub:y"]), HOUR).await.unwrap();
        let mut found = store.find("sub:x").await.unwrap();
        let mut expected = vec![a.clone(), b.clone()];
        found.sort_by(|l, r| l.as_str().cmp(r.as_str()));
        expected.sort_by(|l, r| l.as_str().cmp(r.as_str()));
        assert_eq!(found, expected);
        assert_eq!(store.find("list").await.unwrap(), vec![a.clone()]);
        assert!(store.find("sub:z").await.unwrap().is_empty());
        // Re-saved with other keys: found under those only.
        store.save(&a, "a", &keys(&["sub:y"]), HOUR).await.unwrap();
        assert!(store.find("list").await.unwrap().is_empty());
        assert_eq!(store.find("sub:y").await.unwrap().len(), 2);
        // Deleted: found no more.
        store.delete(&b).await.unwrap();
        assert!(store.find("sub:x").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn expired_records_are_absent_and_dropped_on_the_next_write() {
        let dir = TempDir::new();
        let store = FileStore::open(dir.file()).unwrap();
        let gone = SessionId::random();
        let kept = SessionId::random();
        // Expiry is rounded down to the second: a zero TTL has expired at once.
        store
            .save(&gone, "r", &keys(&["sub:a"]), Duration::ZERO)
            .await
            .unwrap();
        assert!(store.load(&gone).await.unwrap().is_none());
        assert!(store.find("sub:a").await.unwrap().is_empty());
        // Still in the file until the next write.
        let text = fs::read_to_string(store.path()).unwrap();
        assert!(text.contains(gone.as_str()), "{text}");
        store
            .save(&kept, "r", &keys(&["sub:a"]), HOUR)
            .await
            .unwrap();
        let text = fs::read_to_string(store.path()).unwrap();
        assert!(!text.contains(gone.as_str()), "{text}");
        assert_eq!(store.find("sub:a").await.unwrap(), vec![kept.clone()]);

        // A record written with an expiry in the past (an earlier run) is absent too.
        let stale = SessionId::random();
        let mut document = read(store.path(), "test").unwrap();
        document.sessions.insert(
            stale.as_str().to_owned(),
            Entry {
                record: "old".into(),
                lookup: keys(&["sub:a"]),
                expires_at: expires_at(now(), Duration::ZERO) - 1,
            },
        );
        write(store.path(), &document, "test").unwrap();
        assert!(store.load(&stale).await.unwrap().is_none());
        assert_eq!(store.find("sub:a").await.unwrap(), vec![kept.clone()]);
        // A delete that removes nothing still drops it.
        store.delete(&SessionId::random()).await.unwrap();
        let text = fs::read_to_string(store.path()).unwrap();
        assert!(!text.contains(stale.as_str()), "{text}");
        assert_eq!(store.load(&kept).await.unwrap().as_deref(), Some("r"));
    }

    #[test]
    fn expiry_never_outlives_the_ttl() {
        let now = Duration::new(1_000, 999_000_000);
        assert_eq!(expires_at(now, Duration::ZERO), 1_000);
        assert_eq!(expires_at(now, Duration::from_secs(1)), 1_001);
        assert_eq!(expires_at(now, Duration::MAX), u64::MAX);
        let entry = |expires_at| Entry {
            record: String::new(),
            lookup: vec![],
            expires_at,
        };
        assert!(!entry(1_000).live(now));
        assert!(entry(1_001).live(now));
        assert!(!entry(1_001).live(Duration::from_secs(1_001)));
    }

    #[tokio::test]
    async fn locks_belong_to_their_holder_within_the_process() {
        let dir = TempDir::new();
        let store = FileStore::open(dir.file()).unwrap();
        assert!(!store.locks());
        let id = SessionId::random();
        let held = store.lock(&id, HOUR).await.unwrap().expect("free");
        assert!(store.lock(&id, HOUR).await.unwrap().is_none());
        // Another store on the same file shares the process's locks.
        let other = FileStore::open(dir.file()).unwrap();
        assert!(other.lock(&id, HOUR).await.unwrap().is_none());
        // Someone else's token does not release it.
        store.unlock(&id, &LockToken::random()).await.unwrap();
        assert!(store.lock(&id, HOUR).await.unwrap().is_none());
        store.unlock(&id, &held).await.unwrap();
        assert!(store.lock(&id, HOUR).await.unwrap().is_some());
        // An expired lock is free again.
        let id = SessionId::random();
        store.lock(&id, Duration::ZERO).await.unwrap().unwrap();
        assert!(store.lock(&id, HOUR).await.unwrap().is_some());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn creates_the_file_0600_and_its_directory_0700() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = TempDir::new();
        let store = FileStore::open(dir.file()).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(store.path()), 0o600);
        assert_eq!(mode(store.path().parent().unwrap()), 0o700);
        assert_eq!(mode(&dir.0), 0o700);
        // Still 0600 after a write replaced the file.
        store
            .save(&SessionId::random(), "r", &[], HOUR)
            .await
            .unwrap();
        assert_eq!(mode(store.path()), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_file_others_may_read() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = TempDir::new();
        let path = FileStore::open(dir.file()).unwrap().path().to_owned();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let e = FileStore::open(&path).unwrap_err().to_string();
        assert!(e.contains(&path.display().to_string()), "{e}");
        assert!(e.contains("0644"), "{e}");
        assert!(e.contains(&format!("chmod 600 {}", path.display())), "{e}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        FileStore::open(&path).unwrap();
    }

    #[tokio::test]
    async fn a_corrupt_file_is_an_error_and_is_left_alone() {
        let dir = TempDir::new();
        let store = FileStore::open(dir.file()).unwrap();
        let id = SessionId::random();
        store.save(&id, "secret-record", &[], HOUR).await.unwrap();
        let corrupt = r#"{"version":1,"sessions":{"x":"secret-record"}}"#;
        fs::write(store.path(), corrupt).unwrap();
        for e in [
            store.load(&id).await.unwrap_err(),
            store.save(&id, "r", &[], HOUR).await.unwrap_err(),
            store.delete(&id).await.unwrap_err(),
            store.find("k").await.unwrap_err(),
            FileStore::open(store.path()).unwrap_err(),
        ] {
            let e = e.to_string();
            assert!(e.contains("not a session store file"), "{e}");
            assert!(
                !e.contains("secret-record"),
                "the error quotes a record: {e}"
            );
        }
        assert_eq!(fs::read_to_string(store.path()).unwrap(), corrupt);

        fs::write(store.path(), "{\"version\":1,\"sess").unwrap();
        assert!(store.load(&id).await.is_err());
        fs::write(store.path(), r#"{"version":2,"sessions":{}}"#).unwrap();
        let e = store.load(&id).await.unwrap_err().to_string();
        assert!(e.contains("version 2"), "{e}");
        // An empty file is an empty store.
        fs::write(store.path(), "").unwrap();
        assert!(store.load(&id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn writes_leave_no_temporary_file_behind() {
        let dir = TempDir::new();
        let store = FileStore::open(dir.file()).unwrap();
        let ids: Vec<_> = (0..10).map(|_| SessionId::random()).collect();
        let writes = ids.iter().map(|id| {
            let store = store.clone();
            let id = id.clone();
            async move { store.save(&id, "r", &[], HOUR).await }
        });
        for result in futures_util::future::join_all(writes).await {
            result.unwrap();
        }
        store.delete(&ids[0]).await.unwrap();
        let names: Vec<_> = fs::read_dir(store.path().parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["sessions.json"]);
        // Concurrent writes were serialised: none was lost.
        for id in &ids[1..] {
            assert!(store.load(id).await.unwrap().is_some());
        }
    }

    #[tokio::test]
    async fn debug_shows_the_path_not_the_records() {
        let dir = TempDir::new();
        let store = FileStore::open(dir.file()).unwrap();
        store
            .save(
                &SessionId::random(),
                "secret-record",
                &keys(&["sub:a"]),
                HOUR,
            )
            .await
            .unwrap();
        let debug = format!("{store:?}");
        assert!(debug.contains("sessions.json"), "{debug}");
        assert!(!debug.contains("secret-record"), "{debug}");
        assert!(!debug.contains("sub:a"), "{debug}");
    }
}
