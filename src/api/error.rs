//! Why an API call did not produce an answer ([`ApiError`]), and how a handler answers
//! with one.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};

use crate::session::{SessionUnavailable, VaultError};

/// Why an API call did not produce an answer. Never carries a token.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The provider has no API base configured (`ProviderBuilder::api_base`,
    /// `OAUTH_API_BASE`).
    #[error("the provider has no API base configured")]
    NotConfigured,
    /// The path is not under the API base, or could leave it on a server that decodes
    /// more than the URL standard (an encoded separator or dot segment). Nothing was sent.
    #[error("refused API path: {reason}")]
    InvalidPath {
        /// Why.
        reason: &'static str,
    },
    /// The request could not be built.
    #[error("invalid API request: {reason}")]
    InvalidRequest {
        /// Why.
        reason: &'static str,
    },
    /// The request has no login session (or it ended).
    #[error("no login session")]
    NoSession,
    /// No connection is kept for the account.
    #[error("no connection for this account")]
    NotConnected,
    /// The provider refused the refresh token: the session or connection ended; log in
    /// or connect again.
    #[error("the provider ended the authorization; log in or connect again")]
    Ended,
    /// The API answered `401` and a refresh did not help (or there was nothing to
    /// refresh with).
    #[error("the provider's API refused the token")]
    Unauthorized,
    /// The API answered a non-success status to [`ApiRequest::send_json`](crate::api::ApiRequest::send_json).
    #[error("the provider's API answered {status}")]
    Status {
        /// The status.
        status: u16,
    },
    /// The provider or the store could not refresh the tokens right now.
    #[error("the provider cannot refresh the tokens right now")]
    Unavailable,
    /// The answer could not be read as asked.
    #[error("unusable API answer: {reason}")]
    Malformed {
        /// Why.
        reason: String,
    },
    /// The answer was larger than 16 MiB.
    #[error("the API answer is too large")]
    BodyTooLarge,
    /// The request did not complete (connection, timeout).
    #[error("the API request failed: {reason}")]
    Transport {
        /// What failed, without the URL's query.
        reason: String,
        /// Whether it timed out.
        timeout: bool,
    },
}

impl ApiError {
    pub(super) fn transport(e: reqwest::Error) -> ApiError {
        ApiError::Transport {
            timeout: e.is_timeout(),
            reason: e.without_url().to_string(),
        }
    }
}

impl From<SessionUnavailable> for ApiError {
    fn from(e: SessionUnavailable) -> ApiError {
        if let SessionUnavailable::Store(e) = &e {
            tracing::warn!(error = %e, "session store unavailable for an API call");
        }
        ApiError::Unavailable
    }
}

impl From<VaultError> for ApiError {
    fn from(e: VaultError) -> ApiError {
        match e {
            VaultError::NotConnected => ApiError::NotConnected,
            VaultError::Ended => ApiError::Ended,
            VaultError::Unavailable => ApiError::Unavailable,
            VaultError::Store(e) => {
                tracing::warn!(error = %e, "the connection store is unavailable");
                ApiError::Unavailable
            }
        }
    }
}

/// For handlers that return `Result<_, ApiError>`: `401` when the login is gone (log in
/// again), `503` (+ `Retry-After`) when refreshing is impossible right now, `504` on a
/// timeout, `500` for the app's own mistakes, `502` for the provider's.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::NoSession | ApiError::Ended => StatusCode::UNAUTHORIZED,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Transport { timeout: true, .. } => StatusCode::GATEWAY_TIMEOUT,
            ApiError::NotConfigured
            | ApiError::InvalidPath { .. }
            | ApiError::InvalidRequest { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_GATEWAY,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "API call refused: a bug in the app");
        } else {
            tracing::warn!(error = %self, "API call failed");
        }
        let mut res = (
            status,
            axum::Json(
                serde_json::json!({ "error": "api_error", "error_description": self.to_string() }),
            ),
        )
            .into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}
