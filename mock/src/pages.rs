//! The browser side: `GET /app/oauth/authorize` (Apicbase: `/oauth/authorize/`), the
//! login form, the consent page and, for requests without a redirect URI in Apicbase
//! mode, the copy-the-code page. The forms post to the flavor's paths.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use url::{Host, Url};

use super::flavor::Flavor;
use super::request::{Fields, parse_form, record};
use super::state::{Inner, PendingAuthorization, Shared, random_base64url};
use super::{MockClient, MockEndpoint};

/// The login session cookie of the mock's "browser" side.
pub(crate) const SESSION_COOKIE: &str = "mock_session";
/// The hidden field carrying the id of the pending authorization request.
pub(crate) const REQUEST_FIELD: &str = "request";

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title} - vcita mock</title>\n</head>\n<body>\n<h1>{title}</h1>\n{body}\n</body>\n</html>\n",
        title = escape(title),
    );
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        Html(html),
    )
        .into_response()
}

fn error_page(message: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Authorization error",
        &format!("<p id=\"error\">{}</p>", escape(message)),
    )
}

fn client_label(inner: &Inner, client_id: &str) -> String {
    match inner.app_names.get(client_id) {
        Some(name) => format!("{} ({})", escape(name), escape(client_id)),
        None => escape(client_id),
    }
}

fn login_page(inner: &Inner, request_id: &str, error: Option<&str>) -> Response {
    let client_id = inner
        .pending
        .get(request_id)
        .map(|p| p.client_id.as_str())
        .unwrap_or_default();
    let error = error
        .map(|e| format!("<p id=\"error\" role=\"alert\">{}</p>\n", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<p>Log in to continue to <strong id=\"client\">{client}</strong>.</p>\n{error}\
         <form method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"{REQUEST_FIELD}\" value=\"{request}\">\n\
         <label>Email <input type=\"email\" name=\"email\" autocomplete=\"username\" required></label>\n\
         <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\n\
         <button type=\"submit\" id=\"login\">Log in</button>\n</form>",
        client = client_label(inner, client_id),
        request = escape(request_id),
        action = inner.config.flavor.paths().login,
    );
    page(StatusCode::OK, "Log in", &body)
}

fn consent_page(inner: &Inner, request_id: &str, request: &PendingAuthorization) -> Response {
    let scope = request
        .scope
        .as_deref()
        .map(|s| format!("<p>Scopes: <code id=\"scope\">{}</code></p>\n", escape(s)))
        .unwrap_or_default();
    let body = format!(
        "<p><strong id=\"client\">{client}</strong> wants to access your account.</p>\n{scope}\
         <form method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"{REQUEST_FIELD}\" value=\"{request}\">\n\
         <button type=\"submit\" name=\"decision\" value=\"allow\" id=\"allow\">Allow</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button>\n</form>",
        client = client_label(inner, &request.client_id),
        request = escape(request_id),
        action = inner.config.flavor.paths().consent,
    );
    page(StatusCode::OK, "Authorize access", &body)
}

/// The copy-the-code answer, for a request without a redirect URI: a page showing the
/// code in `<code id="authorization-code">` (or, with a 400, the error in
/// `<code id="error">`) and the state in `<code id="state">`, like the page Apicbase
/// shows apps with no redirect URL configured.
fn code_page(inner: &Inner, request: &PendingAuthorization, params: &[(&str, &str)]) -> Response {
    let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let state = request
        .state
        .as_deref()
        .map(|s| format!("<p>State: <code id=\"state\">{}</code></p>\n", escape(s)))
        .unwrap_or_default();
    if let Some(code) = param("code") {
        let body = format!(
            "<p>Copy this authorization code into <strong id=\"client\">{client}</strong>. \
             It can be used once, within {lifetime} seconds.</p>\n\
             <p><code id=\"authorization-code\">{code}</code></p>\n{state}",
            client = client_label(inner, &request.client_id),
            lifetime = inner.config.code_lifetime.as_secs(),
            code = escape(code),
        );
        return page(StatusCode::OK, "Authorization code", &body);
    }
    let body = format!(
        "<p>The authorization failed: <code id=\"error\">{error}</code></p>\n\
         <p id=\"error-description\">{description}</p>\n{state}",
        error = escape(param("error").unwrap_or("server_error")),
        description = escape(param("error_description").unwrap_or_default()),
    );
    page(StatusCode::BAD_REQUEST, "Authorization failed", &body)
}

/// A 302 to the client's redirect URI with `params` appended to its query (existing
/// parameters kept), plus `state` and, when configured, `iss` (RFC 9207). Without a
/// redirect URI (copy-the-code), the [`code_page`] instead.
fn redirect_back(
    inner: &Inner,
    issuer: &str,
    request: &PendingAuthorization,
    params: &[(&str, &str)],
) -> Response {
    let Some(redirect_uri) = &request.redirect_uri else {
        return code_page(inner, request, params);
    };
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return error_page("the redirect_uri is not a valid URL");
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        if let Some(state) = &request.state {
            query.append_pair("state", state);
        }
        if inner.config.iss_in_redirect {
            query.append_pair("iss", issuer);
        }
    }
    match HeaderValue::from_str(url.as_str()) {
        Ok(location) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => error_page("the redirect_uri cannot be used in a Location header"),
    }
}

/// Redirects back with a code for `request`, approved by the user logged in as `user`.
fn approve(
    inner: &mut Inner,
    issuer: &str,
    request: PendingAuthorization,
    user: String,
) -> Response {
    let code = inner.issue_code(request.clone(), user);
    redirect_back(inner, issuer, &request, &[("code", &code)])
}

/// Whether `uri` may be used with `client`: an exact match with a registered URI, or
/// any loopback `http` URI when the client registered none.
fn redirect_allowed(client: &MockClient, uri: &str) -> bool {
    let Ok(url) = Url::parse(uri) else {
        return false;
    };
    if url.fragment().is_some() {
        return false;
    }
    if !client.redirect_uris.is_empty() {
        return client.redirect_uris.iter().any(|r| r == uri);
    }
    url.scheme() == "http"
        && match url.host() {
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
}

/// RFC 7636 §4.2: 43 to 128 unreserved characters.
fn valid_challenge(challenge: &str) -> bool {
    (43..=128).contains(&challenge.len())
        && challenge
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
}

/// `GET /app/oauth/authorize` (also `/oauth/authorize`; Apicbase: `/oauth/authorize/`).
pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let parsed = parse_form(query.unwrap_or_default().as_bytes());
    let recorded = record(&headers, parsed.clone().unwrap_or_default());
    if let Some(canned) = shared.begin(MockEndpoint::Authorize, recorded, false).await {
        return canned;
    }
    let params = match parsed {
        Ok(params) => params,
        Err(e) => return error_page(&e),
    };
    let mut inner = shared.lock();
    let params = match crate::par::resolve(&mut inner, params) {
        Ok(params) => params,
        Err(e) => return error_page(e),
    };
    // Until client and redirect URI are known good, errors are shown, never redirected
    // (RFC 6749 §4.1.2.1), so the mock cannot be used as an open redirector.
    let Some(client) = params
        .get("client_id")
        .and_then(|id| inner.clients.get(id))
        .cloned()
    else {
        return error_page("unknown client_id");
    };
    let (redirect_uri, redirect_uri_given) = match params.get("redirect_uri") {
        Some(uri) if redirect_allowed(&client, uri) => (Some(uri.clone()), true),
        Some(_) => return error_page("the redirect_uri is not registered for this client"),
        None => match (client.redirect_uris.as_slice(), inner.config.flavor) {
            ([only], _) => (Some(only.clone()), false),
            // Apicbase: "if your application has no redirect URL configured, you'll be
            // redirected to an Apicbase page from where you can copy the authorization
            // code". vcita has no such page.
            ([], Flavor::Apicbase) => (None, false),
            _ => return error_page("redirect_uri is required"),
        },
    };
    let request = PendingAuthorization {
        client_id: client.client_id.clone(),
        redirect_uri,
        redirect_uri_given,
        state: params.get("state").cloned(),
        scope: params.get("scope").cloned(),
        code_challenge: params.get("code_challenge").cloned(),
    };
    let issuer = shared.base_url.as_str();
    let fail = |error: &str, description: &str| {
        redirect_back(
            &inner,
            issuer,
            &request,
            &[("error", error), ("error_description", description)],
        )
    };
    match params.get("response_type").map(String::as_str) {
        Some("code") => {}
        None => return fail("invalid_request", "response_type is required"),
        Some(_) => return fail("unsupported_response_type", "only response_type=code"),
    }
    if let Some(challenge) = &request.code_challenge {
        if params.get("code_challenge_method").map(String::as_str) != Some("S256") {
            return fail("invalid_request", "code_challenge_method must be S256");
        }
        if !valid_challenge(challenge) {
            return fail("invalid_request", "malformed code_challenge");
        }
    }
    if let Some(user) = inner.session_user(session_cookie(&headers)) {
        if client.trusted {
            return approve(&mut inner, issuer, request, user);
        }
        let id = random_base64url();
        let response = consent_page(&inner, &id, &request);
        inner.pending.insert(id, request);
        return response;
    }
    let id = random_base64url();
    inner.pending.insert(id.clone(), request);
    login_page(&inner, &id, None)
}

/// Records a posted login or consent form (counted as `MockEndpoint::Authorize`), applies
/// injected faults, and parses it; `Err` is the response to send instead.
async fn begin_form(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Fields, Response> {
    let parsed = parse_form(body);
    let recorded = record(headers, parsed.clone().unwrap_or_default());
    if let Some(canned) = shared.begin(MockEndpoint::Authorize, recorded, false).await {
        return Err(canned);
    }
    parsed.map_err(|_| error_page("malformed form"))
}

/// The login form's post (vcita: `POST /app/oauth/authorize/login`).
pub(crate) async fn login(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match begin_form(&shared, &headers, &body).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let mut inner = shared.lock();
    let Some((id, request)) = form
        .get(REQUEST_FIELD)
        .and_then(|id| Some((id.clone(), inner.pending.get(id)?.clone())))
    else {
        return error_page("unknown or finished authorization request; start the login again");
    };
    // Any known user, by email, with that user's password.
    let user = form
        .get("email")
        .and_then(|email| inner.user(email))
        .filter(|user| form.get("password").is_some_and(|p| *p == user.password))
        .map(|user| user.email.clone());
    let Some(user) = user else {
        return login_page(&inner, &id, Some("Wrong email or password."));
    };
    let session = random_base64url();
    inner.sessions.insert(session.clone(), user.clone());
    let trusted = inner
        .clients
        .get(&request.client_id)
        .is_some_and(|c| c.trusted);
    let mut response = if trusted {
        inner.pending.remove(&id);
        approve(&mut inner, &shared.base_url, request, user)
    } else {
        consent_page(&inner, &id, &request)
    };
    let cookie = format!("{SESSION_COOKIE}={session}; HttpOnly; Path=/; SameSite=Lax");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The consent form's post (vcita: `POST /app/oauth/authorize/consent`).
pub(crate) async fn consent(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match begin_form(&shared, &headers, &body).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let mut inner = shared.lock();
    let Some(id) = form
        .get(REQUEST_FIELD)
        .filter(|id| inner.pending.contains_key(*id))
        .cloned()
    else {
        return error_page("unknown or finished authorization request; start the login again");
    };
    let Some(user) = inner.session_user(session_cookie(&headers)) else {
        return login_page(&inner, &id, Some("Please log in first."));
    };
    let decision = form.get("decision").map(String::as_str);
    if !matches!(decision, Some("allow" | "deny")) {
        return error_page("decision must be allow or deny");
    }
    let Some(request) = inner.pending.remove(&id) else {
        return error_page("unknown or finished authorization request; start the login again");
    };
    if decision == Some("allow") {
        approve(&mut inner, &shared.base_url, request, user)
    } else {
        redirect_back(
            &inner,
            &shared.base_url,
            &request,
            &[
                ("error", "access_denied"),
                ("error_description", "the user denied access"),
            ],
        )
    }
}
