//! The `vcita_login` example's router, handlers and pages.
//!
//! The test suites include this file (`tests/support/app.rs`, with `#[path]`), so the
//! integration, interop and browser tests drive exactly the app that
//! `cargo run --example vcita_login` serves.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use axum_oauth_login::{
    AuthSession, BearerUser, ErrorPage, Login, LoginRefusal, OAuth, OAuthBuilder, UserInfo,
    api::ApiError, vcita,
};
use maud::Markup;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The app's own user, made once at login by [`on_login`] and kept in the session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AppUser {
    /// What to call them.
    pub name: String,
    pub email: Option<String>,
    /// vcita role (`owner`, `staff`, ...), as it was at login.
    pub role: Option<String>,
    /// The business they logged in for.
    pub business: Option<String>,
    /// Its id at vcita, for API calls.
    #[serde(default)]
    pub business_id: Option<String>,
    /// The primary colour of the business's brand (vcita is white-labelled), a checked
    /// `#rrggbb`-style colour.
    pub brand_color: Option<String>,
}

/// The app's settings on top of the provider's: the login hook and the app's error page.
pub fn configure(builder: OAuthBuilder) -> OAuthBuilder {
    builder.on_login(on_login).error_page(error_page)
}

/// The login hook: the provider's answer → the app's user.
///
/// vcita users are named after their business, as this demo always did. Anyone else,
/// such as the user of a generic OpenID Connect provider, is named by the `name` claim
/// of the validated id_token (or of userinfo), else by their email, else by their
/// subject; a role or business the provider does not describe stays absent.
async fn on_login(login: Login) -> Result<AppUser, LoginRefusal> {
    let info: UserInfo = login.user_info()?;
    let claims = login.id_claims();
    let name = [
        info.business_name.clone(),
        claims.and_then(|c| c.name.clone()),
        info.extra
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_owned),
        info.email.clone(),
        claims.and_then(|c| c.email.clone()),
    ]
    .into_iter()
    .flatten()
    .find(|n| !n.trim().is_empty())
    .unwrap_or_else(|| info.display_name().to_owned());
    let email = info
        .email
        .clone()
        .or_else(|| claims.and_then(|c| c.email.clone()));
    let brand_color = info
        .extra
        .get("brand_theme")
        .and_then(|theme| theme.get("primary_color"))
        .and_then(|c| c.as_str())
        .filter(|c| is_css_hex_color(c))
        .map(str::to_owned);
    Ok(AppUser {
        name,
        email,
        role: info.role.clone(),
        business: info.business_name.clone(),
        business_id: info.business_id.clone(),
        brand_color,
    })
}

/// `#rgb`, `#rrggbb` (or with alpha): nothing else goes into a style attribute.
fn is_css_hex_color(c: &str) -> bool {
    c.strip_prefix('#').is_some_and(|hex| {
        matches!(hex.len(), 3 | 4 | 6 | 8) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// The crate's error and refusal pages in the app's own layout.
fn error_page(page: &ErrorPage) -> Response {
    Html(pages::error(page).into_string()).into_response()
}

/// The app's routes and the auth routes (`/auth/login`, `/auth/callback`,
/// `/auth/logout`), without the OAuth layer: [`app`] adds it.
pub fn routes(oauth: &OAuth) -> Router {
    Router::new()
        .route("/", get(home))
        // Logged-in users only: a browser without a session is sent to the login route.
        .route("/me", get(me).route_layer(oauth.require_login()))
        // vcita owners only, as vcita says now (checked through the user cache): others
        // get a 403 page, and nobody logged out gets a 403 — they are sent to log in.
        .route(
            "/owner",
            get(owner).route_layer(oauth.require(vcita::role("owner"))),
        )
        // The business, fetched from vcita's API with the session's token.
        .route(
            "/business",
            get(business).route_layer(oauth.require_login()),
        )
        .route("/api/me", get(api_me))
        .with_state(oauth.clone())
        .merge(oauth.routes())
}

/// The whole app: [`routes`], wrapped by [`with_oauth_layer`].
pub fn app(oauth: &OAuth) -> Router {
    with_oauth_layer(oauth, routes(oauth))
}

/// Wraps `routes` in the OAuth layer, once and outermost, so that every route, the auth
/// routes included, sees the session; then adds `/health` outside the layer, where
/// health checks never touch a session.
pub fn with_oauth_layer(oauth: &OAuth, routes: Router) -> Router {
    routes
        .layer(oauth.layer())
        .route("/health", get(|| async { "ok" }))
}

/// `/`: a "Log in with vcita" button, or a greeting.
async fn home(State(oauth): State<OAuth>, session: Option<AuthSession<AppUser>>) -> Markup {
    match session.as_ref().and_then(|s| s.user()) {
        Some(user) => pages::home(&oauth, user),
        None => pages::welcome(&oauth),
    }
}

/// `/me` (login required): the session as it was at login: who, with which provider,
/// and when. Read from the session; the provider is not asked who the user is.
async fn me(State(oauth): State<OAuth>, session: AuthSession<AppUser>) -> Markup {
    pages::me(&oauth, &session)
}

/// `/owner` (vcita owners only).
async fn owner(State(oauth): State<OAuth>, session: AuthSession<AppUser>) -> Markup {
    pages::owner(&oauth, session.user())
}

/// `/business` (login required): the user's business from the provider's API
/// (`GET /platform/v1/businesses/{id}` with the session's token, refreshed when due), as
/// JSON for `Accept: application/json`, as a page otherwise.
async fn business(
    State(oauth): State<OAuth>,
    session: AuthSession<AppUser>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let id = session
        .user()
        .and_then(|u| u.business_id.clone())
        .unwrap_or_default();
    let answer: serde_json::Value = session
        .api()
        .get(&format!("platform/v1/businesses/{id}"))
        .send_json()
        .await?;
    let business = answer["data"]["business"].clone();
    let wants_json = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"));
    Ok(if wants_json {
        Json(business).into_response()
    } else {
        pages::business(&oauth, session.user(), &business).into_response()
    })
}

/// `/api/me`: the caller as the provider describes them now, as JSON. The caller is the
/// session's token or an `Authorization: Bearer` header, resolved through the provider
/// (and cached for a while). Public only because the tests serve it on a route of theirs.
pub async fn api_me(user: BearerUser) -> Json<Arc<UserInfo>> {
    // The cached parse itself: no copy of the user per request.
    Json(user.info_arc())
}

/// The HTML pages: maud escapes every value it inserts; the one colour that goes into a
/// style attribute is checked by the login hook.
mod pages {
    use axum_oauth_login::{AuthSession, ErrorPage, OAuth};
    use maud::{DOCTYPE, Markup, PreEscaped, html};

    use super::AppUser;

    /// vcita's blue, for pages without a signed-in brand.
    const DEFAULT_BRAND: &str = "#1a73e8";

    pub fn welcome(oauth: &OAuth) -> Markup {
        // vcita (and its mock) by name; any other provider, such as a generic OpenID
        // Connect one (named after its issuer's host), plainly.
        let provider = oauth.client().provider().name();
        let (button, text) = if provider.starts_with("vcita") {
            (
                "Log in with vcita",
                "Sign in with your vcita account to see your business here.",
            )
        } else if provider.starts_with("apicbase") {
            (
                "Log in with Apicbase",
                "Sign in with your Apicbase account to see who you are here.",
            )
        } else {
            (
                "Log in",
                "Sign in with your account to see who you are here.",
            )
        };
        layout(
            None,
            None,
            html! {
                h1 { "Welcome to the demo" }
                p #welcome-text { (text) }
                p {
                    a #login .button href=(oauth.login_url("/")) { (button) }
                }
            },
        )
    }

    pub fn home(oauth: &OAuth, user: &AppUser) -> Markup {
        layout(
            Some(oauth),
            Some(user),
            html! {
                h1 #greeting { "Hello, " (user.name) }
                p #signed-in-to {
                    @if let Some(business) = &user.business {
                        "You are signed in to " (business) "."
                    } @else {
                        "You are signed in."
                    }
                }
                ul {
                    li { a #me href="/me" { "My login" } }
                    // vcita's links, for users vcita described (a generic OpenID Connect
                    // user has no business id and no role).
                    @if user.business_id.is_some() {
                        li { a #business-link href="/business" { "My business" } " (from vcita's API)" }
                    }
                    @if user.role.is_some() {
                        li { a #owner href="/owner" { "Owner's corner" } " (vcita owners only)" }
                    }
                    li { a #api-me href="/api/me" { "API view (JSON)" } }
                }
            },
        )
    }

    pub fn me(oauth: &OAuth, session: &AuthSession<AppUser>) -> Markup {
        let user = session.user();
        let field = |f: fn(&AppUser) -> Option<&str>| user.and_then(f).unwrap_or("-").to_owned();
        layout(
            Some(oauth),
            user,
            html! {
                h1 #title { "My login" }
                p { "What the provider said about you when you logged in, kept in your session." }
                dl {
                    dt { "Name" } dd #name { (field(|u| Some(&u.name))) }
                    dt { "Email" } dd #email { (field(|u| u.email.as_deref())) }
                    dt { "Role" } dd #role { (field(|u| u.role.as_deref())) }
                    dt { "Business" } dd #business { (field(|u| u.business.as_deref())) }
                    dt { "Provider" } dd #provider { (session.provider()) }
                    dt { "Logged in at" } dd #logged-in-at { (super::login_time(session.logged_in_at())) }
                }
                p {
                    a #home href="/" { "Home" } " · "
                    a #api-me href="/api/me" { "API view (JSON): asks the provider now" }
                }
            },
        )
    }

    pub fn business(oauth: &OAuth, user: Option<&AppUser>, business: &serde_json::Value) -> Markup {
        let field = |name: &str| business[name].as_str().unwrap_or("-").to_owned();
        layout(
            Some(oauth),
            user,
            html! {
                h1 #title { "My business" }
                p { "Fetched from the provider's API just now, with your session's token." }
                dl {
                    dt { "Name" } dd #business-name { (field("name")) }
                    dt { "Id" } dd #business-id { (field("id")) }
                    dt { "Owner" } dd #business-owner { (field("owner_email")) }
                }
                p { a #home href="/" { "Home" } }
            },
        )
    }

    pub fn owner(oauth: &OAuth, user: Option<&AppUser>) -> Markup {
        layout(
            Some(oauth),
            user,
            html! {
                h1 #title { "Owner's corner" }
                p #owner-only { "Only the business's owner sees this page." }
                p { a #home href="/" { "Home" } }
            },
        )
    }

    /// The crate's error pages in this layout: same ids as the crate's default page.
    pub fn error(page: &ErrorPage) -> Markup {
        layout(
            None,
            None,
            html! {
                section #app-error {
                    h1 { (page.title()) }
                    p #message { (page.message()) }
                    p { "Error code: " code #code { (page.code()) } }
                    p {
                        @if let Some(href) = page.retry_href() {
                            a #retry .button href=(href) { "Log in again" } " "
                        }
                        a href="/" { "Home" }
                    }
                }
            },
        )
    }

    /// The page frame: a header in the brand's colour with who is signed in.
    fn layout(oauth: Option<&OAuth>, user: Option<&AppUser>, body: Markup) -> Markup {
        let brand = user
            .and_then(|u| u.brand_color.as_deref())
            .unwrap_or(DEFAULT_BRAND);
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { "vcita login demo" }
                    style { (PreEscaped(STYLE)) }
                }
                body style={ "--brand:" (brand) } {
                    header #top {
                        span .app { "Demo app" }
                        @if let (Some(user), Some(oauth)) = (user, oauth) {
                            // A business or role the provider did not describe is left out.
                            span #signed-in {
                                @if let Some(business) = &user.business {
                                    span #business { (business) } " · "
                                }
                                span #who { (user.email.as_deref().unwrap_or(&user.name)) }
                                @if let Some(role) = &user.role {
                                    " " span #user-role .badge { (role) }
                                }
                            }
                            span #logout { (PreEscaped(oauth.logout_form("Log out"))) }
                        }
                    }
                    main { (body) }
                }
            }
        }
    }

    const STYLE: &str = "\
        body{font-family:system-ui,sans-serif;margin:0;color:#202124}\
        header{display:flex;gap:1rem;align-items:center;padding:.75rem 1.5rem;\
          background:var(--brand);color:#fff}\
        header .app{font-weight:600;flex:1}\
        header form{margin:0}\
        header button{background:#fff;color:var(--brand);border:0;border-radius:4px;\
          padding:.35rem .8rem;cursor:pointer}\
        main{max-width:40rem;margin:2rem auto;padding:0 1rem}\
        .button{display:inline-block;background:var(--brand);color:#fff;padding:.6rem 1.2rem;\
          border-radius:4px;text-decoration:none}\
        .badge{background:#fff;color:var(--brand);border-radius:999px;padding:.1rem .6rem;\
          font-size:.85em;font-weight:600}\
        dt{font-weight:600}dd{margin:0 0 .5rem}";
}

/// A session's login time (unix seconds) as people read it: `Sun, 06 Dec 2026 19:58:29 GMT`.
fn login_time(unix_seconds: u64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix_seconds))
}
