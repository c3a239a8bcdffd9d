//! [`ProviderBuilder`]: the one way a [`Provider`] is made — by `Provider::custom`, the
//! presets (`to_builder` on them), `OAuthConfig` and discovery — and every check on its
//! URLs, scopes and parameters.

use url::Url;

use super::{ClientAuth, Provider, TokenBody, UserResolver};
use crate::error::ConfigError;

/// Builds a [`Provider`]; see [`Provider::custom`]. Every URL is checked in
/// [`build`](ProviderBuilder::build).
#[derive(Debug, Clone)]
#[must_use]
pub struct ProviderBuilder {
    pub(super) name: String,
    pub(super) authorize_url: Option<String>,
    pub(super) token_url: Option<String>,
    pub(super) userinfo_url: Option<String>,
    pub(super) introspection_url: Option<String>,
    pub(super) revocation_url: Option<String>,
    pub(super) end_session_url: Option<String>,
    pub(super) par_url: Option<String>,
    pub(super) par: bool,
    pub(super) dpop: bool,
    pub(super) dpop_algs: Vec<String>,
    pub(super) logout_at_provider: Option<bool>,
    pub(super) jwks_url: Option<String>,
    pub(super) jwt_access_tokens: Option<String>,
    pub(super) api_base: Option<String>,
    pub(super) issuer: Option<String>,
    pub(super) issuer_in_callback: Option<bool>,
    pub(super) token_body: TokenBody,
    pub(super) client_auth: ClientAuth,
    pub(super) pkce: bool,
    pub(super) scopes: Vec<String>,
    pub(super) authorize_params: Vec<(String, String)>,
    pub(super) user_resolver: Option<UserResolver>,
}

/// Parameters the crate sets itself; an extra authorize parameter may not override them.
const RESERVED_AUTHORIZE_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    // The callback is a GET with a query; and the request must be the crate's.
    "response_mode",
    "request",
    "request_uri",
    "dpop_jkt",
];

impl ProviderBuilder {
    /// The short name for logs and pages (set by [`Provider::custom`]; for a discovered
    /// provider, the issuer's host).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
    /// The authorization endpoint. Required.
    pub fn authorize_url(mut self, url: impl Into<String>) -> Self {
        self.authorize_url = Some(url.into());
        self
    }
    /// The token endpoint. Required.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }
    /// The userinfo endpoint.
    pub fn userinfo_url(mut self, url: impl Into<String>) -> Self {
        self.userinfo_url = Some(url.into());
        self
    }
    /// The introspection endpoint (RFC 7662).
    pub fn introspection_url(mut self, url: impl Into<String>) -> Self {
        self.introspection_url = Some(url.into());
        self
    }
    /// The revocation endpoint (RFC 7009).
    pub fn revocation_url(mut self, url: impl Into<String>) -> Self {
        self.revocation_url = Some(url.into());
        self
    }
    /// The OpenID Connect end-session endpoint (RP-Initiated Logout 1.0).
    pub fn end_session_url(mut self, url: impl Into<String>) -> Self {
        self.end_session_url = Some(url.into());
        self
    }
    /// The pushed authorization request endpoint (RFC 9126 §5:
    /// `pushed_authorization_request_endpoint`; [`Provider::discover`] sets it). Knowing
    /// it does not turn PAR on: see [`par`](Self::par).
    pub fn par_url(mut self, url: impl Into<String>) -> Self {
        self.par_url = Some(url.into());
        self
    }
    /// Pushed authorization requests (RFC 9126, FAPI 2.0): `true` makes every login POST
    /// its authorization parameters (state, PKCE challenge, nonce, scopes, ...) to the
    /// [PAR endpoint](Self::par_url) with client authentication, and send the browser
    /// to the authorize URL with only `client_id` and the `request_uri` it got, so the
    /// request cannot be read or altered on the way. A failed push is an error page
    /// (`503` while the provider cannot be reached), never a plain request instead.
    /// [`Provider::discover`] turns it on when the metadata says
    /// `require_pushed_authorization_requests`; the build requires the endpoint.
    ///
    /// ```
    /// use axum_oauth_login::Provider;
    /// let p = Provider::custom("idp")
    ///     .authorize_url("https://idp.example.com/authorize")
    ///     .token_url("https://idp.example.com/token")
    ///     .par_url("https://idp.example.com/par")
    ///     .par(true)
    ///     .build()?;
    /// assert!(p.uses_par());
    /// # Ok::<(), axum_oauth_login::ConfigError>(())
    /// ```
    pub fn par(mut self, on: bool) -> Self {
        self.par = on;
        self
    }
    /// Sender-constrained tokens (RFC 9449, FAPI 2.0): `true` sends a DPoP proof of the
    /// app's key ([`OAuthBuilder::dpop_key`](crate::OAuthBuilder::dpop_key), required
    /// then) with every token and pushed authorization request, so the provider binds
    /// the tokens to that key; bound tokens then go to userinfo and the provider's API as
    /// `Authorization: DPoP` with a fresh proof. A server's `DPoP-Nonce` is kept per
    /// server and answered by one retry. Introspection and revocation are
    /// client-authenticated and carry no proof.
    pub fn dpop(mut self, on: bool) -> Self {
        self.dpop = on;
        self
    }
    /// The algorithms the provider takes DPoP proofs in (metadata
    /// `dpop_signing_alg_values_supported`, which [`Provider::discover`] reads): the build
    /// then refuses a DPoP key that signs with another.
    pub fn dpop_algorithms<I, S>(mut self, algorithms: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.dpop_algs = algorithms.into_iter().map(Into::into).collect();
        self
    }
    /// Turns logout at the provider's end-session endpoint off (`false`: logout ends only
    /// the local session and revokes the tokens) or back on (the default whenever an
    /// [end-session endpoint](Self::end_session_url) is known).
    pub fn logout_at_provider(mut self, on: bool) -> Self {
        self.logout_at_provider = Some(on);
        self
    }
    /// The provider's JWKS (OpenID Connect `jwks_uri`): with an [issuer](Self::issuer),
    /// id_tokens are validated against it (signature, `iss`, `aud`, `exp`, `iat`,
    /// `nonce`); [`Provider::discover`] sets it from the metadata.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }
    /// Checks JWT access tokens (RFC 9068) locally against the [JWKS](Self::jwks_url)
    /// instead of calling the provider: header `typ` `at+jwt`, `iss`, `aud` containing
    /// `audience` (this API's resource identifier at the provider), `exp`, scopes from
    /// `scope`. Opaque tokens still go to userinfo or introspection.
    ///
    /// A locally checked token stays valid until its `exp` even if it is revoked at the
    /// provider: its lifetime is the bound on that (keep it short).
    pub fn jwt_access_tokens(mut self, audience: impl Into<String>) -> Self {
        self.jwt_access_tokens = Some(audience.into());
        self
    }
    /// The base URL of the provider's API (vcita: `https://api.vcita.biz`, Apicbase:
    /// `https://api.apicbase.com/api/v1`): where [`AuthSession::api`](crate::AuthSession::api)
    /// and connected accounts send the user's token, and nowhere else.
    pub fn api_base(mut self, url: impl Into<String>) -> Self {
        self.api_base = Some(url.into());
        self
    }
    /// The issuer identifier. When set, a callback's `iss` must equal it exactly
    /// (RFC 9207), and by default a callback without `iss` is refused — for a provider
    /// that does not send `iss`, add [`issuer_in_callback(false)`](Self::issuer_in_callback).
    /// Without an issuer, an `iss` that is sent must still be the base of the authorize URL.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }
    /// Whether every callback must carry `iss` (RFC 9207 §2.4): the provider's
    /// `authorization_response_iss_parameter_supported`. Default: required exactly when
    /// an [issuer](Self::issuer) is set. `false` accepts a callback without `iss`; one
    /// with `iss` must still name the issuer. `true` needs an issuer.
    ///
    /// ```
    /// let p = axum_oauth_login::Provider::custom("acme")
    ///     .authorize_url("https://id.acme.example/authorize")
    ///     .token_url("https://id.acme.example/token")
    ///     .issuer("https://id.acme.example")
    ///     .issuer_in_callback(false)
    ///     .build()?;
    /// assert!(!p.issuer_in_callback());
    /// # Ok::<(), axum_oauth_login::ConfigError>(())
    /// ```
    pub fn issuer_in_callback(mut self, required: bool) -> Self {
        self.issuer_in_callback = Some(required);
        self
    }
    /// The token request body format (default: form).
    pub fn token_body(mut self, body: TokenBody) -> Self {
        self.token_body = body;
        self
    }
    /// The client authentication method (default: `client_secret_post`).
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = auth;
        self
    }
    /// Turns PKCE on (the default) or off, for servers that reject unknown parameters.
    pub fn pkce(mut self, on: bool) -> Self {
        self.pkce = on;
        self
    }
    /// Scopes to request at login.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
    /// An extra query parameter for the authorize URL (e.g. `prompt=consent`).
    pub fn authorize_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.authorize_params.push((name.into(), value.into()));
        self
    }
    /// How tokens are resolved to users. Default: userinfo when the provider has a
    /// userinfo endpoint, otherwise introspection.
    pub fn user_resolver(mut self, resolver: UserResolver) -> Self {
        self.user_resolver = Some(resolver);
        self
    }

    /// Checks every setting and returns the provider, or an error naming the setting.
    pub fn build(self) -> Result<Provider, ConfigError> {
        if self.name.trim().is_empty() {
            return Err(ConfigError::new("name", "must not be empty"));
        }
        let authorize_url = required_url("authorize_url", self.authorize_url)?;
        if authorize_url.fragment().is_some() {
            return Err(ConfigError::new(
                "authorize_url",
                "must not contain a fragment (RFC 6749 §3.1)",
            ));
        }
        let token_url = required_url("token_url", self.token_url)?;
        let userinfo_url = optional_url("userinfo_url", self.userinfo_url)?;
        let introspection_url = optional_url("introspection_url", self.introspection_url)?;
        let revocation_url = optional_url("revocation_url", self.revocation_url)?;
        let end_session_url = optional_url("end_session_url", self.end_session_url)?;
        let par_url = optional_url("par_url", self.par_url)?;
        if self.par && par_url.is_none() {
            return Err(ConfigError::new(
                "par_url",
                "required for pushed authorization requests (RFC 9126)",
            ));
        }
        let jwks_url = optional_url("jwks_url", self.jwks_url)?;
        if jwks_url.is_some() && self.issuer.is_none() {
            return Err(ConfigError::new(
                "issuer",
                "required with a jwks_url: id_tokens are checked against it",
            ));
        }
        if let Some(audience) = &self.jwt_access_tokens {
            if jwks_url.is_none() {
                return Err(ConfigError::new(
                    "jwks_url",
                    "required to check JWT access tokens locally",
                ));
            }
            if audience.trim().is_empty() {
                return Err(ConfigError::new(
                    "jwt_access_tokens",
                    "the audience must not be empty",
                ));
            }
        }
        let api_base = optional_url("api_base", self.api_base)?.map(api_base_url);
        if api_base
            .as_ref()
            .is_some_and(|u| u.query().is_some() || u.fragment().is_some())
        {
            return Err(ConfigError::new(
                "api_base",
                "must not carry a query or a fragment",
            ));
        }
        for (name, _) in &self.authorize_params {
            if RESERVED_AUTHORIZE_PARAMS.contains(&name.as_str()) {
                return Err(ConfigError::new(
                    "authorize_param",
                    format!("`{name}` is set by the crate and cannot be overridden"),
                ));
            }
        }
        if let Some(scope) = self
            .scopes
            .iter()
            .find(|s| s.is_empty() || !s.chars().all(is_scope_char))
        {
            return Err(ConfigError::new(
                "scopes",
                format!("`{scope}` is not a valid scope token (RFC 6749 §3.3)"),
            ));
        }
        let user_resolver = match self.user_resolver {
            Some(UserResolver::Userinfo) if userinfo_url.is_none() => {
                return Err(ConfigError::new(
                    "userinfo_url",
                    "required when the user resolver is userinfo",
                ));
            }
            Some(UserResolver::Introspection) if introspection_url.is_none() => {
                return Err(ConfigError::new(
                    "introspection_url",
                    "required when the user resolver is introspection",
                ));
            }
            Some(resolver) => resolver,
            None => default_resolver(userinfo_url.is_some(), introspection_url.is_some()),
        };
        let issuer_in_callback = match (self.issuer_in_callback, &self.issuer) {
            (Some(true), None) => {
                return Err(ConfigError::new(
                    "issuer",
                    "required when every callback must carry `iss` (RFC 9207)",
                ));
            }
            (Some(required), _) => required,
            (None, issuer) => issuer.is_some(),
        };
        Ok(Provider {
            name: self.name,
            authorize_url,
            token_url,
            userinfo_url,
            introspection_url,
            revocation_url,
            end_session_url,
            par_url,
            par: self.par,
            dpop: self.dpop,
            dpop_algs: self.dpop_algs,
            logout_at_provider: self.logout_at_provider.unwrap_or(true),
            jwks_url,
            jwt_access_tokens: self.jwt_access_tokens,
            api_base,
            issuer: self.issuer,
            issuer_in_callback,
            token_body: self.token_body,
            client_auth: self.client_auth,
            pkce: self.pkce,
            scopes: self.scopes,
            authorize_params: self.authorize_params,
            user_resolver,
        })
    }
}

/// The API base with a trailing slash, so relative paths join below it.
fn api_base_url(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// Userinfo when the provider has it; introspection when that is all it has.
pub(super) fn default_resolver(has_userinfo: bool, has_introspection: bool) -> UserResolver {
    if !has_userinfo && has_introspection {
        UserResolver::Introspection
    } else {
        UserResolver::Userinfo
    }
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

fn required_url(setting: &str, value: Option<String>) -> Result<Url, ConfigError> {
    match value {
        Some(v) => parse_secure_endpoint(setting, &v),
        None => Err(ConfigError::new(setting, "is required")),
    }
}

fn optional_url(setting: &str, value: Option<String>) -> Result<Option<Url>, ConfigError> {
    value
        .map(|v| parse_secure_endpoint(setting, &v))
        .transpose()
}

/// Parses a provider endpoint: like [`parse_endpoint`], and `https` unless the host is
/// loopback — the client secret and tokens travel to these URLs (RFC 6749 §2.3.1, §3.2).
pub(crate) fn parse_secure_endpoint(setting: &str, value: &str) -> Result<Url, ConfigError> {
    let url = parse_endpoint(setting, value)?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if url.scheme() != "https" && !loopback {
        return Err(ConfigError::new(
            setting,
            "must be https (plain http is allowed only on loopback, for development)",
        ));
    }
    Ok(url)
}

/// Parses an endpoint URL: absolute, `http` or `https`, with a host and no credentials.
pub(crate) fn parse_endpoint(setting: &str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value)
        .map_err(|e| ConfigError::new(setting, format!("not an absolute URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::new(setting, "must be an http or https URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::new(setting, "must have a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::new(
            setting,
            "must not contain credentials; set the client secret instead",
        ));
    }
    Ok(url)
}
