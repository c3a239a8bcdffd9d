//! [`Provider`]: an authorization server's endpoints and quirks, read through accessors;
//! made by [`ProviderBuilder`] (presets, configuration, discovery).

use url::Url;

use super::builder::default_resolver;
use super::{ClientAuth, ProviderBuilder, TokenBody, UserResolver};
use crate::error::ConfigError;

/// An authorization server: where its endpoints are and how it wants to be spoken to.
///
/// ```
/// use axum_oauth_login::{Provider, provider::TokenBody};
/// let vcita = Provider::vcita();
/// assert_eq!(vcita.token_body(), TokenBody::Json);
/// assert_eq!(vcita.authorize_url().as_str(), "https://app.vcita.com/app/oauth/authorize");
///
/// let branded = Provider::vcita_brand_host("login.mybrand.example").unwrap();
/// assert_eq!(branded.authorize_url().host_str(), Some("login.mybrand.example"));
/// ```
#[derive(Debug, Clone)]
pub struct Provider {
    pub(super) name: String,
    pub(super) authorize_url: Url,
    pub(super) token_url: Url,
    pub(super) userinfo_url: Option<Url>,
    pub(super) introspection_url: Option<Url>,
    pub(super) revocation_url: Option<Url>,
    pub(super) end_session_url: Option<Url>,
    pub(super) par_url: Option<Url>,
    pub(super) par: bool,
    pub(super) dpop: bool,
    pub(super) dpop_algs: Vec<String>,
    pub(super) logout_at_provider: bool,
    pub(super) jwks_url: Option<Url>,
    pub(super) jwt_access_tokens: Option<String>,
    pub(super) api_base: Option<Url>,
    pub(super) issuer: Option<String>,
    pub(super) issuer_in_callback: bool,
    pub(super) token_body: TokenBody,
    pub(super) client_auth: ClientAuth,
    pub(super) pkce: bool,
    pub(super) scopes: Vec<String>,
    pub(super) authorize_params: Vec<(String, String)>,
    pub(super) user_resolver: UserResolver,
}

impl Provider {
    /// vcita (inTandem): authorize on `app.vcita.com/app/oauth/authorize`, JSON token
    /// requests with the client secret in the body, userinfo on `api.vcita.biz`.
    ///
    /// ```
    /// let p = axum_oauth_login::Provider::vcita();
    /// assert_eq!(p.name(), "vcita");
    /// ```
    pub fn vcita() -> Provider {
        Self::vcita_builder()
            .build()
            .expect("the vcita preset is valid (unit-tested)")
    }

    /// vcita on a white-label brand host: the authorize page moves to
    /// `https://{brand_host}/app/oauth/authorize`; the API stays on `api.vcita.biz`.
    ///
    /// ```
    /// let err = axum_oauth_login::Provider::vcita_brand_host("bad host/").unwrap_err();
    /// assert_eq!(err.setting(), "brand_host");
    /// ```
    pub fn vcita_brand_host(brand_host: &str) -> Result<Provider, ConfigError> {
        let valid = !brand_host.is_empty()
            && brand_host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
        if !valid {
            return Err(ConfigError::new(
                "brand_host",
                "expected a host name such as `app.vcita.com`",
            ));
        }
        Self::vcita_builder()
            .authorize_url(format!("https://{brand_host}/app/oauth/authorize"))
            .build()
            .map_err(|e| ConfigError::new("brand_host", e.reason()))
    }

    fn vcita_builder() -> ProviderBuilder {
        Provider::custom("vcita")
            .authorize_url("https://app.vcita.com/app/oauth/authorize")
            .token_url("https://api.vcita.biz/oauth/token")
            .userinfo_url("https://api.vcita.biz/oauth/userinfo")
            .api_base("https://api.vcita.biz")
            .token_body(TokenBody::Json)
            .client_auth(ClientAuth::ClientSecretPost)
    }

    /// Apicbase: the exact trailing-slash URLs, form bodies, introspection as the user
    /// resolver (Apicbase has no userinfo endpoint).
    ///
    /// ```
    /// let p = axum_oauth_login::Provider::apicbase();
    /// assert_eq!(p.token_url().as_str(), "https://api.apicbase.com/oauth/token/");
    /// ```
    pub fn apicbase() -> Provider {
        Provider::custom("apicbase")
            .authorize_url("https://app.apicbase.com/oauth/authorize/")
            .token_url("https://api.apicbase.com/oauth/token/")
            .introspection_url("https://api.apicbase.com/oauth/introspect/")
            .api_base("https://api.apicbase.com/api/v1")
            .token_body(TokenBody::Form)
            .client_auth(ClientAuth::ClientSecretPost)
            .user_resolver(UserResolver::Introspection)
            .build()
            .expect("the apicbase preset is valid (unit-tested)")
    }

    /// Describes any other provider. `authorize_url` and `token_url` are required.
    ///
    /// ```
    /// use axum_oauth_login::{Provider, provider::{ClientAuth, TokenBody}};
    /// let p = Provider::custom("acme")
    ///     .authorize_url("https://id.acme.example/authorize")
    ///     .token_url("https://id.acme.example/token")
    ///     .userinfo_url("https://id.acme.example/userinfo")
    ///     .client_auth(ClientAuth::ClientSecretBasic)
    ///     .scopes(["openid", "email"])
    ///     .build()?;
    /// assert_eq!(p.token_body(), TokenBody::Form);
    /// # Ok::<(), axum_oauth_login::ConfigError>(())
    /// ```
    pub fn custom(name: impl Into<String>) -> ProviderBuilder {
        ProviderBuilder {
            name: name.into(),
            authorize_url: None,
            token_url: None,
            userinfo_url: None,
            introspection_url: None,
            revocation_url: None,
            end_session_url: None,
            par_url: None,
            par: false,
            dpop: false,
            dpop_algs: Vec::new(),
            logout_at_provider: None,
            jwks_url: None,
            jwt_access_tokens: None,
            api_base: None,
            issuer: None,
            issuer_in_callback: None,
            token_body: TokenBody::Form,
            client_auth: ClientAuth::ClientSecretPost,
            pkce: true,
            scopes: Vec::new(),
            authorize_params: Vec::new(),
            user_resolver: None,
        }
    }

    /// A builder holding this provider's settings, to change some of them.
    ///
    /// ```
    /// let p = axum_oauth_login::Provider::vcita().to_builder().scopes(["openid"]).build()?;
    /// assert_eq!(p.scopes(), ["openid"]);
    /// # Ok::<(), axum_oauth_login::ConfigError>(())
    /// ```
    pub fn to_builder(&self) -> ProviderBuilder {
        ProviderBuilder {
            name: self.name.clone(),
            authorize_url: Some(self.authorize_url.to_string()),
            token_url: Some(self.token_url.to_string()),
            userinfo_url: self.userinfo_url.as_ref().map(Url::to_string),
            introspection_url: self.introspection_url.as_ref().map(Url::to_string),
            revocation_url: self.revocation_url.as_ref().map(Url::to_string),
            end_session_url: self.end_session_url.as_ref().map(Url::to_string),
            par_url: self.par_url.as_ref().map(Url::to_string),
            par: self.par,
            dpop: self.dpop,
            dpop_algs: self.dpop_algs.clone(),
            logout_at_provider: (!self.logout_at_provider).then_some(false),
            jwks_url: self.jwks_url.as_ref().map(Url::to_string),
            jwt_access_tokens: self.jwt_access_tokens.clone(),
            api_base: self.api_base.as_ref().map(Url::to_string),
            issuer: self.issuer.clone(),
            // Like the resolver: kept only when it differs from the default (required
            // exactly when an issuer is set), so that changing the issuer re-derives it.
            issuer_in_callback: (self.issuer_in_callback != self.issuer.is_some())
                .then_some(self.issuer_in_callback),
            token_body: self.token_body,
            client_auth: self.client_auth,
            pkce: self.pkce,
            scopes: self.scopes.clone(),
            authorize_params: self.authorize_params.clone(),
            // Keep the resolver only if it was a choice, not the default derived from the
            // endpoints, so that changing endpoints re-derives it.
            user_resolver: (self.user_resolver
                != default_resolver(
                    self.userinfo_url.is_some(),
                    self.introspection_url.is_some(),
                ))
            .then_some(self.user_resolver),
        }
    }

    /// A short name for logs and pages (`vcita`, `apicbase`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The authorization endpoint (RFC 6749 §3.1).
    pub fn authorize_url(&self) -> &Url {
        &self.authorize_url
    }
    /// The token endpoint (RFC 6749 §3.2).
    pub fn token_url(&self) -> &Url {
        &self.token_url
    }
    /// The userinfo endpoint, when the provider has one.
    pub fn userinfo_url(&self) -> Option<&Url> {
        self.userinfo_url.as_ref()
    }
    /// The introspection endpoint (RFC 7662), when the provider has one.
    pub fn introspection_url(&self) -> Option<&Url> {
        self.introspection_url.as_ref()
    }
    /// The base URL of the provider's API (with a trailing slash), when known.
    pub fn api_base(&self) -> Option<&Url> {
        self.api_base.as_ref()
    }
    /// The revocation endpoint (RFC 7009), when the provider has one.
    pub fn revocation_url(&self) -> Option<&Url> {
        self.revocation_url.as_ref()
    }
    /// The OpenID Connect end-session endpoint (RP-Initiated Logout 1.0), when the
    /// provider has one.
    pub fn end_session_url(&self) -> Option<&Url> {
        self.end_session_url.as_ref()
    }
    /// The pushed authorization request endpoint (RFC 9126), when known.
    pub fn par_url(&self) -> Option<&Url> {
        self.par_url.as_ref()
    }
    /// Whether logins push their authorization request first (RFC 9126): the browser
    /// then carries only `client_id` and an opaque `request_uri`. On when the app asks
    /// ([`ProviderBuilder::par`]) or the metadata says
    /// `require_pushed_authorization_requests`; never merely because the endpoint is
    /// advertised.
    pub fn uses_par(&self) -> bool {
        self.par
    }
    /// Whether tokens are bound to the app's DPoP key (RFC 9449): see
    /// [`ProviderBuilder::dpop`].
    pub fn uses_dpop(&self) -> bool {
        self.dpop
    }
    /// The algorithms the provider takes DPoP proofs in (`dpop_signing_alg_values_supported`;
    /// empty when unknown): the app's DPoP key must sign with one of them.
    pub fn dpop_algorithms(&self) -> &[String] {
        &self.dpop_algs
    }
    /// Whether logout continues at the provider's [end-session
    /// endpoint](Self::end_session_url) (RP-Initiated Logout 1.0): `true` when the
    /// provider has one, unless turned off with
    /// [`logout_at_provider(false)`](ProviderBuilder::logout_at_provider).
    pub fn logout_at_provider(&self) -> bool {
        self.logout_at_provider && self.end_session_url.is_some()
    }
    /// The provider's signing keys (OpenID Connect `jwks_uri`). With it (and an
    /// [issuer](Self::issuer)), id_tokens are validated: see [`Provider::discover`].
    pub fn jwks_url(&self) -> Option<&Url> {
        self.jwks_url.as_ref()
    }
    /// Whether this is an OpenID Connect provider whose tokens the crate validates: it
    /// has a [JWKS](Self::jwks_url) and an [issuer](Self::issuer).
    pub fn is_openid(&self) -> bool {
        self.jwks_url.is_some() && self.issuer.is_some()
    }
    /// The audience (resource) of JWT access tokens (RFC 9068) checked locally, when
    /// configured with [`jwt_access_tokens`](ProviderBuilder::jwt_access_tokens).
    pub fn jwt_access_tokens(&self) -> Option<&str> {
        self.jwt_access_tokens.as_deref()
    }
    /// The issuer identifier, checked against a callback's `iss` (RFC 9207).
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }
    /// Whether every callback must carry `iss` (RFC 9207 §2.4). By default, exactly when
    /// an [issuer](ProviderBuilder::issuer) is set; [`Provider::discover`] follows the
    /// metadata's `authorization_response_iss_parameter_supported`. An `iss` that is
    /// sent is checked either way.
    pub fn issuer_in_callback(&self) -> bool {
        self.issuer_in_callback
    }
    /// The token request body format.
    pub fn token_body(&self) -> TokenBody {
        self.token_body
    }
    /// The client authentication method.
    pub fn client_auth(&self) -> ClientAuth {
        self.client_auth
    }
    /// Whether PKCE (S256) is sent. On unless turned off.
    pub fn pkce(&self) -> bool {
        self.pkce
    }
    /// Scopes requested at login.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
    /// Extra query parameters added to the authorize URL.
    pub fn authorize_params(&self) -> &[(String, String)] {
        &self.authorize_params
    }
    /// How a token is resolved to a user.
    pub fn user_resolver(&self) -> UserResolver {
        self.user_resolver
    }
}
