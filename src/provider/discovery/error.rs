//! [`DiscoveryError`]: why a provider's metadata could not describe it.

use std::time::Duration;

/// Why [`Provider::discover`](crate::Provider::discover) (or [`Provider::from_metadata`](crate::Provider::from_metadata)) could not describe the
/// provider. A startup error: the message says what to fix.
///
/// No variant carries a secret (discovery sends none); values that come from the
/// provider are sanitised and shortened.
///
/// ```
/// use axum_oauth_login::Provider;
/// let doc = br#"{"issuer": "https://login.example/tenant-b",
///                "authorization_endpoint": "https://login.example/authorize",
///                "token_endpoint": "https://login.example/token"}"#;
/// let err = Provider::from_metadata("https://login.example/tenant-a", doc).unwrap_err();
/// let message = err.to_string();
/// assert!(message.contains("https://login.example/tenant-a"), "{message}");
/// assert!(message.contains("https://login.example/tenant-b"), "{message}");
/// assert!(!err.is_transient());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The configured issuer is not usable: not an absolute `https` URL (plain `http`
    /// only on loopback), or it carries a query or fragment (Discovery §2).
    #[error("invalid issuer `{issuer}`: {reason}")]
    InvalidIssuer {
        /// The issuer as configured.
        issuer: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request got no answer: DNS, connection refused, TLS, reset.
    #[error("could not reach the discovery document at {url}: {reason}")]
    Unreachable {
        /// The discovery URL.
        url: String,
        /// What the HTTP client reported.
        reason: String,
    },
    /// No complete answer within the timeout.
    #[error("the discovery document at {url} did not arrive within {timeout:?}")]
    Timeout {
        /// The discovery URL.
        url: String,
        /// The total timeout that ran out.
        timeout: Duration,
    },
    /// An answer other than `200 OK` (redirects are not followed).
    #[error("the discovery document at {url} answered HTTP {status}, expected 200")]
    Status {
        /// The discovery URL.
        url: String,
        /// The HTTP status received.
        status: u16,
    },
    /// The body exceeded the size cap and was not read further.
    #[error("the discovery document at {url} is larger than the {limit}-byte limit")]
    TooLarge {
        /// The discovery URL.
        url: String,
        /// The cap, in bytes.
        limit: usize,
    },
    /// The body is not a JSON object, or a field has the wrong type.
    #[error("the discovery document is malformed: {reason}")]
    Malformed {
        /// What is wrong, in our words.
        reason: String,
    },
    /// The document's `issuer` is not exactly the configured one (Discovery §4.3): a
    /// startup error, never skipped.
    #[error(
        "the discovery document's issuer `{found}` differs from the configured issuer \
         `{expected}`; they must be identical (OpenID Connect Discovery 1.0 §4.3)"
    )]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The document's `issuer` (sanitised, at most 200 characters).
        found: String,
    },
    /// A required field is absent: `issuer`, `authorization_endpoint`, `token_endpoint`.
    #[error("the discovery document has no `{name}`")]
    MissingField {
        /// The metadata field name.
        name: &'static str,
    },
    /// An endpoint is plain `http` on a host other than loopback: the client secret and
    /// tokens would travel in clear text.
    #[error(
        "`{name}` in the discovery document must be https \
         (plain http is allowed only on loopback, for development)"
    )]
    InsecureEndpoint {
        /// The metadata field name (`token_endpoint`, ...).
        name: &'static str,
    },
    /// An endpoint is not a usable URL (relative, credentials, a fragment, ...).
    #[error("`{name}` in the discovery document is not usable: {reason}")]
    InvalidEndpoint {
        /// The metadata field name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `token_endpoint_auth_methods_supported` lists neither `client_secret_basic` nor
    /// `client_secret_post`, the methods this crate speaks.
    #[error(
        "the provider supports neither client_secret_basic nor client_secret_post \
         at its token endpoint (it lists: {})",
        methods.join(", ")
    )]
    UnsupportedClientAuth {
        /// The methods the provider lists (sanitised).
        methods: Vec<String>,
    },
}

impl DiscoveryError {
    /// A failure that may pass on a later attempt: no answer, a timeout, a 5xx or 429
    /// status. Everything else is a configuration problem that retrying cannot fix.
    pub fn is_transient(&self) -> bool {
        match self {
            DiscoveryError::Unreachable { .. } | DiscoveryError::Timeout { .. } => true,
            DiscoveryError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}
