#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api;
mod audience;
mod auth;
mod authz;
pub mod client;
mod clock;
mod config;
pub mod connections;
mod error;
mod extract;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
pub mod jose;
pub mod layer;
mod login;
mod oauth;
pub mod oidc;
mod origin;
mod pages;
#[cfg(test)]
mod proptests;
pub mod provider;
mod replay;
mod return_to;
mod routes;
pub mod secret;
mod session;
pub mod startup;
mod state;
pub mod store;
mod transport;
mod typed;
mod users;
pub mod vcita;

// What apps write, at the root; the rest in the public modules above.
pub use auth::{AuthRejection, TokenSource};
pub use authz::Forbidden;
pub use client::token::TokenSet;
pub use client::userinfo::{ProviderUser, UserInfo};
pub use clock::Clock;
pub use config::OAuthConfig;
pub use error::ConfigError;
pub use extract::{AuthSession, BearerUser};
pub use login::{Login, LoginRefusal};
pub use oauth::{OAuth, OAuthBuilder};
pub use pages::{ErrorPage, Messages};
pub use provider::server::Provider;
pub use return_to::safe_return_to;
pub use session::CookieKey;
