//! The errors several layers share: [`ConfigError`] (every builder's: which setting is
//! wrong, and why) and [`JwtError`] (why a signed token was refused: raised by `oidc`,
//! carried by the transport's `OAuthError` and the callback's refusals).

/// A setting was missing or invalid. Returned by every `build()` and by
/// [`OAuthConfig::from_env`](crate::config::OAuthConfig::from_env); never at request time.
///
/// The message names the setting (or environment variable) and never contains its value
/// when the value may be a secret.
///
/// ```
/// use axum_oauth_login::{ConfigError, Provider};
/// let err = Provider::custom("acme")
///     .authorize_url("not a url")
///     .token_url("https://acme.example/token")
///     .build()
///     .unwrap_err();
/// assert_eq!(err.setting(), "authorize_url");
/// assert!(err.to_string().contains("authorize_url"));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid setting `{setting}`: {reason}")]
pub struct ConfigError {
    setting: String,
    reason: String,
    transient: bool,
}

impl ConfigError {
    /// A new error for `setting`.
    pub fn new(setting: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            setting: setting.into(),
            reason: reason.into(),
            transient: false,
        }
    }

    /// An error that may pass by itself: the provider could not be reached (down, a
    /// timeout, a 5xx) while its metadata was read. Retrying can help; fixing a setting
    /// is not needed. See [`serve_when_ready`](crate::startup::serve_when_ready).
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    pub(crate) fn transient(mut self) -> Self {
        self.transient = true;
        self
    }

    /// The name of the setting or environment variable at fault.
    pub fn setting(&self) -> &str {
        &self.setting
    }

    /// What is wrong with it.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The same error, renamed to the environment variable the setting came from.
    pub(crate) fn for_variable(self, variable: &str) -> Self {
        Self {
            setting: variable.to_owned(),
            reason: self.reason,
            transient: self.transient,
        }
    }
}

/// Why a signed token (id_token, logout token, JWT access token) was refused. Messages
/// name the check that failed, never the token or a claim's value.
///
/// ```
/// use axum_oauth_login::oidc::JwtError;
/// let e = JwtError::Claim("aud", "does not name this client");
/// assert_eq!(e.to_string(), "the token's `aud` does not name this client");
/// assert!(!e.is_transient());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Not a well-formed compact JWS.
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    /// The header's `alg` is not an accepted asymmetric algorithm (`none` and HMAC never
    /// are).
    #[error(
        "the token's algorithm `{0}` is not accepted (RS256/384/512, PS256/384/512, ES256, \
         ES384 and EdDSA are)"
    )]
    Algorithm(String),
    /// No key of the provider's JWKS fits the token's `kid` and algorithm, in a set
    /// fetched after the token arrived: the token is refused.
    #[error("no signing key of the provider matches the token (kid {})", .0.as_deref().unwrap_or("absent"))]
    UnknownKey(Option<String>),
    /// The provider's JWKS could not be fetched — none is cached, or the cached set lacks
    /// the token's key: try again later.
    #[error("the provider's signing keys are unavailable: {0}")]
    KeysUnavailable(String),
    /// The cached keys lack the token's, and the set was fetched (or found without it)
    /// a moment ago, so it is not fetched again yet: the provider may have just rotated
    /// its keys, or the token is forged — only a later fetch can tell. Try again in a
    /// few seconds.
    #[error("no cached signing key matches the token (kid {}), and the provider's keys are not fetched again yet", .0.as_deref().unwrap_or("absent"))]
    UnconfirmedKey(Option<String>),
    /// The signature does not verify: the token was altered or not signed by the provider.
    #[error("the token's signature does not verify")]
    Signature,
    /// A claim failed its check: the claim's name and what is wrong.
    #[error("the token's `{0}` {1}")]
    Claim(&'static str, &'static str),
    /// The header's `typ` is not this kind of token's (an access token offered as an
    /// id_token, ...).
    #[error("the token's type is wrong: {0}")]
    Type(&'static str),
}

impl JwtError {
    /// The token's key cannot be known now (the provider's keys could not be fetched,
    /// or not yet again): not the token's fault, try again later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            JwtError::KeysUnavailable(_) | JwtError::UnconfirmedKey(_)
        )
    }
}

/// Which environment variable each setting came from (`route_prefix` →
/// `OAUTH_ROUTE_PREFIX`): `OAuthConfig` fills it, and the
/// provider's and the builder's errors about those settings are renamed through it, so
/// they name the variable. A setting the app sets in code afterwards is forgotten.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sources(Vec<(&'static str, String)>);

impl Sources {
    /// `variable` configures `setting`; one that `is_set` wins over one that is not.
    pub(crate) fn note(&mut self, setting: &'static str, variable: String, is_set: bool) {
        match self.0.iter_mut().find(|(s, _)| *s == setting) {
            Some(entry) if is_set => entry.1 = variable,
            Some(_) => {}
            None => self.0.push((setting, variable)),
        }
    }

    /// The app set `setting` in code: its errors name the setting again.
    pub(crate) fn forget(&mut self, setting: &str) {
        self.0.retain(|(s, _)| *s != setting);
    }

    /// The one rename: an error about a setting a variable configures names the variable.
    pub(crate) fn rename(&self, error: ConfigError) -> ConfigError {
        match self.0.iter().find(|(s, _)| *s == error.setting()) {
            Some((_, variable)) => error.for_variable(variable),
            None => error,
        }
    }
}
