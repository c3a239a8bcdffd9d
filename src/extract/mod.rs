//! Extractors: [`BearerUser`] (who is calling, verified with the provider) and
//! [`AuthSession`] (the login session itself).

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::auth::{
    ActiveSession, AuthRejection, Authenticated, Credential, Scope, TokenSource, authenticate,
    find, missing,
};
use crate::client::{TokenSet, UserInfo};
use crate::secret::AccessToken;

/// The authenticated caller: a token from `Authorization: Bearer` or else from the
/// session, resolved to a user by the provider's userinfo (or introspection) endpoint
/// through a bounded TTL cache with single-flight.
///
/// `U` is any type the userinfo JSON deserialises into; the default [`UserInfo`] types
/// vcita's fields. Rejections follow RFC 6750 (see [`AuthRejection`]): no credentials →
/// 401, malformed header → 400, refused token → 401 (and a session holding it ends),
/// provider down → 503 — never 401. `Option<BearerUser>` is `None` only when the request
/// has no credentials at all; bad credentials and outages still reject.
///
/// **Header tokens and audience.** With introspection, a header token must belong to
/// this app's client id (a token issued to another app is refused). A userinfo endpoint
/// cannot tell whom a token was issued to: with userinfo-resolved providers such as vcita,
/// any valid token of the user — also one issued to another app — passes. Accept header
/// tokens only from callers you trust with that, or resolve by introspection.
///
/// ```
/// use axum::{Json, Router, routing::get};
/// use axum_oauth_login::{BearerUser, UserInfo};
///
/// async fn api_me(user: BearerUser) -> Json<UserInfo> {
///     Json(user.into_info())
/// }
///
/// async fn greeting(user: Option<BearerUser>) -> String {
///     match user {
///         Some(u) => format!("Hello, {}", u.info().display_name()),
///         None => "Hello, stranger".into(),
///     }
/// }
/// let app: Router = Router::new().route("/api/me", get(api_me)).route("/hi", get(greeting));
/// ```
#[derive(Debug, Clone)]
pub struct BearerUser<U = UserInfo> {
    info: U,
    token: AccessToken,
    source: TokenSource,
}

impl<U> BearerUser<U> {
    /// The user.
    pub fn info(&self) -> &U {
        &self.info
    }
    /// The user, by value.
    pub fn into_info(self) -> U {
        self.info
    }
    /// The access token, to call the provider's API on the user's behalf.
    pub fn token(&self) -> &AccessToken {
        &self.token
    }
    /// Whether the token came from a header or from the session.
    pub fn source(&self) -> TokenSource {
        self.source
    }
}

fn into_user<U: DeserializeOwned>(auth: Authenticated) -> Result<BearerUser<U>, AuthRejection> {
    let info = U::deserialize(&*auth.user).map_err(|e| {
        tracing::error!(
            error = %e,
            "the provider's user info does not fit the type BearerUser was asked for"
        );
        AuthRejection::ProviderError
    })?;
    Ok(BearerUser {
        info,
        token: auth.token,
        source: auth.source,
    })
}

impl<S, U> FromRequestParts<S> for BearerUser<U>
where
    S: Send + Sync,
    U: DeserializeOwned + Send + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.extensions.get::<Authenticated>() {
            // A guard (or an earlier extractor) already resolved this request's caller.
            return into_user(auth.clone());
        }
        let credential = match parts.extensions.get::<Credential>() {
            Some(found) => found.clone(),
            None => find(&parts.extensions, &parts.method, &parts.headers, Scope::Any)
                .await?
                .ok_or_else(|| missing(&parts.extensions, Scope::Any))?,
        };
        let auth = authenticate(credential).await?;
        parts.extensions.insert(auth.clone());
        into_user(auth)
    }
}

impl<S, U> OptionalFromRequestParts<S> for BearerUser<U>
where
    S: Send + Sync,
    U: DeserializeOwned + Send + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <Self as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(user) => Ok(Some(user)),
            Err(AuthRejection::MissingCredentials { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The login session of the request: its tokens, the user snapshot taken at login, and
/// [`logout`](AuthSession::logout).
///
/// Rejects with `401` when there is no session; use `Option<AuthSession>` for pages that
/// work either way (it is `None` without a session, and still answers `503` in the one
/// case it cannot decide: the access token expired and the provider cannot refresh it
/// right now).
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
#[derive(Clone)]
pub struct AuthSession(ActiveSession);

impl std::fmt::Debug for AuthSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSession")
            .field("data", &self.0.data)
            .finish()
    }
}

impl AuthSession {
    /// The session's token set.
    pub fn tokens(&self) -> &TokenSet {
        &self.0.data.tokens
    }
    /// The user as the provider described them at login, when a snapshot was taken.
    pub fn user(&self) -> Option<&UserInfo> {
        self.0.data.user.as_ref()
    }
    /// The name of the provider this session logged in with (`vcita`, `apicbase`, ...).
    pub fn provider(&self) -> &str {
        self.0.rs.shared.client.provider().name()
    }
    /// When the user logged in (unix seconds).
    pub fn logged_in_at(&self) -> u64 {
        self.0.data.created_at
    }
    /// Ends the session: the cookie is removed with this response, and the tokens are
    /// revoked when the provider has a revocation endpoint (best effort).
    pub async fn logout(self) {
        crate::auth::logout(&self.0.rs).await;
    }
}

/// The first session among the request's providers (innermost layer first), with its
/// tokens refreshed when due; what a guard found first.
async fn find_session(parts: &Parts) -> Result<Option<AuthSession>, AuthRejection> {
    if let Some(Credential::Session(active)) = parts.extensions.get::<Credential>() {
        return Ok(Some(AuthSession(active.clone())));
    }
    match find(
        &parts.extensions,
        &parts.method,
        &parts.headers,
        Scope::Sessions,
    )
    .await?
    {
        Some(Credential::Session(active)) => Ok(Some(AuthSession(active))),
        _ => Ok(None),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthSession {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        find_session(parts)
            .await?
            .ok_or_else(|| missing(&parts.extensions, Scope::Sessions))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for AuthSession {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        find_session(parts).await
    }
}
