//! The token set a token endpoint answers with, parsed tolerantly.

use std::fmt;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::secret::{AccessToken, IdToken, RefreshToken};
use crate::transport::{OAuthError, sanitize};

/// What a successful token response holds (RFC 6749 §5.1).
///
/// Parsing is tolerant of what providers send in the wild: `expires_in` as a number or a
/// string, `token_type` in any case, vcita's `created_at`, and unknown fields (kept in
/// [`extra`](TokenSet::extra)). `Debug` shows no secret and only the names of extra fields.
///
/// ```
/// use axum_oauth_login::{TokenSet, secret::AccessToken};
/// // Usually from `OAuthClient::exchange_code` or `AuthSession::tokens`.
/// let tokens = TokenSet::bearer(AccessToken::new("74639aa9"));
/// assert_eq!(tokens.access_token().secret(), "74639aa9");
/// assert_eq!(tokens.expires_at(), None); // the provider did not say
/// assert!(!format!("{tokens:?}").contains("74639aa9"));
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenSet {
    access_token: AccessToken,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<RefreshToken>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<IdToken>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    extra: Map<String, Value>,
    /// For a DPoP-bound access token (`token_type: DPoP`, RFC 9449): the RFC 7638
    /// thumbprint of the key it is bound to. Absent (sessions and records of earlier
    /// versions too): a Bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dpop_jkt: Option<String>,
}

impl TokenSet {
    /// A token set with only an access token, e.g. from an `Authorization` header.
    pub fn bearer(access_token: AccessToken) -> Self {
        TokenSet {
            access_token,
            expires_at: None,
            refresh_token: None,
            scope: None,
            id_token: None,
            extra: Map::new(),
            dpop_jkt: None,
        }
    }

    /// Parses a token response body. `now` is the current time in unix seconds; expiry is
    /// `created_at + expires_in` when the provider sends `created_at` (never later than
    /// now), else `now + expires_in`.
    ///
    /// The error names the field at fault and never contains its value. Fields are
    /// checked in a fixed order, whatever their order in the body.
    #[cfg_attr(not(any(test, fuzzing)), allow(dead_code))] // the client parses `_bound`
    pub(crate) fn from_json(body: &[u8], now: u64) -> Result<TokenSet, TokenParseError> {
        Self::from_json_bound(body, now, None)
    }

    /// [`from_json`](Self::from_json) for a request made with a DPoP proof of the key
    /// whose thumbprint is `dpop_jkt`: a `DPoP` token is then bound to it (a `Bearer`
    /// answer means the server did not bind it). Without a proof, `DPoP` is refused.
    pub(crate) fn from_json_bound(
        body: &[u8],
        now: u64,
        dpop_jkt: Option<&str>,
    ) -> Result<TokenSet, TokenParseError> {
        use TokenParseError::Malformed;
        // Through a `Value`: a syntax error anywhere is "not JSON", even after a bad
        // member, and of a member given twice the last one counts.
        let value: Value =
            serde_json::from_slice(body).map_err(|_| Malformed("the body is not JSON"))?;
        let Value::Object(members) = value else {
            return Err(Malformed("the body is not a JSON object"));
        };
        // Not `#[serde(flatten)]`: serde buffers flattened members in a type without
        // 128-bit integers, which serde_json's `arbitrary_precision` (an app may turn it
        // on) yields for numbers beyond 64 bits: `extra` would fail on one.
        let (known, extra): (Map<_, _>, Map<_, _>) = members
            .into_iter()
            .partition(|(name, _)| KNOWN_FIELDS.contains(&name.as_str()));
        // Cannot fail: every member of `Wire` deserializes (`Checked`).
        let wire = Wire::deserialize(Value::Object(known))
            .map_err(|_| Malformed("the body is not a JSON object"))?;
        let access_token = match wire.access_token {
            Checked::Valid(s) if !s.is_empty() => AccessToken::new(s),
            Checked::Absent => return Err(Malformed("`access_token` is missing")),
            _ => return Err(Malformed("`access_token` is not a non-empty string")),
        };
        // Some providers omit it; a missing type is taken as Bearer.
        let bound = match wire.token_type.optional("`token_type` is not a string")? {
            None => None,
            Some(t) if t.eq_ignore_ascii_case("bearer") => None,
            Some(t) if t.eq_ignore_ascii_case("dpop") && dpop_jkt.is_some() => {
                dpop_jkt.map(str::to_owned)
            }
            Some(t) => return Err(TokenParseError::unsupported(&t)),
        };
        let expires_in = wire.expires_in.optional("`expires_in` is not a number")?;
        let created_at = wire.created_at.optional("`created_at` is not a number")?;
        let issued = created_at.map_or(now, |Seconds(c)| c.min(now));
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        let refresh_token = wire
            .refresh_token
            .optional("`refresh_token` is not a string")?;
        let id_token = wire.id_token.optional("`id_token` is not a string")?;
        let scope = wire.scope.optional("`scope` is not a string")?;
        Ok(TokenSet {
            access_token,
            expires_at: expires_in.map(|Seconds(e)| issued.saturating_add(e)),
            refresh_token: refresh_token.and_then(non_empty).map(RefreshToken::new),
            scope: scope.map(|Scope(s)| s),
            id_token: id_token.and_then(non_empty).map(IdToken::new),
            extra,
            dpop_jkt: bound,
        })
    }

    /// `Bearer`, or `DPoP` for a token bound to the app's DPoP key (RFC 9449): it is
    /// sent as `Authorization: DPoP <token>` with a proof of that key.
    pub fn token_type(&self) -> &'static str {
        match self.dpop_jkt {
            Some(_) => "DPoP",
            None => "Bearer",
        }
    }
    /// The thumbprint (RFC 7638) of the DPoP key the access token is bound to.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.dpop_jkt.as_deref()
    }

    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    /// When the access token expires, in unix seconds, if the provider said.
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_at
    }
    /// The refresh token, if one was issued.
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    /// The granted scope, if the provider said.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// RFC 6749 §5.1: a token response without `scope` grants the scope requested.
    pub(crate) fn default_scope(&mut self, requested: &[String]) {
        if self.scope.is_none() && !requested.is_empty() {
            self.scope = Some(requested.join(" "));
        }
    }
    /// The OpenID Connect ID token, if one was issued. For a provider with a JWKS and an
    /// issuer ([`Provider::is_openid`](crate::Provider::is_openid)) the login routes validate it
    /// before a session holds it; [`OAuthClient::verify_id_token`](crate::client::OAuthClient::verify_id_token)
    /// checks one by hand.
    pub fn id_token(&self) -> Option<&IdToken> {
        self.id_token.as_ref()
    }
    /// Fields of the response this crate does not interpret.
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// Whether the access token expires within `skew_secs` of `now` (unix seconds).
    /// A token without a known expiry never counts as expiring.
    ///
    /// ```
    /// # use axum_oauth_login::{TokenSet, secret::AccessToken};
    /// let t = TokenSet::bearer(AccessToken::new("b"));
    /// assert!(!t.expires_within(u64::MAX, 60), "no expiry known: never expiring");
    /// ```
    pub fn expires_within(&self, now: u64, skew_secs: u64) -> bool {
        self.expires_at
            .is_some_and(|at| at <= now.saturating_add(skew_secs))
    }

    /// Whether the access token has expired at `now` (unix seconds).
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires_within(now, 0)
    }

    /// A refresh response may omit the refresh token when it does not rotate
    /// (RFC 6749 §6): keep the old one in that case.
    pub(crate) fn inherit_refresh_token(&mut self, previous: &RefreshToken) {
        if self.refresh_token.is_none() {
            self.refresh_token = Some(previous.clone());
        }
    }

    /// What a refresh response leaves out is unchanged: the scope (RFC 6749 §5.1: an
    /// omitted `scope` means the one granted before), the refresh token (§6) and the ID
    /// token (OpenID Connect Core §12.2).
    /// Drops the id_token (one that could not be checked now): `inherit_omitted` then
    /// keeps the previous, checked one.
    pub(crate) fn forget_id_token(&mut self) {
        self.id_token = None;
    }

    pub(crate) fn inherit_omitted(&mut self, previous: &TokenSet) {
        if self.refresh_token.is_none() {
            self.refresh_token.clone_from(&previous.refresh_token);
        }
        if self.scope.is_none() {
            self.scope.clone_from(&previous.scope);
        }
        if self.id_token.is_none() {
            self.id_token.clone_from(&previous.id_token);
        }
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &self.access_token)
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &self.refresh_token)
            .field("scope", &self.scope)
            .field("id_token", &self.id_token)
            // Unknown fields may hold credentials: show their names only.
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .field("dpop_jkt", &self.dpop_jkt)
            .finish()
    }
}

/// The members of a token response that have a meaning here (RFC 6749 §5.1), each taken
/// whatever its shape ([`Checked`]) so that `from_json` reports the first one at fault
/// in a fixed order. `null` is absent.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Wire {
    access_token: Checked<String>,
    token_type: Checked<Option<String>>,
    expires_in: Checked<Option<Seconds>>,
    created_at: Checked<Option<Seconds>>,
    refresh_token: Checked<Option<String>>,
    scope: Checked<Option<Scope>>,
    id_token: Checked<Option<String>>,
}

/// `Wire`'s member names; everything else goes to `extra`.
const KNOWN_FIELDS: &[&str] = &[
    "access_token",
    "token_type",
    "expires_in",
    "created_at",
    "refresh_token",
    "scope",
    "id_token",
];

/// A member's value, or the fact that it has the wrong shape. Deserializing one never
/// fails: serde's error, whose text may quote the value, is dropped unread.
#[derive(Default)]
enum Checked<T> {
    #[default]
    Absent,
    Bad,
    Valid(T),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Checked<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(T::deserialize(value).map_or(Checked::Bad, Checked::Valid))
    }
}

impl<T> Checked<Option<T>> {
    /// The value of an optional member (absent or `null`: `None`), or `reason`.
    fn optional(self, reason: &'static str) -> Result<Option<T>, TokenParseError> {
        match self {
            Checked::Absent => Ok(None),
            Checked::Bad => Err(TokenParseError::Malformed(reason)),
            Checked::Valid(value) => Ok(value),
        }
    }
}

/// `expires_in`, `created_at`: a number (a negative one is 0, a fraction is cut off) or
/// a string of digits, spaces around them allowed. (This and `Scope` read a `Value`, not
/// an untagged enum: serde buffers those without 128-bit integers, see `from_json`.)
struct Seconds(u64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let seconds = match Value::deserialize(deserializer)? {
            // `as_f64` takes every number `as_u64` does not, negative integers included.
            Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.max(0.0) as u64)
            }),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        seconds
            .map(Seconds)
            .ok_or_else(|| D::Error::custom("not seconds"))
    }
}

/// `scope`: a string, or (a few providers) an array whose strings are joined by spaces.
struct Scope(String);

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) => Ok(Scope(s)),
            Value::Array(items) => {
                let items: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                Ok(Scope(items.join(" ")))
            }
            _ => Err(D::Error::custom("not a scope")),
        }
    }
}

/// Why a token response could not be used. The message never contains a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenParseError {
    /// A field is missing or of the wrong shape; the text names the field.
    Malformed(&'static str),
    /// `token_type` is not Bearer (sanitised, at most 32 characters).
    UnsupportedTokenType(String),
}

impl TokenParseError {
    fn unsupported(token_type: &str) -> Self {
        TokenParseError::UnsupportedTokenType(sanitize(token_type, 32))
    }

    /// Maps the parse failure to the client's error type.
    pub(crate) fn into_oauth_error(self, endpoint: super::Endpoint, status: u16) -> OAuthError {
        match self {
            TokenParseError::UnsupportedTokenType(token_type) => {
                OAuthError::UnsupportedTokenType { token_type }
            }
            TokenParseError::Malformed(reason) => OAuthError::Malformed {
                endpoint,
                status,
                reason: reason.to_owned(),
                excerpt: None,
            },
        }
    }
}

impl fmt::Display for TokenParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenParseError::Malformed(reason) => f.write_str(reason),
            TokenParseError::UnsupportedTokenType(t) => {
                write!(f, "unsupported token_type `{t}`")
            }
        }
    }
}

impl std::error::Error for TokenParseError {}

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) mod proptests;
