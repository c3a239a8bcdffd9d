//! [`OAuthClientBuilder`]: the client's settings (redirect URI, timeouts, body cap,
//! clock, the app's HTTP hook), each checked in `build`.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::error::ConfigError;
use crate::jose::SigningKey;
use crate::provider::{ClientAuth, Provider, parse_secure_endpoint};
use crate::secret::ClientSecret;
use crate::transport::{HttpConfig, http_client};

use super::dpop::{Dpop, DpopKeys};
use super::{Inner, OAuthClient};

/// Builds an [`OAuthClient`]; every setting is checked in [`build`](Self::build).
#[must_use]
pub struct OAuthClientBuilder {
    pub(super) provider: Provider,
    pub(super) client_id: String,
    pub(super) client_secret: ClientSecret,
    pub(super) client_key: Option<SigningKey>,
    pub(super) dpop_keys: Option<DpopKeys>,
    pub(super) redirect_uri: Option<String>,
    pub(super) without_redirect_uri: bool,
    pub(super) connect_timeout: Duration,
    pub(super) timeout: Duration,
    pub(super) max_body_bytes: usize,
    pub(super) clock: Clock,
    pub(super) http: HttpConfig,
}

impl std::fmt::Debug for OAuthClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClientBuilder")
            .field("provider", &self.provider.name())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("client_key", &self.client_key)
            .field("dpop_keys", &self.dpop_keys)
            .finish_non_exhaustive()
    }
}

impl OAuthClientBuilder {
    /// The redirect URI registered with the provider. Required; always taken from here,
    /// never from request headers.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }
    /// For clients without a redirect URI (Apicbase: "if your application has no
    /// redirect URL configured, you'll be redirected to an Apicbase page from where you
    /// can copy the authorization code"): authorize and token requests then carry no
    /// `redirect_uri` (RFC 6749 §4.1.1 makes it optional when the client registered
    /// none). For command-line programs; a web app's login always has one.
    pub fn without_redirect_uri(mut self) -> Self {
        self.without_redirect_uri = true;
        self.redirect_uri = None;
        self
    }
    /// The client's private key, for a provider whose client authentication is
    /// [`ClientAuth::PrivateKeyJwt`]: every token, pushed authorization, introspection
    /// and revocation request then carries a fresh `client_assertion` signed with it
    /// (`iss` = `sub` = the client id, `aud` = the provider's issuer, a random `jti`,
    /// 60 s lifetime). The secret is not used and may be empty.
    ///
    /// ```no_run
    /// use axum_oauth_login::{Provider, client::OAuthClient, jose::SigningKey, provider::ClientAuth};
    /// let pem = std::fs::read_to_string("client-key.pem")?;
    /// let provider = Provider::custom("idp")
    ///     .authorize_url("https://idp.example.com/authorize")
    ///     .token_url("https://idp.example.com/token")
    ///     .issuer("https://idp.example.com")
    ///     .client_auth(ClientAuth::PrivateKeyJwt)
    ///     .build()?;
    /// let client = OAuthClient::builder(provider, "my-client-id", "")
    ///     .redirect_uri("https://app.example.com/auth/callback")
    ///     .client_key(SigningKey::from_pem(&pem)?)
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn client_key(mut self, key: SigningKey) -> Self {
        self.client_key = Some(key);
        self
    }
    /// The app's DPoP keys, for a provider with [`dpop`](crate::provider::ProviderBuilder::dpop)
    /// on (RFC 9449): the current key binds new tokens; previous keys keep proving the
    /// tokens bound to them.
    pub fn dpop_keys(mut self, keys: DpopKeys) -> Self {
        self.dpop_keys = Some(keys);
        self
    }
    /// Time allowed to open a connection (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    /// Time allowed for a whole request, body included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Largest response body read from the provider (default 1 MiB).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// The clock that token expiry is computed with (default: the system clock).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The app's configuration of the HTTP client this client (and its JWKS fetches)
    /// uses: a proxy, extra root certificates, its own TLS
    /// (`tls_backend_preconfigured`), default headers. Applied after the crate's TLS and
    /// user agent and before the settings the crate keeps: the redirect policy stays
    /// `none` (a client following a 307 would re-POST the code and the secret) and the
    /// timeouts stay [`connect_timeout`](Self::connect_timeout) and
    /// [`timeout`](Self::timeout).
    ///
    /// ```
    /// use axum_oauth_login::{Provider, client::OAuthClient};
    /// let client = OAuthClient::builder(Provider::vcita(), "my-client-id", "my-secret")
    ///     .redirect_uri("https://app.example.com/auth/callback")
    ///     .http_client(|http| http.no_proxy().tcp_nodelay(true))
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), axum_oauth_login::ConfigError>(())
    /// ```
    pub fn http_client<F>(mut self, configure: F) -> Self
    where
        F: Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync + 'static,
    {
        self.http = HttpConfig::new(configure);
        self
    }

    /// [`http_client`](Self::http_client) from an already shared setting.
    pub(crate) fn http_config(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<OAuthClient, ConfigError> {
        if self.client_id.trim().is_empty() {
            return Err(ConfigError::new("client_id", "must not be empty"));
        }
        match self.provider.client_auth() {
            ClientAuth::PrivateKeyJwt if self.client_key.is_none() => {
                return Err(ConfigError::new(
                    "client_key",
                    "the provider's client authentication is private_key_jwt: a client key \
                     is required",
                ));
            }
            ClientAuth::PrivateKeyJwt => {}
            ClientAuth::ClientSecretPost | ClientAuth::ClientSecretBasic => {
                if self.client_secret.secret().is_empty() {
                    return Err(ConfigError::new("client_secret", "must not be empty"));
                }
            }
        }
        match (self.provider.uses_dpop(), &self.dpop_keys) {
            (true, None) => {
                return Err(ConfigError::new(
                    "dpop_key",
                    "the provider binds tokens with DPoP: the app's DPoP key is required",
                ));
            }
            (false, Some(_)) => {
                return Err(ConfigError::new(
                    "dpop_key",
                    "is set, but DPoP is off for this provider (ProviderBuilder::dpop, OAUTH_DPOP)",
                ));
            }
            (true, Some(keys)) => {
                let accepted = self.provider.dpop_algorithms();
                let alg = keys.current().algorithm();
                if !accepted.is_empty() && !accepted.iter().any(|a| a == alg) {
                    return Err(ConfigError::new(
                        "dpop_key",
                        format!(
                            "the provider takes DPoP proofs in {}; this key signs {alg}",
                            accepted.join(", ")
                        ),
                    ));
                }
            }
            (false, None) => {}
        }
        let redirect_uri = match &self.redirect_uri {
            // https, or loopback for development: codes travel in it, and cookies are
            // `Secure` only on https.
            Some(uri) => Some(parse_secure_endpoint("redirect_uri", uri)?),
            None if self.without_redirect_uri => None,
            None => return Err(ConfigError::new("redirect_uri", "is required")),
        };
        if redirect_uri
            .as_ref()
            .is_some_and(|u| u.fragment().is_some())
        {
            return Err(ConfigError::new(
                "redirect_uri",
                "must not contain a fragment (RFC 6749 §3.1.2)",
            ));
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(ConfigError::new("timeout", "must be greater than zero"));
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::new(
                "max_body_bytes",
                "must be greater than zero",
            ));
        }
        let http = http_client(self.connect_timeout, self.timeout, &self.http)?;
        let oidc = crate::oidc::Oidc::new(
            &self.provider,
            &self.client_id,
            http.clone(),
            self.timeout,
            self.clock.clone(),
        );
        Ok(OAuthClient {
            inner: Arc::new(Inner {
                http,
                provider: self.provider,
                client_id: self.client_id,
                client_secret: self.client_secret,
                client_key: self.client_key,
                dpop: self.dpop_keys.map(Dpop::new),
                redirect_uri,
                timeout: self.timeout,
                max_body_bytes: self.max_body_bytes,
                clock: self.clock,
                oidc,
            }),
        })
    }
}
