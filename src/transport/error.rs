//! What can go wrong when talking to the provider, as one typed enum.

use std::fmt;
use std::time::Duration;

use crate::error::JwtError;

/// Which provider endpoint a request went to; named in every [`OAuthError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// The token endpoint (code exchange and refresh).
    Token,
    /// The userinfo endpoint.
    Userinfo,
    /// The introspection endpoint (RFC 7662).
    Introspection,
    /// The revocation endpoint (RFC 7009).
    Revocation,
    /// Any other provider API (e.g. vcita app registration).
    Api,
    /// The provider's signing keys (OpenID Connect `jwks_uri`).
    Jwks,
    /// The pushed authorization request endpoint (RFC 9126).
    PushedAuthorization,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Token => "token",
            Endpoint::Userinfo => "userinfo",
            Endpoint::Introspection => "introspection",
            Endpoint::Revocation => "revocation",
            Endpoint::Api => "provider API",
            Endpoint::Jwks => "JWKS",
            Endpoint::PushedAuthorization => "pushed authorization request",
        })
    }
}

/// An OAuth error code from the provider (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1).
///
/// ```
/// use axum_oauth_login::client::ErrorCode;
/// assert_eq!(ErrorCode::parse("invalid_grant"), ErrorCode::InvalidGrant);
/// assert_eq!(ErrorCode::parse("slow_down").as_str(), "slow_down");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`: wrong client id or secret.
    InvalidClient,
    /// `invalid_grant`: the code or refresh token is expired, used, revoked or not ours.
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `invalid_scope`
    InvalidScope,
    /// `invalid_token` (RFC 6750): the access token is not accepted.
    InvalidToken,
    /// `insufficient_scope` (RFC 6750)
    InsufficientScope,
    /// `access_denied`
    AccessDenied,
    /// `server_error`
    ServerError,
    /// `temporarily_unavailable`
    TemporarilyUnavailable,
    /// `unsupported_token_type` (RFC 7009)
    UnsupportedTokenType,
    /// Any other code, as sent (sanitised to RFC 6749's character set, at most 64 characters).
    Other(String),
}

impl ErrorCode {
    /// Maps a received code; unknown codes are kept as [`ErrorCode::Other`].
    pub fn parse(code: &str) -> ErrorCode {
        match code {
            "invalid_request" => ErrorCode::InvalidRequest,
            "invalid_client" => ErrorCode::InvalidClient,
            "invalid_grant" => ErrorCode::InvalidGrant,
            "unauthorized_client" => ErrorCode::UnauthorizedClient,
            "unsupported_grant_type" => ErrorCode::UnsupportedGrantType,
            "invalid_scope" => ErrorCode::InvalidScope,
            "invalid_token" => ErrorCode::InvalidToken,
            "insufficient_scope" => ErrorCode::InsufficientScope,
            "access_denied" => ErrorCode::AccessDenied,
            "server_error" => ErrorCode::ServerError,
            "temporarily_unavailable" => ErrorCode::TemporarilyUnavailable,
            "unsupported_token_type" => ErrorCode::UnsupportedTokenType,
            other => ErrorCode::Other(sanitize(other, 64)),
        }
    }

    /// The code as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::Other(code) => code,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a JSON value does not fit a type, without the value: serde's "invalid type:
/// string \"jane@example.com\", expected u32" quotes the data (personal data, tokens),
/// so only what the type says is kept: the field names, and what was expected.
pub(crate) fn misfit(e: &serde_json::Error) -> String {
    let text = e.to_string();
    for kind in ["invalid type", "invalid value", "invalid length"] {
        if text.starts_with(kind) {
            return match text.find(", expected ") {
                Some(at) => format!("{kind}{}", &text[at..]),
                None => kind.to_owned(),
            };
        }
    }
    // "missing field `x`", "unknown field `x`, expected ...", "unknown variant `x`, ...":
    // the name between backticks comes from the data for unknown fields and variants.
    if text.starts_with("unknown field") || text.starts_with("unknown variant") {
        return match text.find(", expected") {
            Some(at) => format!(
                "{}{}",
                &text[..text.find('`').unwrap_or(at)].trim_end(),
                &text[at..]
            ),
            None => text
                .split('`')
                .next()
                .unwrap_or_default()
                .trim_end()
                .to_owned(),
        };
    }
    text
}

/// Keeps RFC 6749 §5.2's printable ASCII (minus `"` and `\`), truncated to `max` chars,
/// so a hostile or broken provider cannot inject markup or control characters.
pub(crate) fn sanitize(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E'))
        .take(max)
        .collect()
}

/// A failed call to the provider.
///
/// Every variant names the endpoint. No variant carries a token, code, secret or URL
/// query: `Display` and `Debug` are safe to log.
///
/// ```
/// use axum_oauth_login::client::{Endpoint, ErrorCode, OAuthError};
/// let err = OAuthError::Provider {
///     endpoint: Endpoint::Token,
///     status: 400,
///     error: ErrorCode::InvalidGrant,
///     description: Some("code expired".into()),
/// };
/// assert_eq!(err.to_string(), "the token endpoint answered 400: invalid_grant: code expired");
/// assert!(err.is_invalid_grant());
/// assert!(!err.is_transient());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The provider answered with an OAuth error (RFC 6749 §5.2).
    #[error(
        "the {endpoint} endpoint answered {status}: {error}{}",
        describe(description)
    )]
    Provider {
        /// Where.
        endpoint: Endpoint,
        /// HTTP status.
        status: u16,
        /// The `error` code.
        error: ErrorCode,
        /// The `error_description`, sanitised.
        description: Option<String>,
    },
    /// The request did not get an answer: DNS, connection refused, TLS, reset.
    #[error("could not reach the {endpoint} endpoint: {reason}")]
    Transport {
        /// Where.
        endpoint: Endpoint,
        /// What the HTTP client reported (without the URL).
        reason: String,
    },
    /// No complete answer within the configured timeout.
    #[error("the {endpoint} endpoint did not answer within {timeout:?}")]
    Timeout {
        /// Where.
        endpoint: Endpoint,
        /// The total timeout that ran out.
        timeout: Duration,
    },
    /// An answer that is not what the protocol promises.
    #[error(
        "the {endpoint} endpoint answered {status} with an unusable response: {reason}{}",
        excerpt_suffix(excerpt)
    )]
    Malformed {
        /// Where.
        endpoint: Endpoint,
        /// HTTP status.
        status: u16,
        /// What is wrong, in our words.
        reason: String,
        /// The start of an error body (only of non-success answers; long token-like runs
        /// are masked), to help tell an HTML error page from a proxy message.
        excerpt: Option<String>,
    },
    /// The response body exceeded the configured size cap and was not read further.
    #[error("the {endpoint} endpoint's response is larger than the {limit}-byte limit")]
    BodyTooLarge {
        /// Where.
        endpoint: Endpoint,
        /// The cap, in bytes.
        limit: usize,
    },
    /// The provider issued a token of a type other than Bearer (or DPoP, when the
    /// request carried a DPoP proof).
    #[error(
        "the provider issued a `{token_type}` token; only Bearer tokens (RFC 6750) and, with a DPoP key configured, DPoP tokens (RFC 9449) are supported"
    )]
    UnsupportedTokenType {
        /// The `token_type` received, sanitised.
        token_type: String,
    },
    /// The request could not be signed (a `private_key_jwt` assertion): the key and the
    /// signature backend disagree. Nothing was sent.
    #[error("could not sign the request to the {endpoint} endpoint: {reason}")]
    Signing {
        /// Where it was going.
        endpoint: Endpoint,
        /// What the signature backend reported (never the key).
        reason: String,
    },
    /// The provider has no such endpoint configured.
    #[error("the provider has no {endpoint} endpoint configured")]
    NotConfigured {
        /// Which endpoint is missing.
        endpoint: Endpoint,
    },
    /// OpenID Connect: the id_token the token endpoint answered with was refused (a
    /// refresh's; the session ends, its new tokens are revoked).
    #[error("the token endpoint's id_token was refused: {error}")]
    IdToken {
        /// Which check failed.
        error: JwtError,
    },
}

fn describe(description: &Option<String>) -> String {
    match description {
        Some(d) if !d.is_empty() => format!(": {d}"),
        _ => String::new(),
    }
}

fn excerpt_suffix(excerpt: &Option<String>) -> String {
    match excerpt {
        Some(e) if !e.is_empty() => format!(" (body starts: {e:?})"),
        _ => String::new(),
    }
}

impl OAuthError {
    /// The provider's error code, if it sent one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            OAuthError::Provider { error, .. } => Some(error),
            _ => None,
        }
    }

    /// `invalid_grant`: the code or refresh token is no longer usable. Retrying cannot help;
    /// the user has to log in again.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self.code(), Some(ErrorCode::InvalidGrant))
    }

    /// The token was rejected (`invalid_token`, or a 401 from a resource endpoint).
    pub fn is_invalid_token(&self) -> bool {
        matches!(
            self,
            OAuthError::Provider {
                error: ErrorCode::InvalidToken,
                ..
            } | OAuthError::Provider { status: 401, .. }
        ) && !matches!(self.code(), Some(ErrorCode::InvalidClient))
    }

    /// A failure that may pass: transport errors, timeouts, 5xx answers, `server_error`
    /// and `temporarily_unavailable`. Callers answer 503 rather than logging the user out.
    pub fn is_transient(&self) -> bool {
        match self {
            OAuthError::Transport { .. } | OAuthError::Timeout { .. } => true,
            OAuthError::Provider { status, error, .. } => {
                *status >= 500
                    || *status == 429
                    || matches!(
                        error,
                        ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable
                    )
            }
            OAuthError::Malformed { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// The HTTP status the provider answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            OAuthError::Provider { status, .. } | OAuthError::Malformed { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }
}

/// The first characters of an error body, printable and with token-like runs masked.
pub(crate) fn excerpt(body: &[u8]) -> Option<String> {
    const MAX: usize = 120;
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        // 24+ characters of [A-Za-z0-9_-.~+/=] look like a credential: mask them.
        if run.chars().count() >= 24 {
            out.push_str("[masked]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=') {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(if c.is_control() { ' ' } else { c });
        }
        if out.chars().count() >= MAX {
            break;
        }
    }
    flush(&mut run, &mut out);
    let out: String = out.split_whitespace().collect::<Vec<_>>().join(" ");
    let out: String = out.chars().take(MAX).collect();
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_masks_token_like_runs_and_control_chars() {
        let body =
            b"<html>\n<h1>500 Internal</h1> token=74639aa91e5726dc4d90ca82621aeebe028923bd </html>";
        let e = excerpt(body).unwrap();
        assert!(e.contains("500 Internal"), "{e}");
        assert!(!e.contains("74639aa9"), "{e}");
        assert!(e.contains("[masked]"));
        assert!(!e.contains('\n'));
    }

    #[test]
    fn excerpt_is_bounded() {
        let body = "a ".repeat(10_000);
        assert!(excerpt(body.as_bytes()).unwrap().len() <= 120);
        assert_eq!(excerpt(b""), None);
    }

    #[test]
    fn unknown_codes_are_sanitised() {
        let code = ErrorCode::parse("<script>\"x\"</script>");
        assert_eq!(code.as_str(), "<script>x</script>");
        assert_eq!(ErrorCode::parse(&"x".repeat(500)).as_str().len(), 64);
    }

    #[test]
    fn transient_classification() {
        let five = OAuthError::Malformed {
            endpoint: Endpoint::Token,
            status: 502,
            reason: "x".into(),
            excerpt: None,
        };
        assert!(five.is_transient());
        let grant = OAuthError::Provider {
            endpoint: Endpoint::Token,
            status: 400,
            error: ErrorCode::InvalidGrant,
            description: None,
        };
        assert!(!grant.is_transient());
        assert!(grant.is_invalid_grant());
        let unauthorized = OAuthError::Provider {
            endpoint: Endpoint::Userinfo,
            status: 401,
            error: ErrorCode::InvalidToken,
            description: None,
        };
        assert!(unauthorized.is_invalid_token());
    }
}

#[cfg(test)]
mod misfit_tests {
    use super::misfit;

    #[test]
    fn serde_errors_lose_the_data_and_keep_the_type() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct User {
            age: u32,
        }
        let e = serde_json::from_value::<User>(serde_json::json!({"age": "jane@example.com"}))
            .unwrap_err();
        let text = misfit(&e);
        assert!(!text.contains("jane"), "{text}");
        assert!(text.contains("expected u32"), "{text}");
        let e = serde_json::from_value::<User>(serde_json::json!({})).unwrap_err();
        assert_eq!(misfit(&e), "missing field `age`");
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Strict {
            a: u8,
        }
        let e = serde_json::from_value::<Strict>(serde_json::json!({"secret-token": 1, "a": 1}))
            .unwrap_err();
        let text = misfit(&e);
        assert!(!text.contains("secret-token"), "{text}");
    }
}
