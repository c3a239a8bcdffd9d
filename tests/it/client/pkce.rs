//! PKCE: the challenge in the authorize URL, the verifier checked at the token endpoint,
//! and no challenge when the provider turns PKCE off.

use super::*;

#[tokio::test]
async fn pkce_verifier_is_checked() {
    let (mock, c) = setup().await;
    let verifier = PkceVerifier::random();
    let url = c
        .authorize_url(&CsrfState::random(), Some(&verifier), None)
        .await
        .unwrap();
    let challenge = param(&url, "code_challenge");
    assert_eq!(challenge, Some(verifier.s256_challenge()));
    let method = param(&url, "code_challenge_method");
    assert_eq!(method.as_deref(), Some("S256"));
    assert!(!url.as_str().contains(verifier.secret()), "{url}");
    assert!(!url.as_str().contains(mock.client_secret()), "{url}");

    let code = code_for(&mock, &c, Some(&verifier)).await;
    assert!(c.exchange_code(code, Some(&verifier)).await.is_ok());

    let code = code_for(&mock, &c, Some(&verifier)).await;
    let wrong = PkceVerifier::random();
    let err = c.exchange_code(code, Some(&wrong)).await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err:?}");
    assert_eq!(err.status(), Some(400));

    let code = code_for(&mock, &c, Some(&verifier)).await;
    let err = c.exchange_code(code, None).await.unwrap_err();
    assert!(err.is_invalid_grant(), "a missing verifier: {err:?}");
}

/// `GET /auth/login` of an `OAuth` for `provider`: the OAuth and the provider URL.
async fn login_route(mock: &MockProvider, provider: Provider) -> (OAuth, Url) {
    let oauth = OAuth::builder(provider, mock.client_id(), mock.client_secret())
        .redirect_uri(REDIRECT)
        .cookie_key(CookieKey::generate())
        .build()
        .unwrap();
    let request = http::Request::get("/auth/login").body(Body::empty());
    // The app applies the OAuth layer, outermost, around the auth routes too.
    let router = oauth.routes::<()>().layer(oauth.layer());
    let res = router.oneshot(request.unwrap()).await.unwrap();
    assert_eq!(res.status(), http::StatusCode::SEE_OTHER);
    let location = res.headers()[http::header::LOCATION].to_str().unwrap();
    let url = Url::parse(location).unwrap();
    (oauth, url)
}

#[tokio::test]
async fn pkce_off_sends_no_challenge_from_the_login_route() {
    let mock = MockProvider::start().await.unwrap();
    let (_, on) = login_route(&mock, mock.provider()).await;
    assert_eq!(param(&on, "code_challenge_method").as_deref(), Some("S256"));
    let (oauth, off) = login_route(&mock, provider(&mock, |p| p.pkce(false))).await;
    assert_eq!(param(&off, "code_challenge"), None, "{off}");
    assert_eq!(param(&off, "code_challenge_method"), None, "{off}");
    // Without a challenge, the code exchanges without a verifier.
    let callback = mock.authorize(off.as_str()).await.unwrap();
    let code = AuthorizationCode::new(param(&callback, "code").unwrap());
    oauth.client().exchange_code(code, None).await.unwrap();
    let fields = last(&mock, MockEndpoint::Token).fields;
    assert!(!fields.contains_key("code_verifier"), "{fields:?}");
}
