//! Downloads a source archive over `http://` or `https://` with slipway's one HTTP client (ureq, rustls in the binary).
//!
//! Every phase has a deadline: connecting (and the TLS and proxy handshakes)
//! within [`IDLE_TIMEOUT`], no silence longer than that, and the whole
//! download — headers, any number of `1xx` answers, the body, trailers —
//! within `source_timeout` (default 10 minutes), however slowly the server
//! trickles. At most [`MAX_REDIRECTS`] redirects are followed, each resolved
//! against the URL it came from (RFC 3986) and never from https to http;
//! credentials in the URL go only to its own host, as Basic auth, and only
//! over https. The download stops as soon as more than the size cap has
//! arrived (not merely when the server announces it). Proxies come from the
//! environment, read at the command line's edge.

use std::io::{self, BufWriter, Read, Write};
use std::time::{Duration, Instant};

use super::{DownloadError, Limits, SourceError};
use crate::base::files::TempFile;
use crate::base::http::{self, Failure, HttpSettings, Timeouts};
use crate::base::size::Size;
use crate::base::span::Span;
use crate::base::text::escape;
use crate::build::error::{Error, Result};
use crate::model::base64;
use crate::model::event::{Event, Observer};

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 5;
/// How long a connection may stay silent (connect, or between reads).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
const CHUNK: usize = 64 * 1024;

/// Downloads `url` into `out`; returns the number of bytes.
pub fn download(
    url: &str,
    out: &mut TempFile,
    limits: Limits,
    settings: &HttpSettings,
    observer: &mut dyn Observer,
) -> Result<u64> {
    let shown = redact_url(url);
    let fail = |reason: DownloadError| -> Error {
        SourceError::Download {
            url: escape(&shown).into_owned(),
            reason,
        }
        .into()
    };
    let deadline = Instant::now() + limits.timeout;
    let mut target = Target::parse(url).map_err(fail)?;
    let credentials = target.userinfo.take();
    if credentials.is_some() && target.scheme != "https" {
        return Err(fail(DownloadError::CredentialsOverHttp));
    }
    let origin = target.origin();
    for _ in 0..=MAX_REDIRECTS {
        let auth = credentials.as_deref().filter(|_| target.origin() == origin);
        let request = Request {
            target: &target,
            auth,
            limits,
            settings,
            deadline,
        };
        match request.get(out, observer).map_err(fail)? {
            Got::Body(size) => {
                observer.event(Event::Downloaded { url: shown, size });
                return Ok(size);
            }
            Got::Redirect(location) => {
                let next = target.resolve(&location).map_err(fail)?;
                if target.scheme == "https" && next.scheme != "https" {
                    return Err(fail(DownloadError::RedirectToHttp {
                        url: escape(&redact_url(&next.url())).into_owned(),
                    }));
                }
                target = next;
            }
        }
    }
    Err(fail(DownloadError::TooManyRedirects { max: MAX_REDIRECTS }))
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

/// An `http(s)://` URL, split.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Target {
    /// `http` or `https`, lowercase.
    scheme: String,
    /// `user:password`, still percent-encoded.
    userinfo: Option<String>,
    /// `host[:port]` as written (IPv6 in brackets).
    authority: String,
    /// The host alone, without brackets, for the proxy choice.
    host: String,
    /// Path and query, starting with `/`; no fragment.
    path: String,
}

impl Target {
    fn parse(url: &str) -> std::result::Result<Target, DownloadError> {
        if url.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(DownloadError::UnsafeUrl);
        }
        let (scheme, rest) = url.split_once("://").ok_or(DownloadError::NoScheme)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(DownloadError::NotHttp {
                url: escape(url).into_owned(),
            });
        }
        let rest = rest.split('#').next().unwrap_or(rest);
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let (userinfo, authority) = match authority.rsplit_once('@') {
            Some((info, host)) => (Some(info.to_owned()), host),
            None => (None, authority),
        };
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split_once(']').ok_or(DownloadError::MalformedHost)?.0,
            None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
        };
        if host.is_empty() {
            return Err(DownloadError::NoHost);
        }
        let port = match authority.rsplit_once(':') {
            Some((_, port)) if !authority.ends_with(']') => Some(port),
            _ => None,
        };
        if let Some(port) = port.filter(|p| !p.is_empty())
            && port.parse::<u16>().is_err()
        {
            return Err(DownloadError::BadPort {
                port: escape(port).into_owned(),
            });
        }
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        Ok(Target {
            scheme,
            userinfo,
            authority: authority.to_ascii_lowercase(),
            host: host.to_ascii_lowercase(),
            path,
        })
    }

    /// `scheme://host:port`: credentials go to this origin only.
    fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    /// The URL requested (without credentials).
    fn url(&self) -> String {
        format!("{}{}", self.origin(), self.path)
    }

    /// The target a `Location` header names, resolved against this one as RFC 3986 §5.2 says.
    fn resolve(&self, location: &str) -> std::result::Result<Target, DownloadError> {
        let location = location.trim();
        let scheme_end = location
            .find(':')
            .filter(|&i| {
                location[..i].starts_with(|c: char| c.is_ascii_alphabetic())
                    && location[..i]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            })
            .filter(|&i| !location[..i].contains(['/', '?', '#']));
        if let Some(i) = scheme_end {
            let scheme = location[..i].to_ascii_lowercase();
            if scheme != "http" && scheme != "https" {
                return Err(DownloadError::RedirectNotHttp {
                    location: escape(location).into_owned(),
                });
            }
            return Target::parse(location);
        }
        if let Some(rest) = location.strip_prefix("//") {
            return Target::parse(&format!("{}://{rest}", self.scheme));
        }
        let location = location.split('#').next().unwrap_or(location);
        let (path, query) = match location.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (location, None),
        };
        let (base_path, base_query) = match self.path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (self.path.as_str(), None),
        };
        let (path, query) = if path.is_empty() {
            (base_path.to_owned(), query.or(base_query))
        } else if path.starts_with('/') {
            (remove_dot_segments(path), query)
        } else {
            let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
            (remove_dot_segments(&format!("{dir}{path}")), query)
        };
        let path = match query {
            Some(query) => format!("{path}?{query}"),
            None => path,
        };
        Target::parse(&format!("{}{path}", self.origin()))
    }
}

/// `/a/b/../c/./d` is `/a/c/d` (RFC 3986 §5.2.4).
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

/// What one request got.
enum Got {
    /// The body, this many bytes, is in the file.
    Body(u64),
    /// Go there instead.
    Redirect(String),
}

/// One GET, under the download's deadline.
struct Request<'a> {
    target: &'a Target,
    auth: Option<&'a str>,
    limits: Limits,
    settings: &'a HttpSettings,
    deadline: Instant,
}

impl Request<'_> {
    fn get(
        &self,
        out: &mut TempFile,
        observer: &mut dyn Observer,
    ) -> std::result::Result<Got, DownloadError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.took_too_long());
        }
        let timeouts = Timeouts {
            connect: IDLE_TIMEOUT.min(left),
            idle: IDLE_TIMEOUT,
            base: left,
            min_rate: 1,
        };
        let settings = HttpSettings {
            timeouts,
            ..self.settings.clone()
        };
        let agent = http::agent(&settings, &self.target.scheme, &self.target.host, 0)?;
        let mut builder = ureq::http::Request::get(self.target.url())
            .header("accept", "*/*")
            .header("accept-encoding", "identity");
        if let Some(auth) = self.auth {
            builder = builder.header("authorization", basic_auth(auth));
        }
        let request = builder.body(()).map_err(DownloadError::Request)?;
        let request = http::with_deadline(&agent, request, Some(left));
        let response = agent
            .run(request)
            .map_err(|e| self.failure(&e, &timeouts))?;
        let status = response.status();
        match status.as_u16() {
            200..=299 => {}
            301 | 302 | 303 | 307 | 308 => {
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .ok_or(DownloadError::RedirectWithoutLocation)?;
                return Ok(Got::Redirect(location.to_owned()));
            }
            code => {
                return Err(DownloadError::Status {
                    code,
                    reason: escape(status.canonical_reason().unwrap_or("")).into_owned(),
                });
            }
        }
        let max = self.limits.max_size;
        let length: Option<u64> = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        if let Some(length) = length
            && length > max.bytes()
        {
            return Err(DownloadError::Announced {
                size: Size(length),
                max,
            });
        }
        let mut reader = response
            .into_body()
            .into_with_config()
            .limit(u64::MAX)
            .reader();
        let mut sink = BufWriter::new(out.file());
        let mut buf = vec![0u8; CHUNK];
        let mut done = 0u64;
        let mut last = Instant::now();
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_failure(e, &timeouts)),
            };
            done += n as u64;
            if done > max.bytes() {
                return Err(DownloadError::Larger { max });
            }
            if Instant::now() > self.deadline {
                return Err(self.took_too_long());
            }
            sink.write_all(buf.get(..n).unwrap_or_default())
                .map_err(DownloadError::Write)?;
            if last.elapsed() >= PROGRESS_EVERY {
                last = Instant::now();
                observer.event(Event::Downloading {
                    done,
                    total: length,
                });
            }
        }
        sink.flush().map_err(DownloadError::Write)?;
        if let Some(length) = length
            && done != length
        {
            return Err(DownloadError::Truncated { done, length });
        }
        Ok(Got::Body(done))
    }

    fn took_too_long(&self) -> DownloadError {
        DownloadError::TookTooLong {
            timeout: Span(self.limits.timeout),
        }
    }

    fn failure(&self, error: &ureq::Error, timeouts: &Timeouts) -> DownloadError {
        if matches!(error, ureq::Error::Timeout(ureq::Timeout::Global)) {
            return self.took_too_long();
        }
        match http::classify(error, timeouts, self.limits.timeout) {
            Failure::Unreachable(reason) => DownloadError::Unreachable { reason },
            Failure::TimedOut(reason) | Failure::Broken(reason) | Failure::Cut(reason) => {
                DownloadError::Failed { reason }
            }
        }
    }

    fn read_failure(&self, error: io::Error, timeouts: &Timeouts) -> DownloadError {
        let inner = error
            .get_ref()
            .and_then(|e| e.downcast_ref::<ureq::Error>());
        match inner {
            Some(e) => self.failure(e, timeouts),
            None => self.failure(&ureq::Error::Io(error), timeouts),
        }
    }
}

/// `Basic BASE64` of `user:password`, percent-decoded as URLs carry them.
fn basic_auth(userinfo: &str) -> String {
    let decoded = percent_decode(userinfo);
    format!("Basic {}", base64::encode(&decoded))
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(base: &str, location: &str) -> Option<String> {
        Target::parse(base)
            .and_then(|t| t.resolve(location))
            .ok()
            .map(|t| t.url())
    }

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        let t = Target::parse("HTTP://Example.com/a/b.tgz?x=1#frag").unwrap();
        assert_eq!(t.url(), "http://example.com/a/b.tgz?x=1");
        assert_eq!(t.host, "example.com");
        let t = Target::parse("https://u:p%40ss@[::1]:8080").unwrap();
        assert_eq!(t.url(), "https://[::1]:8080/");
        assert_eq!(t.host, "::1");
        assert_eq!(t.userinfo.as_deref(), Some("u:p%40ss"));
        assert!(Target::parse("http://example.com/a b").is_err());
        assert!(Target::parse("http://:80/").is_err());
        assert!(Target::parse("http://h:x/").is_err());
        assert!(Target::parse("ftp://h/").is_err());
    }

    #[test]
    fn redirects_resolve_against_the_current_url() {
        let base = "http://h:81/dir/file.tgz?q";
        for (location, expected) in [
            ("/x.tgz", "http://h:81/x.tgz"),
            ("y.tgz", "http://h:81/dir/y.tgz"),
            ("?x", "http://h:81/dir/file.tgz?x"),
            ("", "http://h:81/dir/file.tgz?q"),
            ("#f", "http://h:81/dir/file.tgz?q"),
            ("../up.tgz", "http://h:81/up.tgz"),
            ("./a/../b.tgz?z=1", "http://h:81/dir/b.tgz?z=1"),
            ("../../../../x", "http://h:81/x"),
            ("//o/z", "http://o/z"),
            ("https://o/z", "https://o/z"),
            ("HTTPS://o/z", "https://o/z"),
        ] {
            assert_eq!(
                resolved(base, location).as_deref(),
                Some(expected),
                "{location}"
            );
        }
        assert_eq!(resolved(base, "ftp://o/z"), None);
        assert_eq!(resolved(base, "mailto:a@b"), None);
        // A colon after a slash is a path, not a scheme.
        assert_eq!(
            resolved(base, "a/b:c").as_deref(),
            Some("http://h:81/dir/a/b:c")
        );
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

    #[test]
    fn basic_auth_decodes_the_userinfo() {
        assert_eq!(basic_auth("user:p%40ss"), "Basic dXNlcjpwQHNz");
    }
}
