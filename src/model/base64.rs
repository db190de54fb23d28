//! The standard base64 alphabet (RFC 4648): strict decoding of key blobs, unpadded encoding of fingerprints, padded encoding for HTTP headers.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes `bytes` without `=` padding, as `ssh-keygen -l` prints a SHA256 fingerprint.
pub fn encode_unpadded(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let digits = chunk.len() + 1;
        for i in 0..digits {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// Encodes `bytes` with `=` padding (RFC 4648), as HTTP headers carry digests and credentials.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = encode_unpadded(bytes);
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// Decodes padded standard base64; anything else (bad length, stray characters, non-zero spare bits) is `None`.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return None;
    }
    let pad = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    if pad > 2 {
        return None;
    }
    let body = &bytes[..bytes.len() - pad];
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in body {
        acc = (acc << 6) | u32::from(value(b)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero, or two texts would decode to the same key.
    (acc == 0).then_some(out)
}

fn value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc_4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(
                encode_unpadded(plain.as_bytes()),
                coded.trim_end_matches('=')
            );
            if !coded.is_empty() {
                assert_eq!(decode(coded).as_deref(), Some(plain.as_bytes()), "{coded}");
            }
        }
        let all: Vec<u8> = (0..=255).collect();
        let mut padded = encode_unpadded(&all);
        while !padded.len().is_multiple_of(4) {
            padded.push('=');
        }
        assert_eq!(decode(&padded), Some(all));
    }

    #[test]
    fn rejects_anything_not_strictly_base64() {
        for bad in [
            "", "Zg", "Zg=", "Z===", "Zm9v!", "Zh==", "Zm9=", "Zm 9v", "=Zm9",
        ] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}
