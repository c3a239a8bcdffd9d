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
