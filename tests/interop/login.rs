//! A whole login through oidc-provider with each client authentication method, and the
//! provider holding each client to its registered method.

use axum_oauth_login::client::{ErrorCode, Introspection, OAuthClient, OAuthError, TokenRef};
use axum_oauth_login::provider::ClientAuth;
use axum_oauth_login::secret::AccessToken;
use reqwest::StatusCode;

use crate::harness::{
    BASIC_CLIENT, EMAIL, InteropApp, LOGIN, OidcProvider, POST_CLIENT, walk_provider,
};
use crate::support::{body, bounded, element_text, json, query_param};

/// Login (code + PKCE S256) with the given client, then `/me` (the session's login
/// snapshot) and `/api/me` (through `BearerUser`).
async fn login_and_userinfo(client: (&'static str, &'static str, ClientAuth)) {
    let app = InteropApp::start(client).await;

    let authorize = app.start_login().await;
    assert_eq!(
        query_param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(query_param(&authorize, "code_challenge").is_some_and(|c| c.len() == 43));
    assert_eq!(
        query_param(&authorize, "client_id").as_deref(),
        Some(client.0)
    );

    let callback = walk_provider(&app.http, &authorize, &app.redirect_uri).await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");
    assert_eq!(
        query_param(&callback, "state"),
        query_param(&authorize, "state")
    );
    // RFC 9207: oidc-provider names itself, and the app (issuer configured) accepts it.
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(app.provider.issuer.as_str())
    );
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    let events = app.provider.events().await;
    assert!(
        events.contains(&format!("grant.success {}", client.0)),
        "oidc-provider saw the code exchange by {}: {events:?}",
        client.0,
    );

    // The method the crate used, as the server saw it (server.mjs also refuses any
    // method but the registered one).
    let method = match client.2 {
        ClientAuth::ClientSecretPost => "client_secret_post",
        _ => "client_secret_basic",
    };
    assert!(
        events.contains(&format!("auth /token {method} {}", client.0)),
        "{events:?}"
    );

    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = body(res).await;
    assert_eq!(
        element_text(&page, "email").as_deref(),
        Some(EMAIL),
        "{page}"
    );
    assert_eq!(
        element_text(&page, "provider").as_deref(),
        Some("oidc-provider"),
        "{page}"
    );
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    let me = json(res).await;
    assert_eq!(me["sub"], LOGIN, "{me}");
    assert_eq!(me["email"], EMAIL, "{me}");

    // The token set holds what `offline_access` + consent should give.
    let tokens = app.session_tokens().await;
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    let scope = tokens["scope"].as_str().unwrap_or_default();
    for s in ["openid", "email", "offline_access"] {
        assert!(scope.split(' ').any(|g| g == s), "scope {s} in {scope:?}");
    }
}

pub async fn code_pkce_with_client_secret_post() {
    require_node!();
    login_and_userinfo(POST_CLIENT).await;
}

pub async fn code_pkce_with_client_secret_basic() {
    require_node!();
    login_and_userinfo(BASIC_CLIENT).await;
}

/// oidc-provider insists on each client's registered method, so the two tests above
/// really exercise two methods: the other method is refused with `invalid_client`.
pub async fn the_registered_client_auth_method_is_enforced() {
    require_node!();
    let provider = OidcProvider::start(&["http://127.0.0.1:9/auth/callback".to_owned()]).await;
    let token = AccessToken::new("not-a-token");
    for (id, secret, method) in [POST_CLIENT, BASIC_CLIENT] {
        let client = |auth: ClientAuth| {
            OAuthClient::builder(provider.provider(auth), id, secret)
                .redirect_uri("http://127.0.0.1:9/auth/callback")
                .build()
                .expect("client builds")
        };
        let right: Introspection = bounded(
            "introspection",
            client(method).introspect(TokenRef::Access(&token)),
        )
        .await
        .unwrap_or_else(|e| panic!("{id} with its own method: {e}"));
        assert!(!right.active);
        let other = match method {
            ClientAuth::ClientSecretPost => ClientAuth::ClientSecretBasic,
            _ => ClientAuth::ClientSecretPost,
        };
        let wrong = bounded(
            "introspection",
            client(other).introspect(TokenRef::Access(&token)),
        )
        .await;
        assert!(
            matches!(
                wrong,
                Err(OAuthError::Provider {
                    error: ErrorCode::InvalidClient,
                    ..
                })
            ),
            "{id} with {other:?}: {wrong:?}"
        );
    }
}
