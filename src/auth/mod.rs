//! A request's auth context: one [`RequestSession`] per `OAuth` whose layer it passed,
//! the caller resolved from them ([`caller`]), the RFC 6750 answers when that fails, and
//! logout.

mod bearer;
mod caller;
mod dpop;
mod rejection;

use std::sync::Arc;

use http::Extensions;
use serde_json::Value;

pub(crate) use self::bearer::authorization_token;
#[cfg(fuzzing)]
pub(crate) use self::bearer::bearer_token;
pub(crate) use self::caller::{
    ActiveSession, Credential, Found, Scope, authenticate, find, find_now, missing,
};
pub use self::rejection::AuthRejection;
use crate::client::{TokenRef, TokenSet};
use crate::secret::AccessToken;
use crate::session::SessionHandle;
use crate::state::Shared;

/// One provider's view of a request: its shared state and the request's session handle.
/// The layer puts one per `OAuth` instance in the request's extensions.
#[derive(Clone)]
pub(crate) struct RequestSession {
    pub(crate) shared: Arc<Shared>,
    pub(crate) handle: Arc<SessionHandle>,
}

impl RequestSession {
    /// Captures the session cookie of `shared`'s provider (no decryption).
    pub(crate) fn new(shared: &Arc<Shared>, headers: &http::HeaderMap) -> RequestSession {
        RequestSession {
            shared: shared.clone(),
            handle: Arc::new(SessionHandle::from_headers(shared.session.clone(), headers)),
        }
    }

    /// Adds this session to the request's list.
    pub(crate) fn attach(self, extensions: &mut Extensions) {
        match extensions.get_mut::<RequestSessions>() {
            Some(list) => list.inner.push(self),
            None => {
                extensions.insert(RequestSessions {
                    outermost: self,
                    inner: Vec::new(),
                    found: None,
                    authenticated: None,
                    dpop_proof: std::sync::OnceLock::new(),
                });
            }
        }
    }

    /// The session `shared`'s layer attached to this request: the one way the auth
    /// routes, guards and extractors reach it. Without the layer it is
    /// [`AuthRejection::MissingLayer`], never a silent fallback.
    pub(crate) fn of<'a>(
        extensions: &'a Extensions,
        shared: &Arc<Shared>,
    ) -> Result<&'a RequestSession, AuthRejection> {
        RequestSessions::of(extensions)?
            .innermost_first()
            .find(|rs| Arc::ptr_eq(&rs.shared, shared))
            .ok_or(AuthRejection::MissingLayer)
    }
}

/// Every [`RequestSession`] of a request: the outermost layer's, then the others from
/// the outside in (the common single layer needs no list); and what a guard or extractor
/// found, for the extractors behind it. Those are kept here, not as extensions of their
/// own: one entry fewer in the request's map, which then does not grow per request.
#[derive(Clone)]
pub(crate) struct RequestSessions {
    outermost: RequestSession,
    inner: Vec<RequestSession>,
    /// The credential the last guard found.
    found: Option<Credential>,
    /// The caller the last guard or extractor resolved.
    authenticated: Option<Authenticated>,
    /// This request's DPoP proof, checked once whoever asks (a guard, then extractors):
    /// a second check would find its own `jti` spent. With the provider that checked it.
    dpop_proof: std::sync::OnceLock<(usize, Result<Box<str>, AuthRejection>)>,
}

/// [`RequestSessions`] from the innermost layer (closest to the handler) outwards.
pub(crate) type InnermostFirst<'a> = std::iter::Chain<
    std::iter::Rev<std::slice::Iter<'a, RequestSession>>,
    std::iter::Once<&'a RequestSession>,
>;

impl RequestSessions {
    /// The request's sessions; [`AuthRejection::MissingLayer`] when no layer ran.
    pub(crate) fn of(extensions: &Extensions) -> Result<&RequestSessions, AuthRejection> {
        extensions
            .get::<RequestSessions>()
            .ok_or(AuthRejection::MissingLayer)
    }

    /// The credential a guard found for this request, if one did.
    pub(crate) fn found(extensions: &Extensions) -> Option<&Credential> {
        extensions.get::<RequestSessions>()?.found.as_ref()
    }

    /// The caller a guard or extractor resolved for this request, if one did.
    pub(crate) fn authenticated(extensions: &Extensions) -> Option<&Authenticated> {
        extensions.get::<RequestSessions>()?.authenticated.as_ref()
    }

    /// Keeps the credential a guard found, for the extractors behind it. (A credential
    /// is only found through a layer's sessions: without them there is nothing to keep.)
    pub(crate) fn keep_found(extensions: &mut Extensions, found: Credential) {
        if let Some(list) = extensions.get_mut::<RequestSessions>() {
            list.found = Some(found);
        }
    }

    /// Keeps the resolved caller, for the extractors behind the guard or extractor.
    pub(crate) fn keep_authenticated(extensions: &mut Extensions, authenticated: Authenticated) {
        if let Some(list) = extensions.get_mut::<RequestSessions>() {
            list.authenticated = Some(authenticated);
        }
    }

    /// Sessions from the innermost layer (closest to the handler) outwards.
    pub(crate) fn innermost_first(&self) -> InnermostFirst<'_> {
        self.inner
            .iter()
            .rev()
            .chain(std::iter::once(&self.outermost))
    }
}

/// Where a request's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// An `Authorization: Bearer` header.
    Header,
    /// The login session's cookie.
    Session,
}

/// A caller whose token the provider accepted: the credential it presented and the
/// provider's answer, in one shared allocation (the request keeps a copy for the
/// extractors behind the first, and `BearerUser` holds one: a clone copies no token).
#[derive(Clone)]
pub(crate) struct Authenticated(Arc<Caller>);

struct Caller {
    credential: Credential,
    resolved: crate::users::Resolved,
}

impl Authenticated {
    pub(crate) fn new(credential: Credential, resolved: crate::users::Resolved) -> Self {
        Authenticated(Arc::new(Caller {
            credential,
            resolved,
        }))
    }

    /// The access token the caller presented (the header's, or the session's).
    pub(crate) fn token(&self) -> &AccessToken {
        match &self.0.credential {
            Credential::Header { token, .. } => token,
            Credential::Session(active) => active.data.tokens.access_token(),
        }
    }

    /// The scopes the token carries (space-separated), when known: the session's token
    /// set, else the provider's introspection answer.
    pub(crate) fn scope(&self) -> Option<&str> {
        let session = match &self.0.credential {
            Credential::Session(active) => active.data.tokens.scope(),
            Credential::Header { .. } => None,
        };
        session.or(self.0.resolved.scope.as_deref())
    }

    /// Where the token came from.
    pub(crate) fn source(&self) -> TokenSource {
        match &self.0.credential {
            Credential::Header { .. } => TokenSource::Header,
            Credential::Session(_) => TokenSource::Session,
        }
    }

    /// The provider that accepted it.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        match &self.0.credential {
            Credential::Header { rs, .. } => &rs.shared,
            Credential::Session(active) => &active.rs.shared,
        }
    }

    /// The provider's user.
    pub(crate) fn user(&self) -> &Arc<Value> {
        &self.0.resolved.user
    }

    /// `user` parsed into the app's type, once per resolved answer.
    pub(crate) fn typed(&self) -> &crate::typed::Typed {
        &self.0.resolved.typed
    }
}

impl std::fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticated")
            .field("token", self.token())
            .field("source", &self.source())
            .finish_non_exhaustive()
    }
}

/// Logs the request's session out: a cookie-held session goes on the denylist until it
/// would have expired (copies of the cookie die too, on every instance sharing the
/// denylist's store); revokes its tokens (and those a refresh made from them within the
/// grace window), forgets their cached users, and clears the session so the layer
/// removes the cookie. The one logout of the crate: the route and `AuthSession::logout`
/// both call it. Returns the ended session's tokens (the route takes the id_token to the
/// provider's end-session endpoint).
pub(crate) async fn logout(rs: &RequestSession) -> Option<TokenSet> {
    let current = match rs.handle.current().await {
        Ok(session) => session,
        // The record (and its tokens) cannot be read now; the cookie goes regardless.
        Err(e) => {
            tracing::error!(error = %e, "logout could not read the session record");
            None
        }
    };
    // Deleted first, then revoked: a refresh on another instance either saved before the
    // delete (its tokens are in the taken record) or finds the record gone and revokes.
    let taken = rs.handle.end().await;
    let taken = taken.filter(|t| {
        current
            .as_ref()
            .is_none_or(|c| c.tokens.access_token().secret() != t.tokens.access_token().secret())
    });
    // Concurrently: the denylist entry holds at once, and a slow shared store does not
    // hold revocation up (nor the other way round).
    tokio::join!(
        async {
            if let Some(session) = &current {
                deny_copies(&rs.shared, session).await;
            }
        },
        async {
            if let Some(session) = &current {
                end_session(&rs.shared, session).await;
            }
        },
        async {
            if let Some(taken) = &taken {
                end_session(&rs.shared, taken).await;
            }
        },
    );
    current.map(|session| session.tokens.clone())
}

/// A cookie-held session cannot be deleted: its id goes on the denylist until the session
/// would have expired, so a copy of the cookie is refused (by `BearerUser`, `AuthSession`
/// and the guards alike: every read checks the denylist). A server-side store's record
/// is deleted instead (`SessionHandle::end`). The local entry holds whatever happens; a
/// shared store that cannot be written leaves the other instances honouring a copy.
async fn deny_copies(shared: &Shared, session: &crate::session::SessionData) {
    let config = &shared.session;
    if config.store().is_some() {
        return;
    }
    let left = session.expires_at.saturating_sub(config.clock.now());
    let ttl = std::time::Duration::from_secs(left.max(1));
    if let Err(e) = config.denylist.add_session(&session.id, ttl).await {
        tracing::error!(
            error = %e,
            "logout could not reach the shared denylist: other instances keep honouring \
             copies of this session's cookie until it expires"
        );
    }
}

/// Ends a session's tokens: revokes them, and also the tokens a refresh made from them
/// within the grace window (another tab may have refreshed; a replay of a pre-refresh
/// cookie would otherwise get those back), and forgets their cached users.
pub(crate) async fn end_tokens(shared: &Shared, tokens: &TokenSet) {
    end(shared, tokens, &[]).await;
}

/// Ends a session: [`end_tokens`], and the access tokens its refreshes superseded that
/// may still be live.
pub(crate) async fn end_session(shared: &Shared, data: &crate::session::SessionData) {
    end(shared, &data.tokens, &data.retired).await;
}

async fn end(shared: &Shared, tokens: &TokenSet, retired: &[crate::session::Retired]) {
    let refreshed = match tokens.refresh_token() {
        Some(refresh) => shared.session.refresher().take_refreshed(refresh).await,
        None => None,
    };
    let now = shared.session.clock.now();
    let mut targets: Vec<TokenRef<'_>> = Vec::with_capacity(4 + retired.len());
    for set in std::iter::once(tokens).chain(refreshed.as_ref()) {
        if let Some(refresh) = set.refresh_token()
            && !targets.iter().any(|t| t.secret() == refresh.secret())
        {
            targets.push(TokenRef::Refresh(refresh));
        }
        targets.push(TokenRef::Access(set.access_token()));
        shared.users.forget(set.access_token()).await;
    }
    for old in retired.iter().filter(|r| r.until > now) {
        targets.push(TokenRef::Access(&old.token));
        shared.users.forget(&old.token).await;
    }
    shared.client.revoke_all(targets).await;
}
