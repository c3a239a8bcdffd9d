//! vcita's platform API: registering an OAuth app, which gives the client id and
//! secret that "Log in with vcita" needs.
//!
//! vcita creates apps with `POST /platform/v1/apps` and a *directory* token. The answer
//! carries the client secret once and never again, so store it at once.
//!
//! ```
//! use axum_oauth_login::secret::AccessToken;
//! use axum_oauth_login::vcita::{AppRegistration, VcitaApi};
//! use axum_oauth_login_mock::MockProvider;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The mock (crate `axum-oauth-login-mock`) stands in for vcita here; `VcitaApi::new()`
//! // talks to api.vcita.biz.
//! let mock = MockProvider::start().await?;
//! let api = VcitaApi::with_base_url(&mock.base_url())?;
//! let directory_token = AccessToken::new(mock.directory_token());
//!
//! let app = AppRegistration::new("My OAuth App", "myoauthapp", "https://myapp.example.com/oauth/callback");
//! let registered = api.register_app(&directory_token, &app).await?;
//! assert_eq!(registered.app_code_name, "myoauthapp");
//! // `registered.client_secret.secret()` is shown this once: store it now.
//! assert!(!format!("{registered:?}").contains(registered.client_secret.secret()));
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use http::HeaderValue;
use http::header::{ACCEPT, AUTHORIZATION};
use serde::Serialize;
use serde_json::{Map, Value};

use answer::{api_error, clean, registered_app, validation_errors};
use url::Url;

use crate::client::DEFAULT_MAX_BODY_BYTES;
use crate::error::ConfigError;
use crate::provider::{parse_endpoint, parse_secure_endpoint};
use crate::secret::{AccessToken, ClientSecret};
use crate::transport::{Endpoint, HttpConfig, OAuthError, http_client, read_response};

/// Field name → messages, for validation failures.
type FieldErrors = BTreeMap<String, Vec<String>>;

mod answer;
mod roles;

pub use self::roles::{any_role, role};

/// The app to register: what `POST /platform/v1/apps` takes.
///
/// ```
/// use axum_oauth_login::vcita::AppRegistration;
/// let app = AppRegistration::new("My OAuth App", "myoauthapp", "https://myapp.example.com/cb");
/// assert_eq!(app.scopes, ["openid"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppRegistration {
    /// The name users see on the consent page. Must not be empty.
    pub name: String,
    /// A unique code name: letters and digits only.
    pub app_code_name: String,
    /// Where vcita sends users back after login: an absolute `http`/`https` URL.
    pub redirect_uri: String,
    /// Scopes the app may ask for.
    pub scopes: Vec<String>,
}

impl AppRegistration {
    /// An app with the `openid` scope, as in vcita's example.
    pub fn new(
        name: impl Into<String>,
        app_code_name: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        AppRegistration {
            name: name.into(),
            app_code_name: app_code_name.into(),
            redirect_uri: redirect_uri.into(),
            scopes: vec!["openid".into()],
        }
    }

    /// What is wrong with this registration, checked before any request.
    fn problems(&self) -> FieldErrors {
        let mut errors = FieldErrors::new();
        let mut add = |field: &str, message: String| {
            errors.entry(field.to_owned()).or_default().push(message);
        };
        if self.name.trim().is_empty() {
            add("name", "can't be blank".into());
        }
        if self.app_code_name.is_empty() {
            add("app_code_name", "can't be blank".into());
        } else if !self
            .app_code_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric())
        {
            add(
                "app_code_name",
                "may contain only letters and digits (a-z, A-Z, 0-9)".into(),
            );
        }
        match parse_endpoint("redirect_uri", &self.redirect_uri) {
            Err(e) => add("redirect_uri", e.reason().to_owned()),
            Ok(url) if url.fragment().is_some() => {
                add("redirect_uri", "must not contain a fragment".into());
            }
            Ok(_) => {}
        }
        for scope in &self.scopes {
            if scope.is_empty() || scope.chars().any(|c| c.is_whitespace() || c.is_control()) {
                add(
                    "scopes",
                    format!("`{}` is not a scope name", clean(scope, 64, None)),
                );
            }
        }
        errors
    }
}

/// A registered app, as vcita answered.
///
/// `Debug` shows no secret and only the names of [`extra`](Self::extra) members;
/// `Display` shows the code name, app id and client id.
///
/// ```
/// use axum_oauth_login::secret::ClientSecret;
/// use axum_oauth_login::vcita::RegisteredApp;
/// let app = RegisteredApp {
///     app_id: "app-1".into(),
///     client_id: "c1".into(),
///     client_secret: ClientSecret::new("s3cr3t"),
///     app_code_name: "myapp".into(),
///     extra: Default::default(),
/// };
/// assert_eq!(app.to_string(), "vcita app `myapp` (app id app-1, client id c1)");
/// assert!(!format!("{app:?}").contains("s3cr3t"));
/// ```
#[derive(Clone)]
pub struct RegisteredApp {
    /// vcita's id of the app (empty if the answer had none).
    pub app_id: String,
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret. vcita shows it once: store it now.
    pub client_secret: ClientSecret,
    /// The app's code name.
    pub app_code_name: String,
    /// Every other member of the answer's `data` (name, redirect URI, scopes, ...).
    pub extra: Map<String, Value>,
}

impl fmt::Debug for RegisteredApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredApp")
            .field("app_id", &self.app_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("app_code_name", &self.app_code_name)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl fmt::Display for RegisteredApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "vcita app `{}` (app id {}, client id {})",
            self.app_code_name, self.app_id, self.client_id
        )
    }
}

/// Why an app could not be registered. No variant carries a token or secret.
///
/// ```
/// use std::collections::BTreeMap;
/// use axum_oauth_login::vcita::RegisterError;
/// let err = RegisterError::Invalid {
///     errors: BTreeMap::from([("app_code_name".into(), vec!["has already been taken".into()])]),
/// };
/// assert!(err.to_string().contains("app_code_name: has already been taken"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// vcita answered 401: the directory token was refused.
    #[error(
        "vcita refused the directory token (401): use a current directory token \
         (a staff or business token cannot create apps)"
    )]
    Unauthorized,
    /// The registration was invalid: checked locally (then nothing was sent), or
    /// refused by vcita with 422 or 400.
    #[error(
        "the app registration is invalid: {}; fix these and try again",
        summary(errors)
    )]
    Invalid {
        /// Field (`name`, `app_code_name`, `redirect_uri`, `scopes`,
        /// `directory_token`, or `base` for the whole request) → messages.
        errors: BTreeMap<String, Vec<String>>,
    },
    /// Transport failure, timeout, oversized or malformed answer, or another status.
    #[error("registering the app with vcita failed: {0}")]
    Api(#[from] OAuthError),
}

fn summary(errors: &FieldErrors) -> String {
    errors
        .iter()
        .map(|(field, messages)| format!("{field}: {}", messages.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A small client for vcita's platform API, with the same safety as
/// [`OAuthClient`](crate::client::OAuthClient): 5 s connect and 10 s total timeouts, no
/// redirects followed, response bodies capped at 1 MiB.
///
/// ```
/// use axum_oauth_login::vcita::VcitaApi;
/// let api = VcitaApi::new()?;
/// assert!(VcitaApi::with_base_url("not a url").is_err());
/// # Ok::<(), axum_oauth_login::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct VcitaApi {
    http: reqwest::Client,
    apps_url: Url,
    timeout: Duration,
}

impl fmt::Debug for VcitaApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VcitaApi")
            .field("apps_url", &self.apps_url.as_str())
            .finish_non_exhaustive()
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const TIMEOUT: Duration = Duration::from_secs(10);

impl VcitaApi {
    /// vcita's API host.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.vcita.biz";

    /// A client for [`DEFAULT_BASE_URL`](Self::DEFAULT_BASE_URL).
    pub fn new() -> Result<Self, ConfigError> {
        Self::with_base_url(Self::DEFAULT_BASE_URL)
    }

    /// A client for another host (a sandbox, or the `MockProvider` of crate
    /// `axum-oauth-login-mock` for a dry run): an absolute `https` URL (plain `http` only
    /// on loopback) without query or fragment; a path is kept.
    pub fn with_base_url(base_url: &str) -> Result<Self, ConfigError> {
        Self::build(base_url, &HttpConfig::default())
    }

    /// [`with_base_url`](Self::with_base_url) with the app's configuration of the HTTP
    /// client (a proxy, roots, its own TLS, default headers), applied before the crate's
    /// settings: redirects stay off (the directory token must not follow one) and the
    /// timeouts stay 5 s and 10 s.
    ///
    /// ```
    /// use axum_oauth_login::vcita::VcitaApi;
    /// let api = VcitaApi::with_http_client(VcitaApi::DEFAULT_BASE_URL, |http| http.no_proxy())?;
    /// # drop(api);
    /// # Ok::<(), axum_oauth_login::ConfigError>(())
    /// ```
    pub fn with_http_client<F>(base_url: &str, configure: F) -> Result<Self, ConfigError>
    where
        F: Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync + 'static,
    {
        Self::build(base_url, &HttpConfig::new(configure))
    }

    fn build(base_url: &str, http: &HttpConfig) -> Result<Self, ConfigError> {
        // https, or loopback: the directory token travels to it.
        let mut apps_url = parse_secure_endpoint("base_url", base_url)?;
        if apps_url.query().is_some() || apps_url.fragment().is_some() {
            return Err(ConfigError::new(
                "base_url",
                "must not contain a query or fragment",
            ));
        }
        let path = format!("{}/platform/v1/apps", apps_url.path().trim_end_matches('/'));
        apps_url.set_path(&path);
        Ok(VcitaApi {
            http: http_client(CONNECT_TIMEOUT, TIMEOUT, http)?,
            apps_url,
            timeout: TIMEOUT,
        })
    }

    /// Registers `app` with a directory token (`POST /platform/v1/apps`).
    ///
    /// The registration is checked first; an invalid one (or an empty directory token)
    /// is [`RegisterError::Invalid`] without a request. Never retried: a second try
    /// could register the app twice.
    pub async fn register_app(
        &self,
        directory_token: &AccessToken,
        app: &AppRegistration,
    ) -> Result<RegisteredApp, RegisterError> {
        let mut errors = app.problems();
        let auth = bearer(directory_token, &mut errors);
        let Some(auth) = auth.filter(|_| errors.is_empty()) else {
            return Err(RegisterError::Invalid { errors });
        };
        let request = self
            .http
            .post(self.apps_url.clone())
            .header(AUTHORIZATION, auth)
            .header(ACCEPT, "application/json")
            .json(app);
        let (status, _, body) =
            read_response(Endpoint::Api, request, DEFAULT_MAX_BODY_BYTES, self.timeout).await?;
        let token = directory_token.secret();
        match status {
            200..=299 => Ok(registered_app(status, &body, app)?),
            401 => Err(RegisterError::Unauthorized),
            400 | 422 => match validation_errors(&body, token) {
                Some(errors) => Err(RegisterError::Invalid { errors }),
                None => Err(api_error(status, &body, token).into()),
            },
            _ => Err(api_error(status, &body, token).into()),
        }
    }
}

/// `Bearer <token>` marked sensitive, or a `directory_token` problem.
fn bearer(token: &AccessToken, errors: &mut FieldErrors) -> Option<HeaderValue> {
    let mut problem = |message: &str| {
        errors
            .entry("directory_token".into())
            .or_default()
            .push(message.into());
        None
    };
    if token.secret().trim().is_empty() {
        return problem("is empty");
    }
    match HeaderValue::try_from(format!("Bearer {}", token.secret())) {
        Ok(mut value) => {
            value.set_sensitive(true);
            Some(value)
        }
        Err(_) => problem("has characters an HTTP header cannot carry"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_validation_names_each_field() {
        let app = AppRegistration {
            name: " ".into(),
            app_code_name: "my-app".into(),
            redirect_uri: "/relative".into(),
            scopes: vec!["openid".into(), "a b".into()],
        };
        let errors = app.problems();
        let fields: Vec<_> = errors.keys().map(String::as_str).collect();
        assert_eq!(fields, ["app_code_name", "name", "redirect_uri", "scopes"]);
        assert!(
            AppRegistration::new("x", "x1", "https://a.example/cb#frag")
                .problems()
                .contains_key("redirect_uri")
        );
        assert!(
            AppRegistration::new("x", "x1", "ftp://a.example/")
                .problems()
                .contains_key("redirect_uri")
        );
        assert!(
            AppRegistration::new("x", "x1", "http://127.0.0.1:9/cb")
                .problems()
                .is_empty()
        );
    }
}
