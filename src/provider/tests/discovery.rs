//! `Provider::discover` against a tiny in-process server on loopback.

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use url::Url;

use super::*;
use crate::provider::discovery::DiscoveryError;

const WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// Serves the router `make(base)` builds on `127.0.0.1:0`; returns `http://127.0.0.1:PORT`.
async fn serve(make: impl FnOnce(&str) -> Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = make(&base);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A complete document for `issuer`, its endpoints under `base`.
fn metadata(issuer: &str, base: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/auth"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/me"),
        "introspection_endpoint": format!("{base}/token/introspection"),
        "revocation_endpoint": format!("{base}/token/revocation"),
        "end_session_endpoint": format!("{base}/session/end"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "authorization_response_iss_parameter_supported": true,
    })
}

/// Serves `metadata(base, base)` changed by `edit` at the root issuer, and discovers it.
async fn discover_edited(
    edit: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> (String, Result<ProviderBuilder, DiscoveryError>) {
    let base = serve(|base| {
        let mut doc = metadata(base, base);
        edit(doc.as_object_mut().unwrap());
        Router::new().route(WELL_KNOWN, get(move || async move { axum::Json(doc) }))
    })
    .await;
    let found = Provider::discover(&base).await;
    (base, found)
}

#[tokio::test]
async fn a_complete_document_fills_every_endpoint() {
    let (base, found) = discover_edited(|_| {}).await;
    let p = found.unwrap().build().unwrap();
    assert_eq!(p.name(), "127.0.0.1");
    assert_eq!(p.issuer(), Some(base.as_str()));
    assert_eq!(p.authorize_url().as_str(), format!("{base}/auth"));
    assert_eq!(p.token_url().as_str(), format!("{base}/token"));
    let url = |u: Option<&Url>| u.map(Url::to_string);
    assert_eq!(url(p.userinfo_url()), Some(format!("{base}/me")));
    assert_eq!(
        url(p.introspection_url()),
        Some(format!("{base}/token/introspection"))
    );
    assert_eq!(
        url(p.revocation_url()),
        Some(format!("{base}/token/revocation"))
    );
    assert_eq!(
        url(p.end_session_url()),
        Some(format!("{base}/session/end"))
    );
    assert!(p.pkce());
    assert_eq!(p.client_auth(), ClientAuth::ClientSecretBasic);
    assert_eq!(p.token_body(), TokenBody::Form);
    assert_eq!(p.user_resolver(), UserResolver::Userinfo);
    assert_eq!(p.scopes(), ["openid"]);
    assert!(p.issuer_in_callback());
    // The end-session endpoint survives a round trip through the builder.
    assert_eq!(
        url(p.to_builder().build().unwrap().end_session_url()),
        Some(format!("{base}/session/end"))
    );
}

#[tokio::test]
async fn the_builder_can_be_adjusted_before_build() {
    let (_, found) = discover_edited(|_| {}).await;
    let p = found
        .unwrap()
        .name("keycloak")
        .scopes(["openid", "email"])
        .client_auth(ClientAuth::ClientSecretPost)
        .build()
        .unwrap();
    assert_eq!(p.name(), "keycloak");
    assert_eq!(p.scopes(), ["openid", "email"]);
    assert_eq!(p.client_auth(), ClientAuth::ClientSecretPost);
}

#[tokio::test]
async fn an_issuer_mismatch_names_both_values() {
    let (base, found) = discover_edited(|doc| {
        doc.insert("issuer".into(), json!("https://other.example"));
    })
    .await;
    let e = found.unwrap_err();
    assert_eq!(
        e,
        DiscoveryError::IssuerMismatch {
            expected: base.clone(),
            found: "https://other.example".into(),
        }
    );
    let message = e.to_string();
    assert!(message.contains(&base), "{message}");
    assert!(message.contains("https://other.example"), "{message}");
    assert!(!e.is_transient());

    // Exactly equal: a trailing slash the configured issuer lacks is a mismatch too.
    let (base, found) = discover_edited(|doc| {
        let issuer = format!("{}/", doc["issuer"].as_str().unwrap());
        doc.insert("issuer".into(), json!(issuer));
    })
    .await;
    assert!(
        matches!(found, Err(DiscoveryError::IssuerMismatch { ref expected, .. }) if *expected == base),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_trailing_slash_is_dropped_for_the_url_and_kept_for_the_comparison() {
    let base = serve(|base| {
        let slash = metadata(&format!("{base}/realm/"), base);
        let bare = metadata(&format!("{base}/other"), base);
        Router::new()
            .route(
                &format!("/realm{WELL_KNOWN}"),
                get(move || async move { axum::Json(slash) }),
            )
            .route(
                &format!("/other{WELL_KNOWN}"),
                get(move || async move { axum::Json(bare) }),
            )
    })
    .await;
    // `{issuer}/` → `{issuer}/.well-known/...`; the document says `{issuer}/`.
    let issuer = format!("{base}/realm/");
    let p = Provider::discover(&issuer).await.unwrap().build().unwrap();
    assert_eq!(p.issuer(), Some(issuer.as_str()));
    // Configured with a slash, the document without: not identical.
    let e = Provider::discover(&format!("{base}/other/"))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        DiscoveryError::IssuerMismatch {
            expected: format!("{base}/other/"),
            found: format!("{base}/other"),
        }
    );
}

#[tokio::test]
async fn a_missing_token_endpoint_is_named() {
    let (_, found) = discover_edited(|doc| {
        doc.remove("token_endpoint");
    })
    .await;
    assert_eq!(
        found.unwrap_err(),
        DiscoveryError::MissingField {
            name: "token_endpoint"
        }
    );
    let (_, found) = discover_edited(|doc| {
        doc.remove("issuer");
    })
    .await;
    assert_eq!(
        found.unwrap_err(),
        DiscoveryError::MissingField { name: "issuer" }
    );
}

#[tokio::test]
async fn a_plain_http_endpoint_off_loopback_is_refused() {
    let (_, found) = discover_edited(|doc| {
        doc.insert("userinfo_endpoint".into(), json!("http://id.example/me"));
    })
    .await;
    let e = found.unwrap_err();
    assert_eq!(
        e,
        DiscoveryError::InsecureEndpoint {
            name: "userinfo_endpoint"
        }
    );
    assert!(e.to_string().contains("userinfo_endpoint"), "{e}");
    let (_, found) = discover_edited(|doc| {
        doc.insert("end_session_endpoint".into(), json!("/relative"));
    })
    .await;
    assert!(
        matches!(
            found,
            Err(DiscoveryError::InvalidEndpoint {
                name: "end_session_endpoint",
                ..
            })
        ),
        "{found:?}"
    );
    let (_, found) = discover_edited(|doc| {
        doc.insert(
            "authorization_endpoint".into(),
            json!("https://id.example/auth#x"),
        );
    })
    .await;
    assert!(
        matches!(
            found,
            Err(DiscoveryError::InvalidEndpoint {
                name: "authorization_endpoint",
                ..
            })
        ),
        "{found:?}"
    );
}

#[tokio::test]
async fn pkce_is_off_only_when_s256_is_not_listed() {
    let (_, found) = discover_edited(|doc| {
        doc.insert("code_challenge_methods_supported".into(), json!(["plain"]));
    })
    .await;
    assert!(!found.unwrap().build().unwrap().pkce());
    let (_, found) = discover_edited(|doc| {
        doc.remove("code_challenge_methods_supported");
    })
    .await;
    assert!(found.unwrap().build().unwrap().pkce());
}

#[tokio::test]
async fn client_auth_follows_the_advertised_methods() {
    let methods = |m: Value| {
        move |doc: &mut serde_json::Map<String, Value>| {
            doc.insert("token_endpoint_auth_methods_supported".into(), m);
        }
    };
    let (_, found) = discover_edited(methods(json!(["client_secret_post"]))).await;
    assert_eq!(
        found.unwrap().build().unwrap().client_auth(),
        ClientAuth::ClientSecretPost
    );
    let (_, found) = discover_edited(|doc| {
        doc.remove("token_endpoint_auth_methods_supported");
    })
    .await;
    assert_eq!(
        found.unwrap().build().unwrap().client_auth(),
        ClientAuth::ClientSecretBasic,
        "absent means client_secret_basic (Discovery §3)"
    );
    // The only method left that the crate speaks; the build then asks for a key.
    let (_, found) = discover_edited(methods(json!(["private_key_jwt", "tls_client_auth"]))).await;
    assert_eq!(
        found.unwrap().build().unwrap().client_auth(),
        ClientAuth::PrivateKeyJwt
    );
    let (_, found) =
        discover_edited(methods(json!(["tls_client_auth", "client_secret_jwt"]))).await;
    let e = found.unwrap_err();
    assert_eq!(
        e,
        DiscoveryError::UnsupportedClientAuth {
            methods: vec!["tls_client_auth".into(), "client_secret_jwt".into()]
        }
    );
    assert!(
        e.to_string().contains("tls_client_auth, client_secret_jwt"),
        "{e}"
    );
    let (_, found) = discover_edited(methods(json!("client_secret_post"))).await;
    assert!(
        matches!(found, Err(DiscoveryError::Malformed { .. })),
        "{found:?}"
    );
}

#[tokio::test]
async fn par_is_used_when_required_not_when_merely_advertised() {
    let with = |required: Option<Value>| {
        move |doc: &mut serde_json::Map<String, Value>| {
            let par = doc["token_endpoint"]
                .as_str()
                .unwrap()
                .replace("/token", "/par");
            doc.insert("pushed_authorization_request_endpoint".into(), par.into());
            if let Some(required) = required {
                doc.insert("require_pushed_authorization_requests".into(), required);
            }
        }
    };
    for (required, uses) in [
        (None, false),
        (Some(json!(false)), false),
        (Some(json!(true)), true),
    ] {
        let (_, found) = discover_edited(with(required.clone())).await;
        let p = found.unwrap().build().unwrap();
        assert!(p.par_url().unwrap().as_str().ends_with("/par"));
        assert_eq!(p.uses_par(), uses, "{required:?}");
    }
    let (_, found) = discover_edited(with(Some(json!("yes")))).await;
    assert!(
        matches!(found, Err(DiscoveryError::Malformed { .. })),
        "{found:?}"
    );
    // Required without an endpoint: the metadata is unusable, and says which field.
    let (_, found) = discover_edited(|doc| {
        doc.insert("require_pushed_authorization_requests".into(), json!(true));
    })
    .await;
    let e = found.unwrap_err();
    assert!(
        e.to_string()
            .contains("pushed_authorization_request_endpoint"),
        "{e}"
    );
}

#[tokio::test]
async fn the_iss_parameter_is_required_only_when_advertised() {
    for (value, required) in [(Some(true), true), (Some(false), false), (None, false)] {
        let (_, found) = discover_edited(|doc| match value {
            Some(v) => {
                doc.insert(
                    "authorization_response_iss_parameter_supported".into(),
                    json!(v),
                );
            }
            None => {
                doc.remove("authorization_response_iss_parameter_supported");
            }
        })
        .await;
        let p = found.unwrap().build().unwrap();
        assert_eq!(p.issuer_in_callback(), required, "{value:?}");
        // The issuer stays configured either way: a sent `iss` is still checked.
        assert!(p.issuer().is_some());
    }
}

#[tokio::test]
async fn transport_and_status_failures_are_typed() {
    // Nothing listens on a port just released.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = Provider::discover(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(matches!(e, DiscoveryError::Unreachable { .. }), "{e:?}");
    assert!(e.is_transient());

    let base = serve(|_| {
        Router::new()
            .route(
                &format!("/gone{WELL_KNOWN}"),
                get(|| async { StatusCode::NOT_FOUND }),
            )
            .route(
                &format!("/down{WELL_KNOWN}"),
                get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
            )
            .route(
                &format!("/moved{WELL_KNOWN}"),
                get(|| async {
                    (
                        StatusCode::FOUND,
                        [("location", "https://elsewhere.example/")],
                    )
                        .into_response()
                }),
            )
            .route(
                &format!("/html{WELL_KNOWN}"),
                get(|| async { "<html>login</html>" }),
            )
            .route(
                &format!("/array{WELL_KNOWN}"),
                get(|| async { axum::Json(json!([1, 2])) }),
            )
            .route(
                &format!("/huge{WELL_KNOWN}"),
                get(|| async { "x".repeat(300 * 1024) }),
            )
    })
    .await;
    let e = discover_path(&base, "gone").await.unwrap_err();
    assert!(
        matches!(e, DiscoveryError::Status { status: 404, .. }),
        "{e:?}"
    );
    assert!(!e.is_transient());
    let e = discover_path(&base, "down").await.unwrap_err();
    assert!(
        matches!(e, DiscoveryError::Status { status: 503, .. }),
        "{e:?}"
    );
    assert!(e.is_transient());
    let e = discover_path(&base, "moved").await.unwrap_err();
    assert!(
        matches!(e, DiscoveryError::Status { status: 302, .. }),
        "redirects are not followed: {e:?}"
    );
    for path in ["html", "array"] {
        let e = discover_path(&base, path).await.unwrap_err();
        assert!(matches!(e, DiscoveryError::Malformed { .. }), "{e:?}");
    }
    let e = discover_path(&base, "huge").await.unwrap_err();
    assert!(matches!(e, DiscoveryError::TooLarge { .. }), "{e:?}");
}

async fn discover_path(base: &str, path: &str) -> Result<ProviderBuilder, DiscoveryError> {
    Provider::discover(&format!("{base}/{path}")).await
}

#[tokio::test]
async fn an_unusable_issuer_is_refused_before_any_request() {
    for issuer in [
        "http://id.example",
        "https://id.example?tenant=a",
        "https://id.example#x",
        "id.example",
        "",
    ] {
        let e = Provider::discover(issuer).await.unwrap_err();
        assert!(
            matches!(e, DiscoveryError::InvalidIssuer { .. }),
            "{issuer:?}: {e:?}"
        );
    }
}
