//! Building the crate's HTTP clients (provider calls, discovery, JWKS, vcita's platform
//! API): the TLS backend the crate's features chose, then the app's own configuration,
//! then what the crate never gives up — no redirects, its timeouts.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::ConfigError;

#[cfg(test)]
mod tests;

type Configure = dyn Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync;

/// The app's configuration of a `reqwest::ClientBuilder` (a proxy, extra roots, its own
/// TLS, default headers), shared by the clients one builder makes. `Fn`, not `FnOnce`:
/// one setting can build more than one client (the provider's and its JWKS fetches).
#[derive(Clone, Default)]
pub(crate) struct HttpConfig(Option<Arc<Configure>>);

impl HttpConfig {
    pub(crate) fn new<F>(configure: F) -> Self
    where
        F: Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync + 'static,
    {
        HttpConfig(Some(Arc::new(configure)))
    }
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "HttpConfig(app)"
        } else {
            "HttpConfig(default)"
        })
    }
}

/// The HTTP client every provider call goes through (also vcita's platform API): the
/// features' TLS, the crate's user agent, then the app's `config`, and last a connect
/// and a total timeout and no redirects — set after the app's hook so that no hook can
/// turn them off: a token endpoint that redirects is misconfigured or hostile, and a
/// client following a 307 would resend the code and client secret to another URL.
pub(crate) fn http_client(
    connect_timeout: Duration,
    timeout: Duration,
    config: &HttpConfig,
) -> Result<reqwest::Client, ConfigError> {
    let mut builder = tls(reqwest::Client::builder())?
        .user_agent(concat!("axum-oauth-login/", env!("CARGO_PKG_VERSION")));
    if let Some(configure) = &config.0 {
        builder = configure(builder);
    }
    builder
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ConfigError::new("http_client", e.to_string()))
}

/// `rustls-ring` alone: reqwest gets a ready `rustls::ClientConfig` on *ring*, since
/// reqwest 0.13's rustls without a provider would otherwise need a process-wide one. When
/// the app also chose `native-tls` or `rustls` (aws-lc), that choice wins and reqwest
/// uses its own backend.
#[cfg(all(
    feature = "rustls-ring",
    not(any(feature = "native-tls", feature = "rustls"))
))]
fn tls(builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, ConfigError> {
    with_ring(builder, Vec::new())
}

/// The `rustls-ring` choice's TLS; `extra_roots` only in tests (a local CA).
#[cfg(feature = "rustls-ring")]
// Unused outside tests when another TLS feature takes precedence.
#[cfg_attr(any(feature = "native-tls", feature = "rustls"), allow(dead_code))]
pub(crate) fn with_ring(
    builder: reqwest::ClientBuilder,
    extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
) -> Result<reqwest::ClientBuilder, ConfigError> {
    Ok(builder.tls_backend_preconfigured(ring_tls_config(extra_roots)?))
}

#[cfg(not(all(
    feature = "rustls-ring",
    not(any(feature = "native-tls", feature = "rustls"))
)))]
fn tls(builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, ConfigError> {
    Ok(builder)
}

/// rustls on *ring*, the platform's roots (plus `extra_roots`, for tests), HTTP/1.1 (the
/// crate does not enable reqwest's `http2`).
#[cfg(feature = "rustls-ring")]
fn ring_tls_config(
    extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, ConfigError> {
    let error = |e: rustls::Error| ConfigError::new("tls", e.to_string());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots, provider.clone())
            .map_err(error)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(error)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
