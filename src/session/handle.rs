//! [`SessionHandle`]: one request's view of its session — loaded lazily (a cookie
//! session is opened the first time someone asks, a store session is fetched on the
//! async path), change-tracked, and written back as `Set-Cookie` only when it changed.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::cookie::{MAX_CHUNKS, chunk_name, header_cookie_bytes};
use super::refresh::Freshness;
use super::{Backend, SessionConfig, SessionData};
use crate::store::{SessionId, StoreError};

/// The session cookie's value inside a request's `Cookie` header: a slice of the header
/// (a reference-counted clone, no copy) when it is one cookie, the joined chunks when the
/// session spans several. Read as bytes: the header is never checked as text here, and a
/// value is checked as text only when it is opened (a hit in the verified-cookie cache is
/// byte for byte a value this server sealed).
enum Sealed {
    Slice {
        header: http::HeaderValue,
        range: std::ops::Range<usize>,
    },
    Joined(Vec<u8>),
}

impl Sealed {
    /// The session cookie of a request, and how many cookies (chunks) carried it: one
    /// pass over the `Cookie` headers, no allocation unless the session spans chunks.
    fn find(headers: &http::HeaderMap, name: &str) -> (Option<Sealed>, usize) {
        let name = name.as_bytes();
        let mut first = None;
        let mut first_value: &[u8] = &[];
        // `chunks[i]`: the value of `{name}.{i}` (index 0 unused); the first one wins.
        let mut chunks: [Option<&[u8]>; MAX_CHUNKS] = [None; MAX_CHUNKS];
        for header in headers.get_all(http::header::COOKIE) {
            let bytes = header.as_bytes();
            for (cookie, value) in header_cookie_bytes(bytes) {
                if cookie == name {
                    if first.is_none() {
                        // `value` points into `bytes`: its offset is the distance between
                        // the two.
                        let start = value.as_ptr() as usize - bytes.as_ptr() as usize;
                        first_value = value;
                        first = Some(Sealed::Slice {
                            header: header.clone(),
                            range: start..start + value.len(),
                        });
                    }
                } else if let Some(i) = chunk_index(cookie, name) {
                    chunks[i].get_or_insert(value);
                }
            }
        }
        let Some(first) = first else {
            return (None, 0);
        };
        let rest = chunks[1..].iter().map_while(|chunk| *chunk);
        let count = 1 + rest.clone().count();
        if count == 1 {
            return (Some(first), 1);
        }
        let mut joined = first_value.to_vec();
        rest.for_each(|chunk| joined.extend_from_slice(chunk));
        (Some(Sealed::Joined(joined)), count)
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Sealed::Slice { header, range } => {
                header.as_bytes().get(range.clone()).unwrap_or_default()
            }
            Sealed::Joined(bytes) => bytes,
        }
    }
}

/// `i` when `cookie` is chunk `i` of the session cookie `name` (`{name}.{i}`, as
/// [`chunk_name`] writes it: `1 <= i < MAX_CHUNKS`, no sign, no leading zero).
fn chunk_index(cookie: &[u8], name: &[u8]) -> Option<usize> {
    let digits = cookie.strip_prefix(name)?.strip_prefix(b".")?;
    if digits.starts_with(b"0") || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits)
        .ok()?
        .parse()
        .ok()
        .filter(|i| (1..MAX_CHUNKS).contains(i))
}

/// Why a session cannot be used right now (it is kept for a later try): `503`.
#[derive(Debug, Clone)]
pub(crate) enum SessionUnavailable {
    /// The tokens expired and the provider could not refresh them.
    Provider,
    /// The session store could not be reached.
    Store(StoreError),
}

/// Why a new session could not be started at login.
#[derive(Debug)]
pub(crate) enum StartError {
    /// Too large for the cookie store (past the chunking cap).
    TooLarge,
    /// The session store could not save it.
    Store(StoreError),
}

#[derive(Default)]
enum Change {
    #[default]
    Unchanged,
    Set(Arc<SessionData>),
    Clear,
}

/// One request's view of its session: lazily loaded, change-tracked.
pub(crate) struct SessionHandle {
    config: Arc<SessionConfig>,
    sealed: Option<Sealed>,
    /// How many cookies carried the session (chunks), to remove stale ones.
    sent_chunks: usize,
    loaded: OnceLock<Option<Arc<SessionData>>>,
    /// Store sessions: the id the request's cookie held, and whether a previous key
    /// sealed it (then the cookie is sealed again).
    cookie_id: OnceLock<(SessionId, bool)>,
    change: Mutex<Change>,
}

impl SessionHandle {
    /// Captures the session cookie of a request without opening it.
    pub(crate) fn from_headers(config: Arc<SessionConfig>, headers: &http::HeaderMap) -> Self {
        let (sealed, sent_chunks) = Sealed::find(headers, &config.cookie_name);
        SessionHandle {
            config,
            sealed,
            sent_chunks,
            loaded: OnceLock::new(),
            cookie_id: OnceLock::new(),
            change: Mutex::new(Change::Unchanged),
        }
    }

    /// Whether the request carried a session cookie at all (valid or not).
    pub(crate) fn has_cookie(&self) -> bool {
        self.sealed.is_some()
    }

    /// The session as far as it is known without awaiting: `None` when a store must be
    /// asked first. A change made during this request wins over the cookie.
    fn known(&self) -> Option<Option<Arc<SessionData>>> {
        match &*self.lock() {
            Change::Set(data) => return Some(Some(data.clone())),
            Change::Clear => return Some(None),
            Change::Unchanged => {}
        }
        if let Some(loaded) = self.loaded.get() {
            return Some(loaded.clone());
        }
        match (&self.config.backend, &self.sealed) {
            (_, None) => Some(self.loaded.get_or_init(|| None).clone()),
            (Backend::Cookie, Some(sealed)) => Some(
                self.loaded
                    .get_or_init(|| {
                        let loaded = self.config.open_cookie(sealed.as_bytes());
                        let Some(loaded) = loaded else {
                            tracing::debug!("session cookie rejected (unreadable or expired)");
                            return None;
                        };
                        if loaded.rewrite {
                            // Renewed, or sealed under a previous key: write it again.
                            self.set_change(Change::Set(loaded.data.clone()));
                        }
                        Some(loaded.data)
                    })
                    .clone(),
            ),
            (Backend::Store(_), Some(_)) => None,
        }
    }

    /// The current session, fetched from the store when it lives there; no refresh.
    pub(crate) async fn current(&self) -> Result<Option<Arc<SessionData>>, StoreError> {
        if let Some(known) = self.known() {
            return Ok(known);
        }
        let (Backend::Store(store), Some(sealed)) = (&self.config.backend, &self.sealed) else {
            return Ok(None);
        };
        let Some((id, old_key)) = self.config.open_id(sealed.as_bytes()) else {
            tracing::debug!("session cookie rejected (unreadable)");
            return Ok(self.loaded.get_or_init(|| None).clone());
        };
        let _ = self.cookie_id.set((id.clone(), old_key));
        let loaded = self
            .config
            .load_record(store, &id, old_key)
            .await?
            .map(|l| l.data);
        if old_key && let Some(data) = &loaded {
            // The cookie was sealed under a previous key: seal the id again.
            self.set_change(Change::Set(data.clone()));
        }
        Ok(self.loaded.get_or_init(|| loaded).clone())
    }

    /// The session if its tokens can be used without awaiting: `Some(None)` for no
    /// session, `Some(Some(..))` for a current one, `None` when the store must be asked or
    /// a refresh is due (then call [`get_fresh`](Self::get_fresh)).
    pub(crate) fn get_if_current(&self) -> Option<Option<Arc<SessionData>>> {
        match self.known()? {
            Some(data) if self.config.refresher().is_due(&data) => None,
            known => Some(known),
        }
    }

    /// The session with usable tokens, refreshing them first when they are about to
    /// expire. A refresh the provider refused ends the session (`Ok(None)`); a provider
    /// or store outage is `Err`, and the session is kept for a later try.
    pub(crate) async fn get_fresh(&self) -> Result<Option<Arc<SessionData>>, SessionUnavailable> {
        let Some(data) = self.current().await.map_err(SessionUnavailable::Store)? else {
            return Ok(None);
        };
        let renewed = self
            .config
            .refresher()
            .ensure_fresh(data, &self.config)
            .await;
        self.settle(renewed).await
    }

    /// Applies a refresher's decision to this request's session.
    async fn settle(
        &self,
        renewed: Freshness,
    ) -> Result<Option<Arc<SessionData>>, SessionUnavailable> {
        match renewed {
            Freshness::Current(data) => Ok(Some(data)),
            Freshness::Refreshed(next) => {
                let next: Arc<SessionData> = Arc::from(next);
                self.set_change(Change::Set(next.clone()));
                Ok(Some(next))
            }
            Freshness::Ended => {
                self.end().await;
                Ok(None)
            }
            Freshness::Unavailable => Err(SessionUnavailable::Provider),
        }
    }

    /// After the provider refused `stale` (an API answered `401`): the session's tokens
    /// refreshed now — or, when another request already replaced `stale`, the current
    /// ones. `None` when the session ended (or is gone); the same `Ok` session when there
    /// is nothing to refresh with.
    pub(crate) async fn refresh_now(
        &self,
        stale: &crate::secret::AccessToken,
    ) -> Result<Option<Arc<SessionData>>, SessionUnavailable> {
        let Some(data) = self.current().await.map_err(SessionUnavailable::Store)? else {
            return Ok(None);
        };
        if data.tokens.access_token().secret() != stale.secret() {
            return Ok(Some(data));
        }
        let renewed = self
            .config
            .refresher()
            .refresh_now(data, &self.config)
            .await;
        self.settle(renewed).await
    }

    /// Starts a new session at login: saved in the store (the browser's previous record
    /// deleted: a new id at every login), or checked to fit in the cookie.
    pub(crate) async fn start(&self, data: SessionData) -> Result<(), StartError> {
        match &self.config.backend {
            Backend::Cookie => {
                if self.config.seal_cookie(&data).is_none() {
                    return Err(StartError::TooLarge);
                }
            }
            Backend::Store(store) => {
                if let Ok(Some(previous)) = self.current().await
                    && let Err(e) = store.delete(&previous.id).await
                {
                    tracing::warn!(error = %e, "could not delete the previous session record");
                }
                self.config
                    .save_record(store, &data)
                    .await
                    .map_err(StartError::Store)?;
            }
        }
        self.set_change(Change::Set(Arc::new(data)));
        Ok(())
    }

    /// Ends the session: its record is deleted from the store (a copied cookie is then
    /// dead everywhere), and the cookie removed with this response. Returns the record as
    /// it was deleted (it may hold tokens a refresh on another instance saved since this
    /// request read it), for revocation.
    pub(crate) async fn end(&self) -> Option<SessionData> {
        let mut taken = None;
        if let Some(store) = self.config.store() {
            let id = match &*self.lock() {
                Change::Set(data) => Some(data.id.clone()),
                _ => None,
            };
            let id = id
                .or_else(|| self.loaded.get().cloned().flatten().map(|d| d.id.clone()))
                .or_else(|| self.cookie_id.get().map(|(id, _)| id.clone()));
            if let Some(id) = id {
                match store.take(&id).await {
                    Ok(record) => {
                        taken = record.and_then(|r| self.config.open_record(&id, &r));
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not delete the session record at logout");
                    }
                }
            }
        }
        self.set_change(Change::Clear);
        taken
    }

    /// The `Set-Cookie` values this request owes the browser: after a change, or to
    /// remove a cookie that turned out unreadable or expired.
    pub(crate) fn set_cookie_headers(&self) -> Vec<String> {
        let config = &self.config;
        let name = &config.cookie_name;
        let remove_from = |first: usize| -> Vec<String> {
            (first..self.sent_chunks.max(usize::from(self.has_cookie())))
                .map(|i| config.codec.remove_cookie(&chunk_name(name, i), "/"))
                .collect()
        };
        match &*self.lock() {
            Change::Set(data) => {
                if let (Backend::Store(_), Some((id, false))) =
                    (&config.backend, self.cookie_id.get())
                    && *id == data.id
                {
                    // The cookie already holds this session's id.
                    return Vec::new();
                }
                let Some(chunks) = config.seal_cookie(data) else {
                    tracing::error!("session too large for the cookie store; not stored");
                    return remove_from(0);
                };
                if chunks.len() == 1 && matches!(config.backend, Backend::Cookie) {
                    // The browser sends this value next: remember what it holds.
                    config.remember(&chunks[0], data.clone());
                }
                let max_age = data.expires_at.saturating_sub(config.clock.now());
                let count = chunks.len();
                let mut headers: Vec<String> = chunks
                    .into_iter()
                    .enumerate()
                    .map(|(i, value)| {
                        config
                            .codec
                            .set_cookie(&chunk_name(name, i), value, "/", max_age)
                    })
                    .collect();
                headers.extend(remove_from(count));
                headers
            }
            Change::Clear => remove_from(0),
            Change::Unchanged => {
                // Only when someone looked and found the cookie unusable: clean it up.
                let rejected = self.has_cookie() && matches!(self.loaded.get(), Some(None));
                if rejected { remove_from(0) } else { Vec::new() }
            }
        }
    }

    fn set_change(&self, change: Change) {
        *self.lock() = change;
    }

    fn lock(&self) -> MutexGuard<'_, Change> {
        // A poisoned lock only means a panic elsewhere; the data is still consistent.
        self.change.lock().unwrap_or_else(|e| e.into_inner())
    }
}
