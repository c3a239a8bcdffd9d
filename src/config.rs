//! Configuration from the environment, so every app reads the same `OAUTH_*` variables.

use std::sync::Arc;
use std::time::Duration;

use crate::error::ConfigError;
use crate::oauth::{OAuth, OAuthBuilder};
use crate::provider::{ClientAuth, Provider, ProviderBuilder, TokenBody};
use crate::secret::ClientSecret;
use crate::session::CookieKey;
use crate::store::{MemoryStore, SessionStore};

/// Settings read from environment variables (prefix `OAUTH` by default):
///
/// | variable | meaning |
/// |---|---|
/// | `OAUTH_PROVIDER` | `vcita` (default), `apicbase` or `custom` |
/// | `OAUTH_CLIENT_ID`, `OAUTH_CLIENT_SECRET` | the credentials the provider issued (required) |
/// | `OAUTH_REDIRECT_URI` | the registered callback URL (required) |
/// | `OAUTH_AUTHORIZE_URL`, `OAUTH_TOKEN_URL` | endpoints; required for `custom`, override a preset's |
/// | `OAUTH_USERINFO_URL`, `OAUTH_INTROSPECTION_URL`, `OAUTH_REVOCATION_URL` | optional endpoints |
/// | `OAUTH_ISSUER` | the issuer checked against a callback's `iss` (RFC 9207) |
/// | `OAUTH_BRAND_HOST` | vcita only: the white-label host of the authorize page |
/// | `OAUTH_SCOPES` | space-separated scopes |
/// | `OAUTH_TOKEN_BODY` | `json` or `form` |
/// | `OAUTH_CLIENT_AUTH` | `post` or `basic` |
/// | `OAUTH_PKCE` | `on` or `off` |
/// | `OAUTH_COOKIE_KEY` | base64 of 64+ random bytes; required with an https redirect URI. `ephemeral` chooses a random key per process (restarts log everyone out) |
/// | `OAUTH_COOKIE_KEYS` | instead of `OAUTH_COOKIE_KEY` during a key rotation: comma-separated keys, newest first; cookies sealed with an older one are accepted and re-sealed with the newest |
/// | `OAUTH_TRUSTED_ORIGINS` | comma-separated origins (besides the redirect URI's) whose pages may post to this app with its session, e.g. `https://admin.example.com` |
/// | `OAUTH_SESSION_STORE` | `cookie` (default), `memory`, or a `redis://` / `rediss://` URL (feature `redis`) |
/// | `OAUTH_SESSION_LIFETIME` | absolute session lifetime in seconds (default 7 days) |
/// | `OAUTH_SESSION_IDLE_TIMEOUT` | seconds without use after which a session ends (default: none) |
///
/// A missing or invalid value is an error naming the variable; secrets never appear in
/// the message.
///
/// ```
/// use axum_oauth_login::OAuthConfig;
/// let vars = [
///     ("OAUTH_CLIENT_ID", "abc"),
///     ("OAUTH_CLIENT_SECRET", "s3cret"),
///     ("OAUTH_REDIRECT_URI", "https://app.example.com/auth/callback"),
///     ("OAUTH_TOKEN_BODY", "xml"),
/// ];
/// let err = OAuthConfig::from_vars("OAUTH", vars).unwrap_err();
/// assert_eq!(err.setting(), "OAUTH_TOKEN_BODY");
/// ```
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// The provider, with every URL override applied.
    pub provider: Provider,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: ClientSecret,
    /// The redirect URI.
    pub redirect_uri: String,
    /// The cookie key, when one was given (with the previous keys of a rotation).
    pub cookie_key: Option<CookieKey>,
    /// Trusted origins besides the redirect URI's.
    pub trusted_origins: Vec<String>,
    /// `OAUTH_COOKIE_KEY=ephemeral`: a random key per process, chosen explicitly.
    pub ephemeral_cookie_key: bool,
    /// The server-side session store; `None` keeps sessions in the cookie.
    pub session_store: Option<Arc<dyn SessionStore>>,
    /// The absolute session lifetime, when given.
    pub session_lifetime: Option<Duration>,
    /// The idle timeout, when given.
    pub session_idle_timeout: Option<Duration>,
}

impl OAuthConfig {
    /// Reads `OAUTH_*` from the process environment.
    pub fn from_env() -> Result<OAuthConfig, ConfigError> {
        Self::from_env_prefix("OAUTH")
    }

    /// Reads `{prefix}_*` from the process environment (e.g. `APICBASE_CLIENT_ID` for
    /// a second provider).
    pub fn from_env_prefix(prefix: &str) -> Result<OAuthConfig, ConfigError> {
        let wanted = |k: &str| k.starts_with(prefix);
        Self::from_vars(prefix, std::env::vars().filter(|(k, _)| wanted(k)))
    }

    /// Reads the variables from an iterator instead of the environment (tests, config
    /// files).
    pub fn from_vars<I, K, V>(prefix: &str, vars: I) -> Result<OAuthConfig, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: std::collections::HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let name = |suffix: &str| format!("{prefix}_{suffix}");
        let get = |suffix: &str| -> Option<String> {
            vars.get(&name(suffix))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required =
            |suffix: &str| get(suffix).ok_or_else(|| ConfigError::new(name(suffix), "is not set"));
        let invalid = |suffix: &str, expected: &str| {
            ConfigError::new(name(suffix), format!("expected {expected}"))
        };
        // Builder errors name a setting (`token_url`); report the variable instead.
        let rename = |e: ConfigError| {
            let variable = name(&e.setting().to_ascii_uppercase());
            e.for_variable(&variable)
        };

        let kind = get("PROVIDER").unwrap_or_else(|| "vcita".into());
        let mut builder: ProviderBuilder = match kind.to_ascii_lowercase().as_str() {
            "vcita" => match get("BRAND_HOST") {
                Some(host) => Provider::vcita_brand_host(&host)
                    .map_err(rename)?
                    .to_builder(),
                None => Provider::vcita().to_builder(),
            },
            "apicbase" => Provider::apicbase().to_builder(),
            "custom" => Provider::custom("custom")
                .authorize_url(required("AUTHORIZE_URL")?)
                .token_url(required("TOKEN_URL")?),
            _ => return Err(invalid("PROVIDER", "`vcita`, `apicbase` or `custom`")),
        };
        if let Some(v) = get("AUTHORIZE_URL") {
            builder = builder.authorize_url(v);
        }
        if let Some(v) = get("TOKEN_URL") {
            builder = builder.token_url(v);
        }
        if let Some(v) = get("USERINFO_URL") {
            builder = builder.userinfo_url(v);
        }
        if let Some(v) = get("INTROSPECTION_URL") {
            builder = builder.introspection_url(v);
        }
        if let Some(v) = get("REVOCATION_URL") {
            builder = builder.revocation_url(v);
        }
        if let Some(v) = get("ISSUER") {
            builder = builder.issuer(v);
        }
        if let Some(v) = get("SCOPES") {
            builder = builder.scopes(v.split_whitespace());
        }
        if let Some(v) = get("TOKEN_BODY") {
            builder = builder.token_body(match v.to_ascii_lowercase().as_str() {
                "json" => TokenBody::Json,
                "form" => TokenBody::Form,
                _ => return Err(invalid("TOKEN_BODY", "`json` or `form`")),
            });
        }
        if let Some(v) = get("CLIENT_AUTH") {
            builder = builder.client_auth(match v.to_ascii_lowercase().as_str() {
                "post" | "client_secret_post" => ClientAuth::ClientSecretPost,
                "basic" | "client_secret_basic" => ClientAuth::ClientSecretBasic,
                _ => return Err(invalid("CLIENT_AUTH", "`post` or `basic`")),
            });
        }
        if let Some(v) = get("PKCE") {
            builder = builder.pkce(match v.to_ascii_lowercase().as_str() {
                "on" | "true" | "1" => true,
                "off" | "false" | "0" => false,
                _ => return Err(invalid("PKCE", "`on` or `off`")),
            });
        }
        let provider = builder.build().map_err(rename)?;
        let client_id = required("CLIENT_ID")?;
        let client_secret = ClientSecret::new(required("CLIENT_SECRET")?);
        let redirect_uri = required("REDIRECT_URI")?;
        crate::provider::parse_secure_endpoint("redirect_uri", &redirect_uri).map_err(rename)?;
        let ephemeral_cookie_key = get("COOKIE_KEY").is_some_and(|k| k == "ephemeral");
        let cookie_key = match (
            get("COOKIE_KEY").filter(|_| !ephemeral_cookie_key),
            get("COOKIE_KEYS"),
        ) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    name("COOKIE_KEYS"),
                    format!("set either {} or this, not both", name("COOKIE_KEY")),
                ));
            }
            (Some(key), None) => Some(
                CookieKey::from_base64(&key).map_err(|e| e.for_variable(&name("COOKIE_KEY")))?,
            ),
            (None, Some(keys)) => {
                Some(cookie_keys(&keys).map_err(|e| e.for_variable(&name("COOKIE_KEYS")))?)
            }
            (None, None) => None,
        };
        let session_store = match get("SESSION_STORE") {
            None => None,
            Some(v) => session_store(&v)
                .map_err(|reason| ConfigError::new(name("SESSION_STORE"), reason))?,
        };
        let seconds = |suffix: &str| -> Result<Option<Duration>, ConfigError> {
            get(suffix)
                .map(|v| {
                    v.parse::<u64>()
                        .map(Duration::from_secs)
                        .map_err(|_| invalid(suffix, "a whole number of seconds"))
                })
                .transpose()
        };
        Ok(OAuthConfig {
            provider,
            client_id,
            client_secret,
            redirect_uri,
            cookie_key,
            trusted_origins: get("TRUSTED_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            ephemeral_cookie_key,
            session_store,
            session_lifetime: seconds("SESSION_LIFETIME")?,
            session_idle_timeout: seconds("SESSION_IDLE_TIMEOUT")?,
        })
    }

    /// An [`OAuthBuilder`] with these settings, for further options.
    pub fn into_builder(self) -> OAuthBuilder {
        let mut builder =
            OAuth::builder(self.provider, self.client_id, self.client_secret.secret())
                .redirect_uri(self.redirect_uri);
        if let Some(key) = self.cookie_key {
            builder = builder.cookie_key(key);
        }
        if !self.trusted_origins.is_empty() {
            builder = builder.trusted_origins(self.trusted_origins);
        }
        if self.ephemeral_cookie_key {
            builder = builder.ephemeral_cookie_key();
        }
        if let Some(store) = self.session_store {
            builder = builder.session_store_arc(store);
        }
        if let Some(lifetime) = self.session_lifetime {
            builder = builder.session_lifetime(lifetime);
        }
        if let Some(idle) = self.session_idle_timeout {
            builder = builder.idle_timeout(idle);
        }
        builder
    }
}

/// Comma-separated keys, newest first: the newest seals, all open.
fn cookie_keys(list: &str) -> Result<CookieKey, ConfigError> {
    let mut keys = list
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(CookieKey::from_base64);
    let newest = keys
        .next()
        .ok_or_else(|| ConfigError::new("cookie_keys", "lists no key"))??;
    keys.try_fold(newest, |acc, old| Ok(acc.with_previous(old?)))
}

/// `cookie`, `memory`, or a Redis URL.
fn session_store(value: &str) -> Result<Option<Arc<dyn SessionStore>>, String> {
    match value {
        "cookie" => Ok(None),
        "memory" => Ok(Some(Arc::new(MemoryStore::new(100_000)))),
        url if url.starts_with("redis://") || url.starts_with("rediss://") => redis_store(url),
        _ => Err("expected `cookie`, `memory`, or a `redis://` / `rediss://` URL".into()),
    }
}

#[cfg(feature = "redis")]
fn redis_store(url: &str) -> Result<Option<Arc<dyn SessionStore>>, String> {
    crate::store::RedisStore::open(url)
        .map(|store| Some(Arc::new(store) as Arc<dyn SessionStore>))
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "redis"))]
fn redis_store(_: &str) -> Result<Option<Arc<dyn SessionStore>>, String> {
    Err("a Redis URL needs the crate's `redis` feature".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: [(&str, &str); 3] = [
        ("OAUTH_CLIENT_ID", "id"),
        ("OAUTH_CLIENT_SECRET", "very-secret-value"),
        ("OAUTH_REDIRECT_URI", "http://127.0.0.1:3000/auth/callback"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Result<OAuthConfig, ConfigError> {
        let mut vars: Vec<(&str, &str)> = BASE.to_vec();
        vars.extend_from_slice(extra);
        OAuthConfig::from_vars("OAUTH", vars)
    }

    fn without(missing: &str) -> Result<OAuthConfig, ConfigError> {
        OAuthConfig::from_vars("OAUTH", BASE.into_iter().filter(|(k, _)| *k != missing))
    }

    #[test]
    fn vcita_by_default_and_overrides_apply() {
        let cfg = with(&[("OAUTH_TOKEN_URL", "http://127.0.0.1:9/oauth/token")]).unwrap();
        assert_eq!(cfg.provider.name(), "vcita");
        assert_eq!(
            cfg.provider.token_url().as_str(),
            "http://127.0.0.1:9/oauth/token"
        );
        assert_eq!(cfg.provider.token_body(), TokenBody::Json);
        let cfg = with(&[
            ("OAUTH_PROVIDER", "apicbase"),
            ("OAUTH_SCOPES", "library  sales"),
            ("OAUTH_CLIENT_AUTH", "basic"),
            ("OAUTH_PKCE", "off"),
        ])
        .unwrap();
        assert_eq!(cfg.provider.scopes(), ["library", "sales"]);
        assert_eq!(cfg.provider.client_auth(), ClientAuth::ClientSecretBasic);
        assert!(!cfg.provider.pkce());
        assert!(cfg.into_builder().build().is_ok());
    }

    #[test]
    fn every_error_names_its_variable_and_hides_secrets() {
        let cases: Vec<(Result<OAuthConfig, ConfigError>, &str)> = vec![
            (without("OAUTH_CLIENT_ID"), "OAUTH_CLIENT_ID"),
            (without("OAUTH_CLIENT_SECRET"), "OAUTH_CLIENT_SECRET"),
            (without("OAUTH_REDIRECT_URI"), "OAUTH_REDIRECT_URI"),
            (with(&[("OAUTH_PROVIDER", "github")]), "OAUTH_PROVIDER"),
            (with(&[("OAUTH_PROVIDER", "custom")]), "OAUTH_AUTHORIZE_URL"),
            (
                with(&[
                    ("OAUTH_PROVIDER", "custom"),
                    ("OAUTH_AUTHORIZE_URL", "https://a/x"),
                ]),
                "OAUTH_TOKEN_URL",
            ),
            (with(&[("OAUTH_TOKEN_URL", "not a url")]), "OAUTH_TOKEN_URL"),
            (
                with(&[("OAUTH_USERINFO_URL", "ftp://x")]),
                "OAUTH_USERINFO_URL",
            ),
            (with(&[("OAUTH_TOKEN_BODY", "xml")]), "OAUTH_TOKEN_BODY"),
            (with(&[("OAUTH_CLIENT_AUTH", "jwt")]), "OAUTH_CLIENT_AUTH"),
            (with(&[("OAUTH_PKCE", "maybe")]), "OAUTH_PKCE"),
            (
                with(&[("OAUTH_COOKIE_KEY", "c2hvcnQ=")]),
                "OAUTH_COOKIE_KEY",
            ),
            (with(&[("OAUTH_COOKIE_KEY", "!!!")]), "OAUTH_COOKIE_KEY"),
            (with(&[("OAUTH_SCOPES", "a\"b")]), "OAUTH_SCOPES"),
            (with(&[("OAUTH_BRAND_HOST", "x/y")]), "OAUTH_BRAND_HOST"),
            (
                OAuthConfig::from_vars(
                    "OAUTH",
                    [
                        ("OAUTH_CLIENT_ID", "id"),
                        ("OAUTH_CLIENT_SECRET", "very-secret-value"),
                        ("OAUTH_REDIRECT_URI", "/relative"),
                    ],
                ),
                "OAUTH_REDIRECT_URI",
            ),
        ];
        for (result, variable) in cases {
            let err = result.unwrap_err();
            assert_eq!(err.setting(), variable, "{err}");
            assert!(err.to_string().contains(variable));
            assert!(!err.to_string().contains("very-secret-value"));
        }
    }

    #[test]
    fn session_variables() {
        use base64::Engine as _;
        let key = |b: u8| base64::engine::general_purpose::STANDARD.encode([b; 64]);
        let (new, old) = (key(1), key(2));
        let keys = format!("{new}, {old}");
        let cfg = OAuthConfig::from_vars(
            "OAUTH",
            BASE.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .chain([
                    ("OAUTH_COOKIE_KEYS".to_owned(), keys),
                    ("OAUTH_SESSION_STORE".to_owned(), "memory".to_owned()),
                    ("OAUTH_SESSION_LIFETIME".to_owned(), "86400".to_owned()),
                    ("OAUTH_SESSION_IDLE_TIMEOUT".to_owned(), "3600".to_owned()),
                ]),
        )
        .unwrap();
        assert!(cfg.session_store.is_some());
        assert_eq!(cfg.session_lifetime, Some(Duration::from_secs(86400)));
        assert_eq!(cfg.session_idle_timeout, Some(Duration::from_secs(3600)));
        assert!(cfg.cookie_key.is_some());
        assert!(cfg.into_builder().build().is_ok());
        for (var, value) in [
            ("OAUTH_SESSION_STORE", "mongodb://x"),
            ("OAUTH_SESSION_LIFETIME", "a week"),
            ("OAUTH_SESSION_IDLE_TIMEOUT", "-1"),
            ("OAUTH_COOKIE_KEYS", "!!!"),
            ("OAUTH_COOKIE_KEYS", ","),
        ] {
            let err = with(&[(var, value)]).unwrap_err();
            assert_eq!(err.setting(), var, "{err}");
        }
    }

    #[test]
    fn https_needs_a_cookie_key_or_an_explicit_ephemeral_one() {
        let https = [
            ("OAUTH_CLIENT_ID", "id"),
            ("OAUTH_CLIENT_SECRET", "very-secret-value"),
            (
                "OAUTH_REDIRECT_URI",
                "https://app.example.com/auth/callback",
            ),
        ];
        let err = OAuthConfig::from_vars("OAUTH", https)
            .unwrap()
            .into_builder()
            .build()
            .unwrap_err();
        assert_eq!(err.setting(), "cookie_key");
        assert!(err.reason().contains("OAUTH_COOKIE_KEY") && err.reason().contains("ephemeral"));
        let ephemeral = https.into_iter().chain([("OAUTH_COOKIE_KEY", "ephemeral")]);
        let cfg = OAuthConfig::from_vars("OAUTH", ephemeral).unwrap();
        assert!(cfg.ephemeral_cookie_key && cfg.cookie_key.is_none());
        assert!(cfg.into_builder().build().is_ok());
        // A non-loopback plain-http redirect URI is refused, naming the variable.
        let plain = [
            ("OAUTH_CLIENT_ID", "id"),
            ("OAUTH_CLIENT_SECRET", "s"),
            ("OAUTH_REDIRECT_URI", "http://app.example.com/auth/callback"),
        ];
        let err = OAuthConfig::from_vars("OAUTH", plain).unwrap_err();
        assert_eq!(err.setting(), "OAUTH_REDIRECT_URI");
        assert!(err.reason().contains("https"), "{err}");
    }

    #[test]
    fn other_prefixes_read_their_own_variables() {
        let cfg = OAuthConfig::from_vars(
            "APICBASE",
            [
                ("APICBASE_PROVIDER", "apicbase"),
                ("APICBASE_CLIENT_ID", "id"),
                ("APICBASE_CLIENT_SECRET", "s"),
                (
                    "APICBASE_REDIRECT_URI",
                    "http://127.0.0.1/apicbase/callback",
                ),
            ],
        )
        .unwrap();
        assert_eq!(cfg.provider.name(), "apicbase");
        assert!(!format!("{cfg:?}").contains("\"s\""));
    }
}
