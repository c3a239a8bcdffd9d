//! Token responses: tolerant parsing, expiry on the client's clock, and refresh with or
//! without rotation.

use super::*;

#[tokio::test]
async fn token_responses_are_parsed_tolerantly() {
    let (mock, c) = setup().await;
    let created_at = unix_now() - 100;
    let body = json!({
        "access_token": "tok-1", "token_type": "BEARER", "expires_in": "3600",
        "created_at": created_at, "refresh_token": "r-1", "id_token": "id-1",
        "scope": "read write", "x_vendor": {"k": 1}, "instance_url": "https://x.example",
    });
    let t = canned(&mock, &c, 200, JSON, body.to_string()).await;
    let t = t.unwrap();
    assert_eq!(t.access_token().secret(), "tok-1");
    assert_eq!(t.expires_at(), Some(created_at + 3600));
    assert_eq!(t.refresh_token().map(RefreshToken::secret), Some("r-1"));
    assert_eq!(t.id_token().map(|i| i.secret()), Some("id-1"));
    assert_eq!(t.scope(), Some("read write"));
    let extra: BTreeSet<&str> = t.extra().keys().map(String::as_str).collect();
    assert_eq!(extra, BTreeSet::from(["instance_url", "x_vendor"]));
    assert_eq!(t.extra()["x_vendor"], json!({"k": 1}));

    // Without created_at, expiry counts from now; a missing token_type is Bearer.
    let body = r#"{"access_token":"tok-2","expires_in":60}"#;
    let before = unix_now();
    let t = canned(&mock, &c, 200, JSON, body).await.unwrap();
    let at = t.expires_at().unwrap();
    assert!((before + 60..=unix_now() + 60).contains(&at), "{at}");

    // The mock's own answer: vcita's created_at and 20-year expires_in.
    let at = login(&mock, &c).await.expires_at().unwrap();
    assert!(at.abs_diff(unix_now() + 631_152_000) <= 5, "{at}");
}

#[tokio::test]
async fn expiry_uses_the_client_clock() {
    let mock = MockProvider::start().await.unwrap();
    let clock = Clock::manual(1_000_000);
    let c = builder(&mock, mock.provider()).clock(clock.clone()).build();
    let c = c.unwrap();
    let body = r#"{"access_token":"a","expires_in":60}"#;
    let t = canned(&mock, &c, 200, JSON, body).await.unwrap();
    assert_eq!(t.expires_at(), Some(1_000_060));
    // A created_at later than the client's now is clamped to now.
    clock.advance(Duration::from_secs(40));
    let at = login(&mock, &c).await.expires_at();
    assert_eq!(at, Some(1_000_040 + 631_152_000));
}

// ---- refresh -----------------------------------------------------------------------

#[tokio::test]
async fn refresh_rotates_and_the_old_token_dies() {
    let mock = start(MockProvider::builder().refresh_tokens(true)).await;
    let c = client(&mock, mock.provider());
    let first = login(&mock, &c).await;
    let r1 = first.refresh_token().expect("a refresh token").clone();
    let second = c.refresh(&r1).await.unwrap();
    let (a1, a2) = (first.access_token(), second.access_token());
    assert_ne!(a1.secret(), a2.secret());
    let r2 = second.refresh_token().expect("a rotated refresh token");
    assert_ne!(r2.secret(), r1.secret());
    assert_eq!(mock.refresh_hits(), 1);
    let r = last(&mock, MockEndpoint::Token);
    assert_eq!(r.fields["grant_type"], "refresh_token");
    assert_eq!(r.fields["refresh_token"], r1.secret());
    assert_eq!(r.client_auth(), Some(ClientAuth::ClientSecretPost));

    let err = c.refresh(&r1).await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err:?}");
    let user: UserInfo = c.userinfo(a2).await.unwrap();
    assert_eq!(user.sub.as_deref(), Some("u-1001"));
    assert!(c.refresh(r2).await.is_ok());
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_refresh_token() {
    let no_rotation = MockProvider::builder().rotate_refresh_tokens(false);
    let mock = start(no_rotation.refresh_tokens(true)).await;
    let c = client(&mock, mock.provider());
    let first = login(&mock, &c).await;
    let r1 = first.refresh_token().unwrap();
    let second = c.refresh(r1).await.unwrap();
    let kept = second.refresh_token().map(RefreshToken::secret);
    assert_eq!(kept, Some(r1.secret()));
    let (a1, a2) = (first.access_token(), second.access_token());
    assert_ne!(a1.secret(), a2.secret());
    assert!(c.refresh(r1).await.is_ok());
}
