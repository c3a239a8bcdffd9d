//! Unit tests of the provider presets and builder.
use url::Url;

use super::*;

#[test]
fn presets_build_with_documented_endpoints() {
    let v = Provider::vcita();
    assert_eq!(
        v.authorize_url().as_str(),
        "https://app.vcita.com/app/oauth/authorize"
    );
    assert_eq!(v.token_url().as_str(), "https://api.vcita.biz/oauth/token");
    assert_eq!(
        v.userinfo_url().map(Url::as_str),
        Some("https://api.vcita.biz/oauth/userinfo")
    );
    assert_eq!(v.token_body(), TokenBody::Json);
    assert_eq!(v.client_auth(), ClientAuth::ClientSecretPost);
    assert!(v.pkce());
    assert_eq!(v.user_resolver(), UserResolver::Userinfo);

    let a = Provider::apicbase();
    assert_eq!(
        a.authorize_url().as_str(),
        "https://app.apicbase.com/oauth/authorize/"
    );
    assert_eq!(
        a.token_url().as_str(),
        "https://api.apicbase.com/oauth/token/"
    );
    assert_eq!(
        a.introspection_url().map(Url::as_str),
        Some("https://api.apicbase.com/oauth/introspect/")
    );
    assert_eq!(a.token_body(), TokenBody::Form);
    assert_eq!(a.user_resolver(), UserResolver::Introspection);
}

#[test]
fn missing_and_invalid_urls_name_the_setting() {
    let e = Provider::custom("x")
        .token_url("https://t")
        .build()
        .unwrap_err();
    assert_eq!(e.setting(), "authorize_url");
    let e = Provider::custom("x")
        .authorize_url("https://a")
        .build()
        .unwrap_err();
    assert_eq!(e.setting(), "token_url");
    let e = Provider::custom("x")
        .authorize_url("https://a")
        .token_url("ftp://t")
        .build()
        .unwrap_err();
    assert_eq!(e.setting(), "token_url");
    let e = Provider::custom("x")
        .authorize_url("https://a")
        .token_url("https://t")
        .userinfo_url("/relative")
        .build()
        .unwrap_err();
    assert_eq!(e.setting(), "userinfo_url");
    let e = Provider::custom("x")
        .authorize_url("https://user:pw@a")
        .token_url("https://t")
        .build()
        .unwrap_err();
    assert_eq!(e.setting(), "authorize_url");
    assert!(!e.to_string().contains("pw"));
}

#[test]
fn provider_endpoints_need_https_except_on_loopback() {
    let e = Provider::custom("x")
        .authorize_url("https://id.example/a")
        .token_url("http://id.example/t")
        .build()
        .unwrap_err();
    assert_eq!(e.setting(), "token_url");
    for host in ["127.0.0.1:9", "localhost", "[::1]:8080"] {
        let p = Provider::custom("x")
            .authorize_url(format!("http://{host}/a"))
            .token_url(format!("http://{host}/t"))
            .build();
        assert!(p.is_ok(), "{host}");
    }
}

#[test]
fn reserved_params_and_bad_scopes_are_rejected() {
    let base = || {
        Provider::custom("x")
            .authorize_url("https://a")
            .token_url("https://t")
    };
    assert_eq!(
        base()
            .authorize_param("state", "x")
            .build()
            .unwrap_err()
            .setting(),
        "authorize_param"
    );
    assert_eq!(
        base().scopes(["a b"]).build().unwrap_err().setting(),
        "scopes"
    );
    assert_eq!(
        base()
            .user_resolver(UserResolver::Introspection)
            .build()
            .unwrap_err()
            .setting(),
        "introspection_url"
    );
}

#[test]
fn to_builder_round_trips_every_preset() {
    for p in [Provider::vcita(), Provider::apicbase()] {
        let again = p.to_builder().build().unwrap();
        assert_eq!(again.user_resolver(), p.user_resolver());
        assert_eq!(again.token_url(), p.token_url());
    }
    let bare = Provider::custom("x")
        .authorize_url("https://a")
        .token_url("https://t")
        .build()
        .unwrap();
    assert!(bare.to_builder().issuer("https://a").build().is_ok());
    let chosen = Provider::vcita()
        .to_builder()
        .introspection_url("https://i")
        .user_resolver(UserResolver::Introspection)
        .build()
        .unwrap();
    assert_eq!(
        chosen.to_builder().build().unwrap().user_resolver(),
        UserResolver::Introspection
    );
}

#[test]
fn brand_host_rejects_paths() {
    assert!(Provider::vcita_brand_host("app.mybrand.com").is_ok());
    assert!(Provider::vcita_brand_host("evil.com/x?").is_err());
    assert!(Provider::vcita_brand_host("").is_err());
}

mod discovery;
