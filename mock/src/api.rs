//! A sliver of each provider's REST API, for testing what a client does with a user's
//! access token: vcita's `GET /platform/v1/businesses/{business_id}` and, in Apicbase
//! mode, `GET /api/v1/library/` (a shape of the mock's own). Both are counted as
//! [`MockEndpoint::Api`] and take `Authorization: Bearer <access token>`.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use super::MockEndpoint;
use super::MockUser;
use super::flavor::Flavor;
use super::request::{json_response, parse_form, record};
use super::state::{Inner, Shared};

/// Counts and records an API request (query parameters as its fields) and applies the
/// faults queued for [`MockEndpoint::Api`].
async fn begin(shared: &Shared, headers: &HeaderMap, query: Option<&str>) -> Option<Response> {
    let fields = parse_form(query.unwrap_or_default().as_bytes()).unwrap_or_default();
    shared
        .begin(MockEndpoint::Api, record(headers, fields), false)
        .await
}

/// An API error in the flavor's shape: vcita's `{"status":"Error",...}` envelope, or
/// Django REST framework's `detail` for Apicbase.
fn api_error(flavor: Flavor, status: StatusCode, error: &str, message: &str) -> Response {
    let body = match flavor {
        Flavor::Vcita => json!({ "status": "Error", "error": error, "message": message }),
        Flavor::Apicbase => json!({ "error": error, "detail": message }),
    };
    json_response(status, &body)
}

/// RFC 6750 §3.1: 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
fn invalid_token(flavor: Flavor, description: &str) -> Response {
    let mut response = api_error(
        flavor,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        description,
    );
    let challenge = format!(r#"Bearer error="invalid_token", error_description="{description}""#);
    if let Ok(value) = challenge.parse() {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The user behind the request's bearer token, as the user is now, or the 401 to send.
#[allow(clippy::result_large_err)] // the error is the handler's answer, returned at once
/// The user of the request's access token: Bearer, or DPoP-bound with a proof for
/// `GET url` (RFC 9449).
fn token_user(inner: &mut Inner, headers: &HeaderMap, url: &str) -> Result<MockUser, Response> {
    let flavor = inner.config.flavor;
    let token = match crate::dpop::resource_token(inner, headers, "GET", url) {
        Ok(token) if !token.is_empty() => token,
        Err("use_dpop_nonce") => return Err(crate::dpop::nonce_challenge()),
        Ok(_) => return Err(invalid_token(flavor, "no bearer token")),
        Err(reason) => return Err(invalid_token(flavor, reason)),
    };
    let token = token.as_str();
    inner
        .active_access(token)
        .and_then(|grant| inner.user(&grant.user))
        .cloned()
        .ok_or_else(|| invalid_token(flavor, "the access token is unknown, revoked or expired"))
}

/// A JSON id as path text: strings as they are, numbers in their JSON spelling.
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `GET /platform/v1/businesses/{business_id}` (vcita): the token user's own business.
pub(crate) async fn business(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(business_id): Path<String>,
    RawQuery(query): RawQuery,
    uri: http::Uri,
) -> Response {
    if let Some(canned) = begin(&shared, &headers, query.as_deref()).await {
        return canned;
    }
    let mut inner = shared.lock();
    let flavor = inner.config.flavor;
    let url = format!("{}{}", shared.base_url, uri.path());
    let user = match token_user(&mut inner, &headers, &url) {
        Ok(user) => user,
        Err(response) => return response,
    };
    let own = user.info.get("business_id");
    if own.and_then(id_text).as_deref() != Some(business_id.as_str()) {
        return api_error(
            flavor,
            StatusCode::FORBIDDEN,
            "forbidden",
            "the access token's user does not belong to this business",
        );
    }
    let id = own.cloned().unwrap_or(Value::Null);
    // The business's owner among the known users, else the caller.
    let owner_email = inner
        .users
        .iter()
        .find(|u| {
            u.info.get("business_id").and_then(id_text).as_deref() == Some(business_id.as_str())
                && u.info.get("role").and_then(Value::as_str) == Some("owner")
        })
        .map_or_else(|| user.email.clone(), |owner| owner.email.clone());
    let field = |name: &str| user.info.get(name).cloned().unwrap_or(Value::Null);
    json_response(
        StatusCode::OK,
        &json!({
            "status": "OK",
            "data": {
                "business": {
                    "id": id,
                    "name": field("business_name"),
                    "brand_host": field("brand_host"),
                    "owner_email": owner_email,
                },
            },
        }),
    )
}

/// `GET /api/v1/library/` (Apicbase mode): the token user's library, in a shape of the
/// mock's own (`{"library":{"id":<sub>,"name":"<email>'s library"}}`).
pub(crate) async fn library(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    uri: http::Uri,
) -> Response {
    if let Some(canned) = begin(&shared, &headers, query.as_deref()).await {
        return canned;
    }
    let mut inner = shared.lock();
    let url = format!("{}{}", shared.base_url, uri.path());
    let user = match token_user(&mut inner, &headers, &url) {
        Ok(user) => user,
        Err(response) => return response,
    };
    json_response(
        StatusCode::OK,
        &json!({
            "library": {
                "id": user.info.get("sub").cloned().unwrap_or(Value::Null),
                "name": format!("{}'s library", user.email),
            },
        }),
    )
}
