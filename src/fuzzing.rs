//! Internal: entry points for the fuzz targets in `fuzz/`; not a public API.
//!
//! Thin wrappers over crate-internal parsers, compiled only under `cfg(fuzzing)` (set by
//! cargo-fuzz, never by a feature), so the fuzz targets reach them without widening the real API. Nothing here is
//! covered by semver.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use http::HeaderMap;

use crate::auth::AuthRejection;
use crate::client::{Introspection, OAuthClient, TokenSet, UserInfo};
use crate::clock::Clock;
use crate::error::ConfigError;
use crate::provider::Provider;
use crate::secret::AccessToken;
use crate::session::{
    Backend, CookieCodec, CookieKey, CookieNames, LoginUser, Refresher, SessionConfig, SessionData,
    SessionHandle,
};

/// The `Authorization: Bearer` parser the extractors and guards use.
#[doc(hidden)]
pub fn bearer_token(
    headers: &HeaderMap,
    realm: &str,
) -> Result<Option<AccessToken>, AuthRejection> {
    crate::auth::bearer_token(headers, realm)
}

/// The query parser of the login and callback routes: every value of each name.
#[doc(hidden)]
pub fn query_params(query: Option<&str>) -> HashMap<String, Vec<String>> {
    crate::routes::query_params(query)
}

/// Where the login route would send the browser back to for this query: its first
/// `return_to`, when [`safe_return_to`](crate::safe_return_to) accepts it.
#[doc(hidden)]
pub fn login_return_to(query: Option<&str>) -> Option<String> {
    let params = query_params(query);
    let first = params.get("return_to")?.first()?;
    crate::return_to::safe_return_to(first).map(str::to_owned)
}

/// [`safe_return_to`](crate::safe_return_to), for symmetry with the other entry points.
#[doc(hidden)]
pub fn safe_return_to(candidate: &str) -> Option<&str> {
    crate::return_to::safe_return_to(candidate)
}

/// A token endpoint's response body, as the client parses it (`now` in unix seconds).
/// The error is the parser's message (it names the field, never its value).
#[doc(hidden)]
pub fn token_set_from_json(body: &[u8], now: u64) -> Result<TokenSet, String> {
    TokenSet::from_json(body, now).map_err(|e| e.to_string())
}

/// An introspection response body, as the client parses it.
#[doc(hidden)]
pub fn introspection_from_json(body: &[u8]) -> Option<Introspection> {
    Introspection::from_json(body)
}

/// A userinfo response body, as the client parses it.
#[doc(hidden)]
pub fn user_info_from_json(body: &[u8]) -> Result<UserInfo, serde_json::Error> {
    serde_json::from_slice(body)
}

/// What a request's session cookie amounted to.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieOutcome {
    /// No session: no cookie, or an unreadable, tampered or expired one.
    NoSession,
    /// A valid session.
    Session,
    /// Undecided without awaiting (a store to ask or a refresh due); never for the
    /// cookie-backed sessions of a [`SessionProbe`].
    Pending,
}

/// The session cookie codec of a cookie-backed `OAuth` (vcita, fixed key, http), and a
/// genuine sealed session to mutate.
#[doc(hidden)]
pub struct SessionProbe {
    config: Arc<SessionConfig>,
    sealed: String,
}

impl std::fmt::Debug for SessionProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionProbe")
            .field("cookie_name", &self.config.cookie_name)
            .finish_non_exhaustive()
    }
}

impl SessionProbe {
    /// Builds the session configuration the way `OAuthBuilder::build` does for
    /// `OAuth::builder(Provider::vcita(), "id", "secret")
    /// .redirect_uri("http://127.0.0.1:3000/auth/callback")
    /// .cookie_key(CookieKey::from_bytes(&[7; 64]))`, and seals one session with it.
    pub fn new() -> Result<SessionProbe, ConfigError> {
        let clock = Clock::system();
        let client = OAuthClient::builder(Provider::vcita(), "id", "secret")
            .redirect_uri("http://127.0.0.1:3000/auth/callback")
            .clock(clock.clone())
            .build()?;
        let key = CookieKey::from_bytes(&[7; 64])?;
        let context = client.context();
        let codec = CookieCodec::new(key, false, context);
        let names = CookieNames::new("oauth_session", false);
        let refresher = Refresher::new(
            client,
            Duration::from_secs(60),
            Duration::from_secs(10),
            clock.clone(),
        );
        let config = Arc::new(SessionConfig::new(
            codec,
            names.session,
            (86_400, None),
            clock.clone(),
            Backend::Cookie,
            refresher,
        ));
        let mut tokens = serde_json::Map::new();
        tokens.insert("access_token".into(), "fuzz-access-token".into());
        tokens.insert("refresh_token".into(), "fuzz-refresh-token".into());
        let tokens = serde_json::to_vec(&tokens).expect("a JSON object serialises");
        let tokens = TokenSet::from_json(&tokens, clock.now()).expect("a valid token response");
        let data = SessionData::start(tokens, LoginUser::None, None, clock.now(), 86_400);
        // Sealed the way a login does it: start the session on a request without a
        // cookie (no await with cookie sessions) and take the value of the `Set-Cookie`.
        let handle = SessionHandle::from_headers(config.clone(), &HeaderMap::new());
        let started = handle.start(data).now_or_never();
        assert!(
            matches!(started, Some(Ok(()))),
            "a small cookie session starts without awaiting"
        );
        let sealed: String = handle
            .set_cookie_headers()
            .iter()
            .filter_map(|set_cookie| {
                let pair = set_cookie.split(';').next()?;
                Some(pair.split_once('=')?.1.to_owned())
            })
            .collect();
        assert!(!sealed.is_empty(), "a session cookie is set");
        Ok(SessionProbe { config, sealed })
    }

    /// The session cookie's name.
    pub fn cookie_name(&self) -> &str {
        &self.config.cookie_name
    }

    /// A genuine sealed session (the value of the session cookie), to mutate.
    pub fn sealed_session(&self) -> &str {
        &self.sealed
    }

    /// Reads the session of a request with these headers, as the layer does, and builds
    /// the `Set-Cookie` values the layer would send back; each must be a valid header
    /// value (the layer drops invalid ones, which would leave a bad cookie in place).
    pub fn check(&self, headers: &HeaderMap) -> CookieOutcome {
        let handle = SessionHandle::from_headers(self.config.clone(), headers);
        let outcome = match handle.get_if_current() {
            None => CookieOutcome::Pending,
            Some(None) => CookieOutcome::NoSession,
            Some(Some(data)) => {
                assert!(
                    !data.tokens.access_token().secret().is_empty(),
                    "an opened session has an access token"
                );
                CookieOutcome::Session
            }
        };
        for set_cookie in handle.set_cookie_headers() {
            assert!(
                http::HeaderValue::try_from(set_cookie.as_str()).is_ok(),
                "Set-Cookie is a valid header value: {set_cookie:?}"
            );
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use http::header::COOKIE;

    use super::*;

    /// The fuzz targets' probe tells the two outcomes apart (it follows the codec).
    #[test]
    fn the_probe_opens_its_genuine_session_only() {
        let probe = SessionProbe::new().unwrap();
        let with = |cookie: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(COOKIE, cookie.parse().unwrap());
            probe.check(&headers)
        };
        let name = probe.cookie_name();
        let genuine = format!("{name}={}", probe.sealed_session());
        assert_eq!(with(&genuine), CookieOutcome::Session);
        assert_eq!(
            with(&genuine[..genuine.len() - 1]),
            CookieOutcome::NoSession
        );
        assert_eq!(with(&format!("{name}=garbage")), CookieOutcome::NoSession);
        assert_eq!(probe.check(&HeaderMap::new()), CookieOutcome::NoSession);
    }
}
