//! Tokens from oidc-provider after the login: refresh, introspection and revocation at
//! logout, and the replayed codes and wrong PKCE verifiers it refuses.

use std::time::Duration;

use axum_oauth_login::UserInfo;
use axum_oauth_login::client::{ErrorCode, OAuthClient, OAuthError, TokenRef};
use axum_oauth_login::secret::{
    AccessToken, AuthorizationCode, CsrfState, PkceVerifier, RefreshToken,
};
use reqwest::StatusCode;

use crate::harness::{
    BASIC_CLIENT, EMAIL, InteropApp, LOGIN, OidcProvider, POST_CLIENT, walk_provider,
};
use crate::support::{Http, body, bounded, json, query_param};

pub async fn refresh_through_the_client_returns_a_new_access_token() {
    require_node!();
    let app = InteropApp::start(BASIC_CLIENT).await;
    app.login().await;
    let tokens = app.session_tokens().await;
    let old_access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = RefreshToken::new(tokens["refresh_token"].as_str().expect("a refresh token"));

    let fresh = bounded("refresh", app.oauth.client().refresh(&refresh))
        .await
        .expect("oidc-provider refreshes");
    assert_ne!(fresh.access_token().secret(), old_access);
    assert!(fresh.refresh_token().is_some());
    assert!(fresh.expires_at().is_some());
    let me: UserInfo = bounded(
        "userinfo",
        app.oauth.client().userinfo(fresh.access_token()),
    )
    .await
    .expect("the new token works at userinfo");
    assert_eq!(me.sub.as_deref(), Some(LOGIN));
    assert_eq!(me.email.as_deref(), Some(EMAIL));
}

pub async fn an_expired_session_is_refreshed_transparently() {
    require_node!();
    let app = InteropApp::start(POST_CLIENT).await;
    app.login().await;
    let before = app.session_tokens().await;
    let old_access = before["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/me").await.status(), StatusCode::OK);
    let requests = app.provider.token_requests().await;

    // Past the access token's expiry (server.mjs: 600 s) on the app's clock only.
    app.clock.advance(Duration::from_secs(2 * 3600));
    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    assert_eq!(json(res).await["sub"], LOGIN);
    assert_eq!(
        app.provider.token_requests().await,
        requests + 1,
        "exactly one refresh: {:?}",
        app.provider.events().await
    );

    let after = app.session_tokens().await;
    let new_access = after["access_token"].as_str().unwrap();
    assert_ne!(
        new_access, old_access,
        "the session holds the refreshed token"
    );
    assert!(after["expires_at"].as_u64().unwrap() > app.clock.now());
    let info = bounded(
        "introspection",
        app.oauth
            .client()
            .introspect(TokenRef::Access(&AccessToken::new(new_access))),
    )
    .await
    .expect("introspection answers");
    assert!(info.active);
}

pub async fn introspection_then_logout_revokes() {
    require_node!();
    let app = InteropApp::start(BASIC_CLIENT).await;
    app.login().await;
    let tokens = app.session_tokens().await;
    let access = AccessToken::new(tokens["access_token"].as_str().unwrap());
    let refresh = RefreshToken::new(tokens["refresh_token"].as_str().unwrap());
    let client = app.oauth.client();

    let info = bounded(
        "introspection",
        client.introspect(TokenRef::Access(&access)),
    )
    .await
    .expect("introspection answers");
    assert!(info.active, "{info:?}");
    assert_eq!(info.client_id.as_deref(), Some(app.client_id));
    assert_eq!(info.sub.as_deref(), Some(LOGIN));
    let info = bounded(
        "introspection",
        client.introspect(TokenRef::Refresh(&refresh)),
    )
    .await
    .expect("introspection answers");
    assert!(info.active, "{info:?}");

    let res = app.post("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let revocations = app
        .provider
        .events()
        .await
        .iter()
        .filter(|e| *e == "auth /token/revocation client_secret_basic interop-basic")
        .count();
    assert_eq!(revocations, 2, "refresh and access token revoked");
    assert_eq!(app.get("/tokens").await.status(), StatusCode::UNAUTHORIZED);

    for token in [TokenRef::Access(&access), TokenRef::Refresh(&refresh)] {
        let info = bounded("introspection", client.introspect(token))
            .await
            .expect("introspection answers");
        assert!(!info.active, "revoked at logout: {token:?} {info:?}");
    }
    // The provider refuses the old token, and the app's user cache forgot it.
    let res = app
        .http
        .send(
            app.http
                .client
                .get(app.url("/api/me"))
                .bearer_auth(access.secret()),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

pub async fn a_replayed_code_is_invalid_grant() {
    require_node!();
    let redirect_uri = "http://127.0.0.1:9/auth/callback".to_owned();
    let provider = OidcProvider::start(std::slice::from_ref(&redirect_uri)).await;
    let (id, secret, auth) = POST_CLIENT;
    let client = OAuthClient::builder(provider.provider(auth), id, secret)
        .redirect_uri(&redirect_uri)
        .build()
        .expect("client builds");
    let state = CsrfState::random();
    let verifier = PkceVerifier::random();
    let authorize = client
        .authorize_url(&state, Some(&verifier), None)
        .await
        .unwrap();
    let callback = walk_provider(&Http::new(), &authorize, &redirect_uri).await;
    assert!(state.matches(&query_param(&callback, "state").unwrap()));
    let code = query_param(&callback, "code").expect("a code");

    let first = bounded(
        "exchange",
        client.exchange_code(AuthorizationCode::new(code.as_str()), Some(&verifier)),
    )
    .await
    .expect("the first exchange succeeds");
    let again = bounded(
        "exchange",
        client.exchange_code(AuthorizationCode::new(code.as_str()), Some(&verifier)),
    )
    .await;
    assert!(
        matches!(
            again,
            Err(OAuthError::Provider {
                error: ErrorCode::InvalidGrant,
                status: 400,
                ..
            })
        ),
        "{again:?}"
    );
    // RFC 6749 §4.1.2: oidc-provider revokes what the replayed code had issued.
    let info = bounded(
        "introspection",
        client.introspect(TokenRef::Access(first.access_token())),
    )
    .await
    .expect("introspection answers");
    assert!(!info.active, "{info:?}");
}

pub async fn a_wrong_pkce_verifier_is_invalid_grant() {
    require_node!();
    let redirect_uri = "http://127.0.0.1:9/auth/callback".to_owned();
    let provider = OidcProvider::start(std::slice::from_ref(&redirect_uri)).await;
    let (id, secret, auth) = BASIC_CLIENT;
    let client = OAuthClient::builder(provider.provider(auth), id, secret)
        .redirect_uri(&redirect_uri)
        .build()
        .expect("client builds");
    let verifier = PkceVerifier::random();
    let authorize = client
        .authorize_url(&CsrfState::random(), Some(&verifier), None)
        .await
        .unwrap();
    let callback = walk_provider(&Http::new(), &authorize, &redirect_uri).await;
    let code = query_param(&callback, "code").expect("a code");
    let wrong = bounded(
        "exchange",
        client.exchange_code(
            AuthorizationCode::new(code.as_str()),
            Some(&PkceVerifier::random()),
        ),
    )
    .await;
    assert!(
        matches!(
            wrong,
            Err(OAuthError::Provider {
                error: ErrorCode::InvalidGrant,
                ..
            })
        ),
        "{wrong:?}"
    );
}
