//! Any bytes as a token, introspection or userinfo response: each parser answers `Ok`
//! (or `Some`) or a typed error, never a panic; a token set always has a non-empty
//! access token and survives the session cookie's serde round trip.

#![no_main]

use axum_oauth_login::fuzzing::{
    introspection_from_json, token_set_from_json, user_info_from_json,
};
use axum_oauth_login::{TokenSet, UserInfo};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    for now in [1_700_000_000, u64::MAX] {
        match token_set_from_json(data, now) {
            Ok(t) => {
                assert!(!t.access_token().secret().is_empty());
                let json = serde_json::to_vec(&t).expect("a token set serialises");
                let back: TokenSet = serde_json::from_slice(&json).expect("and reads back");
                assert_eq!(back.access_token().secret(), t.access_token().secret());
                assert_eq!(back.expires_at(), t.expires_at());
            }
            Err(reason) => assert!(!reason.is_empty()),
        }
    }

    let object = matches!(serde_json::from_slice::<Value>(data), Ok(Value::Object(_)));
    let introspection = introspection_from_json(data);
    assert_eq!(introspection.is_some(), object);
    if let Some(i) = introspection {
        let _ = i.to_user_info().display_name().len();
    }

    if let Ok(info) = user_info_from_json(data) {
        let _ = info.display_name().len();
        let value = serde_json::to_value(&info).expect("a user serialises");
        let back: UserInfo = serde_json::from_value(value).expect("and reads back");
        assert_eq!(back, info);
    }
});
