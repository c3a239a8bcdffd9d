//! A confirmation page: one button that repeats the request as a `POST` to the page's
//! own URL. For state changes a link may ask for (connecting an account from an e-mail
//! or a marketplace): the `GET` only asks, and the `POST` is then sent by this app's own
//! page, so it passes the same-origin check that a request forged elsewhere fails.

use axum::response::{Html, IntoResponse, Response};
use http::HeaderValue;
use http::header::{CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_FRAME_OPTIONS};

use super::{Pages, escape, no_store};

/// Nothing loads, nothing frames the page (a framed button could be clicked through a
/// decoy: clickjacking); inline `style` attributes only. No `form-action`: browsers apply
/// it to the redirect that follows the `POST` too, which leaves for the provider.
const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
                      frame-ancestors 'none'";

impl Pages {
    /// `200` with message `key` (filled with `params`) and a button labelled with
    /// `button_key`'s text that posts to the page's own URL (a form without `action`).
    /// Drawn by the crate, not by the app's error-page hook.
    pub(crate) fn confirm(&self, key: &str, button_key: &str, params: &[(&str, &str)]) -> Response {
        let (title, message) = self.messages.get(key, params);
        let html = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title}</title></head>\n<body style=\"font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem\">\
             <h1>{title}</h1>\n<p id=\"message\">{message}</p>\n\
             <form method=\"post\"><button type=\"submit\" id=\"confirm\">{button}</button></form>\n\
             <p><a href=\"/\">{home}</a></p>\n</body></html>\n",
            title = escape(&title),
            message = escape(&message),
            button = escape(&self.messages.text(button_key)),
            home = escape(&self.messages.text("link_home")),
        );
        let mut res = Html(html).into_response();
        no_store(&mut res);
        let headers = res.headers_mut();
        // Under `no-referrer` a browser sends `Origin: null` with the form's POST, which
        // the origin check must refuse for a browser without Fetch Metadata. This URL
        // carries no code or state, and the page links only to its own origin.
        headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        res
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;
    use crate::pages::Messages;

    #[tokio::test]
    async fn the_confirmation_escapes_posts_to_itself_and_cannot_be_framed() {
        let pages = Pages::new(Messages::default(), None, "/auth/login".into());
        let res = pages.confirm(
            "connect_confirm",
            "button_continue",
            &[("account", "<b>\"x'"), ("provider", "P&Q")],
        );
        assert_eq!(res.status(), StatusCode::OK);
        let h = res.headers();
        assert_eq!(h[http::header::CACHE_CONTROL], "no-store");
        assert_eq!(h[X_FRAME_OPTIONS], "DENY");
        assert_eq!(
            h[REFERRER_POLICY], "same-origin",
            "the button's POST carries its Origin"
        );
        let policy = h[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains("&lt;b&gt;&quot;x&#39;"), "{html}");
        assert!(html.contains("P&amp;Q"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("<form method=\"post\">"), "{html}");
        assert!(!html.contains("action="), "posts to its own URL: {html}");
    }
}
