//! The other endpoints a client calls with a token: userinfo, introspection, revocation.

use super::*;

#[tokio::test]
async fn userinfo_returns_vcita_fields() {
    let (mock, c) = setup().await;
    let token = login(&mock, &c).await.access_token().clone();
    let info: UserInfo = c.userinfo(&token).await.unwrap();
    assert_eq!(info.sub.as_deref(), Some("u-1001"));
    assert_eq!(info.business_name.as_deref(), Some("Demo Salon"));
    assert_eq!(info.email.as_deref(), Some("owner@example.com"));
    assert_eq!(info.role.as_deref(), Some("owner"));
    assert_eq!(info.user_type.as_deref(), Some("staff"));
    assert_eq!(info.business_id.as_deref(), Some("b-42"));
    assert_eq!(info.business_uid.as_deref(), Some("biz_42"));
    assert_eq!(info.directory_uid.as_deref(), Some("dir-1"));
    assert_eq!(info.brand_host.as_deref(), Some("app.vcita.com"));
    assert_eq!(info.extra["brand_theme"]["primary_color"], "#1a73e8");
    let r = last(&mock, MockEndpoint::Userinfo);
    assert_eq!(r.authorization, Some(format!("Bearer {}", token.secret())));

    let raw: Value = c.userinfo(&token).await.unwrap();
    assert_eq!(raw, mock.user().info);
    let issued = AccessToken::new(mock.issue_token());
    let info: UserInfo = c.userinfo(&issued).await.unwrap();
    assert_eq!(info.display_name(), "Demo Salon");
}

#[tokio::test]
async fn userinfo_failures() {
    let (mock, c) = setup().await;
    let err = err!(c.userinfo::<UserInfo>(&AccessToken::new("nope")).await =>
        OAuthError::Provider { endpoint: Endpoint::Userinfo, status: 401, .. });
    assert!(err.is_invalid_token() && !err.is_transient(), "{err:?}");

    let token = AccessToken::new(mock.issue_token());
    mock.respond_next(MockEndpoint::Userinfo, 1, 401, "text/plain", "");
    let err = c.userinfo::<UserInfo>(&token).await.unwrap_err();
    assert!(err.is_invalid_token(), "a bare 401: {err:?}");

    mock.fail_next(MockEndpoint::Userinfo, 1, 503);
    let err = c.userinfo::<Value>(&token).await.unwrap_err();
    assert!(err.is_transient() && !err.is_invalid_token(), "{err:?}");
    assert_eq!(err.status(), Some(503));

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Strict {
        sub: u64,
    }
    err!(c.userinfo::<Strict>(&token).await => OAuthError::Malformed { status: 200, .. });
    // Still works after the injected failures.
    assert!(c.userinfo::<UserInfo>(&token).await.is_ok());
}

#[tokio::test]
async fn introspect_and_revoke() {
    let mock = start(MockProvider::builder().refresh_tokens(true)).await;
    let c = client(&mock, mock.provider());
    let tokens = login(&mock, &c).await;
    let (access, refresh) = (tokens.access_token(), tokens.refresh_token().unwrap());
    let i = c.introspect(TokenRef::Access(access)).await.unwrap();
    assert!(i.active);
    assert_eq!(i.client_id.as_deref(), Some(mock.client_id()));
    assert_eq!(i.username.as_deref(), Some("owner@example.com"));
    assert_eq!(i.sub.as_deref(), Some("u-1001"));
    assert_eq!(i.token_type.as_deref(), Some("access_token"));
    assert!(i.exp.unwrap() > unix_now());
    let r = last(&mock, MockEndpoint::Introspect);
    assert_eq!(r.fields["token"], access.secret());
    assert_eq!(r.fields["token_type_hint"], "access_token");
    assert_eq!(r.client_auth(), Some(ClientAuth::ClientSecretPost));

    let i = c.introspect(TokenRef::Refresh(refresh)).await.unwrap();
    assert!(i.active);
    assert_eq!(i.token_type.as_deref(), Some("refresh_token"));
    let hint = &last(&mock, MockEndpoint::Introspect).fields["token_type_hint"];
    assert_eq!(hint, "refresh_token");

    let unknown = AccessToken::new("0".repeat(64));
    let i = c.introspect(TokenRef::Access(&unknown)).await.unwrap();
    assert_eq!(i, Introspection::default(), "inactive and nothing else");

    c.revoke(TokenRef::Access(access)).await.unwrap();
    let r = last(&mock, MockEndpoint::Revoke);
    assert_eq!(r.fields["token"], access.secret());
    assert_eq!(r.fields["token_type_hint"], "access_token");
    let i = c.introspect(TokenRef::Access(access)).await.unwrap();
    assert!(!i.active);
    let err = c.userinfo::<UserInfo>(access).await.unwrap_err();
    assert!(err.is_invalid_token(), "{err:?}");

    c.revoke(TokenRef::Refresh(refresh)).await.unwrap();
    let i = c.introspect(TokenRef::Refresh(refresh)).await.unwrap();
    assert!(!i.active);
    assert!(c.refresh(refresh).await.unwrap_err().is_invalid_grant());
}
