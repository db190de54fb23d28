//! `releases:create URL` against hostile HTTP servers: every phase (headers, `1xx` answers, body, trailers)
//! is bounded by `source_timeout`, relative redirects resolve as browsers do, and proxies come from the environment.
//!
//! The deadline is `source_timeout: 2s` in slipway.yaml (default 10 minutes), so no test waits long.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::source::{create, gz, sample_tar, slug_sha, tmp_entries};

/// Accepts connections on 127.0.0.1 from a thread for 30 seconds, each handled by `handle` on a thread of its own.
fn serve_with(handle: fn(TcpStream, &str)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    std::thread::spawn(move || {
                        stream.set_nonblocking(false).unwrap();
                        let mut stream = stream;
                        let request = read_request(&mut stream);
                        handle(stream, &request);
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => return,
            }
        }
    });
    base
}

/// The request head, up to its empty line.
fn read_request(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") && request.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => request.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&request).into_owned()
}

/// Writes `bytes` one at a time, a little under a second apart, for 30 seconds at most: never idle, never done.
fn trickle(stream: &mut TcpStream, bytes: &[u8]) {
    for b in bytes.iter().cycle().take(40) {
        if stream.write_all(&[*b]).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(700));
    }
}

fn with_timeout(f: &Fixture, seconds: u64) {
    std::fs::write(
        f.root.join("slipway.yaml"),
        format!("source_timeout: {seconds}s\n"),
    )
    .unwrap();
}

/// Runs `releases:create URL`; asserts it failed with `reason` in time and recorded nothing.
#[track_caller]
fn assert_cut_off(f: &Fixture, url: &str, reason: &str) {
    let started = Instant::now();
    let out = create(f, url, &[]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!("error: cannot download {url}: {reason}\n")
    );
    assert!(took < Duration::from_secs(8), "{url} took {took:?}");
    assert!(f.records("myapp").is_empty());
    assert!(tmp_entries(f).is_empty(), "{:?}", tmp_entries(f));
}

#[test]
fn slow_headers_endless_1xx_answers_slow_bodies_and_endless_trailers_are_cut_off_at_the_deadline() {
    let f = Fixture::new();
    f.create_app("myapp");
    with_timeout(&f, 2);
    let base = serve_with(|mut stream, request| {
        let path = request.split(' ').nth(1).unwrap_or("");
        match path {
            // The status line and headers, one byte at a time.
            "/slow-headers" => trickle(&mut stream, b"HTTP/1.1 200 OK\r\nX-Pad: aaaaaaaa"),
            // 102 Processing, again and again: never the final answer.
            "/endless-1xx" => {
                for _ in 0..60 {
                    if stream
                        .write_all(b"HTTP/1.1 102 Processing\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
            // A body that never ends, a byte at a time.
            "/slow-body" => {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
                trickle(&mut stream, b"x");
            }
            // The whole chunked body at once, then trailers that never end.
            "/endless-trailers" => {
                let body = gz(&sample_tar());
                let mut out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                out.extend(format!("{:x}\r\n", body.len()).bytes());
                out.extend(&body);
                out.extend(b"\r\n0\r\n");
                let _ = stream.write_all(&out);
                trickle(&mut stream, b"X-Trailer: aaaa\r\n");
            }
            _ => {}
        }
    });
    for path in [
        "/slow-headers",
        "/endless-1xx",
        "/slow-body",
        "/endless-trailers",
    ] {
        assert_cut_off(
            &f,
            &format!("{base}{path}"),
            "it took longer than 2s (source_timeout)",
        );
    }
}

#[test]
fn a_server_that_says_nothing_is_cut_off_too() {
    let f = Fixture::new();
    f.create_app("myapp");
    with_timeout(&f, 2);
    let base = serve_with(|_stream, _| std::thread::sleep(Duration::from_secs(20)));
    assert_cut_off(
        &f,
        &format!("{base}/silent.tgz"),
        "it took longer than 2s (source_timeout)",
    );
}

#[test]
fn relative_redirects_resolve_against_the_url_they_came_from() {
    let f = Fixture::new();
    f.create_app("myapp");
    let base = serve_with(|mut stream, request| {
        let path = request.split(' ').nth(1).unwrap_or("").to_owned();
        let reply = match path.as_str() {
            // `?v=2` keeps the path and replaces the query.
            "/dir/app.tgz" => redirect("?v=2"),
            "/dir/app.tgz?v=2" => redirect("../other/./final.tgz#frag"),
            "/other/final.tgz" => {
                let body = gz(&sample_tar());
                let mut out = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                out.extend(body);
                out
            }
            "/to-ftp" => redirect("ftp://127.0.0.1/app.tgz"),
            _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
        };
        let _ = stream.write_all(&reply);
    });
    ok(create(&f, &format!("{base}/dir/app.tgz"), &[]));
    assert_eq!(f.records("myapp").len(), 1);
    assert!(!slug_sha(&f, 1).is_empty());
    let url = format!("{base}/to-ftp");
    let out = create(&f, &url, &[]);
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: cannot download {url}: redirected to 'ftp://127.0.0.1/app.tgz', which is not http(s)\n"
        )
    );
}

fn redirect(to: &str) -> Vec<u8> {
    format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n").into_bytes()
}

#[test]
fn downloads_go_through_the_proxy_the_environment_names_unless_no_proxy_says_otherwise() {
    let f = Fixture::new();
    f.create_app("myapp");
    // A proxy that tunnels (CONNECT) to itself: it serves the archive whatever the host asked for.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let (seen_tx, seen) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(1) {
            let mut stream = stream.unwrap();
            let connect = read_request(&mut stream);
            seen_tx
                .send(connect.lines().next().unwrap_or("").to_owned())
                .unwrap();
            stream
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .unwrap();
            let get = read_request(&mut stream);
            seen_tx
                .send(get.lines().next().unwrap_or("").to_owned())
                .unwrap();
            let body = gz(&sample_tar());
            let mut out = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            out.extend(body);
            let _ = stream.write_all(&out);
        }
    });
    // A host that does not resolve: only the proxy can reach it.
    let url = "http://archive.invalid/app.tgz";
    let out = f
        .cmd(&["releases:create", url, "-a", "myapp"])
        .env("http_proxy", &proxy)
        .env("NO_PROXY", "localhost")
        .output()
        .unwrap();
    ok(out);
    assert_eq!(
        seen.recv_timeout(Duration::from_secs(5)).unwrap(),
        "CONNECT archive.invalid:80 HTTP/1.1"
    );
    assert_eq!(
        seen.recv_timeout(Duration::from_secs(5)).unwrap(),
        "GET /app.tgz HTTP/1.1"
    );
    assert_eq!(f.records("myapp").len(), 1);
    // NO_PROXY names the host: it is looked up directly, and does not resolve.
    let out = f
        .cmd(&["releases:create", url, "-a", "myapp"])
        .env("http_proxy", &proxy)
        .env("NO_PROXY", ".invalid")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!("error: cannot download {url}: cannot connect: ")),
        "{stderr}"
    );
    assert_eq!(f.records("myapp").len(), 1);
}
