//! Encrypted cookies: the cookie crate's private jar (AES-256-GCM, the cookie name bound
//! as associated data), key rotation, and the attributes every cookie of the crate gets.

use cookie::{Cookie, CookieJar, Key, SameSite};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ConfigError;

/// Largest encrypted value one cookie carries. Browsers keep at least 4096 bytes per
/// cookie *including* name and attributes (RFC 6265 §6.1); 3800 leaves room for those.
pub(crate) const MAX_COOKIE_VALUE: usize = 3800;

/// Largest session sealed into cookies, over all its chunks: the whole `Cookie` header
/// must stay under common 8 KiB proxy limits, beside the app's own cookies.
pub(crate) const MAX_SESSION_COOKIE_BYTES: usize = 6144;

/// The key that encrypts session and login-flow cookies, plus older keys still accepted
/// for decryption so a key rotation does not log everyone out.
///
/// ```
/// use axum_oauth_login::CookieKey;
/// use base64::Engine as _;
/// let raw = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
/// let key = CookieKey::from_base64(&raw).unwrap();
/// assert!(CookieKey::from_base64("dG9vIHNob3J0").is_err()); // < 64 bytes
/// assert_eq!(format!("{key:?}"), "CookieKey([redacted])");
/// ```
#[derive(Clone)]
pub struct CookieKey {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey([redacted])")
    }
}

impl CookieKey {
    /// A key from 64 or more bytes of secret material (base64, standard or URL-safe
    /// alphabet, padding optional, whitespace and line breaks ignored). Generate one with
    /// `openssl rand -base64 64`; its wrapped output works as printed.
    pub fn from_base64(encoded: &str) -> Result<CookieKey, ConfigError> {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        let compact: String = encoded
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let trimmed = compact.trim_end_matches('=');
        let bytes = STANDARD
            .decode(pad(trimmed))
            .or_else(|_| URL_SAFE.decode(pad(trimmed)))
            .map_err(|_| ConfigError::new("cookie_key", "is not valid base64"))?;
        Self::from_bytes(&bytes)
    }

    /// A key from 64 or more bytes of secret material.
    pub fn from_bytes(bytes: &[u8]) -> Result<CookieKey, ConfigError> {
        let current = Key::try_from(bytes).map_err(|_| {
            ConfigError::new(
                "cookie_key",
                format!(
                    "needs at least 64 bytes of key material, got {}",
                    bytes.len()
                ),
            )
        })?;
        Ok(CookieKey {
            current,
            previous: Vec::new(),
        })
    }

    /// A random key. Cookies made with it die with the process.
    pub fn generate() -> CookieKey {
        CookieKey {
            current: Key::generate(),
            previous: Vec::new(),
        }
    }

    /// Also accepts cookies encrypted with `old` (a key being rotated out). New cookies
    /// are always encrypted with the current key.
    pub fn with_previous(mut self, old: CookieKey) -> CookieKey {
        self.previous.push(old.current);
        self.previous.extend(old.previous);
        self
    }
}

fn pad(s: &str) -> String {
    let mut s = s.to_owned();
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

/// A value opened by [`CookieCodec::open_within`].
pub(crate) struct Opened<T> {
    pub(crate) value: T,
    /// Sealed under a previous key: seal it again under the current one.
    pub(crate) old_key: bool,
}

/// Encrypts and decrypts cookie values and stamps the crate's attributes on them.
#[derive(Clone, Debug)]
pub(crate) struct CookieCodec {
    key: CookieKey,
    /// `Secure` (and the `__Host-` name prefix) on https deployments.
    pub(crate) secure: bool,
    /// Which provider and client the cookies belong to. Sealed into the associated data
    /// with the cookie name, so two `OAuth` instances that share a key and a cookie name
    /// still cannot read each other's sessions or login flows.
    context: String,
    /// The store names of this client's records, keyed by the cookie keys.
    names: std::sync::Arc<super::names::StoreNames>,
}

impl CookieCodec {
    /// A codec whose cookies belong to `context` (the client id and token URL): it is
    /// sealed into every cookie's associated data.
    pub(crate) fn new(key: CookieKey, secure: bool, context: String) -> CookieCodec {
        let masters = std::iter::once(&key.current)
            .chain(&key.previous)
            .map(Key::master);
        let names = super::names::StoreNames::new(masters, &context);
        CookieCodec {
            key,
            secure,
            context,
            names: std::sync::Arc::new(names),
        }
    }

    /// The names this client's records get in a store (MACs under the cookie keys).
    pub(crate) fn names(&self) -> &super::names::StoreNames {
        &self.names
    }

    /// The current key alone (tests of key rotation).
    #[cfg(test)]
    pub(crate) fn current_key_only(&self) -> CookieKey {
        CookieKey {
            current: self.key.current.clone(),
            previous: Vec::new(),
        }
    }

    /// The name the AEAD authenticates: the cookie's name and the codec's context.
    fn aad_name(&self, name: &str) -> String {
        format!("{name}\u{0}{}", self.context)
    }

    /// Serialises `value` as JSON and encrypts it for the cookie `name`.
    /// `None` when the result would be too large for one cookie.
    pub(crate) fn seal<T: Serialize>(&self, name: &str, value: &T) -> Option<String> {
        self.seal_within(name, value, MAX_COOKIE_VALUE)
    }

    /// Like [`seal`](Self::seal), up to `limit` bytes: a chunked session cookie, or a
    /// record sealed at rest (`name` then names the record).
    pub(crate) fn seal_within<T: Serialize>(
        &self,
        name: &str,
        value: &T,
        limit: usize,
    ) -> Option<String> {
        let json = serde_json::to_string(value).ok()?;
        let name = self.aad_name(name);
        let mut jar = CookieJar::new();
        jar.private_mut(&self.key.current)
            .add(Cookie::new(name.clone(), json));
        let sealed = jar.get(&name)?.value().to_owned();
        (sealed.len() <= limit).then_some(sealed)
    }

    /// Seals `value` compressed: JSON, deflated, then AES-256-GCM (the cookie key's
    /// encryption half, a random 96-bit nonce, the cookie name and context as associated
    /// data), base64url once. Session cookies hold tokens, often long base64 or hex text
    /// that deflate shrinks by a quarter to a half: a 5 KB token then fits in the ~6 KB
    /// session budget, which the private jar's encrypt-then-base64 of the text would not.
    /// `None` past `limit` bytes.
    pub(crate) fn seal_compact<T: Serialize>(
        &self,
        name: &str,
        value: &T,
        limit: usize,
    ) -> Option<String> {
        use aes_gcm::aead::{Aead as _, Payload};
        use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce};
        use base64::Engine as _;
        let json = serde_json::to_vec(value).ok()?;
        let compressed = miniz_oxide::deflate::compress_to_vec(&json, 6);
        let cipher = Aes256Gcm::new_from_slice(self.key.current.encryption()).ok()?;
        let nonce: [u8; 12] = crate::secret::random_bytes();
        let aad = self.aad_name(name);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &compressed,
                    aad: aad.as_bytes(),
                },
            )
            .ok()?;
        let mut framed = Vec::with_capacity(1 + nonce.len() + sealed.len());
        framed.push(COMPACT_VERSION);
        framed.extend_from_slice(&nonce);
        framed.extend_from_slice(&sealed);
        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(framed);
        (text.len() <= limit).then_some(text)
    }

    /// Opens a value sealed by [`seal_compact`](Self::seal_compact) with the current or a
    /// previous key; anything else is `None`. The inflated JSON is capped (no zip bombs).
    pub(crate) fn open_compact<T: DeserializeOwned>(
        &self,
        name: &str,
        sealed: &str,
        limit: usize,
    ) -> Option<Opened<T>> {
        use aes_gcm::aead::{Aead as _, Payload};
        use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce};
        use base64::Engine as _;
        if sealed.is_empty() || sealed.len() > limit {
            return None;
        }
        let framed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sealed)
            .ok()?;
        let (&version, rest) = framed.split_first()?;
        if version != COMPACT_VERSION || rest.len() < 12 + 16 {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(12);
        let aad = self.aad_name(name);
        let (compressed, old_key) = std::iter::once(&self.key.current)
            .chain(&self.key.previous)
            .enumerate()
            .find_map(|(i, key)| {
                let cipher = Aes256Gcm::new_from_slice(key.encryption()).ok()?;
                let plain = cipher
                    .decrypt(
                        Nonce::from_slice(nonce),
                        Payload {
                            msg: ciphertext,
                            aad: aad.as_bytes(),
                        },
                    )
                    .ok()?;
                Some((plain, i > 0))
            })?;
        let json =
            miniz_oxide::inflate::decompress_to_vec_with_limit(&compressed, MAX_INFLATED).ok()?;
        Some(Opened {
            value: serde_json::from_slice(&json).ok()?,
            old_key,
        })
    }

    /// Decrypts and parses a cookie value; anything that fails (tampered, truncated, other
    /// key, garbage, old format) is `None`, never an error.
    pub(crate) fn open<T: DeserializeOwned>(&self, name: &str, sealed: &str) -> Option<T> {
        self.open_within(name, sealed, MAX_COOKIE_VALUE * 2)
            .map(|opened| opened.value)
    }

    /// Like [`open`](Self::open), for values up to `limit` bytes, telling whether a
    /// previous key opened it (then it should be sealed again under the current key).
    pub(crate) fn open_within<T: DeserializeOwned>(
        &self,
        name: &str,
        sealed: &str,
        limit: usize,
    ) -> Option<Opened<T>> {
        if sealed.is_empty() || sealed.len() > limit {
            return None;
        }
        let name = self.aad_name(name);
        std::iter::once(&self.key.current)
            .chain(&self.key.previous)
            .enumerate()
            .find_map(|(i, key)| {
                let jar = CookieJar::new();
                let cookie = Cookie::new(name.clone(), sealed.to_owned());
                let plain = jar.private(key).decrypt(cookie)?;
                Some(Opened {
                    value: serde_json::from_str(plain.value()).ok()?,
                    old_key: i > 0,
                })
            })
    }

    /// A `Set-Cookie` value with the crate's attributes: HttpOnly, SameSite=Lax,
    /// `Secure` on https, the given path and lifetime.
    pub(crate) fn set_cookie(
        &self,
        name: &str,
        value: String,
        path: &str,
        max_age_secs: u64,
    ) -> String {
        let mut cookie = Cookie::new(name.to_owned(), value);
        cookie.set_http_only(true);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_secure(self.secure);
        cookie.set_path(path.to_owned());
        cookie.set_max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age_secs).unwrap_or(i64::MAX),
        ));
        // Sealed values are base64, all RFC 6265 cookie-octets: no percent-encoding needed.
        cookie.to_string()
    }

    /// A `Set-Cookie` value that removes the cookie (same name, path and attributes).
    pub(crate) fn remove_cookie(&self, name: &str, path: &str) -> String {
        self.set_cookie(name, String::new(), path, 0)
    }
}

/// The format byte of [`CookieCodec::seal_compact`] values.
const COMPACT_VERSION: u8 = 1;

/// The most a compact value may inflate to.
const MAX_INFLATED: usize = 256 * 1024;

/// How many cookies one session may span: enough for [`MAX_SESSION_COOKIE_BYTES`].
pub(crate) const MAX_CHUNKS: usize = MAX_SESSION_COOKIE_BYTES.div_ceil(MAX_COOKIE_VALUE);

/// The name of a session cookie's chunk `i`: the base name, then `name.1`, `name.2`, ...
pub(crate) fn chunk_name(base: &str, i: usize) -> String {
    if i == 0 {
        base.to_owned()
    } else {
        format!("{base}.{i}")
    }
}

/// Splits a sealed session value (base64: one byte per character) over cookies of at
/// most [`MAX_COOKIE_VALUE`] bytes.
pub(crate) fn chunks(sealed: &str) -> Vec<String> {
    sealed
        .as_bytes()
        .chunks(MAX_COOKIE_VALUE)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
}

/// The names of one `OAuth`'s cookies, from the configured base name: the session
/// cookie and the prefix of its flow cookies. On https both carry `__Host-`, so a sibling
/// subdomain can neither read nor plant them (login CSRF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CookieNames {
    pub(crate) session: String,
    pub(crate) flow_prefix: String,
}

impl CookieNames {
    pub(crate) fn new(base: &str, secure: bool) -> CookieNames {
        let host = if secure { "__Host-" } else { "" };
        CookieNames {
            session: format!("{host}{base}"),
            flow_prefix: format!("{host}{base}_flow_"),
        }
    }
}

/// Finds the first cookie called `name` in the request's `Cookie` headers, without
/// allocating for the others.
pub(crate) fn find_cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    request_cookies(headers).find_map(|(n, v)| (n == name).then_some(v))
}

/// Every `name=value` pair of the request's `Cookie` headers.
pub(crate) fn request_cookies(headers: &http::HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(header_cookies)
}

mod pairs;
pub(crate) use pairs::{header_cookie_bytes, header_cookies};

#[cfg(test)]
mod tests;
