//! OpenID Connect: what the crate accepts from a provider's signed JWTs.
//!
//! - `keys`: the provider's JWKS, fetched on first use, cached, re-fetched (one fetch at
//!   a time, at most once per 10 s) when a token names an unknown key: key rotation
//!   without a restart, and no fetch storm from forged tokens. While a re-fetch is
//!   rate-limited or failed, an unknown key is "try again", not a refusal.
//! - `jwt`: a compact JWS checked against those keys (asymmetric algorithms only:
//!   `none`, HMAC and unknown `crit` extensions are refused) → its claims.
//! - `claims`: the checks every token shares — `iss`, `aud`, `exp` / `iat` / `nbf`
//!   against the crate's clock with a leeway — and the typed [`IdClaims`].
//! - here: the three kinds of token — id_tokens (Core §3.1.3.7: at the callback with
//!   the login's `nonce`; after a refresh with the same `sub`), logout tokens
//!   (Back-Channel Logout 1.0 §2.6, with a `jti` replay cache) and JWT access tokens
//!   (RFC 9068).

mod claims;
mod jwt;
mod keys;

use std::time::Duration;

use serde_json::{Map, Value};

pub use self::claims::IdClaims;
pub(crate) use self::claims::LEEWAY_SECS;
use self::claims::{audiences, check_audience, check_issuer, check_times, string};
pub(crate) use self::jwt::looks_like_jwt;
use self::keys::KeySet;
use crate::clock::Clock;
pub use crate::error::JwtError;
use crate::provider::Provider;
use crate::replay::SeenOnce;
use crate::secret::{IdToken, Nonce};

/// The claims of a validated back-channel logout token that say whose sessions end.
#[derive(Debug, Clone)]
pub(crate) struct LogoutClaims {
    pub(crate) sub: Option<String>,
    pub(crate) sid: Option<String>,
    pub(crate) iat: u64,
    /// The replay cache's key.
    seen: String,
}

#[cfg(test)]
impl LogoutClaims {
    pub(crate) fn for_test(sid: Option<&str>, sub: Option<&str>, iat: u64) -> Self {
        LogoutClaims {
            sub: sub.map(str::to_owned),
            sid: sid.map(str::to_owned),
            iat,
            seen: String::new(),
        }
    }
}

/// A validated JWT access token: its claims, expiry and scopes.
#[derive(Debug, Clone)]
pub(crate) struct AccessClaims {
    pub(crate) claims: Map<String, Value>,
    pub(crate) exp: u64,
    pub(crate) scope: Option<String>,
}

/// The events claim of a logout token (Back-Channel Logout 1.0 §2.4).
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Logout tokens older than this are refused; the `jti` replay cache covers the window.
const LOGOUT_TOKEN_MAX_AGE_SECS: u64 = 300;
const REPLAY_CACHE_CAPACITY: usize = 100_000;

/// The claims of an id_token this crate validated before (sealed in a session since):
/// its payload, decoded without a second signature check.
pub(crate) fn decode_checked(token: &str) -> Option<IdClaims> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// One OpenID Connect provider's token checks, for one client.
pub(crate) struct Oidc {
    issuer: String,
    client_id: String,
    access_audience: Option<String>,
    keys: KeySet,
    clock: Clock,
    /// `iat:jti` of logout tokens already accepted (bounded; older tokens than the
    /// `iat` check accepts need no entry).
    seen_logout_tokens: SeenOnce<String>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.issuer)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl Oidc {
    /// The checks for `provider` (`None` unless it has a JWKS and an issuer).
    pub(crate) fn new(
        provider: &Provider,
        client_id: &str,
        http: reqwest::Client,
        timeout: Duration,
        clock: Clock,
    ) -> Option<Oidc> {
        let (Some(jwks), Some(issuer)) = (provider.jwks_url(), provider.issuer()) else {
            return None;
        };
        Some(Oidc {
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            access_audience: provider.jwt_access_tokens().map(str::to_owned),
            keys: KeySet::new(jwks.clone(), http, timeout, clock.clone()),
            clock,
            seen_logout_tokens: SeenOnce::new(REPLAY_CACHE_CAPACITY),
        })
    }

    /// An id_token (Core §3.1.3.7): signature, `iss`, `aud` (and `azp`), `exp`, `iat`,
    /// `sub`; and, at the callback, the login's `nonce`.
    pub(crate) async fn id_token(
        &self,
        token: &IdToken,
        nonce: Option<&Nonce>,
    ) -> Result<IdClaims, JwtError> {
        let verified = jwt::verify(&self.keys, token.secret()).await?;
        if let Some(typ) = &verified.typ
            && !(typ.eq_ignore_ascii_case("JWT") || typ.eq_ignore_ascii_case("id_token+jwt"))
        {
            return Err(JwtError::Type("not an id_token"));
        }
        let claims = verified.claims;
        check_issuer(&claims, &self.issuer)?;
        check_audience(&claims, &self.client_id)?;
        // §3.1.3.7 items 4–5: with several audiences `azp` is expected; when present it
        // must be this client.
        match string(&claims, "azp")? {
            Some(azp) if azp != self.client_id => {
                return Err(JwtError::Claim("azp", "is another client"));
            }
            None if audiences(&claims)?.len() > 1 => {
                return Err(JwtError::Claim("azp", "is missing with several audiences"));
            }
            _ => {}
        }
        check_times(&claims, self.clock.now(), false)?;
        if string(&claims, "sub")?.is_none_or(str::is_empty) {
            return Err(JwtError::Claim("sub", "is missing"));
        }
        if let Some(expected) = nonce {
            match string(&claims, "nonce")? {
                Some(received) if expected.matches(received) => {}
                Some(_) => return Err(JwtError::Claim("nonce", "does not match this login")),
                None => return Err(JwtError::Claim("nonce", "is missing")),
            }
        }
        serde_json::from_value(Value::Object(claims))
            .map_err(|_| JwtError::Claim("sub", "or another standard claim has the wrong type"))
    }

    /// An id_token from a refresh (Core §12.2): checked like one from the callback
    /// except for the nonce, and its `sub` must be the session's.
    pub(crate) async fn refreshed_id_token(
        &self,
        token: &IdToken,
        sub: Option<&str>,
    ) -> Result<IdClaims, JwtError> {
        let claims = self.id_token(token, None).await?;
        if sub.is_some_and(|sub| sub != claims.sub) {
            return Err(JwtError::Claim("sub", "differs from the session's user"));
        }
        Ok(claims)
    }

    /// A back-channel logout token (Back-Channel Logout 1.0 §2.6): signature, `iss`,
    /// `aud`, `iat` (at most five minutes old), `exp` when present, the logout event,
    /// `sid` and/or `sub`, no `nonce`, and a `jti` not seen before.
    pub(crate) async fn logout_token(&self, token: &str) -> Result<LogoutClaims, JwtError> {
        let verified = jwt::verify(&self.keys, token).await?;
        if let Some(typ) = &verified.typ
            && !typ.eq_ignore_ascii_case("logout+jwt")
            && !typ.eq_ignore_ascii_case("JWT")
        {
            return Err(JwtError::Type("not a logout token"));
        }
        let claims = verified.claims;
        check_issuer(&claims, &self.issuer)?;
        check_audience(&claims, &self.client_id)?;
        let now = self.clock.now();
        check_times(&claims, now, true)?;
        let iat = claims::time(&claims, "iat")?.unwrap_or(now);
        if iat.saturating_add(LOGOUT_TOKEN_MAX_AGE_SECS + LEEWAY_SECS) < now {
            return Err(JwtError::Claim("iat", "is too old for a logout token"));
        }
        match claims.get("events").and_then(|e| e.get(BACKCHANNEL_EVENT)) {
            Some(Value::Object(_)) => {}
            _ => {
                return Err(JwtError::Claim(
                    "events",
                    "lacks the back-channel logout event",
                ));
            }
        }
        if claims.contains_key("nonce") {
            return Err(JwtError::Claim("nonce", "must not be in a logout token"));
        }
        let sub = string(&claims, "sub")?.map(str::to_owned);
        let sid = string(&claims, "sid")?.map(str::to_owned);
        if sub.is_none() && sid.is_none() {
            return Err(JwtError::Claim("sid", "and `sub` are both missing"));
        }
        let jti = string(&claims, "jti")?
            .filter(|j| !j.is_empty())
            .ok_or(JwtError::Claim("jti", "is missing"))?;
        let seen = format!("{iat}:{jti}");
        // Atomic: two copies of one token racing in are one logout and one replay.
        if !self.seen_logout_tokens.first_use(&seen) {
            return Err(JwtError::Claim(
                "jti",
                "was already used: a replayed logout token",
            ));
        }
        Ok(LogoutClaims {
            sub,
            sid,
            iat,
            seen,
        })
    }

    /// Forgets an accepted logout token whose logout could not be recorded, so the
    /// provider's retry is not refused as a replay.
    pub(crate) fn forget_logout_token(&self, claims: &LogoutClaims) {
        self.seen_logout_tokens.forget(&claims.seen);
    }

    /// Whether JWT access tokens are checked locally (an audience is configured).
    pub(crate) fn checks_access_tokens(&self) -> bool {
        self.access_audience.is_some()
    }

    /// A JWT access token (RFC 9068 §4): `typ` `at+jwt`, signature, `iss`, `aud` with the
    /// configured resource, `exp`, `iat`, `sub`.
    pub(crate) async fn access_token(&self, token: &str) -> Result<AccessClaims, JwtError> {
        let Some(audience) = &self.access_audience else {
            return Err(JwtError::Type("JWT access tokens are not checked locally"));
        };
        let verified = jwt::verify(&self.keys, token).await?;
        match verified.typ.as_deref() {
            Some(t)
                if t.eq_ignore_ascii_case("at+jwt")
                    || t.eq_ignore_ascii_case("application/at+jwt") => {}
            _ => return Err(JwtError::Type("not an access token (typ at+jwt)")),
        }
        let claims = verified.claims;
        check_issuer(&claims, &self.issuer)?;
        if !audiences(&claims)?.contains(&audience.as_str()) {
            return Err(JwtError::Claim("aud", "does not name this resource"));
        }
        let exp = check_times(&claims, self.clock.now(), false)?.unwrap_or_default();
        if string(&claims, "sub")?.is_none_or(str::is_empty) {
            return Err(JwtError::Claim("sub", "is missing"));
        }
        let scope = string(&claims, "scope")?.map(str::to_owned);
        Ok(AccessClaims { claims, exp, scope })
    }
}

#[cfg(test)]
mod tests;
