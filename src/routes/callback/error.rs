//! Why a callback did not log anyone in, and how that is answered.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};

use crate::client::{ErrorCode, OAuthError};
use crate::pages::ErrorPage;
use crate::session::StartError;
use crate::state::Shared;

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
        }
    }

    fn title(&self) -> &'static str {
        match self {
            CallbackError::Provider { .. } => "Login was not completed",
            _ => "Login could not be completed",
        }
    }

    fn message(&self) -> String {
        match self {
            CallbackError::MissingState => {
                "The provider's answer carried no state, so it cannot be \
                matched to a login started here."
                    .into()
            }
            CallbackError::DuplicateParams => {
                "The provider's answer repeated a parameter, which OAuth forbids.".into()
            }
            CallbackError::NoFlow => {
                "No login in progress matches this answer. The login may have \
                expired, been finished already, or been started in another browser; or this \
                browser did not send the login cookie back (cookies blocked, SameSite rules, or \
                the site served over plain http behind a proxy while configured for https)."
                    .into()
            }
            CallbackError::StateMismatch => {
                "The state in the provider's answer does not match the \
                login started in this browser. This can be a forged request; start again."
                    .into()
            }
            CallbackError::Expired => {
                "The login took too long and expired. Please start again.".into()
            }
            CallbackError::IssuerMismatch => {
                "The answer came from a different authorization server \
                than the one this login was started with (RFC 9207)."
                    .into()
            }
            CallbackError::MissingIssuer => {
                "The answer did not say which authorization server sent \
                it (no `iss`), but this provider is configured with an issuer (RFC 9207). If the \
                provider does not send `iss`, remove the issuer setting."
                    .into()
            }
            CallbackError::MissingCode => {
                "The provider's answer carried neither a code nor an error.".into()
            }
            CallbackError::Provider {
                code: ErrorCode::AccessDenied,
                ..
            } => "You declined to give this app access, so you are not logged in.".into(),
            CallbackError::Provider {
                description: Some(d),
                ..
            } if !d.is_empty() => format!("The provider ended the login: {d}"),
            CallbackError::Provider { .. } => "The provider ended the login with an error.".into(),
            CallbackError::Exchange(e) => match (e.code(), e) {
                (
                    Some(code),
                    OAuthError::Provider {
                        description: Some(d),
                        ..
                    },
                ) if !d.is_empty() => {
                    format!("The provider refused to complete the login ({code}: {d}).")
                }
                (Some(code), _) => format!("The provider refused to complete the login ({code})."),
                (None, e) => format!(
                    "The provider could not be reached or gave an unusable answer ({}).",
                    kind(e)
                ),
            },
            CallbackError::SessionTooLarge => "The provider's tokens are too large to keep in \
                browser cookies (more than 6 KB sealed). The app should keep sessions in a \
                server-side store (memory, Redis, or a tower-sessions store: \
                OAUTH_SESSION_STORE)."
                .into(),
            CallbackError::StoreUnavailable(_) => "The session store is unavailable right now, \
                so the login could not be kept. Please try again in a moment."
                .into(),
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
            _ => tracing::info!(code = self.code(), "callback refused"),
        }
    }
}

/// The kind of failure without the (already secret-free, but long) details.
fn kind(e: &OAuthError) -> &'static str {
    match e {
        OAuthError::Timeout { .. } => "timeout",
        OAuthError::Transport { .. } => "connection failed",
        OAuthError::BodyTooLarge { .. } => "response too large",
        OAuthError::UnsupportedTokenType { .. } => "unsupported token type",
        OAuthError::Malformed { .. } => "malformed response",
        _ => "error",
    }
}

/// A [`CallbackError`] as answered to one request: its page (HTML for a navigation,
/// JSON otherwise), with the spent flow cookie removed when there was one.
pub(crate) struct Refusal {
    page: ErrorPage,
    request: HeaderMap,
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
        Refusal {
            page: ErrorPage {
                status: error.status(),
                code: error.code().to_owned(),
                title: error.title(),
                message: error.message(),
                retry_href: shared.paths.login.clone(),
            },
            request: request.clone(),
            spent_flow,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let res = self.page.render(&self.request);
        match &self.spent_flow {
            Some(removal) => super::with_cookie(res, removal),
            None => res,
        }
    }
}
