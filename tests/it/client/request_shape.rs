//! The token request's shape: JSON or form body, and each client authentication method.

use super::*;

/// Logs in with PKCE, checks every recorded field, and returns the content type.
async fn exchange_and_check_fields(mock: &MockProvider, c: &OAuthClient) -> String {
    let verifier = PkceVerifier::random();
    let code = code_for(mock, c, Some(&verifier)).await;
    let expected: BTreeMap<String, String> = [
        ("grant_type", "authorization_code"),
        ("code", code.secret()),
        ("redirect_uri", REDIRECT),
        ("client_id", mock.client_id()),
        ("client_secret", mock.client_secret()),
        ("code_verifier", verifier.secret()),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into();
    let tokens = c.exchange_code(code, Some(&verifier)).await.unwrap();
    assert_eq!(tokens.access_token().secret().len(), 64);
    let r = last(mock, MockEndpoint::Token);
    assert_eq!(r.fields, expected);
    assert_eq!(r.client_auth(), Some(ClientAuth::ClientSecretPost));
    assert_eq!(r.authorization, None);
    r.content_type.unwrap_or_default()
}

#[tokio::test]
async fn json_and_form_token_bodies() {
    let (mock, json) = setup().await;
    assert_eq!(exchange_and_check_fields(&mock, &json).await, JSON);
    let form = client(&mock, provider(&mock, |p| p.token_body(TokenBody::Form)));
    let content_type = exchange_and_check_fields(&mock, &form).await;
    assert_eq!(content_type, "application/x-www-form-urlencoded");
}

#[tokio::test]
async fn json_only_provider_rejects_form_bodies() {
    let mock = start(MockProvider::builder().accept_form(false)).await;
    let c = client(&mock, provider(&mock, |p| p.token_body(TokenBody::Form)));
    let code = code_for(&mock, &c, None).await;
    let err = err!(c.exchange_code(code, None).await =>
        OAuthError::Provider { endpoint: Endpoint::Token, status: 400, error, .. }
            if *error == ErrorCode::InvalidRequest);
    assert!(!err.is_transient() && !err.is_invalid_grant());
    // The same mock takes the JSON body.
    login(&mock, &client(&mock, mock.provider())).await;
}

#[tokio::test]
async fn client_secret_basic_form_encodes_the_credentials() {
    // Post (the other method) is checked in `exchange_and_check_fields`.
    const ID: &str = "app:id/ü+1 %x";
    const SECRET: &str = "s3cr:et with spaces&+%2F=/é";
    let mock = start(MockProvider::builder().client(MockClient::new(ID, SECRET))).await;
    let unescape = |s: &str| {
        let query = format!("x={s}");
        let pair = url::form_urlencoded::parse(query.as_bytes()).next();
        pair.unwrap().1.into_owned()
    };
    for body in [TokenBody::Json, TokenBody::Form] {
        let p = provider(&mock, |p| {
            p.token_body(body)
                .client_auth(ClientAuth::ClientSecretBasic)
        });
        let c = OAuthClient::builder(p, ID, SECRET).redirect_uri(REDIRECT);
        let c = c.build().unwrap();
        let tokens = login(&mock, &c).await;
        let r = last(&mock, MockEndpoint::Token);
        assert_eq!(r.client_auth(), Some(ClientAuth::ClientSecretBasic));
        assert!(!r.fields.contains_key("client_secret"), "{:?}", r.fields);
        let header = r.authorization.expect("an Authorization header");
        let raw = STANDARD.decode(header.strip_prefix("Basic ").unwrap());
        let raw = String::from_utf8(raw.unwrap()).unwrap();
        assert_eq!(raw.matches(':').count(), 1, "colons are escaped: {raw}");
        let (id, secret) = raw.split_once(':').unwrap();
        assert_eq!(
            (unescape(id).as_str(), unescape(secret).as_str()),
            (ID, SECRET)
        );
        // The token really belongs to the odd client.
        let i = c.introspect(TokenRef::Access(tokens.access_token())).await;
        assert_eq!(i.unwrap().client_id.as_deref(), Some(ID));
    }
}
