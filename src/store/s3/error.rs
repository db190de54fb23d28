//! What can go wrong talking to the store, each naming the operation, the object and the endpoint.

use std::io;
use std::path::PathBuf;

use super::credentials::CredentialsError;
use super::xml::XmlError;
use crate::base::http::AgentError;

/// A failed store operation. Every variant displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The settings cannot work (a bad `s3://` URL, endpoint, or digest).
    #[error("slug store settings: {0}")]
    Settings(String),
    /// The proxy or trusted-certificate settings cannot make an HTTP agent.
    #[error("slug store settings: {0}")]
    Http(#[from] AgentError),
    /// No credentials could be found.
    #[error("slug store credentials: {0}")]
    Credentials(#[from] CredentialsError),
    /// No connection could be made: refused, no such host, TLS or proxy failure,
    /// or the connect deadline passed.
    #[error("cannot reach the slug store at {endpoint}: {reason} (while {doing})")]
    Unreachable {
        /// `scheme://host:port` of the store.
        endpoint: String,
        /// What was being done, e.g. `uploading s3://bucket/key`.
        doing: String,
        /// Why, e.g. `connection refused`.
        reason: String,
    },
    /// Connected, but a deadline passed: the connection went quiet or the
    /// request took longer than its size allows.
    #[error("{doing} at {endpoint} timed out: {reason}")]
    TimedOut {
        /// `scheme://host:port` of the store.
        endpoint: String,
        /// What was being done.
        doing: String,
        /// Which deadline passed.
        reason: String,
    },
    /// Connected, but the exchange broke off (connection reset, bad HTTP).
    #[error("{doing} at {endpoint} failed: {reason}")]
    Broken {
        /// `scheme://host:port` of the store.
        endpoint: String,
        /// What was being done.
        doing: String,
        /// What happened.
        reason: String,
        /// The connection was closed mid-exchange (sending again may work),
        /// rather than something that would happen again.
        cut: bool,
    },
    /// The store refused: an S3 error answer.
    #[error(
        "{doing}: {} (HTTP {status} from {endpoint})",
        service_text(code, message)
    )]
    Service {
        /// `scheme://host:port` of the store.
        endpoint: String,
        /// What was being done.
        doing: String,
        /// The HTTP status.
        status: u16,
        /// The S3 error code (`NoSuchBucket`, `AccessDenied`, `SignatureDoesNotMatch`,
        /// `BadDigest`, ...); empty when the answer had no body, as for `HEAD`.
        code: String,
        /// The store's message, on one line.
        message: String,
    },
    /// The store answered something this client cannot make sense of.
    #[error("{doing}: unexpected answer from {endpoint}: {reason}")]
    BadAnswer {
        /// `scheme://host:port` of the store.
        endpoint: String,
        /// What was being done.
        doing: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The store answered XML this client cannot parse.
    #[error("{doing}: unexpected answer from {endpoint}: {reason}")]
    BadXml {
        /// `scheme://host:port` of the store.
        endpoint: String,
        /// What was being done.
        doing: String,
        /// What is wrong with it.
        #[source]
        reason: XmlError,
    },
    /// A local file could not be read or written.
    #[error("{doing}: {}: {source}", path.display())]
    Local {
        /// What was being done.
        doing: String,
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The file being uploaded is not the one declared (it changed, or the digest was wrong).
    #[error("{doing}: {} {problem}", path.display())]
    NotAsDeclared {
        /// What was being done.
        doing: String,
        /// The file.
        path: PathBuf,
        /// How it differs, e.g. `is 10 bytes, not the 12 it was declared with`.
        problem: String,
    },
}

impl Error {
    /// Whether the same request may well succeed if sent again: a cut connection,
    /// a refused one (a store restarting), a throttle or a 5xx, as the AWS SDKs
    /// retry. Timeouts are not: their deadlines already allow for the size.
    pub fn may_pass(&self) -> bool {
        match self {
            Error::Broken { cut, .. } => *cut,
            Error::Unreachable { reason, .. } => reason == "connection refused",
            Error::Service { status, code, .. } => {
                matches!(status, 429 | 500 | 502 | 503 | 504)
                    || matches!(
                        code.as_str(),
                        "SlowDown" | "InternalError" | "ServiceUnavailable" | "RequestTimeout"
                    )
            }
            _ => false,
        }
    }
}

fn service_text(code: &str, message: &str) -> String {
    match (code.is_empty(), message.is_empty()) {
        (true, _) => message.to_owned(),
        (false, true) => code.to_owned(),
        (false, false) => format!("{code}: {message}"),
    }
}

impl Error {
    /// The S3 error code, when the store answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Service { code, .. } if !code.is_empty() => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, when the store answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Service { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// `text` on one line, control characters made spaces, at most `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let cleaned: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > max {
        out = out.chars().take(max).collect::<String>() + "…";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_error_reads_as_one_line() {
        let e = Error::Service {
            endpoint: "http://127.0.0.1:8333".to_owned(),
            doing: "uploading s3://slugs/app/a.tgz".to_owned(),
            status: 400,
            code: "BadDigest".to_owned(),
            message: "The Content-MD5 you specified did not match what we received.".to_owned(),
        };
        assert_eq!(
            e.to_string(),
            "uploading s3://slugs/app/a.tgz: BadDigest: The Content-MD5 you specified did not \
             match what we received. (HTTP 400 from http://127.0.0.1:8333)"
        );
        assert_eq!(e.code(), Some("BadDigest"));
        assert_eq!(e.status(), Some(400));
    }

    #[test]
    fn unreachable_reads_as_the_issue_asks() {
        let e = Error::Unreachable {
            endpoint: "http://127.0.0.1:8333".to_owned(),
            doing: "checking s3://slugs/a".to_owned(),
            reason: "connection refused".to_owned(),
        };
        assert_eq!(
            e.to_string(),
            "cannot reach the slug store at http://127.0.0.1:8333: connection refused \
             (while checking s3://slugs/a)"
        );
        assert_eq!(e.code(), None);
    }

    #[test]
    fn one_line_flattens_and_shortens() {
        assert_eq!(one_line("  a\n\tb\r\n c  ", 100), "a b c");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }
}
