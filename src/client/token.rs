//! The token set a token endpoint answers with, parsed tolerantly.

use std::fmt;

use serde::{Deserialize, Serialize};
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
}

/// Fields of a token response that have a meaning here; everything else goes to `extra`.
const KNOWN_FIELDS: &[&str] = &[
    "access_token",
    "token_type",
    "expires_in",
    "created_at",
    "refresh_token",
    "scope",
    "id_token",
];

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
        }
    }

    /// Parses a token response body. `now` is the current time in unix seconds; expiry is
    /// `created_at + expires_in` when the provider sends `created_at` (never later than
    /// now), else `now + expires_in`.
    ///
    /// The error names the field at fault and never contains its value.
    pub(crate) fn from_json(body: &[u8], now: u64) -> Result<TokenSet, TokenParseError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| TokenParseError::Malformed("the body is not JSON"))?;
        let Value::Object(mut map) = value else {
            return Err(TokenParseError::Malformed("the body is not a JSON object"));
        };
        let access_token = match map.remove("access_token") {
            Some(Value::String(s)) if !s.is_empty() => AccessToken::new(s),
            Some(_) => {
                return Err(TokenParseError::Malformed(
                    "`access_token` is not a non-empty string",
                ));
            }
            None => return Err(TokenParseError::Malformed("`access_token` is missing")),
        };
        match map.get("token_type") {
            // Some providers omit it; a missing type is taken as Bearer.
            None | Some(Value::Null) => {}
            Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => {}
            Some(Value::String(t)) => return Err(TokenParseError::unsupported(t)),
            Some(_) => return Err(TokenParseError::Malformed("`token_type` is not a string")),
        }
        let expires_in = seconds(map.get("expires_in"), "`expires_in` is not a number")?;
        let created_at = seconds(map.get("created_at"), "`created_at` is not a number")?;
        let issued = created_at.map_or(now, |c| c.min(now));
        let expires_at = expires_in.map(|e| issued.saturating_add(e));
        let refresh_token = optional_string(&mut map, "refresh_token")?.map(RefreshToken::new);
        let id_token = optional_string(&mut map, "id_token")?.map(IdToken::new);
        let scope = match map.remove("scope") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            // A few providers send scopes as an array.
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Some(_) => return Err(TokenParseError::Malformed("`scope` is not a string")),
        };
        map.retain(|k, _| !KNOWN_FIELDS.contains(&k.as_str()));
        Ok(TokenSet {
            access_token,
            expires_at,
            refresh_token,
            scope,
            id_token,
            extra: map,
        })
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
            .finish()
    }
}

fn seconds(value: Option<&Value>, err: &'static str) -> Result<Option<u64>, TokenParseError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_i64().map(|i| i.max(0) as u64))
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.max(0.0) as u64)
            })
            .map(Some)
            .ok_or(TokenParseError::Malformed(err)),
        Some(Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| TokenParseError::Malformed(err)),
        Some(_) => Err(TokenParseError::Malformed(err)),
    }
}

fn optional_string(
    map: &mut Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, TokenParseError> {
    match map.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(TokenParseError::Malformed(match field {
            "refresh_token" => "`refresh_token` is not a string",
            _ => "`id_token` is not a string",
        })),
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
