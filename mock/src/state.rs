//! What the mock server remembers: users, clients, login sessions, pending
//! authorizations, codes, tokens, the shifted clock, and per-endpoint traffic and
//! injected faults. Sessions, codes and tokens remember which user logged in (by the
//! user's login email).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::flavor::Flavor;
use super::{MockClient, MockEndpoint, MockUser, RecordedRequest};

/// Settings that can change while the server runs (all but `flavor`, which fixes the
/// routes when the server starts).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) flavor: Flavor,
    pub(crate) token_lifetime: Duration,
    pub(crate) code_lifetime: Duration,
    pub(crate) refresh_tokens: bool,
    pub(crate) rotate_refresh_tokens: bool,
    pub(crate) accept_form: bool,
    pub(crate) accept_json: bool,
    pub(crate) directory_token: String,
    pub(crate) iss_in_redirect: bool,
    /// Whether the authorize endpoint takes only pushed requests (RFC 9126).
    pub(crate) require_par: bool,
    /// Whether every DPoP proof must carry the mock's nonce (RFC 9449 §8).
    pub(crate) require_dpop_nonce: bool,
}

/// State shared by every handler and by the [`MockProvider`](super::MockProvider) handle.
pub(crate) struct Shared {
    pub(crate) base_url: String,
    inner: Mutex<Inner>,
}

/// An authorization request waiting for login and consent, kept server-side under a
/// random id that the pages carry in a hidden field.
#[derive(Debug, Clone)]
pub(crate) struct PendingAuthorization {
    pub(crate) client_id: String,
    /// Where the answer goes; `None` for the copy-the-code flow (Apicbase mode, no
    /// `redirect_uri` and none registered): the answer is a page showing the code.
    pub(crate) redirect_uri: Option<String>,
    /// Whether the client named the redirect URI (then the token request must repeat it).
    pub(crate) redirect_uri_given: bool,
    pub(crate) state: Option<String>,
    pub(crate) scope: Option<String>,
    pub(crate) code_challenge: Option<String>,
}

#[derive(Debug)]
pub(crate) struct CodeGrant {
    pub(crate) request: PendingAuthorization,
    /// The login email of the user who approved the request.
    pub(crate) user: String,
    pub(crate) issued_at: SystemTime,
    pub(crate) lifetime: Duration,
    pub(crate) used: bool,
}

#[derive(Debug)]
pub(crate) struct AccessGrant {
    pub(crate) client_id: String,
    /// The login email of the user the token is for.
    pub(crate) user: String,
    pub(crate) scope: Option<String>,
    pub(crate) issued_at: SystemTime,
    pub(crate) lifetime: Duration,
    /// The code this token was issued for, so that a replayed code can revoke it.
    pub(crate) code: Option<String>,
    /// The refresh token issued alongside, so that revoking it revokes this too.
    pub(crate) refresh_token: Option<String>,
    /// The thumbprint of the DPoP key the token is bound to (RFC 9449), if any.
    pub(crate) dpop_jkt: Option<String>,
}

impl AccessGrant {
    pub(crate) fn expires_at(&self) -> SystemTime {
        later(self.issued_at, self.lifetime)
    }
}

#[derive(Debug)]
pub(crate) struct RefreshGrant {
    pub(crate) client_id: String,
    /// The login email of the user the token is for; refreshed tokens keep it.
    pub(crate) user: String,
    pub(crate) scope: Option<String>,
}

/// A canned answer queued by `fail_next` / `respond_next`.
#[derive(Debug, Clone)]
pub(crate) struct CannedResponse {
    pub(crate) status: StatusCode,
    pub(crate) content_type: HeaderValue,
    pub(crate) body: Bytes,
}

impl IntoResponse for CannedResponse {
    fn into_response(self) -> Response {
        (
            self.status,
            [
                (header::CONTENT_TYPE, self.content_type),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            self.body,
        )
            .into_response()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Traffic {
    pub(crate) hits: usize,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) canned: VecDeque<CannedResponse>,
    pub(crate) delays: VecDeque<Duration>,
    /// Delays applied after the request was handled, before its answer leaves.
    pub(crate) answer_delays: VecDeque<Duration>,
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) clock_offset: Duration,
    /// Who can log in, the primary user first; emails are unique (case-insensitively).
    pub(crate) users: Vec<MockUser>,
    pub(crate) clients: HashMap<String, MockClient>,
    /// Display names of clients registered through the app-creation endpoint.
    pub(crate) app_names: HashMap<String, String>,
    pub(crate) app_code_names: HashSet<String>,
    /// Login sessions: session id to the login email of the user.
    pub(crate) sessions: HashMap<String, String>,
    pub(crate) pending: HashMap<String, PendingAuthorization>,
    pub(crate) codes: HashMap<String, CodeGrant>,
    pub(crate) access: HashMap<String, AccessGrant>,
    pub(crate) refresh: HashMap<String, RefreshGrant>,
    pub(crate) traffic: HashMap<MockEndpoint, Traffic>,
    pub(crate) refresh_hits: usize,
    /// `jti`s of the `private_key_jwt` assertions accepted (each once).
    pub(crate) seen_assertions: HashSet<String>,
    /// Pushed authorization requests by `request_uri`: the client, the parameters and
    /// when the `request_uri` expires (each is used once).
    pub(crate) pushed: HashMap<String, crate::par::Pushed>,
    /// `jti`s of the DPoP proofs accepted (each once).
    pub(crate) seen_proofs: HashSet<String>,
}

impl Shared {
    pub(crate) fn new(
        base_url: String,
        users: Vec<MockUser>,
        clients: Vec<MockClient>,
        config: Config,
    ) -> Shared {
        Shared {
            base_url,
            inner: Mutex::new(Inner {
                config,
                clock_offset: Duration::ZERO,
                users,
                clients: clients
                    .into_iter()
                    .map(|c| (c.client_id.clone(), c))
                    .collect(),
                app_names: HashMap::new(),
                app_code_names: HashSet::new(),
                sessions: HashMap::new(),
                pending: HashMap::new(),
                codes: HashMap::new(),
                access: HashMap::new(),
                refresh: HashMap::new(),
                traffic: HashMap::new(),
                refresh_hits: 0,
                seen_assertions: HashSet::new(),
                pushed: HashMap::new(),
                seen_proofs: HashSet::new(),
            }),
        }
    }

    /// Locks the state. A handler that panicked cannot leave it half-written in a way
    /// that matters to a test double, so poisoning is ignored rather than propagated.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts and records a request, then applies the faults queued for its endpoint:
    /// waits out a queued delay and returns a queued canned answer, if any.
    pub(crate) async fn begin(
        &self,
        endpoint: MockEndpoint,
        record: RecordedRequest,
        is_refresh: bool,
    ) -> Option<Response> {
        let (delay, canned) = {
            let mut inner = self.lock();
            if is_refresh {
                inner.refresh_hits += 1;
            }
            let traffic = inner.traffic.entry(endpoint).or_default();
            traffic.hits += 1;
            traffic.requests.push(record);
            (traffic.delays.pop_front(), traffic.canned.pop_front())
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        canned.map(IntoResponse::into_response)
    }
}

impl Inner {
    /// The mock's clock: real time plus whatever `advance_clock` added.
    pub(crate) fn now(&self) -> SystemTime {
        later(SystemTime::now(), self.clock_offset)
    }

    pub(crate) fn traffic(&mut self, endpoint: MockEndpoint) -> &mut Traffic {
        self.traffic.entry(endpoint).or_default()
    }

    /// The login email of the user logged in with this session cookie value, if any.
    pub(crate) fn session_user(&self, session: Option<&str>) -> Option<String> {
        session.and_then(|s| self.sessions.get(s)).cloned()
    }

    /// The user with this login email (trimmed, case-insensitive).
    pub(crate) fn user(&self, email: &str) -> Option<&MockUser> {
        self.users.iter().find(|u| u.has_email(email))
    }

    /// The user with this login email, for changing its info.
    pub(crate) fn user_mut(&mut self, email: &str) -> Option<&mut MockUser> {
        self.users.iter_mut().find(|u| u.has_email(email))
    }

    /// The primary user: the one `authorize` and `issue_token` use.
    pub(crate) fn primary_user(&self) -> &MockUser {
        // The builder always starts the mock with at least one user.
        &self.users[0]
    }

    /// Mints a single-use code for an authorization request `user` approved.
    pub(crate) fn issue_code(&mut self, request: PendingAuthorization, user: String) -> String {
        let code = random_base64url();
        let grant = CodeGrant {
            request,
            user,
            issued_at: self.now(),
            lifetime: self.config.code_lifetime,
            used: false,
        };
        self.codes.insert(code.clone(), grant);
        code
    }

    /// Mints an access token (and a refresh token unless `refresh_token` is given or
    /// refresh tokens are off) and returns the token response body.
    pub(crate) fn issue_tokens(
        &mut self,
        client_id: &str,
        user: &str,
        scope: Option<String>,
        code: Option<String>,
        keep_refresh_token: Option<String>,
    ) -> Value {
        let access_token = random_hex();
        let now = self.now();
        let lifetime = self.config.token_lifetime;
        let new_refresh = if keep_refresh_token.is_none() && self.config.refresh_tokens {
            let token = random_hex();
            self.refresh.insert(
                token.clone(),
                RefreshGrant {
                    client_id: client_id.to_owned(),
                    user: user.to_owned(),
                    scope: scope.clone(),
                },
            );
            Some(token)
        } else {
            None
        };
        self.access.insert(
            access_token.clone(),
            AccessGrant {
                client_id: client_id.to_owned(),
                user: user.to_owned(),
                scope: scope.clone(),
                issued_at: now,
                lifetime,
                code,
                refresh_token: new_refresh.clone().or(keep_refresh_token),
                dpop_jkt: None,
            },
        );
        let mut body = match self.config.flavor {
            Flavor::Vcita => json!({
                "access_token": access_token,
                "token_type": "bearer",
                "expires_in": lifetime.as_secs(),
                "created_at": unix_secs(now),
            }),
            // Django OAuth Toolkit's shape: capitalised type, no `created_at`, a scope
            // always (empty when none was asked for).
            Flavor::Apicbase => json!({
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": lifetime.as_secs(),
                "scope": scope.clone().unwrap_or_default(),
            }),
        };
        if let Some(scope) = scope {
            body["scope"] = Value::String(scope);
        }
        if let Some(refresh) = new_refresh {
            body["refresh_token"] = Value::String(refresh);
        }
        body
    }

    /// The grant behind an access token that is known and not expired.
    pub(crate) fn active_access(&self, token: &str) -> Option<&AccessGrant> {
        let now = self.now();
        self.access.get(token).filter(|g| g.expires_at() > now)
    }

    /// Revokes a refresh token and the access tokens issued with it.
    pub(crate) fn revoke_refresh(&mut self, token: &str) {
        if self.refresh.remove(token).is_some() {
            self.access
                .retain(|_, g| g.refresh_token.as_deref() != Some(token));
        }
    }

    /// Revokes the tokens issued for a code (RFC 6749 §4.1.2: a replayed code should
    /// revoke what it already produced).
    pub(crate) fn revoke_issued_for_code(&mut self, code: &str) {
        let refresh: Vec<String> = self
            .access
            .values()
            .filter(|g| g.code.as_deref() == Some(code))
            .filter_map(|g| g.refresh_token.clone())
            .collect();
        for token in refresh {
            self.revoke_refresh(&token);
        }
        self.access.retain(|_, g| g.code.as_deref() != Some(code));
    }
}

/// 32 bytes from the operating system's random source (like `rand`, panics only if the
/// OS has none at all, which no supported platform lacks).
fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the operating system's random source");
    bytes
}

/// 32 random bytes as 64 lowercase hex characters (vcita's access token shape).
pub(crate) fn random_hex() -> String {
    let bytes = random_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 random bytes, base64url without padding.
pub(crate) fn random_base64url() -> String {
    let bytes = random_bytes();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `t + d`, saturating instead of panicking, so that any lifetime or clock jump a test
/// sets (even `Duration::MAX`) is just "far in the future".
pub(crate) fn later(t: SystemTime, d: Duration) -> SystemTime {
    t.checked_add(d)
        .or_else(|| UNIX_EPOCH.checked_add(Duration::from_secs(u64::from(u32::MAX) * 64)))
        .unwrap_or(t)
}

pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// Flattens a JSON object into string fields: strings as they are, other scalars in
/// their JSON spelling, arrays and objects as JSON text; `null` is left out.
pub(crate) fn flatten_json(object: &serde_json::Map<String, Value>) -> BTreeMap<String, String> {
    object
        .iter()
        .filter_map(|(k, v)| {
            let s = match v {
                Value::Null => return None,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some((k.clone(), s))
        })
        .collect()
}
