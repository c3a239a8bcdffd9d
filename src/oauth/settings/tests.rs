use super::*;

fn routes() -> RouteSettings {
    RouteSettings {
        trusted_origins: Vec::new(),
        prefix: "/auth".into(),
        after_logout: "/".into(),
        post_logout_redirect_uri: None,
        realm: "app".into(),
    }
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

#[test]
fn route_paths_come_from_the_prefix_and_the_redirect_uri() {
    let paths = routes().paths(&url("http://x/auth/callback")).unwrap();
    assert_eq!(
        (
            paths.login.as_str(),
            paths.callback.as_str(),
            paths.logout.as_str()
        ),
        ("/auth/login", "/auth/callback", "/auth/logout")
    );
    for bad in [
        "http://x/cb/*rest",
        "http://x/cb/:id",
        "http://x/auth/login",
    ] {
        let err = routes().paths(&url(bad)).unwrap_err();
        assert_eq!(err.setting(), "redirect_uri", "{bad}");
    }
    let mut r = routes();
    r.after_logout = "https://evil.example".into();
    assert_eq!(
        r.paths(&url("http://x/cb")).unwrap_err().setting(),
        "after_logout"
    );
    let mut r = routes();
    r.realm = "a\"b".into();
    assert_eq!(r.paths(&url("http://x/cb")).unwrap_err().setting(), "realm");
    let mut r = routes();
    r.prefix = "/a b".into();
    assert_eq!(
        r.paths(&url("http://x/cb")).unwrap_err().setting(),
        "route_prefix"
    );
}

#[test]
fn prefixes_normalize() {
    assert_eq!(normalize_prefix("auth/").unwrap(), "/auth");
    assert_eq!(normalize_prefix("/").unwrap(), "");
    assert!(normalize_prefix("/a/../b").is_err());
}

#[test]
fn cookie_settings() {
    let ok = CookieSettings {
        key: None,
        ephemeral: false,
        name: "s".into(),
        secure: None,
        session_lifetime: DAY,
    };
    assert!(ok.validate().is_ok());
    assert!(ok.secure_for(&url("https://x/cb")) && !ok.secure_for(&url("http://x/cb")));
    let bad_name = CookieSettings {
        name: "a;b".into(),
        ..ok
    };
    assert_eq!(bad_name.validate().unwrap_err().setting(), "cookie_name");
    let short = CookieSettings {
        name: "s".into(),
        session_lifetime: Duration::from_secs(1),
        ..bad_name
    };
    assert_eq!(short.validate().unwrap_err().setting(), "session_lifetime");
}

#[test]
fn flow_user_and_refresh_settings() {
    let flow = |t, n| FlowSettings {
        login_timeout: Duration::from_secs(t),
        max_pending: n,
    };
    assert!(flow(600, 5).validate().is_ok());
    assert_eq!(
        flow(5, 5).validate().unwrap_err().setting(),
        "login_timeout"
    );
    assert_eq!(
        flow(600, 0).validate().unwrap_err().setting(),
        "max_pending_logins"
    );
    let users = |ttl, cap, max| UserSettings {
        cache_ttl: Duration::from_secs(ttl),
        cache_capacity: cap,
        max_concurrent_lookups: max,
        fetch_on_login: true,
        on_login: None,
        shared: None,
    };
    assert!(users(300, 10, 64).validate().is_ok());
    assert_eq!(
        users(0, 10, 64).validate().unwrap_err().setting(),
        "user_cache"
    );
    assert_eq!(
        users(300, 0, 64).validate().unwrap_err().setting(),
        "user_cache"
    );
    assert_eq!(
        users(300, 10, 0).validate().unwrap_err().setting(),
        "max_concurrent_lookups"
    );
    let refresh = |skew, grace| RefreshSettings {
        skew: Duration::from_secs(skew),
        grace: Duration::from_secs(grace),
    };
    assert!(refresh(60, 60).validate().is_ok());
    assert_eq!(
        refresh(2 * 86400, 60).validate().unwrap_err().setting(),
        "refresh_skew"
    );
    assert_eq!(
        refresh(60, 0).validate().unwrap_err().setting(),
        "refresh_grace"
    );
    assert_eq!(
        refresh(60, u64::MAX).validate().unwrap_err().setting(),
        "refresh_grace"
    );
}
