//! Unit tests of sessions: the handle over the cookie store (chunks, key rotation,
//! timeouts) and over a server-side store.

use super::*;
use crate::client::TokenSet;
use crate::secret::AccessToken;
use crate::store::{MemoryStore, SessionStore};

fn config_with(
    clock: Clock,
    key: CookieKey,
    idle: Option<u64>,
    backend: Backend,
) -> Arc<SessionConfig> {
    let client =
        crate::client::OAuthClient::builder(crate::provider::Provider::vcita(), "id", "secret")
            .redirect_uri("http://127.0.0.1/cb")
            .build()
            .unwrap();
    let refresher = Refresher::new(
        client,
        Duration::from_secs(60),
        Duration::from_secs(60),
        clock.clone(),
    );
    Arc::new(SessionConfig::new(
        CookieCodec::new(key, false, "test".into()),
        "s".into(),
        (100, idle),
        clock,
        backend,
        refresher,
    ))
}

fn config(clock: Clock) -> Arc<SessionConfig> {
    config_with(clock, CookieKey::generate(), None, Backend::Cookie)
}

/// The `Cookie` header a browser sends after these `Set-Cookie` values.
fn cookie_header(set_cookies: &[String]) -> http::HeaderMap {
    let pairs: Vec<&str> = set_cookies
        .iter()
        .filter(|c| !c.contains("Max-Age=0"))
        .filter_map(|c| c.split(';').next())
        .collect();
    let mut h = http::HeaderMap::new();
    if !pairs.is_empty() {
        h.insert(http::header::COOKIE, pairs.join("; ").parse().unwrap());
    }
    h
}

fn headers_with(cookie: &str) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    h.insert(http::header::COOKIE, cookie.parse().unwrap());
    h
}

/// A token of `len` random base64url characters (as real tokens are: barely
/// compressible).
fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // 64 symbols: the low six bits of each random byte pick one uniformly.
    (0..len)
        .map(|_| ALPHABET[usize::from(crate::secret::random_bytes::<1>()[0] & 63)] as char)
        .collect()
}

fn session(access_token: &str, now: u64) -> SessionData {
    SessionData::start(
        TokenSet::bearer(AccessToken::new(access_token)),
        LoginUser::None,
        None,
        now,
        100,
    )
}

/// Logs a session in through a handle and returns the browser's next `Cookie` header.
async fn logged_in(cfg: &Arc<SessionConfig>, data: SessionData) -> http::HeaderMap {
    let h = SessionHandle::from_headers(cfg.clone(), &http::HeaderMap::new());
    h.start(data).await.expect("session starts");
    cookie_header(&h.set_cookie_headers())
}

#[test]
fn untouched_handle_writes_nothing() {
    let cfg = config(Clock::manual(0));
    let h = SessionHandle::from_headers(cfg, &headers_with("s=whatever"));
    assert!(h.set_cookie_headers().is_empty());
}

#[tokio::test]
async fn set_then_load_then_expire() {
    let clock = Clock::manual(1000);
    let cfg = config(clock.clone());
    let data = session("t", 1000);
    let id = data.id.clone();
    let h = SessionHandle::from_headers(cfg.clone(), &http::HeaderMap::new());
    assert!(h.get_if_current().unwrap().is_none());
    h.start(data).await.unwrap();
    let set = h.set_cookie_headers();
    assert!(set[0].contains("Max-Age=100"), "{set:?}");
    let next = cookie_header(&set);

    let h2 = SessionHandle::from_headers(cfg.clone(), &next);
    assert_eq!(h2.get_if_current().unwrap().unwrap().id, id);
    assert!(h2.set_cookie_headers().is_empty());

    clock.advance(Duration::from_secs(100));
    let h3 = SessionHandle::from_headers(cfg, &next);
    assert!(h3.get_if_current().unwrap().is_none());
    // The dead cookie is removed.
    assert!(h3.set_cookie_headers()[0].contains("Max-Age=0"));
}

#[tokio::test]
async fn large_sessions_span_chunks_and_oversized_ones_are_refused() {
    let clock = Clock::manual(0);
    let cfg = config(clock.clone());
    // A 5 KB access token: more than one cookie holds (compressed, it still fits).
    let big = session(&random_token(5000), 0);
    let next = logged_in(&cfg, big).await;
    let header = next[http::header::COOKIE].to_str().unwrap().to_owned();
    assert!(header.contains("s=") && header.contains("s.1="), "{header}");
    let h = SessionHandle::from_headers(cfg.clone(), &next);
    let data = h.get_if_current().unwrap().expect("reassembled");
    assert_eq!(data.tokens.access_token().secret().len(), 5000);
    // Replaced by a small session, the stale chunk is removed.
    h.start(session("small", 0)).await.unwrap();
    let set = h.set_cookie_headers();
    assert!(
        set.iter()
            .any(|c| c.starts_with("s.1=;") && c.contains("Max-Age=0")),
        "{set:?}"
    );
    // Past the cap: refused at the start, never silently slimmed.
    let h = SessionHandle::from_headers(cfg, &http::HeaderMap::new());
    assert!(matches!(
        h.start(session(&random_token(9000), 0)).await,
        Err(StartError::TooLarge)
    ));
}

/// The session cookie and its chunks are found in one pass over the `Cookie` headers,
/// in any order, across several headers, among lookalike names; the first of duplicates
/// wins, and a missing chunk ends the value.
#[tokio::test]
async fn chunks_are_found_in_any_order_and_across_headers() {
    let cfg = config(Clock::manual(0));
    let next = logged_in(&cfg, session(&random_token(5000), 0)).await;
    let header = next[http::header::COOKIE].to_str().unwrap();
    let value = |name: &str| {
        header
            .split("; ")
            .find_map(|c| c.strip_prefix(name)?.strip_prefix('='))
            .unwrap()
            .to_owned()
    };
    let (first, second) = (value("s"), value("s.1"));
    let headers = |lines: &[String]| {
        let mut map = http::HeaderMap::new();
        for line in lines {
            map.append(http::header::COOKIE, line.parse().unwrap());
        }
        map
    };
    let opens = |map: &http::HeaderMap| {
        SessionHandle::from_headers(cfg.clone(), map)
            .get_if_current()
            .unwrap()
            .map(|d| d.tokens.access_token().secret().len())
    };
    // Reversed, in two headers, with lookalikes that are not chunks of `s`.
    let split = headers(&[
        format!("s.1={second}; s.01=x; s.+1=x; ss.1=x; s.x=x"),
        format!("other=1; s={first}; s.1=not-this-one; s=not-this-either"),
    ]);
    assert_eq!(opens(&split), Some(5000));
    // Chunk 1 missing: the first cookie alone does not open.
    assert_eq!(opens(&headers(&[format!("s={first}; s.2={second}")])), None);
    // Only lookalikes: no session cookie at all.
    let none = headers(&["ss=1; s.1=2".to_owned()]);
    assert!(!SessionHandle::from_headers(cfg.clone(), &none).has_cookie());
}

#[tokio::test]
async fn cookies_sealed_with_the_previous_key_are_resealed() {
    let clock = Clock::manual(0);
    let old = CookieKey::generate();
    let before = config_with(clock.clone(), old.clone(), None, Backend::Cookie);
    let next = logged_in(&before, session("t", 0)).await;
    let rotated = config_with(
        clock,
        CookieKey::generate().with_previous(old),
        None,
        Backend::Cookie,
    );
    let h = SessionHandle::from_headers(rotated.clone(), &next);
    assert!(h.get_if_current().unwrap().is_some(), "accepted");
    let set = h.set_cookie_headers();
    assert_eq!(set.len(), 1, "re-sealed under the current key: {set:?}");
    // The new cookie opens with the current key alone.
    let current_only = config_with(
        Clock::manual(0),
        rotated.codec_key_for_test(),
        None,
        Backend::Cookie,
    );
    let h = SessionHandle::from_headers(current_only, &cookie_header(&set));
    assert!(h.get_if_current().unwrap().is_some());
}

#[tokio::test]
async fn idle_sessions_end_and_busy_ones_renew_coarsely() {
    let clock = Clock::manual(0);
    let cfg = config_with(
        clock.clone(),
        CookieKey::generate(),
        Some(60),
        Backend::Cookie,
    );
    let next = logged_in(&cfg, session("t", 0)).await;
    // Within a tenth of the idle timeout: no rewrite.
    clock.advance(Duration::from_secs(5));
    let h = SessionHandle::from_headers(cfg.clone(), &next);
    assert!(h.get_if_current().unwrap().is_some());
    assert!(
        h.set_cookie_headers().is_empty(),
        "not re-sealed per request"
    );
    // After it: renewed (re-sealed with a new last_seen).
    clock.advance(Duration::from_secs(5));
    let h = SessionHandle::from_headers(cfg.clone(), &next);
    assert!(h.get_if_current().unwrap().is_some());
    let renewed = cookie_header(&h.set_cookie_headers());
    // Idle past the timeout from the renewal: ended.
    clock.advance(Duration::from_secs(59));
    let h = SessionHandle::from_headers(cfg.clone(), &renewed);
    assert!(
        h.get_if_current().unwrap().is_some(),
        "renewed at t=10, alive at 69"
    );
    clock.advance(Duration::from_secs(2));
    let h = SessionHandle::from_headers(cfg, &renewed);
    assert!(
        h.get_if_current().unwrap().is_none(),
        "idle since t=10: ended at 70"
    );
}

#[tokio::test]
async fn store_sessions_keep_only_a_sealed_id_in_the_cookie() {
    let clock = Clock::manual(0);
    let store = MemoryStore::new(100);
    let backend = Backend::Store(TimedStore::new(
        Arc::new(store.clone()),
        Duration::from_secs(1),
    ));
    let cfg = config_with(clock, CookieKey::generate(), None, backend);
    let big = session(&"a".repeat(20_000), 0);
    let id = big.id.clone();
    let next = logged_in(&cfg, big).await;
    let header = next[http::header::COOKIE].to_str().unwrap();
    assert!(header.len() < 400, "only the sealed id: {header}");
    let record = store.load(&id).await.unwrap().expect("saved");
    assert!(!record.contains("aaaa"), "sealed at rest");
    let h = SessionHandle::from_headers(cfg.clone(), &next);
    assert!(h.get_if_current().is_none(), "the store must be asked");
    let data = h.current().await.unwrap().expect("loaded");
    assert_eq!(data.tokens.access_token().secret().len(), 20_000);
    assert!(h.set_cookie_headers().is_empty());
    // Ending it deletes the record: the same cookie is dead.
    h.end().await;
    assert!(store.load(&id).await.unwrap().is_none());
    let h = SessionHandle::from_headers(cfg, &next);
    assert!(h.current().await.unwrap().is_none());
}

#[test]
fn fresh_sessions_get_new_ids() {
    assert_ne!(session("t", 0).id, session("t", 0).id);
}

#[test]
fn a_numeric_sub_still_gives_the_lookup_key() {
    // vcita sends `"sub": 1001`, a number.
    let numeric = SessionData::start(
        TokenSet::bearer(AccessToken::new("t")),
        LoginUser::Provider(serde_json::json!({ "sub": 1001 })),
        None,
        0,
        100,
    );
    let text = SessionData::start(
        TokenSet::bearer(AccessToken::new("t")),
        LoginUser::Provider(serde_json::json!({ "sub": "1001" })),
        None,
        0,
        100,
    );
    let cfg = config(Clock::manual(0));
    assert_eq!(cfg.lookup_keys(&numeric).len(), 1);
    assert_eq!(cfg.lookup_keys(&numeric), cfg.lookup_keys(&text));
    assert_eq!(
        crate::client::subject_of(&serde_json::json!({"sub": 1001})).as_deref(),
        Some("1001")
    );
}

#[tokio::test]
async fn a_record_opened_once_is_its_id_s_alone() {
    let clock = Clock::manual(0);
    let store = MemoryStore::new(100);
    let timed = TimedStore::new(Arc::new(store.clone()), Duration::from_secs(1));
    let cfg = config_with(
        clock,
        CookieKey::generate(),
        None,
        Backend::Store(timed.clone()),
    );
    let data = session("token", 0);
    let id = data.id.clone();
    logged_in(&cfg, data).await;
    let first = cfg
        .read_record(&timed, &id, false)
        .await
        .unwrap()
        .expect("opens");
    // Loaded again: the same bytes, the same session, not opened again.
    let again = cfg
        .read_record(&timed, &id, false)
        .await
        .unwrap()
        .expect("opens");
    assert!(Arc::ptr_eq(&first.loaded.data, &again.loaded.data));
    // The same sealed bytes under another id are not that id's session, opened or cached.
    let other = SessionId::random();
    let ttl = Duration::from_secs(60);
    store.save(&other, &first.sealed, &[], ttl).await.unwrap();
    assert!(
        cfg.read_record(&timed, &other, false)
            .await
            .unwrap()
            .is_none()
    );
    // Deleted (a logout on any instance): gone at once, whatever was cached.
    store.delete(&id).await.unwrap();
    assert!(cfg.read_record(&timed, &id, false).await.unwrap().is_none());
}
