//! Providers as data: endpoints and the quirks that differ between authorization servers.
//!
//! A [`Provider`] is validated when it is built. Use a preset ([`Provider::vcita`],
//! [`Provider::apicbase`]), describe any other server with [`Provider::custom`], or read
//! an OpenID Connect server's metadata with [`Provider::discover`] (the only I/O here,
//! in `discovery`).

mod builder;
pub(crate) mod discovery;
pub(crate) mod server;

pub use self::builder::ProviderBuilder;
pub(crate) use self::builder::{parse_endpoint, parse_secure_endpoint};
pub use self::discovery::DiscoveryError;
pub(crate) use self::server::Provider;

/// How the token endpoint wants its request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenBody {
    /// `application/json` — vcita.
    Json,
    /// `application/x-www-form-urlencoded` — RFC 6749 §4.1.3, Apicbase and most servers.
    Form,
}

/// How the client authenticates at the token, introspection and revocation endpoints
/// (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the request body.
    ClientSecretPost,
    /// HTTP Basic with the form-urlencoded client id and secret.
    ClientSecretBasic,
    /// `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): a fresh
    /// `client_assertion` signed with the client's key
    /// ([`OAuthBuilder::client_key`](crate::OAuthBuilder::client_key)), whose public JWK
    /// the provider holds; no secret travels. Chosen by configuration only.
    PrivateKeyJwt,
}

/// How [`BearerUser`](crate::BearerUser) turns a token into a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserResolver {
    /// `GET` the userinfo endpoint with the token.
    Userinfo,
    /// `POST` the token to the introspection endpoint (RFC 7662).
    Introspection,
}

#[cfg(test)]
mod tests;
