//! # axum-oauth-login
//!
//! "Log in with vcita" — and with any OAuth 2.0 Authorization Code provider — for axum.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod client;
pub mod error;
pub mod provider;
pub mod secret;
#[cfg(feature = "test-util")]
pub mod testing;

pub use client::{OAuthClient, OAuthError, TokenSet, UserInfo};
pub use error::ConfigError;
pub use provider::{ClientAuth, Provider, ProviderBuilder, TokenBody, UserResolver};
