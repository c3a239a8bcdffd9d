//! The login, callback and logout routes.
//!
//! A login is a small state machine kept in two kinds of cookie:
//! *pending* — one encrypted flow cookie per login attempt ({state, PKCE verifier,
//! return_to, started_at}), named after a hash of its state so two tabs logging in at
//! once do not clash — and *authenticated* — the session cookie the callback writes.

mod callback;
mod login;
mod logout;

pub(crate) use logout::end_tokens;
mod pages;
mod return_to;

use std::collections::HashMap;

use axum::Router;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

#[cfg(feature = "test-util")]
pub(crate) use pages::escape;
pub use return_to::safe_return_to;

use crate::oauth::OAuth;
use crate::secret::{CsrfState, PkceVerifier};
use crate::session::CookieCodec;

/// How login flows are kept: cookie names, path, lifetime, how many at once.
#[derive(Clone, Debug)]
pub(crate) struct FlowConfig {
    pub(crate) codec: CookieCodec,
    pub(crate) cookie_prefix: String,
    pub(crate) path: String,
    pub(crate) ttl_secs: u64,
    pub(crate) max_pending: usize,
}

/// The first state of a login: what the callback needs to finish it.
#[derive(Serialize, Deserialize)]
pub(crate) struct LoginFlow {
    pub(crate) state: CsrfState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) verifier: Option<PkceVerifier>,
    pub(crate) return_to: String,
    pub(crate) started_at: u64,
    /// Start order among this browser's pending logins (system nanoseconds): several
    /// logins can start within one second, and the cap must drop the oldest.
    #[serde(default)]
    pub(crate) order: u64,
}

impl FlowConfig {
    /// The flow cookie's name for a state: a prefix and 16 hex digits of SHA-256(state).
    /// The state itself stays out of the name.
    pub(crate) fn cookie_name(&self, state: &str) -> String {
        let digest = Sha256::digest(state.as_bytes());
        let mut name = self.cookie_prefix.clone();
        for b in &digest[..8] {
            name.push_str(&format!("{b:02x}"));
        }
        name
    }
}

/// The routes of one [`OAuth`], with its layer applied so they work even when the app
/// forgets `.layer(oauth.layer())`.
pub(crate) fn router<S>(oauth: OAuth) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let inner = &oauth.inner;
    Router::new()
        .route(&inner.login_path, get(login::login))
        .route(&inner.callback_path, get(callback::callback))
        .route(&inner.logout_path, post(logout::logout))
        .layer(oauth.layer())
        .with_state(oauth)
}

/// Parses a query string keeping every value of each name, so duplicates can be refused
/// instead of silently picking one (RFC 6749 §3.1: parameters must not repeat).
pub(crate) fn query_params(query: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        params
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    params
}
