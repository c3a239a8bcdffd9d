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
