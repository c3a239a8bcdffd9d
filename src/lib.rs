#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod auth;
pub mod client;
mod clock;
mod config;
mod error;
mod extract;
mod layer;
mod oauth;
pub mod provider;
pub mod routes;
pub mod secret;
mod session;
#[cfg(feature = "test-util")]
pub mod testing;
mod users;
pub mod vcita;

pub use auth::{AuthRejection, TokenSource};
pub use client::{OAuthClient, OAuthError, TokenSet, UserInfo};
pub use clock::Clock;
pub use config::OAuthConfig;
pub use error::ConfigError;
pub use extract::{AuthSession, BearerUser};
pub use layer::{
    OAuthLayer, OAuthService, RequireLogin, RequireLoginFuture, RequireLoginLayer, ResponseFuture,
};
pub use oauth::{OAuth, OAuthBuilder};
pub use provider::{ClientAuth, Provider, ProviderBuilder, TokenBody, UserResolver};
pub use session::CookieKey;
