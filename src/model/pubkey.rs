//! OpenSSH public keys: one `TYPE BASE64 [COMMENT]` line, checked, and its SHA256 fingerprint.

use std::fmt;

use sha2::{Digest, Sha256};

use super::base64;
use super::error::{Error, Result};

/// The key types slipway accepts, with how many length-prefixed fields their blob holds.
const TYPES: &[(&str, usize)] = &[
    ("ssh-ed25519", 2),
    ("ssh-rsa", 3),
    ("ecdsa-sha2-nistp256", 3),
    ("ecdsa-sha2-nistp384", 3),
    ("ecdsa-sha2-nistp521", 3),
    ("sk-ssh-ed25519@openssh.com", 3),
    ("sk-ecdsa-sha2-nistp256@openssh.com", 4),
];

/// The longest key line accepted (a 16384-bit RSA key is about 2.8 KB).
pub const MAX_LINE: usize = 16 * 1024;

/// A checked OpenSSH public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// The key type, such as `ssh-ed25519`.
    pub kind: String,
    /// The base64 blob exactly as given.
    pub base64: String,
    /// The comment after the blob, often `user@host`; may be empty.
    pub comment: String,
    blob: Vec<u8>,
}

impl PublicKey {
    /// Like [`PublicKey::parse`], for bytes read from outside (which must be UTF-8).
    pub fn parse_bytes(input: &[u8]) -> Result<PublicKey> {
        let text = std::str::from_utf8(input).map_err(|_| Error::BadPublicKey {
            reason: "it is not UTF-8".into(),
        })?;
        PublicKey::parse(text)
    }

    /// Parses the one key line in `input` (blank lines and `#` comments around it are ignored).
    pub fn parse(input: &str) -> Result<PublicKey> {
        let bad = |reason: String| Error::BadPublicKey { reason };
        if input.len() > MAX_LINE {
            return Err(bad(format!("it is longer than {MAX_LINE} bytes")));
        }
        let lines: Vec<&str> = input
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        if lines
            .first()
            .is_some_and(|l| l.starts_with("-----BEGIN") && l.contains("PRIVATE KEY"))
        {
            return Err(bad(
                "this is a private key; give its public half (the .pub file, or `ssh-keygen -y -f KEY`)"
                    .into(),
            ));
        }
        let line = match lines.as_slice() {
            [] => return Err(bad("no key line was given".into())),
            [line] => *line,
            more => {
                return Err(bad(format!(
                    "{} key lines were given; add one key at a time",
                    more.len()
                )));
            }
        };
        if line.chars().any(|c| c.is_control() && c != '\t') {
            return Err(bad("the line contains control characters".into()));
        }
        let mut fields = line.split_ascii_whitespace();
        let kind = fields.next().unwrap_or_default();
        let Some(&(_, field_count)) = TYPES.iter().find(|(t, _)| *t == kind) else {
            let reason = if kind.contains('=') || kind.contains('"') {
                "authorized_keys options are not accepted; give the bare public key".to_owned()
            } else {
                format!(
                    "unsupported key type '{}' (expected ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521 or an sk- key)",
                    crate::base::text::escape_truncated(kind, 40)
                )
            };
            return Err(bad(reason));
        };
        let Some(encoded) = fields.next() else {
            return Err(bad("the base64 key data is missing".into()));
        };
        let blob = base64::decode(encoded)
            .ok_or_else(|| bad("the key data is not valid base64".into()))?;
        let parts = ssh_strings(&blob)
            .ok_or_else(|| bad("the key data is not an SSH public key blob".into()))?;
        if parts.first().copied() != Some(kind.as_bytes()) {
            return Err(bad(format!("the key data does not hold a {kind} key")));
        }
        if parts.len() != field_count || !well_formed(kind, &parts) {
            return Err(bad(format!("the key data is not a well-formed {kind} key")));
        }
        if let Some(curve) = curve_of(kind)
            && parts[1] != curve.as_bytes()
        {
            return Err(bad(format!(
                "the key data holds a key on the curve '{}', not {curve} as {kind} says",
                crate::base::text::escape_bytes_truncated(parts[1], 40)
            )));
        }
        let comment = fields.collect::<Vec<_>>().join(" ");
        Ok(PublicKey {
            kind: kind.to_owned(),
            base64: encoded.to_owned(),
            comment,
            blob,
        })
    }

    /// `SHA256:` and the unpadded base64 of the blob's sha256, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        fingerprint_of(&self.blob)
    }
}

impl fmt::Display for PublicKey {
    /// `TYPE BASE64`, without the comment.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.base64)
    }
}

/// The SHA256 fingerprint of a decoded key blob.
pub fn fingerprint_of(blob: &[u8]) -> String {
    format!("SHA256:{}", base64::encode_unpadded(&Sha256::digest(blob)))
}

/// Whether `text` has the shape of a SHA256 fingerprint (`SHA256:` and 43 base64 characters).
pub fn looks_like_fingerprint(text: &str) -> bool {
    text.strip_prefix("SHA256:").is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    })
}

/// Splits a blob into its uint32-length-prefixed fields; `None` if a length overruns.
fn ssh_strings(mut blob: &[u8]) -> Option<Vec<&[u8]>> {
    let mut parts = Vec::new();
    while !blob.is_empty() {
        let (len, rest) = blob.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        if len > rest.len() {
            return None;
        }
        let (part, rest) = rest.split_at(len);
        parts.push(part);
        blob = rest;
    }
    Some(parts)
}

/// The curve an ECDSA key type names (`nistp256` for `ecdsa-sha2-nistp256`), which its blob must repeat.
fn curve_of(kind: &str) -> Option<&str> {
    let rest = kind
        .strip_prefix("ecdsa-sha2-")
        .or_else(|| kind.strip_prefix("sk-ecdsa-sha2-"))?;
    Some(rest.strip_suffix("@openssh.com").unwrap_or(rest))
}

/// Whether the fields after the type have the sizes the type needs: a 32-byte
/// Ed25519 key, an uncompressed point of the curve's size, a non-empty RSA
/// exponent and modulus.
fn well_formed(kind: &str, parts: &[&[u8]]) -> bool {
    match kind {
        "ssh-ed25519" | "sk-ssh-ed25519@openssh.com" => parts[1].len() == 32,
        "ssh-rsa" => !parts[1].is_empty() && !parts[2].is_empty(),
        _ => {
            let point_len = match curve_of(kind) {
                Some("nistp256") => 65,
                Some("nistp384") => 97,
                Some("nistp521") => 133,
                _ => return false,
            };
            parts[2].len() == point_len && parts[2][0] == 0x04
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `ssh-keygen -t ed25519`; `ssh-keygen -lf` printed the fingerprint below.
    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPrIQwUtM5HAtfeKJj3Dk5ylPkjFORQQKFox09xJkfRt alice@laptop";

    #[test]
    fn parses_a_key_line_and_keeps_its_comment() {
        let key = PublicKey::parse(&format!("\n# mine\n{ED25519}\n")).unwrap();
        assert_eq!(key.kind, "ssh-ed25519");
        assert_eq!(key.comment, "alice@laptop");
        assert!(key.to_string().starts_with("ssh-ed25519 AAAAC3Nza"));
        assert!(!key.to_string().contains("alice@laptop"));
    }

    #[test]
    fn fingerprint_matches_ssh_keygen() {
        let key = PublicKey::parse(ED25519).unwrap();
        assert_eq!(key.fingerprint(), FINGERPRINT);
        assert!(looks_like_fingerprint(FINGERPRINT));
        assert!(!looks_like_fingerprint("SHA256:short"));
        assert!(!looks_like_fingerprint("alice"));
    }

    const FINGERPRINT: &str = "SHA256:VxGESJw4/GrYlNbyPCAPD5709FGAO1WRAYtMS/29wLE";

    /// An SSH blob of `fields`, each length-prefixed.
    fn blob(fields: &[&[u8]]) -> String {
        let mut bytes = Vec::new();
        for field in fields {
            bytes.extend_from_slice(&(field.len() as u32).to_be_bytes());
            bytes.extend_from_slice(field);
        }
        let mut text = base64::encode_unpadded(&bytes);
        while !text.len().is_multiple_of(4) {
            text.push('=');
        }
        text
    }

    #[test]
    fn ecdsa_keys_name_their_own_curve() {
        let mut point = vec![0x04];
        point.extend_from_slice(&[7; 64]);
        let good = format!(
            "ecdsa-sha2-nistp256 {}",
            blob(&[b"ecdsa-sha2-nistp256", b"nistp256", &point])
        );
        assert!(PublicKey::parse(&good).is_ok());
        let other_curve = format!(
            "ecdsa-sha2-nistp256 {}",
            blob(&[b"ecdsa-sha2-nistp256", b"nistp384", &point])
        );
        let err = PublicKey::parse(&other_curve).unwrap_err().to_string();
        assert_eq!(
            err,
            "not a usable ssh public key: the key data holds a key on the curve 'nistp384', not nistp256 as ecdsa-sha2-nistp256 says"
        );
        let short_point = format!(
            "ecdsa-sha2-nistp384 {}",
            blob(&[b"ecdsa-sha2-nistp384", b"nistp384", &point])
        );
        let err = PublicKey::parse(&short_point).unwrap_err().to_string();
        assert!(
            err.contains("not a well-formed ecdsa-sha2-nistp384 key"),
            "{err}"
        );
        let sk = format!(
            "sk-ecdsa-sha2-nistp256@openssh.com {}",
            blob(&[
                b"sk-ecdsa-sha2-nistp256@openssh.com",
                b"nistp521",
                &point,
                b"ssh:"
            ])
        );
        assert!(
            PublicKey::parse(&sk)
                .unwrap_err()
                .to_string()
                .contains("curve 'nistp521'")
        );
    }

    #[test]
    fn rejects_what_is_not_one_good_key() {
        let blob = ED25519.split(' ').nth(1).unwrap();
        let rsa_claim = format!("ssh-rsa {blob}");
        let short = format!("ssh-ed25519 {}", &blob[..blob.len() - 4]);
        let two = format!("{ED25519}\n{ED25519}\n");
        let options = format!("command=\"sh\" {ED25519}");
        let control = format!("{ED25519}\x1b[2J");
        for (input, reason) in [
            ("", "no key line was given"),
            ("ssh-dss AAAA", "unsupported key type 'ssh-dss'"),
            ("ssh-ed25519", "the base64 key data is missing"),
            ("ssh-ed25519 not*base64", "not valid base64"),
            ("ssh-ed25519 AAAA", "not an SSH public key blob"),
            (rsa_claim.as_str(), "does not hold a ssh-rsa key"),
            (short.as_str(), "not an SSH public key blob"),
            (two.as_str(), "2 key lines were given"),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
                "this is a private key",
            ),
            (options.as_str(), "options are not accepted"),
            (control.as_str(), "control characters"),
        ] {
            let err = PublicKey::parse(input).unwrap_err().to_string();
            assert!(err.contains(reason), "{input:?}: {err}");
        }
    }
}
