//! vcita's app creation endpoint, `POST /platform/v1/apps`: registers an OAuth client.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::request::{authorization_param, json_response, record};
use super::state::{Shared, flatten_json, random_hex};
use super::{MockClient, MockEndpoint};

type Fields = BTreeMap<String, String>;

fn platform_error(status: StatusCode, error: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({ "status": "Error", "error": error, "message": message }),
    )
}

/// `POST /platform/v1/apps`: vcita app creation with a directory token.
pub(crate) async fn register_app(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body);
    let fields = match &parsed {
        Ok(Value::Object(map)) => flatten_json(map),
        _ => Fields::new(),
    };
    if let Some(canned) = shared
        .begin(MockEndpoint::RegisterApp, record(&headers, fields), false)
        .await
    {
        return canned;
    }
    let mut inner = shared.lock();
    let authorized = authorization_param(&headers, "bearer")
        .is_some_and(|t| bool::from(t.as_bytes().ct_eq(inner.config.directory_token.as_bytes())));
    if !authorized {
        return platform_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid directory token is required",
        );
    }
    let Ok(Value::Object(app)) = parsed else {
        return platform_error(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body must be a JSON object",
        );
    };
    let text = |name: &str| {
        app.get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let mut errors = BTreeMap::<&str, Vec<&str>>::new();
    let name = text("name");
    if name.is_none() {
        errors.entry("name").or_default().push("can't be blank");
    }
    let code_name = text("app_code_name");
    match code_name {
        None => errors
            .entry("app_code_name")
            .or_default()
            .push("can't be blank"),
        Some(c)
            if !c
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
        {
            errors
                .entry("app_code_name")
                .or_default()
                .push("may contain only letters, digits, '_' and '-'")
        }
        Some(c) if inner.app_code_names.contains(c) => errors
            .entry("app_code_name")
            .or_default()
            .push("has already been taken"),
        Some(_) => {}
    }
    let redirect_uri = text("redirect_uri");
    match redirect_uri.map(url::Url::parse) {
        None => errors
            .entry("redirect_uri")
            .or_default()
            .push("can't be blank"),
        Some(Ok(u))
            if matches!(u.scheme(), "http" | "https") && u.fragment().is_none() && u.has_host() => {
        }
        Some(_) => errors
            .entry("redirect_uri")
            .or_default()
            .push("must be an absolute http(s) URL without a fragment"),
    }
    let scopes: Option<Vec<String>> = match app.get("scopes") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect(),
        Some(_) => None,
    };
    if scopes.is_none() {
        errors
            .entry("scopes")
            .or_default()
            .push("must be an array of strings");
    }
    let (Some(name), Some(code_name), Some(redirect_uri), Some(scopes), true) =
        (name, code_name, redirect_uri, scopes, errors.is_empty())
    else {
        return json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({ "status": "Error", "errors": errors }),
        );
    };
    let app_id = format!("app-{}", inner.app_code_names.len() + 1);
    let client = MockClient {
        client_id: random_hex()[..32].to_owned(),
        client_secret: random_hex(),
        redirect_uris: vec![redirect_uri.to_owned()],
        trusted: false,
        public_key: None,
    };
    let answer = json!({
        "status": "OK",
        "data": {
            "app_id": app_id,
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "app_code_name": code_name,
            "name": name,
            "redirect_uri": redirect_uri,
            "scopes": scopes,
        }
    });
    inner.app_code_names.insert(code_name.to_owned());
    inner
        .app_names
        .insert(client.client_id.clone(), name.to_owned());
    inner.clients.insert(client.client_id.clone(), client);
    json_response(StatusCode::OK, &answer)
}
