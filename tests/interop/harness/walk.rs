//! Walks through oidc-provider's pages with the cookie-keeping, non-redirecting [`Http`]
//! client: the devInteractions login and consent pages, and its logout pages.

use reqwest::StatusCode;
use url::Url;

use super::LOGIN;
use crate::support::{Form, Http, body, location};

/// From the authorize URL through oidc-provider's devInteractions pages: follows its
/// redirects, fills the login form (any login/password works) and confirms consent,
/// until the provider redirects to `redirect_uri`; returns that URL, not followed.
pub async fn walk_provider(http: &Http, authorize: &Url, redirect_uri: &str) -> Url {
    let mut res = http.get_url(authorize.as_str()).await;
    let mut current = authorize.clone();
    let mut pages = Vec::new();
    for _ in 0..12 {
        let status = res.status();
        if status.is_redirection() {
            let next = current
                .join(&location(&res))
                .expect("a valid Location from the provider");
            if next.as_str().starts_with(redirect_uri) {
                return next;
            }
            res = http.get_url(next.as_str()).await;
            current = next;
            continue;
        }
        let text = body(res).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "oidc-provider page {current}: {text}"
        );
        let form = Form::parse(&text)
            .unwrap_or_else(|| panic!("no form on the provider page {current}:\n{text}"));
        let mut fields = form.hidden.clone();
        let prompt = fields
            .iter()
            .find(|(k, _)| k == "prompt")
            .map(|(_, v)| v.clone());
        pages.push(prompt.clone().unwrap_or_default());
        if form.inputs.iter().any(|n| n == "login") {
            fields.push(("login".into(), LOGIN.into()));
            fields.push(("password".into(), "any password".into()));
        }
        let action = current.join(&form.action).expect("a valid form action");
        res = http
            .send(http.client.post(action.clone()).form(&fields))
            .await;
        current = action;
    }
    panic!("the provider never redirected to {redirect_uri} (pages seen: {pages:?})");
}

/// The user signs out at the provider itself: `GET end_session_endpoint` (no
/// id_token_hint, no client), then the confirmation form (`xsrf` plus `logout=yes`, "sign
/// me out of the provider", which also sends back-channel logout tokens to every client
/// of the session) with the provider's cookies held in `http`. Follows the provider's
/// redirects to its "Sign-out Success" page; returns that page's URL.
#[allow(dead_code)] // used by the OIDC interop tests
pub async fn logout_at_provider(http: &Http, end_session_endpoint: &str) -> Url {
    let start = Url::parse(end_session_endpoint).expect("a valid end_session_endpoint");
    match walk_logout(http, &start, None).await {
        Walked::Page(url, text) => {
            assert!(
                text.contains("Sign-out Success"),
                "oidc-provider's sign-out success page at {url}:\n{text}"
            );
            url
        }
        Walked::Redirected(url) => panic!("oidc-provider left for {url} after a sign-out"),
    }
}

/// RP-Initiated Logout: from the end-session URL the app redirected to (`start`, with
/// its id_token_hint, post_logout_redirect_uri, state) through oidc-provider's
/// confirmation page (answered "yes, sign me out"), until the provider redirects to
/// `post_logout_redirect_uri`; returns that URL (with its `state`), not followed.
#[allow(dead_code)] // used by the OIDC interop tests
pub async fn walk_rp_logout(http: &Http, start: &Url, post_logout_redirect_uri: &str) -> Url {
    let target = Url::parse(post_logout_redirect_uri).expect("a valid post_logout_redirect_uri");
    match walk_logout(http, start, Some(&target)).await {
        Walked::Redirected(url) => url,
        Walked::Page(url, text) => panic!(
            "oidc-provider never redirected to {post_logout_redirect_uri}; it stopped at {url}:\n{text}"
        ),
    }
}

/// Where a logout walk ended.
enum Walked {
    /// A redirect to `stop` (not followed).
    Redirected(Url),
    /// A 200 page without a form (its URL and text).
    Page(Url, String),
}

/// `url` without query and fragment.
fn bare(url: &Url) -> Url {
    let mut bare = url.clone();
    bare.set_query(None);
    bare.set_fragment(None);
    bare
}

/// The logout walk: follows the provider's redirects and submits its forms, the
/// confirmation page (`<form id="op.logoutForm">` with a hidden `xsrf`; the "Yes, sign
/// me out" button, `name="logout" value="yes"`, sits outside the form and points at it
/// with `form=`, so `logout=yes` is added here) or, when the provider has no session,
/// its self-submitting form (hidden `xsrf` and `logout=yes`); stops at a redirect to
/// `stop` (query ignored) or at a page without a form.
async fn walk_logout(http: &Http, start: &Url, stop: Option<&Url>) -> Walked {
    let mut res = http.get_url(start.as_str()).await;
    let mut current = start.clone();
    for _ in 0..8 {
        let status = res.status();
        if status.is_redirection() {
            let next = current
                .join(&location(&res))
                .expect("a valid Location from the provider");
            if stop.is_some_and(|stop| bare(&next) == bare(stop)) {
                return Walked::Redirected(next);
            }
            res = http.get_url(next.as_str()).await;
            current = next;
            continue;
        }
        let text = body(res).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "oidc-provider logout page {current}: {text}"
        );
        let Some(form) = Form::parse(&text) else {
            return Walked::Page(current, text);
        };
        let mut fields = form.hidden.clone();
        assert!(
            fields.iter().any(|(k, _)| k == "xsrf"),
            "a logout form with its xsrf token at {current}:\n{text}"
        );
        if !fields.iter().any(|(k, _)| k == "logout") {
            fields.push(("logout".into(), "yes".into()));
        }
        let action = current.join(&form.action).expect("a valid form action");
        res = http
            .send(http.client.post(action.clone()).form(&fields))
            .await;
        current = action;
    }
    panic!("the logout from {start} did not end within 8 steps (at {current})");
}
