//! The crate's one answer to "browser or API client?", used wherever a response depends
//! on it: `RequireLogin` (redirect to the login page, or `401`) and the error pages
//! (HTML, or JSON).
//!
//! * A request with `Authorization: Bearer` (or `DPoP`) is an API call.
//! * An htmx request (`HX-Request: true`) is [`Audience::Htmx`]: htmx reads `HX-Redirect`
//!   before the status and never sees a `3xx` (XHR follows those silently), so it gets
//!   `401` plus `HX-Redirect` to the login page.
//! * A **navigation** is `Sec-Fetch-Mode: navigate`, or, from clients without Fetch
//!   Metadata, an `Accept` that prefers `text/html` over JSON. `fetch()`, XHR and curl
//!   (`Accept: */*`) are API calls.

use http::header::{ACCEPT, AUTHORIZATION, HeaderName};
use http::{HeaderMap, HeaderValue, Method};

use crate::return_to::safe_return_to;

/// Who sent a request, as far as the response's shape is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    /// A browser navigating to a page (any method; only `GET`/`HEAD` are redirected).
    Navigation,
    /// htmx ([`htmx_page`](Self::htmx_page): the page it was on).
    Htmx,
    /// Anything else: `fetch()`, XHR, curl, API clients.
    Api,
}

impl Audience {
    /// Classifies a request by its headers (the method matters only for redirects: see
    /// [`redirectable`](Self::redirectable)).
    pub(crate) fn of(headers: &HeaderMap) -> Audience {
        // One pass over the headers, not a lookup per name (each hashes its name): most
        // requests carry few headers. The first `HX-Request` and `Sec-Fetch-Mode` count,
        // as a lookup would read them; every `Authorization` header does.
        let (mut htmx, mut mode, mut accept) = (None, None, false);
        for (name, value) in headers {
            if name == AUTHORIZATION {
                if is_token_scheme(value) {
                    return Audience::Api;
                }
            } else if name == ACCEPT {
                accept = true;
            } else if name == HX_REQUEST {
                htmx.get_or_insert(value);
            } else if name == SEC_FETCH_MODE {
                mode.get_or_insert(value);
            }
        }
        if htmx.is_some_and(|v| value_is(v, "true")) {
            return Audience::Htmx;
        }
        match mode.and_then(|v| v.to_str().ok()) {
            Some(mode) if mode.eq_ignore_ascii_case("navigate") => Audience::Navigation,
            Some(_) => Audience::Api,
            None if accept && accept_prefers_html(headers) => Audience::Navigation,
            None => Audience::Api,
        }
    }

    /// The page an htmx request was sent from (`HX-Current-URL`), as a same-site path,
    /// for the login to come back to. Read only when a login is due, not per request.
    pub(crate) fn htmx_page(headers: &HeaderMap) -> Option<String> {
        let current = headers.get(HX_CURRENT_URL)?.to_str().ok()?;
        let url = url::Url::parse(current).ok()?;
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        safe_return_to(&path).map(str::to_owned)
    }

    /// Whether a login redirect (`303`) is the right answer: a `GET`/`HEAD` navigation.
    /// A `POST` navigation is never redirected (the form data would be lost).
    pub(crate) fn redirectable(&self, method: &Method) -> bool {
        *self == Audience::Navigation && matches!(*method, Method::GET | Method::HEAD)
    }
}

// Named once (a `&str` name is parsed and lower-cased on every lookup).
const HX_REQUEST: HeaderName = HeaderName::from_static("hx-request");
const HX_CURRENT_URL: HeaderName = HeaderName::from_static("hx-current-url");
const SEC_FETCH_MODE: HeaderName = HeaderName::from_static("sec-fetch-mode");

fn value_is(value: &HeaderValue, expected: &str) -> bool {
    value
        .to_str()
        .is_ok_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// Whether an `Authorization` header value uses the Bearer or the DPoP scheme
/// (well-formed or not): only the scheme is read, not the whole value (a JWT is ~700
/// bytes). Other schemes (`Basic` in front of a staging site) do not make a request an
/// API call.
fn is_token_scheme(value: &HeaderValue) -> bool {
    let scheme = value
        .as_bytes()
        .split(|&b| b == b' ')
        .next()
        .unwrap_or_default();
    scheme.eq_ignore_ascii_case(b"bearer") || scheme.eq_ignore_ascii_case(b"dpop")
}

/// Whether the `Accept` headers (all of them) rank HTML above JSON. `*/*` alone ranks
/// neither, so it is not a navigation.
fn accept_prefers_html(headers: &HeaderMap) -> bool {
    let (mut html, mut json) = (0.0f32, 0.0f32);
    let ranges = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for range in ranges {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim();
        let q = || {
            parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0)
                .clamp(0.0, 1.0)
        };
        let is = |name: &str| media.eq_ignore_ascii_case(name);
        if is("text/html") || is("application/xhtml+xml") {
            html = html.max(q());
        } else if is("application/json") {
            json = json.max(q());
        }
    }
    html > 0.0 && html >= json
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn of(pairs: &[(&'static str, &'static str)]) -> Audience {
        Audience::of(&headers(pairs))
    }

    #[test]
    fn navigations_and_api_calls() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert_eq!(of(&[("accept", browser)]), Audience::Navigation);
        assert_eq!(
            of(&[("sec-fetch-mode", "navigate"), ("accept", "*/*")]),
            Audience::Navigation
        );
        assert_eq!(
            of(&[("sec-fetch-mode", "cors"), ("accept", browser)]),
            Audience::Api
        );
        assert_eq!(of(&[("accept", "*/*")]), Audience::Api);
        assert_eq!(of(&[]), Audience::Api);
        assert_eq!(of(&[("accept", "application/json")]), Audience::Api);
        assert_eq!(
            of(&[("accept", "application/json, text/html;q=0.5")]),
            Audience::Api
        );
        assert_eq!(of(&[("accept", "text/html;q=0")]), Audience::Api);
        // A second Accept header counts too.
        assert_eq!(
            of(&[("accept", "*/*"), ("accept", "text/html")]),
            Audience::Navigation
        );
        assert_eq!(
            of(&[("accept", browser), ("authorization", "Bearer x")]),
            Audience::Api
        );
        assert_eq!(
            of(&[("accept", browser), ("authorization", "DPoP x")]),
            Audience::Api
        );
        assert_eq!(
            of(&[("sec-fetch-mode", "navigate"), ("authorization", "bearer")]),
            Audience::Api
        );
        assert_eq!(
            of(&[("accept", browser), ("authorization", "Basic dTpw")]),
            Audience::Navigation
        );
        assert_eq!(
            of(&[("accept", browser), ("authorization", "Bearerx y")]),
            Audience::Navigation
        );
    }

    #[test]
    fn htmx_requests_carry_their_page() {
        let page = |current: &'static str| {
            let headers = headers(&[("hx-request", "true"), ("hx-current-url", current)]);
            assert_eq!(Audience::of(&headers), Audience::Htmx);
            Audience::htmx_page(&headers)
        };
        assert_eq!(
            page("http://app.test/orders?p=2"),
            Some("/orders?p=2".into())
        );
        assert_eq!(page("javascript:alert(1)"), None);
    }

    #[test]
    fn only_get_and_head_navigations_redirect() {
        assert!(Audience::Navigation.redirectable(&Method::GET));
        assert!(Audience::Navigation.redirectable(&Method::HEAD));
        assert!(!Audience::Navigation.redirectable(&Method::POST));
        assert!(!Audience::Api.redirectable(&Method::GET));
    }
}
