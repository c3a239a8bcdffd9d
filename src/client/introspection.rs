//! Token introspection responses (RFC 7662 §2.2).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::userinfo::UserInfo;

/// What the introspection endpoint says about a token.
///
/// `active: false` is a normal answer (RFC 7662 §2.2), not an error: the token is
/// unknown, expired or revoked.
///
/// ```
/// use axum_oauth_login::client::Introspection;
/// // Usually from `OAuthClient::introspect`.
/// let mut i = Introspection::default();
/// assert!(!i.active, "unknown, expired or revoked");
/// i.active = true;
/// i.username = Some("chef@example.com".into());
/// assert_eq!(i.to_user_info().email.as_deref(), Some("chef@example.com"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Introspection {
    /// Whether the token is currently active.
    pub active: bool,
    /// Granted scope.
    pub scope: Option<String>,
    /// The client the token was issued to.
    pub client_id: Option<String>,
    /// A human-readable identifier of the resource owner (Apicbase: the email).
    pub username: Option<String>,
    /// Subject.
    pub sub: Option<String>,
    /// Expiry, unix seconds.
    pub exp: Option<u64>,
    /// Issued at, unix seconds.
    pub iat: Option<u64>,
    /// `access_token` or `refresh_token`, when the server says.
    pub token_type: Option<String>,
    /// Every other member.
    pub extra: Map<String, Value>,
}

impl Introspection {
    /// Parses a response body tolerantly (`active` as a bool or `"true"`, numbers as
    /// strings). Returns `None` when the body is not a JSON object.
    pub(crate) fn from_json(body: &[u8]) -> Option<Introspection> {
        let Value::Object(mut map) = serde_json::from_slice(body).ok()? else {
            return None;
        };
        let active = match map.remove("active") {
            Some(Value::Bool(b)) => b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => false,
        };
        let mut text = |k: &str| match map.remove(k) {
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let scope = text("scope");
        let client_id = text("client_id");
        let username = text("username");
        let sub = text("sub");
        let token_type = text("token_type");
        let exp = text("exp").and_then(|s| s.parse().ok());
        let iat = text("iat").and_then(|s| s.parse().ok());
        Some(Introspection {
            active,
            scope,
            client_id,
            username,
            sub,
            exp,
            iat,
            token_type,
            extra: map,
        })
    }

    /// The user as far as introspection tells: `sub` (else `username`) and, when the
    /// username looks like an email address, `email`. Other members go to `extra`.
    pub fn to_user_info(&self) -> UserInfo {
        let email = self.username.clone().filter(|u| u.contains('@'));
        let mut extra = self.extra.clone();
        for (k, v) in [
            ("scope", &self.scope),
            ("client_id", &self.client_id),
            ("username", &self.username),
        ] {
            if let Some(v) = v {
                extra.insert(k.to_owned(), Value::String(v.clone()));
            }
        }
        UserInfo {
            sub: self.sub.clone().or_else(|| self.username.clone()),
            email,
            extra,
            ..UserInfo::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inactive_and_tolerant_forms() {
        assert!(
            !Introspection::from_json(br#"{"active":false}"#)
                .unwrap()
                .active
        );
        let i = Introspection::from_json(br#"{"active":"true","exp":"17","sub":42}"#).unwrap();
        assert!(i.active);
        assert_eq!(i.exp, Some(17));
        assert_eq!(i.sub.as_deref(), Some("42"));
        assert!(Introspection::from_json(b"[]").is_none());
        assert!(Introspection::from_json(b"<html>").is_none());
    }
}

#[cfg(test)]
mod proptests {
    //! Property: any JSON (or bytes) as an introspection response is `Some` exactly when
    //! it is a JSON object, never a panic; the typed members do not linger in `extra`.

    use proptest::prelude::*;

    use super::*;
    use crate::client::token::proptests::{body, config, json_object};

    const TYPED: &[&str] = &[
        "active",
        "scope",
        "client_id",
        "username",
        "sub",
        "exp",
        "iat",
        "token_type",
    ];

    fn check(body: &[u8]) -> Result<(), TestCaseError> {
        let parsed = serde_json::from_slice::<Value>(body).ok();
        let got = Introspection::from_json(body);
        prop_assert_eq!(got.is_some(), matches!(parsed, Some(Value::Object(_))));
        let (Some(i), Some(Value::Object(map))) = (got, parsed) else {
            return Ok(());
        };
        for k in TYPED {
            prop_assert!(!i.extra.contains_key(*k), "{} left in extra", k);
        }
        let active = match map.get("active") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => false,
        };
        prop_assert_eq!(i.active, active);
        let user = i.to_user_info();
        prop_assert!(user.email.as_deref().is_none_or(|e| e.contains('@')));
        prop_assert_eq!(user.sub, i.sub.clone().or_else(|| i.username.clone()));
        Ok(())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_body_is_an_introspection_or_none(body in body()) {
            check(&body)?;
        }

        #[test]
        fn any_object_is_an_introspection(map in json_object()) {
            check(&serde_json::to_vec(&map).unwrap())?;
        }
    }
}
