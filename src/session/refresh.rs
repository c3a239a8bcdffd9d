//! Refreshing a session's tokens before they expire.
//!
//! * **Single-flight**: refreshes are keyed by the SHA-256 of the refresh token being
//!   spent, and run through moka's `try_get_with`, so concurrent requests of one session
//!   share one call to the token endpoint.
//! * **Rotation-safe**: the result stays cached under the *old* refresh token for a grace
//!   window. A request that still carries the pre-refresh cookie (sent before the browser
//!   saw the new one) gets the refreshed token set instead of spending a refresh token the
//!   provider has already rotated away — which would fail with `invalid_grant` and log the
//!   user out.
//! * `invalid_grant` ends the session; a transient failure keeps the current token while
//!   it is still valid, and otherwise answers "unavailable" without ending the session.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::SessionData;
use crate::client::{Endpoint, OAuthClient, OAuthError, TokenSet};
use crate::clock::Clock;

/// What [`Refresher::ensure_fresh`] decided.
pub(crate) enum Freshness {
    /// The session's tokens are good to use as they are.
    Current(Arc<SessionData>),
    /// New tokens: store this session.
    Refreshed(Box<SessionData>),
    /// The session cannot continue (refresh refused, or expired without a refresh token).
    Ended,
    /// The provider could not refresh right now and the access token has expired.
    Unavailable,
}

/// Refreshes expiring sessions; one per [`OAuth`](crate::OAuth).
#[derive(Clone)]
pub(crate) struct Refresher {
    client: OAuthClient,
    skew_secs: u64,
    clock: Clock,
    results: moka::future::Cache<[u8; 32], TokenSet>,
}

impl std::fmt::Debug for Refresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresher")
            .field("skew_secs", &self.skew_secs)
            .finish_non_exhaustive()
    }
}

impl Refresher {
    pub(crate) fn new(client: OAuthClient, skew: Duration, grace: Duration, clock: Clock) -> Self {
        Refresher {
            client,
            skew_secs: skew.as_secs(),
            clock,
            results: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(grace.max(Duration::from_secs(1)))
                .build(),
        }
    }

    /// Whether the session's access token is inside the refresh window.
    pub(crate) fn is_due(&self, data: &SessionData) -> bool {
        data.tokens.expires_within(self.clock.now(), self.skew_secs)
    }

    /// Returns the session with usable tokens, refreshing them first when they expire
    /// within the skew.
    pub(crate) async fn ensure_fresh(&self, data: Arc<SessionData>) -> Freshness {
        if !self.is_due(&data) {
            return Freshness::Current(data);
        }
        let expired = data.tokens.is_expired(self.clock.now());
        let Some(refresh_token) = data.tokens.refresh_token() else {
            return if expired {
                tracing::info!(
                    "access token expired and there is no refresh token; ending the session"
                );
                Freshness::Ended
            } else {
                Freshness::Current(data)
            };
        };
        let key: [u8; 32] = Sha256::digest(refresh_token.secret().as_bytes()).into();
        let client = self.client.clone();
        let spent = refresh_token.clone();
        let result = self
            .results
            .try_get_with(key, async move {
                // Detached: when the request that started the refresh is dropped (tab
                // closed, client gone), the refresh still completes and lands in the cache.
                // Retrying instead would spend a refresh token the provider has already
                // rotated away, and log the user out.
                tokio::spawn(async move { client.refresh(&spent).await })
                    .await
                    .unwrap_or_else(|e| {
                        Err(OAuthError::Transport {
                            endpoint: Endpoint::Token,
                            reason: format!("the refresh task failed: {e}"),
                        })
                    })
            })
            .await;
        match result {
            Ok(tokens) => {
                tracing::debug!("session tokens refreshed");
                let mut next = (*data).clone();
                next.tokens = tokens;
                Freshness::Refreshed(Box::new(next))
            }
            Err(e) if e.is_invalid_grant() => {
                tracing::info!(error = %e, "refresh refused; ending the session");
                Freshness::Ended
            }
            Err(e) => self.keep_or_fail(data, expired, &e),
        }
    }

    /// A refresh that failed for a reason the user cannot fix by logging in again
    /// (provider down, timeout, misconfiguration): keep going on the current token while
    /// it lasts, then answer "unavailable" — never end the session for it.
    fn keep_or_fail(&self, data: Arc<SessionData>, expired: bool, e: &OAuthError) -> Freshness {
        if e.is_transient() {
            tracing::warn!(error = %e, expired, "token refresh failed; will retry on a later request");
        } else {
            tracing::error!(error = %e, expired, "token refresh failed");
        }
        if expired {
            Freshness::Unavailable
        } else {
            Freshness::Current(data)
        }
    }
}
