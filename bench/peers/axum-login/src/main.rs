//! Load benchmark peer: axum-login 0.18 + tower-sessions (MemoryStore).
//!
//! `GET /login` logs the one user in (no credentials: the benchmark needs a session, not
//! a password check) and sets tower-sessions' `id` cookie; `GET /me`, behind
//! `login_required!`, answers the user as JSON — the same fields and values as the bench
//! app's user (the crate's MockProvider owner), serialised from an `Arc` held in memory,
//! as the bench app's limit row does. Prints `LISTENING http://127.0.0.1:PORT` once bound.
//!
//! `--port N` (default 0: any free port).

use std::collections::HashMap;
use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use axum_login::tower_sessions::{MemoryStore, SessionManagerLayer};
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId, login_required};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The user's JSON: the same fields, in the same order, as the crate's `UserInfo`.
#[derive(Debug, Serialize)]
struct UserJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    user_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    business_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    business_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    business_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    directory_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    brand_host: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    data: Arc<UserJson>,
}

impl AuthUser for User {
    type Id = String;

    fn id(&self) -> String {
        self.id.clone()
    }

    fn session_auth_hash(&self) -> &[u8] {
        b"bench-peer-session-hash"
    }
}

#[derive(Clone)]
struct Backend {
    users: Arc<HashMap<String, User>>,
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = String;
    type Error = std::convert::Infallible;

    async fn authenticate(&self, id: String) -> Result<Option<User>, Self::Error> {
        Ok(self.users.get(&id).cloned())
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, Self::Error> {
        Ok(self.users.get(id).cloned())
    }
}

async fn login(mut auth: AuthSession<Backend>) -> Result<&'static str, String> {
    let user = auth
        .authenticate("u-1001".to_owned())
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no such user")?;
    auth.login(&user).await.map_err(|e| e.to_string())?;
    Ok("logged in")
}

async fn me(auth: AuthSession<Backend>) -> Json<Arc<UserJson>> {
    // `login_required!` let the request through: there is a user.
    Json(auth.user.expect("login_required").data)
}

fn the_user() -> User {
    let s = |v: &str| Some(v.to_owned());
    let mut extra = Map::new();
    extra.insert("brand_theme".into(), json!({"primary_color": "#1a73e8"}));
    User {
        id: "u-1001".into(),
        data: Arc::new(UserJson {
            sub: s("u-1001"),
            email: s("owner@example.com"),
            role: s("owner"),
            user_type: s("staff"),
            business_id: s("b-42"),
            business_uid: s("biz_42"),
            business_name: s("Demo Salon"),
            directory_uid: s("dir-1"),
            brand_host: s("app.vcita.com"),
            extra,
        }),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut port: u16 = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = args.next().ok_or("--port needs a value")?.parse()?,
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let user = the_user();
    let backend = Backend {
        users: Arc::new(HashMap::from([(user.id.clone(), user)])),
    };
    // Plain http on loopback: no `Secure` cookie (curl and wrk would not care, but keep
    // it like the bench app's http cookie).
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    let auth = AuthManagerLayerBuilder::new(backend, sessions).build();
    let app = Router::new()
        .route("/me", get(me))
        .route_layer(login_required!(Backend))
        .route("/login", get(login))
        .layer(auth);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("LISTENING http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
