//! The FAPI 2.0 client side against oidc-provider: `private_key_jwt` (RFC 7523) at every
//! client-authenticated endpoint, pushed authorization requests (RFC 9126) and
//! DPoP-bound tokens (RFC 9449) with server nonces.

use axum_oauth_login::client::TokenRef;
use axum_oauth_login::secret::{AccessToken, RefreshToken};
use reqwest::StatusCode;

use axum_oauth_login::jose::SigningKey;
use axum_oauth_login::provider::UserResolver;

use crate::harness::{
    DPOP_CLIENT, InteropApp, LOGIN, PAR_CLIENT, PKJWT_CLIENT, client_key, walk_provider,
};
use crate::support::dpop::proof;
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

/// The app's DPoP key (another throwaway key than the client's).
fn dpop_key() -> SigningKey {
    SigningKey::from_pem(include_str!("../fixtures/keys/p256-other.pem")).expect("the test key")
}

pub async fn dpop_binds_the_tokens_and_every_call_proves_the_key_with_the_servers_nonce() {
    require_node!();
    let app = InteropApp::start_oidc(
        DPOP_CLIENT,
        |p| p.par(true).dpop(true),
        |b| b.client_key(client_key()).dpop_key(dpop_key()),
    )
    .await;
    app.login().await;
    let tokens = app.session_tokens().await;
    assert_eq!(tokens["token_type"], "DPoP", "{tokens}");
    assert_eq!(tokens["dpop_jkt"], dpop_key().thumbprint());

    // Userinfo with the bound token: `Authorization: DPoP` and a proof.
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    assert_eq!(json(res).await["sub"], LOGIN);

    // A refresh through the session (past the token's expiry on the app's clock).
    app.clock.advance(std::time::Duration::from_secs(2 * 3600));
    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    let after = app.session_tokens().await;
    assert_ne!(after["access_token"], tokens["access_token"], "refreshed");
    assert_eq!(after["token_type"], "DPoP");

    let events: Vec<String> = app.provider.events().await;
    let dpop: Vec<&String> = events.iter().filter(|e| e.starts_with("dpop ")).collect();
    // The first proof (the pushed request) is refused for want of a nonce and sent
    // once more with it; the nonce, kept for this server, makes every later proof
    // (code, userinfo, refresh) pass at the first attempt.
    assert_eq!(
        dpop.first().map(|e| e.as_str()),
        Some("dpop POST /request 400 -"),
        "{dpop:?}"
    );
    assert_eq!(
        dpop.get(1).map(|e| e.as_str()),
        Some("dpop POST /request 201 -"),
        "{dpop:?}"
    );
    assert!(dpop[2..].iter().all(|e| e.contains(" 20")), "{dpop:?}");
    assert_eq!(
        dpop.iter()
            .filter(|e| e.starts_with("dpop POST /token 200"))
            .count(),
        2,
        "code and refresh carried proofs: {dpop:?}"
    );
    assert!(
        dpop.iter().any(|e| *e == "dpop GET /me 200 DPoP"),
        "userinfo with the DPoP scheme: {dpop:?}"
    );
    let userinfo_calls = events.iter().filter(|e| *e == "http GET /me").count();
    let with_proof = dpop.iter().filter(|e| e.contains(" /me ")).count();
    assert_eq!(
        userinfo_calls, with_proof,
        "no userinfo call without a proof: {events:?}"
    );

    // Logout revokes (client-authenticated, no proof needed).
    let res = app.post("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

pub async fn the_app_as_a_resource_server_takes_oidc_provider_s_dpop_tokens_with_proofs() {
    require_node!();
    // The app resolves header tokens by introspection, which answers `cnf.jkt`.
    let app = InteropApp::start_oidc(
        DPOP_CLIENT,
        |p| {
            p.par(true)
                .dpop(true)
                .user_resolver(UserResolver::Introspection)
        },
        |b| {
            b.client_key(client_key())
                .dpop_key(dpop_key())
                .accept_dpop(true)
        },
    )
    .await;
    app.login().await;
    let tokens = app.session_tokens().await;
    let token = tokens["access_token"].as_str().unwrap();
    let url = app.url("/api/me");
    let pem = include_str!("../fixtures/keys/p256-other.pem");
    let send = |authorization: String, proof: Option<String>| {
        let mut request = reqwest::Client::new()
            .get(&url)
            .header("authorization", authorization);
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        async move { request.send().await.unwrap() }
    };
    let good = proof(pem, "GET", &url, token, "rs-1");
    let res = send(format!("DPoP {token}"), Some(good.clone())).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    // Replayed, for another URL, and the bound token as Bearer: refused.
    let res = send(format!("DPoP {token}"), Some(good)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "replay");
    let other = proof(pem, "GET", &app.url("/tokens"), token, "rs-2");
    let res = send(format!("DPoP {token}"), Some(other)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "another URL");
    let res = send(format!("Bearer {token}"), None).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "bound token as Bearer"
    );
}

pub async fn provider_api_calls_carry_proofs_a_dpop_protected_resource_accepts() {
    require_node!();
    // The suite's own resource server: the crate accepting DPoP only (`require_dpop`),
    // checking the binding through oidc-provider's introspection.
    let (listener, port) = crate::support::bind().await;
    let resource = format!("http://127.0.0.1:{port}");
    let app = InteropApp::start_oidc(
        DPOP_CLIENT,
        |p| p.par(true).dpop(true).api_base(format!("{resource}/")),
        |b| b.client_key(client_key()).dpop_key(dpop_key()),
    )
    .await;
    let provider = app
        .provider
        .discovered_provider(Some(DPOP_CLIENT.2))
        .await
        .to_builder()
        .user_resolver(UserResolver::Introspection)
        .build()
        .unwrap();
    let rs = axum_oauth_login::OAuth::builder(provider, DPOP_CLIENT.0, "")
        .redirect_uri(format!("{resource}/auth/callback"))
        .cookie_key(axum_oauth_login::CookieKey::generate())
        .client_key(client_key())
        .accept_dpop(true)
        .build()
        .expect("the resource server builds");
    let business = axum::routing::get(|user: axum_oauth_login::BearerUser| async move {
        let sub = user.info().sub.clone();
        axum::Json(serde_json::json!({"data": {"business": {"owner": sub}}}))
    });
    // The example asks for its user's business (none here: the path ends in `/`).
    let routes = axum::Router::new()
        .route(
            "/platform/v1/businesses/",
            business.route_layer(rs.require_login().require_dpop()),
        )
        .layer(rs.layer());
    let _resource = crate::support::Server::start(listener, routes);

    app.login().await;
    // The example's `/business`: `AuthSession::api()` with the session's bound token.
    let res = app
        .http
        .send(
            app.http
                .client
                .get(app.url("/business"))
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    assert_eq!(json(res).await["owner"], LOGIN);
}
