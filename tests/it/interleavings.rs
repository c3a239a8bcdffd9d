//! Randomized interleavings of the races the session invariants are about (`DESIGN.md`,
//! "Session lifecycle"): two instances on one store, many rounds of concurrent requests
//! that refresh (under an idle timeout, so they also renew the record), re-seal it under
//! a rotated key, and log out — and, for a connected account in the same store, API calls
//! that refresh it and disconnects — with the provider's token answers held for a random
//! time after it issued them. After each round:
//!
//! * a deleted record never comes back (a logged-out cookie is refused on both instances,
//!   a disconnected account stays disconnected);
//! * a refresh token is presented at most once;
//! * every token the provider issued is either in the live record or revoked (after a
//!   final logout of a surviving session, nothing issued is live).
//!
//! Seeded and bounded; the seed is printed, and `INTERLEAVING_SEED=<n>` replays a run.

use std::collections::HashSet;
use std::time::Duration;

use axum_oauth_login::{Clock, CookieKey, OAuthBuilder};
use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use reqwest::StatusCode;

use crate::delete_wins::{Shared, logout_with, open, tokens_with};
use crate::harness::*;
use crate::support::bounded;

/// xorshift64*: deterministic from its seed, no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

const ROUNDS: usize = 12;

const ACCOUNT: &str = "acct-1";

#[derive(Debug, Clone, Copy)]
enum Op {
    /// `GET /tokens` on instance 0 or 1: refreshes when due, renews, re-seals.
    Use(usize),
    /// `POST /auth/logout` on instance 0 or 1.
    Logout(usize),
    /// An API call as the connected account on instance 0 or 1: refreshes it when due.
    Api(usize),
    /// `POST /accounts/{account}/disconnect` on instance 0 or 1.
    Disconnect(usize),
}

impl Op {
    fn random(rng: &mut Rng) -> Op {
        let on = rng.below(2) as usize;
        match rng.below(8) {
            0 => Op::Logout(on),
            1 => Op::Disconnect(on),
            2..=4 => Op::Api(on),
            _ => Op::Use(on),
        }
    }

    fn instance(self) -> usize {
        match self {
            Op::Use(i) | Op::Logout(i) | Op::Api(i) | Op::Disconnect(i) => i,
        }
    }

    /// Sends the request with exactly this session cookie; its status.
    async fn send(self, base: String, mock: MockProvider, cookie: String) -> StatusCode {
        let browser = Browser::new(&base, &mock);
        let req = match self {
            Op::Use(_) => browser.client.get(browser.url("/tokens")),
            Op::Logout(_) => browser.client.post(browser.url("/auth/logout")),
            Op::Api(_) => browser.client.get(browser.url(&format!(
                "/accounts/{ACCOUNT}/api?path=platform%2Fv1%2Fbusinesses%2Fb-42"
            ))),
            Op::Disconnect(_) => browser
                .client
                .post(browser.url(&format!("/accounts/{ACCOUNT}/disconnect"))),
        };
        let header = format!("{SESSION_COOKIE}={cookie}");
        browser.send(req.header("cookie", header)).await.status()
    }
}

async fn interleave(kind: Shared) {
    let Some((store, _server)) = open(kind).await else {
        return;
    };
    let seed = std::env::var("INTERLEAVING_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    println!("interleavings ({kind:?}): INTERLEAVING_SEED={seed}");
    let mut rng = Rng(seed);
    let mock = rotating_mock().await;
    let clock = Clock::manual_from_now();
    let (old_key, key) = (CookieKey::generate(), CookieKey::generate());
    let rotated = key.clone().with_previous(old_key.clone());
    let configure = |key: CookieKey| {
        let store = store.clone();
        move |b: OAuthBuilder| {
            b.session_store_arc(store.clone())
                .connections_store_arc(store)
                .cookie_key(key)
                .idle_timeout(Duration::from_secs(600))
        }
    };
    // Sessions begin under the old key; both instances read it and re-seal.
    let login = instance(&mock, &old_key, &clock, configure(old_key.clone())).await;
    let apps = [
        instance(&mock, &rotated, &clock, configure(rotated.clone())).await,
        instance(&mock, &rotated, &clock, configure(rotated.clone())).await,
    ];
    for round in 0..ROUNDS {
        let browser = login.new_browser();
        browser.login().await;
        let cookie = browser.session_cookie().expect("a session");
        let owner = apps[0].new_browser();
        owner.login().await;
        crate::connections::connect(&owner, ACCOUNT).await;
        // Into the refresh window, past a tenth of the idle timeout.
        advance(&login, 100);
        for _ in 0..rng.below(3) {
            mock.delay_token_answer_next(1, Duration::from_millis(rng.below(250)));
        }
        let ops: Vec<Op> = (0..2 + rng.below(5))
            .map(|_| Op::random(&mut rng))
            .collect();
        let tasks: Vec<_> = ops
            .iter()
            .map(|&op| {
                let start = Duration::from_millis(rng.below(200));
                let request = op.send(
                    apps[op.instance()].base.clone(),
                    mock.clone(),
                    cookie.clone(),
                );
                tokio::spawn(async move {
                    tokio::time::sleep(start).await;
                    request.await
                })
            })
            .collect();
        let (mut logged_out, mut disconnected) = (false, false);
        for (op, task) in ops.iter().zip(tasks) {
            let status = bounded("a request of the round", task).await.expect("task");
            let expected: &[StatusCode] = match op {
                Op::Logout(_) => {
                    logged_out = true;
                    &[StatusCode::SEE_OTHER]
                }
                Op::Disconnect(_) => {
                    disconnected = true;
                    &[StatusCode::OK]
                }
                Op::Use(_) => &[StatusCode::OK, StatusCode::UNAUTHORIZED],
                // 502 / 401: the account was disconnected under the call (no connection
                // left, or the provider refused its revoked token).
                Op::Api(_) => &[
                    StatusCode::OK,
                    StatusCode::BAD_GATEWAY,
                    StatusCode::UNAUTHORIZED,
                ],
            };
            assert!(
                expected.contains(&status),
                "round {round}: {op:?} answered {status} ({ops:?}, seed {seed})"
            );
        }
        if logged_out {
            for app in &apps {
                let (status, body) = tokens_with(app, &cookie).await;
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "round {round}: a deleted session came back ({ops:?}, seed {seed}): {body}"
                );
            }
        } else {
            let res = logout_with(&apps[rng.below(2) as usize], &cookie).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
        }
        for app in &apps {
            let listed = crate::connections::accounts(app).await;
            assert!(
                !disconnected || listed.is_empty(),
                "round {round}: a disconnected account came back ({ops:?}, seed {seed})"
            );
        }
        // What is left ends now: then nothing issued may be live.
        let res = apps[1]
            .new_browser()
            .post(&format!("/accounts/{ACCOUNT}/disconnect"))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = owner.post("/auth/logout").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let spent: Vec<_> = mock
            .requests(MockEndpoint::Token)
            .into_iter()
            .filter_map(|r| r.fields.get("refresh_token").cloned())
            .collect();
        let unique: HashSet<_> = spent.iter().collect();
        assert_eq!(
            unique.len(),
            spent.len(),
            "round {round}: a refresh token was presented twice ({ops:?}, seed {seed})"
        );
        assert_eq!(
            (mock.live_access_tokens(), mock.live_refresh_tokens()),
            (Vec::new(), Vec::new()),
            "round {round}: tokens left live after logout and disconnect ({ops:?}, seed {seed})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory() {
    interleave(Shared::Memory).await;
}

#[cfg(feature = "file-store")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file() {
    interleave(Shared::File).await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis() {
    interleave(Shared::Redis).await;
}
