//! The OAuth 2.0 protocol over one shared reqwest client; no axum here.
//!
//! [`OAuthClient`] builds authorize URLs and calls the token, userinfo, introspection and
//! revocation endpoints of a [`Provider`]. Its HTTP client has a connect timeout and a
//! total timeout, follows no redirects and caps response bodies, so a slow or hostile
//! provider cannot hang or flood the app.

mod auth;
mod authorize;
mod builder;
mod dpop;
mod introspection;
pub(crate) mod token;
pub(crate) mod userinfo;

use std::sync::Arc;
use std::time::Duration;

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use url::Url;

pub use crate::transport::{Endpoint, ErrorCode, OAuthError};
pub use builder::OAuthClientBuilder;
pub use dpop::DpopKeys;
pub use introspection::Introspection;
// At the crate root, where apps name them (each type is exported once).
pub(crate) use token::TokenSet;
pub(crate) use userinfo::subject_of;
pub(crate) use userinfo::{ProviderUser, UserInfo};

use crate::clock::Clock;
use crate::error::JwtError;
use crate::jose::SigningKey;
use crate::oidc::IdClaims;
use crate::provider::{ClientAuth, Provider, TokenBody};
use crate::secret::{
    AccessToken, AuthorizationCode, ClientSecret, IdToken, Nonce, PkceVerifier, RefreshToken,
};
use crate::transport::{HttpConfig, error_response, json_error_kind, read_response};

/// Default cap on a provider response body.
pub(crate) const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// A token to introspect or revoke, with its type hint (RFC 7009 §2.1, RFC 7662 §2.1).
#[derive(Debug, Clone, Copy)]
pub enum TokenRef<'a> {
    /// An access token (`token_type_hint=access_token`).
    Access(&'a AccessToken),
    /// A refresh token (`token_type_hint=refresh_token`).
    Refresh(&'a RefreshToken),
}

impl TokenRef<'_> {
    pub(crate) fn secret(&self) -> &str {
        match self {
            TokenRef::Access(t) => t.secret(),
            TokenRef::Refresh(t) => t.secret(),
        }
    }
    fn hint(&self) -> &'static str {
        match self {
            TokenRef::Access(_) => "access_token",
            TokenRef::Refresh(_) => "refresh_token",
        }
    }
}

/// An OAuth 2.0 client for one provider and one registered application.
///
/// Cheap to clone (one `Arc`); clones share the connection pool.
///
/// ```no_run
/// use axum_oauth_login::{Provider, secret::{CsrfState, PkceVerifier}, client::OAuthClient};
/// # async fn run(code: axum_oauth_login::secret::AuthorizationCode) -> Result<(), Box<dyn std::error::Error>> {
/// let client = OAuthClient::builder(Provider::vcita(), "my-client-id", "my-secret")
///     .redirect_uri("https://app.example.com/auth/callback")
///     .build()?;
/// let state = CsrfState::random();
/// let verifier = PkceVerifier::random();
/// let url = client.authorize_url(&state, Some(&verifier), None).await?;
/// // ... send the browser to `url`; on the callback, check `state`, then at once:
/// let tokens = client.exchange_code(code, Some(&verifier)).await?;
/// let me: axum_oauth_login::UserInfo = client.userinfo(tokens.access_token()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OAuthClient {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) http: reqwest::Client,
    pub(super) provider: Provider,
    pub(super) client_id: String,
    pub(super) client_secret: ClientSecret,
    /// The key of `private_key_jwt`.
    pub(super) client_key: Option<SigningKey>,
    /// DPoP keys and nonces, when the provider binds tokens (RFC 9449).
    pub(super) dpop: Option<dpop::Dpop>,
    pub(super) redirect_uri: Option<Url>,
    pub(super) timeout: Duration,
    pub(super) max_body_bytes: usize,
    pub(super) clock: Clock,
    /// OpenID Connect token checks, for a provider with a JWKS and an issuer.
    pub(super) oidc: Option<crate::oidc::Oidc>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("provider", &self.inner.provider.name())
            .field("client_id", &self.inner.client_id)
            .field("client_secret", &self.inner.client_secret)
            .field("client_key", &self.inner.client_key)
            .field("dpop", &self.inner.dpop.as_ref().map(|d| &d.keys))
            .field(
                "redirect_uri",
                &self.inner.redirect_uri.as_ref().map(Url::as_str),
            )
            .finish_non_exhaustive()
    }
}

/// A request body under construction: pairs in order, sent as JSON or as a form.
type Fields<'a> = Vec<(&'a str, &'a str)>;

impl OAuthClient {
    /// Starts a client for `provider` with the credentials it issued.
    pub fn builder(
        provider: Provider,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> OAuthClientBuilder {
        OAuthClientBuilder {
            provider,
            client_id: client_id.into(),
            client_secret: ClientSecret::new(client_secret),
            client_key: None,
            dpop_keys: None,
            redirect_uri: None,
            without_redirect_uri: false,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            clock: Clock::system(),
            http: HttpConfig::default(),
        }
    }

    /// The OpenID Connect checks, when the provider is an OpenID Connect provider
    /// ([`Provider::is_openid`]).
    pub(crate) fn oidc(&self) -> Option<&crate::oidc::Oidc> {
        self.inner.oidc.as_ref()
    }

    /// Validates an id_token (OpenID Connect Core §3.1.3.7) against the provider's JWKS
    /// (fetched once and cached; re-fetched, rate-limited, for an unknown `kid`):
    /// signature (asymmetric algorithms only), `iss`, `aud` and `azp`, `exp` and `iat`
    /// against this client's [clock](OAuthClientBuilder::clock) with a 60 s leeway,
    /// `sub`, and the login's `nonce` when given.
    ///
    /// The login routes do this at every callback and refresh; this is for apps that
    /// run the protocol themselves. A provider without a [JWKS](Provider::jwks_url)
    /// answers [`JwtError::KeysUnavailable`].
    ///
    /// ```no_run
    /// # async fn run(client: axum_oauth_login::client::OAuthClient, tokens: axum_oauth_login::TokenSet,
    /// #              nonce: axum_oauth_login::secret::Nonce) -> Result<(), axum_oauth_login::oidc::JwtError> {
    /// if let Some(id_token) = tokens.id_token() {
    ///     let claims = client.verify_id_token(id_token, Some(&nonce)).await?;
    ///     println!("signed in: {}", claims.sub);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn verify_id_token(
        &self,
        id_token: &IdToken,
        nonce: Option<&Nonce>,
    ) -> Result<IdClaims, JwtError> {
        match self.oidc() {
            Some(oidc) => oidc.id_token(id_token, nonce).await,
            None => Err(JwtError::KeysUnavailable(
                "the provider has no jwks_url and issuer".to_owned(),
            )),
        }
    }

    /// The total timeout of each provider request.
    pub(crate) fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// What cookies and records of this client are sealed to, and connected accounts
    /// keyed by: its id and token URL, so two clients sharing a key or a store cannot
    /// read each other's.
    pub(crate) fn context(&self) -> String {
        format!("{}|{}", self.client_id(), self.provider().token_url())
    }

    /// Revokes `targets` concurrently, best effort, all within one HTTP timeout: a
    /// hanging provider must not hold logout up, and a slow revocation must not keep the
    /// others from being sent.
    pub(crate) async fn revoke_all(&self, targets: Vec<TokenRef<'_>>) {
        if self.provider().revocation_url().is_none() {
            return;
        }
        let revocations =
            futures_util::future::join_all(targets.into_iter().map(|token| async move {
                match self.revoke(token).await {
                    Ok(()) | Err(OAuthError::NotConfigured { .. }) => {}
                    Err(e) => tracing::warn!(error = %e, "token revocation failed; going on"),
                }
            }));
        if tokio::time::timeout(self.timeout(), revocations)
            .await
            .is_err()
        {
            tracing::warn!("token revocation timed out; going on");
        }
    }

    /// The HTTP client (redirects off, timeouts set), for the provider's API.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The clock token expiry is computed with.
    pub(crate) fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The provider this client talks to.
    pub fn provider(&self) -> &Provider {
        &self.inner.provider
    }
    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }
    /// The configured redirect URI (`None` only for a client built
    /// [`without_redirect_uri`](OAuthClientBuilder::without_redirect_uri)).
    pub fn redirect_uri(&self) -> Option<&Url> {
        self.inner.redirect_uri.as_ref()
    }

    /// Exchanges an authorization code for tokens (RFC 6749 §4.1.3), once: codes are
    /// single-use and short-lived (vcita: 30 s), so this never retries.
    pub async fn exchange_code(
        &self,
        code: AuthorizationCode,
        pkce: Option<&PkceVerifier>,
    ) -> Result<TokenSet, OAuthError> {
        let mut fields: Fields<'_> = vec![
            ("grant_type", "authorization_code"),
            ("code", code.secret()),
        ];
        if let Some(redirect_uri) = &self.inner.redirect_uri {
            fields.push(("redirect_uri", redirect_uri.as_str()));
        }
        if let Some(verifier) = pkce {
            fields.push(("code_verifier", verifier.secret()));
        }
        let (status, body) = self
            .post(Endpoint::Token, self.inner.provider.token_url(), fields)
            .await?;
        TokenSet::from_json_bound(&body, self.inner.clock.now(), self.binding())
            .map_err(|e| e.into_oauth_error(Endpoint::Token, status))
    }

    /// The thumbprint new tokens are bound to: the current DPoP key's, with DPoP on.
    fn binding(&self) -> Option<&str> {
        self.inner
            .dpop
            .as_ref()
            .map(|d| d.keys.current().thumbprint())
    }

    /// Uses a refresh token (RFC 6749 §6). The answer replaces the old token set whole;
    /// when it carries no refresh token, the old one is kept.
    pub async fn refresh(&self, refresh_token: &RefreshToken) -> Result<TokenSet, OAuthError> {
        let fields: Fields<'_> = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.secret()),
        ];
        let (status, body) = self
            .post(Endpoint::Token, self.inner.provider.token_url(), fields)
            .await?;
        let mut tokens = TokenSet::from_json_bound(&body, self.inner.clock.now(), self.binding())
            .map_err(|e| e.into_oauth_error(Endpoint::Token, status))?;
        tokens.inherit_refresh_token(refresh_token);
        Ok(tokens)
    }

    /// Fetches the user behind `token` from the userinfo endpoint, as `U`
    /// (e.g. [`UserInfo`] or your own type).
    pub async fn userinfo<U: DeserializeOwned>(
        &self,
        token: &AccessToken,
    ) -> Result<U, OAuthError> {
        self.userinfo_bound(token, None).await
    }

    /// [`userinfo`](Self::userinfo) with the access token of `tokens`, as its type
    /// says: a DPoP-bound token (RFC 9449) goes with a proof of its key.
    pub async fn userinfo_of<U: DeserializeOwned>(
        &self,
        tokens: &TokenSet,
    ) -> Result<U, OAuthError> {
        self.userinfo_bound(tokens.access_token(), tokens.dpop_jkt())
            .await
    }

    /// Userinfo with `token`, bound to the DPoP key `jkt` when given (one retry when
    /// the server asks for a nonce).
    pub(crate) async fn userinfo_bound<U: DeserializeOwned>(
        &self,
        token: &AccessToken,
        jkt: Option<&str>,
    ) -> Result<U, OAuthError> {
        let endpoint = Endpoint::Userinfo;
        let inner = &*self.inner;
        let url = inner
            .provider
            .userinfo_url()
            .ok_or(OAuthError::NotConfigured { endpoint })?;
        let mut retried = false;
        let (status, body) = loop {
            let headers = self.resource_headers(endpoint, &http::Method::GET, url, token, jkt)?;
            let mut request = inner.http.get(url.clone());
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let (status, headers, body) =
                read_response(endpoint, request, inner.max_body_bytes, inner.timeout).await?;
            if jkt.is_some() && self.resource_retry(url, status, &headers) && !retried {
                retried = true;
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(error_response(endpoint, status, &body));
            }
            break (status, body);
        };
        serde_json::from_slice(&body).map_err(|e| OAuthError::Malformed {
            endpoint,
            status,
            reason: format!(
                "the user info does not fit the expected shape ({})",
                json_error_kind(&e)
            ),
            excerpt: None,
        })
    }

    /// Asks the introspection endpoint about a token (RFC 7662). `active: false` is a
    /// successful answer.
    pub async fn introspect(&self, token: TokenRef<'_>) -> Result<Introspection, OAuthError> {
        let endpoint = Endpoint::Introspection;
        let url = self
            .inner
            .provider
            .introspection_url()
            .ok_or(OAuthError::NotConfigured { endpoint })?;
        let fields: Fields<'_> = vec![("token", token.secret()), ("token_type_hint", token.hint())];
        let (status, body) = self.post(endpoint, url, fields).await?;
        Introspection::from_json(&body).ok_or_else(|| OAuthError::Malformed {
            endpoint,
            status,
            reason: "the body is not a JSON object".into(),
            excerpt: None,
        })
    }

    /// Revokes a token (RFC 7009). Returns [`OAuthError::NotConfigured`] when the provider
    /// has no revocation endpoint.
    pub async fn revoke(&self, token: TokenRef<'_>) -> Result<(), OAuthError> {
        let endpoint = Endpoint::Revocation;
        let url = self
            .inner
            .provider
            .revocation_url()
            .ok_or(OAuthError::NotConfigured { endpoint })?;
        let fields: Fields<'_> = vec![("token", token.secret()), ("token_type_hint", token.hint())];
        self.post(endpoint, url, fields).await.map(|_| ())
    }

    /// POSTs a client-authenticated request in the provider's body format. With DPoP, a
    /// token or PAR request carries a proof of the current key; a server that answers
    /// `use_dpop_nonce` gets the one allowed second attempt (a fresh proof with its
    /// nonce, a fresh assertion): the refused first attempt consumed nothing.
    async fn post(
        &self,
        endpoint: Endpoint,
        url: &Url,
        fields: Fields<'_>,
    ) -> Result<(u16, bytes::Bytes), OAuthError> {
        let inner = &*self.inner;
        let dpop = match endpoint {
            Endpoint::Token | Endpoint::PushedAuthorization => inner.dpop.as_ref(),
            _ => None,
        };
        let mut retried = false;
        loop {
            let mut request = self.client_request(endpoint, url, &fields)?;
            if let Some(dpop) = dpop {
                let proof = dpop.proof(dpop.keys.current(), endpoint, "POST", url, None)?;
                request = request.header(dpop::DPOP, proof);
            }
            let (status, headers, body) =
                read_response(endpoint, request, inner.max_body_bytes, inner.timeout).await?;
            if let Some(dpop) = dpop {
                let nonce = dpop.remember(url, &headers);
                if nonce && !retried && dpop::token_endpoint_wants_nonce(status, &body) {
                    retried = true;
                    continue;
                }
            }
            if (200..300).contains(&status) {
                return Ok((status, body));
            }
            return Err(error_response(endpoint, status, &body));
        }
    }

    /// A client-authenticated POST of `fields` (a fresh assertion for `private_key_jwt`).
    fn client_request(
        &self,
        endpoint: Endpoint,
        url: &Url,
        fields: &Fields<'_>,
    ) -> Result<reqwest::RequestBuilder, OAuthError> {
        let inner = &*self.inner;
        let assertion = match (inner.provider.client_auth(), &inner.client_key) {
            (ClientAuth::PrivateKeyJwt, Some(key)) => Some(
                self.client_assertion(key)
                    .map_err(|reason| OAuthError::Signing { endpoint, reason })?,
            ),
            _ => None,
        };
        let mut fields: Fields<'_> = fields.clone();
        let mut request = inner
            .http
            .post(url.clone())
            .header(ACCEPT, "application/json");
        match inner.provider.client_auth() {
            ClientAuth::ClientSecretPost => {
                fields.push(("client_id", &inner.client_id));
                fields.push(("client_secret", inner.client_secret.secret()));
            }
            ClientAuth::ClientSecretBasic => {
                request = request.header(AUTHORIZATION, self.basic_auth());
                // RFC 6749 §2.3.1 allows client_id in the body too; it helps servers that
                // look the client up before checking the header.
                fields.push(("client_id", &inner.client_id));
            }
            ClientAuth::PrivateKeyJwt => {
                fields.push(("client_id", &inner.client_id));
                fields.push(("client_assertion_type", auth::CLIENT_ASSERTION_TYPE));
                // Built above whenever the method is private_key_jwt: the builder
                // refuses that method without a key.
                if let Some(assertion) = &assertion {
                    fields.push(("client_assertion", assertion));
                }
            }
        }
        // A pushed authorization request is a form whatever the token endpoint takes
        // (RFC 9126 §2.1).
        let body = match endpoint {
            Endpoint::PushedAuthorization => TokenBody::Form,
            _ => inner.provider.token_body(),
        };
        Ok(match body {
            TokenBody::Json => {
                let map: serde_json::Map<String, serde_json::Value> = fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned())))
                    .collect();
                request
                    .header(CONTENT_TYPE, "application/json")
                    .body(serde_json::Value::Object(map).to_string())
            }
            TokenBody::Form => request.form(&fields),
        })
    }
}
