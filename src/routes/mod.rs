//! The login, callback and logout routes.
//!
//! A login is a two-state machine: *pending* — a flow cookie per attempt, kept by the
//! session module's `FlowStore` — and *authenticated* — the session the callback starts.
//! The routes need the session layer around them, like every other entry point: without
//! it they answer the crate's one "OAuthLayer is not installed" 500.

mod backchannel;
mod callback;
mod login;
mod logout;

pub(crate) use self::login::to_provider;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::state::Shared;

/// The routes of one provider. The app applies that provider's `OAuthLayer` around them
/// (and around everything else), once.
pub(crate) fn router<S>(shared: Arc<Shared>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let paths = &shared.paths;
    let mut router = Router::new()
        .route(&paths.login, get(login::login))
        .route(&paths.callback, get(callback::callback))
        .route(&paths.logout, post(logout::logout))
        .route(&paths.forbidden, get(forbidden));
    if shared.client.oidc().is_some() {
        router = router.route(
            &paths.backchannel_logout,
            post(backchannel::backchannel_logout),
        );
    }
    router.with_state(shared.clone())
}

/// The 403 page on its own URL, where a guard sends htmx (`HX-Redirect`): htmx 2 swaps
/// no `4xx` answer into the page, so a refusal it received in place would show nothing.
async fn forbidden(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    headers: http::HeaderMap,
) -> axum::response::Response {
    let page = shared
        .pages
        .page(http::StatusCode::FORBIDDEN, "forbidden", "forbidden", &[])
        .without_retry();
    shared.pages.respond(&page, &headers)
}

/// Parses a query string keeping every value of each name, so duplicates can be refused
/// instead of silently picking one (RFC 6749 §3.1: parameters must not repeat).
pub(crate) fn query_params(query: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        params
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    params
}
