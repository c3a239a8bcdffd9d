//! The error every builder returns: which setting is wrong, and why.

/// A setting was missing or invalid. Returned by every `build()` and by
/// [`OAuthConfig::from_env`](crate::OAuthConfig::from_env); never at request time.
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
    /// is not needed. See [`serve_when_ready`](crate::serve_when_ready).
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
