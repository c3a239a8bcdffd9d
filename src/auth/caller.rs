//! Who is calling: the one place that decides which credential of a request counts.
//!
//! [`find_now`] decides without awaiting whenever it can (a current session, no session,
//! a Bearer header); only a session whose tokens need a refresh takes the async path,
//! [`find`]. `RequireLogin` stores what it found in the request's extensions, and the
//! extractors read that first, so a guarded request is resolved once.

use std::sync::Arc;

use http::{Extensions, HeaderMap, Method};

use super::{
    AuthRejection, Authenticated, InnermostFirst, RequestSession, RequestSessions, TokenSource,
    authorization_token,
};
use crate::origin::is_unsafe;
use crate::secret::AccessToken;
use crate::session::{SessionData, SessionUnavailable};
use crate::state::Shared;
use crate::users::ResolveError;

/// A request's credential, before the user behind it is looked up.
#[derive(Clone)]
pub(crate) enum Credential {
    /// An `Authorization: Bearer` token, for `rs`'s provider to resolve.
    Header {
        token: AccessToken,
        rs: RequestSession,
        /// `Authorization: DPoP`: the thumbprint of the key whose proof came with it (the
        /// token must be bound to it); `None` for `Bearer` (it must be bound to none).
        dpop_jkt: Option<Box<str>>,
    },
    /// A login session with usable tokens.
    Session(ActiveSession),
}

/// A provider's session with usable (current or just refreshed) tokens.
#[derive(Clone)]
pub(crate) struct ActiveSession {
    pub(crate) rs: RequestSession,
    pub(crate) data: Arc<SessionData>,
}

/// Which credentials a lookup considers.
#[derive(Clone, Copy)]
pub(crate) enum Scope<'a> {
    /// The Bearer header (for the innermost provider), else the first provider session,
    /// innermost first: `BearerUser` and `AuthSession` (one caller per request).
    Any,
    /// One provider's Bearer header or session: its `RequireLogin`.
    Provider(&'a Arc<Shared>),
}

/// What [`find_now`] could decide without awaiting.
pub(crate) enum Found {
    Credential(Credential),
    Nothing,
    /// A session needs work that awaits (a refresh): call [`find`].
    NeedsAwait,
}

/// Whether `rs`'s session may authenticate this request: not when another origin sent
/// an unsafe request (the cookie then travelled without the app's say).
fn session_usable(rs: &RequestSession, method: &Method, headers: &HeaderMap) -> bool {
    !(is_unsafe(method) && rs.shared.origins.foreign(headers))
}

/// The sessions a scope looks at, innermost first.
/// (An iterator, not a collected list: this runs on every guarded or extracting request.)
fn candidates<'a>(
    extensions: &'a Extensions,
    scope: Scope<'_>,
) -> Result<Candidates<'a>, AuthRejection> {
    Ok(match scope {
        Scope::Any => Candidates::All(RequestSessions::of(extensions)?.innermost_first()),
        Scope::Provider(shared) => Candidates::One(Some(RequestSession::of(extensions, shared)?)),
    })
}

/// The sessions of [`candidates`], innermost first.
enum Candidates<'a> {
    All(InnermostFirst<'a>),
    One(Option<&'a RequestSession>),
}

impl<'a> Iterator for Candidates<'a> {
    type Item = &'a RequestSession;

    fn next(&mut self) -> Option<&'a RequestSession> {
        match self {
            Candidates::All(all) => all.next(),
            Candidates::One(one) => one.take(),
        }
    }
}

/// The credential of a request, decided without awaiting when possible.
pub(crate) fn find_now(
    extensions: &Extensions,
    method: &Method,
    headers: &HeaderMap,
    scope: Scope<'_>,
) -> Result<Found, AuthRejection> {
    let mut candidates = candidates(extensions, scope)?.peekable();
    let Some(&innermost) = candidates.peek() else {
        return Err(AuthRejection::MissingLayer);
    };
    let shared = &innermost.shared;
    let dpop = shared.dpop_proofs.as_ref();
    if let Some((token, is_dpop)) = authorization_token(headers, &shared.realm, dpop.is_some())? {
        let dpop_jkt = match dpop.filter(|_| is_dpop) {
            Some(proofs) => Some(checked_once(extensions, shared, || {
                super::dpop::check_proof(shared, proofs, extensions, method, headers, &token)
            })?),
            None => None,
        };
        return Ok(Found::Credential(Credential::Header {
            token,
            rs: innermost.clone(),
            dpop_jkt,
        }));
    }
    for rs in candidates {
        if !session_usable(rs, method, headers) {
            continue;
        }
        match rs.handle.get_if_current() {
            // Kept before the app's login hook changed: ended on the async path.
            Some(Some(data)) if stale(rs, &data) => return Ok(Found::NeedsAwait),
            Some(Some(data)) => {
                return Ok(Found::Credential(Credential::Session(ActiveSession {
                    rs: rs.clone(),
                    data,
                })));
            }
            Some(None) => {}
            // Innermost first: this one must be refreshed before looking further.
            None => return Ok(Found::NeedsAwait),
        }
    }
    Ok(Found::Nothing)
}

/// A request's DPoP proof checked by `check` once per request (per provider): guards
/// and extractors that ask again get the first outcome, not a replay of their own `jti`.
fn checked_once(
    extensions: &Extensions,
    shared: &Arc<Shared>,
    check: impl FnOnce() -> Result<String, AuthRejection>,
) -> Result<Box<str>, AuthRejection> {
    let owner = Arc::as_ptr(shared) as usize;
    let Ok(list) = RequestSessions::of(extensions) else {
        return check().map(String::into_boxed_str);
    };
    let mut check = Some(check);
    let (checked_by, outcome) = list.dpop_proof.get_or_init(|| {
        let check = check.take().expect("runs once");
        (owner, check().map(String::into_boxed_str))
    });
    match check {
        // Another provider's layer checked it first: this one checks for itself.
        Some(check) if *checked_by != owner => check().map(String::into_boxed_str),
        _ => outcome.clone(),
    }
}

/// The credential of a request: [`find_now`], then, when it needs to, the sessions with
/// their tokens refreshed (a refused refresh ends that session; an outage with an
/// expired token is `503`).
pub(crate) async fn find(
    extensions: &Extensions,
    method: &Method,
    headers: &HeaderMap,
    scope: Scope<'_>,
) -> Result<Option<Credential>, AuthRejection> {
    match find_now(extensions, method, headers, scope)? {
        Found::Credential(credential) => return Ok(Some(credential)),
        Found::Nothing => return Ok(None),
        Found::NeedsAwait => {}
    }
    for rs in candidates(extensions, scope)? {
        if !session_usable(rs, method, headers) {
            continue;
        }
        match rs.handle.get_fresh().await {
            Ok(Some(data)) if stale(rs, &data) => {
                tracing::info!(
                    "a session kept before the app's login hook was added or removed: \
                     ending it (tokens revoked) so the next login runs the hook"
                );
                super::end_session(&rs.shared, &data).await;
                rs.handle.end().await;
            }
            Ok(Some(data)) => {
                return Ok(Some(Credential::Session(ActiveSession {
                    rs: rs.clone(),
                    data,
                })));
            }
            Ok(None) => {}
            Err(SessionUnavailable::Provider) => return Err(AuthRejection::ProviderUnavailable),
            Err(SessionUnavailable::Store(e)) => {
                tracing::warn!(error = %e, "session store unavailable");
                return Err(AuthRejection::StoreUnavailable);
            }
        }
    }
    Ok(None)
}

/// Whether a session's user is of another kind than the app now keeps: the provider's
/// snapshot while the app has a login hook, or a hook's user while it has none.
fn stale(rs: &RequestSession, data: &SessionData) -> bool {
    data.app_user != rs.shared.on_login.is_some()
}

/// The rejection for a request without credentials in `scope`.
pub(crate) fn missing(extensions: &Extensions, scope: Scope<'_>) -> AuthRejection {
    match candidates(extensions, scope) {
        Ok(mut list) => AuthRejection::MissingCredentials {
            realm: list
                .next()
                .map_or_else(|| "app".to_owned(), |rs| rs.shared.realm.clone()),
        },
        Err(e) => e,
    }
}

/// Resolves a credential to its user through the provider's cache. A session token the
/// provider refuses ends that session.
pub(crate) async fn authenticate(credential: Credential) -> Result<Authenticated, AuthRejection> {
    let resolved = match &credential {
        // Not boxed: a cache hit awaits nothing, and the miss's lookup (large) is boxed
        // inside `resolve`, so this future stays small without an allocation per request.
        Credential::Header { token, rs, .. } => rs.shared.users.resolve(token, None, None).await,
        Credential::Session(ActiveSession { rs, data }) => {
            // A session value keeps the user it resolved while that answer is fresh: no
            // hash, no cache lookup per request.
            match data.resolved_user(rs.shared.clock.now()) {
                Some(kept) => Ok(kept),
                None => {
                    let tokens = &data.tokens;
                    let resolved = Box::pin(rs.shared.users.resolve(
                        tokens.access_token(),
                        tokens.expires_at(),
                        tokens.dpop_jkt(),
                    ))
                    .await;
                    if let Ok(resolved) = &resolved {
                        data.keep_resolved(resolved.clone(), resolved.until);
                    }
                    resolved
                }
            }
        }
    };
    let (rs, source) = match &credential {
        Credential::Header { rs, .. } => (rs, TokenSource::Header),
        Credential::Session(active) => (&active.rs, TokenSource::Session),
    };
    let shared = &rs.shared;
    match resolved {
        Ok(resolved) => {
            // RFC 9449 §7: a bound token only with a proof of its key, and only as DPoP.
            if let Credential::Header { dpop_jkt, .. } = &credential {
                let bound = resolved.bound_key();
                if bound != dpop_jkt.as_deref() {
                    tracing::info!(
                        sent_as_dpop = dpop_jkt.is_some(),
                        bound = bound.is_some(),
                        "a header token refused: its DPoP binding does not match the request"
                    );
                    return Err(AuthRejection::InvalidToken {
                        realm: shared.realm.clone(),
                    });
                }
            }
            Ok(Authenticated::new(credential, resolved))
        }
        Err(ResolveError::InvalidToken) => {
            if source == TokenSource::Session {
                tracing::info!("the provider refused the session's token; ending the session");
                // Boxed (rare): inline, a store's I/O would enlarge every caller's
                // future, and axum allocates and moves that future on every request.
                Box::pin(rs.handle.end()).await;
            }
            Err(AuthRejection::InvalidToken {
                realm: shared.realm.clone(),
            })
        }
        Err(ResolveError::Unavailable(e)) => {
            tracing::warn!(error = %e, "cannot resolve the user: provider unavailable");
            Err(AuthRejection::ProviderUnavailable)
        }
        Err(ResolveError::Failed(e)) => {
            tracing::error!(error = %e, "cannot resolve the user");
            Err(AuthRejection::ProviderError)
        }
    }
}
