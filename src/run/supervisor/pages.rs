//! The pages the stable port answers itself, `503 Service Unavailable` with a small page: maintenance mode is on (with `Retry-After`), or no web process is running.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// How long a client has to send its request head before it gets the page anyway.
const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// The most of a request read before answering.
const MAX_HEAD: usize = 16 * 1024;
/// What `Retry-After` says during maintenance, in seconds.
const RETRY_AFTER: u32 = 60;

/// Why the stable port answers instead of a web process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Page {
    /// `maintenance:on`.
    Maintenance,
    /// No web process is up to take the connection (scaled to 0, stopped, crashed).
    NoWebProcess,
}

impl Page {
    fn html(self) -> &'static str {
        match self {
            Page::Maintenance => MAINTENANCE,
            Page::NoWebProcess => NO_WEB_PROCESS,
        }
    }
}

const MAINTENANCE: &str = "<!DOCTYPE html>\n\
<html lang=\"en\">\n\
<head><meta charset=\"utf-8\"><title>Offline for maintenance</title>\n\
<style>body{font-family:sans-serif;color:#333;max-width:36em;margin:4em auto;padding:0 1em}</style></head>\n\
<body><h1>Offline for maintenance</h1>\n\
<p>This app is undergoing maintenance right now. Please check back in a few minutes.</p></body>\n\
</html>\n";

const NO_WEB_PROCESS: &str = "<!DOCTYPE html>\n\
<html lang=\"en\">\n\
<head><meta charset=\"utf-8\"><title>Application unavailable</title>\n\
<style>body{font-family:sans-serif;color:#333;max-width:36em;margin:4em auto;padding:0 1em}</style></head>\n\
<body><h1>Application unavailable</h1>\n\
<p>No web process of this app is up right now: it may be starting, or stopped. If you own it: <code>slipway ps</code> shows its processes, and <code>slipway ps:scale web=1</code> or <code>slipway ps:restart</code> starts them.</p></body>\n\
</html>\n";

/// Reads the request head (so closing does not reset the connection), answers with the page, and closes.
pub(super) fn answer(mut client: TcpStream, page: Page) {
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
    let html = page.html();
    let body = match head.starts_with(b"HEAD ") {
        true => "",
        false => html,
    };
    let retry_after = match page {
        Page::Maintenance => format!("Retry-After: {RETRY_AFTER}\r\n"),
        Page::NoWebProcess => String::new(),
    };
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         {retry_after}\
         Cache-Control: no-store\r\n\
         Connection: close\r\n\r\n{body}",
        html.len()
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
        ask_for(request, Page::Maintenance)
    }

    fn ask_for(request: &str, page: Page) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || answer(listener.accept().unwrap().0, page));
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

    #[test]
    fn without_a_web_process_the_answer_is_503_with_no_retry_after() {
        let text = ask_for("GET / HTTP/1.1\r\nHost: shop\r\n\r\n", Page::NoWebProcess);
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{head}"
        );
        assert!(!head.contains("Retry-After"), "{head}");
        assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())));
        assert!(body.contains("<h1>Application unavailable</h1>"), "{body}");
    }
}
