//! vcita app registration (`VcitaApi::register_app`) against the MockProvider over
//! loopback: success and a login with the new credentials, a refused directory token,
//! server- and client-side validation, and no secret in any output.

use axum_oauth_login::client::{OAuthClient, OAuthError};
use axum_oauth_login::secret::{AccessToken, AuthorizationCode, CsrfState, PkceVerifier};
use axum_oauth_login::vcita::{AppRegistration, RegisterError, RegisteredApp, VcitaApi};
use axum_oauth_login_mock::{MockEndpoint, MockProvider};

const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";

async fn setup() -> (MockProvider, VcitaApi, AccessToken) {
    let mock = MockProvider::start().await.unwrap();
    let api = VcitaApi::with_base_url(&mock.base_url()).unwrap();
    let token = AccessToken::new(mock.directory_token());
    (mock, api, token)
}

fn app(code_name: &str) -> AppRegistration {
    AppRegistration::new("My OAuth App", code_name, REDIRECT)
}

/// Neither output of `value` contains any of `secrets`.
fn assert_no_secret(value: &(impl std::fmt::Debug + std::fmt::Display), secrets: &[&str]) {
    let (debug, display) = (format!("{value:?}"), value.to_string());
    for secret in secrets {
        assert!(!debug.contains(secret), "Debug leaks a secret: {debug}");
        assert!(
            !display.contains(secret),
            "Display leaks a secret: {display}"
        );
    }
}

#[tokio::test]
async fn registered_credentials_complete_a_login() {
    let (mock, api, token) = setup().await;
    let registered = api.register_app(&token, &app("myoauthapp")).await.unwrap();
    assert_eq!(registered.app_code_name, "myoauthapp");
    assert!(!registered.app_id.is_empty() && !registered.client_id.is_empty());
    assert_eq!(registered.extra["name"], "My OAuth App");
    assert_no_secret(
        &registered,
        &[registered.client_secret.secret(), token.secret()],
    );

    let sent = &mock.requests(MockEndpoint::RegisterApp)[0];
    assert_eq!(sent.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        sent.authorization.as_deref(),
        Some(format!("Bearer {}", token.secret()).as_str())
    );
    assert_eq!(sent.fields["app_code_name"], "myoauthapp");
    assert_eq!(sent.fields["redirect_uri"], REDIRECT);
    assert_eq!(sent.fields["scopes"], r#"["openid"]"#);

    let client = OAuthClient::builder(
        mock.provider(),
        registered.client_id.clone(),
        registered.client_secret.secret(),
    )
    .redirect_uri(REDIRECT)
    .build()
    .unwrap();
    let state = CsrfState::random();
    let verifier = PkceVerifier::random();
    let callback = mock
        .authorize(
            client
                .authorize_url(&state, Some(&verifier), None)
                .await
                .unwrap()
                .as_str(),
        )
        .await
        .unwrap();
    assert!(callback.as_str().starts_with(REDIRECT));
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| AuthorizationCode::new(v.into_owned()))
        .unwrap();
    let tokens = client.exchange_code(code, Some(&verifier)).await.unwrap();
    let me: axum_oauth_login::UserInfo = client.userinfo(tokens.access_token()).await.unwrap();
    assert_eq!(me.email.as_deref(), Some("owner@example.com"));
}

#[tokio::test]
async fn a_wrong_directory_token_is_unauthorized() {
    let (mock, api, _) = setup().await;
    let wrong = AccessToken::new("wrong-directory-token-0123456789abcdef");
    let err = api.register_app(&wrong, &app("myapp")).await.unwrap_err();
    assert!(matches!(err, RegisterError::Unauthorized), "{err:?}");
    assert_no_secret(&err, &[wrong.secret()]);
    assert!(err.to_string().contains("directory token"));
    assert_eq!(mock.hits(MockEndpoint::RegisterApp), 1);
}

#[tokio::test]
async fn server_validation_names_the_field() {
    let (_mock, api, token) = setup().await;
    let first = api.register_app(&token, &app("taken")).await.unwrap();
    let err = api.register_app(&token, &app("taken")).await.unwrap_err();
    let RegisterError::Invalid { errors } = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert_eq!(errors["app_code_name"], ["has already been taken"]);
    assert!(
        err.to_string()
            .contains("app_code_name: has already been taken")
    );
    assert_no_secret(&err, &[token.secret(), first.client_secret.secret()]);
}

#[tokio::test]
async fn local_validation_sends_nothing() {
    let (mock, api, token) = setup().await;
    let cases = [
        (
            AppRegistration::new("x", "myapp", "not a url"),
            "redirect_uri",
        ),
        (
            AppRegistration::new("x", "myapp", "ftp://files.example/cb"),
            "redirect_uri",
        ),
        (
            AppRegistration::new("x", "myapp", "/relative/cb"),
            "redirect_uri",
        ),
        (AppRegistration::new("  ", "myapp", REDIRECT), "name"),
        (
            AppRegistration::new("x", "my app!", REDIRECT),
            "app_code_name",
        ),
        (AppRegistration::new("x", "", REDIRECT), "app_code_name"),
    ];
    for (registration, field) in cases {
        match api.register_app(&token, &registration).await {
            Err(RegisterError::Invalid { errors }) => {
                assert!(errors.contains_key(field), "{field}: {errors:?}")
            }
            other => panic!("{field}: expected Invalid, got {other:?}"),
        }
    }
    for bad_token in ["", "line\nbreak"] {
        let err = api
            .register_app(&AccessToken::new(bad_token), &app("myapp"))
            .await
            .unwrap_err();
        let RegisterError::Invalid { errors } = &err else {
            panic!("expected Invalid, got {err:?}");
        };
        assert!(errors.contains_key("directory_token"));
        assert_no_secret(&err, &["line\nbreak"]);
    }
    assert_eq!(mock.hits(MockEndpoint::RegisterApp), 0);
}

#[tokio::test]
async fn other_failures_are_api_errors_without_secrets() {
    let (mock, api, token) = setup().await;
    mock.fail_next(MockEndpoint::RegisterApp, 1, 503);
    let err = api.register_app(&token, &app("myapp")).await.unwrap_err();
    assert!(
        matches!(&err, RegisterError::Api(e) if e.is_transient() && e.status() == Some(503)),
        "{err:?}"
    );

    // A 200 without the credentials is malformed; a secret echoed in an error page is
    // masked.
    mock.respond_next(
        MockEndpoint::RegisterApp,
        1,
        200,
        "application/json",
        r#"{"status":"OK","data":{}}"#,
    );
    let err = api.register_app(&token, &app("myapp")).await.unwrap_err();
    assert!(
        matches!(
            &err,
            RegisterError::Api(OAuthError::Malformed { status: 200, .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("client_id"), "{err}");
    let page = format!("<html>bad token {}</html>", token.secret());
    mock.respond_next(MockEndpoint::RegisterApp, 1, 502, "text/html", page);
    let err = api.register_app(&token, &app("myapp")).await.unwrap_err();
    assert_no_secret(&err, &[token.secret()]);

    // Unreachable host: a transport error.
    mock.shutdown().await;
    let err = api.register_app(&token, &app("myapp")).await.unwrap_err();
    assert!(
        matches!(&err, RegisterError::Api(e) if e.is_transient()),
        "{err:?}"
    );
}

#[tokio::test]
async fn base_urls_are_checked() {
    assert!(VcitaApi::new().is_ok());
    for bad in [
        "",
        "api.vcita.biz",
        "ftp://api.vcita.biz",
        "https://api.vcita.biz/?x=1",
    ] {
        let err = VcitaApi::with_base_url(bad).unwrap_err();
        assert_eq!(err.setting(), "base_url", "{bad}");
    }
    // A path prefix is kept.
    let (mock, _, token) = setup().await;
    let api = VcitaApi::with_base_url(&format!("{}/", mock.base_url())).unwrap();
    let registered: RegisteredApp = api.register_app(&token, &app("slash")).await.unwrap();
    assert_eq!(registered.app_code_name, "slash");
}
