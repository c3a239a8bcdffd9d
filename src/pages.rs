//! The crate's own answers to browsers: error pages (HTML for a navigation, JSON for API
//! clients — the one rule of [`Audience`]) and redirects; never a secret, never cached,
//! never leaking the URL as a referrer.

use axum::Json;
use axum::response::{Html, IntoResponse, Redirect, Response};
use http::header::{CACHE_CONTROL, REFERRER_POLICY};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;

use crate::audience::Audience;

/// An error page: a status, a short title, an explanation and what to do next.
pub(crate) struct ErrorPage {
    pub(crate) status: StatusCode,
    /// Machine-readable code for JSON clients (`invalid_state`, `access_denied`, ...).
    pub(crate) code: String,
    pub(crate) title: &'static str,
    pub(crate) message: String,
    /// Where "try again" points (the login route).
    pub(crate) retry_href: String,
}

impl ErrorPage {
    pub(crate) fn render(self, request_headers: &HeaderMap) -> Response {
        let mut res = if Audience::of(request_headers) != Audience::Navigation {
            (
                self.status,
                Json(json!({ "error": self.code, "error_description": self.message })),
            )
                .into_response()
        } else {
            let html = format!(
                "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                 <title>{title}</title></head>\n<body style=\"font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem\">\
                 <h1>{title}</h1>\n<p id=\"message\">{message}</p>\n<p>Error code: <code id=\"code\">{code}</code></p>\n\
                 <p><a id=\"retry\" href=\"{href}\">Log in again</a> · <a href=\"/\">Home</a></p>\n</body></html>\n",
                title = escape(self.title),
                message = escape(&self.message),
                code = escape(&self.code),
                href = escape(&self.retry_href),
            );
            (self.status, Html(html)).into_response()
        };
        no_store(&mut res);
        res
    }
}

/// `Cache-Control: no-store` and `Referrer-Policy: no-referrer`: callback URLs carry
/// codes and states that must not be cached or sent onwards.
pub(crate) fn no_store(res: &mut Response) {
    let h = res.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

/// A `303 See Other` to `location`, not cached, no referrer.
pub(crate) fn redirect(location: &str) -> Response {
    let mut res = Redirect::to(location).into_response();
    no_store(&mut res);
    res
}

/// HTML-escapes text for element content and quoted attributes.
#[cfg_attr(not(feature = "test-util"), allow(dead_code))]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn page_for_test() -> ErrorPage {
        ErrorPage {
            status: StatusCode::BAD_REQUEST,
            code: "c".into(),
            title: "t",
            message: "m".into(),
            retry_href: "/auth/login".into(),
        }
    }

    #[test]
    fn pages_escape_and_do_not_cache() {
        let page = ErrorPage {
            status: StatusCode::BAD_REQUEST,
            code: "x<y".into(),
            title: "Login failed",
            message: "<script>alert(1)</script>".into(),
            retry_href: "/auth/login".into(),
        };
        let mut navigation = HeaderMap::new();
        navigation.insert("sec-fetch-mode", HeaderValue::from_static("navigate"));
        let res = page.render(&navigation);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let api = page_for_test().render(&HeaderMap::new());
        assert!(
            api.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(res.status(), 400);
        assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(res.headers()[REFERRER_POLICY], "no-referrer");
        assert_eq!(
            escape("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
    }
}
