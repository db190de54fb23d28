//! HTTP plumbing on ureq (rustls, Mozilla's roots): deadlines on every phase, the proxy the edge's settings call for, failures sorted.
//!
//! The one HTTP client of slipway: the S3 slug store and source downloads
//! (`releases:create`, buildpack archives) both build their agents here.
//! Nothing here reads the environment: [`Proxies::from_env`] is handed a lookup
//! function by the command line's edge. ureq's own `Proxy::try_from_env`
//! (which its default config calls) is never used, because the agent is always
//! given its proxy explicitly.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ureq::Agent;
use ureq::tls::{RootCerts, TlsConfig};

/// The socket buffers: bigger than ureq's 128 KiB default, for fewer system calls per megabyte.
const BUFFER_SIZE: usize = 1 << 20;

/// Proxies to go through, as `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` give them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    /// For `http://` targets.
    pub http: Option<String>,
    /// For `https://` targets.
    pub https: Option<String>,
    /// Hosts reached directly (`NO_PROXY` entries: `*`, `example.com` and its
    /// subdomains, `.example.com`, an IP address, or a CIDR block like `10.0.0.0/8`).
    pub no_proxy: Vec<String>,
}

impl fmt::Debug for Proxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxies")
            .field("http", &self.http.as_deref().map(redact_userinfo))
            .field("https", &self.https.as_deref().map(redact_userinfo))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl Proxies {
    /// No proxy at all.
    pub fn none() -> Proxies {
        Proxies::default()
    }

    /// The proxies curl would use: `https_proxy`/`HTTPS_PROXY` for https,
    /// `http_proxy`/`HTTP_PROXY` for http, `ALL_PROXY` for either when those are
    /// unset, minus `NO_PROXY`. `lookup` answers for an environment variable.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Proxies {
        let first = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| lookup(n).filter(|v| !v.trim().is_empty()))
                .map(|v| v.trim().to_owned())
        };
        let all = first(&["all_proxy", "ALL_PROXY"]);
        Proxies {
            http: first(&["http_proxy", "HTTP_PROXY"]).or_else(|| all.clone()),
            https: first(&["https_proxy", "HTTPS_PROXY"]).or(all),
            no_proxy: first(&["no_proxy", "NO_PROXY"])
                .map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|e| !e.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The proxy URL for a request to `host` over `scheme`, if any.
    pub fn for_target(&self, scheme: &str, host: &str) -> Option<&str> {
        let proxy = match scheme {
            "https" => self.https.as_deref(),
            _ => self.http.as_deref(),
        }?;
        if self.no_proxy.iter().any(|p| no_proxy_matches(p, host)) {
            return None;
        }
        Some(proxy)
    }
}

fn no_proxy_matches(pattern: &str, host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let pattern = pattern.trim().to_ascii_lowercase();
    if pattern == "*" {
        return true;
    }
    if let Some((net, bits)) = pattern.split_once('/') {
        return match (net.parse::<IpAddr>(), bits.parse::<u32>(), host.parse()) {
            (Ok(net), Ok(bits), Ok(ip)) => in_cidr(ip, net, bits),
            _ => false,
        };
    }
    let pattern = pattern
        .trim_start_matches('*')
        .trim_start_matches('.')
        .trim_start_matches('[')
        .trim_end_matches(']');
    if pattern.is_empty() {
        return false;
    }
    host == pattern
        || host
            .strip_suffix(pattern)
            .is_some_and(|head| head.ends_with('.'))
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// Deadlines. Every request gets all of them; none is infinite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Resolving the name and connecting, TLS and proxy handshakes included.
    pub connect: Duration,
    /// The longest the connection may stay silent in either direction.
    pub idle: Duration,
    /// What a request is allowed on top of its transfer time.
    pub base: Duration,
    /// The slowest transfer rate (bytes per second) accepted over a whole request:
    /// a request moving `n` bytes must finish within `base + n / min_rate`.
    pub min_rate: u64,
}

impl Default for Timeouts {
    /// 10 s to connect, 60 s of silence, and 60 s plus 256 KiB/s for a whole request.
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            base: Duration::from_secs(60),
            min_rate: 256 * 1024,
        }
    }
}

impl Timeouts {
    /// The deadline for a whole request that moves `bytes`.
    pub fn for_bytes(&self, bytes: u64) -> Duration {
        let transfer = bytes / self.min_rate.max(1);
        self.base.saturating_add(Duration::from_secs(transfer))
    }
}

/// How HTTP requests are made.
#[derive(Clone)]
pub struct HttpSettings {
    /// Proxies, from the edge.
    pub proxies: Proxies,
    /// Deadlines.
    pub timeouts: Timeouts,
    /// PEM certificates to trust instead of the bundled Mozilla roots (a private CA).
    pub roots_pem: Option<Vec<u8>>,
    /// A file of PEM certificates to trust instead of the bundled Mozilla roots
    /// (`SSL_CERT_FILE`), read when an agent is made; `roots_pem` wins.
    pub roots_file: Option<PathBuf>,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSettings")
            .field("proxies", &self.proxies)
            .field("timeouts", &self.timeouts)
            .field(
                "roots_pem",
                &self
                    .roots_pem
                    .as_ref()
                    .map(|p| format!("<{} bytes>", p.len())),
            )
            .field("roots_file", &self.roots_file)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

impl Default for HttpSettings {
    fn default() -> HttpSettings {
        HttpSettings {
            proxies: Proxies::none(),
            timeouts: Timeouts::default(),
            roots_pem: None,
            roots_file: None,
            user_agent: concat!("slipway/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// Why an agent could not be made: a proxy or trusted-certificate setting that does not work.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The proxy URL is not one ureq can use; `proxy` is shown without its password.
    #[error("proxy {proxy}: {source}")]
    Proxy { proxy: String, source: ureq::Error },
    /// `SSL_CERT_FILE` cannot be read.
    #[error("trusted certificates: cannot read {}: {source}", path.display())]
    ReadRoots {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The PEM text does not parse.
    #[error("trusted certificates: {0}")]
    Pem(#[source] ureq::Error),
    /// The PEM text holds no certificate.
    #[error("trusted certificates: no CERTIFICATE in the PEM text")]
    NoCertificate,
}

/// An agent for requests to `host` over `scheme` (`http` or `https`): the proxy
/// chosen for that target, the connect and idle deadlines set, status codes
/// returned rather than turned into errors, at most `max_redirects` redirects.
/// Per-request deadlines are set with [`with_deadline`].
pub fn agent(
    settings: &HttpSettings,
    scheme: &str,
    host: &str,
    max_redirects: u32,
) -> Result<Agent, AgentError> {
    let proxy = match settings.proxies.for_target(scheme, host) {
        Some(url) => Some(ureq::Proxy::new(url).map_err(|source| AgentError::Proxy {
            proxy: redact_userinfo(url),
            source,
        })?),
        None => None,
    };
    let mut tls = TlsConfig::builder();
    let from_file = match (&settings.roots_pem, &settings.roots_file) {
        (None, Some(path)) => {
            Some(std::fs::read(path).map_err(|source| AgentError::ReadRoots {
                path: path.clone(),
                source,
            })?)
        }
        _ => None,
    };
    if let Some(pem) = settings.roots_pem.as_ref().or(from_file.as_ref()) {
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            match item.map_err(AgentError::Pem)? {
                ureq::tls::PemItem::Certificate(cert) => certs.push(cert),
                _ => continue,
            }
        }
        if certs.is_empty() {
            return Err(AgentError::NoCertificate);
        }
        tls = tls.root_certs(RootCerts::new_with_certs(&certs));
    }
    let t = settings.timeouts;
    let config = Agent::config_builder()
        .proxy(proxy)
        .tls_config(tls.build())
        .http_status_as_error(false)
        .max_redirects(max_redirects)
        // With no redirects allowed, a 3xx comes back as an answer (S3's
        // PermanentRedirect names the right endpoint in its body).
        .max_redirects_will_error(max_redirects > 0)
        .user_agent(settings.user_agent.as_str())
        .input_buffer_size(BUFFER_SIZE)
        .output_buffer_size(BUFFER_SIZE)
        .timeout_resolve(Some(t.connect))
        .timeout_connect(Some(t.connect))
        .timeout_send_request(Some(t.idle))
        .timeout_recv_response(Some(t.idle.max(t.base)))
        .timeout_per_read(Some(t.idle))
        .timeout_per_write(Some(t.idle))
        .timeout_global(Some(t.base))
        .build();
    Ok(config.into())
}

/// Sets the whole-request deadline of `request`, replacing the agent's `base`;
/// `None` leaves only the connect and idle deadlines, for a caller that keeps
/// time itself (a download whose size is known only from its answer).
pub fn with_deadline<S: ureq::AsSendBody>(
    agent: &Agent,
    request: ureq::http::Request<S>,
    deadline: Option<Duration>,
) -> ureq::http::Request<S> {
    agent
        .configure_request(request)
        .timeout_global(deadline)
        .build()
}

/// A failed exchange, sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No connection was made.
    Unreachable(String),
    /// A deadline passed after connecting.
    TimedOut(String),
    /// The exchange broke off in a way that will happen again (bad HTTP, a limit).
    Broken(String),
    /// The connection was closed mid-exchange (reset, broken pipe, early EOF): sending again may work.
    Cut(String),
}

/// Sorts a ureq error; `deadline` is the whole-request deadline that was set.
pub fn classify(error: &ureq::Error, timeouts: &Timeouts, deadline: Duration) -> Failure {
    use std::io::ErrorKind as K;
    use ureq::Timeout as T;
    match error {
        ureq::Error::Io(e) if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) => {
            Failure::Unreachable(format!("TLS: {e}"))
        }
        ureq::Error::Io(e) => match e.kind() {
            K::ConnectionRefused => Failure::Unreachable("connection refused".to_owned()),
            K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable | K::NotFound => {
                Failure::Unreachable(e.to_string())
            }
            K::TimedOut | K::WouldBlock => Failure::TimedOut(format!(
                "the connection was silent for {}",
                secs(timeouts.idle)
            )),
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => {
                Failure::Cut(format!("the connection was closed mid-request ({e})"))
            }
            K::UnexpectedEof => {
                Failure::Cut("the connection was closed before the answer was complete".into())
            }
            // std's resolver failures have no kind of their own.
            _ if e.to_string().contains("lookup address") => {
                Failure::Unreachable(format!("no such host ({e})"))
            }
            _ => Failure::Broken(e.to_string()),
        },
        ureq::Error::HostNotFound => Failure::Unreachable("no such host".to_owned()),
        ureq::Error::ConnectionFailed => Failure::Unreachable("connection failed".to_owned()),
        ureq::Error::Timeout(T::Connect | T::Resolve) => {
            Failure::Unreachable(format!("no connection within {}", secs(timeouts.connect)))
        }
        ureq::Error::Timeout(T::PerRead | T::RecvResponse) => {
            Failure::TimedOut(format!("no answer for {}", secs(timeouts.idle)))
        }
        ureq::Error::Timeout(T::PerWrite | T::SendRequest) => {
            Failure::TimedOut(format!("could not send for {}", secs(timeouts.idle)))
        }
        ureq::Error::Timeout(_) => Failure::TimedOut(format!("not done within {}", secs(deadline))),
        ureq::Error::Tls(e) => Failure::Unreachable(format!("TLS: {e}")),
        ureq::Error::Rustls(e) => Failure::Unreachable(format!("TLS: {e}")),
        ureq::Error::Pem(e) => Failure::Unreachable(format!("TLS certificates: {e}")),
        ureq::Error::ConnectProxyFailed(e) => Failure::Unreachable(format!("proxy: {e}")),
        ureq::Error::InvalidProxyUrl => Failure::Unreachable("invalid proxy URL".to_owned()),
        ureq::Error::Protocol(e) => Failure::Broken(format!("bad HTTP from the server: {e}")),
        e => Failure::Broken(e.to_string()),
    }
}

/// A duration for people: `10s`, `1.5s`, `250ms`.
pub fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// `url` without any `user:password@`, for messages.
pub fn redact_userinfo(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    match scheme {
        Some(s) => format!("{s}://{authority}{tail}"),
        None => format!("{authority}{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn proxies_follow_the_scheme_and_no_proxy() {
        let p = Proxies::from_env(env(&[
            ("HTTPS_PROXY", "http://secure:3128"),
            ("http_proxy", "http://plain:3128"),
            (
                "NO_PROXY",
                "localhost, .internal,example.com,10.0.0.0/8,::1",
            ),
        ]));
        assert_eq!(
            p.for_target("https", "s3.amazonaws.com"),
            Some("http://secure:3128")
        );
        assert_eq!(p.for_target("http", "minio.lan"), Some("http://plain:3128"));
        assert_eq!(p.for_target("http", "localhost"), None);
        assert_eq!(p.for_target("https", "s3.internal"), None);
        assert_eq!(p.for_target("https", "internal"), None);
        assert_eq!(p.for_target("https", "a.example.com"), None);
        assert_eq!(p.for_target("https", "EXAMPLE.com"), None);
        assert_eq!(
            p.for_target("https", "notexample.com"),
            Some("http://secure:3128")
        );
        assert_eq!(p.for_target("http", "10.1.2.3"), None);
        assert_eq!(p.for_target("http", "11.1.2.3"), Some("http://plain:3128"));
        assert_eq!(p.for_target("http", "[::1]"), None);
    }

    #[test]
    fn all_proxy_fills_in_and_star_disables() {
        let p = Proxies::from_env(env(&[("ALL_PROXY", "socks5://x:1080")]));
        assert_eq!(p.http.as_deref(), Some("socks5://x:1080"));
        assert_eq!(p.https.as_deref(), Some("socks5://x:1080"));
        let p = Proxies::from_env(env(&[("https_proxy", "http://p:1"), ("no_proxy", "*")]));
        assert_eq!(p.for_target("https", "anything"), None);
        assert_eq!(Proxies::from_env(env(&[])), Proxies::none());
    }

    #[test]
    fn deadlines_grow_with_size() {
        let t = Timeouts::default();
        assert_eq!(t.for_bytes(0), Duration::from_secs(60));
        assert_eq!(t.for_bytes(16 << 20), Duration::from_secs(60 + 64));
        let zero_rate = Timeouts { min_rate: 0, ..t };
        assert!(zero_rate.for_bytes(u64::MAX) > Duration::from_secs(60));
    }

    #[test]
    fn userinfo_is_hidden() {
        assert_eq!(
            redact_userinfo("http://user:p%40ss@proxy:3128/x"),
            "http://proxy:3128/x"
        );
        assert_eq!(redact_userinfo("proxy:3128"), "proxy:3128");
    }

    #[test]
    fn a_bad_proxy_url_is_named_without_its_password() {
        let settings = HttpSettings {
            proxies: Proxies {
                http: Some("ftp://user:hunter2@proxy:21".to_owned()),
                ..Proxies::none()
            },
            ..HttpSettings::default()
        };
        let e = agent(&settings, "http", "store", 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ftp://proxy:21"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn debug_output_hides_proxy_passwords() {
        let p = Proxies::from_env(env(&[("https_proxy", "http://u:hunter2@p:3128")]));
        let shown = format!(
            "{:?}",
            HttpSettings {
                proxies: p,
                ..HttpSettings::default()
            }
        );
        assert!(shown.contains("http://p:3128"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(secs(Duration::from_secs(10)), "10s");
        assert_eq!(secs(Duration::from_millis(1500)), "1.5s");
        assert_eq!(secs(Duration::from_millis(250)), "250ms");
    }
}
