//! Calling the provider's API as the user: [`ProviderApi`] attaches the session's (or a
//! connected account's) token to requests for the provider's API base — and nowhere
//! else — refreshing first when the token is due, and once more after a `401`.

mod error;
mod path;

use std::sync::Arc;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::auth::RequestSession;
use crate::client::TokenSet;
use crate::client::{Endpoint, OAuthClient};
use crate::secret::AccessToken;
use crate::session::{SessionData, Vault};

pub use self::error::ApiError;

/// Largest API response body read (16 MiB).
const MAX_API_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Whose token a [`ProviderApi`] sends.
#[derive(Clone)]
enum Source {
    /// The request's login session: refreshed tokens go back into the session (the
    /// cookie re-sealed on the response, or the store record updated).
    Session(RequestSession),
    /// A connected account in the vault.
    Account { vault: Arc<Vault>, account: String },
}

/// The provider's API, as one user or connected account: from
/// [`AuthSession::api`](crate::AuthSession::api) or
/// [`Connections::api`](crate::connections::Connections::api).
///
/// * The token goes **only** to the provider's API base
///   ([`ProviderBuilder::api_base`](crate::provider::ProviderBuilder::api_base); vcita:
///   `https://api.vcita.biz`, Apicbase: `https://api.apicbase.com/api/v1`): paths are
///   relative to it, and absolute URLs, other hosts, dot segments (`..`, `%2e%2e`,
///   `..;x`, `%252e%252e`: each segment is decoded until it no longer changes) and
///   encoded separators (`%2F`, `%5C`) in the path are refused before anything is sent
///   ([`ApiError::InvalidPath`]); queries may carry anything. Redirects are not
///   followed.
/// * A token due for refresh is refreshed before the call, through the same
///   single-flight (and, with a server-side store, the same store lock) as the layer's
///   refreshes: 20 parallel calls at expiry make one refresh.
/// * A `401` refreshes once and retries once (bodies are buffered, so every request can
///   be replayed); a second `401` is [`ApiError::Unauthorized`], never a loop.
/// * No error or log line carries the token.
///
/// ```no_run
/// use axum_oauth_login::{AuthSession, api::ApiError};
///
/// async fn business(session: AuthSession) -> Result<String, ApiError> {
///     let id = session.user().and_then(|u| u.business_id.clone()).unwrap_or_default();
///     let answer = session.api().get(&format!("platform/v1/businesses/{id}")).send().await?;
///     Ok(answer.text())
/// }
/// ```
#[derive(Clone)]
pub struct ProviderApi {
    client: OAuthClient,
    source: Source,
}

impl std::fmt::Debug for ProviderApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderApi")
            .field("base", &self.client.provider().api_base().map(Url::as_str))
            .finish_non_exhaustive()
    }
}

impl ProviderApi {
    pub(crate) fn for_session(rs: RequestSession) -> ProviderApi {
        ProviderApi {
            client: rs.shared.client.clone(),
            source: Source::Session(rs),
        }
    }

    pub(crate) fn for_account(client: OAuthClient, vault: Arc<Vault>, account: String) -> Self {
        ProviderApi {
            client,
            source: Source::Account { vault, account },
        }
    }

    /// A request to `path`, relative to the API base.
    pub fn request(&self, method: Method, path: &str) -> ApiRequest {
        ApiRequest {
            api: self.clone(),
            method,
            path: path.to_owned(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            error: None,
        }
    }
    /// `GET path`.
    pub fn get(&self, path: &str) -> ApiRequest {
        self.request(Method::GET, path)
    }
    /// `POST path`.
    pub fn post(&self, path: &str) -> ApiRequest {
        self.request(Method::POST, path)
    }
    /// `PUT path`.
    pub fn put(&self, path: &str) -> ApiRequest {
        self.request(Method::PUT, path)
    }
    /// `PATCH path`.
    pub fn patch(&self, path: &str) -> ApiRequest {
        self.request(Method::PATCH, path)
    }
    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> ApiRequest {
        self.request(Method::DELETE, path)
    }

    /// `path` under the API base, or why not.
    fn url(&self, path: &str) -> Result<Url, ApiError> {
        let base = self
            .client
            .provider()
            .api_base()
            .ok_or(ApiError::NotConfigured)?;
        path::under_base(base, path)
    }

    /// The tokens to call with, refreshed first when due.
    async fn tokens(&self) -> Result<Arc<SessionData>, ApiError> {
        match &self.source {
            Source::Session(rs) => rs
                .handle
                .get_fresh()
                .await
                .map_err(ApiError::from)?
                .ok_or(ApiError::NoSession),
            Source::Account { vault, account } => Ok(vault.fresh(account).await?),
        }
    }

    /// After the API refused `stale`: new tokens, or `None` when there is nothing to
    /// refresh with (no refresh token).
    async fn after_unauthorized(
        &self,
        stale: &AccessToken,
    ) -> Result<Option<Arc<SessionData>>, ApiError> {
        let data = match &self.source {
            Source::Session(rs) => rs
                .handle
                .refresh_now(stale)
                .await
                .map_err(ApiError::from)?
                .ok_or(ApiError::NoSession)?,
            Source::Account { vault, account } => vault.refresh_now(account, stale).await?,
        };
        Ok((data.tokens.access_token().secret() != stale.secret()).then_some(data))
    }
}

/// One API request; [`send`](ApiRequest::send) it.
#[must_use]
pub struct ApiRequest {
    api: ProviderApi,
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Option<(Bytes, HeaderValue)>,
    /// A builder mistake, reported by `send`.
    error: Option<ApiError>,
}

impl std::fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ApiRequest {
    /// Adds a query parameter.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }
    /// Adds a header. `Authorization` is the crate's: setting it is an error.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        if name == AUTHORIZATION {
            self.error = Some(ApiError::InvalidRequest {
                reason: "the Authorization header is set by the crate",
            });
        } else {
            self.headers.append(name, value);
        }
        self
    }
    /// A JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                self.body = Some((
                    Bytes::from(bytes),
                    HeaderValue::from_static("application/json"),
                ));
            }
            Err(_) => {
                self.error = Some(ApiError::InvalidRequest {
                    reason: "the body does not serialise to JSON",
                });
            }
        }
        self
    }
    /// A form body (`application/x-www-form-urlencoded`) of `pairs`.
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let text = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.body = Some((
            Bytes::from(text),
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        ));
        self
    }

    /// Sends the request with the user's token: refreshed first when due; after a `401`,
    /// refreshed once and sent once more. Any other status is the API's answer, returned
    /// as it is.
    pub async fn send(self) -> Result<ApiResponse, ApiError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let mut url = self.api.url(&self.path)?;
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&self.query);
        }
        let data = self.api.tokens().await?;
        let first = self.send_once(&url, &data.tokens).await?;
        if first.status != StatusCode::UNAUTHORIZED {
            return Ok(first);
        }
        let Some(next) = self
            .api
            .after_unauthorized(data.tokens.access_token())
            .await?
        else {
            return Err(ApiError::Unauthorized);
        };
        let second = self.send_once(&url, &next.tokens).await?;
        if second.status == StatusCode::UNAUTHORIZED {
            tracing::warn!("the provider's API refused a freshly refreshed token");
            return Err(ApiError::Unauthorized);
        }
        Ok(second)
    }

    /// [`send`](Self::send), then the body as JSON of a `2xx` answer; another status is
    /// [`ApiError::Status`].
    pub async fn send_json<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        let answer = self.send().await?;
        if !answer.status.is_success() {
            return Err(ApiError::Status {
                status: answer.status.as_u16(),
            });
        }
        answer.json()
    }

    /// One request with `tokens`' access token (a DPoP-bound one with a fresh proof, and
    /// once more with the server's nonce when it asks for one).
    async fn send_once(&self, url: &Url, tokens: &TokenSet) -> Result<ApiResponse, ApiError> {
        let client = &self.api.client;
        let mut retried = false;
        let (status, headers, mut response) = loop {
            let auth = client
                .resource_headers(
                    Endpoint::Api,
                    &self.method,
                    url,
                    tokens.access_token(),
                    tokens.dpop_jkt(),
                )
                .map_err(|e| {
                    tracing::error!(error = %e, "an API request could not be authorized");
                    ApiError::InvalidRequest {
                        reason: "the token cannot be sent (see the log)",
                    }
                })?;
            let mut request = client
                .http()
                .request(self.method.clone(), url.clone())
                .headers(self.headers.clone());
            for (name, value) in auth {
                request = request.header(name, value);
            }
            if let Some((body, content_type)) = &self.body {
                request = request
                    .header(CONTENT_TYPE, content_type.clone())
                    .body(body.clone());
            }
            let mut response = request.send().await.map_err(ApiError::transport)?;
            let status = response.status();
            let headers = std::mem::take(response.headers_mut());
            if tokens.dpop_jkt().is_some()
                && !retried
                && client.resource_retry(url, status.as_u16(), &headers)
            {
                retried = true;
                continue;
            }
            break (status, headers, response);
        };
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(ApiError::transport)? {
            if body.len() + chunk.len() > MAX_API_BODY_BYTES {
                return Err(ApiError::BodyTooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(ApiResponse {
            status,
            headers,
            body: Bytes::from(body),
        })
    }
}

/// The API's answer: status, headers and the whole body (up to 16 MiB).
#[derive(Debug, Clone)]
pub struct ApiResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl ApiResponse {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// The body.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body).map_err(|e| ApiError::Malformed {
            reason: format!(
                "the answer does not fit `{}`: {}",
                std::any::type_name::<T>(),
                crate::transport::misfit(&e)
            ),
        })
    }
}
