//! Byte encodings S3 requests need: lowercase hex, padded base64 (from [`crate::model::base64`]), and SigV4's URI encoding.

/// The hex digit of the low four bits of `n`, lowercase.
fn hex_digit(n: u8) -> char {
    match n & 0x0f {
        d @ 0..=9 => char::from(b'0' + d),
        d => char::from(b'a' + d - 10),
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(hex_digit(b >> 4));
        out.push(hex_digit(b));
    }
    out
}

/// Decodes exactly 32 bytes of hex (either case), as a SHA-256 digest is written; anything else is `None`.
pub fn sha256_from_hex(text: &str) -> Option<[u8; 32]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        if let [hi, lo] = pair {
            *slot = (nibble(*hi)? << 4) | nibble(*lo)?;
        }
    }
    Some(out)
}

/// Standard padded base64 (RFC 4648), as `x-amz-checksum-sha256` and `Content-MD5` carry digests.
pub use crate::model::base64::encode as base64;

/// SigV4 URI encoding: every byte but the unreserved `A-Z a-z 0-9 - _ . ~` becomes `%XX`
/// (uppercase hex); `/` is kept when `keep_slash` (object paths) and encoded otherwise (query strings).
pub fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
        if unreserved || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4).to_ascii_uppercase());
            out.push(hex_digit(b).to_ascii_uppercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
    }

    #[test]
    fn hex_round_trips_a_digest() {
        let digest: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(37)).collect();
        let text = hex(&digest);
        assert_eq!(text.len(), 64);
        assert_eq!(sha256_from_hex(&text).unwrap().to_vec(), digest);
        assert_eq!(
            sha256_from_hex(&text.to_uppercase()).unwrap().to_vec(),
            digest
        );
    }

    #[test]
    fn hex_rejects_wrong_length_and_stray_characters() {
        assert!(sha256_from_hex("").is_none());
        assert!(sha256_from_hex(&"a".repeat(63)).is_none());
        assert!(sha256_from_hex(&"a".repeat(66)).is_none());
        assert!(sha256_from_hex(&format!("{}g", "a".repeat(63))).is_none());
        assert!(sha256_from_hex(&format!("{}é", "a".repeat(62))).is_none());
    }

    #[test]
    fn uri_encoding_keeps_only_unreserved_bytes() {
        assert_eq!(uri_encode("a-b_c.d~e", false), "a-b_c.d~e");
        assert_eq!(uri_encode("a b/c+d=é*", false), "a%20b%2Fc%2Bd%3D%C3%A9%2A");
        assert_eq!(
            uri_encode("dir/test$file.text", true),
            "dir/test%24file.text"
        );
    }
}
