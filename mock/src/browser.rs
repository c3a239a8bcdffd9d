//! A browser-less walk through the mock's login and consent pages over real HTTP, and the
//! [`MockProvider`] methods that play the browser with it.

use http::{HeaderValue, StatusCode, header};
use url::Url;

use crate::pages::{REQUEST_FIELD, SESSION_COOKIE};
use crate::{MockProvider, MockUser, UnknownUser};

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

/// The walker's client, built once per process: building one loads the system's CA
/// bundle (tens of milliseconds in a debug build), and the suites walk thousands of
/// logins. No idle connections are kept: a mock on a reused port is a new server.
fn walker() -> Result<reqwest::Client, String> {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    Ok(CLIENT.get_or_init(|| client).clone())
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
    let http = walker()?;
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

impl MockProvider {
    /// Plays the browser: opens `authorize_url`, logs the primary user
    /// ([`user`](Self::user)) in, clicks "Allow" and returns the redirect's `Location`
    /// (`redirect_uri?code=..&state=..`) without following it. When the mock answers
    /// the authorize request itself with an error redirect (`error=..`), that location
    /// is returned. An error page (unknown client, unregistered redirect URI) or a
    /// refused login is an `Err`, and so is the copy-the-code page (see
    /// [`authorize_for_code`](Self::authorize_for_code)).
    pub async fn authorize(&self, authorize_url: &str) -> Result<url::Url, String> {
        walk(authorize_url, &self.user(), "allow").await
    }

    /// Like [`authorize`](Self::authorize), but logs in as the known user with this
    /// login email (compared case-insensitively), with that user's password: the code
    /// in the returned location, and the tokens it is exchanged for, are that user's.
    /// An email no user has is an `Err` (the [`UnknownUser`] message), before any
    /// request is sent.
    ///
    /// ```
    /// use axum_oauth_login_mock::MockProvider;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = MockProvider::start().await?;
    /// let authorize = format!(
    ///     "{}/app/oauth/authorize?response_type=code&client_id={}&redirect_uri={}",
    ///     mock.base_url(),
    ///     mock.client_id(),
    ///     "http://127.0.0.1:3000/callback",
    /// );
    /// let callback = mock.authorize_as("staff@example.com", &authorize).await?;
    /// assert!(callback.query_pairs().any(|(k, _)| k == "code"));
    ///
    /// let err = mock.authorize_as("nobody@example.com", &authorize).await.unwrap_err();
    /// assert!(err.contains("nobody@example.com"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn authorize_as(&self, email: &str, authorize_url: &str) -> Result<url::Url, String> {
        let user = self
            .inner
            .shared
            .lock()
            .user(email)
            .cloned()
            .ok_or_else(|| {
                UnknownUser {
                    email: email.to_owned(),
                }
                .to_string()
            })?;
        walk(authorize_url, &user, "allow").await
    }

    /// The copy-the-code flow (Apicbase mode): opens `authorize_url`, which carries no
    /// `redirect_uri`, logs the primary user ([`user`](Self::user)) in, clicks "Allow"
    /// and returns the code the mock then shows on its page (in
    /// `<code id="authorization-code">`, the state in `<code id="state">`) instead of
    /// redirecting, like Apicbase does for apps with no redirect URL configured.
    ///
    /// The mock shows that page in Apicbase mode for an authorize request without
    /// `redirect_uri` from a client with no registered redirect URIs (a client with one
    /// is sent to it, as usual). The code is exchanged without a `redirect_uri`; a token
    /// request naming one is refused (`invalid_grant`), while codes issued for a
    /// `redirect_uri` still need it. The vcita mock has no such page: there an authorize
    /// request without `redirect_uri` gets a 400 error page, which is an `Err` here, as
    /// are a redirect (the URL carried a `redirect_uri`) and a refused login.
    ///
    /// ```
    /// use axum_oauth_login::{secret::{AuthorizationCode, CsrfState, PkceVerifier}, client::OAuthClient};
    /// use axum_oauth_login_mock::MockProvider;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = MockProvider::apicbase().start().await?;
    /// let client = OAuthClient::builder(mock.provider(), mock.client_id(), mock.client_secret())
    ///     .without_redirect_uri()
    ///     .build()?;
    /// let verifier = PkceVerifier::random();
    /// let url = client.authorize_url(&CsrfState::random(), Some(&verifier), None).await?;
    /// let code = mock.authorize_for_code(url.as_str()).await?;
    /// let tokens = client.exchange_code(AuthorizationCode::new(code), Some(&verifier)).await?;
    /// assert!(tokens.refresh_token().is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn authorize_for_code(&self, authorize_url: &str) -> Result<String, String> {
        match walk_to_end(authorize_url, &self.user(), "allow").await? {
            Outcome::CodePage(page) => code_element(&page, CODE_ELEMENT)
                .ok_or_else(|| "the code page carries no code".to_owned()),
            Outcome::Redirect(location) => Err(format!(
                "the mock redirected to {location} instead of showing the code \
                 (does the authorize URL carry a redirect_uri?)"
            )),
        }
    }

    /// Like [`authorize`](Self::authorize), but clicks "Deny": the location carries
    /// `error=access_denied`.
    pub async fn deny(&self, authorize_url: &str) -> Result<url::Url, String> {
        walk(authorize_url, &self.user(), "deny").await
    }
}
