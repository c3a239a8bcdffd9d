//! The denylist's tests.

use super::*;
use crate::client::TokenSet;
use crate::oidc::LogoutClaims;
use crate::session::LoginUser;

fn session(sub: &str, sid: Option<&str>, created_at: u64) -> SessionData {
    let tokens: TokenSet = serde_json::from_value(
        serde_json::json!({"access_token": "a", "token_type": "Bearer"}),
    )
    .unwrap();
    let mut data =
        SessionData::start(tokens, LoginUser::None, Some(sub.into()), created_at, 3600);
    data.sid = sid.map(str::to_owned);
    data
}

#[tokio::test]
async fn a_logout_names_its_sid_or_the_users_older_sessions() {
    let list = Denylist::new(
        "client|token-url".into(),
        None,
        Duration::from_secs(3600),
        SYNC_EVERY,
    );
    let a1 = session("alice", Some("s1"), 1000);
    let a2 = session("alice", Some("s2"), 1000);
    let a_nosid = session("alice", None, 1000);
    let a_later = session("alice", None, 5000);
    let bob = session("bob", Some("s1-bob"), 1000);
    for s in [&a1, &a2, &a_nosid, &bob] {
        assert!(!list.denies(s));
    }
    // sid + sub: that session, and the user's sessions without a sid from before.
    list.add(Some("s1"), Some("alice"), 2000).await.unwrap();
    assert!(list.denies(&a1));
    assert!(
        !list.denies(&a2),
        "another session of the user at the provider stays"
    );
    assert!(list.denies(&a_nosid));
    assert!(!list.denies(&a_later), "begun after the logout");
    assert!(!list.denies(&bob));
    // sub only: every session of the user begun before it.
    list.add(None, Some("bob"), 2000).await.unwrap();
    assert!(list.denies(&bob));

    let claims = |sid: Option<&str>, sub: Option<&str>| LogoutClaims::for_test(sid, sub, 2000);
    assert!(Denylist::names(&claims(Some("s1"), None), &a1));
    assert!(!Denylist::names(&claims(Some("s1"), None), &a_nosid));
    assert!(Denylist::names(
        &claims(Some("s1"), Some("alice")),
        &a_nosid
    ));
    assert!(!Denylist::names(&claims(Some("s1"), Some("alice")), &a2));
    assert!(Denylist::names(&claims(None, Some("alice")), &a2));
    assert!(!Denylist::names(&claims(None, Some("alice")), &a_later));

    // Another client's list (same store, other context) names nobody here.
    let other = Denylist::new(
        "other|url".into(),
        None,
        Duration::from_secs(3600),
        SYNC_EVERY,
    );
    other.add(Some("s2"), None, 2000).await.unwrap();
    assert!(!list.denies(&a2));
}
