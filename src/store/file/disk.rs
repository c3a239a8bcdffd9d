//! The file itself: its format (a versioned JSON document of sealed records, their lookup
//! keys and expiry), and how it is created, checked, read and atomically replaced.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::store::StoreError;

/// The format version written in (and required of) the file.
const VERSION: u32 = 1;

/// The file's content.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Document {
    pub(super) version: u32,
    /// By session id.
    pub(super) sessions: BTreeMap<String, Entry>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Entry {
    /// Sealed by the crate.
    pub(super) record: String,
    #[serde(default)]
    pub(super) lookup: Vec<String>,
    /// Unix seconds; the record is absent from then on.
    pub(super) expires_at: u64,
}

impl Document {
    pub(super) fn empty() -> Document {
        Document {
            version: VERSION,
            sessions: BTreeMap::new(),
        }
    }

    /// Drops expired records; whether any was.
    pub(super) fn prune(&mut self, now: Duration) -> bool {
        let before = self.sessions.len();
        self.sessions.retain(|_, entry| entry.live(now));
        self.sessions.len() != before
    }
}

impl Entry {
    pub(super) fn live(&self, now: Duration) -> bool {
        Duration::from_secs(self.expires_at) > now
    }
}

/// Now, since the unix epoch.
pub(super) fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The expiry of a record saved `now` for `ttl`, rounded down (never later than asked).
pub(super) fn expires_at(now: Duration, ttl: Duration) -> u64 {
    now.checked_add(ttl).map_or(u64::MAX, |at| at.as_secs())
}

/// Creates the directory and file if missing, checks the file, and returns its
/// canonical path.
pub(super) fn prepare(path: &Path) -> Result<PathBuf, StoreError> {
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
pub(super) fn read(path: &Path, operation: &'static str) -> Result<Document, StoreError> {
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
pub(super) fn write(
    path: &Path,
    document: &Document,
    operation: &'static str,
) -> Result<(), StoreError> {
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
