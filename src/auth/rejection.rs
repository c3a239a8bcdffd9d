//! Why a request is not authenticated, as an HTTP answer (RFC 6750 §3).

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use serde_json::json;

/// Why a request is not authenticated; answers as RFC 6750 §3 prescribes, with a JSON
/// body `{"error", "error_description"}` and `Cache-Control: no-store`.
///
/// | variant | status | `WWW-Authenticate` |
/// |---|---|---|
/// | `MissingCredentials` | 401 | `Bearer realm="…"` (no error code, §3.1) |
/// | `InvalidRequest` | 400 | `Bearer realm="…", error="invalid_request"` |
/// | `InvalidToken` | 401 | `Bearer realm="…", error="invalid_token"` |
/// | `SessionRequired` | 400 | `Bearer realm="…", error="invalid_request"` |
/// | `InvalidDpopProof` | 401 | `DPoP realm="…", error="invalid_dpop_proof", algs="…"` (RFC 9449 §7.1) |
/// | `ProviderUnavailable` | 503 + `Retry-After` | — |
/// | `StoreUnavailable` | 503 + `Retry-After` | — |
/// | `ProviderError` | 502 | — |
/// | `Misconfigured` | 500 | — (the app's user type does not fit; the log says how) |
/// | `MissingLayer` | 500 | — (a wiring mistake in the app: "OAuthLayer is not installed on this route") |
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
    /// `Authorization: DPoP` with a missing, malformed, replayed or mismatched DPoP proof
    /// (RFC 9449 §7.1): `401` with a `DPoP` challenge, `error="invalid_dpop_proof"`.
    #[error("invalid DPoP proof: {reason}")]
    InvalidDpopProof {
        /// The `realm` of the challenge.
        realm: String,
        /// Which check failed.
        reason: &'static str,
    },
    /// The request's caller is a Bearer token (the header counts first, for guards and
    /// every extractor alike), but the route asked for a login session
    /// ([`AuthSession`](crate::AuthSession)): send no `Authorization` header to use the
    /// session, or call a route that takes [`BearerUser`](crate::BearerUser).
    #[error(
        "this route needs a login session and the request's caller is its Bearer token: \
         send it without the Authorization header, or call a route for Bearer tokens"
    )]
    SessionRequired {
        /// The protection space.
        realm: String,
    },
    /// The provider could not be asked; try again later. Never a reason to log out.
    #[error("the identity provider is unavailable")]
    ProviderUnavailable,
    /// The session store could not be reached; try again later. Never a logout.
    #[error("the session store is unavailable")]
    StoreUnavailable,
    /// The provider answered something unusable.
    #[error("the identity provider gave an unusable answer")]
    ProviderError,
    /// The app's user type does not fit the user it was asked to hold (a `BearerUser<U>`
    /// or `AuthSession<U>` whose `U` does not match the provider's answer or the login
    /// hook's type). The log line names the type and the field; the body stays generic.
    #[error("the app could not read the user (see the server log)")]
    Misconfigured,
    /// An extractor, guard or auth route ran without `OAuth::layer()` around it.
    #[error(
        "OAuthLayer is not installed on this route: add `.layer(oauth.layer())` around the \
         router, outside every route that uses the auth routes, guards or extractors"
    )]
    MissingLayer,
}

impl AuthRejection {
    fn parts(&self) -> (StatusCode, &'static str, Option<&str>) {
        match self {
            AuthRejection::MissingCredentials { realm } => {
                (StatusCode::UNAUTHORIZED, "unauthorized", Some(realm))
            }
            AuthRejection::InvalidRequest { realm, .. }
            | AuthRejection::SessionRequired { realm } => {
                (StatusCode::BAD_REQUEST, "invalid_request", Some(realm))
            }
            AuthRejection::InvalidToken { realm } => {
                (StatusCode::UNAUTHORIZED, "invalid_token", Some(realm))
            }
            AuthRejection::InvalidDpopProof { realm, .. } => {
                (StatusCode::UNAUTHORIZED, "invalid_dpop_proof", Some(realm))
            }
            AuthRejection::ProviderUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                None,
            ),
            AuthRejection::StoreUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                None,
            ),
            AuthRejection::ProviderError => (StatusCode::BAD_GATEWAY, "server_error", None),
            AuthRejection::MissingLayer | AuthRejection::Misconfigured => {
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
            } else if matches!(self, AuthRejection::InvalidDpopProof { .. }) {
                format!(
                    "DPoP realm=\"{realm}\", error=\"{code}\", error_description=\"{description}\", algs=\"{}\"",
                    crate::jose::DPOP_ALGS
                )
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let r = AuthRejection::MissingLayer.into_response();
        assert_eq!(r.status(), 500);
    }
}
