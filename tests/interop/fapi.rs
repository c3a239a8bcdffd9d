//! The FAPI 2.0 client side against oidc-provider: `private_key_jwt` (RFC 7523) at every
//! client-authenticated endpoint, and pushed authorization requests (RFC 9126).

use axum_oauth_login::client::TokenRef;
use axum_oauth_login::secret::{AccessToken, RefreshToken};
use reqwest::StatusCode;

use crate::harness::{InteropApp, LOGIN, PAR_CLIENT, PKJWT_CLIENT, client_key, walk_provider};
use crate::support::{body, bounded, json};

/// The `auth ...` events of client-authenticated requests `server.mjs` saw.
async fn auth_events(app: &InteropApp) -> Vec<String> {
    let events = app.provider.events().await;
    events
        .into_iter()
        .filter(|e| e.starts_with("auth "))
        .collect()
}

pub async fn private_key_jwt_authenticates_the_code_refresh_introspection_and_revocation() {
    require_node!();
    let app = InteropApp::start_oidc(PKJWT_CLIENT, |p| p, |b| b.client_key(client_key())).await;
    app.login().await;
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    assert_eq!(json(res).await["sub"], LOGIN);

    let tokens = app.session_tokens().await;
    let refresh = RefreshToken::new(tokens["refresh_token"].as_str().expect("a refresh token"));
    let client = app.oauth.client();
    let fresh = bounded("refresh", client.refresh(&refresh))
        .await
        .expect("oidc-provider accepts the assertion at refresh");
    let info = bounded(
        "introspection",
        client.introspect(TokenRef::Access(fresh.access_token())),
    )
    .await
    .expect("introspection answers");
    assert!(info.active, "{info:?}");
    let access = AccessToken::new(tokens["access_token"].as_str().unwrap());

    let res = app.post("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let info = bounded(
        "introspection",
        client.introspect(TokenRef::Access(&access)),
    )
    .await
    .expect("introspection answers");
    assert!(!info.active, "revoked at logout");

    let events = auth_events(&app).await;
    let count = |path: &str| {
        let wanted = format!("auth {path} private_key_jwt interop-pkjwt");
        events.iter().filter(|e| **e == wanted).count()
    };
    assert_eq!(count("/token"), 2, "code and refresh: {events:?}");
    assert_eq!(count("/token/introspection"), 2, "{events:?}");
    assert!(count("/token/revocation") >= 1, "{events:?}");
    assert!(
        events.iter().all(|e| e.contains(" private_key_jwt ")),
        "no other method was used: {events:?}"
    );
}

pub async fn a_login_pushes_its_request_when_the_client_must_and_only_then() {
    require_node!();
    let app =
        InteropApp::start_oidc(PAR_CLIENT, |p| p.par(true), |b| b.client_key(client_key())).await;
    // oidc-provider advertises its PAR endpoint to everyone and requires it of no one:
    // discovery knows the endpoint and does not turn PAR on by itself.
    let discovered = app.provider.discovered_provider(None).await;
    assert!(discovered.par_url().is_some());
    assert!(!discovered.uses_par(), "advertised is not required");

    let authorize = app.start_login().await;
    let names: Vec<String> = authorize
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    assert_eq!(names, ["client_id", "request_uri"], "{authorize}");
    let callback = walk_provider(&app.http, &authorize, &app.redirect_uri).await;
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    let events = auth_events(&app).await;
    assert!(
        events.contains(&"auth /request private_key_jwt interop-par".to_owned()),
        "the request was pushed with the client's assertion: {events:?}"
    );
}

pub async fn oidc_provider_refuses_a_plain_request_for_a_client_that_must_push() {
    require_node!();
    // The app misconfigured (PAR off) for a client the provider makes push.
    let app =
        InteropApp::start_oidc(PAR_CLIENT, |p| p.par(false), |b| b.client_key(client_key())).await;
    let authorize = app.start_login().await;
    assert!(
        authorize.query_pairs().any(|(k, _)| k == "state"),
        "a plain request"
    );
    let res = app.http.get_url(authorize.as_str()).await;
    let refused = match res.headers().get("location") {
        Some(to) => to.to_str().unwrap().contains("error=invalid_request"),
        None => res.status() == StatusCode::BAD_REQUEST,
    };
    assert!(
        refused,
        "oidc-provider refuses it: {} {:?}",
        res.status(),
        res.headers()
    );
}
