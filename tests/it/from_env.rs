//! `OAuthConfig::from_vars`: every error names its variable (and never a secret), a
//! configuration read from variables logs in end-to-end against the mock, and two
//! prefixes configure two providers side by side in one app.

use axum::Router;
use axum::routing::get;
use axum_oauth_login::{BearerUser, Clock, OAuth, OAuthConfig, provider::ClientAuth};
use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use base64::Engine as _;
use reqwest::StatusCode;
use url::Url;

use crate::harness::*;
use crate::support::*;

const SECRET: &str = "very-secret-value-123";

fn base() -> Vec<(String, String)> {
    [
        ("OAUTH_CLIENT_ID", "id"),
        ("OAUTH_CLIENT_SECRET", SECRET),
        ("OAUTH_REDIRECT_URI", "http://127.0.0.1:3000/auth/callback"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn with(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut vars = base();
    for (k, v) in extra {
        vars.retain(|(name, _)| name != k);
        vars.push(((*k).to_owned(), (*v).to_owned()));
    }
    vars
}

fn without(missing: &str) -> Vec<(String, String)> {
    base().into_iter().filter(|(k, _)| k != missing).collect()
}

/// The error `vars` end in under `prefix`: a value that does not parse fails while
/// reading, the builder's checks in `build()`.
fn error(prefix: &str, vars: Vec<(String, String)>) -> axum_oauth_login::ConfigError {
    match OAuthConfig::from_vars(prefix, vars).map(|c| c.into_builder().build()) {
        Err(e) | Ok(Err(e)) => e,
        Ok(Ok(_)) => panic!("no error"),
    }
}

#[test]
fn errors_name_the_variable() {
    let key = base64::engine::general_purpose::STANDARD.encode([9u8; 64]);
    assert!(OAuthConfig::from_vars("OAUTH", with(&[("OAUTH_COOKIE_KEY", &key)])).is_ok());
    let cases = [
        (without("OAUTH_CLIENT_ID"), "OAUTH_CLIENT_ID"),
        (without("OAUTH_CLIENT_SECRET"), "OAUTH_CLIENT_SECRET"),
        (without("OAUTH_REDIRECT_URI"), "OAUTH_REDIRECT_URI"),
        (with(&[("OAUTH_CLIENT_ID", "   ")]), "OAUTH_CLIENT_ID"),
        (with(&[("OAUTH_PROVIDER", "github")]), "OAUTH_PROVIDER"),
        (with(&[("OAUTH_TOKEN_BODY", "xml")]), "OAUTH_TOKEN_BODY"),
        (with(&[("OAUTH_CLIENT_AUTH", "jwt")]), "OAUTH_CLIENT_AUTH"),
        (with(&[("OAUTH_PKCE", "maybe")]), "OAUTH_PKCE"),
        (
            with(&[("OAUTH_COOKIE_KEY", "c2hvcnQ=")]),
            "OAUTH_COOKIE_KEY",
        ),
        (
            with(&[("OAUTH_COOKIE_KEY", "!!not base64!!")]),
            "OAUTH_COOKIE_KEY",
        ),
        (
            with(&[("OAUTH_REDIRECT_URI", "not a url")]),
            "OAUTH_REDIRECT_URI",
        ),
        (with(&[("OAUTH_TOKEN_URL", "not a url")]), "OAUTH_TOKEN_URL"),
        (
            with(&[("OAUTH_USERINFO_URL", "ftp://x")]),
            "OAUTH_USERINFO_URL",
        ),
        (with(&[("OAUTH_PROVIDER", "custom")]), "OAUTH_AUTHORIZE_URL"),
        (
            with(&[
                ("OAUTH_PROVIDER", "custom"),
                ("OAUTH_AUTHORIZE_URL", "https://idp.example/authorize"),
            ]),
            "OAUTH_TOKEN_URL",
        ),
        (
            with(&[("OAUTH_ROUTE_PREFIX", "/auth/../x")]),
            "OAUTH_ROUTE_PREFIX",
        ),
        (
            with(&[("OAUTH_COOKIE_NAME", "session;path")]),
            "OAUTH_COOKIE_NAME",
        ),
        (
            with(&[("OAUTH_AFTER_LOGOUT", "//evil.example")]),
            "OAUTH_AFTER_LOGOUT",
        ),
        (
            with(&[(
                "OAUTH_AUTHORIZE_PARAMS",
                "redirect_uri=https://evil.example/",
            )]),
            "OAUTH_AUTHORIZE_PARAMS",
        ),
        (
            with(&[("OAUTH_AUTHORIZE_PARAMS", "prompt")]),
            "OAUTH_AUTHORIZE_PARAMS",
        ),
        (
            with(&[
                ("OAUTH_PROVIDER", "apicbase"),
                ("OAUTH_BRAND_HOST", "login.brand.example"),
            ]),
            "OAUTH_BRAND_HOST",
        ),
    ];
    for (vars, variable) in cases {
        let err = error("OAUTH", vars);
        assert_eq!(err.setting(), variable, "{err}");
        let text = err.to_string();
        assert!(text.contains(variable), "{text}");
        assert!(!text.contains(SECRET), "{text}");
        assert!(!format!("{err:?}").contains(SECRET));
    }
}

#[test]
fn other_prefixes_name_their_own_variables() {
    let vars = vec![("APICBASE_CLIENT_ID".to_owned(), "id".to_owned())];
    assert_eq!(error("APICBASE", vars).setting(), "APICBASE_CLIENT_SECRET");
    // OAUTH_* variables are not read under another prefix.
    let err = error("APICBASE", base());
    assert!(err.setting().starts_with("APICBASE_"), "{err}");
}

/// Variables that point a `custom` provider at the mock.
fn mock_vars(mock: &MockProvider, port: u16, body: &str, auth: &str) -> Vec<(String, String)> {
    let base = mock.base_url();
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
    [
        ("OAUTH_PROVIDER", "custom".to_owned()),
        ("OAUTH_AUTHORIZE_URL", format!("{base}/app/oauth/authorize")),
        ("OAUTH_TOKEN_URL", format!("{base}/oauth/token")),
        ("OAUTH_USERINFO_URL", format!("{base}/oauth/userinfo")),
        ("OAUTH_REVOCATION_URL", format!("{base}/oauth/revoke")),
        ("OAUTH_ISSUER", base.clone()),
        ("OAUTH_TOKEN_BODY", body.to_owned()),
        ("OAUTH_CLIENT_AUTH", auth.to_owned()),
        ("OAUTH_PKCE", "on".to_owned()),
        ("OAUTH_CLIENT_ID", mock.client_id().to_owned()),
        ("OAUTH_CLIENT_SECRET", mock.client_secret().to_owned()),
        (
            "OAUTH_REDIRECT_URI",
            format!("http://127.0.0.1:{port}/auth/callback"),
        ),
        ("OAUTH_COOKIE_KEY", key),
        ("UNRELATED", "ignored".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// An app built from variables, served on its own port, sharing `mock`.
async fn app_from_vars(mock: &MockProvider, body: &str, auth: &str) -> TestApp {
    let (listener, port) = bind().await;
    let config = OAuthConfig::from_vars("OAUTH", mock_vars(mock, port, body, auth))
        .expect("config from vars");
    assert_eq!(config.provider().name(), "custom");
    let clock = Clock::manual_from_now();
    let oauth = example::configure(config.into_builder())
        .clock(clock.clone())
        .build()
        .expect("builds");
    TestApp::serve(mock.clone(), listener, oauth, clock)
}

#[tokio::test]
async fn config_from_vars_logs_in_end_to_end() {
    let mock = start_mock().await;
    let app = app_from_vars(&mock, "json", "post").await;

    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let authorize = app.start_login(Some("/me")).await;
    assert!(authorize.starts_with(&format!("{}/app/oauth/authorize?", mock.base_url())));
    let callback = app.authorize(&authorize).await;
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/me");
    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = body(res).await;
    assert_eq!(element_text(&page, "name").as_deref(), Some("Demo Salon"));
    assert_eq!(element_text(&page, "provider").as_deref(), Some("custom"));
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json(res).await["business_name"], "Demo Salon");

    let token = mock.requests(MockEndpoint::Token);
    assert_eq!(token.len(), 1);
    assert!(
        token[0]
            .content_type
            .as_deref()
            .unwrap_or("")
            .starts_with("application/json")
    );
    assert_eq!(token[0].client_auth(), Some(ClientAuth::ClientSecretPost));
    assert!(token[0].fields.contains_key("code_verifier"), "PKCE on");

    // Logout revokes at the configured revocation endpoint.
    let res = app.post("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(mock.hits(MockEndpoint::Revoke) >= 1);
}

#[tokio::test]
async fn form_body_and_basic_auth_from_vars() {
    let mock = start_mock().await;
    let app = app_from_vars(&mock, "form", "basic").await;
    app.login().await;
    let token = mock.requests(MockEndpoint::Token);
    assert_eq!(token.len(), 1);
    assert!(
        token[0]
            .content_type
            .as_deref()
            .unwrap_or("")
            .starts_with("application/x-www-form-urlencoded")
    );
    assert_eq!(token[0].client_auth(), Some(ClientAuth::ClientSecretBasic));
    assert_eq!(app.get("/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn cookie_key_from_vars_is_used() {
    // Two instances configured with the same OAUTH_COOKIE_KEY read each other's sessions.
    let mock = start_mock().await;
    let one = app_from_vars(&mock, "json", "post").await;
    let two = app_from_vars(&mock, "json", "post").await;
    one.login().await;
    let value = one.session_cookie().unwrap();
    let res = two
        .send(
            two.new_browser()
                .client
                .get(two.url("/me"))
                .header("cookie", format!("{SESSION_COOKIE}={value}")),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// One provider's variables under `prefix`, pointing its preset at `mock`: what a
/// two-provider deployment puts in its environment.
fn provider_vars(
    prefix: &str,
    preset: &str,
    mock: &MockProvider,
    port: u16,
) -> Vec<(String, String)> {
    let p = mock.provider();
    let name = preset.to_ascii_lowercase();
    let mut vars = vec![
        ("PROVIDER", preset.to_owned()),
        ("AUTHORIZE_URL", p.authorize_url().to_string()),
        ("TOKEN_URL", p.token_url().to_string()),
        ("ISSUER", mock.base_url()),
        ("CLIENT_ID", mock.client_id().to_owned()),
        ("CLIENT_SECRET", mock.client_secret().to_owned()),
        (
            "REDIRECT_URI",
            format!("http://127.0.0.1:{port}/auth/{name}/callback"),
        ),
        (
            "COOKIE_KEY",
            base64::engine::general_purpose::STANDARD.encode([3u8; 64]),
        ),
        // Written without the leading slash: normalized like the builder's setting.
        ("ROUTE_PREFIX", format!("auth/{name}/")),
        ("COOKIE_NAME", format!("{name}_session")),
        ("AFTER_LOGOUT", format!("/bye/{name}")),
    ];
    if let Some(url) = p.userinfo_url() {
        vars.push(("USERINFO_URL", url.to_string()));
    }
    if let Some(url) = p.introspection_url() {
        vars.push(("INTROSPECTION_URL", url.to_string()));
    }
    if let Some(url) = p.revocation_url() {
        vars.push(("REVOCATION_URL", url.to_string()));
    }
    vars.into_iter()
        .map(|(k, v)| (format!("{prefix}_{k}"), v))
        .collect()
}

#[tokio::test]
async fn two_prefixes_configure_two_providers_side_by_side() {
    let vcita_mock = start_mock().await;
    let apicbase_mock = bounded("apicbase mock", MockProvider::apicbase().start())
        .await
        .expect("apicbase mock");
    let (listener, port) = bind().await;
    // One environment holding both; each prefix reads only its own variables.
    let mut env = provider_vars("VCITA", "vcita", &vcita_mock, port);
    env.push((
        "VCITA_AUTHORIZE_PARAMS".to_owned(),
        "prompt=login&ui_locales=de+fr".to_owned(),
    ));
    env.extend(provider_vars("APICBASE", "apicbase", &apicbase_mock, port));
    let build = |prefix: &str| -> OAuth {
        let config = OAuthConfig::from_vars(prefix, env.clone()).expect("config from vars");
        config
            .into_builder()
            .clock(Clock::manual_from_now())
            .build()
            .expect("builds")
    };
    let (vcita, apicbase) = (build("VCITA"), build("APICBASE"));
    assert_eq!(vcita.client().provider().name(), "vcita");
    assert_eq!(apicbase.client().provider().name(), "apicbase");
    assert_eq!(
        (vcita.login_path(), vcita.logout_path()),
        ("/auth/vcita/login", "/auth/vcita/logout")
    );
    assert_eq!(
        (apicbase.login_path(), apicbase.logout_path()),
        ("/auth/apicbase/login", "/auth/apicbase/logout")
    );
    assert!(apicbase.client().provider().authorize_params().is_empty());

    async fn who(user: BearerUser) -> String {
        user.info().display_name().to_owned()
    }
    let app = Router::new()
        .route("/vcita/me", get(who).route_layer(vcita.require_login()))
        .route(
            "/apicbase/me",
            get(who).route_layer(apicbase.require_login()),
        )
        .merge(vcita.routes())
        .merge(apicbase.routes())
        .layer(vcita.layer())
        .layer(apicbase.layer());
    let _server = Server::start(listener, app);
    let browser = Browser::new(&format!("http://127.0.0.1:{port}"), &vcita_mock);
    let login = async |name: &str, mock: &MockProvider| -> String {
        let res = browser.get(&format!("/auth/{name}/login")).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{name} login starts");
        let authorize = location(&res);
        let callback = bounded("authorize", mock.authorize(&authorize))
            .await
            .expect("mock authorizes");
        assert_eq!(callback.path(), format!("/auth/{name}/callback"));
        let res = browser.get(&path_and_query(&callback)).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "{name} login completes"
        );
        authorize
    };

    // vcita: its extra authorize parameters reach the provider, its own cookie is set.
    let authorize = Url::parse(&login("vcita", &vcita_mock).await).expect("authorize URL");
    assert_eq!(query_param(&authorize, "prompt").as_deref(), Some("login"));
    assert_eq!(
        query_param(&authorize, "ui_locales").as_deref(),
        Some("de fr")
    );
    let seen = vcita_mock.requests(MockEndpoint::Authorize);
    assert_eq!(
        seen[0].fields.get("prompt").map(String::as_str),
        Some("login")
    );
    assert!(browser.cookie("vcita_session").is_some());
    assert!(browser.cookie("apicbase_session").is_none());
    assert!(
        browser.cookie(SESSION_COOKIE).is_none(),
        "no default-named cookie"
    );
    assert_eq!(browser.get("/vcita/me").await.status(), StatusCode::OK);
    let res = browser.get("/apicbase/me").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/auth/apicbase/login?return_to="));
    assert_eq!(apicbase_mock.hits(MockEndpoint::Token), 0);

    // Apicbase: no extra parameters, its own cookie; both sessions coexist.
    let authorize = Url::parse(&login("apicbase", &apicbase_mock).await).expect("authorize URL");
    assert_eq!(query_param(&authorize, "prompt"), None);
    assert!(browser.cookie("apicbase_session").is_some());
    assert_eq!(browser.get("/apicbase/me").await.status(), StatusCode::OK);
    assert_eq!(browser.get("/vcita/me").await.status(), StatusCode::OK);

    // Each logout goes to its own after-logout path and ends only its own session.
    let res = browser.post("/auth/vcita/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/bye/vcita");
    assert_eq!(
        browser.get("/vcita/me").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(browser.get("/apicbase/me").await.status(), StatusCode::OK);
    let res = browser.post("/auth/apicbase/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/bye/apicbase");
    assert_eq!(
        browser.get("/apicbase/me").await.status(),
        StatusCode::SEE_OTHER
    );
}
