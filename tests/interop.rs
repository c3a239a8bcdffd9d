//! Interop: the crate against panva's `oidc-provider`, a certified OpenID Connect /
//! OAuth 2.0 server we did not write (issue 5, part 1).
//!
//! Needs Node and `npm ci --prefix tests/interop`. Without them the tests print a loud
//! SKIPPED notice and are reported as ignored (libtest-mimic harness, `tests/support/trial.rs`),
//! except on CI (`CI=true`), where they fail.
//!
//! Every test starts its own `node tests/interop/server.mjs` (fresh in-memory state) and
//! its own app on `127.0.0.1:0`; the login goes through oidc-provider's real
//! devInteractions login and consent pages.

#[path = "support/mod.rs"]
mod support;
#[macro_use]
#[path = "interop/harness.rs"]
mod harness;
#[path = "interop/oidc.rs"]
mod oidc;
#[macro_use]
#[path = "support/trial.rs"]
mod trial;

use std::time::Duration;

use axum_oauth_login::client::{ErrorCode, Introspection, OAuthClient, TokenRef};
use axum_oauth_login::secret::{
    AccessToken, AuthorizationCode, CsrfState, PkceVerifier, RefreshToken,
};
use axum_oauth_login::{Provider, UserInfo, client::OAuthError, provider::ClientAuth};
use harness::{BASIC_CLIENT, EMAIL, InteropApp, LOGIN, OidcProvider, POST_CLIENT, walk_provider};
use reqwest::StatusCode;
use support::{Http, body, bounded, element_text, json, query_param, with_param, without_param};

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

async fn code_pkce_with_client_secret_post() {
    require_node!();
    login_and_userinfo(POST_CLIENT).await;
}

async fn code_pkce_with_client_secret_basic() {
    require_node!();
    login_and_userinfo(BASIC_CLIENT).await;
}

/// oidc-provider insists on each client's registered method, so the two tests above
/// really exercise two methods: the other method is refused with `invalid_client`.
async fn the_registered_client_auth_method_is_enforced() {
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

async fn an_altered_iss_is_refused_before_any_token_request() {
    require_node!();
    let app = InteropApp::start(POST_CLIENT).await;
    let callback = app.provider_callback().await;
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(app.provider.issuer.as_str()),
        "oidc-provider sends iss (RFC 9207)"
    );

    let forged = with_param(&callback, "iss", "http://127.0.0.1:1");
    let res = app.callback(&forged).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let page = body(res).await;
    assert!(page.contains("invalid_issuer"), "{page}");
    assert!(page.contains("RFC 9207"), "{page}");
    assert_eq!(
        app.provider.token_requests().await,
        0,
        "no token request after a wrong iss: {:?}",
        app.provider.events().await
    );

    // The refused answer spent the login attempt: the genuine callback is refused too
    // (no flow cookie any more), still without a token request.
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(body(res).await.contains("unknown_state"));
    assert_eq!(app.provider.token_requests().await, 0);
    assert_eq!(app.get("/tokens").await.status(), StatusCode::UNAUTHORIZED);
}

/// oidc-provider advertises `authorization_response_iss_parameter_supported: true`, and
/// with an issuer configured RFC 9207 §2.4 says the client MUST reject a response
/// without `iss`.
async fn a_callback_without_iss_is_refused_when_the_issuer_is_configured() {
    require_node!();
    let app = InteropApp::start(POST_CLIENT).await;
    assert_eq!(
        app.provider.discovery.raw["authorization_response_iss_parameter_supported"],
        true
    );
    let callback = app.provider_callback().await;
    let stripped = without_param(&callback, "iss");
    let res = app.callback(&stripped).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(body(res).await.contains("missing_issuer"));
    assert_eq!(app.provider.token_requests().await, 0);
}

/// OpenID Connect Discovery (issue 14): the crate's `Provider::discover` finds exactly
/// what oidc-provider advertises, and a whole login through the discovered provider,
/// with discovery's own choices (PKCE S256, client_secret_basic, `iss` required),
/// completes.
async fn discovery_reads_what_oidc_provider_advertises_and_a_login_completes() {
    require_node!();
    let app = InteropApp::start_discovered(BASIC_CLIENT).await;
    let raw = &app.provider.discovery.raw;
    let advertised = |name: &str| {
        raw[name]
            .as_str()
            .unwrap_or_else(|| panic!("oidc-provider advertises `{name}`: {raw}"))
            .to_owned()
    };
    let p = app.oauth.client().provider();
    assert_eq!(p.issuer(), Some(app.provider.issuer.as_str()));
    assert_eq!(advertised("issuer"), app.provider.issuer);
    assert_eq!(
        p.authorize_url().as_str(),
        advertised("authorization_endpoint")
    );
    assert_eq!(p.token_url().as_str(), advertised("token_endpoint"));
    let url = |u: Option<&url::Url>| u.map(url::Url::to_string);
    assert_eq!(url(p.userinfo_url()), Some(advertised("userinfo_endpoint")));
    assert_eq!(
        url(p.introspection_url()),
        Some(advertised("introspection_endpoint"))
    );
    assert_eq!(
        url(p.revocation_url()),
        Some(advertised("revocation_endpoint"))
    );
    assert_eq!(
        url(p.end_session_url()),
        Some(advertised("end_session_endpoint"))
    );
    // What the metadata says about PKCE, client auth and RFC 9207, as discovery read it.
    assert_eq!(raw["code_challenge_methods_supported"][0], "S256");
    assert!(p.pkce());
    assert_eq!(p.client_auth(), ClientAuth::ClientSecretBasic);
    assert_eq!(
        raw["authorization_response_iss_parameter_supported"], true,
        "{raw}"
    );
    assert!(p.issuer_in_callback());
    assert_eq!(p.name(), "127.0.0.1", "the issuer's host");

    let authorize = app.start_login().await;
    assert_eq!(
        query_param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let callback = walk_provider(&app.http, &authorize, &app.redirect_uri).await;
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(app.provider.issuer.as_str())
    );
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    let events = app.provider.events().await;
    assert!(
        events.contains(&"grant.success interop-basic".to_owned()),
        "{events:?}"
    );
    assert!(
        events.contains(&"auth /token client_secret_basic interop-basic".to_owned()),
        "discovery's client_secret_basic reached the token endpoint: {events:?}"
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
        Some("127.0.0.1"),
        "{page}"
    );
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    assert_eq!(json(res).await["sub"], LOGIN);
    let tokens = app.session_tokens().await;
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
}

/// oidc-provider advertises `authorization_response_iss_parameter_supported`, so the
/// discovered provider requires `iss` (RFC 9207 §2.4) and refuses a forged one.
async fn a_discovered_provider_requires_the_advertised_iss() {
    require_node!();
    let app = InteropApp::start_discovered(BASIC_CLIENT).await;
    let callback = app.provider_callback().await;
    let res = app.callback(&without_param(&callback, "iss")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(body(res).await.contains("missing_issuer"));

    let callback = app.provider_callback().await;
    let forged = with_param(&callback, "iss", &format!("{}/", app.provider.issuer));
    let res = app.callback(&forged).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(body(res).await.contains("invalid_issuer"));
    assert_eq!(app.provider.token_requests().await, 0);
    assert_eq!(app.get("/tokens").await.status(), StatusCode::UNAUTHORIZED);
}

/// OpenID Connect Discovery §4.3: the configured issuer must be identical to the
/// metadata's. `{issuer}/` fetches the same document (the trailing `/` is dropped for
/// the URL), whose `issuer` has no slash: a startup error naming both values.
async fn discovery_refuses_an_issuer_that_is_not_identical() {
    require_node!();
    let provider = OidcProvider::start(&["http://127.0.0.1:9/auth/callback".to_owned()]).await;
    let slash = format!("{}/", provider.issuer);
    let e = bounded("Provider::discover", Provider::discover(&slash))
        .await
        .expect_err("a trailing slash the metadata lacks is a mismatch");
    let message = e.to_string();
    assert!(message.contains(&format!("`{slash}`")), "{message}");
    assert!(
        message.contains(&format!("`{}`", provider.issuer)),
        "{message}"
    );
    assert!(!e.is_transient(), "{e:?}");
    // The exact issuer works.
    let exact = bounded("Provider::discover", Provider::discover(&provider.issuer))
        .await
        .expect("the exact issuer is discovered")
        .build()
        .expect("and builds");
    assert_eq!(exact.issuer(), Some(provider.issuer.as_str()));
}

async fn a_tampered_state_is_refused_before_any_token_request() {
    require_node!();
    let app = InteropApp::start(POST_CLIENT).await;
    let callback = app.provider_callback().await;
    let state = query_param(&callback, "state").expect("state");
    let mut tampered = state.clone().into_bytes();
    tampered[0] = if tampered[0] == b'A' { b'B' } else { b'A' };
    let forged = with_param(&callback, "state", std::str::from_utf8(&tampered).unwrap());
    let res = app.callback(&forged).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(body(res).await.contains("unknown_state"));
    assert_eq!(app.provider.token_requests().await, 0);
    // The genuine answer still completes the login: the forged one spent nothing.
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    assert_eq!(app.get("/me").await.status(), StatusCode::OK);
}

async fn refresh_through_the_client_returns_a_new_access_token() {
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

async fn an_expired_session_is_refreshed_transparently() {
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

async fn introspection_then_logout_revokes() {
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

async fn a_replayed_code_is_invalid_grant() {
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
    let authorize = client.authorize_url(&state, Some(&verifier));
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

async fn a_wrong_pkce_verifier_is_invalid_grant() {
    require_node!();
    let redirect_uri = "http://127.0.0.1:9/auth/callback".to_owned();
    let provider = OidcProvider::start(std::slice::from_ref(&redirect_uri)).await;
    let (id, secret, auth) = BASIC_CLIENT;
    let client = OAuthClient::builder(provider.provider(auth), id, secret)
        .redirect_uri(&redirect_uri)
        .build()
        .expect("client builds");
    let verifier = PkceVerifier::random();
    let authorize = client.authorize_url(&CsrfState::random(), Some(&verifier));
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

async fn the_app_refuses_a_replayed_callback_without_a_token_request() {
    require_node!();
    let app = InteropApp::start(BASIC_CLIENT).await;
    let callback = app.login().await;
    let requests = app.provider.token_requests().await;
    assert_eq!(requests, 1, "{:?}", app.provider.events().await);

    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(body(res).await.contains("unknown_state"));
    assert_eq!(
        app.provider.token_requests().await,
        requests,
        "the replay never reached the token endpoint"
    );
    // The session from the first callback is untouched.
    assert_eq!(app.get("/me").await.status(), StatusCode::OK);
}

/// `OAUTH_PROVIDER=oidc` with `OAUTH_ISSUER`: the configuration discovers the provider
/// (`OAuthConfig::from_vars_async`); the synchronous reader says to use it; a wrong
/// issuer is an error naming `OAUTH_ISSUER`.
async fn oidc_from_variables_is_discovered() {
    require_node!();
    let provider = OidcProvider::start(&["http://127.0.0.1:9/auth/callback".to_owned()]).await;
    let vars = |issuer: &str| {
        vec![
            ("OAUTH_PROVIDER", "oidc".to_owned()),
            ("OAUTH_ISSUER", issuer.to_owned()),
            ("OAUTH_CLIENT_ID", "interop-basic".to_owned()),
            ("OAUTH_CLIENT_SECRET", "interop-basic-secret".to_owned()),
            (
                "OAUTH_REDIRECT_URI",
                "http://127.0.0.1:9/auth/callback".to_owned(),
            ),
            ("OAUTH_SCOPES", "openid email".to_owned()),
        ]
    };
    let config = bounded(
        "OAuthConfig::from_vars_async",
        axum_oauth_login::OAuthConfig::from_vars_async("OAUTH", vars(&provider.issuer)),
    )
    .await
    .expect("the configuration is discovered");
    let discovered = provider.discover().await.build().unwrap();
    assert_eq!(config.provider().issuer(), Some(provider.issuer.as_str()));
    assert_eq!(config.provider().token_url(), discovered.token_url());
    assert_eq!(
        config.provider().authorize_url(),
        discovered.authorize_url()
    );
    assert_eq!(
        config.provider().end_session_url(),
        discovered.end_session_url()
    );
    assert_eq!(
        config.provider().scopes(),
        ["openid", "email"],
        "variables override"
    );
    assert!(config.into_builder().build().is_ok());

    let err = axum_oauth_login::OAuthConfig::from_vars("OAUTH", vars(&provider.issuer))
        .expect_err("discovery needs the async reader");
    assert_eq!(err.setting(), "OAUTH_PROVIDER");
    assert!(err.reason().contains("from_env_async"), "{err}");

    let wrong = format!("{}/", provider.issuer);
    let err = bounded(
        "OAuthConfig::from_vars_async",
        axum_oauth_login::OAuthConfig::from_vars_async("OAUTH", vars(&wrong)),
    )
    .await
    .expect_err("an issuer the metadata does not name");
    assert_eq!(err.setting(), "OAUTH_ISSUER");
}

fn main() -> std::process::ExitCode {
    // With --all-features rustls has both of its providers (ring: the crate's default;
    // aws-lc: the dev-dependencies' reqwest), so it cannot pick one by itself for the
    // clients that ask for the process default (fantoccini's): the test process chooses.
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    // Ignored, not passed, without Node or the packages (a panic under CI=true).
    let node = harness::node_available();
    trial::run(trials![node;
        code_pkce_with_client_secret_post,
        code_pkce_with_client_secret_basic,
        the_registered_client_auth_method_is_enforced,
        an_altered_iss_is_refused_before_any_token_request,
        a_callback_without_iss_is_refused_when_the_issuer_is_configured,
        discovery_reads_what_oidc_provider_advertises_and_a_login_completes,
        a_discovered_provider_requires_the_advertised_iss,
        discovery_refuses_an_issuer_that_is_not_identical,
        a_tampered_state_is_refused_before_any_token_request,
        refresh_through_the_client_returns_a_new_access_token,
        an_expired_session_is_refreshed_transparently,
        introspection_then_logout_revokes,
        a_replayed_code_is_invalid_grant,
        a_wrong_pkce_verifier_is_invalid_grant,
        the_app_refuses_a_replayed_callback_without_a_token_request,
        oidc_from_variables_is_discovered,
        oidc::the_id_token_is_validated_with_the_logins_nonce_and_its_claims_reach_the_app,
        oidc::tampered_wrong_audience_expired_and_replayed_id_tokens_are_refused,
        oidc::a_key_rotation_at_the_provider_is_picked_up_without_a_restart,
        oidc::logout_continues_at_the_providers_end_session_endpoint_and_comes_back,
        oidc::a_backchannel_logout_ends_a_cookie_session,
        oidc::a_backchannel_logout_ends_a_session_kept_in_redis,
        oidc::the_backchannel_route_refuses_bad_logout_tokens,
        oidc::jwt_access_tokens_are_checked_locally_without_calling_the_provider,
        oidc::a_refreshed_id_token_is_validated_and_must_keep_the_user,
        oidc::a_backchannel_logout_reaches_every_instance_through_a_shared_denylist,
        oidc::a_backchannel_logout_deletes_the_redis_record_for_every_instance,
    ])
}
