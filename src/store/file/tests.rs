//! FileStore's own tests: what only a file does (reopening, modes, corruption, atomic
//! replacement, rounding of expiry). The `SessionStore` contract is the shared suite's
//! (`tests/it/store_contract.rs`).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::FileStore;
use super::disk::{Entry, expires_at, now, read, write};
use crate::store::{LockToken, SessionId, SessionStore};

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

/// The lock itself is the shared contract's (`tests/it/store_contract.rs`); here, that
/// every store opened on one file shares it, as the crate's instances of one program do.
#[tokio::test]
async fn stores_on_one_file_share_their_locks() {
    let dir = TempDir::new();
    let store = FileStore::open(dir.file()).unwrap();
    assert!(store.locks(), "excludes every holder in the process");
    let id = SessionId::random();
    let held = store.lock(&id, HOUR).await.unwrap().expect("free");
    let other = FileStore::open(dir.file()).unwrap();
    assert!(other.lock(&id, HOUR).await.unwrap().is_none(), "held");
    other.unlock(&id, &LockToken::random()).await.unwrap();
    assert!(store.lock(&id, HOUR).await.unwrap().is_none(), "still held");
    other.unlock(&id, &held).await.unwrap();
    assert!(store.lock(&id, HOUR).await.unwrap().is_some(), "released");
    // Another file, other locks.
    let elsewhere = TempDir::new();
    let apart = FileStore::open(elsewhere.file()).unwrap();
    assert!(apart.lock(&id, HOUR).await.unwrap().is_some());
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
        store.take(&id).await.unwrap_err(),
        store
            .save_if_unchanged(&id, "secret-record", "r", &[], HOUR)
            .await
            .unwrap_err(),
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
