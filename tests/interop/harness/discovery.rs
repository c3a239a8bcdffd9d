//! oidc-provider's discovery document, and the provider descriptions the crate is given
//! from it (by hand, or by the crate's own `Provider::discover`).

use axum_oauth_login::Provider;
use axum_oauth_login::provider::{ClientAuth, ProviderBuilder};
use serde_json::Value;

use super::OidcProvider;
use crate::support::bounded;

/// The endpoints from `{issuer}/.well-known/openid-configuration`.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
    #[allow(dead_code)] // used by the OIDC interop tests
    pub end_session_endpoint: String,
    #[allow(dead_code)] // used by the OIDC interop tests
    pub jwks_uri: String,
    pub raw: Value,
}

impl OidcProvider {
    /// A provider description for the crate, from discovery, for one registered client.
    pub fn provider(&self, auth: ClientAuth) -> Provider {
        let d = &self.discovery;
        Provider::custom("oidc-provider")
            .authorize_url(&d.authorization_endpoint)
            .token_url(&d.token_endpoint)
            .userinfo_url(&d.userinfo_endpoint)
            .introspection_url(&d.introspection_endpoint)
            .revocation_url(&d.revocation_endpoint)
            .issuer(&d.issuer)
            .client_auth(auth)
            .scopes(["openid", "email", "offline_access"])
            // oidc-provider grants offline_access (a refresh token) only with consent.
            .authorize_param("prompt", "consent")
            .build()
            .expect("the provider from discovery builds")
    }

    /// The crate's own discovery of this server ([`Provider::discover`]), unchanged.
    pub async fn discover(&self) -> ProviderBuilder {
        bounded("Provider::discover", Provider::discover(&self.issuer))
            .await
            .unwrap_or_else(|e| panic!("oidc-provider's metadata is usable: {e}"))
    }

    /// [`discover`](Self::discover) with what a login in this suite needs: the scopes
    /// and consent prompt of [`provider`](Self::provider); the client authentication
    /// method is the one discovery chose unless `auth` says otherwise.
    pub async fn discovered_provider(&self, auth: Option<ClientAuth>) -> Provider {
        let mut builder = self
            .discover()
            .await
            .scopes(["openid", "email", "offline_access"])
            .authorize_param("prompt", "consent");
        if let Some(auth) = auth {
            builder = builder.client_auth(auth);
        }
        builder.build().expect("the discovered provider builds")
    }
}

pub(super) async fn discover(issuer: &str) -> Discovery {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let raw: Value = bounded("discovery", async {
        reqwest::get(&url)
            .await
            .expect("discovery answers")
            .error_for_status()
            .expect("discovery is 200")
            .json()
            .await
            .expect("discovery is JSON")
    })
    .await;
    let field = |name: &str| -> String {
        raw[name]
            .as_str()
            .unwrap_or_else(|| panic!("discovery has no `{name}`: {raw}"))
            .to_owned()
    };
    Discovery {
        issuer: field("issuer"),
        authorization_endpoint: field("authorization_endpoint"),
        token_endpoint: field("token_endpoint"),
        userinfo_endpoint: field("userinfo_endpoint"),
        introspection_endpoint: field("introspection_endpoint"),
        revocation_endpoint: field("revocation_endpoint"),
        end_session_endpoint: field("end_session_endpoint"),
        jwks_uri: field("jwks_uri"),
        raw: raw.clone(),
    }
}
