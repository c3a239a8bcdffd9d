//! DPoP as a resource server (RFC 9449 §4.3, §7): `BearerUser` takes
//! `Authorization: DPoP` with a valid, fresh, unreplayed proof of the key the token is
//! bound to (`cnf.jkt`, here from the mock's introspection), and refuses everything else.

use axum::Router;
use axum::routing::get;
use axum_oauth_login::client::{DpopKeys, OAuthClient};
use axum_oauth_login::jose::SigningKey;
use axum_oauth_login::provider::UserResolver;
use axum_oauth_login::secret::{AuthorizationCode, CsrfState};
use axum_oauth_login::{AuthSession, BearerUser, CookieKey, OAuth};
use axum_oauth_login_mock::MockProvider;
use reqwest::StatusCode;

use crate::support::dpop::proof;
use crate::support::*;

const KEY: &str = include_str!("../fixtures/keys/p256-other.pem");
const OTHER_KEY: &str = include_str!("../fixtures/keys/p256.pem");

/// A token the mock bound to `KEY` (a client with that DPoP key logged in).
async fn bound_token(mock: &MockProvider) -> String {
    let provider = mock.provider().to_builder().dpop(true).build().unwrap();
    let client = OAuthClient::builder(provider, mock.client_id(), mock.client_secret())
        .redirect_uri("http://127.0.0.1:9/callback")
        .dpop_keys(DpopKeys::new(SigningKey::from_pem(KEY).unwrap()))
        .build()
        .unwrap();
    let url = client
        .authorize_url(&CsrfState::random(), None, None)
        .await
        .unwrap();
    let callback = mock.authorize(url.as_str()).await.unwrap();
    let code = callback.query_pairs().find(|(k, _)| k == "code").unwrap().1;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.into_owned()), None)
        .await
        .unwrap();
    assert_eq!(tokens.token_type(), "DPoP");
    tokens.access_token().secret().to_owned()
}

/// A loopback listener, its base URL, and an `OAuth` of `provider` there that accepts
/// DPoP.
async fn accepting_dpop(
    mock: &MockProvider,
    provider: axum_oauth_login::Provider,
) -> (tokio::net::TcpListener, String, OAuth) {
    let (listener, port) = bind().await;
    let base = format!("http://127.0.0.1:{port}");
    let oauth = OAuth::builder(provider, mock.client_id(), mock.client_secret())
        .redirect_uri(format!("{base}/auth/callback"))
        .cookie_key(CookieKey::generate())
        .accept_dpop(true)
        .build()
        .unwrap();
    (listener, base, oauth)
}

/// The caller's `sub`.
async fn subject(user: BearerUser) -> String {
    user.info().sub.clone().unwrap_or_default()
}

/// An API that accepts DPoP, resolving tokens by introspection; `/v1/me` is nested.
async fn api(mock: &MockProvider) -> (String, Server) {
    let provider = mock
        .provider()
        .to_builder()
        .user_resolver(UserResolver::Introspection)
        .build()
        .unwrap();
    let (listener, base, oauth) = accepting_dpop(mock, provider).await;
    let me = get(subject);
    let app = Router::new()
        .route("/me", me.clone())
        .route(
            "/strict",
            me.clone().route_layer(oauth.require_login().require_dpop()),
        )
        .nest("/v1", Router::new().route("/me", me))
        // Two extractors that both look for the caller: the proof is checked once.
        .route(
            "/both",
            get(
                |session: Option<AuthSession>, user: BearerUser| async move {
                    assert!(session.is_none(), "a header caller has no session");
                    user.info().sub.clone().unwrap_or_default()
                },
            ),
        )
        .layer(oauth.layer());
    (base, Server::start(listener, app))
}

async fn call(url: &str, authorization: &str, proof: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .get(url)
        .header("authorization", authorization);
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    request.send().await.unwrap()
}

fn challenges(res: &reqwest::Response) -> Vec<String> {
    let values = res.headers().get_all("www-authenticate").iter();
    values.map(|v| v.to_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_dpop_token_passes_only_with_a_fresh_proof_of_its_key_for_this_url() {
    let mock = MockProvider::start().await.unwrap();
    let token = bound_token(&mock).await;
    let (base, _server) = api(&mock).await;
    let url = format!("{base}/me");
    let dpop = format!("DPoP {token}");

    let good = proof(KEY, "GET", &url, &token, "jti-1");
    let res = call(&url, &dpop, Some(&good)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.text().await.unwrap(),
        mock.user().info["sub"].as_str().unwrap()
    );

    // Under `nest`: the proof names the path the client called.
    let nested = format!("{base}/v1/me");
    let res = call(
        &nested,
        &dpop,
        Some(&proof(KEY, "GET", &nested, &token, "jti-2")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK, "the original URI counts");

    let refused = |res: &reqwest::Response, error: &str| {
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let all = challenges(res);
        assert!(
            all.iter()
                .any(|c| c.contains(&format!("error=\"{error}\""))),
            "{all:?}"
        );
        assert!(
            all.iter()
                .any(|c| c.starts_with("DPoP") && c.contains("algs=\"ES256")),
            "the DPoP scheme is offered: {all:?}"
        );
    };
    // The same proof again: a replay.
    refused(&call(&url, &dpop, Some(&good)).await, "invalid_dpop_proof");
    // A proof made for another URL, another method, or without one at all.
    let elsewhere = proof(KEY, "GET", &format!("{base}/other"), &token, "jti-3");
    refused(
        &call(&url, &dpop, Some(&elsewhere)).await,
        "invalid_dpop_proof",
    );
    let post = proof(KEY, "POST", &url, &token, "jti-4");
    refused(&call(&url, &dpop, Some(&post)).await, "invalid_dpop_proof");
    refused(&call(&url, &dpop, None).await, "invalid_dpop_proof");
    // A valid proof of another key: the token is not bound to it.
    let thief = proof(OTHER_KEY, "GET", &url, &token, "jti-5");
    refused(&call(&url, &dpop, Some(&thief)).await, "invalid_token");
    // The bound token as a Bearer token.
    refused(
        &call(&url, &format!("Bearer {token}"), None).await,
        "invalid_token",
    );
    // An unbound token dressed as DPoP.
    let plain = mock.issue_token();
    let dressed = proof(KEY, "GET", &url, &plain, "jti-6");
    refused(
        &call(&url, &format!("DPoP {plain}"), Some(&dressed)).await,
        "invalid_token",
    );
    // …which still works as the Bearer token it is.
    let res = call(&url, &format!("Bearer {plain}"), None).await;
    assert_eq!(res.status(), StatusCode::OK);

    // A handler with two extractors asking for the caller: one proof, checked once.
    let both = format!("{base}/both");
    let res = call(
        &both,
        &dpop,
        Some(&proof(KEY, "GET", &both, &token, "jti-8")),
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );

    // `require_dpop()`: the same Bearer token is refused there, a DPoP one passes.
    let strict = format!("{base}/strict");
    refused(
        &call(&strict, &format!("Bearer {plain}"), None).await,
        "invalid_token",
    );
    let fresh = proof(KEY, "GET", &strict, &token, "jti-7");
    let res = call(&strict, &dpop, Some(&fresh)).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_userinfo_resolver_cannot_accept_dpop_tokens() {
    let mock = MockProvider::start().await.unwrap();
    let err = OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
        .redirect_uri("http://127.0.0.1:3000/auth/callback")
        .accept_dpop(true)
        .build()
        .unwrap_err();
    assert_eq!(err.setting(), "accept_dpop");
    assert!(err.to_string().contains("introspection"), "{err}");
}

/// A JWT access token (RFC 9068) bound to `KEY` by `cnf.jkt`, checked locally: the
/// binding comes from the token itself, no provider call.
#[tokio::test]
async fn a_local_jwt_access_token_is_bound_by_its_cnf_claim() {
    use crate::jwks_rotation::{Jwks, PEM_A, key_a, sign};
    let mock = MockProvider::start().await.unwrap();
    let jwks = Jwks::start(vec![key_a()]).await;
    let issuer = mock.provider().issuer().unwrap().to_owned();
    let provider = mock
        .provider()
        .to_builder()
        .jwks_url(&jwks.url)
        .jwt_access_tokens("urn:api")
        .build()
        .unwrap();
    let (listener, base, oauth) = accepting_dpop(&mock, provider).await;
    let _server = Server::start(
        listener,
        Router::new()
            .route("/me", get(subject))
            .layer(oauth.layer()),
    );
    let jkt = SigningKey::from_pem(KEY).unwrap().thumbprint().to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |cnf: Option<&str>| {
        let mut c = serde_json::json!({"iss": issuer, "aud": "urn:api", "sub": "user-1",
            "client_id": mock.client_id(), "exp": now + 600, "iat": now});
        if let Some(jkt) = cnf {
            c["cnf"] = serde_json::json!({ "jkt": jkt });
        }
        c
    };
    let bound = sign(PEM_A, "a", "at+jwt", &claims(Some(&jkt)));
    let url = format!("{base}/me");
    let res = call(
        &url,
        &format!("DPoP {bound}"),
        Some(&proof(KEY, "GET", &url, &bound, "j-1")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "user-1");
    // The same token as Bearer, or with another key's proof: refused.
    let res = call(&url, &format!("Bearer {bound}"), None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let thief = proof(OTHER_KEY, "GET", &url, &bound, "j-2");
    let res = call(&url, &format!("DPoP {bound}"), Some(&thief)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // An unbound JWT stays a Bearer token.
    let plain = sign(PEM_A, "a", "at+jwt", &claims(None));
    let res = call(&url, &format!("Bearer {plain}"), None).await;
    assert_eq!(res.status(), StatusCode::OK);
}
