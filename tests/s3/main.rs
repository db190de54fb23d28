//! The S3 client of the slug store against a real SeaweedFS: one server for the whole test binary.
//!
//! Skipped, saying why, when `weed` cannot be found (set WEED, or run
//! scripts/install-weed); with CI=true a missing `weed` fails instead.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

#[path = "../weed/mod.rs"]
mod weed;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use slipway::base::http::Proxies;
use slipway::model::slug_store::Endpoint;
use slipway::store::s3::encode::hex;
use slipway::store::s3::{self as s3, Client, Config, Credentials, Error};

use weed::{Gate, Weed};

/// The shared server, started by the first test that needs it; `None` when skipping.
fn server(test: &str) -> Option<&'static Weed> {
    static SERVER: OnceLock<Option<Weed>> = OnceLock::new();
    let path = weed::find_or_skip(test)?;
    SERVER.get_or_init(|| Some(Weed::start(&path))).as_ref()
}

fn client(server: &Weed, prefix: &str) -> Client {
    Client::new(server.config(&format!("s3://{}/{prefix}", weed::BUCKET))).unwrap()
}

/// Writes `len` pseudo-random bytes (xorshift, from `seed`) to `path`; returns the hex SHA-256.
fn write_file(path: &Path, len: usize, seed: u64) -> String {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut hasher = Sha256::new();
    let mut state = seed | 1;
    let mut chunk = vec![0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(chunk.len());
        out.write_all(&chunk[..n]).unwrap();
        hasher.update(&chunk[..n]);
        left -= n;
    }
    out.flush().unwrap();
    hex(&hasher.finalize())
}

fn put(client: &Client, key: &str, path: &Path, sha: &str) -> Result<(), Error> {
    let size = std::fs::metadata(path).unwrap().len();
    client.put_file(key, path, sha, size, &mut |_| {})
}

fn curl(args: &[&str]) -> (bool, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl runs");
    (out.status.success(), out.stdout)
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn a_small_file_goes_up_and_comes_back() {
    let Some(server) = server("a_small_file_goes_up_and_comes_back") else {
        return;
    };
    let client = client(server, "small");
    let dir = temp();
    let file = dir.path().join("slug.tgz");
    let sha = write_file(&file, 1000, 1);
    let key = "app/slug with spaces+plus&amp;é.tgz";

    assert_eq!(client.head(key).unwrap(), None);
    let mut reported = Vec::new();
    client
        .put_file(key, &file, &sha, 1000, &mut |n| reported.push(n))
        .unwrap();
    assert_eq!(reported.last(), Some(&1000));
    assert_eq!(client.head(key).unwrap(), Some(1000));

    let back = dir.path().join("back");
    let (size, got) = client.get_to_file(key, &back).unwrap();
    assert_eq!((size, got.as_str()), (1000, sha.as_str()));
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&file).unwrap());
}

#[test]
fn a_40_mib_file_goes_up_in_parts_and_comes_back() {
    let Some(server) = server("a_40_mib_file_goes_up_in_parts_and_comes_back") else {
        return;
    };
    // Parts of 16 MiB above 16 MiB (slipway uploads up to 512 MiB in one PUT).
    let mut config = server.config("s3://slugs/multipart");
    config.single_put_max = 16 << 20;
    let client = Client::new(config).unwrap();
    let dir = temp();
    let file = dir.path().join("big");
    let len = 40 << 20;
    let sha = write_file(&file, len, 2);
    let mut calls = 0u64;
    let mut last = 0u64;
    let started = Instant::now();
    client
        .put_file("big.tgz", &file, &sha, len as u64, &mut |n| {
            assert!(n >= last, "progress went back");
            last = n;
            calls += 1;
        })
        .unwrap();
    eprintln!("40 MiB up (3 parts) in {:?}", started.elapsed());
    assert_eq!(last, len as u64);
    assert!(calls > 3, "progress only {calls} times");
    assert_eq!(client.head("big.tgz").unwrap(), Some(len as u64));
    let (size, got) = client
        .get_to_file("big.tgz", &dir.path().join("back"))
        .unwrap();
    assert_eq!(size, len as u64);
    assert_eq!(got, sha);
}

#[test]
fn a_wrong_checksum_is_refused_by_the_store() {
    let Some(server) = server("a_wrong_checksum_is_refused_by_the_store") else {
        return;
    };
    let client = client(server, "wrong");
    let dir = temp();
    let file = dir.path().join("f");
    write_file(&file, 5000, 3);
    let wrong = hex(&Sha256::digest(b"something else"));
    let e = put(&client, "f", &file, &wrong).unwrap_err();
    // SeaweedFS checks x-amz-checksum-sha256 (not the signed payload hash): BadDigest.
    assert_eq!(e.code(), Some("BadDigest"), "{e}");
    assert_eq!(e.status(), Some(400));
    let text = e.to_string();
    assert!(
        text.starts_with("uploading s3://slugs/wrong/f: BadDigest: "),
        "{text}"
    );
    assert!(
        text.ends_with(&format!("(HTTP 400 from {})", server.endpoint)),
        "{text}"
    );
    assert_eq!(client.head("f").unwrap(), None);
}

#[test]
fn a_multipart_upload_of_the_wrong_bytes_is_aborted() {
    let Some(server) = server("a_multipart_upload_of_the_wrong_bytes_is_aborted") else {
        return;
    };
    let mut config = server.config("s3://slugs/abort");
    config.part_size = 5 << 20;
    config.single_put_max = 5 << 20;
    let client = Client::new(config).unwrap();
    let dir = temp();
    let file = dir.path().join("f");
    write_file(&file, 11 << 20, 4);
    let wrong = hex(&Sha256::digest(b"not this"));
    let e = put(&client, "f", &file, &wrong).unwrap_err();
    assert!(matches!(e, Error::NotAsDeclared { .. }), "{e}");
    assert!(
        e.to_string().contains("not the ") && e.to_string().contains(&wrong),
        "{e}"
    );
    assert_eq!(client.head("f").unwrap(), None);
    // The upload was aborted: ListMultipartUploads names an upload left open
    // on purpose, but not that one.
    let open = signed(server, "POST", "/slugs/abort/open", &[("uploads", "")]);
    assert!(open.contains("<UploadId>"), "{open}");
    let body = signed(
        server,
        "GET",
        "/slugs",
        &[("uploads", ""), ("prefix", "abort/")],
    );
    assert!(body.contains("<Key>abort/open</Key>"), "{body}");
    assert!(!body.contains("<Key>abort/f</Key>"), "{body}");
}

/// A request without a body, signed with the crate's signer, for what the client has no method for.
fn signed(server: &Weed, method: &str, path: &str, query: &[(&str, &str)]) -> String {
    let credentials = Credentials::new(weed::ACCESS_KEY, weed::SECRET_KEY, None);
    let signer = s3::sign::Signer {
        credentials: &credentials,
        region: "us-east-1",
        service: "s3",
    };
    let now = jiff::Timestamp::now();
    let (date, _) = s3::sign::amz_date(now);
    let host = server.endpoint.trim_start_matches("http://");
    let headers = [
        ("host", host),
        ("x-amz-date", date.as_str()),
        ("x-amz-content-sha256", s3::sign::EMPTY_SHA256),
    ];
    let authorization = signer.authorization(
        &s3::sign::Request {
            method,
            path,
            query,
            headers: &headers,
            payload_hash: s3::sign::EMPTY_SHA256,
        },
        now,
    );
    let url = format!(
        "{}{path}?{}",
        server.endpoint,
        s3::sign::canonical_query(query)
    );
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(&url)
        .header("authorization", &authorization);
    for (name, value) in &headers[1..] {
        request = request.header(*name, *value);
    }
    let request = request.body(()).unwrap();
    ureq::run(request)
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap()
}

#[test]
fn a_file_that_is_not_its_declared_size_is_refused() {
    let Some(server) = server("a_file_that_is_not_its_declared_size_is_refused") else {
        return;
    };
    let client = client(server, "size");
    let dir = temp();
    let file = dir.path().join("f");
    let sha = write_file(&file, 10, 5);
    let e = client
        .put_file("f", &file, &sha, 12, &mut |_| {})
        .unwrap_err();
    assert!(
        e.to_string()
            .ends_with("is 10 bytes, not the 12 it was declared with"),
        "{e}"
    );
    let e = client
        .put_file("f", &dir.path().join("missing"), &sha, 12, &mut |_| {})
        .unwrap_err();
    assert!(matches!(e, Error::Local { .. }), "{e}");
}

#[test]
fn listing_follows_continuation_tokens_and_stays_under_the_prefix() {
    let Some(server) = server("listing_follows_continuation_tokens_and_stays_under_the_prefix")
    else {
        return;
    };
    let mut config = server.config("s3://slugs/list");
    config.list_page_size = 7;
    let paged = Client::new(config).unwrap();
    let whole = client(server, "list");
    let outside = client(server, "listing");
    let dir = temp();
    let mut expected = Vec::new();
    for i in 0..20 {
        let file = dir.path().join(format!("f{i}"));
        let sha = write_file(&file, i, 100 + i as u64);
        let key = format!("app/{i:02}.tgz");
        put(&paged, &key, &file, &sha).unwrap();
        expected.push((key, i as u64));
    }
    let file = dir.path().join("other");
    let sha = write_file(&file, 3, 6);
    put(&outside, "app/00.tgz", &file, &sha).unwrap();
    put(&paged, "zzz/other", &file, &sha).unwrap();

    assert_eq!(paged.list("app/").unwrap(), expected);
    assert_eq!(whole.list("app/").unwrap(), expected);
    assert_eq!(paged.list("app/1").unwrap(), expected[10..]);
    assert_eq!(paged.list("").unwrap().len(), 21);
    assert_eq!(paged.list("nothing/").unwrap(), []);
}

#[test]
fn listing_more_than_a_thousand_keys_takes_two_pages() {
    let Some(server) = server("listing_more_than_a_thousand_keys_takes_two_pages") else {
        return;
    };
    let client = client(server, "thousand");
    let dir = temp();
    let file = dir.path().join("f");
    let sha = write_file(&file, 1, 12);
    let started = Instant::now();
    for i in 0..1001 {
        put(&client, &format!("k{i:04}"), &file, &sha).unwrap();
    }
    eprintln!("1001 PUTs in {:?}", started.elapsed());
    let listed = client.list("").unwrap();
    assert_eq!(listed.len(), 1001);
    assert_eq!(listed[1000], ("k1000".to_owned(), 1));
}

#[test]
fn delete_removes_and_deleting_twice_is_fine() {
    let Some(server) = server("delete_removes_and_deleting_twice_is_fine") else {
        return;
    };
    let client = client(server, "delete");
    let dir = temp();
    let file = dir.path().join("f");
    let sha = write_file(&file, 100, 7);
    put(&client, "f", &file, &sha).unwrap();
    assert_eq!(client.head("f").unwrap(), Some(100));
    client.delete("f").unwrap();
    assert_eq!(client.head("f").unwrap(), None);
    client.delete("f").unwrap();
    let e = client.get_to_file("f", &dir.path().join("x")).unwrap_err();
    assert_eq!(e.code(), Some("NoSuchKey"), "{e}");
}

#[test]
fn a_presigned_url_works_with_curl_until_it_expires() {
    let Some(server) = server("a_presigned_url_works_with_curl_until_it_expires") else {
        return;
    };
    let client = client(server, "presign");
    let dir = temp();
    let file = dir.path().join("f");
    let sha = write_file(&file, 70_000, 8);
    put(&client, "dir/a file+1.tgz", &file, &sha).unwrap();
    let now = jiff::Timestamp::now();

    let url = client.presign_get("dir/a file+1.tgz", Duration::from_secs(300), now);
    let (ok, body) = curl(&["-f", &url]);
    assert!(ok, "curl failed on {url}");
    assert_eq!(hex(&Sha256::digest(&body)), sha);

    // Signed two minutes ago for one minute: expired.
    let past = now - jiff::SignedDuration::from_secs(120);
    let old = client.presign_get("dir/a file+1.tgz", Duration::from_secs(60), past);
    let (ok, body) = curl(&["-f", &old]);
    assert!(
        !ok,
        "an expired URL still works: {}",
        String::from_utf8_lossy(&body)
    );
    let (_, body) = curl(&[&old]);
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.contains("AccessDenied") || body.contains("expired"),
        "{body}"
    );

    // One second to live, then wait it out.
    let short = client.presign_get(
        "dir/a file+1.tgz",
        Duration::from_secs(1),
        jiff::Timestamp::now(),
    );
    std::thread::sleep(Duration::from_millis(2100));
    let (ok, _) = curl(&["-f", &short]);
    assert!(!ok, "a 1 s URL still works after 2 s");
}

#[test]
fn wrong_credentials_are_named_as_such() {
    let Some(server) = server("wrong_credentials_are_named_as_such") else {
        return;
    };
    let mut config = server.config("s3://slugs/creds");
    config.credentials = Credentials::new(weed::ACCESS_KEY, "not-the-secret", None);
    let client = Client::new(config).unwrap();
    let e = client.list("").unwrap_err();
    assert_eq!(e.code(), Some("SignatureDoesNotMatch"), "{e}");
    assert_eq!(e.status(), Some(403));
    assert!(!e.to_string().contains('\n'));
    let dir = temp();
    let file = dir.path().join("f");
    let sha = write_file(&file, 10, 9);
    let e = put(&client, "f", &file, &sha).unwrap_err();
    assert_eq!(e.code(), Some("SignatureDoesNotMatch"), "{e}");
    // HEAD answers carry no body: the status has to do.
    let e = client.head("f").unwrap_err();
    assert_eq!(e.status(), Some(403), "{e}");
    assert!(e.to_string().contains("Forbidden"), "{e}");

    let mut config = server.config("s3://slugs/creds");
    config.credentials = Credentials::new("AKIDUNKNOWN", "x", None);
    let e = Client::new(config).unwrap().list("").unwrap_err();
    assert_eq!(e.code(), Some("InvalidAccessKeyId"), "{e}");
}

#[test]
fn a_missing_bucket_is_named() {
    let Some(server) = server("a_missing_bucket_is_named") else {
        return;
    };
    let client = Client::new(server.config("s3://no-such-bucket/x")).unwrap();
    let e = client.list("").unwrap_err();
    assert_eq!(e.code(), Some("NoSuchBucket"), "{e}");
    assert!(
        e.to_string()
            .starts_with("listing s3://no-such-bucket/x/*: NoSuchBucket"),
        "{e}"
    );
    let dir = temp();
    let file = dir.path().join("f");
    let sha = write_file(&file, 10, 10);
    let e = put(&client, "f", &file, &sha).unwrap_err();
    assert_eq!(e.code(), Some("NoSuchBucket"), "{e}");
}

#[test]
fn a_throttling_store_is_asked_again_and_the_upload_lands() {
    let Some(server) = server("a_throttling_store_is_asked_again_and_the_upload_lands") else {
        return;
    };
    let dir = temp();
    let path = dir.path().join("slug.tar.gz");
    let sha = write_file(&path, 300_000, 7);
    let gate = Gate::new(&server.endpoint);
    let through_gate =
        Client::new(weed::client_config(&gate.endpoint, "s3://slugs/throttled")).unwrap();
    gate.fail_next(2);
    put(&through_gate, "a", &path, &sha).unwrap();
    assert_eq!(
        gate.failed(),
        2,
        "two answers of 503 after the whole body, then the third try sent it all again from the start"
    );
    let direct = client(server, "throttled");
    assert_eq!(direct.head("a").unwrap(), Some(300_000));
    let (size, got) = direct.get_to_file("a", &dir.path().join("back")).unwrap();
    assert_eq!((size, got), (300_000, sha.clone()));

    // A store that keeps refusing: three tries, then its own words; nothing stored.
    // (A new client: the first one's pooled connection is already through the gate.)
    let through_gate =
        Client::new(weed::client_config(&gate.endpoint, "s3://slugs/throttled")).unwrap();
    gate.fail_next(usize::MAX);
    let e = put(&through_gate, "b", &path, &sha).unwrap_err();
    assert_eq!(gate.failed(), 2 + 3);
    assert_eq!(
        e.to_string(),
        format!(
            "uploading s3://slugs/throttled/b: SlowDown: Please reduce your request rate. (HTTP 503 from {})",
            gate.endpoint
        )
    );
    assert_eq!(direct.head("b").unwrap(), None);
}

#[test]
fn a_stopped_server_is_a_clear_connection_error() {
    let Some(server) = server("a_stopped_server_is_a_clear_connection_error") else {
        return;
    };
    // The server behind a gate that can be shut, as if it stopped.
    let gate = Gate::new(&server.endpoint);
    let config = weed::client_config(&gate.endpoint, "s3://slugs/stop");
    let endpoint = gate.endpoint.clone();
    let client = Client::new(config).unwrap();
    assert_eq!(client.head("x").unwrap(), None);
    gate.shut();
    let started = Instant::now();
    let e = client.head("x").unwrap_err();
    eprintln!("first error after the stop: {e}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(e, Error::Unreachable { .. } | Error::Broken { .. }),
        "{e}"
    );
    // The pooled connection may be found dead first; a fresh one is refused.
    let e = client.head("x").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "cannot reach the slug store at {endpoint}: connection refused (while checking s3://slugs/stop/x)"
        )
    );
}

#[test]
fn https_with_a_private_ca_works_and_an_unknown_issuer_is_refused() {
    let Some(server) = server("https_with_a_private_ca_works_and_an_unknown_issuer_is_refused")
    else {
        return;
    };
    let (Some(https), Some(ca)) = (&server.https_endpoint, &server.ca_pem) else {
        eprintln!("skipping the HTTPS test: no openssl to make a certificate with");
        return;
    };
    let mut config = server.config("s3://slugs/tls");
    config.endpoint = Some(Endpoint::parse(https).unwrap());
    config.http.roots_pem = Some(ca.clone());
    let client = Client::new(config.clone()).unwrap();
    let dir = temp();
    let file = dir.path().join("f");
    let sha = write_file(&file, 3000, 11);
    put(&client, "f", &file, &sha).unwrap();
    assert_eq!(
        client.get_to_file("f", &dir.path().join("back")).unwrap(),
        (3000, sha)
    );

    // The bundled Mozilla roots do not know the test CA.
    config.http.roots_pem = None;
    let e = Client::new(config).unwrap().head("f").unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("cannot reach the slug store at {https}: TLS: ")),
        "{text}"
    );
    assert!(text.contains("UnknownIssuer"), "{text}");
}

#[test]
fn a_silent_server_times_out() {
    // No weed needed: a listener that accepts and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut sink = [0u8; 1024];
        let _ = stream.read(&mut sink);
        std::thread::sleep(Duration::from_secs(5));
    });
    let mut config: Config = weed::client_config(&format!("http://127.0.0.1:{port}"), "s3://b/p");
    config.http.timeouts.idle = Duration::from_secs(1);
    config.http.timeouts.base = Duration::from_secs(2);
    let client = Client::new(config).unwrap();
    let started = Instant::now();
    let e = client.head("x").unwrap_err();
    let took = started.elapsed();
    assert!(matches!(e, Error::TimedOut { .. }), "{e}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(
        e.to_string().starts_with(&format!(
            "checking s3://b/p/x at http://127.0.0.1:{port} timed out: "
        )),
        "{e}"
    );
    holder.join().unwrap();
}

#[test]
fn the_proxy_from_the_settings_is_used_unless_no_proxy_says_otherwise() {
    // A "proxy" that records what it is asked and refuses.
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_port = proxy.local_addr().unwrap().port();
    let recorder = std::thread::spawn(move || {
        let (mut stream, _) = proxy.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
            head.push(byte[0]);
        }
        stream
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        String::from_utf8_lossy(&head).into_owned()
    });
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let target_port = target.local_addr().unwrap().port();
    drop(target);
    let lookup = |name: &str| match name {
        "http_proxy" => Some(format!("http://user:pw@127.0.0.1:{proxy_port}")),
        "NO_PROXY" => Some("example.com".to_owned()),
        _ => None,
    };
    let mut config = weed::client_config(&format!("http://127.0.0.1:{target_port}"), "s3://b");
    config.http.proxies = Proxies::from_env(lookup);
    let e = Client::new(config.clone()).unwrap().head("x").unwrap_err();
    let asked = recorder.join().unwrap();
    assert!(
        asked.starts_with(&format!("CONNECT 127.0.0.1:{target_port} HTTP/1.1\r\n")),
        "{asked}"
    );
    assert!(matches!(e, Error::Unreachable { .. }), "{e}");
    assert!(!e.to_string().contains("pw"), "{e}");

    config.http.proxies.no_proxy = vec!["127.0.0.1".to_owned()];
    let e = Client::new(config).unwrap().head("x").unwrap_err();
    assert!(e.to_string().contains(": connection refused "), "{e}");
}

#[test]
fn an_unroutable_name_is_unreachable() {
    let config = weed::client_config("http://no-such-host.invalid:9000", "s3://b");
    let e = Client::new(config).unwrap().head("x").unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("cannot reach the slug store at http://no-such-host.invalid:9000: "),
        "{e}"
    );
}
