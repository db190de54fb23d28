//! Downloads a source archive: a minimal HTTP/1.1 GET for `http://`, `curl` for `https://`.
//!
//! Both follow at most [`MAX_REDIRECTS`] redirects, give up on a connection
//! idle for [`IDLE_TIMEOUT`] or a download longer than [`TOTAL_TIMEOUT`], and
//! stop as soon as more than the size cap has arrived (not merely when the
//! server announces it). The HTTP client understands Content-Length, chunked
//! transfer encoding and reading to the end of the connection.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::SourceError;
use crate::base::files::TempFile;
use crate::base::size::Size;
use crate::base::text::escape;
use crate::build::error::{Error, Result};
use crate::model::event::{Event, Observer};

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 5;
/// How long a connection may stay silent (connect, or between reads).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a whole download may take.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(600);
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
const MAX_HEADER_LINE: usize = 8 * 1024;
const MAX_HEADERS: usize = 100;

/// Downloads `url` into `out`; returns the number of bytes.
pub fn download(
    url: &str,
    out: &mut TempFile,
    max: Size,
    observer: &mut dyn Observer,
) -> Result<u64> {
    let shown = redact_url(url);
    let fail = |reason: String| -> Error {
        SourceError::Download {
            url: escape(&shown).into_owned(),
            reason,
        }
        .into()
    };
    let deadline = Instant::now() + TOTAL_TIMEOUT;
    let mut current = url.to_owned();
    let mut redirects = 0;
    let size = loop {
        if is_https(&current) {
            break curl(
                &current,
                out,
                max,
                MAX_REDIRECTS - redirects,
                deadline,
                observer,
            )
            .map_err(|e| match e {
                CurlError::Missing => SourceError::NeedsCurl {
                    url: escape(&shown).into_owned(),
                }
                .into(),
                CurlError::Failed(reason) => fail(reason),
            })?;
        }
        match get(&current, out, max, deadline, observer).map_err(|e| fail(e.to_string()))? {
            Got::Body(size) => break size,
            Got::Redirect(location) => {
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(fail(format!("more than {MAX_REDIRECTS} redirects")));
                }
                current = resolve(&current, &location).map_err(fail)?;
            }
        }
    };
    observer.event(Event::Downloaded { url: shown, size });
    Ok(size)
}

/// `url` with any password or token hidden: `https://***@host/...`, `ssh://git:***@host/...`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &rest[..at];
    let hidden = if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
        "***".to_owned()
    } else {
        match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***"),
            None => userinfo.to_owned(),
        }
    };
    format!("{scheme}://{hidden}{}", &rest[at..])
}

fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// An `http://` URL, split for a request.
#[derive(Debug, PartialEq, Eq)]
struct HttpUrl {
    host: String,
    port: u16,
    /// Path and query, as sent in the request line.
    target: String,
}

fn parse_http(url: &str) -> std::result::Result<HttpUrl, String> {
    if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err("the URL contains spaces or control characters".into());
    }
    let rest = url
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("http://"))
        .map(|_| &url[7..])
        .ok_or("not an http:// URL")?;
    let rest = rest.split('#').next().unwrap_or(rest);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(authority_end);
    if authority.contains('@') {
        return Err("credentials in http:// URLs are not supported (use https://)".into());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("the host is malformed")?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None | Some("") => 80,
        Some(p) => p.parse().map_err(|_| format!("'{p}' is not a port"))?,
    };
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    let target = if target.starts_with('/') {
        target.to_owned()
    } else {
        format!("/{target}")
    };
    Ok(HttpUrl {
        host: host.to_owned(),
        port,
        target,
    })
}

/// The absolute URL a `Location` header names, relative to `base`.
fn resolve(base: &str, location: &str) -> std::result::Result<String, String> {
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(location.to_owned());
    }
    if lower.contains("://") {
        return Err(format!(
            "redirected to '{}', which is not http(s)",
            escape(location)
        ));
    }
    let url = parse_http(base)?;
    let host = if url.host.contains(':') {
        format!("[{}]:{}", url.host, url.port)
    } else {
        format!("{}:{}", url.host, url.port)
    };
    if let Some(rest) = location.strip_prefix("//") {
        return Ok(format!("http://{rest}"));
    }
    if location.starts_with('/') {
        return Ok(format!("http://{host}{location}"));
    }
    let path = url.target.split('?').next().unwrap_or("/");
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    Ok(format!("http://{host}{dir}{location}"))
}

/// What one request got.
enum Got {
    /// The body, this many bytes, is in the file.
    Body(u64),
    /// Go there instead.
    Redirect(String),
}

fn get(
    url: &str,
    out: &mut TempFile,
    max: Size,
    deadline: Instant,
    observer: &mut dyn Observer,
) -> io::Result<Got> {
    let parsed = parse_http(url).map_err(io::Error::other)?;
    let stream = connect(&parsed.host, parsed.port)?;
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_write_timeout(Some(IDLE_TIMEOUT))?;
    let host_header = match (parsed.host.contains(':'), parsed.port) {
        (true, 80) => format!("[{}]", parsed.host),
        (true, port) => format!("[{}]:{port}", parsed.host),
        (false, 80) => parsed.host.clone(),
        (false, port) => format!("{}:{port}", parsed.host),
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: slipway/{}\r\nAccept: */*\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n",
        parsed.target,
        env!("CARGO_PKG_VERSION"),
    );
    (&stream).write_all(request.as_bytes()).map_err(timeout)?;
    let mut reader = BufReader::new(&stream);
    let response = loop {
        let response = read_head(&mut reader)?;
        // 1xx responses are followed by the real one.
        if !(100..200).contains(&response.status) {
            break response;
        }
    };
    match response.status {
        200..=299 => {}
        301 | 302 | 303 | 307 | 308 => {
            let location = response
                .location
                .ok_or_else(|| io::Error::other("a redirect without a Location"))?;
            return Ok(Got::Redirect(location));
        }
        status => {
            return Err(io::Error::other(format!(
                "the server answered {status} {}",
                response.reason
            )));
        }
    }
    if let Some(length) = response.length
        && length > max.bytes()
    {
        return Err(io::Error::other(format!(
            "it is {} and the limit is {max} (max_source_size)",
            Size(length)
        )));
    }
    let mut sink = Body {
        out: io::BufWriter::new(out.file()),
        done: 0,
        total: response.length,
        max: max.bytes(),
        deadline,
        last: Instant::now(),
        observer,
    };
    if response.chunked {
        read_chunked(&mut reader, &mut sink)?;
    } else if let Some(length) = response.length {
        let copied = sink.copy(&mut (&mut reader).take(length))?;
        if copied != length {
            return Err(io::Error::other(format!(
                "the connection closed after {copied} of {length} bytes"
            )));
        }
    } else {
        sink.copy(&mut reader)?;
    }
    sink.out.flush()?;
    Ok(Got::Body(sink.done))
}

fn connect(host: &str, port: u16) -> io::Result<TcpStream> {
    let mut last = io::Error::other(format!("cannot resolve {host}"));
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, IDLE_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(timeout(last))
}

fn timeout(e: io::Error) -> io::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            io::Error::other(format!("no answer for {} seconds", IDLE_TIMEOUT.as_secs()))
        }
        _ => e,
    }
}

/// The status line and the headers slipway uses.
struct Head {
    status: u16,
    reason: String,
    length: Option<u64>,
    chunked: bool,
    location: Option<String>,
}

fn read_head(reader: &mut impl BufRead) -> io::Result<Head> {
    let bad = |what: &str| io::Error::other(format!("the server sent {what}"));
    let line = read_line(reader)?;
    let line = String::from_utf8_lossy(&line).into_owned();
    let mut parts = line.splitn(3, ' ');
    let (Some(version), Some(status)) = (parts.next(), parts.next()) else {
        return Err(bad("a malformed status line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad("a response that is not HTTP/1.x"));
    }
    let status: u16 = status.parse().map_err(|_| bad("a malformed status"))?;
    let mut head = Head {
        status,
        reason: escape(parts.next().unwrap_or("")).into_owned(),
        length: None,
        chunked: false,
        location: None,
    };
    for _ in 0..=MAX_HEADERS {
        let line = read_line(reader)?;
        if line.is_empty() {
            return Ok(head);
        }
        let line = String::from_utf8_lossy(&line);
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad("a malformed header"));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                let length = value
                    .parse()
                    .map_err(|_| bad("a malformed Content-Length"))?;
                if head.length.is_some_and(|l| l != length) {
                    return Err(bad("two different Content-Lengths"));
                }
                head.length = Some(length);
            }
            "transfer-encoding" => {
                let last = value.rsplit(',').next().unwrap_or("").trim();
                if !last.eq_ignore_ascii_case("chunked") {
                    return Err(bad(&format!("the unsupported transfer encoding '{value}'")));
                }
                head.chunked = true;
            }
            "location" => head.location = Some(value.to_owned()),
            _ => {}
        }
    }
    Err(bad("too many headers"))
}

/// One CRLF- (or LF-) terminated line, without its terminator; refuses long lines.
fn read_line(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let n = reader
        .by_ref()
        .take(MAX_HEADER_LINE as u64 + 1)
        .read_until(b'\n', &mut line)
        .map_err(timeout)?;
    if n == 0 {
        return Err(io::Error::other("the connection closed early"));
    }
    if line.last() != Some(&b'\n') {
        return Err(io::Error::other("the server sent a line that is too long"));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

fn read_chunked<W: Write>(reader: &mut impl BufRead, sink: &mut Body<W>) -> io::Result<()> {
    loop {
        let line = read_line(reader)?;
        let line = String::from_utf8_lossy(&line);
        let digits = line.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(digits, 16)
            .map_err(|_| io::Error::other("the server sent a malformed chunk"))?;
        if size == 0 {
            // Trailers, then the empty line.
            while !read_line(reader)?.is_empty() {}
            return Ok(());
        }
        let copied = sink.copy(&mut reader.by_ref().take(size))?;
        if copied != size {
            return Err(io::Error::other("the connection closed inside a chunk"));
        }
        if !read_line(reader)?.is_empty() {
            return Err(io::Error::other("the server sent a malformed chunk"));
        }
    }
}

/// Writes the body, counting against the cap and the deadline, reporting progress.
struct Body<'a, W: Write> {
    out: W,
    done: u64,
    total: Option<u64>,
    max: u64,
    deadline: Instant,
    last: Instant,
    observer: &'a mut dyn Observer,
}

impl<W: Write> Body<'_, W> {
    fn copy(&mut self, from: &mut impl Read) -> io::Result<u64> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut copied = 0;
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) => return Ok(copied),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(timeout(e)),
            };
            self.done += n as u64;
            copied += n as u64;
            if self.done > self.max {
                return Err(io::Error::other(format!(
                    "it is larger than {} (max_source_size)",
                    Size(self.max)
                )));
            }
            if Instant::now() > self.deadline {
                return Err(io::Error::other(format!(
                    "it took longer than {} seconds",
                    TOTAL_TIMEOUT.as_secs()
                )));
            }
            self.out.write_all(&buf[..n])?;
            if self.last.elapsed() >= PROGRESS_EVERY {
                self.last = Instant::now();
                self.observer.event(Event::Downloading {
                    done: self.done,
                    total: self.total,
                });
            }
        }
    }
}

enum CurlError {
    Missing,
    Failed(String),
}

/// Downloads an https URL with curl, watching the file grow for progress and the cap.
fn curl(
    url: &str,
    out: &mut TempFile,
    max: Size,
    redirects: usize,
    deadline: Instant,
    observer: &mut dyn Observer,
) -> std::result::Result<u64, CurlError> {
    let seconds = deadline
        .saturating_duration_since(Instant::now())
        .as_secs()
        .max(1);
    let mut child = Command::new("curl")
        .args(["--fail", "--silent", "--show-error", "--location"])
        .args(["--proto", "=https", "--proto-redir", "=https"])
        .args(["--max-redirs", &redirects.to_string()])
        .args(["--max-filesize", &max.bytes().to_string()])
        .args(["--max-time", &seconds.to_string()])
        .args(["--connect-timeout", &IDLE_TIMEOUT.as_secs().to_string()])
        .arg("--output")
        .arg(out.path())
        .args(["--url", url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => CurlError::Missing,
            _ => CurlError::Failed(format!("cannot run curl: {e}")),
        })?;
    let stderr = child.stderr.take();
    let messages = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    });
    let path = out.path().to_path_buf();
    let size_now = || std::fs::metadata(&path).map_or(0, |m| m.len());
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(e) => break Err(format!("cannot wait for curl: {e}")),
        }
        let done = size_now();
        if done > max.bytes() {
            let _ = child.kill();
            let _ = child.wait();
            break Err(format!("it is larger than {max} (max_source_size)"));
        }
        observer.event(Event::Downloading { done, total: None });
        std::thread::sleep(PROGRESS_EVERY);
    };
    let text = messages.join().unwrap_or_default();
    let status = status.map_err(CurlError::Failed)?;
    if !status.success() {
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("curl failed")
            .trim();
        let reason = last.strip_prefix("curl: ").unwrap_or(last);
        return Err(CurlError::Failed(escape(reason).into_owned()));
    }
    Ok(size_now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls_split_into_host_port_and_target() {
        assert_eq!(
            parse_http("http://example.com/a/b.tgz?x=1#frag"),
            Ok(HttpUrl {
                host: "example.com".into(),
                port: 80,
                target: "/a/b.tgz?x=1".into()
            })
        );
        assert_eq!(
            parse_http("HTTP://[::1]:8080"),
            Ok(HttpUrl {
                host: "::1".into(),
                port: 8080,
                target: "/".into()
            })
        );
        assert!(parse_http("http://u:p@example.com/").is_err());
        assert!(parse_http("http://example.com/a b").is_err());
        assert!(parse_http("http://:80/").is_err());
    }

    #[test]
    fn redirects_resolve_against_the_current_url() {
        let base = "http://h:81/dir/file.tgz?q";
        assert_eq!(
            resolve(base, "/x.tgz").ok().as_deref(),
            Some("http://h:81/x.tgz")
        );
        assert_eq!(
            resolve(base, "y.tgz").ok().as_deref(),
            Some("http://h:81/dir/y.tgz")
        );
        assert_eq!(resolve(base, "//o/z").ok().as_deref(), Some("http://o/z"));
        assert_eq!(
            resolve(base, "https://o/z").ok().as_deref(),
            Some("https://o/z")
        );
        assert!(resolve(base, "ftp://o/z").is_err());
    }

    #[test]
    fn credentials_never_show() {
        assert_eq!(
            redact_url("https://tok3n@github.com/a/b.git"),
            "https://***@github.com/a/b.git"
        );
        assert_eq!(
            redact_url("ssh://git:pw@host/a.git"),
            "ssh://git:***@host/a.git"
        );
        assert_eq!(redact_url("ssh://git@host/a.git"), "ssh://git@host/a.git");
        assert_eq!(redact_url("/srv/a.git"), "/srv/a.git");
        assert_eq!(redact_url("http://host/a@b"), "http://host/a@b");
    }
}
