//! OpenID Connect Discovery 1.0: a [`Provider`] from the server's metadata at
//! `{issuer}/.well-known/openid-configuration`.
//!
//! The document is fetched once, with the crate's HTTP client (connect and total
//! timeouts, no redirects, a body cap), and turned into a [`ProviderBuilder`] so that
//! the app can still choose scopes, the client authentication method and the rest
//! before [`build`](ProviderBuilder::build). Every endpoint it names goes through the
//! same rule as a configured one: `https`, or `http` on loopback only.

use std::time::Duration;

use http::header::ACCEPT;
use serde_json::{Map, Value};
use url::Url;

use super::{ClientAuth, Provider, ProviderBuilder, TokenBody};
use super::{parse_endpoint, parse_secure_endpoint};
use crate::transport::{
    Endpoint, HttpConfig, OAuthError, http_client, json_error_kind, read_response, sanitize,
};

/// Bound on connecting to the provider.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on the whole request, body included.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Real documents are a few kilobytes (Google's, Entra's and Keycloak's are under 10 KiB).
const MAX_BODY_BYTES: usize = 256 * 1024;
/// OpenID Connect Discovery 1.0 §4.
const WELL_KNOWN: &str = "/.well-known/openid-configuration";

mod error;
pub use error::DiscoveryError;

impl Provider {
    /// Reads an OpenID Connect provider's metadata from
    /// `{issuer}/.well-known/openid-configuration` (OpenID Connect Discovery 1.0; a
    /// trailing `/` of the issuer is dropped before the suffix is added) and returns a
    /// builder for it, as [`from_metadata`](Provider::from_metadata) describes.
    ///
    /// The request has a 5 s connect and a 10 s total timeout, follows no redirects and
    /// reads at most 256 KiB. Call it once at startup; [`DiscoveryError::is_transient`]
    /// tells a provider that is down from one that is misconfigured.
    ///
    /// ```no_run
    /// use axum_oauth_login::{OAuth, Provider};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let provider = Provider::discover("https://accounts.google.com")
    ///     .await?
    ///     .scopes(["openid", "email", "profile"])
    ///     .build()?;
    /// assert_eq!(provider.issuer(), Some("https://accounts.google.com"));
    /// let oauth = OAuth::builder(provider, "client-id", "client-secret")
    ///     .redirect_uri("https://app.example.com/auth/callback")
    ///     .build()?;
    /// # drop(oauth);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn discover(issuer: &str) -> Result<ProviderBuilder, DiscoveryError> {
        Self::discover_with(issuer, &HttpConfig::default()).await
    }

    /// [`discover`](Self::discover) through an HTTP client the app configures (a proxy,
    /// roots, its own TLS, default headers); redirects stay off and the timeouts stay
    /// 5 s and 10 s, set after `configure`.
    ///
    /// ```no_run
    /// use axum_oauth_login::Provider;
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let provider = Provider::discover_with_http_client("https://accounts.google.com", |http| {
    ///     http.no_proxy()
    /// })
    /// .await?
    /// .build()?;
    /// # drop(provider);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn discover_with_http_client<F>(
        issuer: &str,
        configure: F,
    ) -> Result<ProviderBuilder, DiscoveryError>
    where
        F: Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync + 'static,
    {
        Self::discover_with(issuer, &HttpConfig::new(configure)).await
    }

    async fn discover_with(
        issuer: &str,
        config: &HttpConfig,
    ) -> Result<ProviderBuilder, DiscoveryError> {
        check_issuer(issuer)?;
        let url = format!("{}{WELL_KNOWN}", issuer.trim_end_matches('/'));
        let unreachable = |reason: String| DiscoveryError::Unreachable {
            url: url.clone(),
            reason,
        };
        let target = Url::parse(&url).map_err(|e| unreachable(e.to_string()))?;
        let http = http_client(CONNECT_TIMEOUT, TIMEOUT, config)
            .map_err(|e| unreachable(e.reason().into()))?;
        let request = http.get(target).header(ACCEPT, "application/json");
        let (status, _, body) = read_response(Endpoint::Api, request, MAX_BODY_BYTES, TIMEOUT)
            .await
            .map_err(|e| match e {
                OAuthError::Timeout { timeout, .. } => DiscoveryError::Timeout {
                    url: url.clone(),
                    timeout,
                },
                OAuthError::BodyTooLarge { limit, .. } => DiscoveryError::TooLarge {
                    url: url.clone(),
                    limit,
                },
                OAuthError::Transport { reason, .. } => unreachable(reason),
                other => unreachable(other.to_string()),
            })?;
        if status != 200 {
            return Err(DiscoveryError::Status { url, status });
        }
        let builder = Provider::from_metadata(issuer, &body)?;
        tracing::info!(issuer, "OpenID Connect provider discovered");
        Ok(builder)
    }

    /// A builder from an OpenID Connect discovery document already at hand (a cached
    /// copy, a test fixture); [`discover`](Provider::discover) fetches it.
    ///
    /// - `issuer` in the document must equal `issuer` exactly (no normalisation: a
    ///   trailing `/` counts), else [`DiscoveryError::IssuerMismatch`].
    /// - Endpoints: `authorization_endpoint` and `token_endpoint` (required),
    ///   `userinfo_endpoint`, `introspection_endpoint`, `revocation_endpoint`,
    ///   `end_session_endpoint`, `pushed_authorization_request_endpoint`; each `https`
    ///   (or `http` on loopback).
    /// - Pushed authorization requests (RFC 9126) are used when
    ///   `require_pushed_authorization_requests` is `true`, not merely because the
    ///   endpoint is advertised; an app opts in with [`par`](ProviderBuilder::par).
    /// - PKCE (S256) stays on unless `code_challenge_methods_supported` is present and
    ///   lacks `S256`; then it is turned off, with a warning in the log.
    /// - Client authentication: `client_secret_basic` when
    ///   `token_endpoint_auth_methods_supported` lists it or is absent (the spec's
    ///   default), else `client_secret_post` when listed, else `private_key_jwt` when
    ///   listed (the build then requires a client key), else
    ///   [`DiscoveryError::UnsupportedClientAuth`]. A client registered for the other
    ///   method sets it with [`client_auth`](ProviderBuilder::client_auth).
    /// - A callback must carry `iss` only when the document says
    ///   `authorization_response_iss_parameter_supported: true` (RFC 9207); a callback's
    ///   `iss`, when sent, must always equal the issuer.
    /// - `jwks_uri` (required by Discovery, absent from plain OAuth metadata): id_tokens
    ///   are validated against it, and the scope is `openid`; without it, no `openid`.
    /// - Name: the issuer's host; token requests as a form.
    ///
    /// The returned builder builds as it is; change what you need first.
    ///
    /// ```
    /// use axum_oauth_login::{Provider, provider::ClientAuth};
    /// let doc = br#"{
    ///     "issuer": "https://id.example/realms/main",
    ///     "authorization_endpoint": "https://id.example/realms/main/auth",
    ///     "token_endpoint": "https://id.example/realms/main/token",
    ///     "end_session_endpoint": "https://id.example/realms/main/logout",
    ///     "jwks_uri": "https://id.example/realms/main/certs",
    ///     "code_challenge_methods_supported": ["plain", "S256"],
    ///     "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_post"],
    ///     "authorization_response_iss_parameter_supported": true
    /// }"#;
    /// let p = Provider::from_metadata("https://id.example/realms/main", doc)?.build()?;
    /// assert_eq!(p.name(), "id.example");
    /// assert_eq!(p.end_session_url().unwrap().path(), "/realms/main/logout");
    /// assert_eq!(p.client_auth(), ClientAuth::ClientSecretPost);
    /// assert!(p.pkce() && p.issuer_in_callback());
    /// assert_eq!(p.scopes(), ["openid"]);
    /// assert!(p.is_openid() && p.logout_at_provider());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_metadata(issuer: &str, document: &[u8]) -> Result<ProviderBuilder, DiscoveryError> {
        let issuer_url = check_issuer(issuer)?;
        let doc: Value =
            serde_json::from_slice(document).map_err(|e| malformed(json_error_kind(&e)))?;
        let doc = doc
            .as_object()
            .ok_or_else(|| malformed("not a JSON object"))?;

        let found =
            string(doc, "issuer")?.ok_or(DiscoveryError::MissingField { name: "issuer" })?;
        if found != issuer {
            return Err(DiscoveryError::IssuerMismatch {
                expected: issuer.to_owned(),
                found: sanitize(found, 200),
            });
        }

        let name = issuer_url.host_str().unwrap_or("oidc").to_owned();
        let mut builder = Provider::custom(name)
            .authorize_url(required_endpoint(doc, "authorization_endpoint")?)
            .token_url(required_endpoint(doc, "token_endpoint")?)
            .issuer(issuer)
            .token_body(TokenBody::Form);
        if let Some(url) = endpoint(doc, "userinfo_endpoint")? {
            builder = builder.userinfo_url(url);
        }
        if let Some(url) = endpoint(doc, "introspection_endpoint")? {
            builder = builder.introspection_url(url);
        }
        if let Some(url) = endpoint(doc, "revocation_endpoint")? {
            builder = builder.revocation_url(url);
        }
        if let Some(url) = endpoint(doc, "end_session_endpoint")? {
            builder = builder.end_session_url(url);
        }
        if let Some(url) = endpoint(doc, "pushed_authorization_request_endpoint")? {
            builder = builder.par_url(url);
        }
        if let Some(algs) = strings(doc, "dpop_signing_alg_values_supported")? {
            builder = builder.dpop_algorithms(algs.into_iter().take(16).map(|a| sanitize(a, 16)));
        }
        match doc.get("require_pushed_authorization_requests") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => builder = builder.par(true),
            Some(_) => {
                return Err(malformed(
                    "`require_pushed_authorization_requests` is not a boolean",
                ));
            }
        }
        // Required by Discovery §3; an OAuth-only server (RFC 8414) may lack it, and
        // then id_tokens cannot be validated (nor are they asked for: no `openid`).
        let openid = match endpoint(doc, "jwks_uri")? {
            Some(url) => {
                builder = builder.jwks_url(url);
                true
            }
            None => {
                tracing::warn!(
                    issuer,
                    "the metadata has no jwks_uri: id_tokens cannot be validated, so the \
                     `openid` scope is not requested"
                );
                false
            }
        };

        let pkce = match strings(doc, "code_challenge_methods_supported")? {
            Some(methods) if !methods.contains(&"S256") => {
                tracing::warn!(
                    issuer,
                    "the provider's code_challenge_methods_supported lacks S256: PKCE is off"
                );
                false
            }
            _ => true,
        };
        let client_auth = match strings(doc, "token_endpoint_auth_methods_supported")? {
            None => ClientAuth::ClientSecretBasic,
            Some(m) if m.contains(&"client_secret_basic") => ClientAuth::ClientSecretBasic,
            Some(m) if m.contains(&"client_secret_post") => ClientAuth::ClientSecretPost,
            // The only method left that this crate speaks: it needs a client key
            // (`OAuthBuilder::client_key`), which the build asks for.
            Some(m) if m.contains(&"private_key_jwt") => ClientAuth::PrivateKeyJwt,
            Some(m) => {
                return Err(DiscoveryError::UnsupportedClientAuth {
                    methods: m.iter().take(16).map(|s| sanitize(s, 64)).collect(),
                });
            }
        };
        let iss_in_callback = match doc.get("authorization_response_iss_parameter_supported") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(malformed(
                    "`authorization_response_iss_parameter_supported` is not a boolean",
                ));
            }
        };
        if openid {
            builder = builder.scopes(["openid"]);
        }
        builder = builder
            .pkce(pkce)
            .client_auth(client_auth)
            .issuer_in_callback(iss_in_callback);

        // What `build` checks beyond the URL rule (a fragment in the authorize URL, ...),
        // reported now, under the metadata's names.
        if let Err(e) = builder.clone().build() {
            return Err(DiscoveryError::InvalidEndpoint {
                name: metadata_name(e.setting()),
                reason: e.reason().to_owned(),
            });
        }
        Ok(builder)
    }
}

/// The configured issuer: an `https` URL (or `http` on loopback) without query or
/// fragment (Discovery §2).
fn check_issuer(issuer: &str) -> Result<Url, DiscoveryError> {
    let invalid = |reason: &str| DiscoveryError::InvalidIssuer {
        issuer: sanitize(issuer, 200),
        reason: reason.to_owned(),
    };
    let url = parse_secure_endpoint("issuer", issuer).map_err(|e| invalid(e.reason()))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not carry a query or a fragment"));
    }
    Ok(url)
}

fn malformed(reason: &str) -> DiscoveryError {
    DiscoveryError::Malformed {
        reason: reason.to_owned(),
    }
}

/// A string field; absent or `null` is `None`.
fn string<'a>(doc: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, DiscoveryError> {
    match doc.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(malformed(&format!("`{name}` is not a string"))),
    }
}

/// An array-of-strings field; absent or `null` is `None`.
fn strings<'a>(
    doc: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<&'a str>>, DiscoveryError> {
    let wrong = || malformed(&format!("`{name}` is not an array of strings"));
    match doc.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or_else(wrong))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(wrong()),
    }
}

/// An endpoint field, checked by the rule configured endpoints follow.
fn endpoint<'a>(
    doc: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, DiscoveryError> {
    let Some(value) = string(doc, name)? else {
        return Ok(None);
    };
    parse_endpoint(name, value).map_err(|e| DiscoveryError::InvalidEndpoint {
        name,
        reason: e.reason().to_owned(),
    })?;
    parse_secure_endpoint(name, value).map_err(|_| DiscoveryError::InsecureEndpoint { name })?;
    Ok(Some(value))
}

fn required_endpoint<'a>(
    doc: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, DiscoveryError> {
    endpoint(doc, name)?.ok_or(DiscoveryError::MissingField { name })
}

/// The metadata field behind a builder setting.
fn metadata_name(setting: &str) -> &'static str {
    match setting {
        "authorize_url" => "authorization_endpoint",
        "token_url" => "token_endpoint",
        "userinfo_url" => "userinfo_endpoint",
        "introspection_url" => "introspection_endpoint",
        "revocation_url" => "revocation_endpoint",
        "end_session_url" => "end_session_endpoint",
        "par_url" => "pushed_authorization_request_endpoint",
        "jwks_url" => "jwks_uri",
        _ => "issuer",
    }
}
