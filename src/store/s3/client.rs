//! The store client: settings, head, hashing download, delete, list, presign, bucket creation.
//!
//! Uploads are in [`super::upload`], the signed requests and their failures in [`super::request`].

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::credentials::Credentials;
use super::encode::{hex, uri_encode};
use super::error::Error;
use super::request::{Body, Call, header};
use super::sign::{self, Signer};
use crate::base::http::{self, HttpSettings, Timeouts};
use crate::model::slug_store::{Endpoint, Location};

/// Where the time to sign requests with comes from; the edge passes `jiff::Timestamp::now`.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Files up to this size go up in one PUT. A single PUT reads the file once and
/// needs no hashing beyond the digest the caller knows; parts are read twice
/// (each part's digest must be sent before its bytes).
pub const DEFAULT_SINGLE_PUT_MAX: u64 = 512 << 20;
/// Larger files go up in parts of this size.
pub const DEFAULT_PART_SIZE: u64 = 16 << 20;
/// S3's smallest part (all but the last).
pub const MIN_PART_SIZE: u64 = 5 << 20;
/// S3's largest part, and largest single PUT.
pub const MAX_PART_SIZE: u64 = 5 << 30;
/// S3's most parts in one upload.
pub const MAX_PARTS: u64 = 10_000;
/// S3's largest object.
pub const MAX_OBJECT_SIZE: u64 = 5 << 40;

pub(super) const BUFFER: usize = 256 * 1024;
pub(super) const MAX_ANSWER: u64 = 16 << 20;
pub(super) const MAX_ERROR_BODY: u64 = 64 * 1024;
pub(super) const NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// How to reach a store.
#[derive(Clone)]
pub struct Config {
    /// `s3://BUCKET/PREFIX`.
    pub location: Location,
    /// The S3-compatible server; AWS when `None`.
    pub endpoint: Option<Endpoint>,
    /// The region to sign for; `us-east-1` when `None` (R2 wants `auto`).
    pub region: Option<String>,
    /// Bucket in the path (`host/bucket/key`) rather than the host name
    /// (`bucket.host/key`). Default: path-style with an endpoint, virtual-hosted
    /// on AWS except for bucket names with dots.
    pub path_style: Option<bool>,
    /// The keys.
    pub credentials: Credentials,
    /// Proxies, deadlines, trusted roots.
    pub http: HttpSettings,
    /// The time to sign with.
    pub clock: Clock,
    /// Files up to this size are uploaded in one PUT; at most [`MAX_PART_SIZE`].
    pub single_put_max: u64,
    /// Larger files are uploaded in parts of this size (more for files over
    /// 10,000 parts); between [`MIN_PART_SIZE`] and [`MAX_PART_SIZE`].
    pub part_size: u64,
    /// Keys asked for per list request, 1 to 1000.
    pub list_page_size: u32,
}

impl Config {
    /// A configuration for AWS with default HTTP settings, part size and page size.
    pub fn new(
        location: Location,
        credentials: Credentials,
        clock: impl Fn() -> Timestamp + Send + Sync + 'static,
    ) -> Config {
        Config {
            location,
            endpoint: None,
            region: None,
            path_style: None,
            credentials,
            http: HttpSettings::default(),
            clock: Arc::new(clock),
            single_put_max: DEFAULT_SINGLE_PUT_MAX,
            part_size: DEFAULT_PART_SIZE,
            list_page_size: 1000,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("location", &self.location)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("credentials", &self.credentials)
            .field("http", &self.http)
            .field("single_put_max", &self.single_put_max)
            .field("part_size", &self.part_size)
            .field("list_page_size", &self.list_page_size)
            .finish_non_exhaustive()
    }
}

/// A connection to one `s3://BUCKET/PREFIX`. Keys given to its methods are relative to the prefix.
pub struct Client {
    pub(super) location: Location,
    /// `scheme://host[:port]`, for URLs and messages.
    pub(super) origin: String,
    /// The `Host` header.
    pub(super) authority: String,
    /// The path of the bucket: `/bucket` path-style, empty virtual-hosted (plus any base path).
    pub(super) bucket_path: String,
    pub(super) region: String,
    pub(super) credentials: Credentials,
    pub(super) agent: ureq::Agent,
    pub(super) timeouts: Timeouts,
    pub(super) clock: Clock,
    pub(super) single_put_max: u64,
    pub(super) part_size: u64,
    pub(super) list_page_size: u32,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("location", &self.location)
            .field("origin", &self.origin)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `config`; fails on unusable settings (nothing is sent).
    pub fn new(config: Config) -> Result<Client, Error> {
        let Config {
            location,
            endpoint,
            region,
            path_style,
            credentials,
            http: http_settings,
            clock,
            single_put_max,
            part_size,
            list_page_size,
        } = config;
        let region = region
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| "us-east-1".to_owned());
        if !region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(Error::Settings(format!(
                "region {region:?} is not a region name"
            )));
        }
        let bucket = &location.bucket;
        let (endpoint, virtual_host) = match endpoint {
            Some(mut e) => {
                let virtual_host = path_style == Some(false);
                if virtual_host {
                    e.host = format!("{bucket}.{}", e.host);
                }
                (e, virtual_host)
            }
            None => {
                let suffix = if region.starts_with("cn-") {
                    "amazonaws.com.cn"
                } else {
                    "amazonaws.com"
                };
                let virtual_host = path_style != Some(true) && !bucket.contains('.');
                let host = if virtual_host {
                    format!("{bucket}.s3.{region}.{suffix}")
                } else {
                    format!("s3.{region}.{suffix}")
                };
                let endpoint = Endpoint {
                    scheme: "https".to_owned(),
                    host,
                    port: None,
                    base_path: String::new(),
                };
                (endpoint, virtual_host)
            }
        };
        let bucket_path = if virtual_host {
            endpoint.base_path.clone()
        } else {
            format!("{}/{}", endpoint.base_path, uri_encode(bucket, false))
        };
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&part_size) {
            return Err(Error::Settings(format!(
                "part size {part_size} is outside S3's {MIN_PART_SIZE}..={MAX_PART_SIZE}"
            )));
        }
        if single_put_max > MAX_PART_SIZE {
            return Err(Error::Settings(format!(
                "single PUT size {single_put_max} is over S3's {MAX_PART_SIZE}"
            )));
        }
        if !(1..=1000).contains(&list_page_size) {
            return Err(Error::Settings(format!(
                "list page size {list_page_size} is outside 1..=1000"
            )));
        }
        let agent = http::agent(&http_settings, &endpoint.scheme, &endpoint.host, 0)?;
        Ok(Client {
            location,
            origin: endpoint.origin(),
            authority: endpoint.authority(),
            bucket_path,
            region,
            credentials,
            agent,
            timeouts: http_settings.timeouts,
            clock,
            single_put_max,
            part_size,
            list_page_size,
        })
    }

    /// The store's `s3://BUCKET/PREFIX`.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// `scheme://host[:port]` requests go to.
    pub fn endpoint(&self) -> &str {
        &self.origin
    }

    /// The size of `key`, or `None` when there is no such object.
    pub fn head(&self, key: &str) -> Result<Option<u64>, Error> {
        let full = self.location.key(key);
        let doing = format!("checking {}", self.location.url_of(key));
        self.retrying(|| {
            let response = self.send(Call {
                method: "HEAD",
                key: Some(&full),
                query: &[],
                headers: &[],
                payload_hash: sign::EMPTY_SHA256,
                body: Body::Empty,
                deadline: Some(self.timeouts.base),
                doing: &doing,
            })?;
            match response.status().as_u16() {
                404 => Ok(None),
                200..=299 => match header(&response, "content-length").and_then(|v| v.parse().ok())
                {
                    Some(size) => Ok(Some(size)),
                    None => Err(self.bad_answer(&doing, "no Content-Length")),
                },
                _ => Err(self.refusal(response, &doing)),
            }
        })
    }

    /// Downloads `key` into `dest` (created or truncated), hashing on the way;
    /// returns the size and the hex SHA-256 for the caller to check.
    pub fn get_to_file(&self, key: &str, dest: &Path) -> Result<(u64, String), Error> {
        let doing = format!("downloading {}", self.location.url_of(key));
        let mut out = File::create(dest).map_err(|source| Error::Local {
            doing,
            path: dest.to_owned(),
            source,
        })?;
        self.get(key, &mut out, dest)
    }

    /// Downloads `key` into `out` (the file `dest`, which only names it in errors),
    /// hashing on the way; returns the size and the hex SHA-256 for the caller to check.
    pub fn get(&self, key: &str, out: &mut dyn Write, dest: &Path) -> Result<(u64, String), Error> {
        let full = self.location.key(key);
        let doing = format!("downloading {}", self.location.url_of(key));
        // Only the request is sent again: once bytes reach `out`, a failure is final.
        let response = self.retrying(|| {
            let response = self.send(Call {
                method: "GET",
                key: Some(&full),
                query: &[],
                headers: &[],
                payload_hash: sign::EMPTY_SHA256,
                body: Body::Empty,
                deadline: None,
                doing: &doing,
            })?;
            self.expect_success(response, &doing)
        })?;
        let started = Instant::now();
        let expected: Option<u64> =
            header(&response, "content-length").and_then(|v| v.parse().ok());
        let local = |source| Error::Local {
            doing: doing.clone(),
            path: dest.to_owned(),
            source,
        };
        let mut reader = response
            .into_body()
            .into_with_config()
            .limit(u64::MAX)
            .reader();
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; BUFFER];
        let mut size = 0u64;
        loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_failure(&e, &doing, started)),
            };
            let chunk = buffer.get(..n).unwrap_or_default();
            out.write_all(chunk).map_err(local)?;
            hasher.update(chunk);
            size += n as u64;
            let allowed = self.timeouts.for_bytes(expected.unwrap_or(0).max(size));
            if started.elapsed() > allowed {
                return Err(Error::TimedOut {
                    endpoint: self.origin.clone(),
                    doing,
                    reason: format!(
                        "{size} bytes in {}, slower than {} bytes/s",
                        http::secs(started.elapsed()),
                        self.timeouts.min_rate
                    ),
                });
            }
        }
        if let Some(expected) = expected
            && expected != size
        {
            return Err(Error::Broken {
                endpoint: self.origin.clone(),
                doing,
                reason: format!("got {size} of {expected} bytes"),
                cut: true,
            });
        }
        Ok((size, hex(&hasher.finalize())))
    }

    /// Deletes `key`; deleting what is not there succeeds, as in S3.
    pub fn delete(&self, key: &str) -> Result<(), Error> {
        let doing = format!("deleting {}", self.location.url_of(key));
        self.send_delete(&self.location.key(key), &[], &doing)
    }

    /// A DELETE of the full key `full` (with `query`, for a multipart upload); a 404 is success, as in S3.
    pub(super) fn send_delete(
        &self,
        full: &str,
        query: &[(&str, &str)],
        doing: &str,
    ) -> Result<(), Error> {
        self.retrying(|| {
            let response = self.send(Call {
                method: "DELETE",
                key: Some(full),
                query,
                headers: &[],
                payload_hash: sign::EMPTY_SHA256,
                body: Body::Empty,
                deadline: Some(self.timeouts.base),
                doing,
            })?;
            match response.status().as_u16() {
                200..=299 | 404 => Ok(()),
                _ => Err(self.refusal(response, doing)),
            }
        })
    }

    /// Every key under `prefix` (relative to the store's prefix) with its size,
    /// in S3's order, across as many ListObjectsV2 pages as it takes.
    pub fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, Error> {
        let full_prefix = self.location.key(prefix);
        let doing = format!("listing s3://{}/{full_prefix}*", self.location.bucket);
        let page_size = self.list_page_size.to_string();
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![
                ("list-type", "2"),
                ("prefix", full_prefix.as_str()),
                ("max-keys", page_size.as_str()),
            ];
            if let Some(token) = &token {
                query.push(("continuation-token", token.as_str()));
            }
            let page = self.retrying(|| {
                let response = self.send(Call {
                    method: "GET",
                    key: None,
                    query: &query,
                    headers: &[],
                    payload_hash: sign::EMPTY_SHA256,
                    body: Body::Empty,
                    deadline: Some(self.timeouts.base),
                    doing: &doing,
                })?;
                self.xml_answer(response, &doing)
            })?;
            if page.name != "ListBucketResult" {
                return Err(
                    self.bad_answer(&doing, &format!("<{}> instead of a listing", page.name))
                );
            }
            for entry in page.children_named("Contents") {
                let key = entry
                    .child_text("Key")
                    .ok_or_else(|| self.bad_answer(&doing, "an entry without a Key"))?;
                let size = entry
                    .child_text("Size")
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .ok_or_else(|| self.bad_answer(&doing, &format!("no size for {key:?}")))?;
                if let Some(relative) = self.location.relative(key) {
                    found.push((relative.to_owned(), size));
                }
            }
            if page.child_text("IsTruncated").map(str::trim) != Some("true") {
                return Ok(found);
            }
            let next = page
                .child_text("NextContinuationToken")
                .filter(|t| !t.is_empty())
                .ok_or_else(|| self.bad_answer(&doing, "truncated, but no continuation token"))?;
            if token.as_deref() == Some(next) {
                return Err(self.bad_answer(&doing, "the same continuation token twice"));
            }
            token = Some(next.to_owned());
        }
    }

    /// A URL that lets anyone GET `key` (with curl, say) for `ttl` after `now`;
    /// the lifetime is clamped to SigV4's 1 s to 7 days.
    pub fn presign_get(&self, key: &str, ttl: Duration, now: Timestamp) -> String {
        let path = self.object_path(&self.location.key(key));
        let query = self
            .signer()
            .presign("GET", &self.authority, &path, &[], ttl.as_secs(), now);
        format!("{}{path}?{query}", self.origin)
    }

    /// Creates the bucket; one that already exists and is ours is fine.
    pub fn create_bucket(&self) -> Result<(), Error> {
        let doing = format!("creating the bucket s3://{}", self.location.bucket);
        let body = if self.region == "us-east-1" || self.region == "auto" {
            String::new()
        } else {
            format!(
                "<CreateBucketConfiguration xmlns=\"{NAMESPACE}\"><LocationConstraint>{}\
                 </LocationConstraint></CreateBucketConfiguration>",
                self.region
            )
        };
        let response = self.send(Call {
            method: "PUT",
            key: None,
            query: &[],
            headers: &[],
            payload_hash: &hex(&sign::sha256(body.as_bytes())),
            body: if body.is_empty() {
                Body::Empty
            } else {
                Body::Bytes(body.as_bytes())
            },
            deadline: Some(self.timeouts.base),
            doing: &doing,
        })?;
        match self.expect_success(response, &doing) {
            Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => Ok(()),
            other => other.map(drop),
        }
    }

    pub(super) fn signer(&self) -> Signer<'_> {
        Signer {
            credentials: &self.credentials,
            region: &self.region,
            service: "s3",
        }
    }

    pub(super) fn object_path(&self, full_key: &str) -> String {
        format!("{}/{}", self.bucket_path, uri_encode(full_key, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(endpoint: Option<&str>, bucket: &str) -> Config {
        let mut c = Config::new(
            format!("s3://{bucket}/p").parse().unwrap(),
            Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                None,
            ),
            || "2013-05-24T00:00:00Z".parse().unwrap(),
        );
        c.endpoint = endpoint.map(|e| Endpoint::parse(e).unwrap());
        c
    }

    #[test]
    fn aws_is_virtual_hosted_and_dotted_buckets_path_style() {
        let c = Client::new(config(None, "examplebucket")).unwrap();
        assert_eq!(
            c.endpoint(),
            "https://examplebucket.s3.us-east-1.amazonaws.com"
        );
        assert_eq!(c.object_path("p/a b"), "/p/a%20b");
        let c = Client::new(config(None, "my.bucket")).unwrap();
        assert_eq!(c.endpoint(), "https://s3.us-east-1.amazonaws.com");
        assert_eq!(c.object_path("p/a"), "/my.bucket/p/a");
        let mut cn = config(None, "b");
        cn.region = Some("cn-north-1".to_owned());
        assert_eq!(
            Client::new(cn).unwrap().endpoint(),
            "https://b.s3.cn-north-1.amazonaws.com.cn"
        );
    }

    #[test]
    fn an_endpoint_means_path_style_unless_told_otherwise() {
        let c = Client::new(config(Some("http://127.0.0.1:8333"), "slugs")).unwrap();
        assert_eq!(c.endpoint(), "http://127.0.0.1:8333");
        assert_eq!(c.object_path("p/x.tgz"), "/slugs/p/x.tgz");
        let mut v = config(Some("https://r2.example.com"), "slugs");
        v.path_style = Some(false);
        let c = Client::new(v).unwrap();
        assert_eq!(c.endpoint(), "https://slugs.r2.example.com");
        assert_eq!(c.object_path("p/x"), "/p/x");
    }

    #[test]
    fn presigned_urls_match_the_aws_example() {
        let mut c = config(None, "examplebucket");
        c.location = "s3://examplebucket".parse().unwrap();
        let c = Client::new(c).unwrap();
        let url = c.presign_get(
            "test.txt",
            Duration::from_secs(86400),
            "2013-05-24T00:00:00Z".parse().unwrap(),
        );
        // The documented example is signed for the global host name.
        assert!(url.starts_with(
            "https://examplebucket.s3.us-east-1.amazonaws.com/test.txt?X-Amz-Algorithm="
        ));
        assert!(url.contains("X-Amz-Expires=86400"));
    }

    #[test]
    fn bad_settings_are_refused_before_anything_is_sent() {
        let mut c = config(Some("http://h"), "b");
        c.part_size = 1 << 20;
        assert!(matches!(Client::new(c), Err(Error::Settings(_))));
        let mut c = config(Some("http://h"), "b");
        c.list_page_size = 0;
        assert!(matches!(Client::new(c), Err(Error::Settings(_))));
        let mut c = config(Some("http://h"), "b");
        c.region = Some("us east".to_owned());
        assert!(matches!(Client::new(c), Err(Error::Settings(_))));
    }

    #[test]
    fn a_bad_digest_is_refused_before_anything_is_sent() {
        let c = Client::new(config(Some("http://127.0.0.1:9"), "b")).unwrap();
        let e = c
            .put_file("k", Path::new("/nonexistent"), "xyz", 0, &mut |_| {})
            .unwrap_err();
        assert!(matches!(e, Error::Settings(_)), "{e}");
    }
}
