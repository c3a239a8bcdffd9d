//! The first state of a login: *pending*. One encrypted flow cookie per login attempt
//! ({state, PKCE verifier, return_to, started_at}), named after a hash of its state so
//! two tabs logging in at once do not clash. Login [`start`](FlowStore::start)s one, the
//! callback [`find`](FlowStore::find)s it by the state it receives and
//! [`remove`](FlowStore::remove)s it whatever happens next (a code works once).

use http::HeaderMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::cookie::{CookieCodec, find_cookie, request_cookies};
use crate::secret::{CsrfState, Nonce, PkceVerifier};

/// What the live flow cookies of a browser may add up to in its `Cookie` header. A few
/// forced logins with long `return_to` values must not grow every request past proxy
/// header limits (nginx answers 400 above 8 KiB by default); one flow cookie is at most
/// ~3.9 KiB, so the newest login always fits.
const FLOW_COOKIES_BUDGET: usize = 4096;

/// A login in progress: what the callback needs to finish it.
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
    /// A connect flow: the app's account id the tokens are kept under (sealed in the
    /// flow cookie, never taken from the callback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) account: Option<String>,
    /// OpenID Connect: the nonce sent with this login, which its id_token must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nonce: Option<Nonce>,
}

impl LoginFlow {
    /// A new login with fresh state (and PKCE verifier when `pkce`).
    pub(crate) fn new(return_to: String, pkce: bool, openid: bool, now: u64) -> LoginFlow {
        LoginFlow {
            state: CsrfState::random(),
            verifier: pkce.then(PkceVerifier::random),
            return_to,
            started_at: now,
            order: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            account: None,
            nonce: openid.then(Nonce::random),
        }
    }
}

/// A flow found by the callback: the flow and the `Set-Cookie` that spends its cookie.
pub(crate) struct FoundFlow {
    pub(crate) flow: LoginFlow,
    pub(crate) removal: String,
}

/// Where login flows are kept: cookie names, path, lifetime, how many at once.
#[derive(Clone, Debug)]
pub(crate) struct FlowStore {
    codec: CookieCodec,
    prefix: String,
    path: String,
    ttl_secs: u64,
    max_pending: usize,
}

impl FlowStore {
    pub(crate) fn new(
        codec: CookieCodec,
        prefix: String,
        path: String,
        ttl_secs: u64,
        max_pending: usize,
    ) -> FlowStore {
        FlowStore {
            codec,
            prefix,
            path,
            ttl_secs,
            max_pending,
        }
    }

    /// The flow cookies' name prefix and path (for tests and diagnostics).
    #[cfg(test)]
    pub(crate) fn cookie_prefix_and_path(&self) -> (&str, &str) {
        (&self.prefix, &self.path)
    }

    /// The flow cookie's name for a state: the prefix and 16 hex digits of
    /// SHA-256(state). The state itself stays out of the name.
    fn cookie_name(&self, state: &str) -> String {
        let digest = Sha256::digest(state.as_bytes());
        let mut name = self.prefix.clone();
        for b in &digest[..8] {
            name.push_str(&format!("{b:02x}"));
        }
        name
    }

    /// The `Set-Cookie` values that start `flow`: removals of stale flow cookies, then
    /// the new one. `None` when the flow is too large for a cookie.
    pub(crate) fn start(
        &self,
        flow: &LoginFlow,
        request: &HeaderMap,
        now: u64,
    ) -> Option<Vec<String>> {
        let name = self.cookie_name(flow.state.secret());
        let sealed = self.codec.seal(&name, flow)?;
        let new_bytes = cookie_bytes(&name, &sealed);
        let mut set_cookies: Vec<String> = self
            .stale(request, now, new_bytes)
            .iter()
            .map(|stale| self.codec.remove_cookie(stale, &self.path))
            .collect();
        set_cookies.push(
            self.codec
                .set_cookie(&name, sealed, &self.path, self.ttl_secs),
        );
        Some(set_cookies)
    }

    /// The flow this browser started for `state`, if its cookie is there and opens.
    pub(crate) fn find(&self, request: &HeaderMap, state: &str) -> Option<FoundFlow> {
        let name = self.cookie_name(state);
        let flow = find_cookie(request, &name)
            .and_then(|sealed| self.codec.open::<LoginFlow>(&name, sealed))?;
        Some(FoundFlow {
            flow,
            removal: self.remove(&name),
        })
    }

    /// The `Set-Cookie` that deletes the flow cookie `name`.
    fn remove(&self, name: &str) -> String {
        self.codec.remove_cookie(name, &self.path)
    }

    /// Whether `flow` is past the login timeout at `now`.
    pub(crate) fn expired(&self, flow: &LoginFlow, now: u64) -> bool {
        flow.started_at.saturating_add(self.ttl_secs) <= now
    }

    /// Flow cookies to delete so that, with the new one (`new_bytes` long), at most
    /// `max_pending` remain and together they stay within [`FLOW_COOKIES_BUDGET`]:
    /// unreadable and expired ones first, then the oldest.
    fn stale(&self, request: &HeaderMap, now: u64, new_bytes: usize) -> Vec<String> {
        let mut live: Vec<((u64, u64), String, usize)> = Vec::new();
        let mut stale = Vec::new();
        for (name, value) in request_cookies(request) {
            if !name.starts_with(&self.prefix) {
                continue;
            }
            match self.codec.open::<LoginFlow>(name, value) {
                Some(flow) if !self.expired(&flow, now) => live.push((
                    (flow.started_at, flow.order),
                    name.to_owned(),
                    cookie_bytes(name, value),
                )),
                _ => stale.push(name.to_owned()),
            }
        }
        // Newest first: keep while both the count and the byte budget allow; once one
        // does not fit, every older one goes too (the oldest drop first).
        live.sort_by_key(|entry| std::cmp::Reverse(entry.0));
        let (mut kept, mut bytes, mut full) = (1, new_bytes, false);
        for (_, name, size) in live {
            full = full || kept >= self.max_pending || bytes + size > FLOW_COOKIES_BUDGET;
            if full {
                stale.push(name);
            } else {
                kept += 1;
                bytes += size;
            }
        }
        stale
    }
}

/// The bytes a cookie adds to a `Cookie` header: `name=value; `.
fn cookie_bytes(name: &str, value: &str) -> usize {
    name.len() + value.len() + 3
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::CookieKey;

    fn store(max_pending: usize) -> FlowStore {
        let codec = CookieCodec::new(CookieKey::generate(), false, "test".into());
        FlowStore::new(codec, "f_".into(), "/auth".into(), 600, max_pending)
    }

    fn cookie_header(set_cookies: &[String]) -> HeaderMap {
        let pairs: Vec<&str> = set_cookies
            .iter()
            .filter(|c| !c.contains("Max-Age=0"))
            .filter_map(|c| c.split(';').next())
            .collect();
        let mut h = HeaderMap::new();
        h.insert(http::header::COOKIE, pairs.join("; ").parse().unwrap());
        h
    }

    #[test]
    fn start_find_and_remove() {
        let s = store(5);
        let flow = LoginFlow::new("/x".into(), true, true, 100);
        let set = s.start(&flow, &HeaderMap::new(), 100).unwrap();
        assert_eq!(set.len(), 1);
        let request = cookie_header(&set);
        let found = s.find(&request, flow.state.secret()).expect("found");
        assert_eq!(found.flow.return_to, "/x");
        assert!(found.removal.contains("Max-Age=0"));
        assert!(s.find(&request, "other-state").is_none());
        assert!(!s.expired(&found.flow, 699) && s.expired(&found.flow, 700));
    }

    #[test]
    fn the_count_cap_drops_the_oldest() {
        let s = store(2);
        let a = LoginFlow::new("/a".into(), false, false, 100);
        let mut b = LoginFlow::new("/b".into(), false, false, 100);
        b.order = a.order + 1;
        let mut jar = s.start(&a, &HeaderMap::new(), 100).unwrap();
        jar.extend(s.start(&b, &cookie_header(&jar), 100).unwrap());
        let c = LoginFlow::new("/c".into(), false, false, 101);
        let set = s.start(&c, &cookie_header(&jar), 101).unwrap();
        let removed: Vec<_> = set.iter().filter(|c| c.contains("Max-Age=0")).collect();
        assert_eq!(removed.len(), 1);
        assert!(removed[0].starts_with(&s.cookie_name(a.state.secret())));
    }
}
