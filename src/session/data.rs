//! What an authenticated session holds: [`SessionData`], the state machine's second step.

use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::TokenSet;
use crate::oidc::IdClaims;
use crate::store::SessionId;
use crate::typed::Typed;
use crate::users::Resolved;

/// The authenticated state of one browser: the state machine's second step.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct SessionData {
    /// Random id (256 bits), new at every login (session fixation defence); the key of a
    /// server-side record.
    pub(crate) id: SessionId,
    pub(crate) tokens: TokenSet,
    /// The session's user as JSON: the login hook's user when the app has a hook
    /// (`app_user`), else the userinfo snapshot taken at login, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<Value>,
    /// Whether `user` is the login hook's (typed by the app) rather than the provider's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) app_user: bool,
    /// The provider's id of the user (`sub`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sub: Option<String>,
    /// The provider's session id (`sid` of the validated id_token): back-channel logout
    /// names sessions by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sid: Option<String>,
    /// Whether `tokens.id_token` was validated (OpenID Connect): only then are its
    /// claims handed to the app.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) id_checked: bool,
    /// For a connected account's record (not a browser session): the app's account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) account: Option<String>,
    pub(crate) created_at: u64,
    /// Absolute end of the session, whatever else happens.
    pub(crate) expires_at: u64,
    /// When the session was last seen (coarsely: renewed at most every tenth of the idle
    /// timeout), for the idle timeout.
    #[serde(default)]
    pub(crate) last_seen: u64,
    /// Access tokens a refresh superseded that may still be live at the provider, kept
    /// until they expire so that logout revokes them too (another instance may still be
    /// serving one, so they are not revoked at the refresh).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) retired: Vec<Retired>,
    /// `user` deserialised into the type last asked for, so a cached session does not
    /// parse its user again on every request.
    #[serde(skip)]
    typed_user: Typed,
    /// The provider's user for `tokens.access_token`, as the user cache resolved it,
    /// with the time it stays fresh (the first resolution per session value).
    #[serde(skip)]
    resolved: OnceLock<(Resolved, u64)>,
    /// The validated id_token's claims, decoded once per session value.
    #[serde(skip)]
    id_claims: OnceLock<Option<Arc<IdClaims>>>,
}

/// An access token a refresh superseded, and when it expires (unix seconds).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Retired {
    pub(crate) token: crate::secret::AccessToken,
    pub(crate) until: u64,
}

/// How many superseded access tokens a session keeps for revocation at logout.
const MAX_RETIRED: usize = 4;

/// How long a superseded access token without an expiry is kept for revocation.
const RETIRED_WITHOUT_EXPIRY_SECS: u64 = 3600;

/// The session's user, at login.
pub(crate) enum LoginUser {
    /// No user kept.
    None,
    /// The provider's userinfo snapshot.
    Provider(Value),
    /// The login hook's user.
    App(Value),
}

impl SessionData {
    /// A fresh session: new id, nothing carried over from before.
    pub(crate) fn start(
        tokens: TokenSet,
        user: LoginUser,
        sub: Option<String>,
        now: u64,
        ttl_secs: u64,
    ) -> Self {
        let (user, app_user) = match user {
            LoginUser::None => (None, false),
            LoginUser::Provider(v) => (Some(v), false),
            LoginUser::App(v) => (Some(v), true),
        };
        SessionData {
            id: SessionId::random(),
            tokens,
            user,
            app_user,
            sub,
            sid: None,
            id_checked: false,
            account: None,
            created_at: now,
            expires_at: now.saturating_add(ttl_secs),
            last_seen: now,
            retired: Vec::new(),
            typed_user: Typed::default(),
            resolved: OnceLock::new(),
            id_claims: OnceLock::new(),
        }
    }

    /// Records validated id_token claims: the session's `sub` and `sid` come from them.
    pub(crate) fn with_id_claims(mut self, claims: Option<&IdClaims>) -> Self {
        if let Some(claims) = claims {
            self.sub = Some(claims.sub.clone());
            if claims.sid.is_some() {
                self.sid.clone_from(&claims.sid);
            }
            self.id_checked = true;
            // The cached claims were the previous id_token's.
            self.id_claims = OnceLock::new();
        }
        self
    }

    /// The claims of the session's id_token, when it was validated: decoded from the
    /// token (sealed in the session since its check) once per session value.
    pub(crate) fn id_claims(&self) -> Option<Arc<IdClaims>> {
        if !self.id_checked {
            return None;
        }
        self.id_claims
            .get_or_init(|| {
                let token = self.tokens.id_token()?;
                crate::oidc::decode_checked(token.secret()).map(Arc::new)
            })
            .clone()
    }

    /// This session after a refresh that produced `tokens`: what the answer omitted is
    /// kept (scope, refresh token, id_token), and the superseded access token is retired
    /// while it may still be live (dropped once expired; the oldest first past
    /// [`MAX_RETIRED`]).
    pub(crate) fn refreshed(&self, mut tokens: TokenSet, now: u64) -> SessionData {
        tokens.inherit_omitted(&self.tokens);
        let mut next = self.clone();
        let old = self.tokens.access_token();
        if old.secret() != tokens.access_token().secret() {
            let until = self
                .tokens
                .expires_at()
                .unwrap_or(now.saturating_add(RETIRED_WITHOUT_EXPIRY_SECS));
            next.retired.push(Retired {
                token: old.clone(),
                until,
            });
        }
        next.retired.retain(|r| r.until > now);
        let excess = next.retired.len().saturating_sub(MAX_RETIRED);
        next.retired.drain(..excess);
        next.tokens = tokens;
        next
    }

    /// The provider's id of the user: as recorded, or from the snapshot of sessions that
    /// predate the record.
    pub(crate) fn subject(&self) -> Option<String> {
        self.sub.clone().or_else(|| {
            self.user
                .as_ref()
                .filter(|_| !self.app_user)
                .and_then(crate::client::subject_of)
        })
    }

    /// The session's user as `U`, parsed once per session value (`None` without a user).
    pub(crate) fn user_as<U>(&self) -> Result<Option<Arc<U>>, serde_json::Error>
    where
        U: DeserializeOwned + Send + Sync + 'static,
    {
        match &self.user {
            Some(value) => self.typed_user.get(value).map(Some),
            None => Ok(None),
        }
    }

    /// The resolved user kept with this session value while it is fresh (`until`, clock
    /// seconds): `BearerUser` from a session then needs no lookup at all.
    pub(crate) fn resolved_user(&self, now: u64) -> Option<Resolved> {
        self.resolved
            .get()
            .filter(|(_, until)| *until > now)
            .map(|(resolved, _)| resolved.clone())
    }

    /// Keeps `resolved` with this session value until `until`.
    pub(crate) fn keep_resolved(&self, resolved: Resolved, until: u64) {
        let _ = self.resolved.set((resolved, until));
    }
}

impl std::fmt::Debug for SessionData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionData")
            .field("tokens", &self.tokens)
            .field("user", &self.user.is_some())
            .field("app_user", &self.app_user)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("last_seen", &self.last_seen)
            .finish_non_exhaustive()
    }
}
