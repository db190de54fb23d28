//! The maintenance page: while maintenance mode is on, every connection to the stable port gets `503 Service Unavailable`, a small page and `Retry-After`.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// How long a client has to send its request head before it gets the page anyway.
const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// The most of a request read before answering.
const MAX_HEAD: usize = 16 * 1024;
/// What `Retry-After` says, in seconds.
pub const RETRY_AFTER: u32 = 60;

/// The page.
const PAGE: &str = "<!DOCTYPE html>\n\
<html lang=\"en\">\n\
<head><meta charset=\"utf-8\"><title>Offline for maintenance</title>\n\
<style>body{font-family:sans-serif;color:#333;max-width:36em;margin:4em auto;padding:0 1em}</style></head>\n\
<body><h1>Offline for maintenance</h1>\n\
<p>This app is undergoing maintenance right now. Please check back in a few minutes.</p></body>\n\
</html>\n";

/// Reads the request head (so closing does not reset the connection), answers with the page, and closes.
pub(super) fn answer(mut client: TcpStream) {
    let _ = client.set_read_timeout(Some(READ_TIMEOUT));
    let _ = client.set_write_timeout(Some(READ_TIMEOUT));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let body = match head.starts_with(b"HEAD ") {
        true => "",
        false => PAGE,
    };
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         Retry-After: {RETRY_AFTER}\r\n\
         Cache-Control: no-store\r\n\
         Connection: close\r\n\r\n{body}",
        PAGE.len()
    );
    if client.write_all(response.as_bytes()).is_err() {
        return;
    }
    let _ = client.shutdown(Shutdown::Write);
    // Whatever else the client sends is read and dropped until it closes, so the answer is not reset.
    let _ = std::io::copy(
        &mut (&client).take(MAX_HEAD as u64 * 4),
        &mut std::io::sink(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn ask(request: &str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || answer(listener.accept().unwrap().0));
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(request.as_bytes()).unwrap();
        let mut text = String::new();
        c.read_to_string(&mut text).unwrap();
        drop(c);
        server.join().unwrap();
        text
    }

    #[test]
    fn every_request_gets_503_with_retry_after_and_head_gets_no_body() {
        let text = ask("GET /cart HTTP/1.1\r\nHost: shop\r\n\r\n");
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nRetry-After: 60\r\n"), "{head}");
        assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())));
        assert!(body.contains("<h1>Offline for maintenance</h1>"), "{body}");
        let text = ask("HEAD / HTTP/1.1\r\nHost: shop\r\n\r\n");
        assert!(
            text.starts_with("HTTP/1.1 503 ") && text.ends_with("\r\n\r\n"),
            "{text}"
        );
    }
}
