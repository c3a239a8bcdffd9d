//! DPoP as a client (RFC 9449): the app's keys ([`DpopKeys`]: the current one binds new
//! tokens, previous ones still prove the tokens bound to them until those expire), a
//! fresh proof per request, and the server's `DPoP-Nonce`, kept per server and answered
//! by one retry.

use std::collections::HashMap;
use std::sync::Mutex;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::jose::SigningKey;
use crate::secret::AccessToken;
use crate::transport::{Endpoint, ErrorCode, OAuthError};

/// The header a proof travels in, and the one a server's nonce arrives in.
pub(super) const DPOP: &str = "dpop";
const DPOP_NONCE: &str = "dpop-nonce";

/// The app's DPoP keys, newest first: one key pair shared by every instance of the app
/// (a token bound to one instance's key is useless on another), configured like the
/// cookie key. New tokens are bound to the current key; a previous key keeps proving the
/// tokens bound to it, so a rotation logs no one out: keep it until they have expired
/// or been refreshed (a refresh binds the new token to the current key).
///
/// ```
/// use axum_oauth_login::client::DpopKeys;
/// use axum_oauth_login::jose::SigningKey;
/// # fn run(new_pem: &str, old_pem: &str) -> Result<(), axum_oauth_login::ConfigError> {
/// let keys = DpopKeys::new(SigningKey::from_pem(new_pem)?)
///     .with_previous(SigningKey::from_pem(old_pem)?);
/// # drop(keys); Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DpopKeys {
    keys: Vec<SigningKey>,
}

impl DpopKeys {
    /// The key new tokens are bound to.
    pub fn new(current: SigningKey) -> DpopKeys {
        DpopKeys {
            keys: vec![current],
        }
    }
    /// Adds an older key, still used for the tokens bound to it.
    pub fn with_previous(mut self, previous: SigningKey) -> DpopKeys {
        self.keys.push(previous);
        self
    }
    /// The key new tokens are bound to.
    pub fn current(&self) -> &SigningKey {
        &self.keys[0]
    }
    /// The key whose thumbprint is `jkt`, if the app still has it.
    pub(crate) fn by_thumbprint(&self, jkt: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.thumbprint() == jkt)
    }
}

/// A client's DPoP state: its keys and the last nonce each server gave.
#[derive(Debug)]
pub(crate) struct Dpop {
    pub(crate) keys: DpopKeys,
    /// By the server's origin; a handful of entries (the provider's servers).
    nonces: Mutex<HashMap<String, String>>,
}

/// At most this many servers' nonces are kept (an API on many hosts cannot grow it).
const MAX_NONCES: usize = 64;

impl Dpop {
    pub(crate) fn new(keys: DpopKeys) -> Dpop {
        Dpop {
            keys,
            nonces: Mutex::new(HashMap::new()),
        }
    }

    /// A proof for `method url` with `key` (and the token's hash for a resource
    /// request), carrying the nonce last seen from that server.
    pub(crate) fn proof(
        &self,
        key: &SigningKey,
        endpoint: Endpoint,
        method: &str,
        url: &Url,
        access_token: Option<&str>,
    ) -> Result<HeaderValue, OAuthError> {
        let nonce = self.nonce_for(url);
        let proof = key
            .try_dpop_proof(method, url, access_token, nonce.as_deref())
            .map_err(|reason| OAuthError::Signing { endpoint, reason })?;
        let mut value = HeaderValue::try_from(proof).map_err(|_| OAuthError::Signing {
            endpoint,
            reason: "the proof is not a header value".into(),
        })?;
        value.set_sensitive(true);
        Ok(value)
    }

    fn nonce_for(&self, url: &Url) -> Option<String> {
        let nonces = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        nonces.get(&url.origin().ascii_serialization()).cloned()
    }

    /// Keeps the `DPoP-Nonce` a server sent (RFC 9449 §8.2: with any answer); `true`
    /// when there was one.
    pub(crate) fn remember(&self, url: &Url, headers: &HeaderMap) -> bool {
        let Some(nonce) = headers
            .get(DPOP_NONCE)
            .and_then(|v| v.to_str().ok())
            .filter(|n| !n.is_empty() && n.len() <= 512)
        else {
            return false;
        };
        let mut nonces = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        if nonces.len() >= MAX_NONCES {
            nonces.clear();
        }
        nonces.insert(url.origin().ascii_serialization(), nonce.to_owned());
        true
    }
}

/// Whether an authorization server's answer asks for a nonce (RFC 9449 §8):
/// `400` with `error: use_dpop_nonce`.
pub(super) fn token_endpoint_wants_nonce(status: u16, body: &[u8]) -> bool {
    status == 400
        && serde_json::from_slice::<serde_json::Value>(body)
            .is_ok_and(|v| v.get("error").and_then(|e| e.as_str()) == Some("use_dpop_nonce"))
}

/// Whether a resource server's answer asks for a nonce (RFC 9449 §9): `401` with a
/// `DPoP` challenge whose error is `use_dpop_nonce`.
pub(crate) fn resource_wants_nonce(status: u16, headers: &HeaderMap) -> bool {
    status == 401
        && headers
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.trim_start()
                    .get(..4)
                    .is_some_and(|s| s.eq_ignore_ascii_case("dpop"))
                    && v.contains("use_dpop_nonce")
            })
}

impl super::OAuthClient {
    /// The headers that authorize a resource request (userinfo, the provider's API) with
    /// `token`: `Authorization: Bearer`, or, for a token bound to one of the app's DPoP
    /// keys (`jkt`), `Authorization: DPoP` and a proof with `ath` and the server's
    /// nonce. Both marked sensitive.
    pub(crate) fn resource_headers(
        &self,
        endpoint: Endpoint,
        method: &http::Method,
        url: &Url,
        token: &AccessToken,
        jkt: Option<&str>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, OAuthError> {
        let unusable = || OAuthError::Provider {
            endpoint,
            status: 401,
            error: ErrorCode::InvalidToken,
            description: Some("the token has characters a header cannot carry".into()),
        };
        let Some(jkt) = jkt else {
            let mut auth = HeaderValue::try_from(format!("Bearer {}", token.secret()))
                .map_err(|_| unusable())?;
            auth.set_sensitive(true);
            return Ok(vec![(AUTHORIZATION, auth)]);
        };
        let dpop = self.inner.dpop.as_ref();
        let Some((dpop, key)) = dpop.and_then(|d| Some((d, d.keys.by_thumbprint(jkt)?))) else {
            return Err(OAuthError::Signing {
                endpoint,
                reason: "the token is bound to a DPoP key this app does not have (keep a \
                         rotated-out key as a previous key until its tokens expire)"
                    .into(),
            });
        };
        let proof = dpop.proof(key, endpoint, method.as_str(), url, Some(token.secret()))?;
        let mut auth =
            HeaderValue::try_from(format!("DPoP {}", token.secret())).map_err(|_| unusable())?;
        auth.set_sensitive(true);
        Ok(vec![
            (AUTHORIZATION, auth),
            (HeaderName::from_static(DPOP), proof),
        ])
    }

    /// Keeps a nonce a resource server sent; `true` when its answer asks for the
    /// request again with that nonce (a DPoP-bound request's one retry).
    pub(crate) fn resource_retry(&self, url: &Url, status: u16, headers: &HeaderMap) -> bool {
        let Some(dpop) = &self.inner.dpop else {
            return false;
        };
        dpop.remember(url, headers) && resource_wants_nonce(status, headers)
    }
}
