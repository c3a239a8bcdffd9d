//! Reading vcita's answers: the registered app, validation errors, and text from the
//! server made safe to print.

use serde_json::{Map, Value};

use super::{AppRegistration, FieldErrors, RegisteredApp};
use crate::secret::ClientSecret;
use crate::transport::{Endpoint, OAuthError, error_response};

/// Reads `{"status":"OK","data":{..}}` (a bare object with the same members is
/// accepted). Lenient except for the credentials: the secret is shown only once, so a
/// missing `app_id` or `app_code_name` must not lose it.
pub(super) fn registered_app(
    status: u16,
    body: &[u8],
    requested: &AppRegistration,
) -> Result<RegisteredApp, OAuthError> {
    let malformed = |reason: &str| OAuthError::Malformed {
        endpoint: Endpoint::Api,
        status,
        reason: reason.to_owned(),
        excerpt: None,
    };
    let Ok(Value::Object(mut top)) = serde_json::from_slice::<Value>(body) else {
        return Err(malformed("the body is not a JSON object"));
    };
    let mut data = match top.remove("data") {
        Some(Value::Object(data)) => data,
        _ => top,
    };
    let client_id = take_text(&mut data, "client_id")
        .ok_or_else(|| malformed("`data.client_id` is missing or not a string"))?;
    let client_secret = take_text(&mut data, "client_secret")
        .ok_or_else(|| malformed("`data.client_secret` is missing or not a string"))?;
    Ok(RegisteredApp {
        app_id: take_text(&mut data, "app_id").unwrap_or_default(),
        client_id,
        client_secret: ClientSecret::new(client_secret),
        app_code_name: take_text(&mut data, "app_code_name")
            .unwrap_or_else(|| requested.app_code_name.clone()),
        extra: data,
    })
}

/// Removes `key` and returns it as text when it is a non-empty string or a number.
fn take_text(map: &mut Map<String, Value>, key: &str) -> Option<String> {
    match map.remove(key)? {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Most fields and messages kept from an error body.
const MAX_MESSAGES: usize = 32;

/// The field errors of a 400/422 body: `errors` as `{field: [messages]}` or
/// `{field: message}`, as `[message]` or `[{field, message}]`, else a top-level
/// `message` (under `base`). `None` when the body names none.
pub(super) fn validation_errors(body: &[u8], token: &str) -> Option<FieldErrors> {
    let Ok(Value::Object(top)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let mut found: Vec<(&str, &str)> = Vec::new();
    match top.get("errors") {
        Some(Value::Object(fields)) => {
            for (field, messages) in fields {
                match messages {
                    Value::String(m) => found.push((field, m)),
                    Value::Array(items) => {
                        found.extend(
                            items
                                .iter()
                                .filter_map(Value::as_str)
                                .map(|m| (&**field, m)),
                        );
                    }
                    _ => {}
                }
            }
        }
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(m) => found.push(("base", m)),
                    Value::Object(o) => {
                        let text = |k: &str| o.get(k).and_then(Value::as_str);
                        if let Some(m) = text("message").or_else(|| text("error")) {
                            found.push((text("field").unwrap_or("base"), m));
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    if found.is_empty()
        && let Some(m) = top.get("message").and_then(Value::as_str)
    {
        found.push(("base", m));
    }
    let mut errors = FieldErrors::new();
    for (field, message) in found.into_iter().take(MAX_MESSAGES) {
        let field = clean(field, 64, Some(token));
        let field = if field.is_empty() {
            "base".into()
        } else {
            field
        };
        errors
            .entry(field)
            .or_default()
            .push(clean(message, 200, Some(token)));
    }
    (!errors.is_empty()).then_some(errors)
}

/// Provider text fit for a terminal or log: no control characters, at most `max`
/// characters, and the directory token masked should the server echo it.
pub(super) fn clean(text: &str, max: usize, token: Option<&str>) -> String {
    let text = match token.map(str::trim).filter(|t| !t.is_empty()) {
        Some(token) => text.replace(token, "[redacted]"),
        None => text.to_owned(),
    };
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// A failed answer as an [`OAuthError`], with the directory token masked in the text
/// taken from the body: the excerpt masks only long token-like runs, and a short token
/// echoed by an error page would slip through.
pub(super) fn api_error(status: u16, body: &[u8], token: &str) -> OAuthError {
    let mut error = error_response(Endpoint::Api, status, body);
    if let OAuthError::Malformed {
        excerpt: Some(text),
        ..
    }
    | OAuthError::Provider {
        description: Some(text),
        ..
    } = &mut error
    {
        *text = clean(text, usize::MAX, Some(token));
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_in_several_shapes() {
        let t = "tok-123";
        let e = validation_errors(
            br#"{"errors":{"app_code_name":["has already been taken"],"name":"bad"}}"#,
            t,
        )
        .unwrap();
        assert_eq!(e["app_code_name"], ["has already been taken"]);
        assert_eq!(e["name"], ["bad"]);
        let e = validation_errors(
            br#"{"errors":["nope",{"field":"redirect_uri","message":"bad tok-123"}]}"#,
            t,
        )
        .unwrap();
        assert_eq!(e["base"], ["nope"]);
        assert_eq!(e["redirect_uri"], ["bad [redacted]"]);
        let e = validation_errors(b"{\"message\":\"no\\u0007pe\"}", t).unwrap();
        assert_eq!(e["base"], ["nope"]);
        assert!(validation_errors(b"<html>", t).is_none());
        assert!(validation_errors(br#"{"errors":{}}"#, t).is_none());
    }

    #[test]
    fn success_bodies_are_read_leniently() {
        let app = AppRegistration::new("x", "fallback", "https://a.example/cb");
        let r = registered_app(200, br#"{"status":"OK","data":{"app_id":7,"client_id":"c","client_secret":"s","name":"x"}}"#, &app).unwrap();
        assert_eq!(
            (r.app_id.as_str(), r.app_code_name.as_str()),
            ("7", "fallback")
        );
        assert_eq!(r.client_secret.secret(), "s");
        assert!(r.extra.contains_key("name"));
        let e =
            registered_app(200, br#"{"status":"OK","data":{"client_id":"c"}}"#, &app).unwrap_err();
        assert!(e.to_string().contains("client_secret"));
        assert!(registered_app(200, b"[]", &app).is_err());
    }
}
