#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::BTreeMap;

pub use accounts::{MockClient, MockUser, UnknownUser};
use axum_oauth_login::provider::ClientAuth;
pub use builder::MockProviderBuilder;
pub use provider::MockProvider;

mod accounts;
mod api;
mod apps;
mod browser;
mod builder;
mod client_auth;
mod dpop;
mod endpoints;
mod flavor;
mod grants;
mod pages;
mod par;
mod provider;
mod request;
mod state;
#[cfg(test)]
mod tests;
mod traffic;

/// The mock's endpoints, for counters, recorded requests and injected faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MockEndpoint {
    /// `GET /app/oauth/authorize` (Apicbase: `/oauth/authorize/`) and the login and
    /// consent form posts.
    Authorize,
    /// `POST /oauth/token` (Apicbase: `/oauth/token/`), every grant type.
    Token,
    /// `GET /oauth/userinfo` (not in Apicbase mode).
    Userinfo,
    /// `POST /oauth/introspect` (Apicbase: `/oauth/introspect/`).
    Introspect,
    /// `POST /oauth/revoke` (Apicbase: `/oauth/revoke/`).
    Revoke,
    /// `POST /oauth/par` (Apicbase: `/oauth/par/`): pushed authorization requests
    /// (RFC 9126).
    Par,
    /// `POST /platform/v1/apps` (vcita app creation).
    RegisterApp,
    /// The mock's sliver of the provider's REST API, below
    /// [`Provider::api_base`](axum_oauth_login::Provider::api_base):
    /// `GET /platform/v1/businesses/{business_id}` (vcita) or `GET /api/v1/library/`
    /// (Apicbase mode). Both want `Authorization: Bearer` with a live access token from
    /// this mock; see [`MockProvider`] for the answers. Recorded requests carry the query
    /// parameters as their fields.
    Api,
}

/// A request as the mock received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// Body fields (query parameters for `GET /app/oauth/authorize`): form fields, or a
    /// JSON object's members with strings as they are and other values as JSON text.
    pub fields: BTreeMap<String, String>,
    /// Every header as received (for headers the fields above do not name, such as one
    /// an app's [`http_client`](axum_oauth_login::client::OAuthClientBuilder::http_client) adds).
    pub headers: http::HeaderMap,
}

impl RecordedRequest {
    /// How the client authenticated: HTTP Basic, a `client_secret` in the body, a
    /// `client_assertion` (`private_key_jwt`), or none of them.
    ///
    /// ```
    /// use axum_oauth_login::provider::ClientAuth;
    /// use axum_oauth_login_mock::RecordedRequest;
    /// let r = RecordedRequest {
    ///     content_type: None,
    ///     authorization: Some("Basic aWQ6c2VjcmV0".into()),
    ///     fields: Default::default(),
    ///     headers: Default::default(),
    /// };
    /// assert_eq!(r.client_auth(), Some(ClientAuth::ClientSecretBasic));
    /// ```
    pub fn client_auth(&self) -> Option<ClientAuth> {
        let basic = self
            .authorization
            .as_deref()
            .and_then(|a| a.split_whitespace().next())
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic"));
        if basic {
            Some(ClientAuth::ClientSecretBasic)
        } else if self.fields.contains_key("client_secret") {
            Some(ClientAuth::ClientSecretPost)
        } else if self.fields.contains_key("client_assertion") {
            Some(ClientAuth::PrivateKeyJwt)
        } else {
            None
        }
    }
}
