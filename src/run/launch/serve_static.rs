//! `slipway serve-static DIR`: a tiny static file server, so the sample app runs wherever slipway does.
//!
//! HTTP/1.0-style: GET and HEAD, one request per connection, files under DIR
//! only (`/` and directories serve their `index.html`).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::run::error::{Error, Result};

const MAX_HEAD: u64 = 16 * 1024;

/// Serves the files under `dir` on `127.0.0.1:port` until killed.
pub fn serve(dir: &Path, port: u16) -> Result<()> {
    let dir = Arc::new(dir.canonicalize().map_err(Error::io("open", dir))?);
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(Error::io("listen on port", PathBuf::from(port.to_string())))?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let dir = dir.clone();
        std::thread::spawn(move || {
            let _ = answer(stream, &dir);
        });
    }
    Ok(())
}

fn answer(stream: TcpStream, dir: &Path) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone()?).take(MAX_HEAD);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // The rest of the head: read and ignored.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let mut words = request_line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let mut out = stream;
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut out,
            "405 Method Not Allowed",
            "text/plain",
            b"method not allowed\n",
        );
    }
    let Some(path) = resolve(dir, target) else {
        return respond(&mut out, "404 Not Found", "text/plain", b"not found\n");
    };
    let Ok(mut file) = File::open(&path) else {
        return respond(&mut out, "404 Not Found", "text/plain", b"not found\n");
    };
    let len = file.metadata()?.len();
    let head = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: {}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n",
        content_type(&path)
    );
    out.write_all(head.as_bytes())?;
    if method == "GET" {
        io::copy(&mut file, &mut out)?;
    }
    out.flush()
}

fn respond(out: &mut TcpStream, status: &str, kind: &str, body: &[u8]) -> io::Result<()> {
    let head = format!(
        "HTTP/1.0 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    out.write_all(head.as_bytes())?;
    out.write_all(body)
}

/// The file a request target names under `dir`, or `None` if it names nothing there.
fn resolve(dir: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?;
    let decoded = percent_decode(path.strip_prefix('/')?)?;
    let mut full = dir.to_path_buf();
    for component in Path::new(&decoded).components() {
        match component {
            Component::Normal(part) => full.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if full.is_dir() {
        full.push("index.html");
    }
    // Symlinks may not lead out of the directory.
    let real = full.canonicalize().ok()?;
    (real.starts_with(dir) && real.is_file()).then_some(real)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    (!text.contains('\0')).then_some(text)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("json") => "application/json",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_stay_inside_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().canonicalize().unwrap();
        std::fs::write(dir.join("index.html"), "hi").unwrap();
        std::fs::create_dir(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a b.txt"), "x").unwrap();
        assert_eq!(resolve(&dir, "/"), Some(dir.join("index.html")));
        assert_eq!(
            resolve(&dir, "/index.html?x=1"),
            Some(dir.join("index.html"))
        );
        assert_eq!(
            resolve(&dir, "/sub/a%20b.txt"),
            Some(dir.join("sub/a b.txt"))
        );
        assert_eq!(resolve(&dir, "/../etc/passwd"), None);
        assert_eq!(resolve(&dir, "/%2e%2e/x"), None);
        assert_eq!(resolve(&dir, "/nope"), None);
        assert_eq!(resolve(&dir, "http://x/"), None);
    }
}
