//! Why a callback did not log anyone in, and how that is answered.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};

use crate::login::{LoginRefusal, RefusalKind};
use crate::session::StartError;
use crate::state::Shared;
use crate::transport::{ErrorCode, OAuthError};
use crate::users::ResolveError;

/// Every way a callback can fail. Each has a status, a machine-readable code and a
/// message for the person in front of the browser.
pub(crate) enum CallbackError {
    MissingState,
    DuplicateParams,
    NoFlow,
    StateMismatch,
    Expired,
    IssuerMismatch,
    MissingIssuer,
    MissingCode,
    /// The provider sent `error=` instead of a code.
    Provider {
        code: ErrorCode,
        description: Option<String>,
    },
    /// The code exchange failed.
    Exchange(OAuthError),
    /// The tokens do not fit in the session cookie (past its chunking cap).
    SessionTooLarge,
    /// The session store could not save the new session.
    StoreUnavailable(crate::store::StoreError),
    /// The user could not be resolved, and the login hook needs them.
    User(ResolveError),
    /// The app's login hook refused.
    Refused(LoginRefusal),
    /// OpenID Connect: the exchange answered without the id_token an `openid` login
    /// must bring.
    MissingIdToken,
    /// OpenID Connect: the id_token failed a check (signature, `iss`, `aud`, times,
    /// `nonce`).
    IdToken(crate::error::JwtError),
    /// OpenID Connect: userinfo describes another `sub` than the id_token.
    SubjectMismatch,
}

impl From<StartError> for CallbackError {
    fn from(e: StartError) -> CallbackError {
        match e {
            // Redirecting with a session that cannot be stored would only loop back here.
            StartError::TooLarge => CallbackError::SessionTooLarge,
            StartError::Store(e) => CallbackError::StoreUnavailable(e),
        }
    }
}

impl CallbackError {
    fn status(&self) -> StatusCode {
        match self {
            CallbackError::Provider {
                code: ErrorCode::AccessDenied,
                ..
            } => StatusCode::FORBIDDEN,
            CallbackError::Exchange(OAuthError::Timeout { .. }) => StatusCode::GATEWAY_TIMEOUT,
            CallbackError::Exchange(_) | CallbackError::SessionTooLarge => StatusCode::BAD_GATEWAY,
            CallbackError::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            CallbackError::User(ResolveError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            CallbackError::User(_) => StatusCode::BAD_GATEWAY,
            CallbackError::IdToken(e) if retryable(e) => StatusCode::SERVICE_UNAVAILABLE,
            // Another login's id_token: an injected or replayed answer.
            CallbackError::IdToken(crate::error::JwtError::Claim("nonce", _)) => {
                StatusCode::BAD_REQUEST
            }
            CallbackError::IdToken(_)
            | CallbackError::MissingIdToken
            | CallbackError::SubjectMismatch => StatusCode::BAD_GATEWAY,
            CallbackError::Refused(refusal) => match refusal.kind {
                RefusalKind::Denied => StatusCode::FORBIDDEN,
                RefusalKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                RefusalKind::Failed => StatusCode::INTERNAL_SERVER_ERROR,
            },
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn code(&self) -> &str {
        match self {
            CallbackError::MissingState => "missing_state",
            CallbackError::DuplicateParams => "invalid_request",
            CallbackError::NoFlow => "unknown_state",
            CallbackError::StateMismatch => "invalid_state",
            CallbackError::Expired => "login_expired",
            CallbackError::IssuerMismatch => "invalid_issuer",
            CallbackError::MissingIssuer => "missing_issuer",
            CallbackError::MissingCode => "missing_code",
            CallbackError::Provider { code, .. } => code.as_str(),
            CallbackError::Exchange(e) => {
                e.code().map_or("token_request_failed", ErrorCode::as_str)
            }
            CallbackError::SessionTooLarge => "session_too_large",
            CallbackError::StoreUnavailable(_) => "temporarily_unavailable",
            CallbackError::User(ResolveError::Unavailable(_)) => "temporarily_unavailable",
            CallbackError::User(_) => "user_unavailable",
            CallbackError::IdToken(e) if retryable(e) => "temporarily_unavailable",
            CallbackError::IdToken(_) => "invalid_id_token",
            CallbackError::MissingIdToken => "missing_id_token",
            CallbackError::SubjectMismatch => "subject_mismatch",
            CallbackError::Refused(refusal) => match refusal.kind {
                RefusalKind::Denied => "login_refused",
                RefusalKind::Unavailable => "temporarily_unavailable",
                RefusalKind::Failed => "server_error",
            },
        }
    }

    /// The message-table key of the person's explanation, and its placeholders.
    fn message(&self, shared: &Shared) -> (&'static str, Vec<(&'static str, String)>) {
        let none = Vec::new();
        match self {
            CallbackError::MissingState => ("missing_state", none),
            CallbackError::DuplicateParams => ("invalid_request", none),
            CallbackError::NoFlow => ("unknown_state", vec![("origin", redirect_origin(shared))]),
            CallbackError::StateMismatch => ("invalid_state", none),
            CallbackError::Expired => ("login_expired", none),
            CallbackError::IssuerMismatch => ("invalid_issuer", none),
            CallbackError::MissingIssuer => ("missing_issuer", none),
            CallbackError::MissingCode => ("missing_code", none),
            CallbackError::Provider {
                code: ErrorCode::AccessDenied,
                ..
            } => ("access_denied", none),
            CallbackError::Provider {
                description: Some(d),
                ..
            } if !d.is_empty() => ("provider_error_described", vec![("description", d.clone())]),
            CallbackError::Provider { .. } => ("provider_error", none),
            CallbackError::Exchange(e) => match (e.code(), e) {
                (
                    Some(code),
                    OAuthError::Provider {
                        description: Some(d),
                        ..
                    },
                ) if !d.is_empty() => (
                    "exchange_refused_described",
                    vec![
                        ("code", code.as_str().to_owned()),
                        ("description", d.clone()),
                    ],
                ),
                (Some(code), _) => ("exchange_refused", vec![("code", code.as_str().to_owned())]),
                (None, e) => ("exchange_failed", vec![("kind", kind(e).to_owned())]),
            },
            CallbackError::User(_) => ("user_unavailable", none),
            CallbackError::IdToken(e) if retryable(e) => ("keys_unavailable", none),
            CallbackError::IdToken(e) => ("invalid_id_token", vec![("check", e.to_string())]),
            CallbackError::MissingIdToken => ("missing_id_token", none),
            CallbackError::SubjectMismatch => ("subject_mismatch", none),
            CallbackError::Refused(refusal) => match refusal.kind {
                RefusalKind::Denied => ("login_refused", vec![("reason", refusal.reason.clone())]),
                RefusalKind::Unavailable => ("login_unavailable", none),
                RefusalKind::Failed => ("login_failed", none),
            },
            CallbackError::SessionTooLarge => ("session_too_large", none),
            CallbackError::StoreUnavailable(_) => ("store_unavailable", none),
        }
    }

    fn log(&self) {
        match self {
            CallbackError::Provider { code, .. } => {
                tracing::info!(error = %code, "the provider ended the login with an error");
            }
            CallbackError::Exchange(e) => tracing::warn!(error = %e, "code exchange failed"),
            CallbackError::SessionTooLarge => tracing::error!(
                "the provider's tokens are too large for the cookie store; use a server-side store"
            ),
            CallbackError::StoreUnavailable(e) => {
                tracing::error!(error = %e, "the session store could not save a new session");
            }
            CallbackError::User(e) => {
                tracing::warn!(error = %e, "could not resolve the user for the login hook");
            }
            CallbackError::IdToken(e) => {
                tracing::warn!(error = %e, "the id_token was refused; the login's tokens are revoked");
            }
            CallbackError::MissingIdToken | CallbackError::SubjectMismatch => {
                tracing::warn!(
                    code = self.code(),
                    "login refused: the provider's answer is inconsistent"
                );
            }
            CallbackError::Refused(refusal) => match refusal.kind {
                RefusalKind::Denied => {
                    tracing::info!(reason = %refusal.reason, "the login hook refused a login");
                }
                RefusalKind::Unavailable => {
                    tracing::warn!(detail = %refusal.reason, "the login hook is unavailable");
                }
                RefusalKind::Failed => {
                    tracing::error!(detail = %refusal.reason, "the login hook failed");
                }
            },
            _ => tracing::info!(code = self.code(), "callback refused"),
        }
    }
}

/// An id_token from the token endpoint itself whose key is not (yet) known: the keys
/// are unavailable, or the provider just rotated and the re-fetch is rate-limited. The
/// token came over the authenticated channel, so "try again in a moment" is the answer.
fn retryable(e: &crate::error::JwtError) -> bool {
    e.is_transient() || matches!(e, crate::error::JwtError::UnknownKey(_))
}

/// The kind of failure without the (already secret-free, but long) details.
/// What kind of failure `e` is, in a few words for a page (no provider text).
pub(in crate::routes) fn kind(e: &OAuthError) -> &'static str {
    match e {
        OAuthError::Timeout { .. } => "timeout",
        OAuthError::Transport { .. } => "connection failed",
        OAuthError::BodyTooLarge { .. } => "response too large",
        OAuthError::UnsupportedTokenType { .. } => "unsupported token type",
        OAuthError::Malformed { .. } => "malformed response",
        _ => "error",
    }
}

/// The origin (`scheme://host[:port]`) of the registered redirect URI: where a login
/// must be started for its cookie to come back.
fn redirect_origin(shared: &Shared) -> String {
    shared
        .client
        .redirect_uri()
        .map_or_else(String::new, |u| u.origin().ascii_serialization())
}

/// A [`CallbackError`] as answered to one request: its page (HTML for a navigation,
/// JSON otherwise), with the spent flow cookie removed when there was one.
pub(crate) struct Refusal {
    response: Response,
    spent_flow: Option<String>,
}

impl Refusal {
    pub(crate) fn new(
        error: CallbackError,
        shared: &Shared,
        request: &HeaderMap,
        spent_flow: Option<String>,
    ) -> Refusal {
        error.log();
        let (key, params) = error.message(shared);
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = shared
            .pages
            .page(error.status(), error.code(), key, &params);
        Refusal {
            response: shared.pages.respond(&page, request),
            spent_flow,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match &self.spent_flow {
            Some(removal) => super::with_cookie(self.response, removal),
            None => self.response,
        }
    }
}
