//! OpenID Connect Discovery against oidc-provider: what the crate's `Provider::discover`
//! reads, what it then requires, and the `OAUTH_PROVIDER=oidc` configuration built on it.

use axum_oauth_login::Provider;
use axum_oauth_login::provider::ClientAuth;
use reqwest::StatusCode;

use crate::harness::{BASIC_CLIENT, EMAIL, InteropApp, LOGIN, OidcProvider, walk_provider};
use crate::support::{body, bounded, element_text, json, query_param, with_param, without_param};

/// OpenID Connect Discovery (issue 14): the crate's `Provider::discover` finds exactly
/// what oidc-provider advertises, and a whole login through the discovered provider,
/// with discovery's own choices (PKCE S256, client_secret_basic, `iss` required),
/// completes.
pub async fn discovery_reads_what_oidc_provider_advertises_and_a_login_completes() {
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
pub async fn a_discovered_provider_requires_the_advertised_iss() {
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
pub async fn discovery_refuses_an_issuer_that_is_not_identical() {
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

/// `OAUTH_PROVIDER=oidc` with `OAUTH_ISSUER`: the configuration discovers the provider
/// (`OAuthConfig::from_vars_async`); the synchronous reader says to use it; a wrong
/// issuer is an error naming `OAUTH_ISSUER`.
pub async fn oidc_from_variables_is_discovered() {
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
