//! Configuration from the environment: one table row per `OAUTH_*` variable (the setting
//! it sets and how its value is parsed), onto the builder that checks every setting.

use std::collections::HashMap;

use crate::error::{ConfigError, Sources};
use crate::jose::SigningKey;
use crate::oauth::{OAuth, OAuthBuilder};
use crate::provider::{ClientAuth, Provider, ProviderBuilder, TokenBody};
use crate::session::CookieKey;

use self::values::{
    authorize_params, choose, dpop_keys, list, on_off, reason, seconds, session_store,
};

/// An [`OAuthBuilder`] configured from environment variables (prefix `OAUTH` by default):
///
/// | variable | meaning |
/// |---|---|
/// | `OAUTH_PROVIDER` | `vcita` (default), `apicbase`, `custom`, or `oidc` (discovered from `OAUTH_ISSUER`; read with [`OAuthConfig::from_env_async`]) |
/// | `OAUTH_CLIENT_ID`, `OAUTH_CLIENT_SECRET` | the credentials the provider issued (required) |
/// | `OAUTH_REDIRECT_URI` | the registered callback URL (required); its path is the callback route |
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
/// | `OAUTH_CLIENT_AUTH` | `post` or `basic` (also `client_secret_post`, `client_secret_basic`), or `private_key_jwt` (then `OAUTH_CLIENT_KEY` is required and `OAUTH_CLIENT_SECRET` unused) |
/// | `OAUTH_CLIENT_KEY` | the client's private key for `private_key_jwt`, PEM (PKCS#8, or PKCS#1 RSA; `\n` may stand for line breaks) |
/// | `OAUTH_PKCE` | `on`, `off`, `true`, `false`, `1` or `0` |
/// | `OAUTH_PAR` | `on` pushes every login's authorization request first (RFC 9126; set by `oidc` discovery when the provider requires it); same values as `OAUTH_PKCE` |
/// | `OAUTH_DPOP` | `on` binds tokens to the app's DPoP key (RFC 9449); same values as `OAUTH_PKCE` |
/// | `OAUTH_DPOP_KEY` | the app's DPoP private key, PEM like `OAUTH_CLIENT_KEY`; during a rotation several keys, newest first (the older ones keep proving the tokens bound to them) |
/// | `OAUTH_ACCEPT_DPOP` | `on`: `BearerUser` and the guards also take `Authorization: DPoP` tokens with a proof (RFC 9449; needs introspection or local JWT checks) |
/// | `OAUTH_PAR_URL` | the pushed authorization request endpoint (set by discovery for `oidc`) |
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
/// Every error names the variable, never showing a secret: a value that does not parse,
/// or that the provider refuses, fails here; the builder's own checks run in
/// [`build`](OAuthBuilder::build). Two providers in one app read two prefixes (`VCITA_*`,
/// `APICBASE_*`), each with its own `_ROUTE_PREFIX` and `_COOKIE_NAME`.
///
/// **Code wins.** [`into_builder`](Self::into_builder) hands over the builder: a call
/// made on it afterwards (`.session_store(..)`, `.route_prefix(..)`) replaces what the
/// variable set, and its errors then name the builder setting, not the variable.
///
/// **Provider from code.** With a provider and credentials known in code (a
/// `MockProvider` for demos, a secrets manager), [`from_env_for`](Self::from_env_for)
/// reads everything else from the environment. There `OAUTH_PROVIDER`, the credentials
/// and the provider's variables (endpoints, `OAUTH_ISSUER`, `OAUTH_SCOPES`, ...) are
/// refused when set, naming the variable: they would otherwise be silently ignored.
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
#[derive(Debug)]
#[non_exhaustive]
pub struct OAuthConfig {
    builder: OAuthBuilder,
}

impl OAuthConfig {
    /// Reads `OAUTH_*` from the process environment.
    pub fn from_env() -> Result<OAuthConfig, ConfigError> {
        Self::from_env_prefix("OAUTH")
    }

    /// Reads `{prefix}_*` from the process environment (e.g. `APICBASE_CLIENT_ID` for
    /// a second provider).
    pub fn from_env_prefix(prefix: &str) -> Result<OAuthConfig, ConfigError> {
        Self::from_vars(prefix, env(prefix))
    }

    /// Reads the variables from an iterator instead of the environment (tests, config
    /// files). `OAUTH_PROVIDER=oidc` needs the network: use
    /// [`from_vars_async`](Self::from_vars_async).
    pub fn from_vars(
        prefix: &str,
        vars: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Result<OAuthConfig, ConfigError> {
        Vars::new(prefix, vars).read(Client::Vars(None))
    }

    /// Like [`from_env`](Self::from_env), and `OAUTH_PROVIDER=oidc` too: the provider
    /// is discovered from `OAUTH_ISSUER`'s `/.well-known/openid-configuration` (see
    /// [`Provider::discover`]); the other variables then override what it advertises.
    /// See [`serve_when_ready`](crate::startup::serve_when_ready) for a provider that is
    /// down at startup.
    pub async fn from_env_async() -> Result<OAuthConfig, ConfigError> {
        Self::from_vars_async("OAUTH", env("OAUTH")).await
    }

    /// [`from_vars`](Self::from_vars) with discovery for `{prefix}_PROVIDER=oidc`. A
    /// provider that cannot be reached, or whose metadata names another issuer, is an
    /// error naming `{prefix}_ISSUER` ([transient](ConfigError::is_transient) when the
    /// provider could not be reached). The variables are read before the first await, so
    /// the future is `Send` whatever `vars` is.
    pub fn from_vars_async(
        prefix: &str,
        vars: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> impl Future<Output = Result<OAuthConfig, ConfigError>> + Send {
        let vars = Vars::new(prefix, vars);
        async move {
            let discovered = match vars.get("PROVIDER") {
                Some(kind) if kind.eq_ignore_ascii_case("oidc") => Some(vars.discover().await?),
                _ => None,
            };
            vars.read(Client::Vars(discovered))
        }
    }

    /// The provider and credentials from code, everything else from `OAUTH_*`: a demo
    /// falling back to a mock provider keeps `OAUTH_COOKIE_KEY`, `OAUTH_SESSION_STORE`,
    /// `OAUTH_ROUTE_PREFIX`, ... `OAUTH_REDIRECT_URI` may be left unset and given in code
    /// ([`OAuthBuilder::redirect_uri`]). `OAUTH_PROVIDER`, `OAUTH_CLIENT_ID`,
    /// `OAUTH_CLIENT_SECRET` and the provider's variables are refused when set.
    ///
    /// ```
    /// use axum_oauth_login::{OAuthConfig, Provider};
    /// let vars = [("OAUTH_ROUTE_PREFIX", "/sso"), ("OAUTH_COOKIE_KEY", "ephemeral")];
    /// let oauth = OAuthConfig::from_vars_for("OAUTH", vars, Provider::vcita(), "id", "secret")?
    ///     .into_builder()
    ///     .redirect_uri("https://app.example.com/auth/callback")
    ///     .build()?;
    /// assert_eq!(oauth.login_path(), "/sso/login");
    /// let vars = [("OAUTH_CLIENT_ID", "another-id")];
    /// let err = OAuthConfig::from_vars_for("OAUTH", vars, Provider::vcita(), "id", "secret");
    /// assert_eq!(err.unwrap_err().setting(), "OAUTH_CLIENT_ID");
    /// # Ok::<(), axum_oauth_login::ConfigError>(())
    /// ```
    pub fn from_env_for(
        provider: Provider,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<OAuthConfig, ConfigError> {
        Self::from_vars_for("OAUTH", env("OAUTH"), provider, client_id, client_secret)
    }

    /// [`from_env_for`](Self::from_env_for) with a prefix, from an iterator.
    pub fn from_vars_for(
        prefix: &str,
        vars: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
        provider: Provider,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<OAuthConfig, ConfigError> {
        let client = Client::Code(provider, client_id.into(), client_secret.into());
        Vars::new(prefix, vars).read(client)
    }

    /// The provider, with every variable applied.
    pub fn provider(&self) -> &Provider {
        self.builder.parts().0
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        self.builder.parts().1
    }

    /// The redirect URI, when one was given.
    pub fn redirect_uri(&self) -> Option<&str> {
        self.builder.parts().2
    }

    /// The builder with these settings, for what only code can give (a login hook,
    /// pages) and for overrides: a builder call replaces what a variable set.
    pub fn into_builder(self) -> OAuthBuilder {
        self.builder
    }
}

/// Where the provider and its credentials come from.
#[allow(clippy::large_enum_variant)] // one value per read, moved once
enum Client {
    /// The variables: a preset, `custom`, or what `oidc` discovery found.
    Vars(Option<ProviderBuilder>),
    /// The app's code ([`OAuthConfig::from_env_for`]).
    Code(Provider, String, String),
}

/// One variable: `suffix` sets the builder `setting` through `apply`.
struct Row<T> {
    suffix: &'static str,
    setting: &'static str,
    apply: fn(T, &str) -> Result<T, String>,
}

/// The table: `"SUFFIX" => setting` passes the value to the builder method `setting`;
/// `= |builder, value| ...` parses it first. Errors about `setting` name the variable.
macro_rules! rows {
    (@apply $setting:ident) => { |b, v| Ok(b.$setting(v)) };
    (@apply $setting:ident $apply:expr) => { $apply };
    ($table:ident: $target:ty { $($suffix:literal => $setting:ident $(= $apply:expr)?,)* }) => {
        const $table: &[Row<$target>] = &[$(Row {
            suffix: $suffix,
            setting: stringify!($setting),
            apply: rows!(@apply $setting $($apply)?),
        },)*];
    };
}

/// Besides [`PROVIDER`]'s rows: the variables that choose the provider and its
/// credentials (the builder takes them whole), with the settings they name.
const CLIENT: [(&str, &str); 3] = [
    ("PROVIDER", "provider"),
    ("CLIENT_ID", "client_id"),
    ("CLIENT_SECRET", "client_secret"),
];

rows! { PROVIDER: ProviderBuilder {
    // First: it replaces the vcita preset (the only one it applies to).
    "BRAND_HOST" => brand_host = |_, v| Ok(Provider::vcita_brand_host(v).map_err(reason)?.to_builder()),
    "AUTHORIZE_URL" => authorize_url,
    "TOKEN_URL" => token_url,
    "USERINFO_URL" => userinfo_url,
    "INTROSPECTION_URL" => introspection_url,
    "REVOCATION_URL" => revocation_url,
    "API_BASE" => api_base,
    "ISSUER" => issuer,
    "JWKS_URL" => jwks_url,
    "JWT_ACCESS_TOKENS" => jwt_access_tokens,
    "SCOPES" => scopes = |b, v| Ok(b.scopes(v.split_whitespace())),
    "AUTHORIZE_PARAMS" => authorize_param = |b, v| {
        Ok(authorize_params(v)?.into_iter().fold(b, |b, (name, v)| b.authorize_param(name, v)))
    },
    "TOKEN_BODY" => token_body = |b, v| {
        Ok(b.token_body(choose(v, &[("json", TokenBody::Json), ("form", TokenBody::Form)])?))
    },
    "CLIENT_AUTH" => client_auth = |b, v| Ok(b.client_auth(choose(v, &[
        ("post", ClientAuth::ClientSecretPost), ("basic", ClientAuth::ClientSecretBasic),
        ("client_secret_post", ClientAuth::ClientSecretPost),
        ("client_secret_basic", ClientAuth::ClientSecretBasic),
        ("private_key_jwt", ClientAuth::PrivateKeyJwt),
    ])?)),
    "PKCE" => pkce = |b, v| Ok(b.pkce(on_off(v)?)),
    "PAR_URL" => par_url,
    "PAR" => par = |b, v| Ok(b.par(on_off(v)?)),
    "DPOP" => dpop = |b, v| Ok(b.dpop(on_off(v)?)),
}}

rows! { APP: OAuthBuilder {
    "REDIRECT_URI" => redirect_uri,
    "POST_LOGOUT_REDIRECT_URI" => post_logout_redirect_uri,
    "ROUTE_PREFIX" => route_prefix,
    "COOKIE_NAME" => cookie_name,
    "AFTER_LOGOUT" => after_logout,
    "TRUSTED_ORIGINS" => trusted_origins = |b, v| Ok(b.trusted_origins(list(v))),
    "COOKIE_KEY" => cookie_key = |b, v| Ok(match v {
        "ephemeral" => b.ephemeral_cookie_key(),
        key => b.cookie_key(CookieKey::from_base64(key).map_err(reason)?),
    }),
    "COOKIE_KEYS" => cookie_key = |b, v| {
        let mut keys = list(v).map(|k| CookieKey::from_base64(k).map_err(reason));
        let newest = keys.next().unwrap_or_else(|| Err("lists no key".into()))?;
        let all = keys.try_fold(newest, |all, old| Ok::<_, String>(all.with_previous(old?)));
        Ok(b.cookie_key(all?))
    },
    "SESSION_STORE" => session_store = |b, v| Ok(match session_store(v)? {
        Some(store) => b.session_store_arc(store),
        None => b,
    }),
    "SESSION_LIFETIME" => session_lifetime = |b, v| Ok(b.session_lifetime(seconds(v)?)),
    "SESSION_IDLE_TIMEOUT" => idle_timeout = |b, v| Ok(b.idle_timeout(seconds(v)?)),
    "CLIENT_KEY" => client_key = |b, v| Ok(b.client_key(SigningKey::from_pem(v).map_err(reason)?)),
    "DPOP_KEY" => dpop_key = |b, v| Ok(b.dpop_keys(dpop_keys(v)?)),
    "ACCEPT_DPOP" => accept_dpop = |b, v| Ok(b.accept_dpop(on_off(v)?)),
}}

/// The variables under one prefix, and which setting each configures.
struct Vars {
    prefix: String,
    values: HashMap<String, String>,
    sources: Sources,
}

impl Vars {
    fn new(
        prefix: &str,
        vars: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Vars {
        let values = vars.into_iter().map(|(k, v)| (k.into(), v.into()));
        let (prefix, values, sources) = (prefix.to_owned(), values.collect(), Sources::default());
        Vars {
            prefix,
            values,
            sources,
        }
    }

    fn name(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.prefix)
    }

    /// The trimmed value; empty is unset.
    fn get(&self, suffix: &str) -> Option<&str> {
        let value = self.values.get(&self.name(suffix)).map(|v| v.trim());
        value.filter(|v| !v.is_empty())
    }

    fn error(&self, suffix: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError::new(self.name(suffix), reason)
    }

    /// `oidc`: what the provider at `ISSUER` advertises.
    async fn discover(&self) -> Result<ProviderBuilder, ConfigError> {
        let issuer = self.get("ISSUER");
        let issuer = issuer.ok_or_else(|| self.error("ISSUER", "is required with `oidc`"))?;
        let found = Provider::discover(issuer).await;
        found.map_err(|e| match self.error("ISSUER", e.to_string()) {
            error if e.is_transient() => error.transient(),
            error => error,
        })
    }

    /// The provider `PROVIDER` names, before its other variables apply.
    fn preset(&self, discovered: Option<ProviderBuilder>) -> Result<ProviderBuilder, ConfigError> {
        let kinds = ["vcita", "apicbase", "custom", "oidc"].map(|k| (k, k));
        let kind = choose(self.get("PROVIDER").unwrap_or("vcita"), &kinds);
        let kind = kind.map_err(|r| self.error("PROVIDER", r))?;
        if kind != "vcita" && self.get("BRAND_HOST").is_some() {
            let reason = format!("only applies to {}=vcita", self.name("PROVIDER"));
            return Err(self.error("BRAND_HOST", reason));
        }
        let async_only = "`oidc` discovers the provider over the network: read the \
                          configuration with OAuthConfig::from_env_async().await";
        Ok(match kind {
            "vcita" => Provider::vcita().to_builder(),
            "apicbase" => Provider::apicbase().to_builder(),
            "custom" => Provider::custom("custom"),
            _ => discovered.ok_or_else(|| self.error("PROVIDER", async_only))?,
        })
    }

    /// Applies each row whose variable is set, noting which variable configures each
    /// setting (set or not: a missing variable is named when its setting is missing).
    fn apply<T>(&mut self, rows: &[Row<T>], mut target: T) -> Result<T, ConfigError> {
        for row in rows {
            let value = self.get(row.suffix).map(str::to_owned);
            let name = self.name(row.suffix);
            self.sources.note(row.setting, name, value.is_some());
            if let Some(value) = value {
                target = (row.apply)(target, &value).map_err(|r| self.error(row.suffix, r))?;
            }
        }
        Ok(target)
    }

    fn read(mut self, client: Client) -> Result<OAuthConfig, ConfigError> {
        if let (Some(_), Some(_)) = (self.get("COOKIE_KEY"), self.get("COOKIE_KEYS")) {
            let reason = format!("set either {} or this, not both", self.name("COOKIE_KEY"));
            return Err(self.error("COOKIE_KEYS", reason));
        }
        let (provider, client_id, client_secret) = match client {
            Client::Code(provider, id, secret) => {
                if let Some(set) = provider_suffixes().find(|s| self.get(s).is_some()) {
                    let reason = "is set, but the provider and its credentials come from code \
                                  here (OAuthConfig::from_env_for): unset it";
                    return Err(self.error(set, reason));
                }
                (provider, id, secret)
            }
            Client::Vars(discovered) => {
                let provider = self.apply(PROVIDER, self.preset(discovered)?)?.build();
                let provider = provider.map_err(|e| self.sources.rename(e))?;
                for (suffix, setting) in CLIENT {
                    self.sources.note(setting, self.name(suffix), true);
                }
                // Unset, they are empty: the builder says they must not be.
                let credential = |suffix| self.get(suffix).unwrap_or_default().to_owned();
                (
                    provider,
                    credential("CLIENT_ID"),
                    credential("CLIENT_SECRET"),
                )
            }
        };
        let builder = self.apply(APP, OAuth::builder(provider, client_id, client_secret))?;
        let builder = builder.with_sources(self.sources);
        Ok(OAuthConfig { builder })
    }
}

/// The variables of the provider and its credentials.
fn provider_suffixes() -> impl Iterator<Item = &'static str> {
    CLIENT
        .map(|c| c.0)
        .into_iter()
        .chain(PROVIDER.iter().map(|r| r.suffix))
}

/// The process's variables under `prefix` (one that is not UTF-8 is read lossily: an
/// invalid value, not a panic).
fn env(prefix: &str) -> impl Iterator<Item = (String, String)> + use<'_> {
    std::env::vars_os().filter_map(move |(k, v)| {
        let k = k.into_string().ok().filter(|k| k.starts_with(prefix))?;
        Some((k, v.to_string_lossy().into_owned()))
    })
}

mod values;

#[cfg(test)]
mod tests;
