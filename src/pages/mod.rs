//! The crate's own answers to browsers: error pages (HTML for a navigation, JSON for API
//! clients — the one rule of [`Audience`]) and redirects; never a secret, never cached,
//! never leaking the URL as a referrer. Every sentence comes from one table
//! ([`Messages`]); the HTML can be the app's own ([`OAuthBuilder::error_page`]).
//!
//! [`OAuthBuilder::error_page`]: crate::OAuthBuilder::error_page

mod confirm;
mod messages;

use std::sync::Arc;

use axum::Json;
use axum::response::{Html, IntoResponse, Redirect, Response};
use http::header::{CACHE_CONTROL, REFERRER_POLICY};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;

pub use self::messages::Messages;
use crate::audience::Audience;

/// An error or refusal the crate answers with: a status, a machine-readable code, a
/// title and a message for the person, and where "try again" points. What an app's
/// [render hook](crate::OAuthBuilder::error_page) receives.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ErrorPage {
    status: StatusCode,
    code: String,
    title: String,
    message: String,
    retry_href: Option<String>,
}

impl ErrorPage {
    /// The HTTP status (`400`, `403`, `502`, ...).
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The machine-readable code (`access_denied`, `unknown_state`, `login_refused`,
    /// `insufficient_scope`, ...): also the `error` of the JSON answer.
    pub fn code(&self) -> &str {
        &self.code
    }
    /// A short title, from the [`Messages`] table.
    pub fn title(&self) -> &str {
        &self.title
    }
    /// What happened and what to do, for the person (plain text, not yet escaped).
    pub fn message(&self) -> &str {
        &self.message
    }
    /// Where "log in again" points (the login route), or `None` when logging in again
    /// would not change the answer: a logged-in caller refused by a guard (`403`
    /// `forbidden` / `insufficient_scope`), whom such a link would only send round in a
    /// loop.
    pub fn retry_href(&self) -> Option<&str> {
        self.retry_href.as_deref()
    }

    /// The same page without a "log in again" link (see [`retry_href`](Self::retry_href)).
    pub(crate) fn without_retry(mut self) -> Self {
        self.retry_href = None;
        self
    }
}

/// The app's render hook.
pub(crate) type RenderHook = Arc<dyn Fn(&ErrorPage) -> Response + Send + Sync>;

/// How one provider's pages are worded and drawn: the message table, the app's render
/// hook if any, and the login route for "try again".
#[derive(Clone)]
pub(crate) struct Pages {
    messages: Messages,
    render: Option<RenderHook>,
    login: String,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("custom_render", &self.render.is_some())
            .finish_non_exhaustive()
    }
}

impl Pages {
    pub(crate) fn new(messages: Messages, render: Option<RenderHook>, login: String) -> Pages {
        Pages {
            messages,
            render,
            login,
        }
    }

    /// The page for message `key`, answered with `status` and `code`.
    pub(crate) fn page(
        &self,
        status: StatusCode,
        code: &str,
        key: &str,
        params: &[(&str, &str)],
    ) -> ErrorPage {
        let (title, message) = self.messages.get(key, params);
        ErrorPage {
            status,
            code: code.to_owned(),
            title,
            message,
            retry_href: Some(self.login.clone()),
        }
    }

    /// Answers with `page`: JSON `{"error", "error_description"}` for API clients; for a
    /// browser navigation, the app's page or the default one. Never cached.
    pub(crate) fn respond(&self, page: &ErrorPage, request_headers: &HeaderMap) -> Response {
        self.respond_to(page, Audience::of(request_headers) == Audience::Navigation)
    }

    /// [`respond`](Self::respond), with the audience already decided.
    pub(crate) fn respond_to(&self, page: &ErrorPage, navigation: bool) -> Response {
        let mut res = if !navigation {
            json_error(page)
        } else if let Some(render) = &self.render {
            let mut res = render(page);
            if res.status() == StatusCode::OK {
                *res.status_mut() = page.status;
            }
            res
        } else {
            (page.status, Html(self.default_html(page))).into_response()
        };
        no_store(&mut res);
        if page.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }

    fn default_html(&self, page: &ErrorPage) -> String {
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title}</title></head>\n<body style=\"font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem\">\
             <h1>{title}</h1>\n<p id=\"message\">{message}</p>\n<p>{label}: <code id=\"code\">{code}</code></p>\n\
             <p>{retry}<a href=\"/\">{home}</a></p>\n</body></html>\n",
            title = escape(&page.title),
            message = escape(&page.message),
            code = escape(&page.code),
            label = escape(&self.messages.text("label_code")),
            retry = page
                .retry_href
                .as_deref()
                .map_or(String::new(), |href| format!(
                    "<a id=\"retry\" href=\"{}\">{}</a> · ",
                    escape(href),
                    escape(&self.messages.text("link_retry"))
                )),
            home = escape(&self.messages.text("link_home")),
        )
    }
}

/// The JSON form of a page, for API clients.
pub(crate) fn json_error(page: &ErrorPage) -> Response {
    (
        page.status,
        Json(json!({ "error": page.code, "error_description": page.message })),
    )
        .into_response()
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

    fn pages() -> Pages {
        Pages::new(Messages::default(), None, "/auth/login".into())
    }

    #[test]
    fn pages_escape_and_do_not_cache() {
        let pages = pages();
        let mut page = pages.page(
            StatusCode::BAD_REQUEST,
            "x<y",
            "login_refused",
            &[("reason", "<script>alert(1)</script>")],
        );
        let mut navigation = HeaderMap::new();
        navigation.insert("sec-fetch-mode", HeaderValue::from_static("navigate"));
        let res = pages.respond(&page, &navigation);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(res.status(), 400);
        assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(res.headers()[REFERRER_POLICY], "no-referrer");
        page.status = StatusCode::FORBIDDEN;
        let api = pages.respond(&page, &HeaderMap::new());
        assert_eq!(api.status(), 403);
        assert!(
            api.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(
            escape("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
    }

    #[test]
    fn a_refused_logged_in_caller_is_not_offered_to_log_in_again() {
        let pages = pages();
        let mut navigation = HeaderMap::new();
        navigation.insert("sec-fetch-mode", HeaderValue::from_static("navigate"));
        let html = |page: &ErrorPage| pages.default_html(page);
        let denied = pages.page(StatusCode::FORBIDDEN, "access_denied", "access_denied", &[]);
        assert_eq!(denied.retry_href(), Some("/auth/login"));
        assert!(html(&denied).contains("id=\"retry\" href=\"/auth/login\""));
        let refused = pages
            .page(StatusCode::FORBIDDEN, "forbidden", "forbidden", &[])
            .without_retry();
        assert_eq!(refused.retry_href(), None);
        assert!(
            !html(&refused).contains("id=\"retry\""),
            "{}",
            html(&refused)
        );
        assert!(html(&refused).contains("<a href=\"/\">Home</a>"));
    }

    #[test]
    fn the_apps_render_hook_draws_navigations_only() {
        let hook: RenderHook = Arc::new(|page: &ErrorPage| {
            Html(format!("<p>mine: {}</p>", page.code())).into_response()
        });
        let pages = Pages::new(Messages::default(), Some(hook), "/auth/login".into());
        let page = pages.page(StatusCode::FORBIDDEN, "access_denied", "access_denied", &[]);
        let mut navigation = HeaderMap::new();
        navigation.insert("sec-fetch-mode", HeaderValue::from_static("navigate"));
        let res = pages.respond(&page, &navigation);
        assert_eq!(
            res.status(),
            403,
            "a 200 from the hook takes the page's status"
        );
        assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
        let api = pages.respond(&page, &HeaderMap::new());
        assert!(
            api.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
    }
}
