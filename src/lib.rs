#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod api;
mod audience;
mod auth;
mod authz;
mod client;
mod clock;
mod config;
mod connections;
mod error;
mod extract;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
pub mod layer;
mod login;
mod oauth;
mod oidc;
mod origin;
mod pages;
#[cfg(test)]
mod proptests;
mod provider;
mod return_to;
mod routes;
mod secret;
mod session;
mod startup;
mod state;
pub mod store;
mod transport;
mod typed;
mod users;
pub mod vcita;

pub use api::{ApiError, ApiRequest, ApiResponse, ProviderApi};
pub use auth::{AuthRejection, TokenSource};
pub use authz::Forbidden;
pub use client::{Introspection, OAuthClient, OAuthClientBuilder, TokenRef, TokenSet, UserInfo};
pub use clock::Clock;
pub use config::OAuthConfig;
pub use connections::{Connection, ConnectionError, Connections};
pub use error::{ConfigError, JwtError};
pub use extract::{AuthSession, BearerUser};
pub use layer::{OAuthLayer, RequireLoginLayer};
pub use login::{Login, LoginRefusal};
pub use oauth::{OAuth, OAuthBuilder};
pub use oidc::IdClaims;
pub use pages::{ErrorPage, Messages};
pub use provider::discovery::DiscoveryError;
pub use provider::{ClientAuth, Provider, ProviderBuilder, TokenBody, UserResolver};
pub use return_to::safe_return_to;
pub use secret::{
    AccessToken, AuthorizationCode, ClientSecret, CsrfState, IdToken, Nonce, PkceVerifier,
    RefreshToken,
};
pub use session::CookieKey;
pub use startup::{serve_when_ready, serve_when_ready_with};
pub use transport::{Endpoint, ErrorCode, OAuthError};
