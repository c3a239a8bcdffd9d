//! Two providers in one app ("Log in with vcita" and "Log in with Apicbase" side by
//! side): separate routes, cookies and caches, and no callback accepts the other's flow.

use axum::Router;
use axum::routing::get;
use axum_oauth_login::{AuthSession, BearerUser, Clock, OAuth};
use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use reqwest::StatusCode;
use url::Url;

use crate::harness::*;
use crate::support::*;

struct Two {
    vcita: MockProvider,
    other: MockProvider,
    browser: Browser,
    _server: Server,
}

fn build(mock: &MockProvider, port: u16, name: &str) -> OAuth {
    OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
        .redirect_uri(format!("http://127.0.0.1:{port}/auth/{name}/callback"))
        .route_prefix(format!("/auth/{name}"))
        .cookie_name(format!("{name}_session"))
        .clock(Clock::manual_from_now())
        .build()
        .expect("oauth")
}

async fn who(user: BearerUser) -> String {
    user.info().display_name().to_owned()
}

async fn sessions(session: Option<AuthSession>) -> String {
    session.map_or_else(|| "none".to_owned(), |s| s.provider().to_owned())
}

async fn spawn() -> Two {
    let vcita_mock = start_mock().await;
    let other_mock = start_mock().await;
    let (listener, port) = bind().await;
    let vcita = build(&vcita_mock, port, "vcita");
    let other = build(&other_mock, port, "apicbase");
    let app = Router::new()
        .route("/vcita/me", get(who).route_layer(vcita.require_login()))
        .route("/apicbase/me", get(who).route_layer(other.require_login()))
        .route("/session", get(sessions))
        .merge(vcita.routes())
        .merge(other.routes())
        .layer(vcita.layer())
        .layer(other.layer());
    let server = Server::start(listener, app);
    let base = format!("http://127.0.0.1:{port}");
    let browser = Browser::new(&base, &vcita_mock);
    Two {
        vcita: vcita_mock,
        other: other_mock,
        browser,
        _server: server,
    }
}

impl Two {
    /// Starts a login at `/auth/{name}/login` and returns the provider's callback URL.
    async fn callback_url(&self, name: &str, mock: &MockProvider) -> Url {
        let res = self.browser.get(&format!("/auth/{name}/login")).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        bounded("authorize", mock.authorize(&location(&res)))
            .await
            .expect("mock authorizes")
    }

    async fn login(&self, name: &str, mock: &MockProvider) {
        let url = self.callback_url(name, mock).await;
        let res = self.browser.get(&path_and_query(&url)).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "{name} login completes"
        );
    }
}

#[tokio::test]
async fn logging_in_with_one_does_not_log_in_with_the_other() {
    let t = spawn().await;
    t.login("vcita", &t.vcita).await;
    assert!(t.browser.cookie("vcita_session").is_some());
    assert!(t.browser.cookie("apicbase_session").is_none());

    let res = t.browser.get("/vcita/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "Demo Salon");
    let res = t.browser.get("/apicbase/me").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/auth/apicbase/login?return_to="));
    assert_eq!(t.other.hits(MockEndpoint::Token), 0);

    // Log in with the second too; logging out of one leaves the other.
    t.login("apicbase", &t.other).await;
    assert_eq!(t.browser.get("/apicbase/me").await.status(), StatusCode::OK);
    let res = t.browser.post("/auth/vcita/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        t.browser.get("/vcita/me").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(t.browser.get("/apicbase/me").await.status(), StatusCode::OK);
    assert_eq!(
        t.browser.get("/session").await.text().await.unwrap(),
        "vcita-mock"
    );
}

#[tokio::test]
async fn a_callback_does_not_accept_the_other_providers_state() {
    let t = spawn().await;
    // Both logins in flight in one browser.
    let vcita_cb = t.callback_url("vcita", &t.vcita).await;
    let _other_cb = t.callback_url("apicbase", &t.other).await;
    // vcita's answer delivered to the other provider's callback.
    let misrouted = format!(
        "/auth/apicbase/callback?{}",
        vcita_cb.query().expect("query")
    );
    let res = t.browser.get(&misrouted).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("unknown_state"));
    assert_eq!(t.other.hits(MockEndpoint::Token), 0);
    assert_eq!(t.vcita.hits(MockEndpoint::Token), 0);
}

#[tokio::test]
async fn a_callback_whose_iss_names_the_other_provider_is_rejected() {
    let t = spawn().await;
    let cb = t.callback_url("apicbase", &t.other).await;
    assert_eq!(
        query_param(&cb, "iss").as_deref(),
        Some(t.other.base_url().as_str()),
        "the mock sends iss"
    );
    let forged = with_param(&cb, "iss", &t.vcita.base_url());
    let res = t.browser.get(&path_and_query(&forged)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("invalid_issuer"));
    assert_eq!(t.other.hits(MockEndpoint::Token), 0, "no token request");
    // The genuine answer is refused too now: the flow was spent by the forged one.
    let res = t.browser.get(&path_and_query(&cb)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
