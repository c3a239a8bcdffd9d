//! The user a token belongs to, as the provider describes it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// A type that reads **the provider's** description of a user: the userinfo (or
/// introspection) answer, as the provider gives it *now*. [`BearerUser<U>`] and guard
/// predicates ([`OAuth::require`]) take such a type; the login hook's user type — what
/// [`AuthSession<U>`] hands back — is another kind, and the compiler keeps them apart:
///
/// ```compile_fail
/// // The app's own user (made by the login hook) is not the provider's answer:
/// #[derive(serde::Deserialize)]
/// struct AppUser { id: u64 }
/// async fn handler(user: axum_oauth_login::BearerUser<AppUser>) {} // error: not a ProviderUser
/// ```
///
/// Implemented for [`UserInfo`] (vcita's fields) and `serde_json::Value`; declare your
/// own type of the provider's fields with one line:
///
/// ```
/// use axum_oauth_login::{BearerUser, ProviderUser};
/// #[derive(serde::Deserialize)]
/// struct VcitaProfile { sub: String, role: Option<String> }
/// impl ProviderUser for VcitaProfile {}
/// async fn handler(user: BearerUser<VcitaProfile>) -> String { user.info().sub.clone() }
/// ```
///
/// **Why a Bearer caller gets the provider's user, not the app's:** the login hook runs
/// once per login — it may refuse the login, create the app's records and is handed the
/// refresh token — while a Bearer token is not a login: running the hook for every new
/// API token would log in whoever holds one. A handler that needs the app's user for a
/// Bearer caller looks it up by the provider's `sub` ([`BearerUser::info`]).
///
/// [`BearerUser<U>`]: crate::BearerUser
/// [`BearerUser::info`]: crate::BearerUser::info
/// [`AuthSession<U>`]: crate::AuthSession
/// [`OAuth::require`]: crate::OAuth::require
pub trait ProviderUser: DeserializeOwned + Send + Sync + 'static {}

impl ProviderUser for UserInfo {}
impl ProviderUser for Value {}

/// The user behind a token: vcita's userinfo fields typed, everything else kept in
/// [`extra`](UserInfo::extra).
///
/// Every field is optional because providers differ (a custom provider may send only
/// `sub`); identifiers sent as numbers are read as strings.
///
/// ```
/// use axum_oauth_login::UserInfo;
/// let info: UserInfo = serde_json::from_str(r##"{
///     "sub": 1001, "type": "staff", "role": "owner", "email": "owner@example.com",
///     "business_name": "Demo Salon", "brand_theme": {"primary_color": "#1a73e8"}
/// }"##).unwrap();
/// assert_eq!(info.sub.as_deref(), Some("1001"));
/// assert_eq!(info.display_name(), "Demo Salon");
/// assert!(info.extra.contains_key("brand_theme"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    /// Subject: the provider's stable user id.
    #[serde(
        default,
        deserialize_with = "string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub sub: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// vcita: the user's role in the business (`owner`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// vcita: the kind of user (`staff`, ...).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// vcita: the business id.
    #[serde(
        default,
        deserialize_with = "string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub business_id: Option<String>,
    /// vcita: the business uid.
    #[serde(
        default,
        deserialize_with = "string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub business_uid: Option<String>,
    /// vcita: the business name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_name: Option<String>,
    /// vcita: the directory the business belongs to.
    #[serde(
        default,
        deserialize_with = "string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub directory_uid: Option<String>,
    /// vcita: the brand host the user logs in on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_host: Option<String>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl UserInfo {
    /// A name to greet the user with: the business name (vcita), else the standard
    /// `name` claim (OpenID Connect), else the email, else the subject, else `"user"`.
    pub fn display_name(&self) -> &str {
        let name = self.extra.get("name").and_then(Value::as_str);
        [
            self.business_name.as_deref(),
            name,
            self.email.as_deref(),
            self.sub.as_deref(),
        ]
        .into_iter()
        .flatten()
        .find(|s| !s.is_empty())
        .unwrap_or("user")
    }
}

/// A user's id (`sub`) in a JSON answer: a string, or a number as vcita sends it.
pub(crate) fn subject_of(user: &Value) -> Option<String> {
    match user.get("sub")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let json = r##"{"sub":"u1","type":"staff","brand_theme":{"c":"#fff"},"new_field":[1,2]}"##;
        let info: UserInfo = serde_json::from_str(json).unwrap();
        assert_eq!(info.user_type.as_deref(), Some("staff"));
        let back: Value = serde_json::to_value(&info).unwrap();
        assert_eq!(back["type"], "staff");
        assert_eq!(back["brand_theme"]["c"], "#fff");
        assert_eq!(back["new_field"][1], 2);
    }

    #[test]
    fn display_name_falls_back() {
        let mut info = UserInfo {
            sub: Some("u1".into()),
            ..Default::default()
        };
        assert_eq!(info.display_name(), "u1");
        info.email = Some("a@b.c".into());
        assert_eq!(info.display_name(), "a@b.c");
        info.extra.insert("name".into(), "Ada".into());
        assert_eq!(info.display_name(), "Ada");
        info.business_name = Some("Ada's Salon".into());
        assert_eq!(info.display_name(), "Ada's Salon");
        assert_eq!(UserInfo::default().display_name(), "user");
    }
}

#[cfg(test)]
mod proptests {
    //! Property: any JSON (or bytes) as a userinfo response is `Ok` or `Err`, never a
    //! panic; an `Ok` survives a serde round trip, and string-or-number ids are read.

    use proptest::prelude::*;

    use super::*;
    use crate::client::token::proptests::{body, config, json_object, json_value};

    /// Members typed as strings (a number there is an error).
    const STRINGS: &[&str] = &["email", "role", "type", "business_name", "brand_host"];
    /// Members read as a string or a number (anything else is `None`).
    const IDS: &[&str] = &["sub", "business_id", "business_uid", "directory_uid"];

    fn round_trips(info: &UserInfo) -> Result<(), TestCaseError> {
        let value = serde_json::to_value(info).unwrap();
        let back: UserInfo = serde_json::from_value(value)
            .map_err(|e| TestCaseError::fail(format!("round trip: {e}")))?;
        prop_assert_eq!(&back, info);
        let _ = info.display_name();
        Ok(())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_value_is_ok_or_err(value in json_value()) {
            if let Ok(info) = serde_json::from_value::<UserInfo>(value) {
                round_trips(&info)?;
            }
        }

        #[test]
        fn any_body_is_ok_or_err(body in body()) {
            if let Ok(info) = serde_json::from_slice::<UserInfo>(&body) {
                round_trips(&info)?;
            }
        }

        /// An object is accepted exactly when its string members are strings (or null),
        /// and its ids are kept when they are strings or numbers.
        #[test]
        fn objects_are_read_as_documented(map in json_object()) {
            let strings_ok = STRINGS
                .iter()
                .all(|k| matches!(map.get(*k), None | Some(Value::Null | Value::String(_))));
            let got = serde_json::from_value::<UserInfo>(Value::Object(map.clone()));
            prop_assert_eq!(got.is_ok(), strings_ok, "{:?}", got);
            if let Ok(info) = got {
                for (k, id) in IDS.iter().zip([
                    &info.sub,
                    &info.business_id,
                    &info.business_uid,
                    &info.directory_uid,
                ]) {
                    let expected = match map.get(*k) {
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(Value::Number(n)) => Some(n.to_string()),
                        _ => None,
                    };
                    prop_assert_eq!(id, &expected, "{}", k);
                }
                for k in STRINGS.iter().chain(IDS) {
                    prop_assert!(!info.extra.contains_key(*k), "{} left in extra", k);
                }
                round_trips(&info)?;
            }
        }
    }
}
