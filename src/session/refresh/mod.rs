//! Refreshing a session's tokens before they expire.
//!
//! * **Single-flight, owned by the refresh itself**: a refresh is keyed by the SHA-256 of
//!   the refresh token being spent. The first request to need it spawns a task that calls
//!   the token endpoint and writes the outcome into the table *itself*; requests only
//!   await a shared handle to that task. A request that is dropped mid-refresh (client
//!   gone, a timeout layer, an HTTP/2 reset) therefore loses nothing: the outcome still
//!   lands in the table, and the next request with the same cookie reads it instead of
//!   spending the rotated-away refresh token a second time.
//! * **Rotation-safe**: a successful outcome stays in the table for a grace window. A
//!   request that still carries the pre-refresh cookie (sent before the browser saw the
//!   new one) gets the refreshed token set instead of spending a refresh token the
//!   provider has already rotated away — which would fail with `invalid_grant` and log the
//!   user out. Logout takes the entry out and revokes what it holds.
//! * **Failures by cause**: `invalid_grant` / `invalid_scope` end the session. Anything
//!   else keeps the session (the current token while it is valid, "unavailable" after)
//!   and backs off per session, so an expired session does not call the token endpoint
//!   on every request: transient failures (timeouts, 5xx, 429) retry after 1 s, doubling
//!   up to a minute; client errors (`invalid_client`, `unauthorized_client`, a malformed
//!   answer: an operator's mistake such as a rotated secret) after 30 s, doubling up to
//!   ten minutes, and are logged as errors naming the cause.
//! * **Delete wins**: a store-held session is re-read before its refresh token is spent
//!   and written back with a compare-and-set against what was read ([`stored`]): a
//!   logout or disconnect that lands meanwhile is never undone, and what the refresh got
//!   is revoked.
//! * **Cookie sessions on several instances**: with a shared store configured (the
//!   back-channel denylist's), refreshes are coordinated through it ([`shared`]): its lock,
//!   and the sealed outcome kept for the grace window, so another instance adopts the new
//!   tokens instead of spending a rotated-away refresh token. Without one, a refresh the
//!   provider refuses with `invalid_grant` while the access token is still valid keeps
//!   the session on that token (most likely another instance refreshed first) and never
//!   presents the refused token again; the session ends when the access token expires.

mod failure;
mod lock;
mod shared;
mod stored;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::{BoxFuture, FutureExt as _, Shared};

use sha2::{Digest as _, Sha256};

use self::failure::{Failure, spent_elsewhere};
use self::shared::Shared as SharedOutcomes;
use self::stored::Persist;
use super::{CookieCodec, SessionConfig, SessionData, TimedStore};
use crate::client::{OAuthClient, TokenSet};
use crate::clock::Clock;
use crate::secret::RefreshToken;
use crate::transport::{Endpoint, OAuthError};

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

/// Why a refresh produced no tokens.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// The provider (or the transport to it) failed or refused.
    #[error(transparent)]
    Provider(#[from] OAuthError),
    /// The session (or connection) was deleted while it refreshed — a logout on another
    /// request or instance; what the refresh got was revoked.
    #[error("the session was ended elsewhere while its tokens were refreshed")]
    Deleted,
}

/// The result of one call to the token endpoint, shared by every request that waits.
type Outcome = Result<TokenSet, Arc<Refusal>>;

/// One refresh token's entry in the table.
enum Slot {
    /// The refresh task is running; await `result` to join it.
    InFlight {
        attempt: u32,
        result: Shared<BoxFuture<'static, Outcome>>,
    },
    /// The task finished; its outcome holds until `until` (unix seconds, crate clock):
    /// the grace window after a success, the back-off after a failure.
    Done {
        attempt: u32,
        outcome: Outcome,
        until: u64,
    },
}

/// What a refreshed id_token is checked against, and how long a refused refresh token
/// stays refused.
struct Check {
    previous: TokenSet,
    sub: Option<String>,
}

/// A store failure during a refresh: transient, like a provider outage (503, retry).
fn store_error(e: crate::store::StoreError) -> Arc<Refusal> {
    Arc::new(Refusal::Provider(OAuthError::Transport {
        endpoint: Endpoint::Token,
        reason: e.to_string(),
    }))
}

/// How long the table remembers that a refresh token's session was logged out.
const LOGGED_OUT_SECS: u64 = 3600;

/// How many refresh tokens the table remembers before pruning finished entries.
const TABLE_CAPACITY: usize = 10_000;

/// Refreshes expiring sessions; one per [`OAuth`](crate::OAuth).
#[derive(Clone)]
pub(crate) struct Refresher {
    client: OAuthClient,
    skew_secs: u64,
    grace_secs: u64,
    clock: Clock,
    table: Arc<Mutex<HashMap<[u8; 32], Slot>>>,
    /// Cookie sessions: where refresh outcomes are shared with other instances.
    shared: Option<SharedOutcomes>,
}

impl std::fmt::Debug for Refresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresher")
            .field("skew_secs", &self.skew_secs)
            .field("grace_secs", &self.grace_secs)
            .finish_non_exhaustive()
    }
}

impl Refresher {
    pub(crate) fn new(client: OAuthClient, skew: Duration, grace: Duration, clock: Clock) -> Self {
        Refresher {
            client,
            skew_secs: skew.as_secs(),
            grace_secs: grace.as_secs().max(1),
            clock,
            table: Arc::default(),
            shared: None,
        }
    }

    /// Coordinates cookie sessions' refreshes with other instances through `store` (the
    /// lock, and outcomes sealed with `codec` for the grace window).
    pub(crate) fn with_shared(mut self, store: TimedStore, codec: CookieCodec) -> Self {
        self.shared = Some(SharedOutcomes::new(store, codec));
        self
    }

    /// Whether the session's access token is inside the refresh window.
    pub(crate) fn is_due(&self, data: &SessionData) -> bool {
        data.tokens.expires_within(self.clock.now(), self.skew_secs)
    }

    /// Returns the session with usable tokens, refreshing them first when they expire
    /// within the skew. With a server-side store (in `config`), the refresh is
    /// coordinated with other instances through the store.
    pub(crate) async fn ensure_fresh(
        &self,
        data: Arc<SessionData>,
        config: &Arc<SessionConfig>,
    ) -> Freshness {
        self.renew(data, config, false).await
    }

    /// Refreshes now, due or not: the provider refused the access token before its
    /// expiry (an API answered `401`). Shares the table with [`ensure_fresh`]
    /// (single-flight per refresh token; a refresh just made is reused within the grace
    /// window). `Current` means there is nothing to refresh with.
    ///
    /// [`ensure_fresh`]: Self::ensure_fresh
    pub(crate) async fn refresh_now(
        &self,
        data: Arc<SessionData>,
        config: &Arc<SessionConfig>,
    ) -> Freshness {
        self.renew(data, config, true).await
    }

    async fn renew(
        &self,
        data: Arc<SessionData>,
        config: &Arc<SessionConfig>,
        force: bool,
    ) -> Freshness {
        if !force && !self.is_due(&data) {
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
        let persist = config.store().map(|store| Persist {
            config: config.clone(),
            store: store.clone(),
            data: data.clone(),
        });
        let cookie = persist.is_none();
        let check = Check {
            previous: data.tokens.clone(),
            sub: data.sub.clone(),
        };
        let until = data.tokens.expires_at();
        match self.spend(refresh_token, persist, check, until).await {
            Ok(tokens) => {
                let now = self.clock.now();
                // A new id_token came, and the refresh checked it: its claims now.
                let claims = tokens
                    .id_token()
                    .filter(|new| {
                        self.client.oidc().is_some()
                            && data
                                .tokens
                                .id_token()
                                .is_none_or(|old| old.secret() != new.secret())
                    })
                    .map(|new| crate::oidc::decode_checked(new.secret()));
                let mut next = data.refreshed(tokens, now);
                if let Some(claims) = claims {
                    next = next.with_id_claims(claims.as_ref());
                }
                Freshness::Refreshed(Box::new(next))
            }
            Err(e) => match Failure::of(&e) {
                // Most likely another instance spent it first (the cookie store without a
                // shared store): the access token still works, and the refused refresh
                // token is not presented again (the table remembers the refusal until
                // the access token expires).
                Failure::GrantRefused if cookie && !expired && !force && spent_elsewhere(&e) => {
                    tracing::debug!(
                        error = %e,
                        "refresh refused while the access token is valid; keeping it until it \
                         expires"
                    );
                    Freshness::Current(data)
                }
                Failure::GrantRefused => {
                    tracing::info!(error = %e, "refresh refused; ending the session");
                    Freshness::Ended
                }
                // Logged once, by the refresh task; here only what this request does.
                Failure::Transient | Failure::Client if expired || force => {
                    tracing::debug!(error = %e, "token expired and cannot be refreshed now");
                    Freshness::Unavailable
                }
                Failure::Transient | Failure::Client => Freshness::Current(data),
            },
        }
    }

    /// The outcome of spending `refresh_token`: a finished one from the table (grace
    /// window or back-off), the running one, or a new refresh.
    async fn spend(
        &self,
        refresh_token: &RefreshToken,
        persist: Option<Persist>,
        check: Check,
        access_until: Option<u64>,
    ) -> Outcome {
        let key: [u8; 32] = Sha256::digest(refresh_token.secret().as_bytes()).into();
        let now = self.clock.now();
        let result = {
            let mut table = self.lock();
            let attempt = match table.get(&key) {
                Some(Slot::Done { outcome, until, .. }) if now < *until => return outcome.clone(),
                Some(Slot::Done { attempt, .. }) => Ok(attempt.saturating_add(1)),
                // Running: join it.
                Some(Slot::InFlight { result, .. }) if result.peek().is_none() => {
                    Err(result.clone())
                }
                // A task that finished without writing its outcome (it panicked): its
                // shared result is final, so start over rather than serve it forever.
                Some(Slot::InFlight { attempt, .. }) => Ok(attempt.saturating_add(1)),
                None => Ok(1),
            };
            match attempt {
                Err(running) => running,
                Ok(attempt) => {
                    let result = self.start(
                        key,
                        refresh_token.clone(),
                        (attempt, access_until),
                        persist,
                        check,
                    );
                    if table.len() >= TABLE_CAPACITY {
                        table.retain(|_, slot| match slot {
                            Slot::InFlight { .. } => true,
                            Slot::Done { until, .. } => *until > now,
                        });
                    }
                    table.insert(
                        key,
                        Slot::InFlight {
                            attempt,
                            result: result.clone(),
                        },
                    );
                    result
                }
            }
        };
        result.await
    }

    /// Spawns the refresh. The task, not the request that started it, writes the outcome
    /// into the table, so it survives every waiter being dropped.
    fn start(
        &self,
        key: [u8; 32],
        spent: RefreshToken,
        (attempt, access_until): (u32, Option<u64>),
        persist: Option<Persist>,
        check: Check,
    ) -> Shared<BoxFuture<'static, Outcome>> {
        let this = self.clone();
        let task = tokio::spawn(async move {
            let outcome = match (persist, &this.shared) {
                (Some(persist), _) => this.refresh_stored(&spent, persist).await,
                (None, Some(shared)) => shared.refresh(&this, &key, &spent, &check).await,
                (None, None) => this.refresh_checked(&spent, &check).await,
            };
            let now = this.clock.now();
            let until = match &outcome {
                Ok(_) => {
                    tracing::debug!("session tokens refreshed");
                    now.saturating_add(this.grace_secs)
                }
                Err(e) => {
                    let failure = Failure::of(e);
                    let backoff = failure.backoff_secs(attempt, this.grace_secs);
                    match failure {
                        Failure::GrantRefused => {
                            if spent_elsewhere(e) {
                                tracing::warn!(
                                    "the provider refused a refresh token (invalid_grant): \
                                     another instance or tab most likely refreshed first (with \
                                     the cookie store, configure a shared store so instances \
                                     coordinate), or the grant was revoked; a provider with \
                                     reuse detection may now have revoked the whole grant"
                                );
                            }
                        }
                        Failure::Transient => tracing::warn!(
                            error = %e, attempt, retry_in_secs = backoff,
                            "token refresh failed; the session is kept and will retry"
                        ),
                        Failure::Client => tracing::error!(
                            error = %e, attempt, retry_in_secs = backoff,
                            "token refresh refused for this client (check the client id and \
                             secret); sessions are kept but cannot refresh"
                        ),
                    }
                    // A refused token is never presented again while a session may still
                    // carry it: at least until its access token expires.
                    let refused_until = match failure {
                        Failure::GrantRefused => access_until.unwrap_or(0),
                        _ => 0,
                    };
                    now.saturating_add(backoff).max(refused_until)
                }
            };
            this.lock().insert(
                key,
                Slot::Done {
                    attempt,
                    outcome: outcome.clone(),
                    until,
                },
            );
            outcome
        });
        async move {
            task.await.unwrap_or_else(|e| {
                Err(Arc::new(Refusal::Provider(OAuthError::Transport {
                    endpoint: Endpoint::Token,
                    reason: format!("the refresh task failed: {e}"),
                })))
            })
        }
        .boxed()
        .shared()
    }

    /// One refresh with no one to coordinate with: the provider's answer, its id_token
    /// checked.
    async fn refresh_checked(&self, spent: &RefreshToken, check: &Check) -> Outcome {
        match self.client.refresh(spent).await {
            Ok(tokens) => self.check_id_token(tokens, check).await,
            Err(e) => Err(Arc::new(e.into())),
        }
    }

    /// OpenID Connect Core §12.2, before the refreshed tokens are used or saved: a new
    /// id_token passes the login's checks (but the nonce) and names the same user. One
    /// that cannot be checked now (the keys are unavailable, or name a key not fetched
    /// yet) is dropped, so the previous, checked one stays; a refused one ends the
    /// session and its new tokens are revoked. An id_token identical to the previous
    /// one was checked already (some providers send it back unchanged, even expired).
    async fn check_id_token(&self, mut tokens: TokenSet, check: &Check) -> Outcome {
        let (Some(oidc), Some(new)) = (self.client.oidc(), tokens.id_token()) else {
            return Ok(tokens);
        };
        if check
            .previous
            .id_token()
            .is_some_and(|old| old.secret() == new.secret())
        {
            return Ok(tokens);
        }
        match oidc.refreshed_id_token(new, check.sub.as_deref()).await {
            Ok(_) => Ok(tokens),
            Err(e) if e.is_transient() || matches!(e, crate::error::JwtError::UnknownKey(_)) => {
                tracing::warn!(error = %e, "the refreshed id_token cannot be checked now; keeping the previous one");
                tokens.forget_id_token();
                Ok(tokens)
            }
            Err(error) => {
                tracing::warn!(%error, "the refreshed id_token was refused; ending the session and revoking its tokens");
                self.revoke(&tokens).await;
                Err(Arc::new(OAuthError::IdToken { error }.into()))
            }
        }
    }

    /// At logout: takes the entry for `refresh_token` out of the table (awaiting a
    /// refresh still in flight) and returns the tokens it produced, so they can be
    /// revoked too. Without this, a pre-refresh cookie replayed inside the grace window
    /// would get a working session back.
    pub(crate) async fn take_refreshed(&self, refresh_token: &RefreshToken) -> Option<TokenSet> {
        let key: [u8; 32] = Sha256::digest(refresh_token.secret().as_bytes()).into();
        let pending = match self.lock().get(&key) {
            Some(Slot::InFlight { result, .. }) => Some(result.clone()),
            _ => None,
        };
        if let Some(result) = pending {
            // Bounded by the HTTP client's timeout; the task then writes its outcome.
            let _ = result.await;
        }
        // The entry stays, as "ended": a replay of a pre-logout cookie must neither get
        // the refreshed tokens back nor present the revoked refresh token again.
        let ended = Slot::Done {
            attempt: 1,
            outcome: Err(Arc::new(Refusal::Deleted)),
            until: self
                .clock
                .now()
                .saturating_add(self.grace_secs.max(LOGGED_OUT_SECS)),
        };
        let local = match self.lock().insert(key, ended) {
            Some(Slot::Done {
                outcome: Ok(tokens),
                ..
            }) => Some(tokens),
            _ => None,
        };
        match &self.shared {
            // Another instance may have refreshed it: take its outcome out too.
            Some(shared) => shared.take(&key).await.or(local),
            None => local,
        }
    }

    /// Revokes tokens a refresh got but cannot keep (the session ended meanwhile).
    async fn revoke(&self, tokens: &TokenSet) {
        let mut targets = vec![crate::client::TokenRef::Access(tokens.access_token())];
        if let Some(refresh) = tokens.refresh_token() {
            targets.insert(0, crate::client::TokenRef::Refresh(refresh));
        }
        self.client.revoke_all(targets).await;
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<[u8; 32], Slot>> {
        // A poisoned lock only means a panic elsewhere; the table is still consistent.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}
