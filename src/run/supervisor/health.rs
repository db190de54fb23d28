//! Health checks: does a web process accept TCP, and answer its health path with 2xx or 3xx; if not, does it listen on another port.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// What one check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// It accepts connections (and answered the health path well).
    Healthy,
    /// Nothing accepts connections on its port yet.
    NotListening,
    /// The health path answered, but not with 2xx or 3xx (the status line, or what went wrong).
    BadAnswer(String),
    /// Nothing accepts connections on its port, but its processes listen on this other one.
    Elsewhere(u16),
}

/// [`check`]s the web process whose process group is `group`; when nothing listens on `port`, looks in /proc for another port its group listens on.
pub fn check_process(
    port: u16,
    path: Option<&str>,
    timeout: Duration,
    group: Option<u32>,
) -> Check {
    let found = check(port, path, timeout);
    if found != Check::NotListening {
        return found;
    }
    let Some(group) = group else {
        return found;
    };
    let ports = crate::base::procfs::group_listening_ports(group);
    match ports.first() {
        Some(&other) if !ports.contains(&port) => Check::Elsewhere(other),
        _ => found,
    }
}

/// Checks the process listening on `127.0.0.1:port`, with `GET path` over HTTP/1.0 when a path is given.
pub fn check(port: u16, path: Option<&str>, timeout: Duration) -> Check {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return Check::NotListening;
    };
    let Some(path) = path else {
        return Check::Healthy;
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: slipway-health-check\r\nConnection: close\r\n\r\n"
    );
    if let Err(e) = stream.write_all(request.as_bytes()) {
        return Check::BadAnswer(format!("sending the request failed: {e}"));
    }
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < 4096 {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return Check::BadAnswer(format!("no answer: {e}")),
        }
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or("").trim();
    let status = line
        .strip_prefix("HTTP/")
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok());
    match status {
        Some(200..=399) => Check::Healthy,
        Some(_) => Check::BadAnswer(format!("it answered {path} with '{line}'")),
        None if line.is_empty() => Check::BadAnswer(format!(
            "it closed the connection to {path} without an answer"
        )),
        None => Check::BadAnswer(format!("it answered {path} with '{line}', not HTTP")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn server(answer: &'static str) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut s in l.incoming().flatten() {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(answer.as_bytes());
            }
        });
        port
    }

    #[test]
    fn status_codes_decide() {
        let t = Duration::from_secs(2);
        assert_eq!(
            check(server("HTTP/1.0 200 OK\r\n\r\n"), Some("/"), t),
            Check::Healthy
        );
        assert_eq!(
            check(server("HTTP/1.1 302 Found\r\n\r\n"), Some("/"), t),
            Check::Healthy
        );
        assert!(matches!(
            check(server("HTTP/1.1 503 Busy\r\n\r\n"), Some("/health"), t),
            Check::BadAnswer(m) if m.contains("503")
        ));
        assert_eq!(check(server("junk"), None, t), Check::Healthy);
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert_eq!(check(closed, None, t), Check::NotListening);
    }
}
