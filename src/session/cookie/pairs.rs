//! The `name=value` pairs of one `Cookie` header, read as bytes: the session cookie is
//! found without a UTF-8 pass over the header (its value must still equal, or open as, a
//! value this server sealed), and the `;` between pairs is found by `memchr` (SIMD).

/// The `name=value` pairs of one `Cookie` header's bytes; a value without its quotes.
pub(crate) fn header_cookie_bytes(header: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    Pairs(Some(header)).filter_map(|pair| {
        let pair = pair.trim_ascii();
        let eq = pair.iter().position(|&b| b == b'=')?;
        let (name, value) = (&pair[..eq], &pair[eq + 1..]);
        Some((name.trim_ascii(), trim_quotes(value.trim_ascii())))
    })
}

/// The `name=value` pairs of one `Cookie` header's text.
pub(crate) fn header_cookies(header: &str) -> impl Iterator<Item = (&str, &str)> {
    // Split at ASCII bytes, the pieces of a `str` are `str`s: nothing is dropped here.
    header_cookie_bytes(header.as_bytes()).filter_map(|(name, value)| {
        Some((
            std::str::from_utf8(name).ok()?,
            std::str::from_utf8(value).ok()?,
        ))
    })
}

/// The pieces between `;`s (as `str::split(';')` cuts them).
struct Pairs<'a>(Option<&'a [u8]>);

impl<'a> Iterator for Pairs<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.0?;
        match memchr::memchr(b';', rest) {
            Some(i) => {
                self.0 = Some(&rest[i + 1..]);
                Some(&rest[..i])
            }
            None => {
                self.0 = None;
                Some(rest)
            }
        }
    }
}

/// `value` without the `"`s at either end (as `str::trim_matches('"')`).
fn trim_quotes(mut value: &[u8]) -> &[u8] {
    while let [b'"', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b'"'] = value {
        value = rest;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_as_the_text_split_does() {
        for header in [
            "",
            ";",
            "a=1",
            " a = 1 ; b=\"2\";c;=x; d==3 ;;e=\"\"\"",
            "long=0123456789abcdef0123456789abcdef0123456789; x=y",
        ] {
            let text: Vec<(&str, &str)> = header
                .split(';')
                .filter_map(|pair| {
                    let (n, v) = pair.trim_ascii().split_once('=')?;
                    Some((n.trim_ascii(), v.trim_ascii().trim_matches('"')))
                })
                .collect();
            assert_eq!(header_cookies(header).collect::<Vec<_>>(), text, "{header}");
        }
    }
}
