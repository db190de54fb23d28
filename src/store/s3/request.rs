//! Signed requests: building, sending and sorting their failures, and reading S3's answers and errors.

use std::io::{self, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use ureq::http::Response;

use super::client::{Client, MAX_ANSWER, MAX_ERROR_BODY};
use super::error::{Error, one_line};
use super::sign::{self, amz_date, canonical_query};
use super::upload::Counted;
use super::xml;
use crate::base::http::{self, Failure};

pub(super) enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    Reader(&'a mut dyn Read, u64),
}

pub(super) struct Call<'a> {
    pub(super) method: &'static str,
    /// The full object key, or `None` for the bucket itself.
    pub(super) key: Option<&'a str>,
    pub(super) query: &'a [(&'a str, &'a str)],
    /// Extra headers, all signed.
    pub(super) headers: &'a [(&'static str, String)],
    pub(super) payload_hash: &'a str,
    pub(super) body: Body<'a>,
    /// The whole-request deadline; `None` leaves the caller to keep time (downloads).
    pub(super) deadline: Option<Duration>,
    pub(super) doing: &'a str,
}

/// How many times a request is sent when the store fails in a way that may pass.
const ATTEMPTS: u32 = 3;
/// The pause before the second attempt; it doubles before each later one.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// A failure that took longer than this is final: its deadline was already
/// waited out once (a proxy's `504` after its own minute, a cut late in a
/// long upload), and three of them would triple the wait.
const QUICK: Duration = Duration::from_secs(10);

impl Client {
    /// Runs `attempt` until it succeeds, fails in a way that will not pass
    /// ([`Error::may_pass`]) or slowly, or has been made [`ATTEMPTS`] times.
    pub(super) fn retrying<T>(
        &self,
        attempt: impl FnMut() -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.retrying_within(&mut (ATTEMPTS - 1), attempt)
    }

    /// Like [`Client::retrying`], each retry also taken from `budget`, which
    /// the requests of one upload share: a store that keeps failing some of
    /// them ends the upload instead of slowing every part.
    pub(super) fn retrying_within<T>(
        &self,
        budget: &mut u32,
        mut attempt: impl FnMut() -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut pause = FIRST_PAUSE;
        for _ in 1..ATTEMPTS {
            let started = Instant::now();
            match attempt() {
                Err(e) if e.may_pass() && started.elapsed() < QUICK && *budget > 0 => {
                    *budget -= 1;
                    std::thread::sleep(pause);
                    pause *= 2;
                }
                done => return done,
            }
        }
        attempt()
    }

    pub(super) fn send(&self, call: Call<'_>) -> Result<Response<ureq::Body>, Error> {
        let path = match call.key {
            Some(key) => self.object_path(key),
            None if self.bucket_path.is_empty() => "/".to_owned(),
            None => self.bucket_path.clone(),
        };
        let query = canonical_query(call.query);
        let url = if query.is_empty() {
            format!("{}{path}", self.origin)
        } else {
            format!("{}{path}?{query}", self.origin)
        };
        let now = (self.clock)();
        let (amz_now, _) = amz_date(now);
        let mut signed: Vec<(&str, &str)> = vec![
            ("host", &self.authority),
            ("x-amz-date", &amz_now),
            ("x-amz-content-sha256", call.payload_hash),
        ];
        if let Some(token) = self.credentials.session_token() {
            signed.push(("x-amz-security-token", token));
        }
        for (name, value) in call.headers {
            signed.push((name, value));
        }
        let authorization = self.signer().authorization(
            &sign::Request {
                method: call.method,
                path: &path,
                query: call.query,
                headers: &signed,
                payload_hash: call.payload_hash,
            },
            now,
        );
        let mut builder = ureq::http::Request::builder().method(call.method).uri(&url);
        for (name, value) in &signed {
            builder = builder.header(*name, *value);
        }
        builder = builder.header("authorization", authorization);
        // Each arm runs its own request: SendBody is invariant in its lifetime.
        match call.body {
            Body::Empty if matches!(call.method, "PUT" | "POST") => self.run(
                builder.header("content-length", "0"),
                ureq::SendBody::none(),
                call.deadline,
                call.doing,
            ),
            Body::Empty => self.run(builder, ureq::SendBody::none(), call.deadline, call.doing),
            Body::Bytes(bytes) => {
                let mut slice = bytes;
                self.run(
                    builder.header("content-length", bytes.len().to_string()),
                    ureq::SendBody::from_reader(&mut slice),
                    call.deadline,
                    call.doing,
                )
            }
            Body::Reader(reader, len) => self.run(
                builder
                    .header("content-length", len.to_string())
                    .header("expect", "100-continue"),
                ureq::SendBody::from_reader(reader),
                call.deadline,
                call.doing,
            ),
        }
    }

    pub(super) fn run(
        &self,
        builder: ureq::http::request::Builder,
        body: ureq::SendBody<'_>,
        deadline: Option<Duration>,
        doing: &str,
    ) -> Result<Response<ureq::Body>, Error> {
        let request = builder
            .body(body)
            .map_err(|e| Error::Settings(format!("{doing}: cannot make the request: {e}")))?;
        let request = http::with_deadline(&self.agent, request, deadline);
        self.agent
            .run(request)
            .map_err(|e| self.failure(&e, doing, deadline))
    }

    pub(super) fn failure(
        &self,
        error: &ureq::Error,
        doing: &str,
        deadline: Option<Duration>,
    ) -> Error {
        let endpoint = self.origin.clone();
        let doing = doing.to_owned();
        match http::classify(
            error,
            &self.timeouts,
            deadline.unwrap_or(self.timeouts.base),
        ) {
            Failure::Unreachable(reason) => Error::Unreachable {
                endpoint,
                doing,
                reason,
            },
            Failure::TimedOut(reason) => Error::TimedOut {
                endpoint,
                doing,
                reason,
            },
            Failure::Broken(reason) => Error::Broken {
                endpoint,
                doing,
                reason,
                cut: false,
            },
            Failure::Cut(reason) => Error::Broken {
                endpoint,
                doing,
                reason,
                cut: true,
            },
        }
    }

    pub(super) fn read_failure(&self, error: &io::Error, doing: &str, started: Instant) -> Error {
        let inner = error
            .get_ref()
            .and_then(|e| e.downcast_ref::<ureq::Error>());
        match inner {
            Some(e) => self.failure(e, doing, Some(started.elapsed())),
            None => self.failure(
                &ureq::Error::Io(io::Error::new(error.kind(), error.to_string())),
                doing,
                Some(started.elapsed()),
            ),
        }
    }

    /// A failed upload caused by the local file is reported as such, not as a network failure.
    pub(super) fn local_first<R>(
        &self,
        result: Result<Response<ureq::Body>, Error>,
        body: &mut Counted<'_, R>,
        path: &Path,
        doing: &str,
    ) -> Result<Response<ureq::Body>, Error> {
        if let Some(source) = body.failed.take() {
            return Err(Error::Local {
                doing: doing.to_owned(),
                path: path.to_owned(),
                source,
            });
        }
        if body.ended_early {
            return Err(self.shrunk(path, doing));
        }
        result
    }

    pub(super) fn shrunk(&self, path: &Path, doing: &str) -> Error {
        Error::NotAsDeclared {
            doing: doing.to_owned(),
            path: path.to_owned(),
            problem: "got shorter while it was being uploaded".to_owned(),
        }
    }

    pub(super) fn expect_success(
        &self,
        response: Response<ureq::Body>,
        doing: &str,
    ) -> Result<Response<ureq::Body>, Error> {
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(self.refusal(response, doing))
        }
    }

    /// The root element of a successful XML answer; an error status, or an `<Error>` root
    /// even under 200, becomes [`Error::Service`].
    pub(super) fn xml_answer(
        &self,
        response: Response<ureq::Body>,
        doing: &str,
    ) -> Result<xml::Element, Error> {
        let status = response.status().as_u16();
        let response = self.expect_success(response, doing)?;
        let text = response
            .into_body()
            .into_with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| self.failure(&e, doing, None))?;
        let root = xml::parse(&text).map_err(|reason| Error::BadXml {
            endpoint: self.origin.clone(),
            doing: doing.to_owned(),
            reason,
        })?;
        if root.name == "Error" {
            return Err(self.service_error(status, &root, doing));
        }
        Ok(root)
    }

    pub(super) fn service_error(&self, status: u16, root: &xml::Element, doing: &str) -> Error {
        Error::Service {
            endpoint: self.origin.clone(),
            doing: doing.to_owned(),
            status,
            code: one_line(root.child_text("Code").unwrap_or_default(), 100),
            message: one_line(root.child_text("Message").unwrap_or_default(), 300),
        }
    }

    /// An error answer as [`Error::Service`], with the S3 code and message when there is a body.
    pub(super) fn refusal(&self, response: Response<ureq::Body>, doing: &str) -> Error {
        let status = response.status();
        let reason = status.canonical_reason().unwrap_or("error").to_owned();
        let text = response
            .into_body()
            .into_with_config()
            .limit(MAX_ERROR_BODY)
            .lossy_utf8(true)
            .read_to_string()
            .unwrap_or_default();
        match xml::parse(&text) {
            Ok(root) if root.name == "Error" => self.service_error(status.as_u16(), &root, doing),
            _ => Error::Service {
                endpoint: self.origin.clone(),
                doing: doing.to_owned(),
                status: status.as_u16(),
                code: String::new(),
                message: if text.trim().is_empty() || text.trim_start().starts_with('<') {
                    reason
                } else {
                    format!("{reason}: {}", one_line(&text, 200))
                },
            },
        }
    }

    pub(super) fn bad_answer(&self, doing: &str, reason: &str) -> Error {
        Error::BadAnswer {
            endpoint: self.origin.clone(),
            doing: doing.to_owned(),
            reason: reason.to_owned(),
        }
    }
}

pub(super) fn header<'a>(response: &'a Response<ureq::Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}
