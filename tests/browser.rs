//! Browser end-to-end: headless Chromium, driven over WebDriver (chromedriver), logs in
//! to the `vcita_login` example's app as a person would — clicking links and buttons,
//! typing into the login form — through the in-process `MockProvider`, and (the `oidc_`
//! tests) through panva's oidc-provider, a real OpenID Connect provider, with the app
//! configured from `OAUTH_PROVIDER=oidc` variables as `cargo run --example vcita_login`
//! is.
//!
//! Needs `chromium` and `chromedriver` (`bash .ci/browser.sh`); the `oidc_` tests also
//! need Node and `npm ci --prefix tests/interop` (`bash .ci/interop.sh`). Without them
//! the tests print SKIPPED and are reported as ignored (libtest-mimic harness,
//! `tests/support/trial.rs`), except under `CI=true`, where they fail. A failing
//! test leaves a screenshot and the page source in `target/browser-failures/`.
//!
//! ```text
//! bash .ci/browser.sh && bash .ci/interop.sh && cargo test --all-features --test browser
//! ```

#[path = "support/mod.rs"]
mod support;

#[path = "browser/harness/mod.rs"]
mod harness;
#[macro_use]
#[path = "support/trial.rs"]
mod trial;

// oidc-provider as a child process (`OidcProvider`); the rest of it serves the interop
// suite.
#[allow(dead_code, unused_macros, unused_imports)]
#[path = "interop/harness/mod.rs"]
mod interop_harness;

use std::time::{Duration, Instant};

use axum_oauth_login_mock::MockUser;
use fantoccini::Locator;
use harness::{Browser, WAIT, run, run_oidc, run_oidc_fapi};
use interop_harness::{EMAIL, LOGIN, OidcProvider};
use url::Url;

/// From the home page to the mock's consent page: click "Log in with vcita", log in
/// with the demo owner.
async fn log_in_until_consent(b: &Browser) {
    log_in_as_until_consent(b, &b.provider.user()).await;
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
        url::Url::parse(&b.provider.base_url()).unwrap().origin(),
        "the login form is the provider's"
    );
    b.click("form button#login").await;
    b.wait_for("#allow").await;
    b.wait_for("#deny").await;
}

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
        assert_eq!(b.text("#provider").await, b.provider.provider().name());
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
        let mock = url::Url::parse(&b.provider.base_url()).unwrap();
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

// --- Against oidc-provider, a real OpenID Connect provider -----------------------------

/// The value of the query parameter `name` of `url`, if any.
fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Whether an element matches `css` on the page now (no waiting).
async fn present<P>(b: &Browser<P>, css: &str) -> bool {
    b.client.find(Locator::Css(css)).await.is_ok()
}

/// Polls oidc-provider's events until one starts with `prefix`, for at most [`WAIT`].
async fn wait_for_event(provider: &OidcProvider, prefix: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let events = provider.events().await;
        if let Some(event) = events.iter().find(|e| e.starts_with(prefix)) {
            return event.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no `{prefix}` event from oidc-provider within {WAIT:?}: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// From the home page through oidc-provider's devInteractions pages, as a person: click
/// "Log in", type a login and password into the provider's login form (any will do),
/// submit, then "Continue" on its consent page. The browser is then on its way back to
/// the app's callback.
async fn oidc_log_in(b: &Browser<OidcProvider>) {
    b.goto("/").await;
    assert_eq!(b.text("#login").await, "Log in");
    b.click("#login").await;
    oidc_log_in_from_provider(b).await;
}

/// [`oidc_log_in`] from the provider's login page on.
async fn oidc_log_in_from_provider(b: &Browser<OidcProvider>) {
    // The provider's login page (its hidden `prompt` says which page it is).
    b.fill("input[name=login]", LOGIN).await;
    b.fill("input[name=password]", "any password").await;
    let issuer = Url::parse(&b.provider.issuer).unwrap();
    let url = b.current_url().await;
    assert_eq!(
        url.origin(),
        issuer.origin(),
        "the login form is the provider's"
    );
    b.click("input[name=prompt][value=login] ~ button[type=submit]")
        .await;

    // Its consent page: the app asks for `email` and `profile`.
    b.wait_for("input[name=prompt][value=consent]").await;
    let page = b.source().await;
    assert!(
        page.contains("email") && page.contains("profile"),
        "the consent page lists the scopes:\n{page}"
    );
    b.click("input[name=prompt][value=consent] ~ button[type=submit]")
        .await;
}

/// `OAUTH_PROVIDER=oidc OAUTH_ISSUER=<oidc-provider>`: a login through the provider's
/// login and consent pages lands back on the app's home page, signed in, the id_token
/// validated; the page greets the user by the `name` claim and leaves the vcita-only
/// parts (business, role, vcita's links) out; `/me` shows the session's snapshot.
async fn oidc_login_through_oidc_provider_greets_the_user() {
    run_oidc(
        "oidc_login_through_oidc_provider_greets_the_user",
        async |b: &Browser<OidcProvider>| {
            oidc_log_in(b).await;

            assert_eq!(b.text("#greeting").await, "Hello, Interop User");
            assert_eq!(b.current_url().await.as_str(), b.url("/"), "lands home");
            assert_eq!(b.text("#signed-in-to").await, "You are signed in.");
            assert_eq!(b.text("#who").await, EMAIL);
            for vcita_only in ["#business", "#user-role", "#business-link", "#owner"] {
                assert!(
                    !present(b, vcita_only).await,
                    "`{vcita_only}` is for vcita users only"
                );
            }
            b.snapshot("oidc-signed-in").await;
            wait_for_event(&b.provider, "grant.success interop-post").await;
            let id_token = b
                .provider
                .last_id_token()
                .await
                .expect("the token response carried an id_token");
            assert_eq!(id_token.split('.').count(), 3, "a JWS: {id_token}");

            // A reload keeps the session.
            b.client.refresh().await.expect("reload");
            assert_eq!(b.text("#greeting").await, "Hello, Interop User");

            // The session's snapshot from the login hook.
            b.click("#me").await;
            assert_eq!(b.text("#name").await, "Interop User");
            assert_eq!(b.text("#email").await, EMAIL);
            assert_eq!(b.text("#role").await, "-");
            assert_eq!(b.text("#business").await, "-");
            assert_eq!(b.text("#provider").await, "127.0.0.1");

            // The user as the provider's userinfo describes them now.
            b.click("#api-me").await;
            let body = b.text("pre").await;
            let me: serde_json::Value = serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("/api/me is not JSON ({e}): {body}"));
            assert_eq!(me["sub"], LOGIN, "{me}");
            assert_eq!(me["email"], EMAIL, "{me}");
            assert_eq!(me["name"], "Interop User", "{me}");
        },
    )
    .await;
}

/// The FAPI 2.0 client configured from variables alone (`OAUTH_CLIENT_AUTH=
/// private_key_jwt`, `OAUTH_CLIENT_KEY`, `OAUTH_PAR=on`, `OAUTH_DPOP=on`,
/// `OAUTH_DPOP_KEY`; no secret), through Chromium: the browser reaches the provider with
/// only `client_id` and a `request_uri`, logs in, and the app greets the user; userinfo
/// answers the session's DPoP-bound token; logout revokes by assertion.
async fn oidc_fapi_login_with_par_private_key_jwt_and_dpop_then_logout() {
    run_oidc_fapi(
        "oidc_fapi_login_with_par_private_key_jwt_and_dpop_then_logout",
        async |b: &Browser<OidcProvider>| {
            // What a login sends the browser to: the authorize URL with only the handle.
            b.goto("/").await;
            let (status, location) = b.probe("/auth/login").await;
            assert_eq!(status, 303);
            let authorize = Url::parse(&location.expect("a Location")).unwrap();
            let names: Vec<String> = authorize
                .query_pairs()
                .map(|(k, _)| k.into_owned())
                .collect();
            assert_eq!(names, ["client_id", "request_uri"], "{authorize}");

            b.click("#login").await;
            b.wait_for("input[name=login]").await;
            oidc_log_in_from_provider(b).await;
            assert_eq!(b.text("#greeting").await, "Hello, Interop User");
            let events = b.provider.events().await;
            assert!(
                events
                    .iter()
                    .any(|e| e == "auth /request private_key_jwt interop-dpop"),
                "the login was pushed, client-authenticated by assertion: {events:?}"
            );
            assert!(
                events.iter().any(|e| e.starts_with("dpop POST /token 200")),
                "the code exchange carried a proof: {events:?}"
            );
            b.snapshot("oidc-fapi-signed-in").await;

            // The user as userinfo describes them, asked with the bound token.
            b.click("#api-me").await;
            let body = b.text("pre").await;
            assert!(body.contains(LOGIN), "{body}");
            let events = b.provider.events().await;
            assert!(
                events.iter().any(|e| e == "dpop GET /me 200 DPoP"),
                "userinfo with Authorization: DPoP: {events:?}"
            );

            b.goto("/").await;
            b.click("#logout button").await;
            wait_for_event(
                &b.provider,
                "auth /token/revocation private_key_jwt interop-dpop",
            )
            .await;
        },
    )
    .await;
}

/// RP-Initiated Logout: the app's "Log out" (a POST form) ends the session and sends
/// the browser to the provider's end-session endpoint with `id_token_hint`, `client_id`,
/// `post_logout_redirect_uri` (`OAUTH_POST_LOGOUT_REDIRECT_URI`) and `state`; "Yes, sign
/// me out" on the provider's confirmation page ends the provider's session and sends
/// the browser to the app's `/` with the same `state`, logged out there and at the
/// provider.
async fn oidc_logout_confirms_at_the_provider_and_returns_logged_out() {
    run_oidc(
        "oidc_logout_confirms_at_the_provider_and_returns_logged_out",
        async |b: &Browser<OidcProvider>| {
            oidc_log_in(b).await;
            assert_eq!(b.text("#greeting").await, "Hello, Interop User");
            let id_token = b.provider.last_id_token().await.expect("an id_token");

            b.click("#logout button").await;
            let end_session = Url::parse(&b.provider.discovery.end_session_endpoint).unwrap();
            let at = b
                .wait_for_url("the provider's end-session endpoint", |u| {
                    u.origin() == end_session.origin() && u.path() == end_session.path()
                })
                .await;
            assert_eq!(
                param(&at, "id_token_hint").as_deref(),
                Some(id_token.as_str())
            );
            assert_eq!(param(&at, "client_id").as_deref(), Some("interop-post"));
            assert_eq!(
                param(&at, "post_logout_redirect_uri").as_deref(),
                Some(b.url("/").as_str())
            );
            let state = param(&at, "state").expect("a state for the way back");
            assert!(!state.is_empty(), "{at}");

            // The confirmation page; the app's session is over already.
            let yes = b.wait_for("button[name=logout][value=yes]").await;
            assert_eq!(yes.text().await.expect("button text"), "Yes, sign me out");
            let (status, location) = b.probe("/me").await;
            assert_eq!(status, 303, "no session at the app any more");
            assert!(
                location
                    .as_deref()
                    .is_some_and(|l| l.starts_with("/auth/login")),
                "{location:?}"
            );
            b.snapshot("oidc-logout-confirm").await;

            // The button sits outside the form (`form="op.logoutForm"`): a click submits it.
            yes.click().await.expect("click Yes, sign me out");
            let home = b
                .wait_for_url("the app's post_logout_redirect_uri", |u| {
                    u.origin() == Url::parse(&b.base).unwrap().origin() && u.path() == "/"
                })
                .await;
            assert_eq!(
                param(&home, "state").as_deref(),
                Some(state.as_str()),
                "the state comes back: {home}"
            );
            assert_eq!(b.text("#login").await, "Log in");
            assert!(!present(b, "#greeting").await, "no greeting after logout");
            wait_for_event(&b.provider, "end_session.success interop-post").await;

            // /me sends the browser to log in again, and the provider, signed out too,
            // asks for a login (not straight back with a new code).
            let (status, location) = b.probe("/me").await;
            assert_eq!(status, 303);
            assert!(
                location
                    .as_deref()
                    .is_some_and(|l| l.starts_with("/auth/login")),
                "{location:?}"
            );
            b.goto("/me").await;
            b.wait_for("input[name=prompt][value=login]").await;
            let issuer = Url::parse(&b.provider.issuer).unwrap();
            assert_eq!(b.current_url().await.origin(), issuer.origin());
        },
    )
    .await;
}

/// An id_token altered on the way (its `email` changed, the signature left as it was):
/// the callback shows the crate's page (in the app's layout) saying the signature does
/// not verify, keeps no session and revokes the tokens; "Log in again" then works.
async fn oidc_a_tampered_id_token_is_refused_with_a_page_and_no_session() {
    run_oidc(
        "oidc_a_tampered_id_token_is_refused_with_a_page_and_no_session",
        async |b: &Browser<OidcProvider>| {
            b.provider.tamper_next_id_token().await;
            oidc_log_in(b).await;

            let error = b.wait_for("#app-error").await;
            let title = b.text("#app-error h1").await;
            assert_eq!(title, "Login could not be completed");
            let message = b.text("#message").await;
            assert!(
                message.contains("signature does not verify"),
                "the page says why: {message}"
            );
            assert_eq!(b.text("#code").await, "invalid_id_token");
            assert!(error.text().await.expect("text").contains("Log in again"));
            assert_eq!(b.current_url().await.path(), "/auth/callback");
            assert!(!present(b, "#greeting").await);
            b.snapshot("oidc-tampered-id-token").await;
            wait_for_event(&b.provider, "mutated id_token").await;
            wait_for_event(&b.provider, "auth /token/revocation").await;

            // No session: /me would send a navigation to log in (a real navigation would
            // go on through the provider, which remembers the user, and log in anew).
            let (status, location) = b.probe("/me").await;
            assert_eq!(status, 303, "no session after the refused login");
            assert!(
                location
                    .as_deref()
                    .is_some_and(|l| l.starts_with("/auth/login")),
                "{location:?}"
            );
            b.goto("/").await;
            assert_eq!(b.text("#login").await, "Log in");
            assert!(!present(b, "#greeting").await);

            // The next id_token is the provider's own: a retry logs in.
            b.goto("/me").await;
            assert_eq!(b.text("#name").await, "Interop User");
            assert_eq!(b.current_url().await.as_str(), b.url("/me"));
        },
    )
    .await;
}

fn main() -> std::process::ExitCode {
    // With --all-features rustls has both of its providers (ring: the crate's default;
    // aws-lc: the dev-dependencies' reqwest), so it cannot pick one by itself for the
    // clients that ask for the process default (fantoccini's): the test process chooses.
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    // Ignored, not passed, without Chromium and chromedriver (a panic under CI=true);
    // the oidc_ tests need Node and oidc-provider as well.
    let chromium = harness::tools("browser suite").is_some();
    let node = chromium && interop_harness::node_available();
    let mut trials = trials![chromium;
        login_allow_reload_me_logout,
        deny_shows_error_page_and_retry_logs_in,
        the_owner_sees_the_owners_corner,
        staff_get_a_403_page_on_the_owners_corner,
    ];
    trials.extend(trials![node;
        oidc_login_through_oidc_provider_greets_the_user,
        oidc_logout_confirms_at_the_provider_and_returns_logged_out,
        oidc_a_tampered_id_token_is_refused_with_a_page_and_no_session,
        oidc_fapi_login_with_par_private_key_jwt_and_dpop_then_logout,
    ]);
    trial::run(trials)
}
