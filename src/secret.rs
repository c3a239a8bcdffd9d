//! Secret newtypes: values that must never reach a log line, an error message or `Debug`.
//!
//! Each type wraps a `String`, prints `[redacted]` under `Debug`, has no `Display`, and
//! no `PartialEq` (comparing secrets with `==` leaks timing; [`CsrfState::matches`] is
//! the one comparison the crate needs, and it runs in constant time). The value is read
//! with `secret()`, which makes every place that handles the raw value easy to find.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a raw value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The raw value. Handle with care: never log it.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }
    };
}

secret_type!(
    /// The OAuth client secret issued by the provider.
    ///
    /// ```
    /// use axum_oauth_login::secret::ClientSecret;
    /// let s = ClientSecret::new("s3cr3t");
    /// assert_eq!(format!("{s:?}"), "ClientSecret([redacted])");
    /// ```
    ClientSecret
);
secret_type!(
    /// An authorization code from the provider's redirect (RFC 6749 §4.1.2).
    ///
    /// ```
    /// use axum_oauth_login::secret::AuthorizationCode;
    /// let c = AuthorizationCode::new("abc");
    /// assert!(!format!("{c:?}").contains("abc"));
    /// ```
    AuthorizationCode
);
secret_type!(
    /// An access token (RFC 6749 §1.4).
    ///
    /// ```
    /// use axum_oauth_login::secret::AccessToken;
    /// let t = AccessToken::new("74639aa9");
    /// assert_eq!(t.secret(), "74639aa9");
    /// assert!(!format!("{t:?}").contains("74639aa9"));
    /// ```
    AccessToken
);
secret_type!(
    /// A refresh token (RFC 6749 §1.5).
    ///
    /// ```
    /// use axum_oauth_login::secret::RefreshToken;
    /// assert!(!format!("{:?}", RefreshToken::new("r1")).contains("r1"));
    /// ```
    RefreshToken
);
secret_type!(
    /// An OpenID Connect ID token (validated by the login routes for an OpenID Connect provider).
    ///
    /// ```
    /// use axum_oauth_login::secret::IdToken;
    /// assert!(!format!("{:?}", IdToken::new("eyJ")).contains("eyJ"));
    /// ```
    IdToken
);

/// Length in bytes of the random part of state values and PKCE verifiers (256 bits).
const RANDOM_BYTES: usize = 32;

pub(crate) fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<RANDOM_BYTES>())
}

/// `N` bytes from the operating system's random source (what `rand`'s thread RNG seeds
/// from; read directly, so the build carries one `getrandom`). Like `rand`, panics only
/// if the OS has no random source at all, which no supported platform lacks.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("the operating system's random source");
    bytes
}

secret_type!(
    /// The `state` parameter that binds a callback to the login that started it (RFC 6749 §10.12).
    ///
    /// Fresh values carry 256 random bits. Compare with [`CsrfState::matches`], which runs in
    /// constant time.
    ///
    /// ```
    /// use axum_oauth_login::secret::CsrfState;
    /// let state = CsrfState::random();
    /// assert!(state.matches(state.secret()));
    /// assert!(!state.matches("forged"));
    /// assert!(!format!("{state:?}").contains(state.secret()));
    /// ```
    CsrfState
);

impl CsrfState {
    /// A new state with 256 bits from the operating system's CSPRNG.
    pub fn random() -> Self {
        Self(random_token())
    }

    /// Constant-time comparison with a value received in a callback.
    pub fn matches(&self, received: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(received.as_bytes()))
    }
}

secret_type!(
    /// An OpenID Connect `nonce` (Core §3.1.2.1): 256 random bits sent with the login and
    /// kept in its flow cookie; the id_token must carry it back.
    ///
    /// ```
    /// use axum_oauth_login::secret::Nonce;
    /// let n = Nonce::random();
    /// assert!(n.matches(n.secret()) && !n.matches("other"));
    /// assert_eq!(format!("{n:?}"), "Nonce([redacted])");
    /// ```
    Nonce
);

impl Nonce {
    /// A new nonce with 256 bits from the operating system's CSPRNG.
    pub fn random() -> Self {
        Self(random_token())
    }

    /// Constant-time comparison with the `nonce` claim of an id_token.
    pub fn matches(&self, received: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(received.as_bytes()))
    }
}

secret_type!(
    /// A PKCE code verifier (RFC 7636 §4.1): 43 characters of base64url from 256 random bits.
    ///
    /// ```
    /// use axum_oauth_login::secret::PkceVerifier;
    /// let v = PkceVerifier::random();
    /// assert_eq!(v.secret().len(), 43);
    /// // RFC 7636 appendix B test vector
    /// let v = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    /// assert_eq!(v.s256_challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    /// ```
    PkceVerifier
);

impl PkceVerifier {
    /// A new verifier with 256 bits of randomness.
    pub fn random() -> Self {
        Self(random_token())
    }

    /// The `S256` code challenge: `BASE64URL(SHA256(verifier))`.
    pub fn s256_challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_values_differ_and_are_long_enough() {
        let a = CsrfState::random();
        let b = CsrfState::random();
        assert!(!a.matches(b.secret()));
        // 32 bytes -> 43 base64url characters, well over the 128 bits required.
        assert_eq!(a.secret().len(), 43);
    }

    #[test]
    fn state_comparison_rejects_prefixes_and_empty() {
        let s = CsrfState::new("abcdef");
        assert!(s.matches("abcdef"));
        assert!(!s.matches("abcde"));
        assert!(!s.matches(""));
        assert!(!s.matches("abcdefg"));
    }

    #[test]
    fn serde_round_trip_keeps_value() {
        let t = AccessToken::new("tok");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"tok\"");
        let back: AccessToken = serde_json::from_str(&json).unwrap();
        assert_eq!(back.secret(), "tok");
    }
}
