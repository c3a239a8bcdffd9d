//! The claim checks every signed token shares (`iss`, `aud` / `azp`, `exp` / `iat` /
//! `nbf` against the crate's [`Clock`](crate::Clock) with a leeway) and the typed claims
//! of an id_token, [`IdClaims`].

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::JwtError;

/// Clock difference tolerated between the provider and this server, in seconds.
pub(crate) const LEEWAY_SECS: u64 = 60;

/// The claims of a validated id_token (OpenID Connect Core §2, §5.1): the standard ones
/// typed, every other claim in [`extra`](Self::extra).
///
/// Available from [`AuthSession::id_claims`](crate::AuthSession::id_claims) and, at
/// login, [`Login::id_claims`](crate::Login::id_claims). `Debug` shows the issuer,
/// audience and times only: the rest is personal data.
///
/// ```
/// use axum_oauth_login::oidc::IdClaims;
/// let claims: IdClaims = serde_json::from_value(serde_json::json!({
///     "iss": "https://id.example", "sub": "248289761001", "aud": "app",
///     "exp": 1700000600, "iat": 1700000000, "email": "jane@example.com",
///     "email_verified": true, "groups": ["staff"]
/// }))?;
/// assert_eq!(claims.sub, "248289761001");
/// assert_eq!(claims.aud, ["app"]);
/// assert_eq!(claims.email.as_deref(), Some("jane@example.com"));
/// assert_eq!(claims.extra["groups"][0], "staff");
/// assert!(!format!("{claims:?}").contains("jane"));
/// // Optional claims of an odd type do not refuse a login.
/// let odd: IdClaims = serde_json::from_value(serde_json::json!({
///     "iss": "https://id.example", "sub": "1", "aud": ["app"], "exp": 2.5, "iat": 1,
///     "email_verified": "true", "amr": "pwd", "auth_time": 1.5
/// }))?;
/// assert_eq!(odd.email_verified, Some(true));
/// assert_eq!(odd.amr, None);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct IdClaims {
    /// Issuer: the provider.
    pub iss: String,
    /// Subject: the provider's stable id of the user.
    pub sub: String,
    /// Audiences (a single string in the token becomes one element).
    #[serde(deserialize_with = "string_or_list")]
    pub aud: Vec<String>,
    /// Expiry (seconds since the epoch).
    #[serde(deserialize_with = "numeric_date")]
    pub exp: u64,
    /// Issued at (seconds since the epoch).
    #[serde(deserialize_with = "numeric_date")]
    pub iat: u64,
    /// When the user authenticated.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub auth_time: Option<u64>,
    /// The session id at the provider (Front- and Back-Channel Logout).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub sid: Option<String>,
    /// Authorized party: the client the token was issued to.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub azp: Option<String>,
    /// Authentication context class reference.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub acr: Option<String>,
    /// Authentication methods references.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub amr: Option<Vec<String>>,
    /// Email address.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub email: Option<String>,
    /// Whether the provider verified the email address.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "bool_or_text"
    )]
    pub email_verified: Option<bool>,
    /// Full name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub name: Option<String>,
    /// Given name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub family_name: Option<String>,
    /// The name the user goes by at the provider.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub preferred_username: Option<String>,
    /// Profile picture URL.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub picture: Option<String>,
    /// Locale (BCP 47).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub locale: Option<String>,
    /// Every other claim (the `nonce` included), as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for IdClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdClaims")
            .field("iss", &self.iss)
            .field("aud", &self.aud)
            .field("exp", &self.exp)
            .field("iat", &self.iat)
            .finish_non_exhaustive()
    }
}

/// An optional claim of the wrong type (a provider's quirk) is absent rather than a
/// refused login; the checked claims (`iss`, `sub`, `aud`, `exp`, `iat`) stay strict.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Value::deserialize(d)?;
    Ok(T::deserialize(value).ok())
}

/// `email_verified` as a boolean, or as the text `"true"` / `"false"` (Amazon Cognito).
fn bool_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

/// A NumericDate (RFC 7519 §2): whole seconds, fractions rounded down.
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let value = Value::deserialize(d)?;
    value
        .as_u64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        })
        .ok_or_else(|| serde::de::Error::custom("not a NumericDate"))
}

fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// A string claim; `Ok(None)` when absent.
pub(crate) fn string<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, JwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(JwtError::Claim(name, "is not a string")),
    }
}

/// A numeric date claim (whole seconds; fractions rounded down); `Ok(None)` when absent.
pub(crate) fn time(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<u64>, JwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or(JwtError::Claim(name, "is not a time")),
        Some(_) => Err(JwtError::Claim(name, "is not a time")),
    }
}

/// `iss` must be the provider's issuer, exactly.
pub(crate) fn check_issuer(claims: &Map<String, Value>, issuer: &str) -> Result<(), JwtError> {
    match string(claims, "iss")? {
        Some(iss) if iss == issuer => Ok(()),
        Some(_) => Err(JwtError::Claim("iss", "is not the provider's issuer")),
        None => Err(JwtError::Claim("iss", "is missing")),
    }
}

/// The audiences (`aud`, a string or a list of strings).
pub(crate) fn audiences(claims: &Map<String, Value>) -> Result<Vec<&str>, JwtError> {
    match claims.get("aud") {
        Some(Value::String(one)) => Ok(vec![one.as_str()]),
        Some(Value::Array(many)) => many
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or(JwtError::Claim("aud", "is not a string list"))
            })
            .collect(),
        Some(_) => Err(JwtError::Claim("aud", "is not a string list")),
        None => Err(JwtError::Claim("aud", "is missing")),
    }
}

/// `aud` must contain `audience`.
pub(crate) fn check_audience(claims: &Map<String, Value>, audience: &str) -> Result<(), JwtError> {
    if audiences(claims)?.contains(&audience) {
        Ok(())
    } else {
        Err(JwtError::Claim("aud", "does not name this client"))
    }
}

/// The times: `exp` (required unless `exp_optional`) not passed, `iat` (required) not in
/// the future, `nbf` (when present) reached; each with [`LEEWAY_SECS`]. Returns `exp`.
pub(crate) fn check_times(
    claims: &Map<String, Value>,
    now: u64,
    exp_optional: bool,
) -> Result<Option<u64>, JwtError> {
    let exp = time(claims, "exp")?;
    match exp {
        Some(exp) if now >= exp.saturating_add(LEEWAY_SECS) => {
            return Err(JwtError::Claim("exp", "has passed: the token expired"));
        }
        None if !exp_optional => return Err(JwtError::Claim("exp", "is missing")),
        _ => {}
    }
    match time(claims, "iat")? {
        Some(iat) if iat > now.saturating_add(LEEWAY_SECS) => {
            return Err(JwtError::Claim("iat", "is in the future"));
        }
        None => return Err(JwtError::Claim("iat", "is missing")),
        _ => {}
    }
    if let Some(nbf) = time(claims, "nbf")?
        && nbf > now.saturating_add(LEEWAY_SECS)
    {
        return Err(JwtError::Claim("nbf", "is in the future"));
    }
    Ok(exp)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn times_are_checked_with_the_leeway_and_required() {
        let now = 1_000_000;
        let ok = map(json!({"exp": now + 10, "iat": now - 5}));
        assert_eq!(check_times(&ok, now, false), Ok(Some(now + 10)));
        // Expired less than the leeway ago: accepted; more: refused.
        let recent = map(json!({"exp": now - 30, "iat": now - 300}));
        assert!(check_times(&recent, now, false).is_ok());
        let expired = map(json!({"exp": now - LEEWAY_SECS, "iat": now - 300}));
        assert_eq!(
            check_times(&expired, now, false),
            Err(JwtError::Claim("exp", "has passed: the token expired"))
        );
        let future = map(json!({"exp": now + 600, "iat": now + LEEWAY_SECS + 1}));
        assert_eq!(
            check_times(&future, now, false),
            Err(JwtError::Claim("iat", "is in the future"))
        );
        let no_iat = map(json!({"exp": now + 600}));
        assert_eq!(
            check_times(&no_iat, now, false),
            Err(JwtError::Claim("iat", "is missing"))
        );
        let no_exp = map(json!({"iat": now}));
        assert_eq!(
            check_times(&no_exp, now, false),
            Err(JwtError::Claim("exp", "is missing"))
        );
        assert_eq!(check_times(&no_exp, now, true), Ok(None));
        let text = map(json!({"exp": "tomorrow", "iat": now}));
        assert_eq!(
            check_times(&text, now, false),
            Err(JwtError::Claim("exp", "is not a time"))
        );
        let early = map(json!({"exp": now + 600, "iat": now, "nbf": now + 3600}));
        assert_eq!(
            check_times(&early, now, false),
            Err(JwtError::Claim("nbf", "is in the future"))
        );
    }

    #[test]
    fn audience_and_issuer_are_exact() {
        let one = map(json!({"aud": "app", "iss": "https://id.example"}));
        assert!(check_audience(&one, "app").is_ok());
        assert!(check_audience(&one, "ap").is_err());
        let many = map(json!({"aud": ["other", "app"]}));
        assert!(check_audience(&many, "app").is_ok());
        assert!(check_audience(&map(json!({"aud": [1]})), "app").is_err());
        assert!(check_audience(&map(json!({})), "app").is_err());
        assert!(check_issuer(&one, "https://id.example").is_ok());
        assert!(check_issuer(&one, "https://id.example/").is_err());
        assert!(check_issuer(&map(json!({})), "https://id.example").is_err());
    }
}
