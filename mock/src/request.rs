//! Reading a request the way the mock's endpoints do (form or JSON fields, the
//! `Authorization` header), recording it, and the JSON answers they send.

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use crate::state::{Shared, flatten_json};
use crate::{MockEndpoint, RecordedRequest};

pub(crate) type Fields = BTreeMap<String, String>;

/// The media type of a request, lower-cased and without parameters.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    Some(essence.to_ascii_lowercase())
}

fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Parses `application/x-www-form-urlencoded` pairs; a repeated parameter is an error
/// (RFC 6749 §3.1, §3.2).
pub(crate) fn parse_form(bytes: &[u8]) -> Result<Fields, String> {
    let mut fields = Fields::new();
    for (k, v) in url::form_urlencoded::parse(bytes) {
        if fields.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(format!("parameter `{k}` is repeated"));
        }
    }
    Ok(fields)
}

/// Reads body fields from a JSON object or a form, whichever the content type says.
fn read_fields(headers: &HeaderMap, body: &[u8]) -> Result<Fields, String> {
    match media_type(headers).as_deref() {
        Some("application/json") => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(flatten_json(&map)),
            Ok(_) => Err("the JSON body must be an object".into()),
            Err(e) => Err(format!("malformed JSON body: {e}")),
        },
        Some("application/x-www-form-urlencoded") => parse_form(body),
        _ if body.is_empty() => Ok(Fields::new()),
        Some(other) => Err(format!("unsupported Content-Type `{other}`")),
        None => Err("missing Content-Type".into()),
    }
}

pub(crate) fn record(headers: &HeaderMap, fields: Fields) -> RecordedRequest {
    RecordedRequest {
        content_type: header_string(headers, header::CONTENT_TYPE),
        authorization: header_string(headers, header::AUTHORIZATION),
        fields,
        headers: headers.clone(),
    }
}

/// An RFC 6749 §5.2 error body; every token-endpoint answer is `no-store`.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        body.to_string(),
    )
        .into_response()
}

pub(crate) fn with_header(
    mut response: Response,
    name: header::HeaderName,
    value: &str,
) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, v);
    }
    response
}

/// The credentials after `scheme` in the Authorization header (scheme compared
/// case-insensitively; empty when only the scheme is there), if that scheme is used.
pub(crate) fn authorization_param<'h>(headers: &'h HeaderMap, scheme: &str) -> Option<&'h str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (given, rest) = value.split_once(' ').unwrap_or((value, ""));
    given.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// Parses, counts, records and applies faults; then hands the fields on.
pub(crate) async fn begin_with_fields(
    shared: &Shared,
    endpoint: MockEndpoint,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Fields, Response> {
    let parsed = read_fields(headers, body);
    let fields = parsed.clone().unwrap_or_default();
    let is_refresh = endpoint == MockEndpoint::Token
        && fields.get("grant_type").map(String::as_str) == Some("refresh_token");
    if let Some(canned) = shared
        .begin(endpoint, record(headers, fields), is_refresh)
        .await
    {
        return Err(canned);
    }
    parsed.map_err(|e| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &e))
}
