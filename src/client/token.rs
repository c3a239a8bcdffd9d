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
/// use axum_oauth_login::{AccessToken, TokenSet};
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
    /// before a session holds it; [`OAuthClient::verify_id_token`](crate::OAuthClient::verify_id_token)
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
    /// # use axum_oauth_login::{AccessToken, TokenSet};
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
mod tests {
    use super::*;

    #[test]
    fn vcita_response_with_created_at() {
        let body = br#"{"access_token":"74639aa91e5726dc","token_type":"bearer","expires_in":631152000,"created_at":1565876581}"#;
        let t = TokenSet::from_json(body, 1_700_000_000).unwrap();
        assert_eq!(t.expires_at(), Some(1_565_876_581 + 631_152_000));
        assert!(t.refresh_token().is_none());
    }

    #[test]
    fn created_at_in_the_future_is_clamped_to_now() {
        let body = br#"{"access_token":"a","expires_in":10,"created_at":9999999999}"#;
        let t = TokenSet::from_json(body, 100).unwrap();
        assert_eq!(t.expires_at(), Some(110));
    }

    #[test]
    fn tolerant_forms() {
        let body = br#"{"access_token":"a","token_type":"BEARER","expires_in":" 60 ","refresh_token":"r","scope":["a","b"],"x_custom":{"k":1}}"#;
        let t = TokenSet::from_json(body, 1000).unwrap();
        assert_eq!(t.expires_at(), Some(1060));
        assert_eq!(t.refresh_token().unwrap().secret(), "r");
        assert_eq!(t.scope(), Some("a b"));
        assert!(t.extra().contains_key("x_custom"));
        assert!(!t.extra().contains_key("token_type"));
        let float = TokenSet::from_json(br#"{"access_token":"a","expires_in":59.9}"#, 0).unwrap();
        assert_eq!(float.expires_at(), Some(59));
    }

    #[test]
    fn failures_name_the_field_not_the_value() {
        let e = TokenSet::from_json(br#"{"token_type":"bearer"}"#, 0).unwrap_err();
        assert_eq!(e.to_string(), "`access_token` is missing");
        let e = TokenSet::from_json(br#"{"access_token":"a","expires_in":"soon-secret"}"#, 0)
            .unwrap_err();
        assert!(!e.to_string().contains("soon-secret"));
        let e = TokenSet::from_json(b"<html>", 0).unwrap_err();
        assert_eq!(e.to_string(), "the body is not JSON");
        let e = TokenSet::from_json(br#"{"access_token":"a","token_type":"mac"}"#, 0).unwrap_err();
        let err = e.into_oauth_error(super::super::Endpoint::Token, 200);
        assert!(
            matches!(err, OAuthError::UnsupportedTokenType { ref token_type } if token_type == "mac")
        );
    }

    #[test]
    fn serde_round_trip() {
        let body =
            br#"{"access_token":"a","expires_in":60,"refresh_token":"r","extra_field":true}"#;
        let t = TokenSet::from_json(body, 1000).unwrap();
        let json = serde_json::to_vec(&t).unwrap();
        let back: TokenSet = serde_json::from_slice(&json).unwrap();
        assert_eq!(back.access_token().secret(), "a");
        assert_eq!(back.expires_at(), Some(1060));
        assert_eq!(back.refresh_token().unwrap().secret(), "r");
        assert_eq!(back.extra().get("extra_field"), Some(&Value::Bool(true)));
    }
}

#[cfg(test)]
pub(crate) mod proptests {
    //! Property: any JSON (or any bytes) as a token response is `Ok` or a typed error,
    //! never a panic; an `Ok` always has a non-empty access token. The JSON generators
    //! are shared with the introspection and userinfo properties.

    use proptest::prelude::*;
    use serde_json::{Map, Number, Value};

    use super::*;

    /// The crate's property-test settings: 256 cases (proptest's default, which reads
    /// `PROPTEST_CASES`), no persistence files.
    pub(crate) use crate::proptests::config;

    /// Member names the parsers give a meaning to, and a few others.
    const KEYS: &[&str] = &[
        "access_token",
        "token_type",
        "expires_in",
        "created_at",
        "refresh_token",
        "scope",
        "id_token",
        "active",
        "client_id",
        "username",
        "sub",
        "exp",
        "iat",
        "email",
        "role",
        "type",
        "business_id",
        "business_uid",
        "business_name",
        "directory_uid",
        "brand_host",
        "x_custom",
        "",
    ];

    /// Strings providers send, and the edge cases of the tolerant parsing.
    const STRINGS: &[&str] = &[
        "",
        "bearer",
        "Bearer",
        "BEARER",
        "mac",
        "true",
        "TRUE",
        "false",
        "60",
        " 60 ",
        "-1",
        "1e3",
        "18446744073709551615",
        "18446744073709551616",
        "a@b.c",
        "\u{0}",
        "é",
    ];

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            prop_oneof![
                any::<f64>(),
                Just(-0.0),
                Just(f64::MAX),
                Just(1e300),
                Just(0.5)
            ]
            .prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
            prop::sample::select(STRINGS).prop_map(Value::from),
            short_string().prop_map(Value::String),
        ]
    }

    /// Any characters, a few of them (`any::<String>()` is slow in debug builds).
    fn short_string() -> impl Strategy<Value = String> {
        prop::collection::vec(any::<char>(), 0..16).prop_map(String::from_iter)
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => prop::sample::select(KEYS).prop_map(str::to_owned),
            1 => short_string(),
        ]
    }

    /// Arbitrary JSON trees, keys biased to the ones the parsers read.
    pub(crate) fn json_value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..8)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    /// Objects with every member the parsers read, each present or not, of any type.
    pub(crate) fn json_object() -> impl Strategy<Value = Map<String, Value>> {
        (
            prop::collection::vec(
                prop::option::of(prop_oneof![5 => leaf(), 1 => json_value()]),
                KEYS.len(),
            ),
            prop::collection::vec((key(), json_value()), 0..3),
        )
            .prop_map(|(values, more)| {
                let mut map: Map<String, Value> = KEYS
                    .iter()
                    .zip(values)
                    .filter_map(|(k, v)| Some(((*k).to_owned(), v?)))
                    .collect();
                map.extend(more);
                map
            })
    }

    /// Bodies: arbitrary bytes, JSON text (possibly truncated or with a byte flipped).
    pub(crate) fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            json_object().prop_map(|m| serde_json::to_vec(&m).unwrap()),
            (
                json_object().prop_map(|m| serde_json::to_vec(&m).unwrap()),
                any::<prop::sample::Index>(),
                any::<u8>(),
                any::<bool>()
            )
                .prop_map(|(mut bytes, at, byte, truncate)| {
                    if !bytes.is_empty() {
                        let i = at.index(bytes.len());
                        if truncate {
                            bytes.truncate(i);
                        } else {
                            bytes[i] = byte;
                        }
                    }
                    bytes
                }),
        ]
    }

    fn check(body: &[u8], now: u64) -> Result<(), TestCaseError> {
        match TokenSet::from_json(body, now) {
            Ok(t) => {
                prop_assert!(!t.access_token().secret().is_empty());
                prop_assert!(t.refresh_token().is_none_or(|r| !r.secret().is_empty()));
                prop_assert!(t.id_token().is_none_or(|i| !i.secret().is_empty()));
                for k in KNOWN_FIELDS {
                    prop_assert!(!t.extra().contains_key(*k), "{} left in extra", k);
                }
                // It survives the session cookie's serde round trip.
                let back: TokenSet = serde_json::from_slice(&serde_json::to_vec(&t).unwrap())
                    .map_err(|e| TestCaseError::fail(format!("round trip: {e}")))?;
                prop_assert_eq!(back.access_token().secret(), t.access_token().secret());
                prop_assert_eq!(back.expires_at(), t.expires_at());
                prop_assert_eq!(back.scope(), t.scope());
                prop_assert_eq!(back.extra().len(), t.extra().len());
            }
            Err(TokenParseError::Malformed(reason)) => prop_assert!(!reason.is_empty()),
            Err(TokenParseError::UnsupportedTokenType(t)) => {
                prop_assert!(t.chars().count() <= 32, "{:?}", t)
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(config())]

        /// Any JSON value or any bytes: `Ok` with a non-empty access token, or a typed
        /// error; never a panic.
        #[test]
        fn any_body_parses_or_fails_cleanly(body in body(), now in any::<u64>()) {
            check(&body, now)?;
        }

        /// Any object (every known member of any type): same, and the expiry follows
        /// `expires_in` when it is a plain number and `created_at` is absent.
        #[test]
        fn any_object_parses_or_fails_cleanly(
            mut map in json_object(),
            now in any::<u64>(),
            expires_in in prop::option::of(any::<u64>()),
        ) {
            if let Some(e) = expires_in {
                map.insert("expires_in".into(), e.into());
                map.remove("created_at");
            }
            let body = serde_json::to_vec(&map).unwrap();
            check(&body, now)?;
            if let (Some(e), Ok(t)) = (expires_in, TokenSet::from_json(&body, now)) {
                prop_assert_eq!(t.expires_at(), Some(now.saturating_add(e)));
            }
        }

        /// A failure never echoes a credential: secrets in the token fields are not in
        /// the error text.
        #[test]
        fn errors_do_not_contain_secrets(
            mut map in json_object(),
            secret in "[A-Za-z0-9]{16,24}",
        ) {
            for field in ["access_token", "refresh_token", "id_token", "expires_in"] {
                if map.get(field).is_some_and(Value::is_string) {
                    map.insert(field.into(), Value::String(secret.clone()));
                }
            }
            let body = serde_json::to_vec(&map).unwrap();
            if let Err(e) = TokenSet::from_json(&body, 0) {
                prop_assert!(!e.to_string().contains(&secret), "{}", e);
            }
        }
    }
}
