//! Pages the app owns: its render hook draws the crate's error pages, the words come from
//! one message table, and templates link with `login_url` / `logout_form`.

use axum_oauth_login::{Messages, OAuth, Provider};
use reqwest::StatusCode;

use crate::harness::*;
use crate::support::*;

#[tokio::test]
async fn the_apps_error_page_renders_for_a_denied_consent() {
    let app = TestApp::spawn().await;
    let authorize = app.start_login(None).await;
    let callback = app.deny(&authorize).await;
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = body(res).await;
    assert!(
        page.contains("id=\"app-error\""),
        "the example's page: {page}"
    );
    assert!(
        page.contains("<header id=\"top\""),
        "in the app's layout: {page}"
    );
    assert_eq!(
        element_text(&page, "code").as_deref(),
        Some("access_denied")
    );
    assert!(
        element_text(&page, "message")
            .unwrap()
            .contains("You declined to give this app access")
    );
    // API clients keep the JSON form.
    let authorize = app.start_login(None).await;
    let callback = app.deny(&authorize).await;
    let res = app
        .get_with(
            &path_and_query(&callback),
            &[("accept", "application/json")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json["error"], "access_denied");
}

#[tokio::test]
async fn the_words_come_from_the_message_table() {
    let messages = Messages::default()
        .set(
            "access_denied",
            "Anmeldung abgebrochen",
            "Sie haben den Zugriff abgelehnt.",
        )
        .set("link_retry", "", "Erneut anmelden");
    // A plain page of the app's, drawing the translated words.
    let app = TestApp::spawn_with(|b| b.messages(messages).error_page(plain_page)).await;
    let authorize = app.start_login(None).await;
    let callback = app.deny(&authorize).await;
    let page = body(app.callback(&callback).await).await;
    assert!(page.contains("<h1>Anmeldung abgebrochen</h1>"), "{page}");
    assert_eq!(
        element_text(&page, "message").as_deref(),
        Some("Sie haben den Zugriff abgelehnt.")
    );
}

/// An app page that shows the title and message, for the translation test.
fn plain_page(page: &axum_oauth_login::ErrorPage) -> axum::response::Response {
    use axum::response::IntoResponse;
    axum::response::Html(format!(
        "<h1>{}</h1><p id=\"message\">{}</p>",
        page.title(),
        page.message()
    ))
    .into_response()
}

#[test]
fn an_unknown_message_key_is_a_startup_error() {
    let err = OAuth::builder(Provider::vcita(), "id", "secret")
        .redirect_uri("http://127.0.0.1:3000/auth/callback")
        .messages(Messages::default().set("acess_denied", "x", "y"))
        .build()
        .unwrap_err();
    assert_eq!(err.setting(), "messages");
    assert!(err.reason().contains("acess_denied") && err.reason().contains("access_denied"));
}

#[tokio::test]
async fn no_login_in_progress_names_the_host_to_use() {
    let app = TestApp::spawn().await;
    let res = app.get("/auth/callback?state=nothing-started&code=c").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let page = body(res).await;
    assert_eq!(
        element_text(&page, "code").as_deref(),
        Some("unknown_state")
    );
    let message = element_text(&page, "message").unwrap();
    assert!(
        message.contains(&format!("open the app at {}", app.base))
            && message.contains("localhost and 127.0.0.1"),
        "{message}"
    );
}

#[tokio::test]
async fn the_example_links_with_the_helpers() {
    let app = TestApp::spawn().await;
    let page = body(app.get("/").await).await;
    assert!(
        page.contains(&format!("href=\"{}\"", app.oauth.login_url("/"))),
        "{page}"
    );
    assert!(
        !page.contains("oauth-logout"),
        "no logout form when logged out"
    );
    // vcita is white-labelled: the business's brand colour comes with the user.
    let mut info = app.mock.user().info;
    info["brand_theme"]["primary_color"] = "#c0392b".into();
    app.mock.set_user_info("owner@example.com", info).unwrap();
    app.login().await;
    let page = body(app.get("/").await).await;
    assert!(page.contains(&app.oauth.logout_form("Log out")), "{page}");
    assert_eq!(
        element_text(&page, "business").as_deref(),
        Some("Demo Salon")
    );
    assert_eq!(element_text(&page, "user-role").as_deref(), Some("owner"));
    assert!(
        page.contains("--brand:#c0392b"),
        "the brand colour from userinfo"
    );
}
