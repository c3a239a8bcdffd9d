//! The HTTP plumbing every provider call shares (also vcita's platform API): capped
//! body reads, error bodies mapped to [`OAuthError`]. The client itself is built in
//! `http_client`.

use std::time::Duration;

use super::error;
use super::{Endpoint, ErrorCode, OAuthError};

/// Sends `request` and reads at most `limit` body bytes. Transport failures, the
/// `timeout` running out and oversized bodies are errors; every status is returned.
pub(crate) async fn read_response(
    endpoint: Endpoint,
    request: reqwest::RequestBuilder,
    limit: usize,
    timeout: Duration,
) -> Result<(u16, http::HeaderMap, bytes::Bytes), OAuthError> {
    let mut response = request
        .send()
        .await
        .map_err(|e| transport_error(endpoint, timeout, e))?;
    let status = response.status().as_u16();
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(OAuthError::BodyTooLarge { endpoint, limit });
    }
    let headers = std::mem::take(response.headers_mut());
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(endpoint, timeout, e))?
    {
        if body.len() + chunk.len() > limit {
            return Err(OAuthError::BodyTooLarge { endpoint, limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, headers, body.freeze()))
}

fn transport_error(endpoint: Endpoint, timeout: Duration, e: reqwest::Error) -> OAuthError {
    if e.is_timeout() {
        return OAuthError::Timeout { endpoint, timeout };
    }
    let e = e.without_url();
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    OAuthError::Transport { endpoint, reason }
}

/// Maps a non-2xx answer: an RFC 6749 §5.2 error body when there is one, else a
/// `Malformed` error with a masked excerpt. A 401 from the userinfo endpoint without a
/// body means the token was refused (RFC 6750 §3.1).
pub(crate) fn error_response(endpoint: Endpoint, status: u16, body: &[u8]) -> OAuthError {
    let parsed = serde_json::from_slice::<serde_json::Value>(body).ok();
    let code = parsed.as_ref().and_then(|v| v.get("error")?.as_str());
    if let Some(code) = code {
        let description = parsed
            .as_ref()
            .and_then(|v| v.get("error_description")?.as_str())
            .map(|d| error::sanitize(d, 200));
        return OAuthError::Provider {
            endpoint,
            status,
            error: ErrorCode::parse(code),
            description,
        };
    }
    if status == 401 && endpoint == Endpoint::Userinfo {
        return OAuthError::Provider {
            endpoint,
            status,
            error: ErrorCode::InvalidToken,
            description: None,
        };
    }
    let reason = if (300..400).contains(&status) {
        "unexpected redirect (redirects are not followed)".to_owned()
    } else {
        "expected a JSON error body (RFC 6749 §5.2)".to_owned()
    };
    OAuthError::Malformed {
        endpoint,
        status,
        reason,
        excerpt: error::excerpt(body),
    }
}

/// serde_json errors quote the offending value; keep only the category.
pub(crate) fn json_error_kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "a field has the wrong type or is missing",
        serde_json::error::Category::Eof => "truncated JSON",
    }
}
