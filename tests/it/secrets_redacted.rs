//! No secret reaches `Debug` or `Display`: secret types, token sets, clients, builders,
//! configuration, and every `OAuthError` produced for real against the `MockProvider`.

use std::fmt::{Debug, Display};
use std::time::Duration;

use axum_oauth_login::client::{Endpoint, ErrorCode, TokenRef};
use axum_oauth_login::secret::{
    AccessToken, AuthorizationCode, ClientSecret, CsrfState, IdToken, PkceVerifier, RefreshToken,
};
use axum_oauth_login::{
    CookieKey, OAuth, OAuthConfig, Provider, TokenSet, UserInfo,
    client::{OAuthClient, OAuthError},
};
use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

const CLIENT_SECRET: &str = "SECRET-client-secret-XYZ";
const WRONG_SECRET: &str = "SECRET-wrong-client-secret-XYZ";
const CODE: &str = "SECRET-auth-code-XYZ";
const ACCESS: &str = "SECRET-access-token-XYZ";
const REFRESH: &str = "SECRET-refresh-token-XYZ";
const ID_TOKEN: &str = "SECRET-id-token-XYZ";
const STATE: &str = "SECRET-csrf-state-XYZ";
const VERIFIER: &str = "SECRET-pkce-verifier-XYZ-0123456789abcdefghij";
const EXTRA: &str = "SECRET-extra-field-XYZ";
const URL_QUERY: &str = "SECRET-url-query-XYZ";
/// A vcita-shaped access token (64 lowercase hex), as a provider's error page may echo it.
const HEX64: &str = "74639aa91e5726dc4d90ca82621aeebe028923bd74639aa91e5726dc4d90ca82";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// 64 bytes of cookie key material that would show up if printed as text.
fn key_material() -> Vec<u8> {
    b"SECRET-cookie-key-XYZ/"
        .iter()
        .copied()
        .cycle()
        .take(64)
        .collect()
}

/// Every way a secret could show up in text.
fn needles() -> Vec<String> {
    let key = key_material();
    let mut needles: Vec<String> = [
        CLIENT_SECRET,
        WRONG_SECRET,
        CODE,
        ACCESS,
        REFRESH,
        ID_TOKEN,
        STATE,
        VERIFIER,
        EXTRA,
        URL_QUERY,
        &HEX64[..16],
        "SECRET",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    needles.push(STANDARD.encode(&key)[..16].to_owned());
    // The key bytes as `Debug` of a byte slice would print them.
    let as_numbers = format!("{:?}", &key[..6]);
    needles.push(as_numbers.trim_matches(['[', ']']).to_owned());
    needles
}

fn assert_clean(label: &str, text: &str, also: &[&str]) {
    for needle in needles()
        .iter()
        .map(String::as_str)
        .chain(also.iter().copied())
    {
        assert!(!text.contains(needle), "{label} shows `{needle}`:\n{text}");
    }
}

fn debug_clean<T: Debug>(label: &str, value: &T) {
    assert_clean(label, &format!("{value:?}"), &[]);
    assert_clean(label, &format!("{value:#?}"), &[]);
}

fn error_clean(label: &str, err: &OAuthError) {
    debug_clean(label, err);
    assert_clean(label, &err.to_string(), &[]);
}

fn display_clean<T: Debug + Display>(label: &str, value: &T) {
    debug_clean(label, value);
    assert_clean(label, &value.to_string(), &[]);
}

#[test]
fn secret_types_are_redacted() {
    debug_clean("ClientSecret", &ClientSecret::new(CLIENT_SECRET));
    debug_clean("AuthorizationCode", &AuthorizationCode::new(CODE));
    debug_clean("AccessToken", &AccessToken::new(ACCESS));
    debug_clean("RefreshToken", &RefreshToken::new(REFRESH));
    debug_clean("IdToken", &IdToken::new(ID_TOKEN));
    debug_clean("CsrfState", &CsrfState::new(STATE));
    debug_clean("PkceVerifier", &PkceVerifier::new(VERIFIER));
    let random = CsrfState::random();
    assert_clean(
        "random CsrfState",
        &format!("{random:?}"),
        &[random.secret()],
    );
    let random = PkceVerifier::random();
    assert_clean(
        "random PkceVerifier",
        &format!("{random:?}"),
        &[random.secret()],
    );
    // The challenge is public; the verifier is not in it.
    assert!(
        !PkceVerifier::new(VERIFIER)
            .s256_challenge()
            .contains("SECRET")
    );
}

#[test]
fn token_set_is_redacted() {
    // The token set as a session stores it (unknown response fields under `extra`).
    let body = json!({
        "access_token": ACCESS, "expires_at": 1_700_003_600,
        "refresh_token": REFRESH, "id_token": ID_TOKEN, "scope": "read",
        "extra": { "api_key": EXTRA, "nested": { "inner_secret": EXTRA } },
    });
    let tokens: TokenSet = serde_json::from_value(body).unwrap();
    assert_eq!(tokens.extra()["api_key"], EXTRA, "the extra field is kept");
    debug_clean("TokenSet", &tokens);
    debug_clean(
        "TokenSet::bearer",
        &TokenSet::bearer(AccessToken::new(ACCESS)),
    );
}

fn cookie_key() -> CookieKey {
    CookieKey::from_bytes(&key_material()).unwrap()
}

#[tokio::test]
async fn clients_builders_and_config_are_redacted() {
    let builder = OAuthClient::builder(Provider::vcita(), "client-id", CLIENT_SECRET)
        .redirect_uri("https://app.example.com/auth/callback");
    debug_clean("OAuthClientBuilder", &builder);
    let client = builder.build().unwrap();
    debug_clean("OAuthClient", &client);
    let url = client
        .authorize_url(
            &CsrfState::new("st"),
            Some(&PkceVerifier::new(VERIFIER)),
            None,
        )
        .await
        .unwrap();
    assert_clean("authorize URL", url.as_str(), &[]);

    debug_clean("CookieKey", &cookie_key());
    debug_clean("CookieKey::generate", &CookieKey::generate());
    debug_clean(
        "CookieKey rotated",
        &cookie_key().with_previous(cookie_key()),
    );

    let builder = OAuth::builder(Provider::vcita(), "client-id", CLIENT_SECRET)
        .redirect_uri("https://app.example.com/auth/callback")
        .cookie_key(cookie_key());
    debug_clean("OAuthBuilder", &builder);
    let oauth = builder.build().unwrap();
    debug_clean("OAuth", &oauth);
    debug_clean("OAuth::client", oauth.client());

    let encoded_key = STANDARD.encode(key_material());
    // On https, `build()` below needs the cookie key: it was read.
    let vars = [
        ("OAUTH_CLIENT_ID", "client-id"),
        ("OAUTH_CLIENT_SECRET", CLIENT_SECRET),
        (
            "OAUTH_REDIRECT_URI",
            "https://app.example.com/auth/callback",
        ),
        ("OAUTH_COOKIE_KEY", encoded_key.as_str()),
    ];
    let config = OAuthConfig::from_vars("OAUTH", vars).unwrap();
    debug_clean("OAuthConfig", &config);
    let builder = config.into_builder();
    debug_clean("OAuthConfig::into_builder", &builder);
    debug_clean("OAuth from config", &builder.build().unwrap());

    // A bad value in a secret variable is named, never echoed.
    let bad = [
        ("OAUTH_CLIENT_ID", "client-id"),
        ("OAUTH_CLIENT_SECRET", CLIENT_SECRET),
        ("OAUTH_REDIRECT_URI", "http://127.0.0.1:3000/auth/callback"),
        ("OAUTH_COOKIE_KEY", "SECRET-not-base64!!"),
    ];
    let err = OAuthConfig::from_vars("OAUTH", bad).unwrap_err();
    assert_eq!(err.setting(), "OAUTH_COOKIE_KEY");
    display_clean("ConfigError", &err);
}

fn client(mock: &MockProvider, provider: Provider, secret: &str) -> OAuthClient {
    client_with_timeout(mock, provider, secret, Duration::from_secs(10))
}

fn client_with_timeout(
    mock: &MockProvider,
    provider: Provider,
    secret: &str,
    timeout: Duration,
) -> OAuthClient {
    OAuthClient::builder(provider, mock.client_id(), secret)
        .redirect_uri(REDIRECT)
        .timeout(timeout)
        .max_body_bytes(4096)
        .build()
        .unwrap()
}

async fn exchange(c: &OAuthClient) -> Result<TokenSet, OAuthError> {
    c.exchange_code(
        AuthorizationCode::new(CODE),
        Some(&PkceVerifier::new(VERIFIER)),
    )
    .await
}

/// Queues one canned token answer and returns the error the exchange ends in.
async fn canned(
    mock: &MockProvider,
    c: &OAuthClient,
    status: u16,
    ctype: &str,
    body: String,
) -> OAuthError {
    mock.respond_next(MockEndpoint::Token, 1, status, ctype, body);
    exchange(c).await.unwrap_err()
}

#[tokio::test]
async fn every_oauth_error_is_redacted() {
    let mock = MockProvider::builder()
        .refresh_tokens(true)
        .start()
        .await
        .unwrap();
    let c = client(&mock, mock.provider(), mock.client_secret());
    let mut errors: Vec<(&str, OAuthError)> = Vec::new();

    // Provider errors, with the mock's own (harmless) descriptions kept.
    let err = exchange(&c).await.unwrap_err();
    assert!(err.is_invalid_grant());
    assert!(err.to_string().contains("unknown code"), "{err}");
    errors.push(("invalid_grant (code)", err));
    let err = c.refresh(&RefreshToken::new(REFRESH)).await.unwrap_err();
    assert!(err.is_invalid_grant());
    errors.push(("invalid_grant (refresh)", err));
    let wrong = client(&mock, mock.provider(), WRONG_SECRET);
    debug_clean("OAuthClient with wrong secret", &wrong);
    let err = exchange(&wrong).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidClient));
    errors.push(("invalid_client", err));
    let err = wrong
        .introspect(TokenRef::Access(&AccessToken::new(ACCESS)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidClient));
    errors.push(("invalid_client (introspect)", err));
    let err = c
        .userinfo::<UserInfo>(&AccessToken::new(ACCESS))
        .await
        .unwrap_err();
    assert!(err.is_invalid_token());
    errors.push(("invalid_token", err));
    mock.fail_next(MockEndpoint::Token, 1, 503);
    let err = exchange(&c).await.unwrap_err();
    assert!(
        err.is_transient() && err.to_string().contains("injected failure"),
        "{err}"
    );
    errors.push(("server_error", err));

    // Malformed: an HTML error page echoing a token; the excerpt masks it.
    let html = format!(
        "<html><body><h1>502 Bad Gateway</h1>\n<p>upstream token={HEX64} failed</p></body></html>"
    );
    let err = canned(&mock, &c, 502, "text/html", html).await;
    let OAuthError::Malformed {
        excerpt: Some(excerpt),
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(
        excerpt.contains("502 Bad Gateway") && excerpt.contains("[masked]"),
        "{excerpt}"
    );
    errors.push(("malformed (HTML 502)", err));
    // Malformed success bodies, full of secrets.
    let body = format!("<html>{ACCESS} {REFRESH} {HEX64}</html>");
    let err = canned(&mock, &c, 200, "text/html", body).await;
    assert!(
        matches!(err, OAuthError::Malformed { status: 200, .. }),
        "{err:?}"
    );
    errors.push(("malformed (not JSON)", err));
    let body = json!({"refresh_token": REFRESH, "id_token": ID_TOKEN, "x": EXTRA}).to_string();
    let err = canned(&mock, &c, 200, "application/json", body).await;
    assert!(matches!(err, OAuthError::Malformed { .. }), "{err:?}");
    errors.push(("malformed (no access_token)", err));
    let body = json!({"access_token": ACCESS, "expires_in": EXTRA}).to_string();
    let err = canned(&mock, &c, 200, "application/json", body).await;
    assert!(matches!(err, OAuthError::Malformed { .. }), "{err:?}");
    errors.push(("malformed (bad expires_in)", err));
    let token = AccessToken::new(mock.issue_token());
    mock.respond_next(
        MockEndpoint::Userinfo,
        1,
        200,
        "application/json",
        json!({"sub": EXTRA, "access_token": ACCESS}).to_string(),
    );
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Strict {
        sub: u64,
    }
    let err = c.userinfo::<Strict>(&token).await.unwrap_err();
    assert!(
        matches!(
            err,
            OAuthError::Malformed {
                endpoint: Endpoint::Userinfo,
                ..
            }
        ),
        "{err:?}"
    );
    errors.push(("malformed (userinfo shape)", err));

    // Unsupported token type, with the token in the same body.
    let body = json!({"access_token": ACCESS, "token_type": "mac", "refresh_token": REFRESH});
    let err = canned(&mock, &c, 200, "application/json", body.to_string()).await;
    assert!(
        matches!(err, OAuthError::UnsupportedTokenType { .. }),
        "{err:?}"
    );
    errors.push(("unsupported token type", err));

    // Too large: a body of secrets past the 4 KiB cap.
    let body = format!(
        "{{\"access_token\":\"{ACCESS}\",\"pad\":\"{}\"}}",
        HEX64.repeat(100)
    );
    let err = canned(&mock, &c, 200, "application/json", body).await;
    assert!(
        matches!(err, OAuthError::BodyTooLarge { limit: 4096, .. }),
        "{err:?}"
    );
    errors.push(("body too large", err));

    // Timeout.
    let quick = Duration::from_millis(300);
    let quick = client_with_timeout(&mock, mock.provider(), mock.client_secret(), quick);
    mock.delay_next(MockEndpoint::Token, 1, Duration::from_secs(2));
    let err = exchange(&quick).await.unwrap_err();
    assert!(matches!(err, OAuthError::Timeout { .. }), "{err:?}");
    errors.push(("timeout", err));

    // Transport, to a closed port with a secret in the URL's query.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = mock
        .provider()
        .to_builder()
        .token_url(format!(
            "http://127.0.0.1:{port}/oauth/token?api_key={URL_QUERY}"
        ))
        .build()
        .unwrap();
    let closed = client(&mock, closed, mock.client_secret());
    debug_clean("OAuthClient with a secret in the token URL", &closed);
    let err = exchange(&closed).await.unwrap_err();
    assert!(matches!(err, OAuthError::Transport { .. }), "{err:?}");
    errors.push(("transport", err));

    // Not configured.
    let bare = Provider::custom("bare")
        .authorize_url(format!("{}/app/oauth/authorize", mock.base_url()))
        .token_url(format!("{}/oauth/token", mock.base_url()))
        .build()
        .unwrap();
    let bare = client(&mock, bare, mock.client_secret());
    let token = AccessToken::new(ACCESS);
    let hits = || {
        [
            MockEndpoint::Userinfo,
            MockEndpoint::Introspect,
            MockEndpoint::Revoke,
        ]
    };
    let before = hits().map(|e| mock.hits(e));
    let results = [
        (
            Endpoint::Userinfo,
            bare.userinfo::<UserInfo>(&token).await.err(),
        ),
        (
            Endpoint::Introspection,
            bare.introspect(TokenRef::Access(&token)).await.err(),
        ),
        (
            Endpoint::Revocation,
            bare.revoke(TokenRef::Access(&token)).await.err(),
        ),
    ];
    for (expected, err) in results {
        let err = err.expect("an error");
        assert!(
            matches!(err, OAuthError::NotConfigured { endpoint } if endpoint == expected),
            "{err:?}"
        );
        errors.push(("not configured", err));
    }
    assert_eq!(
        hits().map(|e| mock.hits(e)),
        before,
        "nothing sent when unconfigured"
    );

    for (label, err) in &errors {
        error_clean(label, err);
    }

    // And the real thing: tokens the mock issued stay out of a real token set's Debug.
    let verifier = PkceVerifier::random();
    let state = CsrfState::random();
    let callback = mock
        .authorize(
            c.authorize_url(&state, Some(&verifier), None)
                .await
                .unwrap()
                .as_str(),
        )
        .await
        .unwrap();
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens = c
        .exchange_code(AuthorizationCode::new(&code), Some(&verifier))
        .await
        .unwrap();
    let refresh = tokens.refresh_token().unwrap().secret().to_owned();
    let text = format!("{tokens:?} {c:?}");
    assert_clean(
        "issued TokenSet",
        &text,
        &[tokens.access_token().secret(), &refresh, &code],
    );
    // A replayed code: the error names neither code nor tokens.
    let err = c
        .exchange_code(AuthorizationCode::new(&code), Some(&verifier))
        .await
        .unwrap_err();
    let text = format!("{err:?} {err}");
    assert_clean(
        "replayed code",
        &text,
        &[tokens.access_token().secret(), &refresh, &code],
    );
}
