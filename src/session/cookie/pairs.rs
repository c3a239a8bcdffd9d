//! The `name=value` pairs of one `Cookie` header, read as bytes: the session cookie is
//! found without a UTF-8 pass over the header (its value must still equal, or open as, a
//! value this server sealed), and the `;` between pairs is found eight bytes at a time.

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
        match find_byte(rest, b';') {
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

/// Every byte of a word: 1, and its high bit.
const ONES: u64 = u64::from_ne_bytes([1; 8]);
const HIGHS: u64 = ONES << 7;

/// The first `byte` in `hay`: eight bytes at a time, each word tested whole (the high
/// bit of every byte that is `byte`, and none below the first one, is set), then the lowest
/// flag.
fn find_byte(hay: &[u8], byte: u8) -> Option<usize> {
    let pattern = ONES * u64::from(byte);
    let (words, rest) = hay.as_chunks::<8>();
    for (i, word) in words.iter().enumerate() {
        let x = u64::from_le_bytes(*word) ^ pattern;
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(i * 8 + found.trailing_zeros() as usize / 8);
        }
    }
    let done = words.len() * 8;
    rest.iter().position(|&b| b == byte).map(|j| done + j)
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
    fn finds_a_byte_in_any_block() {
        // Every other byte value, high bits and `;`'s neighbours included.
        let hay: Vec<u8> = (0..=255u8).filter(|&b| b != b';').rev().collect();
        for at in 0..hay.len() {
            let mut with = hay.clone();
            with[at] = b';';
            assert_eq!(find_byte(&with, b';'), Some(at));
        }
        assert_eq!(find_byte(&hay, b';'), None);
        assert_eq!(find_byte(b"", b';'), None);
    }

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
