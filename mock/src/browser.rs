//! A browser-less walk through the mock's login and consent pages over real HTTP.

use http::{HeaderValue, StatusCode, header};
use url::Url;

use super::MockUser;
use super::pages::{REQUEST_FIELD, SESSION_COOKIE};

/// The id of the element carrying the code on the copy-the-code page.
pub(crate) const CODE_ELEMENT: &str = "authorization-code";

/// Where a walk through the pages ended.
pub(crate) enum Outcome {
    /// A redirect, with its resolved `Location`.
    Redirect(Url),
    /// The copy-the-code page (a request without a redirect URI), with its HTML.
    CodePage(String),
}

/// Like [`walk_to_end`], for requests that end in a redirect: the copy-the-code page is
/// an error.
pub(crate) async fn walk(
    authorize_url: &str,
    user: &MockUser,
    decision: &str,
) -> Result<Url, String> {
    match walk_to_end(authorize_url, user, decision).await? {
        Outcome::Redirect(location) => Ok(location),
        Outcome::CodePage(_) => Err("the mock showed the copy-the-code page instead of \
             redirecting (the authorize URL has no redirect_uri); use authorize_for_code"
            .into()),
    }
}

/// Opens `authorize_url`, logs `user` in, answers the consent page with `decision`
/// (`allow` or `deny`) and returns the redirect's `Location` without following it, or
/// the copy-the-code page.
///
/// Like a browser, it posts each form to the form's `action`, so it walks the pages of
/// every flavor. reqwest's cookie store is not enabled for the library, so the session
/// cookie is carried by hand.
pub(crate) async fn walk_to_end(
    authorize_url: &str,
    user: &MockUser,
    decision: &str,
) -> Result<Outcome, String> {
    let start = Url::parse(authorize_url).map_err(|e| format!("bad authorize URL: {e}"))?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let send = |request: reqwest::RequestBuilder| async move {
        request
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))
    };

    let response = send(http.get(start.clone())).await?;
    if let Some(location) = location(&start, &response)? {
        return Ok(Outcome::Redirect(location));
    }
    let page = page_text(response, "authorize").await?;
    let request_id = hidden_field(&page, REQUEST_FIELD)
        .ok_or_else(|| "the authorize page carries no pending request id".to_owned())?;

    let login_url = form_url(&start, &page)?;
    let response = send(http.post(login_url.clone()).form(&[
        ("email", user.email.as_str()),
        ("password", user.password.as_str()),
        (REQUEST_FIELD, request_id.as_str()),
    ]))
    .await?;
    // A trusted client is sent back (or shown its code) straight after login.
    if let Some(location) = location(&login_url, &response)? {
        return Ok(Outcome::Redirect(location));
    }
    let cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.starts_with(&format!("{SESSION_COOKIE}=")))
        .map(str::to_owned);
    let page = page_text(response, "login").await?;
    if is_code_page(&page) {
        return Ok(Outcome::CodePage(page));
    }
    // Only the consent page asks for a decision; a login page again means refused.
    let Some(cookie) = cookie.filter(|_| page.contains("name=\"decision\"")) else {
        return Err("login was refused (wrong email or password?)".into());
    };

    let consent_url = form_url(&start, &page)?;
    let cookie = HeaderValue::from_str(&cookie).map_err(|e| e.to_string())?;
    let response = send(
        http.post(consent_url.clone())
            .header(header::COOKIE, cookie)
            .form(&[("decision", decision), (REQUEST_FIELD, request_id.as_str())]),
    )
    .await?;
    if let Some(location) = location(&consent_url, &response)? {
        return Ok(Outcome::Redirect(location));
    }
    let status = response.status();
    let page = page_text(response, "consent").await?;
    if is_code_page(&page) {
        Ok(Outcome::CodePage(page))
    } else {
        Err(format!(
            "the consent page answered {status} instead of a redirect"
        ))
    }
}

fn is_code_page(page: &str) -> bool {
    page.contains(&format!("<code id=\"{CODE_ELEMENT}\">"))
}

/// The text of `<code id="{id}">...</code>` on one of our pages, unescaped.
pub(crate) fn code_element(page: &str, id: &str) -> Option<String> {
    let marker = format!("<code id=\"{id}\">");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find("</code>")? + start;
    Some(unescape(&page[start..end]))
}

/// Undoes [`escape`](super::pages::escape).
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The resolved `Location` of a redirect, `None` for any other success.
fn location(base: &Url, response: &reqwest::Response) -> Result<Option<Url>, String> {
    let status = response.status();
    if status.is_redirection() {
        let value = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| format!("{status} without a Location header"))?;
        return base
            .join(value)
            .map(Some)
            .map_err(|e| format!("bad Location `{value}`: {e}"));
    }
    Ok(None)
}

async fn page_text(response: reqwest::Response, step: &str) -> Result<String, String> {
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| format!("reading the {step} page failed: {e}"))?;
    if status != StatusCode::OK {
        let snippet: String = text.chars().take(300).collect();
        return Err(format!("the {step} page answered {status}: {snippet}"));
    }
    Ok(text)
}

/// Where the page's form posts, resolved against `base`.
fn form_url(base: &Url, page: &str) -> Result<Url, String> {
    let action = attribute_after(page, "<form method=\"post\" action=\"")
        .ok_or_else(|| "the page has no form".to_owned())?;
    base.join(&action)
        .map_err(|e| format!("bad form action `{action}`: {e}"))
}

/// The text from after `marker` up to the next `"`.
fn attribute_after(page: &str, marker: &str) -> Option<String> {
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}

/// The value of `<input type="hidden" name="{name}" value="...">` on one of our pages.
/// Values are ids from an URL-safe alphabet, so no unescaping is needed.
pub(crate) fn hidden_field(page: &str, name: &str) -> Option<String> {
    attribute_after(page, &format!("name=\"{name}\" value=\""))
}
