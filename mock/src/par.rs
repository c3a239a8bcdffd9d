//! Pushed authorization requests (RFC 9126): `POST /oauth/par` keeps a client's
//! authorization parameters under a one-time `request_uri`, which the authorize endpoint
//! then takes instead of the parameters.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde_json::json;

use crate::MockEndpoint;
use crate::client_auth::authenticate_client;
use crate::request::{Fields, begin_with_fields, json_response, oauth_error};
use crate::state::{Inner, Shared, random_hex};

/// How long a `request_uri` lives (RFC 9126 §2.2 suggests 5 to 600 s).
const LIFETIME: Duration = Duration::from_secs(60);
const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// One pushed request, kept until used or expired.
#[derive(Debug)]
pub(crate) struct Pushed {
    client_id: String,
    params: Fields,
    expires: SystemTime,
}

/// `POST /oauth/par`: client authentication as at the token endpoint, then `201` with
/// the `request_uri`.
pub(crate) async fn push(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = match begin_with_fields(&shared, MockEndpoint::Par, &headers, &body).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let mut inner = shared.lock();
    let client_id = match authenticate_client(&mut inner, &shared.base_url, &headers, &fields) {
        Ok(id) => id,
        Err(rejection) => return rejection.into_response(),
    };
    let bad = |description| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description);
    if fields.contains_key("request_uri") {
        return bad("request_uri must not be pushed (RFC 9126 §2.1)");
    }
    if fields.get("response_type").map(String::as_str) != Some("code") {
        return bad("response_type must be code");
    }
    // What the authorize endpoint will read: the parameters without client credentials.
    let params: Fields = fields
        .into_iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "client_secret" | "client_assertion" | "client_assertion_type"
            )
        })
        .collect();
    let request_uri = format!("{PREFIX}{}", random_hex());
    let expires = inner.now() + LIFETIME;
    inner.pushed.insert(
        request_uri.clone(),
        Pushed {
            client_id,
            params,
            expires,
        },
    );
    let answer = json!({"request_uri": request_uri, "expires_in": LIFETIME.as_secs()});
    json_response(StatusCode::CREATED, &answer)
}

/// The parameters the authorize endpoint acts on: a pushed request's (its `request_uri`
/// used up), or the query's own when none was pushed and pushing is not required.
pub(crate) fn resolve(inner: &mut Inner, query: Fields) -> Result<Fields, &'static str> {
    let Some(request_uri) = query.get("request_uri") else {
        if inner.config.require_par {
            return Err("this server takes only pushed authorization requests (RFC 9126)");
        }
        return Ok(query);
    };
    let pushed = inner
        .pushed
        .remove(request_uri)
        .ok_or("unknown or already used request_uri")?;
    if query.get("client_id") != Some(&pushed.client_id) {
        return Err("the client_id is not the one that pushed the request");
    }
    if pushed.expires <= inner.now() {
        return Err("the request_uri has expired");
    }
    Ok(pushed.params)
}
