//! The `vcita_login` example's router, handlers and pages.
//!
//! The test suites include this file (`tests/support/app.rs`, with `#[path]`), so the
//! integration, interop and browser tests drive exactly the app that
//! `cargo run --example vcita_login` serves.

use axum::routing::get;
use axum::{Json, Router};
use axum_oauth_login::{AuthSession, BearerUser, OAuth, UserInfo};
use maud::Markup;

/// The app's routes and the auth routes (`/auth/login`, `/auth/callback`,
/// `/auth/logout`), without the OAuth layer: [`app`] adds it.
pub fn routes(oauth: &OAuth) -> Router {
    Router::new()
        .route("/", get(home))
        // Logged-in users only: a browser without a session is sent to the login route.
        .route("/me", get(me).route_layer(oauth.require_login()))
        .route("/api/me", get(api_me))
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

/// `/`: a login link, or a greeting with the name from the session's login snapshot.
async fn home(session: Option<AuthSession>) -> Markup {
    match session {
        Some(session) => pages::home(session.user().map_or("there", UserInfo::display_name)),
        None => pages::welcome(),
    }
}

/// `/me` (login required): the session as it was at login: who, with which provider,
/// and when. Read from the session; the provider is not asked who the user is.
async fn me(session: AuthSession) -> Markup {
    pages::me(session.user(), session.provider(), session.logged_in_at())
}

/// `/api/me`: the caller as the provider describes them now, as JSON. The caller is the
/// session's token or an `Authorization: Bearer` header, resolved through the provider
/// (and cached for a while). Public only because the tests serve it on a route of theirs.
pub async fn api_me(user: BearerUser) -> Json<UserInfo> {
    Json(user.into_info())
}

/// The HTML pages. maud escapes every value it inserts.
mod pages {
    use axum_oauth_login::UserInfo;
    use maud::{DOCTYPE, Markup, html};

    pub fn welcome() -> Markup {
        layout(html! {
            h1 { "Welcome" }
            p { a #login href="/auth/login?return_to=/" { "Log in with vcita" } }
        })
    }

    pub fn home(name: &str) -> Markup {
        layout(html! {
            h1 #greeting { "Hello, " (name) }
            p {
                a #me href="/me" { "My login" } " · "
                a #api-me href="/api/me" { "API view (JSON)" }
            }
            (logout())
        })
    }

    pub fn me(user: Option<&UserInfo>, provider: &str, logged_in_at: u64) -> Markup {
        let name = user.map_or("-", UserInfo::display_name);
        let email = user.and_then(|u| u.email.as_deref()).unwrap_or("-");
        let role = user.and_then(|u| u.role.as_deref()).unwrap_or("-");
        layout(html! {
            h1 #title { "My login" }
            p { "What the provider said about you when you logged in, kept in your session." }
            dl {
                dt { "Name" } dd #name { (name) }
                dt { "Email" } dd #email { (email) }
                dt { "Role" } dd #role { (role) }
                dt { "Provider" } dd #provider { (provider) }
                dt { "Logged in at" } dd #logged-in-at { (logged_in_at) " (unix time)" }
            }
            p {
                a #home href="/" { "Home" } " · "
                a #api-me href="/api/me" { "API view (JSON): asks the provider now" }
            }
            (logout())
        })
    }

    fn logout() -> Markup {
        html! {
            form method="post" action="/auth/logout" {
                button #logout type="submit" { "Log out" }
            }
        }
    }

    fn layout(body: Markup) -> Markup {
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    title { "vcita login demo" }
                }
                body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto" {
                    (body)
                }
            }
        }
    }
}
