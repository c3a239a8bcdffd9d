use super::*;

#[test]
fn vcita_response_with_created_at() {
    let body = br#"{"access_token":"74639aa91e5726dc","token_type":"bearer","expires_in":631152000,"created_at":1565876581}"#;
    let t = TokenSet::from_json(body, 1_700_000_000).unwrap();
    assert_eq!(t.expires_at(), Some(1_565_876_581 + 631_152_000));
    assert!(t.refresh_token().is_none());
}

#[test]
fn created_at_in_the_future_is_clamped_to_now() {
    let body = br#"{"access_token":"a","expires_in":10,"created_at":9999999999}"#;
    let t = TokenSet::from_json(body, 100).unwrap();
    assert_eq!(t.expires_at(), Some(110));
}

#[test]
fn tolerant_forms() {
    let body = br#"{"access_token":"a","token_type":"BEARER","expires_in":" 60 ","refresh_token":"r","scope":["a","b"],"x_custom":{"k":1}}"#;
    let t = TokenSet::from_json(body, 1000).unwrap();
    assert_eq!(t.expires_at(), Some(1060));
    assert_eq!(t.refresh_token().unwrap().secret(), "r");
    assert_eq!(t.scope(), Some("a b"));
    assert!(t.extra().contains_key("x_custom"));
    assert!(!t.extra().contains_key("token_type"));
    let float = TokenSet::from_json(br#"{"access_token":"a","expires_in":59.9}"#, 0).unwrap();
    assert_eq!(float.expires_at(), Some(59));
}

#[test]
fn failures_name_the_field_not_the_value() {
    let e = TokenSet::from_json(br#"{"token_type":"bearer"}"#, 0).unwrap_err();
    assert_eq!(e.to_string(), "`access_token` is missing");
    let e =
        TokenSet::from_json(br#"{"access_token":"a","expires_in":"soon-secret"}"#, 0).unwrap_err();
    assert!(!e.to_string().contains("soon-secret"));
    let e = TokenSet::from_json(b"<html>", 0).unwrap_err();
    assert_eq!(e.to_string(), "the body is not JSON");
    let e = TokenSet::from_json(br#"{"access_token":"a","token_type":"mac"}"#, 0).unwrap_err();
    let err = e.into_oauth_error(super::super::Endpoint::Token, 200);
    assert!(
        matches!(err, OAuthError::UnsupportedTokenType { ref token_type } if token_type == "mac")
    );
}

#[test]
fn serde_round_trip() {
    let body = br#"{"access_token":"a","expires_in":60,"refresh_token":"r","extra_field":true}"#;
    let t = TokenSet::from_json(body, 1000).unwrap();
    let json = serde_json::to_vec(&t).unwrap();
    let back: TokenSet = serde_json::from_slice(&json).unwrap();
    assert_eq!(back.access_token().secret(), "a");
    assert_eq!(back.expires_at(), Some(1060));
    assert_eq!(back.refresh_token().unwrap().secret(), "r");
    assert_eq!(back.extra().get("extra_field"), Some(&Value::Bool(true)));
}

/// The error text, which must not contain the test's secrets (`sekrit`, 4815162342).
fn error_without_secrets(body: &str) -> String {
    let e = TokenSet::from_json(body.as_bytes(), 0)
        .unwrap_err()
        .to_string();
    assert!(!e.contains("sekrit") && !e.contains("4815162342"), "{e}");
    e
}

#[test]
fn values_in_the_wrong_field_stay_out_of_the_error() {
    let cases = [
        (
            r#"{"access_token":["sekrit-1"]}"#,
            "`access_token` is not a non-empty string",
        ),
        (
            r#"{"access_token":{"t":"sekrit-1"}}"#,
            "`access_token` is not a non-empty string",
        ),
        (
            r#"{"access_token":"a","token_type":["sekrit-1"]}"#,
            "`token_type` is not a string",
        ),
        (
            r#"{"access_token":"a","created_at":"sekrit-1"}"#,
            "`created_at` is not a number",
        ),
        (
            r#"{"access_token":"a","expires_in":true}"#,
            "`expires_in` is not a number",
        ),
        (
            r#"{"access_token":"a","refresh_token":4815162342}"#,
            "`refresh_token` is not a string",
        ),
        (
            r#"{"access_token":"a","id_token":["sekrit-1"]}"#,
            "`id_token` is not a string",
        ),
        (
            r#"{"access_token":"a","scope":{"sekrit-1":1}}"#,
            "`scope` is not a string",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(error_without_secrets(body), expected, "{body}");
    }
    // The one value an error holds: an unsupported token_type, sanitised.
    assert_eq!(
        error_without_secrets(r#"{"access_token":"a","token_type":"mac\u0007"}"#),
        "unsupported token_type `mac`"
    );
}

#[test]
fn the_first_field_at_fault_in_a_fixed_order() {
    // Whatever the members' order in the body: access_token, token_type, expires_in,
    // created_at, refresh_token, id_token, scope.
    let e = |body: &str| {
        TokenSet::from_json(body.as_bytes(), 0)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        e(r#"{"scope":1,"expires_in":"x"}"#),
        "`access_token` is missing"
    );
    assert_eq!(
        e(r#"{"access_token":null}"#),
        "`access_token` is not a non-empty string"
    );
    assert_eq!(
        e(r#"{"access_token":""}"#),
        "`access_token` is not a non-empty string"
    );
    assert_eq!(
        e(r#"{"scope":1,"expires_in":"x","token_type":"mac","access_token":"a"}"#),
        "unsupported token_type `mac`"
    );
    assert_eq!(
        e(r#"{"scope":1,"id_token":1,"created_at":"x","expires_in":"x","access_token":"a"}"#),
        "`expires_in` is not a number"
    );
    assert_eq!(
        e(r#"{"scope":1,"id_token":1,"refresh_token":1,"access_token":"a"}"#),
        "`refresh_token` is not a string"
    );
    assert_eq!(
        e(r#"{"scope":1,"id_token":1,"access_token":"a"}"#),
        "`id_token` is not a string"
    );
    // A syntax error after a bad member is still "not JSON"; a non-object is named so.
    assert_eq!(e(r#"{"access_token":1,"#), "the body is not JSON");
    assert_eq!(e(r#"[{"access_token":"a"}, x"#), "the body is not JSON");
    assert_eq!(e(r#"{"access_token":"a"} {}"#), "the body is not JSON");
    for body in [r#"[{"access_token":"a"}]"#, r#""a""#, "null", "1"] {
        assert_eq!(e(body), "the body is not a JSON object", "{body}");
    }
}

#[test]
fn a_member_given_twice_is_the_last_one() {
    let body = br#"{"access_token":"first","expires_in":"x","access_token":"second","expires_in":5,"x":1,"x":2}"#;
    let t = TokenSet::from_json(body, 10).unwrap();
    assert_eq!(t.access_token().secret(), "second");
    assert_eq!(t.expires_at(), Some(15));
    assert_eq!(t.extra().get("x"), Some(&Value::from(2)));
}

#[test]
fn null_and_empty_are_absent_and_never_extra() {
    let body = br#"{"access_token":"a","token_type":null,"expires_in":null,"created_at":null,"refresh_token":"","scope":null,"id_token":"","x_other":null}"#;
    let t = TokenSet::from_json(body, 10).unwrap();
    assert_eq!(t.expires_at(), None);
    assert!(t.refresh_token().is_none() && t.id_token().is_none() && t.scope().is_none());
    assert_eq!(t.extra().keys().collect::<Vec<_>>(), ["x_other"]);
    let t = TokenSet::from_json(
        br#"{"access_token":"a","refresh_token":null,"id_token":null}"#,
        0,
    );
    assert!(t.unwrap().extra().is_empty());
}

#[test]
fn seconds_and_scope_shapes() {
    let at = |expires_in: &str| {
        let body = format!(r#"{{"access_token":"a","expires_in":{expires_in}}}"#);
        TokenSet::from_json(body.as_bytes(), 100).map(|t| t.expires_at())
    };
    assert_eq!(at("-5"), Ok(Some(100)));
    assert_eq!(at("-0.5"), Ok(Some(100)));
    assert_eq!(at("1.99"), Ok(Some(101)));
    assert_eq!(at("18446744073709551615"), Ok(Some(u64::MAX)));
    assert_eq!(at("1e300"), Ok(Some(u64::MAX)));
    assert_eq!(at(r#""\t7\n""#), Ok(Some(107)));
    for bad in [
        r#""-1""#, r#""1.5""#, r#""1e3""#, r#""""#, "[1]", "{}", "false",
    ] {
        assert!(at(bad).is_err(), "{bad}");
    }
    let created = br#"{"access_token":"a","expires_in":10,"created_at":" 50 "}"#;
    assert_eq!(
        TokenSet::from_json(created, 100).unwrap().expires_at(),
        Some(60)
    );
    let scope = br#"{"access_token":"a","scope":["openid",1,null,"email",["x"]]}"#;
    assert_eq!(
        TokenSet::from_json(scope, 0).unwrap().scope(),
        Some("openid email")
    );
    let scope = br#"{"access_token":"a","scope":[]}"#;
    assert_eq!(TokenSet::from_json(scope, 0).unwrap().scope(), Some(""));
}

#[test]
fn token_sets_kept_before_dpop_open_as_bearer_and_bound_ones_keep_their_key() {
    // A session or vault record of an earlier version: no `dpop_jkt`.
    let old: TokenSet = serde_json::from_str(r#"{"access_token":"a","expires_at":5}"#).unwrap();
    assert_eq!(old.token_type(), "Bearer");
    assert_eq!(old.dpop_jkt(), None);
    assert!(!serde_json::to_string(&old).unwrap().contains("dpop"));

    let body = br#"{"access_token":"a","token_type":"DPoP","expires_in":60}"#;
    // Without a proof sent, a DPoP token is refused (as before DPoP).
    assert!(TokenSet::from_json(body, 0).is_err());
    let bound = TokenSet::from_json_bound(body, 0, Some("jkt-1")).unwrap();
    assert_eq!(
        (bound.token_type(), bound.dpop_jkt()),
        ("DPoP", Some("jkt-1"))
    );
    let kept: TokenSet = serde_json::from_str(&serde_json::to_string(&bound).unwrap()).unwrap();
    assert_eq!(
        kept.dpop_jkt(),
        Some("jkt-1"),
        "the binding survives the session"
    );
    // A server that did not bind answers Bearer: a Bearer token, even with a proof sent.
    let plain = br#"{"access_token":"a","token_type":"Bearer"}"#;
    let unbound = TokenSet::from_json_bound(plain, 0, Some("jkt-1")).unwrap();
    assert_eq!(unbound.token_type(), "Bearer");
}
