//! Resolving a token to its user — through userinfo or introspection — behind a bounded
//! TTL cache with single-flight.
//!
//! The cache key is the SHA-256 of the token, so the cache never holds a usable token.
//! Concurrent first requests with one token share one upstream call (moka's
//! `try_get_with`). A token the provider refused is remembered briefly too, so repeating
//! it costs no further upstream call (each *new* token still costs one: tokens are capped
//! at 4 KiB before they get here, and at most `max_concurrent_lookups` calls run at once).
//! An entry never outlives the token's own expiry.
//! Introspection answers for another client's token, or for a refresh token, count as
//! refused.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::client::{OAuthClient, TokenRef};
use crate::clock::Clock;
use crate::provider::UserResolver;
use crate::secret::AccessToken;
use crate::transport::OAuthError;
use crate::typed::Typed;

/// How long a refused token is remembered as refused.
const NEGATIVE_TTL_SECS: u64 = 30;

#[derive(Clone, Debug)]
enum Entry {
    User { user: Resolved, until: u64 },
    Refused { until: u64 },
}

/// A token's user as the provider described them, with the scopes it granted when the
/// provider says (introspection does; userinfo does not).
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub(crate) user: Arc<Value>,
    pub(crate) scope: Option<Arc<str>>,
    /// `user` parsed into the app's type, once per cache entry.
    pub(crate) typed: Typed,
    /// Until when (clock seconds) this answer is fresh: the cache entry's end.
    pub(crate) until: u64,
}

impl Resolved {
    fn new(user: Value, scope: Option<Arc<str>>) -> Resolved {
        Resolved {
            user: Arc::new(user),
            scope,
            typed: Typed::default(),
            until: 0,
        }
    }
}

impl Entry {
    fn until(&self) -> u64 {
        match self {
            Entry::User { until, .. } | Entry::Refused { until } => *until,
        }
    }
}

/// Why a token could not be resolved.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum ResolveError {
    /// The provider says the token is not (or no longer) valid.
    #[error("the provider refused the token")]
    InvalidToken,
    /// The provider could not be asked right now (down, timing out, 5xx).
    #[error("the provider is unavailable: {0}")]
    Unavailable(Arc<OAuthError>),
    /// The provider answered something unusable, or the app is misconfigured.
    #[error("user resolution failed: {0}")]
    Failed(Arc<OAuthError>),
}

/// Per-entry lifetimes: each entry lives until its own `until` (in the configured clock's
/// seconds), measured when it is inserted.
struct UntilExpiry {
    clock: Clock,
}

impl moka::Expiry<[u8; 32], Entry> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Entry,
        _at: Instant,
    ) -> Option<Duration> {
        Some(Duration::from_secs(
            value.until().saturating_sub(self.clock.now()),
        ))
    }
}

/// How many upstream lookups may run at once, and how long a request waits for a turn.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lookups {
    pub(crate) max_concurrent: usize,
    pub(crate) wait: Duration,
}

/// The bounded, single-flight cache of resolved users.
#[derive(Clone)]
pub(crate) struct UserCache {
    client: OAuthClient,
    cache: moka::future::Cache<[u8; 32], Entry>,
    ttl_secs: u64,
    clock: Clock,
    /// Caps concurrent calls to the provider: every *new* token costs one, so a flood of
    /// random tokens would otherwise become a flood of upstream calls (spending the
    /// client's rate limit at the provider). When saturated, callers wait `wait`, then
    /// get 503 — the cached users of everyone else are unaffected.
    upstream: Arc<tokio::sync::Semaphore>,
    wait: Duration,
}

impl std::fmt::Debug for UserCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCache")
            .field("entries", &self.cache.entry_count())
            .field("ttl_secs", &self.ttl_secs)
            .finish()
    }
}

fn token_key(token: &AccessToken) -> [u8; 32] {
    Sha256::digest(token.secret().as_bytes()).into()
}

impl UserCache {
    pub(crate) fn new(
        client: OAuthClient,
        ttl: Duration,
        capacity: u64,
        clock: Clock,
        lookups: Lookups,
    ) -> Self {
        let cache = moka::future::Cache::builder()
            .max_capacity(capacity)
            .expire_after(UntilExpiry {
                clock: clock.clone(),
            })
            .build();
        UserCache {
            client,
            cache,
            ttl_secs: ttl.as_secs().max(1),
            clock,
            upstream: Arc::new(tokio::sync::Semaphore::new(lookups.max_concurrent)),
            wait: lookups.wait,
        }
    }

    /// The user behind `token`, from the cache or the provider. `token_expires_at` (unix
    /// seconds, when known) caps how long the answer is cached.
    pub(crate) async fn resolve(
        &self,
        token: &AccessToken,
        token_expires_at: Option<u64>,
    ) -> Result<Resolved, ResolveError> {
        let key = token_key(token);
        let stale = match self.cache.get(&key).await {
            Some(entry) if entry.until() > self.clock.now() => return Self::outcome(entry),
            // Stale by our clock (which tests may move): fetch again.
            Some(_) => true,
            None => false,
        };
        // Boxed: the single-flight lookup's state is kilobytes; inline, it would make
        // every caller's future (the extractors') that large on the cache-hit path too.
        Box::pin(self.look_up(key, stale, token, token_expires_at)).await
    }

    /// A cache miss: one provider call per token at a time (single-flight), bounded.
    async fn look_up(
        &self,
        key: [u8; 32],
        stale: bool,
        token: &AccessToken,
        token_expires_at: Option<u64>,
    ) -> Result<Resolved, ResolveError> {
        if stale {
            self.cache.invalidate(&key).await;
        }
        let fetch = self.fetch(token.clone(), token_expires_at);
        // One deadline for the whole lookup, queueing for a turn included: a hanging
        // provider costs a caller at most the HTTP timeout, never a queue of them.
        let lookup = tokio::time::timeout(self.wait, self.cache.try_get_with(key, fetch));
        let entry = lookup
            .await
            .unwrap_or_else(|_| {
                Err(Arc::new(OAuthError::Timeout {
                    endpoint: self.endpoint(),
                    timeout: self.wait,
                }))
            })
            .map_err(|e: Arc<OAuthError>| {
                if e.is_transient() {
                    ResolveError::Unavailable(e)
                } else {
                    ResolveError::Failed(e)
                }
            })?;
        Self::outcome(entry)
    }

    /// How many tokens' answers (users and refusals) are held, pending evictions applied.
    pub(crate) async fn len(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.entry_count()
    }

    /// Forgets a token (after logout or revocation).
    pub(crate) async fn forget(&self, token: &AccessToken) {
        self.cache.invalidate(&token_key(token)).await;
    }

    fn until(&self, now: u64, token_expires_at: Option<u64>) -> u64 {
        let ttl_end = now.saturating_add(self.ttl_secs);
        token_expires_at.map_or(ttl_end, |exp| exp.min(ttl_end))
    }

    fn outcome(entry: Entry) -> Result<Resolved, ResolveError> {
        match entry {
            Entry::User { mut user, until } => {
                user.until = until;
                Ok(user)
            }
            Entry::Refused { .. } => Err(ResolveError::InvalidToken),
        }
    }

    /// The endpoint users are resolved through.
    fn endpoint(&self) -> crate::transport::Endpoint {
        match self.client.provider().user_resolver() {
            UserResolver::Userinfo => crate::transport::Endpoint::Userinfo,
            UserResolver::Introspection => crate::transport::Endpoint::Introspection,
        }
    }

    /// A JWT access token checked against the provider's keys (RFC 9068): no call to the
    /// provider; the answer is cached until the token's `exp`, so a token's signature is
    /// verified once. Revocation at the provider is not seen: the token's lifetime is
    /// the bound.
    ///
    /// `None` for a JWT that is not an `at+jwt` access token (some providers sign their
    /// access tokens as plain `JWT`): the provider resolves those.
    async fn check_locally(
        &self,
        oidc: &crate::oidc::Oidc,
        token: &AccessToken,
    ) -> Option<Result<Entry, OAuthError>> {
        Some(match oidc.access_token(token.secret()).await {
            Err(crate::error::JwtError::Type(_)) => return None,
            Ok(checked) => Ok(Entry::User {
                user: Resolved::new(Value::Object(checked.claims), checked.scope.map(Arc::from)),
                until: checked.exp,
            }),
            Err(e) if e.is_transient() => Err(OAuthError::Transport {
                endpoint: crate::transport::Endpoint::Jwks,
                reason: e.to_string(),
            }),
            Err(e) => {
                tracing::debug!(error = %e, "JWT access token refused");
                Ok(Entry::Refused {
                    until: self.clock.now() + NEGATIVE_TTL_SECS,
                })
            }
        })
    }

    async fn fetch(
        &self,
        token: AccessToken,
        token_expires_at: Option<u64>,
    ) -> Result<Entry, OAuthError> {
        if let Some(oidc) = self.client.oidc().filter(|o| o.checks_access_tokens())
            && crate::oidc::looks_like_jwt(token.secret())
            && let Some(entry) = self.check_locally(oidc, &token).await
        {
            return entry;
        }
        let endpoint = self.endpoint();
        let _turn = match tokio::time::timeout(self.wait, self.upstream.acquire()).await {
            Ok(Ok(permit)) => permit,
            _ => {
                tracing::warn!("too many user lookups in flight; answering 503");
                return Err(OAuthError::Timeout {
                    endpoint,
                    timeout: self.wait,
                });
            }
        };
        let now = self.clock.now();
        let refused = Entry::Refused {
            until: now + NEGATIVE_TTL_SECS,
        };
        match self.client.provider().user_resolver() {
            UserResolver::Userinfo => match self.client.userinfo::<Value>(&token).await {
                Ok(value) if value.is_object() => Ok(Entry::User {
                    user: Resolved::new(value, None),
                    until: self.until(now, token_expires_at),
                }),
                Ok(_) => Err(OAuthError::Malformed {
                    endpoint: crate::transport::Endpoint::Userinfo,
                    status: 200,
                    reason: "the user info is not a JSON object".into(),
                    excerpt: None,
                }),
                Err(e) if e.is_invalid_token() => Ok(refused),
                Err(e) => Err(e),
            },
            UserResolver::Introspection => {
                let answer = self.client.introspect(TokenRef::Access(&token)).await?;
                let expired = answer.exp.is_some_and(|exp| exp <= now);
                // A token the provider issued to another app must not log anyone in here
                // (token substitution, RFC 7662 §4), and a refresh token is no bearer token.
                let foreign = answer
                    .client_id
                    .as_deref()
                    .is_some_and(|id| id != self.client.client_id());
                let refresh = answer.token_type.as_deref() == Some("refresh_token");
                if !answer.active || expired || foreign || refresh {
                    if foreign || refresh {
                        tracing::warn!(
                            foreign,
                            refresh,
                            "introspected token refused: not an access token of this client"
                        );
                    }
                    return Ok(refused);
                }
                let exp = match (answer.exp, token_expires_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                let value = serde_json::to_value(answer.to_user_info()).unwrap_or(Value::Null);
                Ok(Entry::User {
                    user: Resolved::new(value, answer.scope.as_deref().map(Arc::from)),
                    until: self.until(now, exp),
                })
            }
        }
    }
}
