//! `GET /auth/callback`: check the state, then exchange the code at once and start a
//! fresh session.

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::header::{LOCATION, SET_COOKIE};
use http::{HeaderValue, Request, StatusCode};

use super::pages::{ErrorPage, no_store};
use super::{LoginFlow, query_params, safe_return_to};
use crate::auth::RequestSessions;
use crate::oauth::{OAuth, OAuthInner};
use crate::secret::AuthorizationCode;
use crate::session::{SessionData, find_cookie};

/// Why a callback was refused before any token request.
enum Refusal {
    MissingState,
    DuplicateParams,
    NoFlow,
    StateMismatch,
    Expired,
    IssuerMismatch,
    MissingIssuer,
    MissingCode,
}

impl Refusal {
    fn page(self, inner: &OAuthInner) -> ErrorPage {
        let (code, message) = match self {
            Refusal::MissingState => (
                "missing_state",
                "The provider's answer carried no state, so it cannot be matched to a login started here.",
            ),
            Refusal::DuplicateParams => (
                "invalid_request",
                "The provider's answer repeated a parameter, which OAuth forbids.",
            ),
            Refusal::NoFlow => (
                "unknown_state",
                "No login in progress matches this answer. The login may have expired, been \
                 finished already, or been started in another browser; or this browser did not \
                 send the login cookie back (cookies blocked, SameSite rules, or the site served \
                 over plain http behind a proxy while configured for https).",
            ),
            Refusal::StateMismatch => (
                "invalid_state",
                "The state in the provider's answer does not match the login started in this \
                 browser. This can be a forged request; start again.",
            ),
            Refusal::Expired => (
                "login_expired",
                "The login took too long and expired. Please start again.",
            ),
            Refusal::IssuerMismatch => (
                "invalid_issuer",
                "The answer came from a different authorization server than the one this login \
                 was started with (RFC 9207).",
            ),
            Refusal::MissingIssuer => (
                "missing_issuer",
                "The answer did not say which authorization server sent it (no `iss`), but this \
                 provider is configured with an issuer (RFC 9207). If the provider does not send \
                 `iss`, remove the issuer setting.",
            ),
            Refusal::MissingCode => (
                "missing_code",
                "The provider's answer carried neither a code nor an error.",
            ),
        };
        ErrorPage {
            status: StatusCode::BAD_REQUEST,
            code: code.into(),
            title: "Login could not be completed",
            message: message.into(),
            retry_href: inner.login_path.clone(),
        }
    }
}

pub(crate) async fn callback(
    State(oauth): State<OAuth>,
    RawQuery(query): RawQuery,
    req: Request<axum::body::Body>,
) -> Response {
    let inner = &oauth.inner;
    let headers = req.headers().clone();
    let params = query_params(query.as_deref());
    let one = |name: &str| -> Result<Option<&String>, Refusal> {
        match params.get(name).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([v]) => Ok(Some(v)),
            Some(_) => Err(Refusal::DuplicateParams),
        }
    };
    let checked = (|| -> Result<_, Refusal> {
        let state = one("state")?.ok_or(Refusal::MissingState)?;
        let name = inner.flow.cookie_name(state);
        let flow = find_cookie(&headers, &name)
            .and_then(|sealed| inner.flow.codec.open::<LoginFlow>(&name, sealed))
            .ok_or(Refusal::NoFlow)?;
        Ok((name, flow, state))
    })();
    let (flow_cookie, flow, state) = match checked {
        Ok(found) => found,
        Err(refusal) => return refusal.page(inner).render(&headers),
    };
    // From here on the flow cookie is spent, whatever happens: a code is single-use.
    let clear_flow = inner
        .flow
        .codec
        .remove_cookie(&flow_cookie, &inner.flow.path);
    let refuse = |refusal: Refusal| with_cookie(refusal.page(inner).render(&headers), &clear_flow);

    if !flow.state.matches(state) {
        return refuse(Refusal::StateMismatch);
    }
    if flow.started_at.saturating_add(inner.flow.ttl_secs) <= inner.clock.now() {
        return refuse(Refusal::Expired);
    }
    let (iss, error, code) = match (one("iss"), one("error"), one("code")) {
        (Ok(iss), Ok(error), Ok(code)) => (iss, error, code),
        _ => return refuse(Refusal::DuplicateParams),
    };
    match (iss, inner.client.provider().issuer()) {
        (Some(received), _) if !issuer_accepted(inner.client.provider(), received) => {
            return refuse(Refusal::IssuerMismatch);
        }
        // RFC 9207 §2.4: with a known issuer, a response without `iss` is refused.
        (None, Some(_)) => return refuse(Refusal::MissingIssuer),
        _ => {}
    }
    if let Some(error) = error {
        let code = crate::client::ErrorCode::parse(error);
        let description = one("error_description")
            .ok()
            .flatten()
            .map(|d| crate::client::sanitize(d, 200));
        tracing::info!(error = %code, "the provider ended the login with an error");
        let message = match (&code, description) {
            (crate::client::ErrorCode::AccessDenied, _) => {
                "You declined to give this app access, so you are not logged in.".to_owned()
            }
            (_, Some(d)) if !d.is_empty() => format!("The provider ended the login: {d}"),
            _ => "The provider ended the login with an error.".to_owned(),
        };
        let page = ErrorPage {
            status: if code == crate::client::ErrorCode::AccessDenied {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::BAD_REQUEST
            },
            code: code.as_str().to_owned(),
            title: "Login was not completed",
            message,
            retry_href: inner.login_path.clone(),
        };
        return with_cookie(page.render(&headers), &clear_flow);
    }
    let Some(code) = code else {
        return refuse(Refusal::MissingCode);
    };

    // The code lives seconds and works once: exchange it now, never retry.
    let tokens = match inner
        .client
        .exchange_code(
            AuthorizationCode::new(code.as_str()),
            flow.verifier.as_ref(),
        )
        .await
    {
        Ok(tokens) => tokens,
        Err(e) => {
            tracing::warn!(error = %e, "code exchange failed");
            let detail = match e.code() {
                Some(code) => format!(
                    "The provider refused to complete the login ({code}{}).",
                    match &e {
                        crate::client::OAuthError::Provider {
                            description: Some(d),
                            ..
                        } if !d.is_empty() => format!(": {d}"),
                        _ => String::new(),
                    }
                ),
                None => format!(
                    "The provider could not be reached or gave an unusable answer ({}).",
                    short(&e)
                ),
            };
            let page = ErrorPage {
                status: StatusCode::BAD_GATEWAY,
                code: e
                    .code()
                    .map_or("token_request_failed", |c| c.as_str())
                    .to_owned(),
                title: "Login could not be completed",
                message: detail,
                retry_href: inner.login_path.clone(),
            };
            return with_cookie(page.render(&headers), &clear_flow);
        }
    };
    let user = inner.user_snapshot(&tokens).await;
    let session = SessionData::start(tokens, user, inner.clock.now(), inner.session.ttl_secs);
    if inner.session.seal(&session).is_none() {
        // Redirecting would only loop back here: say what is wrong instead.
        tracing::error!("the provider's tokens are too large for a session cookie");
        let page = ErrorPage {
            status: StatusCode::BAD_GATEWAY,
            code: "session_too_large".into(),
            title: "Login could not be completed",
            message: "The provider's tokens are too large to keep in a browser cookie.".into(),
            retry_href: inner.login_path.clone(),
        };
        return with_cookie(page.render(&headers), &clear_flow);
    }
    match req
        .extensions()
        .get::<RequestSessions>()
        .and_then(|list| list.of(&oauth))
    {
        Some(rs) => rs.handle.set(session),
        None => tracing::error!("callback ran without the OAuth layer; session not stored"),
    }
    tracing::info!(provider = inner.client.provider().name(), "login completed");

    let target = safe_return_to(&flow.return_to).unwrap_or("/");
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::try_from(target) {
        res.headers_mut().insert(LOCATION, location);
    }
    no_store(&mut res);
    with_cookie(res, &clear_flow)
}

/// RFC 9207: the `iss` of an authorization response must be the issuer this login was
/// sent to. With an issuer configured it must equal it; without one, it must at least be
/// the base of our authorize URL (issuers are the base of their endpoints), which still
/// refuses another provider's response (mix-up, RFC 9700 §4.4).
fn issuer_accepted(provider: &crate::Provider, received: &str) -> bool {
    match provider.issuer() {
        Some(expected) => expected == received,
        None => {
            let authorize = provider.authorize_url().as_str();
            let base = received.trim_end_matches('/');
            !base.is_empty()
                && authorize
                    .strip_prefix(base)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        }
    }
}

fn with_cookie(mut res: Response, set_cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::try_from(set_cookie) {
        res.headers_mut().append(SET_COOKIE, v);
    }
    res
}

/// The kind of failure without the (already secret-free, but long) details.
fn short(e: &crate::client::OAuthError) -> &'static str {
    use crate::client::OAuthError as E;
    match e {
        E::Timeout { .. } => "timeout",
        E::Transport { .. } => "connection failed",
        E::BodyTooLarge { .. } => "response too large",
        E::UnsupportedTokenType { .. } => "unsupported token type",
        E::Malformed { .. } => "malformed response",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::issuer_accepted;
    use crate::Provider;

    #[test]
    fn iss_is_checked_against_the_issuer_or_the_authorize_url() {
        let configured = Provider::custom("x")
            .authorize_url("https://id.example/auth")
            .token_url("https://id.example/token")
            .issuer("https://id.example")
            .build()
            .unwrap();
        assert!(issuer_accepted(&configured, "https://id.example"));
        assert!(!issuer_accepted(&configured, "https://id.example/"));
        assert!(!issuer_accepted(&configured, "https://evil.example"));

        let unconfigured = Provider::custom("y")
            .authorize_url("https://id.example/auth")
            .token_url("https://id.example/token")
            .build()
            .unwrap();
        assert!(issuer_accepted(&unconfigured, "https://id.example"));
        assert!(issuer_accepted(&unconfigured, "https://id.example/"));
        assert!(!issuer_accepted(&unconfigured, "https://id.ex"));
        assert!(!issuer_accepted(&unconfigured, "https://evil.example"));
        assert!(!issuer_accepted(&unconfigured, ""));
    }
}
