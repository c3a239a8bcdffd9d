//! The OAuth API endpoints: token, userinfo, introspection and revocation.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::MockEndpoint;
use crate::client_auth::authenticate_client;
use crate::flavor::Flavor;
use crate::request::{
    Fields, begin_with_fields, json_response, media_type, oauth_error, record, with_header,
};
use crate::state::{AccessGrant, Inner, Shared, later, unix_secs};

/// The `token` field of an introspection or revocation request (RFC 7662 §2.1,
/// RFC 7009 §2.1), or the `invalid_request` answer when it is missing.
#[allow(clippy::result_large_err)] // the error is the handler's answer, returned at once
fn required_token(fields: &Fields) -> Result<&String, Response> {
    fields.get("token").ok_or_else(|| {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        )
    })
}

/// `POST /oauth/token` (Apicbase: `/oauth/token/`).
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = match begin_with_fields(&shared, MockEndpoint::Token, &headers, &body).await {
        Ok(fields) => token_response(&mut shared.lock(), &shared.base_url, &headers, &fields),
        Err(response) => return response,
    };
    // Issued, and held: the tokens exist at the provider while the client waits.
    let held = shared
        .lock()
        .traffic(MockEndpoint::Token)
        .answer_delays
        .pop_front();
    if let Some(delay) = held {
        tokio::time::sleep(delay).await;
    }
    response
}

fn token_response(
    inner: &mut Inner,
    issuer: &str,
    headers: &HeaderMap,
    fields: &Fields,
) -> Response {
    let is_json = media_type(headers).as_deref() == Some("application/json");
    if !is_json && !inner.config.accept_form {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the token endpoint accepts only application/json bodies",
        );
    }
    if is_json && !inner.config.accept_json {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the token endpoint accepts only application/x-www-form-urlencoded bodies",
        );
    }
    let client_id = match authenticate_client(inner, issuer, headers, fields) {
        Ok(id) => id,
        Err(rejection) => return rejection.into_response(),
    };
    // A proof binds the tokens to its key (RFC 9449 §5); none: Bearer tokens.
    let bound = if headers.contains_key("dpop") {
        let url = format!("{issuer}{}", inner.config.flavor.paths().token);
        match crate::dpop::check(inner, headers, "POST", &url, None) {
            Ok(jkt) => Some(jkt),
            Err(crate::dpop::Refusal::NeedsNonce) => {
                let refusal = oauth_error(
                    StatusCode::BAD_REQUEST,
                    "use_dpop_nonce",
                    "a nonce is required",
                );
                return with_header(
                    refusal,
                    header::HeaderName::from_static("dpop-nonce"),
                    crate::dpop::NONCE,
                );
            }
            Err(crate::dpop::Refusal::Invalid(reason)) => {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof", reason);
            }
        }
    } else {
        None
    };
    let result = match fields.get("grant_type").map(String::as_str) {
        None => Err(("invalid_request", "grant_type is required".to_owned())),
        Some("authorization_code") => exchange_code(inner, &client_id, fields),
        Some("refresh_token") => refresh(inner, &client_id, fields),
        Some(_) => Err((
            "unsupported_grant_type",
            "only authorization_code and refresh_token are supported".to_owned(),
        )),
    };
    match result {
        Ok(mut body) => {
            if let Some(jkt) = bound {
                let token = body["access_token"].as_str().unwrap_or_default().to_owned();
                if let Some(grant) = inner.access.get_mut(&token) {
                    grant.dpop_jkt = Some(jkt);
                }
                body["token_type"] = json!("DPoP");
            }
            json_response(StatusCode::OK, &body)
        }
        Err((error, description)) => oauth_error(StatusCode::BAD_REQUEST, error, &description),
    }
}

type GrantResult = Result<Value, (&'static str, String)>;

fn exchange_code(inner: &mut Inner, client_id: &str, fields: &Fields) -> GrantResult {
    let Some(code) = fields.get("code") else {
        return Err(("invalid_request", "code is required".into()));
    };
    let now = inner.now();
    let Some(grant) = inner.codes.get_mut(code) else {
        return Err(("invalid_grant", "unknown code".into()));
    };
    if grant.used {
        inner.revoke_issued_for_code(code);
        return Err(("invalid_grant", "code already used".into()));
    }
    // Consumed now, whatever the checks below decide: codes are single-use.
    grant.used = true;
    if now >= later(grant.issued_at, grant.lifetime) {
        return Err(("invalid_grant", "code expired".into()));
    }
    let request = grant.request.clone();
    let user = grant.user.clone();
    if request.client_id != client_id {
        return Err(("invalid_grant", "code was issued to another client".into()));
    }
    match (fields.get("redirect_uri"), &request.redirect_uri) {
        // A copy-the-code code: the token request must not name a redirect URI either.
        (Some(_), None) => {
            return Err((
                "invalid_grant",
                "redirect_uri mismatch: the code was issued without one".into(),
            ));
        }
        (Some(uri), Some(issued)) if uri != issued => {
            return Err(("invalid_grant", "redirect_uri mismatch".into()));
        }
        (None, _) if request.redirect_uri_given => {
            return Err(("invalid_request", "redirect_uri is required".into()));
        }
        _ => {}
    }
    if let Some(challenge) = &request.code_challenge {
        let verified = fields.get("code_verifier").is_some_and(|verifier| {
            let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            bool::from(digest.as_bytes().ct_eq(challenge.as_bytes()))
        });
        if !verified {
            return Err(("invalid_grant", "PKCE verification failed".into()));
        }
    }
    Ok(inner.issue_tokens(client_id, &user, request.scope, Some(code.clone()), None))
}

fn refresh(inner: &mut Inner, client_id: &str, fields: &Fields) -> GrantResult {
    let Some(token) = fields.get("refresh_token") else {
        return Err(("invalid_request", "refresh_token is required".into()));
    };
    let Some(grant) = inner.refresh.get(token) else {
        return Err(("invalid_grant", "unknown or revoked refresh token".into()));
    };
    if grant.client_id != client_id {
        return Err((
            "invalid_grant",
            "refresh token was issued to another client".into(),
        ));
    }
    let scope = grant.scope.clone();
    // Refreshed tokens are for the same user.
    let user = grant.user.clone();
    if inner.config.rotate_refresh_tokens {
        // The old refresh token stops working; access tokens it produced stay valid.
        inner.refresh.remove(token);
        Ok(inner.issue_tokens(client_id, &user, scope, None, None))
    } else {
        Ok(inner.issue_tokens(client_id, &user, scope, None, Some(token.clone())))
    }
}

fn invalid_token(description: &str) -> Response {
    with_header(
        oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", description),
        header::WWW_AUTHENTICATE,
        &format!(
            r#"Bearer realm="vcita-mock", error="invalid_token", error_description="{description}""#
        ),
    )
}

/// `GET /oauth/userinfo`.
pub(crate) async fn userinfo(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: http::Uri,
) -> Response {
    if let Some(canned) = shared
        .begin(
            MockEndpoint::Userinfo,
            record(&headers, Fields::new()),
            false,
        )
        .await
    {
        return canned;
    }
    // The user's info as it is now: `set_user_info` shows on the next answer.
    let info = {
        let mut inner = shared.lock();
        let url = format!("{}{}", shared.base_url, uri.path());
        let token = match crate::dpop::resource_token(&mut inner, &headers, "GET", &url) {
            Ok(token) => token,
            Err("use_dpop_nonce") => return crate::dpop::nonce_challenge(),
            Err(reason) => return invalid_token(reason),
        };
        let token = token.as_str();
        inner
            .active_access(token)
            .and_then(|g| inner.user(&g.user))
            .map(|u| u.info.clone())
    };
    match info {
        Some(info) => json_response(StatusCode::OK, &info),
        None => invalid_token("the access token is unknown, revoked or expired"),
    }
}

/// `POST /oauth/introspect` (RFC 7662; Apicbase: `/oauth/introspect/`).
pub(crate) async fn introspect(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = match begin_with_fields(&shared, MockEndpoint::Introspect, &headers, &body).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let mut inner = shared.lock();
    let client_id = match authenticate_client(&mut inner, &shared.base_url, &headers, &fields) {
        Ok(id) => id,
        Err(rejection) => return rejection.into_response(),
    };
    let token = match required_token(&fields) {
        Ok(token) => token,
        Err(response) => return response,
    };
    let mut answer = match inner.config.flavor {
        Flavor::Vcita => vcita_introspection(&inner, &client_id, token),
        Flavor::Apicbase => apicbase_introspection(&inner, &client_id, token),
    };
    // RFC 9449 §6.2: a bound token's key, for resource servers that introspect.
    let jkt = own_access(&inner, &client_id, token).and_then(|g| g.dpop_jkt.clone());
    if let (Some(jkt), true) = (jkt, answer["active"] == json!(true)) {
        answer["cnf"] = json!({ "jkt": jkt });
    }
    json_response(StatusCode::OK, &answer)
}

/// RFC 7662 with vcita-mock extras (`iat`, `token_type`, `sub`); refresh tokens too.
/// `username` and `sub` are those of the user the token was issued for, as they are now.
fn vcita_introspection(inner: &Inner, client_id: &str, token: &str) -> Value {
    // Like Apicbase: a token is only active for the client it was issued to.
    let (mut answer, user, scope) = if let Some(g) = own_access(inner, client_id, token) {
        let answer = json!({
            "active": true,
            "exp": unix_secs(g.expires_at()),
            "iat": unix_secs(g.issued_at),
            "client_id": g.client_id,
            "token_type": "access_token",
        });
        (answer, &g.user, &g.scope)
    } else if let Some(g) = inner
        .refresh
        .get(token)
        .filter(|g| g.client_id == client_id)
    {
        let answer = json!({
            "active": true,
            "client_id": g.client_id,
            "token_type": "refresh_token",
        });
        (answer, &g.user, &g.scope)
    } else {
        return json!({ "active": false });
    };
    let Some(user) = inner.user(user) else {
        return json!({ "active": false });
    };
    answer["username"] = json!(user.email);
    if let Some(scope) = scope {
        answer["scope"] = json!(scope);
    }
    if let Some(sub) = user.info.get("sub") {
        answer["sub"] = sub.clone();
    }
    answer
}

/// Exactly Apicbase's documented answer: access tokens of the asking client only.
fn apicbase_introspection(inner: &Inner, client_id: &str, token: &str) -> Value {
    let grant = own_access(inner, client_id, token);
    match grant.and_then(|g| Some((g, inner.user(&g.user)?))) {
        Some((g, user)) => json!({
            "active": true,
            "scope": g.scope.clone().unwrap_or_default(),
            "exp": unix_secs(g.expires_at()),
            "client_id": g.client_id,
            "username": user.email,
        }),
        None => json!({ "active": false }),
    }
}

fn own_access<'a>(inner: &'a Inner, client_id: &str, token: &str) -> Option<&'a AccessGrant> {
    inner
        .active_access(token)
        .filter(|g| g.client_id == client_id)
}

/// `POST /oauth/revoke` (RFC 7009; Apicbase mode: `/oauth/revoke/`).
pub(crate) async fn revoke(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = match begin_with_fields(&shared, MockEndpoint::Revoke, &headers, &body).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let mut inner = shared.lock();
    let client_id = match authenticate_client(&mut inner, &shared.base_url, &headers, &fields) {
        Ok(id) => id,
        Err(rejection) => return rejection.into_response(),
    };
    let token = match required_token(&fields) {
        Ok(token) => token,
        Err(response) => return response,
    };
    // Tokens of other clients are left alone; unknown tokens are not an error (§2.2).
    if inner
        .access
        .get(token)
        .is_some_and(|g| g.client_id == client_id)
    {
        inner.access.remove(token);
    }
    if inner
        .refresh
        .get(token)
        .is_some_and(|g| g.client_id == client_id)
    {
        inner.revoke_refresh(token);
    }
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response()
}

/// Anything else: a JSON 404.
pub(crate) async fn not_found() -> Response {
    oauth_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint on the mock provider",
    )
}
