//! The builder's settings, grouped by concern. Each group checks itself; the builder
//! only runs the checks, derives what follows from them, and constructs.

use std::time::Duration;

use url::Url;

use crate::client::OAuthClient;
use crate::clock::Clock;
use crate::error::ConfigError;
use crate::login::LoginHook;
use crate::pages::{Messages, Pages, RenderHook};
use crate::return_to::safe_return_to;
use crate::session::{Backend, CookieCodec, CookieKey, TimedStore};
use crate::state::Paths;
use crate::users::{Lookups, UserCache};

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Where the routes live and what the challenges say.
#[derive(Debug)]
pub(super) struct RouteSettings {
    pub(super) trusted_origins: Vec<String>,
    pub(super) prefix: String,
    pub(super) after_logout: String,
    pub(super) post_logout_redirect_uri: Option<String>,
    pub(super) realm: String,
}

impl RouteSettings {
    /// The route paths; the callback's is the redirect URI's path, which must be a
    /// literal axum path that collides with neither login nor logout.
    pub(super) fn paths(&self, redirect_uri: &Url) -> Result<Paths, ConfigError> {
        let prefix = normalize_prefix(&self.prefix)?;
        if safe_return_to(&self.after_logout).is_none() {
            return Err(ConfigError::new(
                "after_logout",
                "must be a same-site path starting with `/`",
            ));
        }
        if self.realm.contains(['"', '\\']) || self.realm.chars().any(char::is_control) {
            return Err(ConfigError::new(
                "realm",
                "must not contain quotes, backslashes or control characters",
            ));
        }
        let callback = redirect_uri.path().to_owned();
        if callback
            .split('/')
            .any(|seg| seg.starts_with([':', '*']) || seg.contains(['{', '}']))
        {
            return Err(ConfigError::new(
                "redirect_uri",
                "its path must not contain route parameters (`:x`, `*x`, `{x}`)",
            ));
        }
        let post_logout_redirect_uri = match &self.post_logout_redirect_uri {
            Some(uri) => {
                let url = crate::provider::parse_secure_endpoint("post_logout_redirect_uri", uri)?;
                if url.fragment().is_some() {
                    return Err(ConfigError::new(
                        "post_logout_redirect_uri",
                        "must not contain a fragment",
                    ));
                }
                Some(url)
            }
            None => None,
        };
        let (login, logout) = (format!("{prefix}/login"), format!("{prefix}/logout"));
        let backchannel_logout = format!("{prefix}/backchannel-logout");
        let forbidden = format!("{prefix}/forbidden");
        if [&login, &logout, &backchannel_logout, &forbidden].contains(&&callback) {
            return Err(ConfigError::new(
                "redirect_uri",
                "its path collides with the login or logout route",
            ));
        }
        Ok(Paths {
            login,
            callback,
            logout,
            forbidden,
            backchannel_logout,
            after_logout: self.after_logout.clone(),
            post_logout_redirect_uri,
        })
    }
}

impl RouteSettings {
    /// The flow cookies' path: on https `/` (they are `__Host-`, which requires it); on
    /// plain http the route prefix, when the callback lives under it, so they only travel
    /// to the login and callback routes.
    pub(super) fn flow_cookie_path(&self, paths: &Paths, secure: bool) -> String {
        let prefix = paths.login.trim_end_matches("/login");
        if !secure && !prefix.is_empty() && paths.callback.starts_with(&format!("{prefix}/")) {
            prefix.to_owned()
        } else {
            "/".to_owned()
        }
    }
}

/// `/auth`, `auth`, `/auth/` → `/auth`; `/` → `` (routes at the root).
pub(crate) fn normalize_prefix(prefix: &str) -> Result<String, ConfigError> {
    let trimmed = prefix.trim_matches('/');
    let valid = trimmed.is_empty()
        || trimmed.split('/').all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
    if !valid || trimmed.contains("..") {
        return Err(ConfigError::new(
            "route_prefix",
            "must be a plain path such as `/auth`",
        ));
    }
    Ok(if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    })
}

/// A session cookie's base name: 1 to 64 letters, digits, `_` and `-`.
pub(crate) fn check_cookie_name(name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            "cookie_name",
            "use 1 to 64 letters, digits, `_` and `-`",
        ))
    }
}

/// The session cookie: key, name, `Secure`, lifetime.
#[derive(Debug)]
pub(super) struct CookieSettings {
    pub(super) key: Option<CookieKey>,
    /// A random per-process key was chosen explicitly.
    pub(super) ephemeral: bool,
    pub(super) name: String,
    pub(super) secure: Option<bool>,
    pub(super) session_lifetime: Duration,
}

impl CookieSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_cookie_name(&self.name)?;
        if self.session_lifetime < Duration::from_secs(60) || self.session_lifetime > 3650 * DAY {
            return Err(ConfigError::new(
                "session_lifetime",
                "must be between 60 s and 10 years",
            ));
        }
        Ok(())
    }

    /// The codec for this app's cookies, with the configured key. Without one, a random
    /// per-process key (sessions end at every restart, instances cannot share them) is
    /// used only when chosen explicitly or on plain-http loopback development setups.
    pub(super) fn codec(
        &mut self,
        secure: bool,
        context: String,
    ) -> Result<CookieCodec, ConfigError> {
        let key = match self.key.take() {
            Some(key) => key,
            None if secure && !self.ephemeral => {
                return Err(ConfigError::new(
                    "cookie_key",
                    "is required with an https redirect URI: a random per-process key logs \
                     everyone out at every restart and breaks deployments with several \
                     instances. Set OAUTH_COOKIE_KEY to 64+ random bytes in base64 (openssl \
                     rand -base64 64), or choose a per-process key explicitly with \
                     ephemeral_cookie_key() / OAUTH_COOKIE_KEY=ephemeral",
                ));
            }
            None => {
                if !self.ephemeral {
                    tracing::warn!(
                        "no cookie key configured: using a random one; sessions will not survive \
                         a restart (set OAUTH_COOKIE_KEY to 64+ random bytes, base64)"
                    );
                }
                CookieKey::generate()
            }
        };
        Ok(CookieCodec::new(key, secure, context))
    }

    /// `Secure` cookies (and the `__Host-` prefix) unless set otherwise: on https.
    pub(super) fn secure_for(&self, redirect_uri: &Url) -> bool {
        self.secure.unwrap_or(redirect_uri.scheme() == "https")
    }
}

/// Where sessions live and how long.
#[derive(Debug)]
pub(super) struct SessionSettings {
    pub(super) idle_timeout: Option<Duration>,
    pub(super) store: Option<std::sync::Arc<dyn crate::store::SessionStore>>,
    pub(super) store_timeout: Duration,
}

impl SessionSettings {
    pub(super) fn validate(&self, lifetime: Duration) -> Result<(), ConfigError> {
        if let Some(idle) = self.idle_timeout
            && (idle < Duration::from_secs(60) || idle > lifetime)
        {
            return Err(ConfigError::new(
                "idle_timeout",
                "must be at least 60 s and at most the session lifetime",
            ));
        }
        if self.store_timeout.is_zero() || self.store_timeout > Duration::from_secs(60) {
            return Err(ConfigError::new(
                "store_timeout",
                "must be between 1 ms and 60 s",
            ));
        }
        Ok(())
    }

    /// Where sessions live: the configured store, with its timeout, or the cookie.
    pub(super) fn backend(&self) -> Backend {
        match &self.store {
            Some(store) => Backend::Store(TimedStore::new(store.clone(), self.store_timeout)),
            None => Backend::Cookie,
        }
    }
}

/// Logins in progress.
#[derive(Debug)]
pub(super) struct FlowSettings {
    pub(super) login_timeout: Duration,
    pub(super) max_pending: usize,
}

impl FlowSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.login_timeout < Duration::from_secs(10) {
            return Err(ConfigError::new("login_timeout", "must be at least 10 s"));
        }
        if !(1..=20).contains(&self.max_pending) {
            return Err(ConfigError::new(
                "max_pending_logins",
                "must be between 1 and 20",
            ));
        }
        Ok(())
    }
}

/// Resolving users: the cache, the cap on upstream lookups, the login snapshot.
#[derive(Debug)]
pub(super) struct UserSettings {
    pub(super) cache_ttl: Duration,
    pub(super) cache_capacity: u64,
    pub(super) max_concurrent_lookups: usize,
    pub(super) fetch_on_login: bool,
    /// The app's login hook: its own user from the provider's answer.
    pub(super) on_login: Option<LoginHook>,
    /// Where answers are shared with other instances (opt-in).
    pub(super) shared: Option<std::sync::Arc<dyn crate::store::SessionStore>>,
}

impl UserSettings {
    /// The user cache these settings describe.
    pub(super) fn cache(&self, client: &OAuthClient, clock: &Clock, wait: Duration) -> UserCache {
        let lookups = Lookups {
            max_concurrent: self.max_concurrent_lookups,
            wait,
        };
        UserCache::new(
            client.clone(),
            self.cache_ttl,
            self.cache_capacity,
            clock.clone(),
            lookups,
        )
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.cache_capacity == 0 || self.cache_ttl.is_zero() || self.cache_ttl > 30 * DAY {
            return Err(ConfigError::new(
                "user_cache",
                "TTL between 1 s and 30 days, capacity greater than zero",
            ));
        }
        if !(1..=10_000).contains(&self.max_concurrent_lookups) {
            return Err(ConfigError::new(
                "max_concurrent_lookups",
                "must be between 1 and 10 000",
            ));
        }
        Ok(())
    }
}

/// The crate's pages: their words and, optionally, the app's HTML.
#[derive(Default)]
pub(super) struct PageSettings {
    pub(super) messages: Messages,
    pub(super) render: Option<RenderHook>,
}

impl std::fmt::Debug for PageSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageSettings")
            .field("custom_render", &self.render.is_some())
            .finish_non_exhaustive()
    }
}

impl PageSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        match self.messages.unknown_key() {
            Some(key) => Err(ConfigError::new(
                "messages",
                format!(
                    "`{key}` is not a message key; the keys are: {}",
                    Messages::keys().collect::<Vec<_>>().join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// The pages these settings describe, with "try again" pointing at `login`.
    pub(super) fn pages(self, login: &str) -> Pages {
        Pages::new(self.messages, self.render, login.to_owned())
    }
}

/// Refreshing tokens before they expire.
#[derive(Debug)]
pub(super) struct RefreshSettings {
    pub(super) skew: Duration,
    pub(super) grace: Duration,
}

impl RefreshSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.skew > DAY {
            return Err(ConfigError::new("refresh_skew", "must be at most one day"));
        }
        if self.grace.is_zero() || self.grace > DAY {
            return Err(ConfigError::new(
                "refresh_grace",
                "must be between 1 s and one day",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
