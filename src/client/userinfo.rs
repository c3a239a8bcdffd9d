//! The user a token belongs to, as the provider describes it.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

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
    /// A name to greet the user with: the business name, else the email, else the subject,
    /// else `"user"`.
    pub fn display_name(&self) -> &str {
        [&self.business_name, &self.email, &self.sub]
            .into_iter()
            .flatten()
            .find(|s| !s.is_empty())
            .map_or("user", String::as_str)
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
        assert_eq!(UserInfo::default().display_name(), "user");
    }
}
