//! Client authentication (RFC 6749 §2.3.1, RFC 7523): the Basic header and the
//! `private_key_jwt` assertion; `post` picks by the provider's [`ClientAuth`].
//!
//! [`ClientAuth`]: crate::provider::ClientAuth

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;

use super::OAuthClient;
use crate::jose::SigningKey;

/// RFC 7523 §2.2's `client_assertion_type`.
pub(super) const CLIENT_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

impl OAuthClient {
    /// A fresh `private_key_jwt` assertion (RFC 7523 §3, OpenID Connect Core §9): `iss` =
    /// `sub` = the client id, `aud` = the issuer as a single string (the token URL for a
    /// provider without one), a random `jti`, issued now and valid 60 s — by the system
    /// clock, since the provider checks it against real time.
    pub(super) fn client_assertion(&self, key: &SigningKey) -> Result<String, String> {
        let inner = &*self.inner;
        let provider = &inner.provider;
        let audience = provider
            .issuer()
            .unwrap_or_else(|| provider.token_url().as_str());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let claims = serde_json::json!({
            "iss": inner.client_id,
            "sub": inner.client_id,
            "aud": audience,
            "jti": crate::secret::random_token(),
            "iat": now,
            "exp": now + 60,
        });
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), "JWT".into());
        header.insert("kid".into(), key.kid().into());
        key.sign(header, &claims)
    }

    /// `Basic base64(urlencode(id):urlencode(secret))`, marked sensitive so it is never
    /// printed by hyper's debug output.
    pub(super) fn basic_auth(&self) -> HeaderValue {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let raw = format!(
            "{}:{}",
            enc(&self.inner.client_id),
            enc(self.inner.client_secret.secret())
        );
        let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(raw)))
            .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
        value.set_sensitive(true);
        value
    }
}
