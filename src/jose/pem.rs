//! A private key's PEM text → its DER bytes and what kind of key it is: PKCS#8
//! (`PRIVATE KEY`: P-256, P-384, Ed25519, RSA) or PKCS#1 (`RSA PRIVATE KEY`). The few DER
//! structures involved are read here (a tag-length-value walk, no ASN.1 crate); the
//! signature backend parses the key itself and refuses what is not a valid key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// What a PEM block holds, as far as choosing the algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    P256,
    P384,
    Ed25519,
    Rsa,
}

/// A parsed private key: its kind and the DER the backend takes (PKCS#8 for EC and
/// Ed25519, PKCS#1 `RSAPrivateKey` for RSA).
pub(super) struct Parsed {
    pub(super) kind: Kind,
    pub(super) der: Vec<u8>,
}

const EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
const P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
const P384: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];
const ED25519: &[u8] = &[0x2B, 0x65, 0x70];
const RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;

/// Parses `text`, one PEM private key. Literal `\n` sequences (a key pasted into one
/// line of an environment file) count as line breaks. The error says what to do,
/// never what the key contains.
pub(super) fn parse(text: &str) -> Result<Parsed, String> {
    let text = if text.contains('\n') {
        text.to_owned()
    } else {
        text.replace("\\n", "\n")
    };
    let (label, der) = block(&text)?;
    match label {
        "PRIVATE KEY" => pkcs8(der),
        "RSA PRIVATE KEY" => match tlv(&der) {
            Some((SEQUENCE, _, [])) => Ok(Parsed {
                kind: Kind::Rsa,
                der,
            }),
            _ => Err("the RSA PRIVATE KEY block is not DER".into()),
        },
        "EC PRIVATE KEY" => Err("an EC key in SEC1 form: convert it to PKCS#8 with \
                                 `openssl pkcs8 -topk8 -nocrypt -in key.pem`"
            .into()),
        "ENCRYPTED PRIVATE KEY" => Err("an encrypted key: decrypt it with \
                                         `openssl pkcs8 -nocrypt -in key.pem`"
            .into()),
        other if other.contains("PUBLIC KEY") || other == "CERTIFICATE" => {
            Err(format!("a {other}, not a private key"))
        }
        other => Err(format!("a PEM block `{other}`, not a private key")),
    }
}

/// The first PEM block: its label and decoded bytes.
fn block(text: &str) -> Result<(&str, Vec<u8>), String> {
    const BEGIN: &str = "-----BEGIN ";
    const DASHES: &str = "-----";
    let start = text
        .find(BEGIN)
        .ok_or("not a PEM key (no `-----BEGIN` line)")?;
    let rest = &text[start + BEGIN.len()..];
    let label_end = rest.find(DASHES).ok_or("a broken `-----BEGIN` line")?;
    let label = &rest[..label_end];
    let body = &rest[label_end + DASHES.len()..];
    let end = format!("-----END {label}-----");
    let body_end = body.find(&end).ok_or_else(|| format!("no `{end}` line"))?;
    let base64: String = body[..body_end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = STANDARD
        .decode(base64)
        .map_err(|_| format!("the {label} block is not base64"))?;
    Ok((label, der))
}

/// `PrivateKeyInfo` (RFC 5208): version, algorithm identifier, the key as an octet string.
fn pkcs8(der: Vec<u8>) -> Result<Parsed, String> {
    let malformed = || "the PRIVATE KEY block is not PKCS#8 DER".to_owned();
    let (kind, rsa_key) = {
        let Some((SEQUENCE, info, _)) = tlv(&der) else {
            return Err(malformed());
        };
        let Some((INTEGER, _, rest)) = tlv(info) else {
            return Err(malformed());
        };
        let Some((SEQUENCE, algorithm, rest)) = tlv(rest) else {
            return Err(malformed());
        };
        let Some((OCTET_STRING, key, _)) = tlv(rest) else {
            return Err(malformed());
        };
        let Some((OID, oid, parameters)) = tlv(algorithm) else {
            return Err(malformed());
        };
        let curve = match tlv(parameters) {
            Some((OID, curve, _)) => Some(curve),
            _ => None,
        };
        match (oid, curve) {
            (EC_PUBLIC_KEY, Some(P256)) => (Kind::P256, None),
            (EC_PUBLIC_KEY, Some(P384)) => (Kind::P384, None),
            (EC_PUBLIC_KEY, _) => {
                return Err("an EC key on a curve other than P-256 or P-384".into());
            }
            (ED25519, _) => (Kind::Ed25519, None),
            (RSA, _) => (Kind::Rsa, Some(key.to_vec())),
            _ => {
                return Err("a key of a type other than EC (P-256, P-384), Ed25519 or RSA".into());
            }
        }
    };
    Ok(Parsed {
        kind,
        // The backends take an RSA key as PKCS#1, the others as the whole PKCS#8.
        der: rsa_key.unwrap_or(der),
    })
}

/// One DER element: its tag, its contents and what follows it. `None` when the input
/// ends early or a length does not fit.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        let len = bytes
            .iter()
            .fold(0usize, |len, &byte| (len << 8) | usize::from(byte));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_what_to_do_and_never_echo_the_key() {
        let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----\n";
        let e = parse(sec1).err().unwrap();
        assert!(e.contains("openssl pkcs8 -topk8"), "{e}");
        assert!(!e.contains("MHcCAQEEIA"), "{e}");
        let public = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";
        assert!(parse(public).err().unwrap().contains("not a private key"));
        assert!(parse("hunter2").err().unwrap().contains("not a PEM key"));
        let garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----";
        assert!(parse(garbage).err().unwrap().contains("not PKCS#8"));
        let unterminated = "-----BEGIN PRIVATE KEY-----\nAAAA\n";
        assert!(parse(unterminated).err().unwrap().contains("no `-----END"));
    }

    #[test]
    fn tlv_refuses_lengths_past_the_end() {
        assert_eq!(tlv(&[0x30, 0x03, 1, 2]), None);
        assert_eq!(tlv(&[0x30, 0x82, 0x01]), None);
        assert_eq!(tlv(&[0x30, 0x80]), None);
        assert_eq!(
            tlv(&[0x04, 0x01, 9, 7]),
            Some((0x04, &[9u8][..], &[7u8][..]))
        );
        assert_eq!(
            tlv(&[0x04, 0x81, 0x01, 9]),
            Some((0x04, &[9u8][..], &[][..]))
        );
    }
}
