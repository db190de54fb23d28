//! AWS Signature Version 4, sans I/O: the `Authorization` header and presigned query strings.
//!
//! Written from the AWS specification and checked against its published
//! examples (the SigV4 test suite and the S3 API reference). S3 flavour: paths
//! are encoded once, not twice, and not normalised.

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::credentials::Credentials;
use super::encode::{hex, uri_encode};

/// The SHA-256 of nothing, the payload hash of a request without a body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// The payload hash that leaves the body out of the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The longest a presigned URL may live: seven days.
pub const MAX_PRESIGN_SECONDS: u64 = 7 * 24 * 3600;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Who signs, and for which region and service (`s3`).
#[derive(Clone, Copy, Debug)]
pub struct Signer<'a> {
    /// The keys.
    pub credentials: &'a Credentials,
    /// The region the request is for (`us-east-1`, `auto` for R2, ...).
    pub region: &'a str,
    /// The service, `s3`.
    pub service: &'a str,
}

/// A request as the signer sees it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `GET`, `PUT`, ...
    pub method: &'a str,
    /// The path exactly as sent, already encoded with [`uri_encode`]`(path, true)`.
    pub path: &'a str,
    /// The query parameters, not encoded.
    pub query: &'a [(&'a str, &'a str)],
    /// The headers to sign, `host` among them; names in any case.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body, or [`UNSIGNED_PAYLOAD`].
    pub payload_hash: &'a str,
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// HMAC-SHA256 (RFC 2104) of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    let hashed;
    let key = if key.len() > BLOCK {
        hashed = sha256(key);
        &hashed[..]
    } else {
        key
    };
    for (slot, byte) in block.iter_mut().zip(key) {
        *slot = *byte;
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(data);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// `20130524T000000Z` and `20130524`: the request time and the scope date.
pub fn amz_date(time: Timestamp) -> (String, String) {
    let full = time.strftime("%Y%m%dT%H%M%SZ").to_string();
    let day = full.get(..8).unwrap_or_default().to_owned();
    (full, day)
}

/// The canonical query string: each name and value encoded, sorted by name then value.
pub fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&k);
        out.push('=');
        out.push_str(&v);
    }
    out
}

/// The canonical request and the signed-headers list.
pub fn canonical_request(request: &Request<'_>) -> (String, String) {
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| {
            let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
            (name.to_ascii_lowercase(), value)
        })
        .collect();
    headers.sort();
    let mut canonical_headers = String::new();
    let mut signed = String::new();
    for (name, value) in &headers {
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(value);
        canonical_headers.push('\n');
        if !signed.is_empty() {
            signed.push(';');
        }
        signed.push_str(name);
    }
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method,
        request.path,
        canonical_query(request.query),
        canonical_headers,
        signed,
        request.payload_hash
    );
    (canonical, signed)
}

impl Signer<'_> {
    fn scope(&self, day: &str) -> String {
        format!("{day}/{}/{}/aws4_request", self.region, self.service)
    }

    fn signature(&self, time: &str, day: &str, canonical: &str) -> String {
        let string_to_sign = format!(
            "{ALGORITHM}\n{time}\n{}\n{}",
            self.scope(day),
            hex(&sha256(canonical.as_bytes()))
        );
        let secret = format!("AWS4{}", self.credentials.secret_access_key());
        let k_date = hmac_sha256(secret.as_bytes(), day.as_bytes());
        let k_region = hmac_sha256(&k_date, self.region.as_bytes());
        let k_service = hmac_sha256(&k_region, self.service.as_bytes());
        let k_signing = hmac_sha256(&k_service, b"aws4_request");
        hex(&hmac_sha256(&k_signing, string_to_sign.as_bytes()))
    }

    /// The `Authorization` header value for `request` sent at `time`, whose `x-amz-date`
    /// header (signed among `request.headers`) must be [`amz_date`]`(time).0`.
    pub fn authorization(&self, request: &Request<'_>, time: Timestamp) -> String {
        let (full, day) = amz_date(time);
        let (canonical, signed) = canonical_request(request);
        format!(
            "{ALGORITHM} Credential={}/{}, SignedHeaders={signed}, Signature={}",
            self.credentials.access_key_id(),
            self.scope(&day),
            self.signature(&full, &day, &canonical)
        )
    }

    /// The query string of a presigned URL for `method` on `path` at `host`, valid for
    /// `expires_secs` (1 s to 7 days) from `time`: `extra` parameters, the `X-Amz-*`
    /// ones, and `X-Amz-Signature` last. Only `host` is signed; the payload is not.
    pub fn presign(
        &self,
        method: &str,
        host: &str,
        path: &str,
        extra: &[(&str, &str)],
        expires_secs: u64,
        time: Timestamp,
    ) -> String {
        let (full, day) = amz_date(time);
        let credential = format!("{}/{}", self.credentials.access_key_id(), self.scope(&day));
        let expires = expires_secs.clamp(1, MAX_PRESIGN_SECONDS).to_string();
        let mut query: Vec<(&str, &str)> = extra.to_vec();
        query.extend([
            ("X-Amz-Algorithm", ALGORITHM),
            ("X-Amz-Credential", &credential),
            ("X-Amz-Date", &full),
            ("X-Amz-Expires", &expires),
            ("X-Amz-SignedHeaders", "host"),
        ]);
        if let Some(token) = self.credentials.session_token() {
            query.push(("X-Amz-Security-Token", token));
        }
        let request = Request {
            method,
            path,
            query: &query,
            headers: &[("host", host)],
            payload_hash: UNSIGNED_PAYLOAD,
        };
        let (canonical, _) = canonical_request(&request);
        let signature = self.signature(&full, &day, &canonical);
        format!("{}&X-Amz-Signature={signature}", canonical_query(&query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn signature_of(authorization: &str) -> &str {
        authorization.rsplit("Signature=").next().unwrap()
    }

    /// RFC 4231 test cases 1, 2 and 6 (a key longer than the block).
    #[test]
    fn hmac_matches_rfc_4231() {
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn empty_sha256_is_what_it_says() {
        assert_eq!(hex(&sha256(b"")), EMPTY_SHA256);
    }

    /// The SigV4 test suite's `get-vanilla` and `get-vanilla-query-order-key-case`.
    #[test]
    fn matches_the_sigv4_test_suite() {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
        );
        let signer = Signer {
            credentials: &credentials,
            region: "us-east-1",
            service: "service",
        };
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ];
        let mut request = Request {
            method: "GET",
            path: "/",
            query: &[],
            headers: &headers,
            payload_hash: EMPTY_SHA256,
        };
        assert_eq!(
            signer.authorization(&request, time("2015-08-30T12:36:00Z")),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        request.query = &[("Param2", "value2"), ("Param1", "value1")];
        assert_eq!(
            signature_of(&signer.authorization(&request, time("2015-08-30T12:36:00Z"))),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    fn s3_example() -> Credentials {
        Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
        )
    }

    const HOST: &str = "examplebucket.s3.amazonaws.com";
    const WHEN: &str = "2013-05-24T00:00:00Z";

    fn s3_signature(
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        extra: &[(&str, &str)],
        payload: &str,
    ) -> String {
        let credentials = s3_example();
        let signer = Signer {
            credentials: &credentials,
            region: "us-east-1",
            service: "s3",
        };
        let mut headers = vec![
            ("host", HOST),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", payload),
        ];
        headers.extend_from_slice(extra);
        let request = Request {
            method,
            path,
            query,
            headers: &headers,
            payload_hash: payload,
        };
        signature_of(&signer.authorization(&request, time(WHEN))).to_owned()
    }

    /// The four header-signed examples of the S3 API reference
    /// ("Signature Calculations for the Authorization Header").
    #[test]
    fn matches_the_s3_reference_examples() {
        assert_eq!(
            s3_signature(
                "GET",
                "/test.txt",
                &[],
                &[("range", "bytes=0-9")],
                EMPTY_SHA256
            ),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        let body_hash = hex(&sha256(b"Welcome to Amazon S3."));
        assert_eq!(
            body_hash,
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        );
        assert_eq!(
            s3_signature(
                "PUT",
                &uri_encode("/test$file.text", true),
                &[],
                &[
                    ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                    ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ],
                &body_hash
            ),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        );
        assert_eq!(
            s3_signature("GET", "/", &[("lifecycle", "")], &[], EMPTY_SHA256),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
        );
        assert_eq!(
            s3_signature(
                "GET",
                "/",
                &[("prefix", "J"), ("max-keys", "2")],
                &[],
                EMPTY_SHA256
            ),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        );
    }

    /// The S3 reference's presigned GET ("Authenticating Requests: Using Query Parameters").
    #[test]
    fn matches_the_s3_presigned_url_example() {
        let credentials = s3_example();
        let signer = Signer {
            credentials: &credentials,
            region: "us-east-1",
            service: "s3",
        };
        let query = signer.presign("GET", HOST, "/test.txt", &[], 86400, time(WHEN));
        assert_eq!(
            query,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    #[test]
    fn presigning_clamps_the_lifetime_and_signs_a_session_token() {
        let credentials = Credentials::new("AKID", "S", Some("to/ken=".to_owned()));
        let signer = Signer {
            credentials: &credentials,
            region: "auto",
            service: "s3",
        };
        let when = time(WHEN);
        let long = signer.presign("GET", "h", "/k", &[], 10 * MAX_PRESIGN_SECONDS, when);
        assert!(long.contains("X-Amz-Expires=604800&"), "{long}");
        let zero = signer.presign("GET", "h", "/k", &[], 0, when);
        assert!(zero.contains("X-Amz-Expires=1&"), "{zero}");
        assert!(zero.contains("X-Amz-Security-Token=to%2Fken%3D&"), "{zero}");
    }

    #[test]
    fn header_values_are_trimmed_and_inner_spaces_collapsed() {
        let headers = [("My-Header", "  a   b  "), ("host", "h")];
        let (canonical, signed) = canonical_request(&Request {
            method: "GET",
            path: "/",
            query: &[],
            headers: &headers,
            payload_hash: EMPTY_SHA256,
        });
        assert_eq!(signed, "host;my-header");
        assert!(
            canonical.contains("\nhost:h\nmy-header:a b\n"),
            "{canonical}"
        );
    }
}
