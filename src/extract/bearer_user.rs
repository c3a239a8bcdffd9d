//! [`BearerUser`]: the caller, resolved by the provider.

use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::audience::Audience;
use crate::auth::{
    AuthRejection, Authenticated, Found, RequestSessions, Scope, TokenSource, authenticate, find,
    find_now, missing,
};
use crate::authz::{Forbidden, missing_scopes};
use crate::client::{ProviderUser, UserInfo};
use crate::secret::AccessToken;
use crate::state::Shared;

/// The authenticated caller: a token from `Authorization: Bearer` or else from the
/// session, resolved to a user by the provider's userinfo (or introspection) endpoint
/// through a bounded TTL cache with single-flight.
///
/// `U` is a [`ProviderUser`]: a type of the provider's answer, never the login hook's
/// user (that one is [`AuthSession<U>`](crate::AuthSession)'s; see [`ProviderUser`] for
/// why a Bearer caller is the provider's user); the default [`UserInfo`] types vcita's
/// fields. A `U` that does not fit the provider's answer is the app's bug: `500`,
/// with a log line naming the type and the field. Rejections follow RFC 6750 (see
/// [`AuthRejection`]): no credentials → 401, malformed header → 400, refused token → 401
/// (and a session holding it ends), provider down → 503 — never 401.
/// `Option<BearerUser>` is `None` only when the request has no credentials at all; bad
/// credentials and outages still reject.
///
/// **Header tokens and audience.** With introspection, a header token must belong to
/// this app's client id (a token issued to another app is refused). A userinfo endpoint
/// cannot tell whom a token was issued to: with userinfo-resolved providers such as vcita,
/// any valid token of the user — also one issued to another app — passes. Accept header
/// tokens only from callers you trust with that, or resolve by introspection.
///
/// ```
/// use std::sync::Arc;
/// use axum::{Json, Router, routing::get};
/// use axum_oauth_login::{BearerUser, Forbidden, UserInfo};
///
/// async fn api_me(user: BearerUser) -> Json<Arc<UserInfo>> {
///     Json(user.info_arc())
/// }
///
/// async fn greeting(user: Option<BearerUser>) -> String {
///     match user {
///         Some(u) => format!("Hello, {}", u.info().display_name()),
///         None => "Hello, stranger".into(),
///     }
/// }
///
/// // 403 with `insufficient_scope` unless the token carries `orders:write`.
/// async fn place_order(user: BearerUser) -> Result<&'static str, Forbidden> {
///     user.require_scopes(["orders:write"])?;
///     Ok("ordered")
/// }
/// let app: Router = Router::new()
///     .route("/api/me", get(api_me))
///     .route("/hi", get(greeting))
///     .route("/api/orders", axum::routing::post(place_order));
/// ```
#[derive(Clone)]
pub struct BearerUser<U: ProviderUser = UserInfo> {
    info: Arc<U>,
    auth: Authenticated,
    audience: Audience,
}

impl<U: ProviderUser + std::fmt::Debug> std::fmt::Debug for BearerUser<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerUser")
            .field("info", &self.info)
            .field("token", self.auth.token())
            .field("source", &self.auth.source())
            .finish_non_exhaustive()
    }
}

impl<U: ProviderUser> BearerUser<U> {
    /// The user.
    pub fn info(&self) -> &U {
        &self.info
    }
    /// The user, shared: the parse the cache keeps for this token (no copy).
    pub fn info_arc(&self) -> Arc<U> {
        self.info.clone()
    }
    /// The user, by value (a copy of the cached parse; [`info`](Self::info) and
    /// [`info_arc`](Self::info_arc) avoid it).
    pub fn into_info(self) -> U
    where
        U: Clone,
    {
        Arc::unwrap_or_clone(self.info)
    }
    /// The access token, to call the provider's API on the user's behalf.
    pub fn token(&self) -> &AccessToken {
        self.auth.token()
    }
    /// Whether the token came from a header or from the session.
    pub fn source(&self) -> TokenSource {
        self.auth.source()
    }
    /// The scopes the token carries (space-separated), when the provider says: the
    /// session's token set, or an introspection answer. `None` when the provider does
    /// not report scopes (vcita's token and userinfo answers carry none).
    pub fn scopes(&self) -> Option<&str> {
        self.auth.scope()
    }
    /// `Ok` when the token carries every scope of `required`; else [`Forbidden`] — `403`
    /// with `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."` for API
    /// callers, a page for browsers. Fails closed: without scope information from the
    /// provider, no scope is granted.
    pub fn require_scopes<I, S>(&self, required: I) -> Result<(), Forbidden>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let required: Vec<S> = required.into_iter().collect();
        missing_scopes(&required, self.scopes())
            .map_err(|denial| Forbidden::new(self.shared().clone(), denial, self.audience))
    }

    fn shared(&self) -> &Arc<Shared> {
        self.auth.shared()
    }
}

fn into_user<U: ProviderUser>(
    auth: Authenticated,
    audience: Audience,
) -> Result<BearerUser<U>, AuthRejection> {
    // Parsed once per resolved answer (a cache entry, or the session's kept user).
    let info = auth.typed().get::<U>(auth.user()).map_err(|e| {
        tracing::error!(
            error = %crate::transport::misfit(&e),
            user_type = std::any::type_name::<U>(),
            "the provider's user info does not fit the type BearerUser was asked for"
        );
        AuthRejection::Misconfigured
    })?;
    Ok(BearerUser {
        info,
        auth,
        audience,
    })
}

impl<S, U> FromRequestParts<S> for BearerUser<U>
where
    S: Send + Sync,
    U: ProviderUser,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(auth) = RequestSessions::authenticated(&parts.extensions) {
            // A guard (or an earlier extractor) already resolved this request's caller.
            return into_user(auth.clone(), audience(auth, &parts.headers));
        }
        let (extensions, method, headers) = (&parts.extensions, &parts.method, &parts.headers);
        let credential = match RequestSessions::found(extensions) {
            Some(found) => found.clone(),
            None => match find_now(extensions, method, headers, Scope::Any)? {
                Found::Credential(credential) => credential,
                Found::Nothing => return Err(missing(extensions, Scope::Any)),
                // Boxed: a refresh's state would otherwise make this future kilobytes
                // large.
                Found::NeedsAwait => Box::pin(find(extensions, method, headers, Scope::Any))
                    .await?
                    .ok_or_else(|| missing(extensions, Scope::Any))?,
            },
        };
        let auth = authenticate(credential).await?;
        RequestSessions::keep_authenticated(&mut parts.extensions, auth.clone());
        let audience = audience(&auth, &parts.headers);
        into_user(auth, audience)
    }
}

/// Who a refusal of `require_scopes` is shaped for: a header's token is an API call's
/// (no need to read the other headers), a session's is whoever sent the request.
fn audience(auth: &Authenticated, headers: &http::HeaderMap) -> Audience {
    match auth.source() {
        TokenSource::Header => Audience::Api,
        TokenSource::Session => Audience::of(headers),
    }
}

impl<S, U> OptionalFromRequestParts<S> for BearerUser<U>
where
    S: Send + Sync,
    U: ProviderUser,
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
