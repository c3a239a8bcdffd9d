//! The error every builder returns: which setting is wrong, and why.

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
