use base64::Engine as _;
use http::HeaderMap;
use http::header::ORIGIN;

use super::*;
use crate::secret::{CsrfState, PkceVerifier};
use std::time::Duration;

use crate::store::{MemoryStore, SessionId, SessionStore};

const SECRET: &str = "very-secret-value";
const BASE: &str = "OAUTH_CLIENT_ID=id ; OAUTH_CLIENT_SECRET=very-secret-value ; \
                    OAUTH_REDIRECT_URI=http://127.0.0.1:3000/auth/callback";

/// `NAME=value` pairs separated by ` ; ` or line breaks (a value may hold `=`).
fn pairs(text: &str) -> Vec<(String, String)> {
    let entries = text
        .split([';', '\n'])
        .filter_map(|e| e.trim().split_once('='));
    entries.map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// `BASE` and then `extra`, under `prefix` (a later value replaces an earlier one; empty
/// is unset).
fn read(prefix: &str, extra: &str) -> Result<OAuthConfig, ConfigError> {
    let vars = pairs(&format!("{BASE} ; {extra}"));
    let vars = vars
        .into_iter()
        .map(|(k, v)| (k.replacen("OAUTH", prefix, 1), v));
    OAuthConfig::from_vars(prefix, vars)
}

fn with(extra: &str) -> Result<OAuthConfig, ConfigError> {
    read("OAUTH", extra)
}

/// The error reading ends in: from the variables, else from `build()`.
fn error(read: Result<OAuthConfig, ConfigError>) -> ConfigError {
    match read.map(|config| config.into_builder().build()) {
        Err(e) | Ok(Err(e)) => e,
        Ok(Ok(_)) => panic!("no error"),
    }
}

fn build(vars: &str) -> OAuth {
    with(vars).unwrap().into_builder().build().unwrap()
}

fn key(byte: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([byte; 64])
}

const EVERY_VARIABLE: &str = "
    OAUTH_PROVIDER=Custom
    OAUTH_AUTHORIZE_URL=https://id.example/authorize
    OAUTH_TOKEN_URL=https://id.example/token
    OAUTH_USERINFO_URL=https://id.example/userinfo
    OAUTH_INTROSPECTION_URL=https://id.example/introspect
    OAUTH_REVOCATION_URL=https://id.example/revoke
    OAUTH_API_BASE=https://api.id.example/v1
    OAUTH_ISSUER=https://id.example
    OAUTH_JWKS_URL=https://id.example/jwks
    OAUTH_JWT_ACCESS_TOKENS=urn:my-api
    OAUTH_SCOPES= openid  email
    OAUTH_AUTHORIZE_PARAMS=?prompt=login&ui_locales=de+fr&claims=a%2Bb=c&
    OAUTH_TOKEN_BODY=form
    OAUTH_CLIENT_AUTH=client_secret_basic
    OAUTH_PKCE=OFF
    OAUTH_POST_LOGOUT_REDIRECT_URI=http://127.0.0.1:3000/bye
    OAUTH_ROUTE_PREFIX=sso/
    OAUTH_COOKIE_NAME=my_session
    OAUTH_AFTER_LOGOUT=/goodbye?from=sso
    OAUTH_TRUSTED_ORIGINS=https://admin.example, ,https://b.example
    OAUTH_SESSION_STORE=memory
    OAUTH_SESSION_LIFETIME=86400
    OAUTH_SESSION_IDLE_TIMEOUT=3600";

#[test]
fn each_variable_reaches_its_setting() {
    let keys = format!("OAUTH_COOKIE_KEYS={}, {}", key(1), key(2));
    let cfg = with(&format!("{EVERY_VARIABLE} ; {keys}")).unwrap();
    let url = |u: Option<&url::Url>| u.unwrap().to_string();
    let p = cfg.provider();
    assert_eq!(p.name(), "custom");
    assert_eq!(p.authorize_url().as_str(), "https://id.example/authorize");
    assert_eq!(p.token_url().as_str(), "https://id.example/token");
    assert_eq!(url(p.userinfo_url()), "https://id.example/userinfo");
    assert_eq!(url(p.introspection_url()), "https://id.example/introspect");
    assert_eq!(url(p.revocation_url()), "https://id.example/revoke");
    assert_eq!(url(p.api_base()), "https://api.id.example/v1/");
    assert_eq!(url(p.jwks_url()), "https://id.example/jwks");
    assert_eq!(p.issuer(), Some("https://id.example"));
    assert_eq!(p.jwt_access_tokens(), Some("urn:my-api"));
    assert_eq!(p.scopes(), ["openid", "email"]);
    let params = [
        ("prompt", "login"),
        ("ui_locales", "de fr"),
        ("claims", "a+b=c"),
    ];
    assert_eq!(
        p.authorize_params(),
        params.map(|(k, v)| (k.into(), v.into()))
    );
    assert_eq!(p.token_body(), TokenBody::Form);
    assert_eq!(p.client_auth(), ClientAuth::ClientSecretBasic);
    assert!(!p.pkce());
    assert_eq!(cfg.client_id(), "id");
    assert_eq!(
        cfg.redirect_uri(),
        Some("http://127.0.0.1:3000/auth/callback")
    );

    let oauth = cfg.into_builder().build().unwrap();
    let (shared, session) = (oauth.shared(), &oauth.shared().session);
    assert_eq!(shared.paths.login, "/sso/login");
    assert_eq!(shared.paths.callback, "/auth/callback");
    assert_eq!(shared.paths.after_logout, "/goodbye?from=sso");
    let bye = shared.paths.post_logout_redirect_uri.as_ref();
    assert_eq!(url(bye), "http://127.0.0.1:3000/bye");
    assert_eq!(session.cookie_name, "my_session");
    assert_eq!(session.ttl_secs, 86400);
    assert_eq!(session.idle_secs, Some(3600));
    assert!(session.store().is_some(), "OAUTH_SESSION_STORE=memory");
    let origin = |o: &str| HeaderMap::from_iter([(ORIGIN, o.parse().unwrap())]);
    assert!(!shared.origins.foreign(&origin("https://b.example")));
    assert!(shared.origins.foreign(&origin("https://evil.example")));
    // The keys reached the codec: the newest seals, the older one still opens.
    let old = build(&format!("{EVERY_VARIABLE} ; OAUTH_COOKIE_KEY={}", key(2)));
    let (old, new) = (&old.shared().session.codec, &session.codec);
    assert_eq!(new.open("n", &old.seal("n", &7u8).unwrap()), Some(7u8));
    assert_eq!(old.open::<u8>("n", &new.seal("n", &7u8).unwrap()), None);

    // Presets, the brand host (vcita's only), and every spelling of PKCE.
    let provider = |vars: &str| with(vars).unwrap().provider().clone();
    assert_eq!(provider("OAUTH_PROVIDER=apicbase").name(), "apicbase");
    let branded = provider("OAUTH_BRAND_HOST=login.brand.example");
    let host = branded.authorize_url().host_str();
    assert_eq!(host, Some("login.brand.example"));
    for (i, pkce) in ["on", "TRUE", "1", "off", "false", "0"].iter().enumerate() {
        assert_eq!(provider(&format!("OAUTH_PKCE={pkce}")).pkce(), i < 3);
    }
}

/// `variables => the variable the error names`: refused while reading (the value does
/// not parse, or the provider refuses it).
const READ_ERRORS: &str = r#"
    OAUTH_PROVIDER=github => OAUTH_PROVIDER
    OAUTH_PROVIDER=custom => OAUTH_AUTHORIZE_URL
    OAUTH_TOKEN_URL=not a url => OAUTH_TOKEN_URL
    OAUTH_USERINFO_URL=ftp://x => OAUTH_USERINFO_URL
    OAUTH_JWKS_URL=https://id.example/jwks => OAUTH_ISSUER
    OAUTH_ISSUER=https://id ; OAUTH_JWT_ACCESS_TOKENS=urn:a => OAUTH_JWKS_URL
    OAUTH_SCOPES=a"b => OAUTH_SCOPES
    OAUTH_AUTHORIZE_PARAMS=very-secret-value => OAUTH_AUTHORIZE_PARAMS
    OAUTH_AUTHORIZE_PARAMS=redirect_uri=https://evil.example/ => OAUTH_AUTHORIZE_PARAMS
    OAUTH_TOKEN_BODY=xml => OAUTH_TOKEN_BODY
    OAUTH_CLIENT_AUTH=jwt => OAUTH_CLIENT_AUTH
    OAUTH_PKCE=maybe => OAUTH_PKCE
    OAUTH_BRAND_HOST=x/y => OAUTH_BRAND_HOST
    OAUTH_PROVIDER=apicbase ; OAUTH_BRAND_HOST=x.example => OAUTH_BRAND_HOST
    OAUTH_COOKIE_KEY=very-secret-value => OAUTH_COOKIE_KEY
    OAUTH_COOKIE_KEY=c2hvcnQ= => OAUTH_COOKIE_KEY
    OAUTH_COOKIE_KEYS=, => OAUTH_COOKIE_KEYS
    OAUTH_COOKIE_KEY=ephemeral ; OAUTH_COOKIE_KEYS=very-secret-value => OAUTH_COOKIE_KEYS
    OAUTH_SESSION_STORE=mongodb://very-secret-value@x => OAUTH_SESSION_STORE
    OAUTH_SESSION_LIFETIME=a week => OAUTH_SESSION_LIFETIME
    OAUTH_SESSION_IDLE_TIMEOUT=-1 => OAUTH_SESSION_IDLE_TIMEOUT"#;

/// The same, refused by the builder's checks in `build()` and renamed to the variable.
const BUILD_ERRORS: &str = "
    OAUTH_CLIENT_ID= => OAUTH_CLIENT_ID
    OAUTH_CLIENT_SECRET= => OAUTH_CLIENT_SECRET
    OAUTH_REDIRECT_URI= => OAUTH_REDIRECT_URI
    OAUTH_REDIRECT_URI=/relative => OAUTH_REDIRECT_URI
    OAUTH_REDIRECT_URI=http://app.example/cb => OAUTH_REDIRECT_URI
    OAUTH_REDIRECT_URI=https://app.example/cb => OAUTH_COOKIE_KEY
    OAUTH_REDIRECT_URI=http://127.0.0.1/login ; OAUTH_ROUTE_PREFIX=/ => OAUTH_REDIRECT_URI
    OAUTH_ROUTE_PREFIX=/auth/../x => OAUTH_ROUTE_PREFIX
    OAUTH_COOKIE_NAME=a b => OAUTH_COOKIE_NAME
    OAUTH_AFTER_LOGOUT=//evil.example => OAUTH_AFTER_LOGOUT
    OAUTH_POST_LOGOUT_REDIRECT_URI=http://app.example/bye => OAUTH_POST_LOGOUT_REDIRECT_URI
    OAUTH_TRUSTED_ORIGINS=https://a.example/path => OAUTH_TRUSTED_ORIGINS
    OAUTH_SESSION_LIFETIME=1 => OAUTH_SESSION_LIFETIME
    OAUTH_SESSION_IDLE_TIMEOUT=10 => OAUTH_SESSION_IDLE_TIMEOUT";

#[test]
fn each_bad_value_names_its_variable_and_hides_secrets() {
    let cases = |table: &'static str| table.lines().filter_map(|l| l.split_once(" => "));
    for (at_read, table) in [(true, READ_ERRORS), (false, BUILD_ERRORS)] {
        for (vars, variable) in cases(table) {
            for prefix in ["OAUTH", "VCITA"] {
                let variable = variable.replacen("OAUTH", prefix, 1);
                assert_eq!(read(prefix, vars).is_err(), at_read, "{vars}");
                let err = error(read(prefix, vars));
                let (text, debug) = (err.to_string(), format!("{err:?}"));
                assert_eq!(err.setting(), variable, "{text}");
                assert!(text.contains(&variable), "{text}");
                assert!(!text.contains(SECRET) && !debug.contains(SECRET), "{text}");
            }
        }
    }
    let branded = "OAUTH_PROVIDER=apicbase ; OAUTH_BRAND_HOST=x";
    let err = error(read("VCITA", branded));
    assert!(err.reason().contains("VCITA_PROVIDER=vcita"), "{err}");
    // `OAUTH_*` configures nothing under another prefix.
    let err = error(OAuthConfig::from_vars("VCITA", pairs(BASE)));
    assert_eq!(err.setting(), "VCITA_CLIENT_ID");
}

#[test]
fn https_needs_a_cookie_key_or_an_explicit_ephemeral_one() {
    let https = "OAUTH_REDIRECT_URI=https://a.example/cb ; OAUTH_COOKIE_KEY=";
    let err = error(with(https));
    assert_eq!(err.setting(), "OAUTH_COOKIE_KEY");
    assert!(err.reason().contains("ephemeral"), "{err}");
    build(&format!("{https}ephemeral"));
    build(&format!("{https}{}", key(3)));
}

#[tokio::test]
async fn authorize_params_reach_the_authorize_url_and_refusals_say_why() {
    let oauth = build("OAUTH_AUTHORIZE_PARAMS=prompt=login");
    let (state, verifier) = (CsrfState::random(), PkceVerifier::random());
    let url = oauth
        .client()
        .authorize_url(&state, Some(&verifier), None)
        .await
        .unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(pairs.contains(&("prompt".into(), "login".into())), "{url}");
    let state = pairs
        .iter()
        .filter(|(k, v)| k == "state" && v == state.secret());
    assert_eq!(state.count(), 1, "{url}");
    for (value, reason) in [
        ("state=forged", "set by the crate"),
        ("code_challenge=x", "set by the crate"),
        ("prompt", "entry 1 is not `name=value`"),
        ("prompt=login&=x", "entry 2 has an empty"),
        ("prompt=login&prompt=none", "more than once"),
        ("prompt=%zz", "percent-encoding"),
        ("prompt=%4", "percent-encoding"),
        ("prompt=%ff", "percent-encoding"),
        ("a%0a=b", "unprintable"),
    ] {
        let err = with(&format!("OAUTH_AUTHORIZE_PARAMS={value}")).unwrap_err();
        assert_eq!(err.setting(), "OAUTH_AUTHORIZE_PARAMS", "{value}: {err}");
        assert!(err.reason().contains(reason), "{value}: {err}");
    }
}

#[tokio::test]
async fn a_builder_call_overrides_the_variable() {
    // `.session_store(..)` replaces the store `OAUTH_SESSION_STORE` chose.
    let (mine, id) = (MemoryStore::new(10), &SessionId::random());
    let saved = mine.save(id, "record", &[], Duration::from_secs(60));
    saved.await.unwrap();
    let memory = || with("OAUTH_SESSION_STORE=memory").unwrap().into_builder();
    let stored = async |oauth: OAuth| oauth.shared().session.store().unwrap().load(id).await;
    assert_eq!(stored(memory().build().unwrap()).await.unwrap(), None);
    let oauth = memory().session_store(mine).build().unwrap();
    assert_eq!(stored(oauth).await.unwrap().as_deref(), Some("record"));
    // A bad variable overridden in code is no error; a bad value in code names the setting.
    let bad = with("OAUTH_ROUTE_PREFIX=/a b").unwrap().into_builder();
    let oauth = bad.route_prefix("/sso").build().unwrap();
    assert_eq!(oauth.login_path(), "/sso/login");
    let bad = with("").unwrap().into_builder().route_prefix("/a b");
    assert_eq!(bad.build().unwrap_err().setting(), "route_prefix");
}

#[test]
fn provider_and_credentials_from_code() {
    let apicbase = || Provider::apicbase();
    let from_code =
        |vars: &str| OAuthConfig::from_vars_for("OAUTH", pairs(vars), apicbase(), "id", "s");
    let vars = "OAUTH_ROUTE_PREFIX=/demo ; OAUTH_SESSION_STORE=memory ; OAUTH_COOKIE_KEY=ephemeral";
    let cfg = from_code(vars).unwrap();
    assert_eq!(cfg.provider().name(), "apicbase");
    assert_eq!((cfg.client_id(), cfg.redirect_uri()), ("id", None));
    let err = error(from_code(vars));
    assert_eq!(err.setting(), "OAUTH_REDIRECT_URI", "set in neither place");
    let builder = from_code(vars).unwrap().into_builder();
    let oauth = builder.redirect_uri("https://demo.example/cb").build();
    assert_eq!(oauth.as_ref().unwrap().login_path(), "/demo/login");
    assert!(oauth.unwrap().shared().session.store().is_some());
    let cfg = from_code("OAUTH_REDIRECT_URI=http://127.0.0.1:3000/cb").unwrap();
    assert_eq!(
        cfg.into_builder().build().unwrap().shared().paths.callback,
        "/cb"
    );
    // The provider's and the credentials' variables would be ignored: each is refused.
    for suffix in provider_suffixes() {
        let err = from_code(&format!("OAUTH_{suffix}=https://x.example")).unwrap_err();
        assert_eq!(err.setting(), format!("OAUTH_{suffix}"));
        assert!(err.reason().contains("from code"), "{err}");
    }
    let vars = pairs("OAUTH_REDIRECT_URI=http://127.0.0.1:3000/cb");
    let cfg = OAuthConfig::from_vars_for("OAUTH", vars, apicbase(), "", "s");
    assert_eq!(
        error(cfg).setting(),
        "client_id",
        "given in code, named as in code"
    );
}

/// Every variable of the table is in `OAuthConfig`'s rustdoc and in the README.
#[test]
fn every_variable_is_documented() {
    // The first cells of the tables' rows.
    let names = |text: &'static str| -> Vec<&str> {
        let rows = text.lines().map(|l| l.trim_start_matches("///").trim());
        let rows = rows.filter(|l| l.starts_with("| `OAUTH_"));
        rows.filter_map(|l| l.split('|').nth(1)).collect()
    };
    let rustdoc = names(include_str!("mod.rs"));
    let readme = names(include_str!("../../README.md"));
    for suffix in provider_suffixes().chain(APP.iter().map(|r| r.suffix)) {
        let variable = format!("`OAUTH_{suffix}`");
        let documented = |cells: &[&str]| cells.iter().any(|c| c.contains(&variable));
        assert!(documented(&rustdoc), "rustdoc: {variable}");
        assert!(documented(&readme), "README: {variable}");
    }
}
