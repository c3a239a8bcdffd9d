//! Configuration from the environment, so every app reads the same `OAUTH_*` variables.

use crate::error::ConfigError;
use crate::oauth::{OAuth, OAuthBuilder};
use crate::provider::{ClientAuth, Provider, ProviderBuilder, TokenBody};
use crate::secret::ClientSecret;
use crate::session::CookieKey;

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
/// | `OAUTH_COOKIE_KEY` | base64 of 64+ random bytes (without it: a random key per process) |
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
    /// The cookie key, when one was given.
    pub cookie_key: Option<CookieKey>,
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
        crate::provider::parse_endpoint("redirect_uri", &redirect_uri).map_err(rename)?;
        let cookie_key = get("COOKIE_KEY")
            .map(|k| CookieKey::from_base64(&k).map_err(rename))
            .transpose()?;
        Ok(OAuthConfig {
            provider,
            client_id,
            client_secret,
            redirect_uri,
            cookie_key,
        })
    }

    /// An [`OAuthBuilder`] with these settings, for further options.
    pub fn into_builder(self) -> OAuthBuilder {
        let builder = OAuth::builder(self.provider, self.client_id, self.client_secret.secret())
            .redirect_uri(self.redirect_uri);
        match self.cookie_key {
            Some(key) => builder.cookie_key(key),
            None => builder,
        }
    }
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
