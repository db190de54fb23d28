//! Where slugs are kept, as `slug_store:` and `s3_endpoint:` in slipway.yaml say: `local`, or `s3://BUCKET/PREFIX` on an endpoint.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use super::Error;

/// `slug_store:` in slipway.yaml: the root's own `slugs/` directory, or an S3 bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SlugStoreSpec {
    /// `ROOT/slugs` (the default).
    #[default]
    Local,
    /// An S3-compatible bucket and prefix; `ROOT/slugs` is then a cache.
    S3(Location),
}

impl FromStr for SlugStoreSpec {
    type Err = Error;

    /// `local`, or `s3://BUCKET` / `s3://BUCKET/PREFIX`.
    fn from_str(text: &str) -> Result<SlugStoreSpec, Error> {
        match text.trim() {
            "local" => Ok(SlugStoreSpec::Local),
            s3 if s3.starts_with("s3://") => s3.parse().map(SlugStoreSpec::S3),
            _ => Err(Error::NotASlugStore {
                text: text.to_owned(),
            }),
        }
    }
}

impl fmt::Display for SlugStoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlugStoreSpec::Local => f.write_str("local"),
            SlugStoreSpec::S3(location) => location.fmt(f),
        }
    }
}

impl<'de> Deserialize<'de> for SlugStoreSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SlugStoreSpec, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A bucket and a key prefix, written `s3://BUCKET/PREFIX` (the prefix may be empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix without leading or trailing `/`; empty for the whole bucket.
    pub prefix: String,
}

impl Location {
    /// The full key of `name` under the prefix.
    pub fn key(&self, name: &str) -> String {
        let name = name.trim_start_matches('/');
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    /// `s3://bucket/full/key` of `name`, for messages.
    pub fn url_of(&self, name: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.key(name))
    }

    /// `name` relative to the prefix, when a full key is under it.
    pub fn relative<'a>(&self, full_key: &'a str) -> Option<&'a str> {
        if self.prefix.is_empty() {
            return Some(full_key);
        }
        full_key
            .strip_prefix(self.prefix.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
    }
}

impl FromStr for Location {
    type Err = Error;

    /// Parses `s3://BUCKET` or `s3://BUCKET/PREFIX`.
    fn from_str(text: &str) -> Result<Location, Error> {
        let bad = |reason: &'static str| Error::BadSlugStore {
            text: text.to_owned(),
            reason,
        };
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| bad("expected s3://BUCKET/PREFIX"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket"));
        }
        let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
        if !bucket.chars().all(valid) {
            return Err(bad(
                "a bucket name has only letters, digits, '.', '-' and '_'",
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|part| part == "." || part == "..") {
            return Err(bad("the prefix has a . or .. segment"));
        }
        if prefix.chars().any(|c| c.is_control()) {
            return Err(bad("the prefix has a control character"));
        }
        Ok(Location {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// A store's base URL (`s3_endpoint:`): scheme, host, port, and an optional base path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https`.
    pub scheme: String,
    /// The host name in lowercase, or an IP address (IPv6 in brackets).
    pub host: String,
    /// The port, when it is not the scheme's default.
    pub port: Option<u16>,
    /// A path the store is served under, without trailing `/`; usually empty.
    pub base_path: String,
}

impl Endpoint {
    /// Parses `http://host:port` or `https://host[:port][/base]`.
    pub fn parse(url: &str) -> Result<Endpoint, Error> {
        let bad = |reason: &'static str| Error::BadEndpoint {
            url: url.to_owned(),
            reason,
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected http://HOST:PORT or https://HOST"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err(bad("the scheme must be http or https")),
        };
        if rest.contains(['?', '#']) {
            return Err(bad("no query or fragment, please"));
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.contains('@') {
            return Err(bad(
                "credentials come from the environment or ~/.aws/credentials, not the URL",
            ));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad("not an IPv6 address in brackets"));
            }
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ]"))?),
            };
            (format!("[{addr}]"), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (authority.to_owned(), None),
            }
        };
        let host = host.to_ascii_lowercase();
        let host_ok = !host.is_empty()
            && (host.starts_with('[')
                || host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')));
        if !host_ok {
            return Err(bad("not a host name"));
        }
        if path.chars().any(|c| c.is_control() || c == ' ') {
            return Err(bad("the path has spaces or control characters"));
        }
        let port = match port {
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))?,
            ),
            None => None,
        }
        .filter(|&p| p != default_port);
        Ok(Endpoint {
            scheme,
            host,
            port,
            base_path: path.trim_end_matches('/').to_owned(),
        })
    }

    /// `host[:port]`, as the `Host` header carries it.
    pub fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    /// `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.origin(), self.base_path)
    }
}

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Endpoint, D::Error> {
        Endpoint::parse(String::deserialize(d)?.trim()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_and_prefix() {
        let l: Location = "s3://slugs/prod/app/".parse().unwrap();
        assert_eq!(l.bucket, "slugs");
        assert_eq!(l.prefix, "prod/app");
        assert_eq!(l.to_string(), "s3://slugs/prod/app");
        assert_eq!(l.key("a.tgz"), "prod/app/a.tgz");
        assert_eq!(l.url_of("a.tgz"), "s3://slugs/prod/app/a.tgz");
        assert_eq!(l.relative("prod/app/x/y"), Some("x/y"));
        assert_eq!(l.relative("prod/apple"), None);
        let whole: Location = "s3://slugs".parse().unwrap();
        assert_eq!(whole.prefix, "");
        assert_eq!(whole.key("a"), "a");
        assert_eq!(whole.to_string(), "s3://slugs");
    }

    #[test]
    fn refuses_what_is_not_an_s3_url() {
        for bad in [
            "slugs/x",
            "s3://",
            "s3:///x",
            "s3://a b/x",
            "s3://b/../x",
            "http://b",
            "s3://b/a\nb",
        ] {
            assert!(bad.parse::<Location>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_setting_is_local_or_a_bucket() {
        assert_eq!("local".parse().ok(), Some(SlugStoreSpec::Local));
        assert_eq!(
            "s3://slugs/prod"
                .parse::<SlugStoreSpec>()
                .map(|s| s.to_string())
                .ok(),
            Some("s3://slugs/prod".to_owned())
        );
        assert_eq!(
            "/srv/slugs"
                .parse::<SlugStoreSpec>()
                .unwrap_err()
                .to_string(),
            "slug_store '/srv/slugs' is neither `local` nor s3://BUCKET/PREFIX"
        );
        assert_eq!(
            "s3://".parse::<SlugStoreSpec>().unwrap_err().to_string(),
            "slug_store 's3://': no bucket"
        );
    }

    #[test]
    fn parses_endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:8333/").unwrap();
        assert_eq!(e.origin(), "http://127.0.0.1:8333");
        assert_eq!(e.base_path, "");
        let e = Endpoint::parse("HTTPS://Minio.Example.com:443/s3/").unwrap();
        assert_eq!(e.origin(), "https://minio.example.com");
        assert_eq!(e.base_path, "/s3");
        assert_eq!(e.to_string(), "https://minio.example.com/s3");
        let e = Endpoint::parse("http://[::1]:9000").unwrap();
        assert_eq!(e.authority(), "[::1]:9000");
        for bad in [
            "127.0.0.1:8333",
            "ftp://h",
            "http://",
            "http://h:x",
            "http://u:p@h",
            "http://h/?a",
            "http://[zz]:1",
            "http://h h",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Endpoint::parse("ftp://h").unwrap_err().to_string(),
            "s3_endpoint 'ftp://h': the scheme must be http or https"
        );
    }
}
