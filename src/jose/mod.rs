//! Signing with a private key the app holds: [`SigningKey`] (a PEM private key →
//! ES256, ES384, EdDSA or PS256), compact JWS (RFC 7515) made with it, its public JWK and
//! RFC 7638 thumbprint. The client's `private_key_jwt` assertions (RFC 7523) and DPoP
//! proofs (RFC 9449) are signed here, and DPoP proofs checked against their own key.
//! Signatures come from the `jsonwebtoken` backend the crate's features chose
//! (`backend()`), the one that checks the provider's tokens too.

mod pem;

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::jwk::EllipticCurve;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::error::ConfigError;
use pem::Kind;

/// The signature backend the features chose, called directly: `jsonwebtoken`'s
/// process-wide provider cannot be inferred when both of its backends are enabled
/// somewhere in the build, and this crate must not install one for the app. aws-lc-rs
/// when enabled (the app compiles it anyway), else RustCrypto; `None` with neither.
pub(crate) fn backend() -> Option<&'static CryptoProvider> {
    #[cfg(feature = "jwt-aws-lc")]
    let provider = Some(&jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER);
    #[cfg(all(feature = "jwt-rust-crypto", not(feature = "jwt-aws-lc")))]
    let provider = Some(&jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER);
    #[cfg(not(any(feature = "jwt-rust-crypto", feature = "jwt-aws-lc")))]
    let provider: Option<&'static CryptoProvider> = None;
    provider
}

/// A private key the app signs with: the client's key for `private_key_jwt` (RFC 7523,
/// OpenID Connect Core §9). Read from PEM — PKCS#8 (`PRIVATE KEY`: P-256 → ES256,
/// P-384 → ES384, Ed25519 → EdDSA, RSA → PS256) or PKCS#1 (`RSA PRIVATE KEY`, at least
/// 2048 bits) — and checked by signing once. Its `kid` is the RFC 7638 thumbprint unless
/// set. Register [`public_jwk`](Self::public_jwk) with the provider.
///
/// Cheap to clone; `Debug` shows the algorithm and `kid`, never the key.
///
/// ```
/// use axum_oauth_login::jose::SigningKey;
/// let pem = "-----BEGIN PRIVATE KEY-----
/// MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgn4q18CUukbDJOw7P
/// 521K/+eyR2nA1Ex+RVukPwi0KbyhRANCAAREtd7ktZTAIDtSgh68ilw4tApvmbis
/// oMOglSxCS17+nx+ert3boGGh1NmPBdMGrcrqfmnW1XRdQMXh9OfG1sgd
/// -----END PRIVATE KEY-----";
/// let key = SigningKey::from_pem(pem)?;
/// assert_eq!(key.algorithm(), "ES256");
/// assert_eq!(key.public_jwk()["kty"], "EC");
/// assert!(!format!("{key:?}").contains("MIGHAgEA"));
/// # Ok::<(), axum_oauth_login::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct SigningKey {
    inner: Arc<Key>,
}

struct Key {
    encoding: EncodingKey,
    alg: Algorithm,
    kid: String,
    /// The public key's required members (RFC 7638 §3.2), nothing private.
    public: Map<String, Value>,
    thumbprint: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.algorithm())
            .field("kid", &self.inner.kid)
            .finish_non_exhaustive()
    }
}

/// The setting a key error names (a builder renames it to its own setting).
const SETTING: &str = "signing key";

impl SigningKey {
    /// Reads a PEM private key (literal `\n` sequences count as line breaks, for a key
    /// pasted into one line of an environment file) and signs once to check it. The
    /// error says what is wrong and how to convert the key, never what it contains.
    pub fn from_pem(pem: &str) -> Result<SigningKey, ConfigError> {
        let error = |reason: String| ConfigError::new(SETTING, reason);
        let backend = backend().ok_or_else(|| {
            error(
                "no signature backend is compiled in (enable a TLS feature, or \
                 `jwt-rust-crypto` / `jwt-aws-lc`)"
                    .into(),
            )
        })?;
        let parsed = pem::parse(pem).map_err(error)?;
        let utils = &backend.key_utils;
        let b64 = |bytes: &[u8]| Value::String(URL_SAFE_NO_PAD.encode(bytes));
        let unreadable = |_| error("the key does not parse as the type its PEM says".into());
        let mut public = Map::new();
        let (alg, encoding) = match parsed.kind {
            Kind::P256 | Kind::P384 => {
                let (alg, crv) = match parsed.kind {
                    Kind::P256 => (Algorithm::ES256, "P-256"),
                    _ => (Algorithm::ES384, "P-384"),
                };
                let (_, x, y) = (utils.ec_pub_components_from_private_key)(&parsed.der, alg)
                    .map_err(unreadable)?;
                public.insert("crv".into(), crv.into());
                public.insert("kty".into(), "EC".into());
                public.insert("x".into(), b64(&x));
                public.insert("y".into(), b64(&y));
                (alg, EncodingKey::from_ec_der(&parsed.der))
            }
            Kind::Ed25519 => {
                let x = (utils.ed_pub_components_from_private_key)(
                    &parsed.der,
                    &EllipticCurve::Ed25519,
                )
                .map_err(unreadable)?;
                public.insert("crv".into(), "Ed25519".into());
                public.insert("kty".into(), "OKP".into());
                public.insert("x".into(), b64(&x));
                (Algorithm::EdDSA, EncodingKey::from_ed_der(&parsed.der))
            }
            Kind::Rsa => {
                let (n, e) =
                    (utils.rsa_pub_components_from_private_key)(&parsed.der).map_err(|_| {
                        error(
                            "an RSA key that does not parse (at least 2048 bits are required)"
                                .into(),
                        )
                    })?;
                let bits = n.iter().skip_while(|&&b| b == 0).count() * 8;
                if bits < 2048 {
                    return Err(error(format!(
                        "an RSA key of {bits} bits; at least 2048 are required"
                    )));
                }
                public.insert("e".into(), b64(&e));
                public.insert("kty".into(), "RSA".into());
                public.insert("n".into(), b64(&n));
                (Algorithm::PS256, EncodingKey::from_rsa_der(&parsed.der))
            }
        };
        let thumbprint = thumbprint_of(&public).unwrap_or_default();
        let key = SigningKey {
            inner: Arc::new(Key {
                encoding,
                alg,
                kid: thumbprint.clone(),
                public,
                thumbprint,
            }),
        };
        key.signature(b"check")
            .map_err(|_| error("the key cannot sign (not a valid private key)".into()))?;
        Ok(key)
    }

    /// The same key under another `kid` (the one registered with the provider).
    pub fn with_kid(self, kid: impl Into<String>) -> SigningKey {
        let key = &self.inner;
        SigningKey {
            inner: Arc::new(Key {
                encoding: key.encoding.clone(),
                alg: key.alg,
                kid: kid.into(),
                public: key.public.clone(),
                thumbprint: key.thumbprint.clone(),
            }),
        }
    }

    /// The JWS algorithm: `ES256`, `ES384`, `EdDSA` or `PS256`.
    pub fn algorithm(&self) -> &'static str {
        match self.inner.alg {
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
            _ => "PS256",
        }
    }

    /// The key id put in every JWS header: the thumbprint unless [set](Self::with_kid).
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key, base64url.
    pub fn thumbprint(&self) -> &str {
        &self.inner.thumbprint
    }

    /// The public key as a JWK with `kid`, `alg` and `use: sig`: what to register with
    /// the provider (its client `jwks`). Nothing private.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.inner.public.clone();
        jwk.insert("kid".into(), self.kid().into());
        jwk.insert("alg".into(), self.algorithm().into());
        jwk.insert("use".into(), "sig".into());
        Value::Object(jwk)
    }

    /// A DPoP proof (RFC 9449 §4.2) for one request: `typ: dpop+jwt` and this key's
    /// public JWK in the header; a fresh `jti`, `htm`, `htu` (`url` without query and
    /// fragment), `iat` by the system clock (the server checks it against real time),
    /// and, when given, `ath` (the access token's SHA-256) and the server's `nonce`.
    /// The crate sends these itself; this is for an app's own calls to other
    /// DPoP-protected APIs. `None` only if the signature backend fails, which
    /// [`from_pem`](Self::from_pem)'s check signature makes practically impossible.
    ///
    /// ```
    /// # let pem = include_str!("../../tests/fixtures/keys/p256.pem");
    /// let key = axum_oauth_login::jose::SigningKey::from_pem(pem)?;
    /// let url = url::Url::parse("https://api.example.com/orders?page=2").unwrap();
    /// let proof = key.dpop_proof("POST", &url, Some("the-access-token"), None).unwrap();
    /// assert_eq!(proof.split('.').count(), 3);
    /// # Ok::<(), axum_oauth_login::ConfigError>(())
    /// ```
    pub fn dpop_proof(
        &self,
        method: &str,
        url: &url::Url,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Option<String> {
        self.try_dpop_proof(method, url, access_token, nonce).ok()
    }

    pub(crate) fn try_dpop_proof(
        &self,
        method: &str,
        url: &url::Url,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String, String> {
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut claims = Map::new();
        claims.insert("jti".into(), crate::secret::random_token().into());
        claims.insert("htm".into(), method.into());
        claims.insert("htu".into(), htu.as_str().into());
        claims.insert("iat".into(), now.into());
        if let Some(token) = access_token {
            claims.insert(
                "ath".into(),
                URL_SAFE_NO_PAD.encode(Sha256::digest(token)).into(),
            );
        }
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), nonce.into());
        }
        let mut header = Map::new();
        header.insert("typ".into(), "dpop+jwt".into());
        header.insert("jwk".into(), Value::Object(self.inner.public.clone()));
        self.sign(header, &Value::Object(claims))
    }

    /// A compact JWS of `claims` under `header` (to which `alg` is added).
    pub(crate) fn sign(
        &self,
        mut header: Map<String, Value>,
        claims: &Value,
    ) -> Result<String, String> {
        header.insert("alg".into(), self.algorithm().into());
        let mut jws = format!("{}.{}", base64_json(&header), base64_json(claims));
        let signature = self.signature(jws.as_bytes())?;
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(jws)
    }

    fn signature(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let backend = backend().ok_or("no signature backend is compiled in")?;
        let signer = (backend.signer_factory)(&self.inner.alg, &self.inner.encoding)
            .map_err(|e| format!("the backend refused the key: {:?}", e.kind()))?;
        signer
            .try_sign(message)
            .map_err(|_| "the signature failed".to_owned())
    }
}

/// RFC 7638: the SHA-256 of the key type's required members in lexicographic order
/// (serde_json's map keeps them sorted), no whitespace, base64url. `None` for a key type
/// other than EC, OKP and RSA, or a member missing.
pub(crate) fn thumbprint_of(jwk: &Map<String, Value>) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        _ => return None,
    };
    let mut canonical = Map::new();
    for member in members {
        canonical.insert((*member).to_owned(), jwk.get(*member)?.clone());
    }
    let bytes = serde_json::to_vec(&canonical).ok()?;
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(bytes)))
}

/// The algorithms a DPoP proof may be signed with (RFC 9449 §4.3: asymmetric only), as
/// `algs` in a `DPoP` challenge.
pub(crate) const DPOP_ALGS: &str = "ES256 ES384 EdDSA PS256 RS256";

/// A DPoP proof's signature and header (RFC 9449 §4.3 steps 1–7): a compact JWS whose
/// header has `typ: dpop+jwt`, an asymmetric `alg` and a public `jwk` (no private
/// member), signed by that key. Returns the claims and the key's RFC 7638 thumbprint;
/// the claims (`htm`, `htu`, `iat`, `ath`, `jti`) are the caller's to check.
pub(crate) fn verify_dpop_proof(proof: &str) -> Result<(Map<String, Value>, String), &'static str> {
    let (input, signature) = proof.rsplit_once('.').ok_or("not a compact JWS")?;
    let (header, claims) = input.split_once('.').ok_or("not a compact JWS")?;
    let object = |part: &str| match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    };
    let (Some(header), Some(claims)) = (object(header), object(claims)) else {
        return Err("not a compact JWS of JSON objects");
    };
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err("typ is not dpop+jwt");
    }
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => Algorithm::ES256,
        Some("ES384") => Algorithm::ES384,
        Some("EdDSA") => Algorithm::EdDSA,
        Some("PS256") => Algorithm::PS256,
        Some("RS256") => Algorithm::RS256,
        _ => return Err("alg is not an asymmetric algorithm this app accepts"),
    };
    let Some(Value::Object(jwk)) = header.get("jwk") else {
        return Err("the header has no jwk");
    };
    if ["d", "p", "q", "dp", "dq", "qi", "k"]
        .iter()
        .any(|m| jwk.contains_key(*m))
    {
        return Err("the jwk holds a private key");
    }
    let thumbprint = thumbprint_of(jwk).ok_or("the jwk is not an EC, OKP or RSA public key")?;
    let parsed: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(Value::Object(jwk.clone())).map_err(|_| "the jwk is not a JWK")?;
    let key = jsonwebtoken::DecodingKey::from_jwk(&parsed).map_err(|_| "the jwk is not usable")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "the signature is not base64url")?;
    let backend = backend().ok_or("no signature backend is compiled in")?;
    let verified = (backend.verifier_factory)(&alg, &key)
        .is_ok_and(|verifier| verifier.verify(input.as_bytes(), &signature).is_ok());
    if !verified {
        return Err("the signature does not verify with the jwk");
    }
    Ok((claims, thumbprint))
}

/// A JWS part: base64url of the JSON.
fn base64_json<T: serde::Serialize>(value: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

#[cfg(test)]
mod tests;
