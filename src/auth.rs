//! Who is calling: the bearer token of a request (RFC 6750 §2.1) or of its session,
//! resolved to a user, and the RFC 6750 §3 answers when that fails.

use std::sync::Arc;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, CACHE_CONTROL, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};

use crate::oauth::OAuth;
use crate::secret::AccessToken;
use crate::session::SessionHandle;
use crate::users::ResolveError;

/// One provider's view of a request: its [`OAuth`] and the request's session handle.
/// The layer puts one per `OAuth` instance in the request's extensions.
#[derive(Clone)]
pub(crate) struct RequestSession {
    pub(crate) oauth: OAuth,
    pub(crate) handle: Arc<SessionHandle>,
}

/// Every [`RequestSession`] of a request, outermost layer first.
#[derive(Clone, Default)]
pub(crate) struct RequestSessions(Vec<RequestSession>);

impl RequestSessions {
    /// The innermost session of `oauth`, if its layer ran.
    pub(crate) fn of(&self, oauth: &OAuth) -> Option<&RequestSession> {
        self.innermost_first()
            .find(|rs| Arc::ptr_eq(&rs.oauth.inner, &oauth.inner))
    }

    /// Sessions from the innermost layer (closest to the handler) outwards.
    pub(crate) fn innermost_first(&self) -> impl Iterator<Item = &RequestSession> {
        self.0.iter().rev()
    }
}

impl RequestSession {
    /// Captures the session cookie of `oauth` from the request headers (no decryption).
    pub(crate) fn new(oauth: &OAuth, headers: &http::HeaderMap) -> RequestSession {
        RequestSession {
            oauth: oauth.clone(),
            handle: Arc::new(SessionHandle::from_headers(
                oauth.inner.session.clone(),
                headers,
            )),
        }
    }

    /// Adds this session to the request's list.
    pub(crate) fn attach(self, extensions: &mut http::Extensions) {
        match extensions.get_mut::<RequestSessions>() {
            Some(list) => list.0.push(self),
            None => {
                extensions.insert(RequestSessions(vec![self]));
            }
        }
    }

    /// The request's session of `oauth`, or a new one attached to the request when the
    /// app did not apply that instance's layer (reads work; changes are not written).
    pub(crate) fn of<B>(oauth: &OAuth, req: &mut http::Request<B>) -> RequestSession {
        if let Some(existing) = req
            .extensions()
            .get::<RequestSessions>()
            .and_then(|list| list.of(oauth))
        {
            return existing.clone();
        }
        tracing::warn!("OAuth layer missing for this route: add `.layer(oauth.layer())`");
        let session = RequestSession::new(oauth, req.headers());
        session.clone().attach(req.extensions_mut());
        session
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

/// A caller whose token the provider accepted.
#[derive(Clone, Debug)]
pub(crate) struct Authenticated {
    pub(crate) token: AccessToken,
    pub(crate) user: Arc<Value>,
    pub(crate) source: TokenSource,
}

/// Why a request is not authenticated; answers as RFC 6750 §3 prescribes, with a JSON
/// body `{"error", "error_description"}` and `Cache-Control: no-store`.
///
/// | variant | status | `WWW-Authenticate` |
/// |---|---|---|
/// | `MissingCredentials` | 401 | `Bearer realm="…"` (no error code, §3.1) |
/// | `InvalidRequest` | 400 | `Bearer realm="…", error="invalid_request"` |
/// | `InvalidToken` | 401 | `Bearer realm="…", error="invalid_token"` |
/// | `ProviderUnavailable` | 503 + `Retry-After` | — |
/// | `ProviderError` | 502 | — |
/// | `MissingLayer` | 500 | — (a wiring mistake in the app) |
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_oauth_login::AuthRejection;
/// let res = AuthRejection::InvalidToken { realm: "app".into() }.into_response();
/// assert_eq!(res.status(), 401);
/// assert_eq!(
///     res.headers()["www-authenticate"],
///     r#"Bearer realm="app", error="invalid_token", error_description="the access token is invalid or expired""#
/// );
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthRejection {
    /// No token in the request and no session.
    #[error("authentication required")]
    MissingCredentials {
        /// The protection space.
        realm: String,
    },
    /// The `Authorization` header is not a well-formed Bearer credential.
    #[error("malformed Authorization header: {reason}")]
    InvalidRequest {
        /// The protection space.
        realm: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The provider refused the token (expired, revoked, unknown).
    #[error("the access token is invalid or expired")]
    InvalidToken {
        /// The protection space.
        realm: String,
    },
    /// The provider could not be asked; try again later. Never a reason to log out.
    #[error("the identity provider is unavailable")]
    ProviderUnavailable,
    /// The provider answered something unusable.
    #[error("the identity provider gave an unusable answer")]
    ProviderError,
    /// The extractor ran without `OAuth::layer()` around the route.
    #[error("OAuth layer missing: add `.layer(oauth.layer())` to the router")]
    MissingLayer,
}

impl AuthRejection {
    fn parts(&self) -> (StatusCode, &'static str, Option<&str>) {
        match self {
            AuthRejection::MissingCredentials { realm } => {
                (StatusCode::UNAUTHORIZED, "unauthorized", Some(realm))
            }
            AuthRejection::InvalidRequest { realm, .. } => {
                (StatusCode::BAD_REQUEST, "invalid_request", Some(realm))
            }
            AuthRejection::InvalidToken { realm } => {
                (StatusCode::UNAUTHORIZED, "invalid_token", Some(realm))
            }
            AuthRejection::ProviderUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                None,
            ),
            AuthRejection::ProviderError => (StatusCode::BAD_GATEWAY, "server_error", None),
            AuthRejection::MissingLayer => {
                (StatusCode::INTERNAL_SERVER_ERROR, "server_error", None)
            }
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let (status, code, realm) = self.parts();
        let description = self.to_string();
        if matches!(self, AuthRejection::MissingLayer) {
            tracing::error!("{description}");
        }
        let mut res = (
            status,
            Json(json!({ "error": code, "error_description": description })),
        )
            .into_response();
        let headers = res.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(realm) = realm {
            // RFC 6750 §3.1: no error attribute when the request carried no credentials.
            let challenge = if matches!(self, AuthRejection::MissingCredentials { .. }) {
                format!("Bearer realm=\"{realm}\"")
            } else {
                format!(
                    "Bearer realm=\"{realm}\", error=\"{code}\", error_description=\"{description}\""
                )
            };
            if let Ok(value) = HeaderValue::try_from(challenge) {
                headers.insert(WWW_AUTHENTICATE, value);
            }
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}

/// Longest bearer token accepted.
const MAX_TOKEN_LEN: usize = 4096;

/// The token of an `Authorization: Bearer` header (RFC 6750 §2.1): `Ok(None)` when the
/// request has no Bearer credentials, an error when it has malformed ones.
pub(crate) fn bearer_token(
    headers: &HeaderMap,
    realm: &str,
) -> Result<Option<AccessToken>, AuthRejection> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let invalid = |reason| AuthRejection::InvalidRequest {
        realm: realm.to_owned(),
        reason,
    };
    if values.next().is_some() {
        return Err(invalid("more than one Authorization header"));
    }
    let value = value
        .to_str()
        .map_err(|_| invalid("the header is not ASCII"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Another scheme (Basic, ...) is not a Bearer credential at all.
        return Ok(None);
    }
    let token = rest.trim_start_matches(' ');
    // Real tokens are far shorter; a huge one would only be forwarded to the provider.
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid("the token is longer than 4096 characters"));
    }
    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = token.trim_end_matches('=');
    let valid = !body.is_empty()
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/'));
    if !valid {
        return Err(invalid("expected `Bearer <token>`"));
    }
    Ok(Some(AccessToken::new(token)))
}

/// Authenticates a request: its Bearer header if it has one (resolved by the innermost
/// provider), else the first provider session it has (innermost first), refreshed when
/// due. A token the provider refuses ends the session it came from.
pub(crate) async fn authenticate(
    headers: &HeaderMap,
    sessions: &[&RequestSession],
) -> Result<Authenticated, AuthRejection> {
    let Some(innermost) = sessions.first() else {
        return Err(AuthRejection::MissingLayer);
    };
    let realm = &innermost.oauth.inner.realm;
    if let Some(token) = bearer_token(headers, realm)? {
        return resolve(innermost, token, None, TokenSource::Header).await;
    }
    for rs in sessions {
        match rs.handle.get_fresh().await {
            Ok(Some(data)) => {
                let (token, expires_at) =
                    (data.tokens.access_token().clone(), data.tokens.expires_at());
                return resolve(rs, token, expires_at, TokenSource::Session).await;
            }
            Ok(None) => {}
            Err(_) => return Err(AuthRejection::ProviderUnavailable),
        }
    }
    Err(AuthRejection::MissingCredentials {
        realm: realm.clone(),
    })
}

async fn resolve(
    rs: &RequestSession,
    token: AccessToken,
    expires_at: Option<u64>,
    source: TokenSource,
) -> Result<Authenticated, AuthRejection> {
    let inner = &rs.oauth.inner;
    match inner.users.resolve(&token, expires_at).await {
        Ok(user) => Ok(Authenticated {
            token,
            user,
            source,
        }),
        Err(ResolveError::InvalidToken) => {
            if source == TokenSource::Session {
                tracing::info!("the provider refused the session's token; ending the session");
                rs.handle.clear();
            }
            Err(AuthRejection::InvalidToken {
                realm: inner.realm.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with_auth(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn parses_bearer_credentials() {
        let ok = bearer_token(&with_auth("Bearer abc.DEF-123_~+/=="), "r")
            .unwrap()
            .unwrap();
        assert_eq!(ok.secret(), "abc.DEF-123_~+/==");
        assert_eq!(
            bearer_token(&with_auth("bearer abc"), "r")
                .unwrap()
                .unwrap()
                .secret(),
            "abc"
        );
        assert!(bearer_token(&HeaderMap::new(), "r").unwrap().is_none());
        assert!(
            bearer_token(&with_auth("Basic dXNlcjpwdw=="), "r")
                .unwrap()
                .is_none()
        );
        for bad in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a,b",
            "Bearer ==",
            "Bearer a=b",
        ] {
            assert!(
                matches!(
                    bearer_token(&with_auth(bad), "r"),
                    Err(AuthRejection::InvalidRequest { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn challenges_follow_rfc_6750() {
        let r = AuthRejection::MissingCredentials {
            realm: "app".into(),
        }
        .into_response();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()[WWW_AUTHENTICATE], "Bearer realm=\"app\"");
        let r = AuthRejection::InvalidRequest {
            realm: "app".into(),
            reason: "x",
        }
        .into_response();
        assert_eq!(r.status(), 400);
        assert!(
            r.headers()[WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains("error=\"invalid_request\"")
        );
        let r = AuthRejection::ProviderUnavailable.into_response();
        assert_eq!(r.status(), 503);
        assert!(r.headers().contains_key(RETRY_AFTER));
        assert!(!r.headers().contains_key(WWW_AUTHENTICATE));
    }
}
