//! [`AuthSession`]: the login session, with the app's typed user.

use std::any::TypeId;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::audience::Audience;
use crate::auth::{
    ActiveSession, AuthRejection, Credential, RequestSessions, Scope, find, missing,
};
use crate::authz::{Forbidden, missing_scopes};
use crate::client::{TokenSet, UserInfo};

/// The login session of the request: its tokens, its user, and
/// [`logout`](AuthSession::logout).
///
/// The user is what the login kept: with a [login hook](crate::OAuthBuilder::on_login),
/// the app's own type `U` — ask for `AuthSession<YourUser>`; asking for another type is
/// a wiring bug answered with `500` and a log line naming both types. Without a hook,
/// the provider's userinfo snapshot taken at login (as [`UserInfo`] by default, or any
/// type it deserialises into). The user is parsed once per session, not per request.
/// A session kept before the app's hook (or its user type) changed ends, so the next
/// login runs the hook: it never yields a user of the wrong shape.
///
/// Rejects with `401` when there is no session; use `Option<AuthSession>` for pages that
/// work either way (it is `None` without a session, and still answers `503` in the one
/// case it cannot decide: the access token expired and the provider cannot refresh it
/// right now).
///
/// **A public page while the store is down.** `Option<AuthSession>` cannot tell "no
/// session" from "cannot know" when a server-side store is unreachable, and answers
/// `503`. A page that should render for everyone anyway takes
/// `Result<AuthSession, AuthRejection>` (axum hands the rejection over) and treats every
/// error as anonymous; the crate has logged the outage (a `warn` line):
///
/// ```
/// use axum_oauth_login::{AuthRejection, AuthSession};
///
/// async fn home(session: Result<AuthSession, AuthRejection>) -> String {
///     match session {
///         Ok(s) => format!("Hello, {}", s.user().map_or("you", |u| u.display_name())),
///         // No session, or the store / provider cannot answer now: the public page.
///         Err(_) => "Log in with vcita".into(),
///     }
/// }
/// ```
///
/// **One caller per request.** Guards, [`BearerUser`](crate::BearerUser) and
/// `AuthSession` agree on who is calling: an `Authorization: Bearer` header first, else
/// the login session (innermost layer first). A request whose caller is a header's token
/// has no login session: `AuthSession` answers `400` with `error="invalid_request"`
/// ([`AuthRejection::SessionRequired`]) and `Option<AuthSession>` is `None` — even when
/// the same request also carries a session cookie, so a guard that let the token's user
/// in never hands the handler another user's session.
///
/// ```
/// use axum_oauth_login::AuthSession;
///
/// async fn home(session: Option<AuthSession>) -> String {
///     match session.and_then(|s| s.user().map(|u| u.display_name().to_owned())) {
///         Some(name) => format!("Hello, {name}"),
///         None => "Log in with vcita".into(),
///     }
/// }
/// ```
pub struct AuthSession<U = UserInfo> {
    active: ActiveSession,
    user: Option<Arc<U>>,
    audience: Audience,
}

impl<U> Clone for AuthSession<U> {
    fn clone(&self) -> Self {
        AuthSession {
            active: self.active.clone(),
            user: self.user.clone(),
            audience: self.audience,
        }
    }
}

impl<U> std::fmt::Debug for AuthSession<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSession")
            .field("data", &self.active.data)
            .finish()
    }
}

impl<U> AuthSession<U> {
    /// The session's token set.
    pub fn tokens(&self) -> &TokenSet {
        &self.active.data.tokens
    }
    /// The session's user: the login hook's, or the provider's snapshot from login;
    /// `None` when the login kept none.
    pub fn user(&self) -> Option<&U> {
        self.user.as_deref()
    }
    /// The user, shared (cheap to clone into tasks).
    pub fn user_arc(&self) -> Option<Arc<U>> {
        self.user.clone()
    }
    /// The name of the provider this session logged in with (`vcita`, `apicbase`, ...).
    pub fn provider(&self) -> &str {
        self.active.rs.shared.client.provider().name()
    }
    /// The claims of the session's id_token, validated at login (and at every refresh
    /// that brought a new one), for an OpenID Connect provider; `None` otherwise.
    /// Decoded once per session value.
    ///
    /// ```
    /// use axum_oauth_login::AuthSession;
    /// async fn who(session: AuthSession) -> String {
    ///     match session.id_claims() {
    ///         Some(claims) => format!("{} via {}", claims.sub, claims.iss),
    ///         None => "not an OpenID Connect login".into(),
    ///     }
    /// }
    /// ```
    pub fn id_claims(&self) -> Option<Arc<crate::oidc::IdClaims>> {
        self.active.data.id_claims()
    }
    /// When the user logged in (unix seconds).
    pub fn logged_in_at(&self) -> u64 {
        self.active.data.created_at
    }
    /// `Ok` when the session's token set carries every scope of `required`; else
    /// [`Forbidden`] (`403`). Fails closed when the provider did not report scopes.
    pub fn require_scopes<I, S>(&self, required: I) -> Result<(), Forbidden>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let required: Vec<S> = required.into_iter().collect();
        missing_scopes(&required, self.tokens().scope())
            .map_err(|denial| Forbidden::new(self.active.rs.shared.clone(), denial, self.audience))
    }
    /// The provider's API as this session's user: requests to the provider's API base
    /// with the session's token, refreshed when due and once after a `401`; refreshed
    /// tokens are written back to the session (the cookie re-sealed on this response, or
    /// the store record updated). See [`ProviderApi`](crate::api::ProviderApi).
    pub fn api(&self) -> crate::api::ProviderApi {
        crate::api::ProviderApi::for_session(self.active.rs.clone())
    }
    /// Ends the session: the cookie is removed with this response, and the tokens are
    /// revoked when the provider has a revocation endpoint (best effort).
    ///
    /// This ends the session here only; the logout route (`POST /auth/logout`) also
    /// continues at an OpenID Connect provider's end-session endpoint.
    pub async fn logout(self) {
        crate::auth::logout(&self.active.rs).await;
    }
}

/// The request's caller, when it is a login session: what a guard found, else the same
/// lookup every extractor and guard makes (the `Authorization: Bearer` header first,
/// then the sessions, innermost layer first, refreshed when due). `Err(SessionRequired)`
/// when the caller is a header's token: one caller per request.
async fn find_session(parts: &Parts) -> Result<Option<ActiveSession>, AuthRejection> {
    let credential = match RequestSessions::found(&parts.extensions) {
        Some(found) => Some(found.clone()),
        // Boxed: a refresh's state would otherwise make this future kilobytes large.
        None => {
            Box::pin(find(
                &parts.extensions,
                &parts.method,
                &parts.headers,
                Scope::Any,
            ))
            .await?
        }
    };
    match credential {
        Some(Credential::Session(active)) => Ok(Some(active)),
        Some(Credential::Header { rs, .. }) => Err(AuthRejection::SessionRequired {
            realm: rs.shared.realm.clone(),
        }),
        None => Ok(None),
    }
}

/// The session with its user as `U`, or why not.
async fn typed<U>(
    active: ActiveSession,
    audience: Audience,
) -> Result<Option<AuthSession<U>>, AuthRejection>
where
    U: DeserializeOwned + Send + Sync + 'static,
{
    let data = &active.data;
    if let Some(hook) = &active.rs.shared.on_login
        && !hook.returns::<U>()
        && TypeId::of::<U>() != TypeId::of::<serde_json::Value>()
    {
        tracing::error!(
            asked = std::any::type_name::<U>(),
            hook_returns = hook.type_name(),
            "AuthSession asked for another user type than the login hook returns: \
             use AuthSession<{}>",
            hook.type_name()
        );
        return Err(AuthRejection::Misconfigured);
    }
    match data.user_as::<U>() {
        Ok(user) => Ok(Some(AuthSession {
            active,
            user,
            audience,
        })),
        Err(e) if data.app_user => {
            tracing::warn!(
                error = %crate::transport::misfit(&e),
                user_type = std::any::type_name::<U>(),
                "the session's user no longer fits the app's user type; ending the session \
                 (tokens revoked) so the login hook runs again"
            );
            Box::pin(async {
                crate::auth::end_session(&active.rs.shared, data).await;
                active.rs.handle.end().await;
            })
            .await;
            Ok(None)
        }
        Err(e) => {
            tracing::error!(
                error = %crate::transport::misfit(&e),
                user_type = std::any::type_name::<U>(),
                "the provider's user snapshot does not fit the type AuthSession was asked for"
            );
            Err(AuthRejection::Misconfigured)
        }
    }
}

async fn extract<U>(parts: &Parts) -> Result<Option<AuthSession<U>>, AuthRejection>
where
    U: DeserializeOwned + Send + Sync + 'static,
{
    match find_session(parts).await? {
        Some(active) => typed(active, Audience::of(&parts.headers)).await,
        None => Ok(None),
    }
}

impl<S, U> FromRequestParts<S> for AuthSession<U>
where
    S: Send + Sync,
    U: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        extract(parts)
            .await?
            .ok_or_else(|| missing(&parts.extensions, Scope::Any))
    }
}

impl<S, U> OptionalFromRequestParts<S> for AuthSession<U>
where
    S: Send + Sync,
    U: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match extract(parts).await {
            // The caller is a Bearer token: it has no login session.
            Err(AuthRejection::SessionRequired { .. }) => Ok(None),
            other => other,
        }
    }
}
