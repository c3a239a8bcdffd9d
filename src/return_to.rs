//! `return_to`: where to send the browser after login — only ever a path on this site.

/// Longest `return_to` kept.
const MAX_LEN: usize = 2048;

/// `Some(path)` when `candidate` is a same-site relative path (`/x?y`), `None` for
/// anything a browser could resolve to another origin or to a confusing path: absolute
/// URLs, schemes, protocol-relative `//host`, `/\host`, any backslash, control
/// characters, dot segments (`/..//x` resolves to the path `//x`), over-long values — and
/// the same once percent-decoded (`/%2f%2fhost`, `/.%2e//x`, `/%09/x`), since a proxy or
/// the app itself may decode it once before it reaches a browser.
///
/// ```
/// use axum_oauth_login::safe_return_to;
/// assert_eq!(safe_return_to("/orders?page=2"), Some("/orders?page=2"));
/// for evil in ["https://evil.example", "//evil.example", "/\\evil.example",
///              "javascript:alert(1)", "/\t/evil.example", "evil"] {
///     assert_eq!(safe_return_to(evil), None, "{evil}");
/// }
/// ```
pub fn safe_return_to(candidate: &str) -> Option<&str> {
    let raw_ok = !candidate.chars().any(char::is_whitespace);
    if candidate.len() > MAX_LEN || !raw_ok || !plain_path(candidate) {
        return None;
    }
    // Once decoded, by a proxy or the app, it must still be a plain path (an encoded
    // space is fine; a tab or newline, which URL parsers drop, is not).
    let decoded = percent_encoding::percent_decode_str(candidate)
        .decode_utf8()
        .ok()?;
    if !plain_path(&decoded) {
        return None;
    }
    // Belt and braces: resolved against a placeholder origin, it must stay there, on a
    // path that does not start with `//`.
    let base = url::Url::parse("http://return-to.invalid/").ok()?;
    let resolved = base.join(candidate).ok()?;
    (resolved.origin() == base.origin() && !resolved.path().starts_with("//")).then_some(candidate)
}

/// `/`-rooted, not `//`, no backslash or control character, and no dot segment in the
/// path.
fn plain_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    let shape = bytes.first() == Some(&b'/')
        && bytes.get(1) != Some(&b'/')
        && !path.contains('\\')
        && !path.chars().any(char::is_control);
    let route = path.split(['?', '#']).next().unwrap_or_default();
    shape && !route.split('/').any(|seg| seg == "." || seg == "..")
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn open_redirect_attempts_fall_back() {
        let evil = [
            "https://evil.example/",
            "http:evil.example",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/%0a/evil.example",
            "/\r\n/evil.example",
            "/ /evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
            "",
            "relative/path",
        ];
        for e in evil {
            // `/%0a/...` decodes once to `/\n/...`, which URL parsers read as `//...`.
            assert_eq!(safe_return_to(e), None, "{e:?}");
        }
        assert_eq!(safe_return_to(&format!("/{}", "a".repeat(3000))), None);
    }

    #[test]
    fn ordinary_paths_are_kept() {
        for ok in [
            "/",
            "/me",
            "/a/b?c=d&e=f",
            "/p#frag",
            "/orders/%20x",
            "/a%2Fb",
        ] {
            assert_eq!(safe_return_to(ok), Some(ok));
        }
    }
}

#[cfg(test)]
mod proptests {
    //! Property: whatever `safe_return_to` keeps is a path on this site, for the browser
    //! that resolves it and for a proxy or framework that percent-decodes it once first.

    use proptest::prelude::*;
    use url::Url;

    use super::safe_return_to;

    use crate::proptests::config;

    /// Pieces that open-redirect payloads are made of.
    const PIECES: &[&str] = &[
        "/",
        "//",
        ".",
        "..",
        "%2e",
        "%2E",
        "%2e%2e",
        ".%2e",
        "%2f",
        "%2F",
        "%5c",
        "%5C",
        "\\",
        "\t",
        "\n",
        "\r",
        " ",
        "%09",
        "%0a",
        "%0d",
        "%00",
        "%20",
        "%25",
        "%252f",
        "?",
        "#",
        "@",
        ":",
        "evil.example",
        "x",
        "é",
        "\u{3000}",
        "\u{2028}",
        "\u{feff}",
        "\u{ff0f}",
        "\u{2215}",
        "%",
        "http:",
        "javascript:",
        ";",
        "&",
        "=",
    ];

    /// Known payload shapes, whole.
    const FORMS: &[&str] = &[
        "/..//x",
        "/.//x",
        "/.%2e//x",
        "/%2e%2e//x",
        "/%2e//x",
        "//x",
        "/\\x",
        "/%2f%2fx",
        "/%2F%2Fx",
        "/%5cx",
        "/%5c%5cx",
        "/\t/x",
        "/%09/x",
        "/%0a/x",
        "/%0d%0a/x",
        "/ /x",
        "/a/../..//x",
        "/%2e%2e/%2fx",
        "/x?next=//evil",
        "/x#//evil",
    ];

    fn candidate() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "/[ -~]{0,40}",
            Just(()).prop_flat_map(|()| prop::sample::select(FORMS).prop_map(str::to_owned)),
            prop::collection::vec(prop::sample::select(PIECES), 0..12)
                .prop_map(|pieces| format!("/{}", pieces.concat())),
            (
                2030usize..2070,
                prop::sample::select(&["a", "é", "%2f"][..])
            )
                .prop_map(|(n, unit)| format!("/{}", unit.repeat(n / unit.len()))),
        ]
    }

    /// Decodes `%XX` once (a proxy, a framework's router, `decodeURIComponent`).
    fn percent_decode_once(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = |b: u8| char::from(b).to_digit(16);
            match (
                bytes[i],
                bytes.get(i + 1).copied(),
                bytes.get(i + 2).copied(),
            ) {
                (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                    let byte = hex(h).and_then(|h| hex(l).map(|l| h * 16 + l));
                    out.push(u8::try_from(byte.unwrap_or(0)).unwrap_or(0));
                    i += 3;
                }
                (b, _, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Where a browser on `http://app.test/` goes with `Location: p`: it must stay on
    /// that origin, and its path must not start with `//` (re-emitted as a relative
    /// reference, that is a protocol-relative URL to another host).
    fn check_resolution(p: &str) -> Result<(), TestCaseError> {
        let base = Url::parse("http://app.test/").unwrap();
        let resolved = base
            .join(p)
            .map_err(|e| TestCaseError::fail(format!("{p:?} does not resolve: {e}")))?;
        prop_assert_eq!(resolved.origin(), base.origin(), "{:?} -> {}", p, resolved);
        prop_assert!(
            !resolved.path().starts_with("//"),
            "{:?} -> {} (path {:?})",
            p,
            resolved,
            resolved.path()
        );
        Ok(())
    }

    proptest! {
        #![proptest_config(config())]

        /// What is kept is a plain same-site path: `/`, not `//`, no backslash, control
        /// or whitespace, and resolves on the app's origin.
        #[test]
        fn kept_values_are_same_site_paths(c in candidate()) {
            if let Some(p) = safe_return_to(&c) {
                prop_assert_eq!(p, c.as_str());
                prop_assert!(p.starts_with('/') && !p.starts_with("//"), "{:?}", p);
                prop_assert!(!p.contains('\\'), "{:?}", p);
                prop_assert!(
                    !p.chars().any(|ch| ch.is_control() || ch.is_whitespace()),
                    "{:?}",
                    p
                );
                prop_assert!(p.len() <= super::MAX_LEN);
                let base = Url::parse("http://app.test/").unwrap();
                let resolved = base.join(p).unwrap();
                prop_assert_eq!(resolved.origin(), base.origin(), "{:?} -> {}", p, resolved);
                // The login route puts it in a `Location` header: it must be a valid one.
                prop_assert!(http::HeaderValue::from_str(p).is_ok(), "{:?}", p);
            }
        }

        /// Resolved, what is kept has no `//` path (dot segments removed).
        #[test]
        fn kept_values_resolve_to_a_path_without_a_double_slash(c in candidate()) {
            if let Some(p) = safe_return_to(&c) {
                check_resolution(p)?;
            }
        }

        /// Percent-decoded once, what is kept is still a same-site path.
        #[test]
        fn kept_values_stay_same_site_when_decoded_once(c in candidate()) {
            if let Some(p) = safe_return_to(&c) {
                let decoded = percent_decode_once(p);
                prop_assert!(
                    decoded.starts_with('/') && !decoded.starts_with("//"),
                    "{:?} decodes to {:?}",
                    p,
                    decoded
                );
                prop_assert!(!decoded.contains('\\'), "{:?} decodes to {:?}", p, decoded);
                check_resolution(&decoded)?;
            }
        }
    }

    // Regressions the property tests found: inputs `safe_return_to` used to keep although
    // they resolve, or decode once, to a `//` path.

    /// Resolves to `http://app.test//x`: dot segments leave a `//x` path.
    #[test]
    fn slash_dot_dot_slash_slash_x() {
        assert_eq!(safe_return_to("/..//x"), None);
    }

    /// Resolves to `http://app.test//x`.
    #[test]
    fn slash_dot_slash_slash_x() {
        assert_eq!(safe_return_to("/.//x"), None);
    }

    /// `%2e` is a dot to URL parsers: resolves to `http://app.test//x`.
    #[test]
    fn slash_dot_pct2e_slash_slash_x() {
        assert_eq!(safe_return_to("/.%2e//x"), None);
    }

    /// Decoded once: `//x`, protocol-relative.
    #[test]
    fn slash_pct2f_x() {
        assert_eq!(safe_return_to("/%2fx"), None);
    }

    /// Decoded once: `///evil.example`, which browsers resolve to `http://evil.example/`.
    #[test]
    fn slash_pct2f_pct2f_evil_example() {
        assert_eq!(safe_return_to("/%2F%2Fevil.example"), None);
    }

    /// Decoded once: `/\x`, which URL parsers read as `//x`.
    #[test]
    fn slash_pct5c_x() {
        assert_eq!(safe_return_to("/%5cx"), None);
    }

    /// Decoded once: `/\t/x`; URL parsers drop the tab, leaving `//x`.
    #[test]
    fn slash_pct09_slash_x() {
        assert_eq!(safe_return_to("/%09/x"), None);
    }

    /// Decoded once: `/\n/x`; URL parsers drop the newline, leaving `//x`.
    #[test]
    fn slash_pct0a_slash_x() {
        assert_eq!(safe_return_to("/%0a/x"), None);
    }
}
