//! Browser end-to-end: headless Chromium, driven over WebDriver (chromedriver), logs in
//! to the `vcita_login` example's app through the in-process `MockProvider` as a person
//! would — clicking links and buttons, typing into the login form.
//!
//! Needs `chromium` and `chromedriver` (`bash .ci/browser.sh`). Without them the tests
//! print SKIPPED and pass, except under `CI=true`, where they fail. A failing test leaves
//! a screenshot and the page source in `target/browser-failures/`.
//!
//! ```text
//! bash .ci/browser.sh && cargo test --all-features --test browser
//! ```

#[path = "support/mod.rs"]
mod support;

#[path = "browser/harness.rs"]
mod harness;

use axum_oauth_login::testing::MockUser;
use harness::{Browser, run};

/// From the home page to the mock's consent page: click "Log in with vcita", log in
/// with the demo owner.
async fn log_in_until_consent(b: &Browser) {
    log_in_as_until_consent(b, &b.mock.user()).await;
}

/// Like [`log_in_until_consent`], as `user`.
async fn log_in_as_until_consent(b: &Browser, user: &MockUser) {
    b.goto("/").await;
    assert_eq!(b.text("#login").await, "Log in with vcita");
    b.click("#login").await;

    // The mock's login form (its submit button is also `#login`: wait for the form).
    b.fill("input[name=email]", &user.email).await;
    b.fill("input[name=password]", &user.password).await;
    let url = b.current_url().await;
    assert_eq!(
        url.origin(),
        url::Url::parse(&b.mock.base_url()).unwrap().origin(),
        "the login form is the provider's"
    );
    b.click("form button#login").await;
    b.wait_for("#allow").await;
    b.wait_for("#deny").await;
}

#[tokio::test]
async fn login_allow_reload_me_logout() {
    run("login_allow_reload_me_logout", async |b: &Browser| {
        log_in_until_consent(b).await;
        b.click("#allow").await;

        // Back home, greeted by the business name.
        assert_eq!(b.text("#greeting").await, "Hello, Demo Salon");
        let home = b.current_url().await;
        assert_eq!(home.as_str(), b.url("/"), "lands on the app's home page");
        b.snapshot("logged_in").await;

        // A reload keeps the session.
        b.client.refresh().await.expect("reload");
        assert_eq!(b.text("#greeting").await, "Hello, Demo Salon");

        // The protected page: the session's login snapshot.
        b.click("#me").await;
        assert_eq!(b.text("#name").await, "Demo Salon");
        assert_eq!(b.text("#email").await, "owner@example.com");
        assert_eq!(b.text("#provider").await, b.mock.provider().name());
        assert_eq!(b.current_url().await.as_str(), b.url("/me"));

        // The API view: the user as JSON, resolved through the provider.
        b.click("#api-me").await;
        let body = b.text("pre").await;
        let me: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("/api/me is not JSON ({e}): {body}"));
        assert_eq!(me["business_name"], "Demo Salon", "{me}");
        assert_eq!(me["email"], "owner@example.com", "{me}");
        assert_eq!(b.current_url().await.as_str(), b.url("/api/me"));

        // Log out: back home, logged out.
        b.goto("/").await;
        b.click("#logout button").await;
        assert_eq!(b.text("#login").await, "Log in with vcita");
        assert!(
            !b.source().await.contains("Hello, Demo Salon"),
            "no greeting after logout"
        );

        // /me now sends the browser to the provider's authorize page again (its login
        // form or, with the provider's own session still alive, its consent page).
        b.goto("/me").await;
        let mock = url::Url::parse(&b.mock.base_url()).unwrap();
        let url = b
            .wait_for_url("the provider's authorize page", |u| {
                u.origin() == mock.origin() && u.path() == "/app/oauth/authorize"
            })
            .await;
        assert!(
            url.query_pairs().any(|(k, _)| k == "state"),
            "a new login attempt: {url}"
        );
        b.wait_for("input[name=email], #allow").await;
    })
    .await;
}

#[tokio::test]
async fn deny_shows_error_page_and_retry_logs_in() {
    run(
        "deny_shows_error_page_and_retry_logs_in",
        async |b: &Browser| {
            log_in_until_consent(b).await;
            b.click("#deny").await;

            // The crate's error page, on the app's callback.
            let retry = b.wait_for("#retry").await;
            assert_eq!(retry.text().await.expect("retry text"), "Log in again");
            assert_eq!(b.text("#code").await, "access_denied");
            assert!(b.source().await.contains("access_denied"));
            let url = b.current_url().await;
            assert_eq!(url.path(), "/auth/callback", "error shown at {url}");
            assert!(
                b.client
                    .find(fantoccini::Locator::Css("#greeting"))
                    .await
                    .is_err()
            );

            // "Log in again" starts a new attempt; the provider remembers the login, so
            // Allow is one click away, and the app greets the user.
            retry.click().await.expect("click retry");
            b.click("#allow").await;
            assert_eq!(b.text("#greeting").await, "Hello, Demo Salon");
        },
    )
    .await;
}

#[tokio::test]
async fn the_owner_sees_the_owners_corner() {
    run("the_owner_sees_the_owners_corner", async |b: &Browser| {
        log_in_until_consent(b).await;
        b.click("#allow").await;

        // The signed-in header: business, name and role, in the brand's colour.
        assert_eq!(b.text("#business").await, "Demo Salon");
        assert_eq!(b.text("#user-role").await, "owner");
        assert!(b.source().await.contains("--brand:#1a73e8"));
        // The README's screenshot (`BROWSER_SCREENSHOTS=1`; see README.md).
        b.snapshot("signed-in").await;

        // The business, from the provider's API with the session's token.
        b.click("#business-link").await;
        assert_eq!(b.text("#business-name").await, "Demo Salon");
        assert_eq!(b.text("#business-id").await, "b-42");
        assert_eq!(b.current_url().await.as_str(), b.url("/business"));
        b.goto("/").await;

        b.click("#owner").await;
        assert_eq!(
            b.text("#owner-only").await,
            "Only the business's owner sees this page."
        );
        assert_eq!(b.current_url().await.as_str(), b.url("/owner"));
    })
    .await;
}

#[tokio::test]
async fn staff_get_a_403_page_on_the_owners_corner() {
    run(
        "staff_get_a_403_page_on_the_owners_corner",
        async |b: &Browser| {
            log_in_as_until_consent(b, &MockUser::staff()).await;
            b.click("#allow").await;
            assert_eq!(b.text("#user-role").await, "staff");

            b.click("#owner").await;
            let section = b.wait_for("#app-error").await;
            let text = section.text().await.expect("text");
            assert!(text.contains("Access denied"), "{text}");
            assert_eq!(b.text("#code").await, "forbidden");
            assert_eq!(b.current_url().await.as_str(), b.url("/owner"));
            // Still logged in: 403 is not a logout.
            b.goto("/").await;
            assert_eq!(b.text("#user-role").await, "staff");
        },
    )
    .await;
}
