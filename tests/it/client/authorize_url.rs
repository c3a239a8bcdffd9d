//! The authorize URL: every parameter, merged with the provider's own query.

use super::*;

#[tokio::test]
async fn authorize_url_carries_every_parameter() {
    let mock = MockProvider::start().await.unwrap();
    let base = mock.base_url();
    let with_query = format!("{base}/app/oauth/authorize?tenant=acme&lang=en");
    let p = provider(&mock, |p| {
        p.authorize_url(with_query)
            .scopes(["openid", "email"])
            .authorize_param("prompt", "consent")
    });
    let c = client(&mock, p);
    let state = CsrfState::random();
    let url = c.authorize_url(&state, None, None).await.unwrap();
    assert_eq!(url.path(), "/app/oauth/authorize");
    assert_eq!(url.host_str(), Some("127.0.0.1"));
    assert_eq!(param(&url, "tenant").as_deref(), Some("acme"));
    assert_eq!(param(&url, "lang").as_deref(), Some("en"));
    assert_eq!(param(&url, "response_type").as_deref(), Some("code"));
    assert_eq!(param(&url, "client_id").as_deref(), Some(mock.client_id()));
    assert_eq!(param(&url, "redirect_uri").as_deref(), Some(REDIRECT));
    assert_eq!(param(&url, "state").as_deref(), Some(state.secret()));
    assert_eq!(param(&url, "scope").as_deref(), Some("openid email"));
    assert_eq!(param(&url, "prompt").as_deref(), Some("consent"));
    assert_eq!(url.query_pairs().count(), 8, "{url}");
    assert!(!url.as_str().contains(mock.client_secret()));

    // The mock takes it as is, and the code it yields exchanges.
    let callback = mock.authorize(url.as_str()).await.unwrap();
    let r = &mock.requests(MockEndpoint::Authorize)[0];
    assert_eq!(r.fields["tenant"], "acme");
    assert_eq!(r.fields["scope"], "openid email");
    let code = AuthorizationCode::new(param(&callback, "code").unwrap());
    let tokens = c.exchange_code(code, None).await.unwrap();
    assert_eq!(tokens.scope(), Some("openid email"));

    // Without scopes, no scope parameter.
    let plain = client(&mock, mock.provider())
        .authorize_url(&state, None, None)
        .await
        .unwrap();
    assert_eq!(param(&plain, "scope"), None, "{plain}");
    assert_eq!(plain.query_pairs().count(), 4, "{plain}");
}
