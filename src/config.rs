//! Configuration from the environment, so every app reads the same `OAUTH_*` variables.

use std::sync::Arc;
use std::time::Duration;

use crate::error::ConfigError;
use crate::oauth::{OAuth, OAuthBuilder, check_cookie_name, normalize_prefix};
use crate::provider::{ClientAuth, Provider, ProviderBuilder, TokenBody};
use crate::secret::ClientSecret;
use crate::session::CookieKey;
use crate::store::{MemoryStore, SessionStore};

/// Settings read from environment variables (prefix `OAUTH` by default):
///
/// | variable | meaning |
/// |---|---|
/// | `OAUTH_PROVIDER` | `vcita` (default), `apicbase`, `custom`, or `oidc` (discovered from `OAUTH_ISSUER`; read with [`OAuthConfig::from_env_async`]) |
/// | `OAUTH_CLIENT_ID`, `OAUTH_CLIENT_SECRET` | the credentials the provider issued (required) |
/// | `OAUTH_REDIRECT_URI` | the registered callback URL (required) |
/// | `OAUTH_AUTHORIZE_URL`, `OAUTH_TOKEN_URL` | endpoints; required for `custom`, override a preset's |
/// | `OAUTH_USERINFO_URL`, `OAUTH_INTROSPECTION_URL`, `OAUTH_REVOCATION_URL` | optional endpoints |
/// | `OAUTH_API_BASE` | the provider's API base for `AuthSession::api` and connected accounts (presets: vcita `https://api.vcita.biz`, Apicbase `https://api.apicbase.com/api/v1`) |
/// | `OAUTH_ISSUER` | the issuer checked against a callback's `iss` (RFC 9207); with `oidc`, where the provider is discovered |
/// | `OAUTH_JWKS_URL` | the provider's signing keys (set by discovery for `oidc`): with an issuer, id_tokens are validated |
/// | `OAUTH_JWT_ACCESS_TOKENS` | this API's resource identifier: JWT access tokens (RFC 9068) for it are checked locally, without a call to the provider |
/// | `OAUTH_POST_LOGOUT_REDIRECT_URI` | where the provider's end-session endpoint sends the browser after logout (OpenID Connect; registered at the provider) |
/// | `OAUTH_BRAND_HOST` | vcita only: the white-label host of the authorize page (an error with any other `OAUTH_PROVIDER`) |
/// | `OAUTH_SCOPES` | space-separated scopes |
/// | `OAUTH_AUTHORIZE_PARAMS` | extra authorize parameters as a URL query string, percent-decoded (`prompt=login&ui_locales=de`); the ones the crate sets (`state`, `redirect_uri`, `code_challenge`, ...) are refused, and so is a name given twice |
/// | `OAUTH_TOKEN_BODY` | `json` or `form` |
/// | `OAUTH_CLIENT_AUTH` | `post` or `basic` |
/// | `OAUTH_PKCE` | `on`, `off`, `true`, `false`, `1` or `0` |
/// | `OAUTH_ROUTE_PREFIX` | where the login and logout routes live (default `/auth`: `/auth/login`, `/auth/logout`); the callback stays the redirect URI's path |
/// | `OAUTH_COOKIE_NAME` | the session cookie's base name (default `oauth_session`; `__Host-` is prepended on https): letters, digits, `_` and `-` |
/// | `OAUTH_AFTER_LOGOUT` | the same-site path logout redirects to (default `/`) |
/// | `OAUTH_COOKIE_KEY` | base64 of 64+ random bytes; required with an https redirect URI. `ephemeral` chooses a random key per process (restarts log everyone out) |
/// | `OAUTH_COOKIE_KEYS` | instead of `OAUTH_COOKIE_KEY` during a key rotation: comma-separated keys, newest first; cookies sealed with an older one are accepted and re-sealed with the newest |
/// | `OAUTH_TRUSTED_ORIGINS` | comma-separated origins (besides the redirect URI's) whose pages may post to this app with its session, e.g. `https://admin.example.com` |
/// | `OAUTH_SESSION_STORE` | `cookie` (default), `memory`, or a `redis://` / `rediss://` URL (feature `redis`) |
/// | `OAUTH_SESSION_LIFETIME` | absolute session lifetime in seconds (default 7 days) |
/// | `OAUTH_SESSION_IDLE_TIMEOUT` | seconds without use after which a session ends (default: none) |
///
/// A missing or invalid value is an error naming the variable; secrets never appear in
/// the message. Two providers in one app read two prefixes (`VCITA_*`, `APICBASE_*`), each
/// with its own `_ROUTE_PREFIX` and `_COOKIE_NAME`.
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
    /// Where the login and logout routes live, when given (checked like
    /// [`OAuthBuilder::route_prefix`]).
    pub route_prefix: Option<String>,
    /// The session cookie's base name, when given (checked like
    /// [`OAuthBuilder::cookie_name`]).
    pub cookie_name: Option<String>,
    /// Where logout sends the browser, when given: a same-site path.
    pub after_logout: Option<String>,
    /// Where the provider sends the browser after logging out there (OpenID Connect).
    pub post_logout_redirect_uri: Option<String>,
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
    /// files). `OAUTH_PROVIDER=oidc` needs the network: use
    /// [`from_vars_async`](Self::from_vars_async).
    pub fn from_vars<I, K, V>(prefix: &str, vars: I) -> Result<OAuthConfig, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self::read(prefix, collect(vars), None)
    }

    /// Like [`from_env`](Self::from_env), and `OAUTH_PROVIDER=oidc` too: the provider
    /// is discovered from `OAUTH_ISSUER`'s `/.well-known/openid-configuration` (see
    /// [`Provider::discover`]); the other variables then override what it advertises.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), axum_oauth_login::ConfigError> {
    /// // OAUTH_PROVIDER=oidc OAUTH_ISSUER=https://accounts.google.com
    /// // OAUTH_CLIENT_ID=... OAUTH_CLIENT_SECRET=... OAUTH_REDIRECT_URI=...
    /// let oauth = axum_oauth_login::OAuthConfig::from_env_async()
    ///     .await?
    ///     .into_builder()
    ///     .build()?;
    /// # let _ = oauth; Ok(()) }
    /// ```
    pub async fn from_env_async() -> Result<OAuthConfig, ConfigError> {
        let vars = std::env::vars().filter(|(k, _)| k.starts_with("OAUTH"));
        Self::from_vars_async("OAUTH", vars).await
    }

    /// [`from_vars`](Self::from_vars) with discovery for `{prefix}_PROVIDER=oidc`. A
    /// provider that cannot be reached, or whose metadata names another issuer, is an
    /// error naming `{prefix}_ISSUER` ([transient](ConfigError::is_transient) when the
    /// provider could not be reached). The variables are read before the first await, so
    /// the future is `Send` whatever `vars` is.
    pub fn from_vars_async<I, K, V>(
        prefix: &str,
        vars: I,
    ) -> impl Future<Output = Result<OAuthConfig, ConfigError>> + Send + use<'_, I, K, V>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars = collect(vars);
        Self::discover_and_read(prefix, vars)
    }

    async fn discover_and_read(
        prefix: &str,
        vars: std::collections::HashMap<String, String>,
    ) -> Result<OAuthConfig, ConfigError> {
        let var = |suffix: &str| {
            vars.get(&format!("{prefix}_{suffix}"))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let oidc = var("PROVIDER").is_some_and(|p| p.eq_ignore_ascii_case("oidc"));
        let discovered = if oidc {
            let variable = format!("{prefix}_ISSUER");
            let issuer = var("ISSUER")
                .ok_or_else(|| ConfigError::new(variable.clone(), "is required with `oidc`"))?;
            Some(Provider::discover(&issuer).await.map_err(|e| {
                let error = ConfigError::new(variable, e.to_string());
                if e.is_transient() {
                    error.transient()
                } else {
                    error
                }
            })?)
        } else {
            None
        };
        Self::read(prefix, vars, discovered)
    }

    fn read(
        prefix: &str,
        vars: std::collections::HashMap<String, String>,
        discovered: Option<ProviderBuilder>,
    ) -> Result<OAuthConfig, ConfigError> {
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
            let variable = match e.setting() {
                // One variable holds every extra authorize parameter.
                "authorize_param" => name("AUTHORIZE_PARAMS"),
                setting => name(&setting.to_ascii_uppercase()),
            };
            e.for_variable(&variable)
        };
        // A brand host with another provider would silently do nothing.
        let no_brand_host = || match get("BRAND_HOST") {
            Some(_) => Err(ConfigError::new(
                name("BRAND_HOST"),
                format!("only applies to {}=vcita", name("PROVIDER")),
            )),
            None => Ok(()),
        };

        let kind = get("PROVIDER").unwrap_or_else(|| "vcita".into());
        let mut builder: ProviderBuilder = match kind.to_ascii_lowercase().as_str() {
            "vcita" => match get("BRAND_HOST") {
                Some(host) => Provider::vcita_brand_host(&host)
                    .map_err(rename)?
                    .to_builder(),
                None => Provider::vcita().to_builder(),
            },
            "apicbase" => {
                no_brand_host()?;
                Provider::apicbase().to_builder()
            }
            "custom" => {
                no_brand_host()?;
                Provider::custom("custom")
                    .authorize_url(required("AUTHORIZE_URL")?)
                    .token_url(required("TOKEN_URL")?)
            }
            "oidc" => {
                no_brand_host()?;
                discovered.ok_or_else(|| {
                    ConfigError::new(
                        name("PROVIDER"),
                        "`oidc` discovers the provider over the network: read the \
                         configuration with OAuthConfig::from_env_async().await",
                    )
                })?
            }
            _ => {
                return Err(invalid(
                    "PROVIDER",
                    "`vcita`, `apicbase`, `oidc` or `custom`",
                ));
            }
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
        if let Some(v) = get("API_BASE") {
            builder = builder.api_base(v);
        }
        if let Some(v) = get("ISSUER") {
            builder = builder.issuer(v);
        }
        if let Some(v) = get("JWKS_URL") {
            builder = builder.jwks_url(v);
        }
        if let Some(v) = get("JWT_ACCESS_TOKENS") {
            builder = builder.jwt_access_tokens(v);
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
                _ => {
                    return Err(invalid("PKCE", "`on`, `off`, `true`, `false`, `1` or `0`"));
                }
            });
        }
        if let Some(v) = get("AUTHORIZE_PARAMS") {
            for (param, value) in authorize_params(&v)
                .map_err(|reason| ConfigError::new(name("AUTHORIZE_PARAMS"), reason))?
            {
                builder = builder.authorize_param(param, value);
            }
        }
        let provider = builder.build().map_err(rename)?;
        let client_id = required("CLIENT_ID")?;
        let client_secret = ClientSecret::new(required("CLIENT_SECRET")?);
        let redirect_uri = required("REDIRECT_URI")?;
        let redirect_url = crate::provider::parse_secure_endpoint("redirect_uri", &redirect_uri)
            .map_err(rename)?;
        // The builder checks these in `build()` under their setting names; checked here
        // with the same rules, the error names the variable.
        let route_prefix = get("ROUTE_PREFIX");
        let prefix_path = normalize_prefix(route_prefix.as_deref().unwrap_or("/auth"))
            .map_err(|e| e.for_variable(&name("ROUTE_PREFIX")))?;
        let callback = redirect_url.path();
        if callback == format!("{prefix_path}/login") || callback == format!("{prefix_path}/logout")
        {
            let reason = format!(
                "the redirect URI's path `{callback}` is also the login or logout route; \
                 set {} and {} apart",
                name("REDIRECT_URI"),
                name("ROUTE_PREFIX"),
            );
            let variable = if route_prefix.is_some() {
                "ROUTE_PREFIX"
            } else {
                "REDIRECT_URI"
            };
            return Err(ConfigError::new(name(variable), reason));
        }
        let cookie_name = get("COOKIE_NAME");
        if let Some(v) = &cookie_name {
            check_cookie_name(v).map_err(|e| e.for_variable(&name("COOKIE_NAME")))?;
        }
        let after_logout = get("AFTER_LOGOUT");
        if let Some(v) = &after_logout
            && crate::safe_return_to(v).is_none()
        {
            return Err(invalid(
                "AFTER_LOGOUT",
                "a same-site path starting with `/`, such as `/goodbye`",
            ));
        }
        let post_logout_redirect_uri = get("POST_LOGOUT_REDIRECT_URI");
        if let Some(v) = &post_logout_redirect_uri {
            crate::provider::parse_secure_endpoint("post_logout_redirect_uri", v)
                .map_err(|e| e.for_variable(&name("POST_LOGOUT_REDIRECT_URI")))?;
        }
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
            route_prefix,
            cookie_name,
            after_logout,
            post_logout_redirect_uri,
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
        if let Some(prefix) = self.route_prefix {
            builder = builder.route_prefix(prefix);
        }
        if let Some(name) = self.cookie_name {
            builder = builder.cookie_name(name);
        }
        if let Some(path) = self.after_logout {
            builder = builder.after_logout(path);
        }
        if let Some(uri) = self.post_logout_redirect_uri {
            builder = builder.post_logout_redirect_uri(uri);
        }
        builder
    }
}

/// `prompt=login&ui_locales=de`: `name=value` pairs, percent-decoded (`+` is a space), each
/// name at most once (RFC 6749 §3.1). Errors name the entry's position, never its value.
fn authorize_params(query: &str) -> Result<Vec<(String, String)>, String> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut params: Vec<(String, String)> = Vec::new();
    for (i, entry) in query.split('&').filter(|e| !e.is_empty()).enumerate() {
        let n = i + 1;
        let (param, value) = entry
            .split_once('=')
            .ok_or_else(|| format!("entry {n} is not `name=value` (e.g. `prompt=login`)"))?;
        let decode = |part: &str| {
            percent_decode(part).ok_or_else(|| {
                format!("entry {n} is not valid percent-encoding (`%` and two hex digits, UTF-8)")
            })
        };
        let (param, value) = (decode(param)?, decode(value)?);
        if param.is_empty() || param.chars().any(char::is_control) {
            return Err(format!("entry {n} has an empty or unprintable name"));
        }
        if params.iter().any(|(seen, _)| *seen == param) {
            return Err(format!("`{param}` is given more than once"));
        }
        params.push((param, value));
    }
    Ok(params)
}

/// Query-string decoding: `+` is a space, `%XX` a byte; a stray `%` or a result that is
/// not UTF-8 is `None`.
fn percent_decode(part: &str) -> Option<String> {
    let bytes = part.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    let spaced = part.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

fn collect<I, K, V>(vars: I) -> std::collections::HashMap<String, String>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    vars.into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
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

    fn with(extra: &[(&str, &str)]) -> Result<OAuthConfig, ConfigError> {
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
    fn openid_connect_variables_reach_the_provider_and_the_builder() {
        let cfg = with(&[
            ("OAUTH_PROVIDER", "custom"),
            ("OAUTH_AUTHORIZE_URL", "https://id.example/authorize"),
            ("OAUTH_TOKEN_URL", "https://id.example/token"),
            ("OAUTH_ISSUER", "https://id.example"),
            ("OAUTH_JWKS_URL", "https://id.example/jwks"),
            ("OAUTH_JWT_ACCESS_TOKENS", "urn:my-api"),
            (
                "OAUTH_POST_LOGOUT_REDIRECT_URI",
                "http://127.0.0.1:3000/bye",
            ),
        ])
        .unwrap();
        assert!(cfg.provider.is_openid());
        assert_eq!(cfg.provider.jwt_access_tokens(), Some("urn:my-api"));
        assert_eq!(
            cfg.post_logout_redirect_uri.as_deref(),
            Some("http://127.0.0.1:3000/bye")
        );
        assert!(cfg.into_builder().build().is_ok());

        let bad = [
            (
                vec![("OAUTH_POST_LOGOUT_REDIRECT_URI", "http://app.example/bye")],
                "OAUTH_POST_LOGOUT_REDIRECT_URI",
            ),
            (
                vec![("OAUTH_JWKS_URL", "https://id.example/jwks")],
                "OAUTH_ISSUER",
            ),
            (
                vec![
                    ("OAUTH_ISSUER", "https://id.example"),
                    ("OAUTH_JWT_ACCESS_TOKENS", "urn:my-api"),
                ],
                "OAUTH_JWKS_URL",
            ),
        ];
        for (vars, variable) in bad {
            let err = with(&vars).unwrap_err();
            assert_eq!(err.setting(), variable, "{err}");
        }
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

    #[test]
    fn route_prefix_cookie_name_and_after_logout_apply() {
        let cfg = with(&[
            ("OAUTH_ROUTE_PREFIX", "auth/vcita/"),
            ("OAUTH_COOKIE_NAME", "vcita_session"),
            ("OAUTH_AFTER_LOGOUT", "/goodbye?from=vcita"),
        ])
        .unwrap();
        assert_eq!(cfg.route_prefix.as_deref(), Some("auth/vcita/"));
        let oauth = cfg.into_builder().build().unwrap();
        assert_eq!(oauth.login_path(), "/auth/vcita/login");
        assert_eq!(oauth.logout_path(), "/auth/vcita/logout");
        assert_eq!(oauth.shared().paths.callback, "/auth/callback");
        assert_eq!(oauth.shared().paths.after_logout, "/goodbye?from=vcita");
        assert_eq!(
            oauth.shared().flows.cookie_prefix_and_path().0,
            "vcita_session_flow_"
        );
        // Unset, the builder's defaults hold.
        let oauth = with(&[]).unwrap().into_builder().build().unwrap();
        assert_eq!(oauth.login_path(), "/auth/login");
        assert_eq!(oauth.shared().paths.after_logout, "/");
        assert_eq!(
            oauth.shared().flows.cookie_prefix_and_path().0,
            "oauth_session_flow_"
        );
    }

    /// `from_vars` checks `ROUTE_PREFIX`, `COOKIE_NAME` and `AFTER_LOGOUT` itself (so the
    /// error names the variable); it must accept exactly what `build()` accepts.
    #[test]
    fn route_cookie_and_logout_rules_match_the_builder() {
        let builder = || {
            OAuth::builder(Provider::vcita(), "id", "secret")
                .redirect_uri("http://127.0.0.1:3000/auth/callback")
        };
        let long = "a".repeat(64);
        let too_long = "a".repeat(65);
        let prefixes = [
            "/auth",
            "auth/",
            "/",
            "//",
            "/x/y-z_1.2",
            "/a b",
            "/a/../b",
            "/a..b",
            "a//b",
            "/auth?x",
            "/é",
            "/auth/login",
        ];
        let names = [
            "s",
            "vcita_session",
            "A-1",
            &long,
            &too_long,
            "a;b",
            "a b",
            "a.b",
            "é",
            "a=b",
        ];
        let paths = [
            "/",
            "/bye",
            "/bye?x=1",
            "/a%20b",
            "https://evil.example",
            "//evil.example",
            "bye",
            "/\\evil",
            "/a/../b",
            "/%2f%2fevil",
        ];
        let cases = prefixes
            .iter()
            .map(|v| ("OAUTH_ROUTE_PREFIX", *v, builder().route_prefix(*v)))
            .chain(
                names
                    .iter()
                    .map(|v| ("OAUTH_COOKIE_NAME", *v, builder().cookie_name(*v))),
            )
            .chain(
                paths
                    .iter()
                    .map(|v| ("OAUTH_AFTER_LOGOUT", *v, builder().after_logout(*v))),
            );
        for (variable, value, builder) in cases {
            let direct = builder.build();
            match with(&[(variable, value)]) {
                Ok(cfg) => {
                    assert!(direct.is_ok(), "{variable}={value}: the builder refuses it");
                    assert!(cfg.into_builder().build().is_ok(), "{variable}={value}");
                }
                Err(err) => {
                    assert!(
                        direct.is_err(),
                        "{variable}={value}: the builder accepts it"
                    );
                    assert_eq!(err.setting(), variable, "{err}");
                    assert!(err.to_string().contains(variable), "{err}");
                }
            }
        }
    }

    #[test]
    fn a_callback_on_the_login_or_logout_route_names_the_variable() {
        let cases = [
            (
                vec![
                    ("OAUTH_REDIRECT_URI", "http://127.0.0.1:3000/sso/login"),
                    ("OAUTH_ROUTE_PREFIX", "/sso"),
                ],
                "OAUTH_ROUTE_PREFIX",
            ),
            (
                vec![("OAUTH_REDIRECT_URI", "http://127.0.0.1:3000/auth/logout")],
                "OAUTH_REDIRECT_URI",
            ),
            (
                vec![
                    ("OAUTH_REDIRECT_URI", "http://127.0.0.1:3000/login"),
                    ("OAUTH_ROUTE_PREFIX", "/"),
                ],
                "OAUTH_ROUTE_PREFIX",
            ),
        ];
        for (vars, variable) in cases {
            let err = with(&vars).unwrap_err();
            assert_eq!(err.setting(), variable, "{err}");
            assert!(err.reason().contains("login or logout route"), "{err}");
        }
    }

    #[test]
    fn authorize_params_are_decoded_and_reach_the_authorize_url() {
        let cfg = with(&[(
            "OAUTH_AUTHORIZE_PARAMS",
            "prompt=login&ui_locales=de+fr&login_hint=a%2Bb%40example.com&",
        )])
        .unwrap();
        let expected = [
            ("prompt", "login"),
            ("ui_locales", "de fr"),
            ("login_hint", "a+b@example.com"),
        ];
        let params: Vec<(&str, &str)> = cfg
            .provider
            .authorize_params()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(params, expected);
        let oauth = cfg.into_builder().build().unwrap();
        let state = crate::secret::CsrfState::random();
        let url = oauth
            .client()
            .authorize_url(&state, Some(&crate::secret::PkceVerifier::random()));
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        for (k, v) in expected {
            assert!(pairs.contains(&(k.to_owned(), v.to_owned())), "{url}");
        }
        let states: Vec<_> = pairs.iter().filter(|(k, _)| k == "state").collect();
        assert_eq!(states.len(), 1, "{url}");
        assert_eq!(states[0].1, state.secret());
        // A leading `?` is tolerated; `=` in a value stays part of it.
        let cfg = with(&[("OAUTH_AUTHORIZE_PARAMS", "?claims=a=b")]).unwrap();
        assert_eq!(
            cfg.provider.authorize_params(),
            [("claims".to_owned(), "a=b".to_owned())]
        );
    }

    #[test]
    fn refused_or_malformed_authorize_params_name_the_variable() {
        for (value, reason) in [
            ("state=forged", "set by the crate"),
            (
                "prompt=login&redirect_uri=https://evil.example/",
                "set by the crate",
            ),
            ("code_challenge=x", "set by the crate"),
            ("client_id=other", "set by the crate"),
            ("scope=admin", "set by the crate"),
            ("prompt", "entry 1 is not `name=value`"),
            ("prompt=login&=x", "entry 2 has an empty"),
            ("prompt=login&prompt=none", "more than once"),
            ("prompt=%zz", "percent-encoding"),
            ("prompt=%4", "percent-encoding"),
            ("prompt=%ff", "percent-encoding"),
            ("a%0a=b", "unprintable"),
        ] {
            let err = with(&[("OAUTH_AUTHORIZE_PARAMS", value)]).unwrap_err();
            assert_eq!(err.setting(), "OAUTH_AUTHORIZE_PARAMS", "{value}: {err}");
            assert!(err.reason().contains(reason), "{value}: {err}");
        }
        // Values never appear in the message.
        let err = with(&[("OAUTH_AUTHORIZE_PARAMS", "very-secret-value")]).unwrap_err();
        assert!(!err.to_string().contains("very-secret-value"), "{err}");
    }

    #[test]
    fn pkce_accepts_and_lists_every_value() {
        for (value, on) in [
            ("on", true),
            ("ON", true),
            ("true", true),
            ("1", true),
            ("off", false),
            ("false", false),
            ("0", false),
        ] {
            assert_eq!(with(&[("OAUTH_PKCE", value)]).unwrap().provider.pkce(), on);
        }
        let err = with(&[("OAUTH_PKCE", "yes")]).unwrap_err();
        assert_eq!(err.setting(), "OAUTH_PKCE");
        for value in ["`on`", "`off`", "`true`", "`false`", "`1`", "`0`"] {
            assert!(err.reason().contains(value), "{err}");
        }
    }

    #[test]
    fn a_brand_host_needs_the_vcita_provider() {
        let cfg = with(&[("OAUTH_BRAND_HOST", "login.brand.example")]).unwrap();
        assert_eq!(
            cfg.provider.authorize_url().host_str(),
            Some("login.brand.example")
        );
        for provider in ["apicbase", "custom", "Apicbase"] {
            let err = with(&[
                ("OAUTH_PROVIDER", provider),
                ("OAUTH_AUTHORIZE_URL", "https://idp.example/authorize"),
                ("OAUTH_TOKEN_URL", "https://idp.example/token"),
                ("OAUTH_BRAND_HOST", "login.brand.example"),
            ])
            .unwrap_err();
            assert_eq!(err.setting(), "OAUTH_BRAND_HOST", "{provider}: {err}");
            assert!(
                err.reason()
                    .contains("only applies to OAUTH_PROVIDER=vcita"),
                "{err}"
            );
        }
        // An unknown provider is still reported as such.
        let err = with(&[
            ("OAUTH_PROVIDER", "github"),
            ("OAUTH_BRAND_HOST", "login.brand.example"),
        ])
        .unwrap_err();
        assert_eq!(err.setting(), "OAUTH_PROVIDER");
    }

    #[test]
    fn new_variables_name_their_prefix() {
        let base = [
            ("VCITA_CLIENT_ID", "id"),
            ("VCITA_CLIENT_SECRET", "very-secret-value"),
            (
                "VCITA_REDIRECT_URI",
                "http://127.0.0.1:3000/auth/vcita/callback",
            ),
        ];
        for (variable, value) in [
            ("VCITA_ROUTE_PREFIX", "/a b"),
            ("VCITA_COOKIE_NAME", "a;b"),
            ("VCITA_AFTER_LOGOUT", "https://evil.example"),
            ("VCITA_AUTHORIZE_PARAMS", "state=x"),
            ("VCITA_PKCE", "maybe"),
        ] {
            let vars = base.into_iter().chain([(variable, value)]);
            let err = OAuthConfig::from_vars("VCITA", vars).unwrap_err();
            assert_eq!(err.setting(), variable, "{err}");
            assert!(!err.to_string().contains("very-secret-value"));
        }
        let vars = base.into_iter().chain([
            ("VCITA_PROVIDER", "apicbase"),
            ("VCITA_BRAND_HOST", "x.example"),
        ]);
        let err = OAuthConfig::from_vars("VCITA", vars).unwrap_err();
        assert_eq!(err.setting(), "VCITA_BRAND_HOST");
        assert!(err.reason().contains("VCITA_PROVIDER=vcita"), "{err}");
    }
}
