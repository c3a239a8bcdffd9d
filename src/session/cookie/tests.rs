use super::*;

fn codec() -> CookieCodec {
    CookieCodec::new(CookieKey::generate(), false, "test".into())
}

#[test]
fn round_trip_and_name_binding() {
    let c = codec();
    let sealed = c.seal("a", &vec![1, 2, 3]).unwrap();
    assert_eq!(c.open::<Vec<i32>>("a", &sealed), Some(vec![1, 2, 3]));
    // The name is associated data: the value cannot be moved to another cookie.
    assert_eq!(c.open::<Vec<i32>>("b", &sealed), None);
}

#[test]
fn tampered_truncated_garbage_and_foreign_values_are_none() {
    let c = codec();
    let sealed = c.seal("s", &"payload").unwrap();
    let mut bytes = sealed.clone().into_bytes();
    let mid = bytes.len() / 2;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert_eq!(c.open::<String>("s", &tampered), None);
    assert_eq!(c.open::<String>("s", &sealed[..sealed.len() - 4]), None);
    assert_eq!(c.open::<String>("s", "garbage!!"), None);
    assert_eq!(c.open::<String>("s", ""), None);
    assert_eq!(codec().open::<String>("s", &sealed), None);
}

#[test]
fn codecs_bound_to_other_providers_cannot_open_each_others_cookies() {
    let key = CookieKey::generate();
    let a = CookieCodec::new(key.clone(), false, "a|https://a/token".into());
    let b = CookieCodec::new(key, false, "b|https://b/token".into());
    let sealed = a.seal("s", &1u8).unwrap();
    assert_eq!(a.open::<u8>("s", &sealed), Some(1));
    assert_eq!(b.open::<u8>("s", &sealed), None);
}

#[test]
fn previous_keys_still_open() {
    let old = CookieKey::generate();
    let sealed = CookieCodec::new(old.clone(), false, "test".into())
        .seal("s", &1u8)
        .unwrap();
    let rotated = CookieCodec::new(
        CookieKey::generate().with_previous(old),
        false,
        "test".into(),
    );
    assert_eq!(rotated.open::<u8>("s", &sealed), Some(1));
    let opened = rotated.open_within::<u8>("s", &sealed, 100).unwrap();
    assert!(opened.old_key, "opened with the previous key");
    let fresh = rotated.seal("s", &2u8).unwrap();
    assert!(!rotated.open_within::<u8>("s", &fresh, 100).unwrap().old_key);
}

#[test]
fn keys_ignore_whitespace_and_line_breaks() {
    use base64::Engine as _;
    let bytes: Vec<u8> = (0..64).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    // `openssl rand -base64 64` wraps at 64 columns.
    let wrapped = format!("  {}\n{}\r\n", &encoded[..64], &encoded[64..]);
    let sealed = CookieCodec::new(
        CookieKey::from_base64(&encoded).unwrap(),
        false,
        "test".into(),
    )
    .seal("s", &1u8)
    .unwrap();
    let from_wrapped = CookieKey::from_base64(&wrapped).expect("wrapped key accepted");
    assert_eq!(
        CookieCodec::new(from_wrapped, false, "test".into()).open::<u8>("s", &sealed),
        Some(1),
        "the same key"
    );
}

#[test]
fn compact_values_round_trip_and_refuse_tampering_and_bombs() {
    let c = codec();
    let text = "abc".repeat(2000);
    let sealed = c.seal_compact("s", &text, 10_000).unwrap();
    assert!(sealed.len() < 1000, "deflated: {}", sealed.len());
    let opened = c.open_compact::<String>("s", &sealed, 10_000).unwrap();
    assert_eq!(opened.value, text);
    assert!(!opened.old_key);
    assert!(
        c.open_compact::<String>("t", &sealed, 10_000).is_none(),
        "name bound"
    );
    assert!(
        codec()
            .open_compact::<String>("s", &sealed, 10_000)
            .is_none(),
        "other key"
    );
    let mut bytes = sealed.clone().into_bytes();
    let mid = bytes.len() / 2;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert!(c.open_compact::<String>("s", &tampered, 10_000).is_none());
    assert!(c.open_compact::<String>("s", "garbage", 10_000).is_none());
    // A value that inflates past the cap is refused, however small sealed.
    let bomb = "x".repeat(MAX_INFLATED + 10);
    let sealed = c.seal_compact("s", &bomb, 10_000).unwrap();
    assert!(c.open_compact::<String>("s", &sealed, 10_000).is_none());
    // Previous keys open it too, flagged for re-sealing.
    let old = CookieKey::generate();
    let before = CookieCodec::new(old.clone(), false, "test".into());
    let sealed = before.seal_compact("s", &1u8, 100).unwrap();
    let rotated = CookieCodec::new(
        CookieKey::generate().with_previous(old),
        false,
        "test".into(),
    );
    assert!(
        rotated
            .open_compact::<u8>("s", &sealed, 100)
            .unwrap()
            .old_key
    );
}

#[test]
fn oversized_values_are_refused() {
    assert!(codec().seal("s", &"x".repeat(5000)).is_none());
}

#[test]
fn attributes() {
    let c = CookieCodec::new(CookieKey::generate(), true, "test".into());
    let set = c.set_cookie("__Host-s", "v".into(), "/", 60);
    for attr in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age=60"] {
        assert!(set.contains(attr), "{set}");
    }
    assert!(c.remove_cookie("n", "/").contains("Max-Age=0"));
}

#[test]
fn names_carry_host_on_https() {
    let https = CookieNames::new("s", true);
    assert_eq!(https.session, "__Host-s");
    assert_eq!(https.flow_prefix, "__Host-s_flow_");
    assert_eq!(CookieNames::new("s", false).session, "s");
}

#[test]
fn finds_cookies_across_headers() {
    let mut h = http::HeaderMap::new();
    h.append(http::header::COOKIE, "a=1; b=2".parse().unwrap());
    h.append(http::header::COOKIE, "c=3".parse().unwrap());
    assert_eq!(find_cookie(&h, "b"), Some("2"));
    assert_eq!(find_cookie(&h, "c"), Some("3"));
    assert_eq!(find_cookie(&h, "d"), None);
}
