//! Uploads: one checksummed PUT, or a multipart upload whose every part the store checks.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::client::{BUFFER, Client, MAX_OBJECT_SIZE, MAX_PARTS, NAMESPACE};

/// Retries the requests of one multipart upload may take in all, across its parts.
const UPLOAD_RETRIES: u32 = 8;
use super::encode::{base64, hex, sha256_from_hex};
use super::error::Error;
use super::request::{Body, Call, header};
use super::sign;
use super::xml;

/// Counts bytes handed to the HTTP client, reports them, and remembers local read errors.
pub(super) struct Counted<'a, R> {
    pub(super) inner: R,
    pub(super) sent: u64,
    pub(super) progress: &'a mut dyn FnMut(u64),
    pub(super) failed: Option<io::Error>,
    pub(super) ended_early: bool,
    pub(super) expected_end: u64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(0) => {
                self.ended_early = self.sent < self.expected_end;
                Ok(0)
            }
            Ok(n) => {
                self.sent += n as u64;
                (self.progress)(self.sent);
                Ok(n)
            }
            Err(e) => {
                self.failed = Some(io::Error::new(e.kind(), e.to_string()));
                Err(e)
            }
        }
    }
}

/// One file on its way up: what is known of it, and where it goes.
struct Upload<'a> {
    /// The full object key.
    full: String,
    /// `s3://bucket/key`, for messages.
    url: String,
    path: &'a Path,
    file: File,
    digest: [u8; 32],
    size: u64,
}

impl Upload<'_> {
    /// An error reading the local file while `doing`.
    fn local(&self, doing: &str) -> impl Fn(io::Error) -> Error + '_ {
        let doing = doing.to_owned();
        move |source| Error::Local {
            doing: doing.clone(),
            path: self.path.to_owned(),
            source,
        }
    }

    /// `len` bytes of the file from `offset`, counted into `progress` as they go.
    fn body<'p>(
        &mut self,
        offset: u64,
        len: u64,
        progress: &'p mut dyn FnMut(u64),
        doing: &str,
    ) -> Result<Counted<'p, io::Take<&mut File>>, Error> {
        let path = self.path;
        self.file
            .seek(SeekFrom::Start(offset))
            .map_err(|source| Error::Local {
                doing: doing.to_owned(),
                path: path.to_owned(),
                source,
            })?;
        Ok(Counted {
            inner: (&mut self.file).take(len),
            sent: offset,
            progress,
            failed: None,
            ended_early: false,
            expected_end: offset + len,
        })
    }
}

impl Client {
    /// Uploads the file at `path` as `key`. `sha256_hex` and `size` are what the
    /// caller knows the file to be; the store is made to check every byte against
    /// them (see the crate docs). Files up to `single_put_max` go up in one PUT, larger
    /// ones in parts read one at a time; a failed multipart upload is aborted.
    /// `progress` is told the bytes sent so far. A request the store fails in a
    /// way that may pass (see [`Error::may_pass`]) is sent again, from the file.
    pub fn put_file(
        &self,
        key: &str,
        path: &Path,
        sha256_hex: &str,
        size: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        let url = self.location.url_of(key);
        let doing = format!("uploading {url}");
        let digest = sha256_from_hex(sha256_hex).ok_or_else(|| {
            Error::Settings(format!("{sha256_hex:?} is not a SHA-256 in hex ({doing})"))
        })?;
        let local = |source| Error::Local {
            doing: doing.clone(),
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(local)?;
        let actual = file.metadata().map_err(local)?.len();
        if actual != size {
            return Err(Error::NotAsDeclared {
                doing,
                path: path.to_owned(),
                problem: format!("is {actual} bytes, not the {size} it was declared with"),
            });
        }
        if size > MAX_OBJECT_SIZE {
            return Err(Error::NotAsDeclared {
                doing,
                path: path.to_owned(),
                problem: format!("is {size} bytes, more than S3's {MAX_OBJECT_SIZE} limit"),
            });
        }
        let mut upload = Upload {
            full: self.location.key(key),
            url,
            path,
            file,
            digest,
            size,
        };
        // A request sent again starts over from its first byte: progress is
        // told only of bytes past the furthest it has heard of.
        let mut furthest = 0;
        let progress = &mut |sent: u64| {
            if sent > furthest {
                furthest = sent;
                progress(sent);
            }
        };
        if size <= self.single_put_max {
            self.put_single(&mut upload, progress)
        } else {
            self.put_multipart(&mut upload, progress)
        }
    }

    fn put_single(&self, up: &mut Upload, progress: &mut dyn FnMut(u64)) -> Result<(), Error> {
        let doing = format!("uploading {}", up.url);
        let headers = [("x-amz-checksum-sha256", base64(&up.digest))];
        let payload_hash = hex(&up.digest);
        self.retrying(|| {
            let size = up.size;
            let full = up.full.clone();
            let path = up.path;
            let mut body = up.body(0, size, progress, &doing)?;
            let result = self.send(Call {
                method: "PUT",
                key: Some(&full),
                query: &[],
                headers: &headers,
                payload_hash: &payload_hash,
                body: Body::Reader(&mut body, size),
                deadline: Some(self.timeouts.for_bytes(size)),
                doing: &doing,
            });
            let response = self.local_first(result, &mut body, path, &doing)?;
            self.expect_success(response, &doing).map(drop)
        })
    }

    fn put_multipart(&self, up: &mut Upload, progress: &mut dyn FnMut(u64)) -> Result<(), Error> {
        let doing = format!("starting a multipart upload of {}", up.url);
        let headers = [("x-amz-checksum-algorithm", "SHA256".to_owned())];
        let upload_id = self.retrying(|| {
            let response = self.send(Call {
                method: "POST",
                key: Some(&up.full),
                query: &[("uploads", "")],
                headers: &headers,
                payload_hash: sign::EMPTY_SHA256,
                body: Body::Empty,
                deadline: Some(self.timeouts.base),
                doing: &doing,
            })?;
            let answer = self.xml_answer(response, &doing)?;
            answer
                .child_text("UploadId")
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| self.bad_answer(&doing, "no UploadId"))
        })?;

        let result = self.upload_parts(up, &upload_id, progress);
        if result.is_err() {
            // Best effort, but tried as hard as the rest (parts left behind are
            // billed): the error that matters is the one already in hand.
            let doing = format!("aborting the multipart upload of {}", up.url);
            let _ = self.send_delete(&up.full, &[("uploadId", &upload_id)], &doing);
        }
        result
    }

    fn upload_parts(
        &self,
        up: &mut Upload,
        upload_id: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        let size = up.size;
        let part_size = self
            .part_size
            .max(size.div_ceil(MAX_PARTS).div_ceil(1 << 20) << 20);
        let parts = size.div_ceil(part_size);
        let mut whole = Sha256::new();
        let mut done: Vec<(u64, String, String)> = Vec::new();
        let mut retries = UPLOAD_RETRIES;
        let mut buffer = vec![0u8; BUFFER];
        for number in 1..=parts {
            let doing = format!("uploading part {number} of {parts} of {}", up.url);
            let offset = (number - 1) * part_size;
            let len = part_size.min(size - offset);
            // First pass: the part's digest, which goes in the headers before the bytes.
            up.file
                .seek(SeekFrom::Start(offset))
                .map_err(up.local(&doing))?;
            let mut part_hash = Sha256::new();
            let mut reader = (&mut up.file).take(len);
            let mut read = 0u64;
            loop {
                let n = match reader.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(up.local(&doing)(e)),
                };
                let chunk = buffer.get(..n).unwrap_or_default();
                part_hash.update(chunk);
                whole.update(chunk);
                read += n as u64;
            }
            if read != len {
                return Err(self.shrunk(up.path, &doing));
            }
            let part_digest: [u8; 32] = part_hash.finalize().into();
            // Second pass: the bytes, which the store checks against that digest.
            let checksum = base64(&part_digest);
            let headers = [("x-amz-checksum-sha256", checksum.clone())];
            let number_text = number.to_string();
            let payload_hash = hex(&part_digest);
            let etag = self.retrying_within(&mut retries, || {
                let full = up.full.clone();
                let path = up.path;
                let mut body = up.body(offset, len, &mut *progress, &doing)?;
                let result = self.send(Call {
                    method: "PUT",
                    key: Some(&full),
                    query: &[("partNumber", &number_text), ("uploadId", upload_id)],
                    headers: &headers,
                    payload_hash: &payload_hash,
                    body: Body::Reader(&mut body, len),
                    deadline: Some(self.timeouts.for_bytes(len)),
                    doing: &doing,
                });
                let response = self.local_first(result, &mut body, path, &doing)?;
                let response = self.expect_success(response, &doing)?;
                header(&response, "etag")
                    .map(str::to_owned)
                    .ok_or_else(|| self.bad_answer(&doing, "no ETag for the part"))
            })?;
            done.push((number, etag, checksum));
        }
        let actual: [u8; 32] = whole.finalize().into();
        if actual != up.digest {
            return Err(Error::NotAsDeclared {
                doing: format!("uploading {}", up.url),
                path: up.path.to_owned(),
                problem: format!(
                    "hashes to {}, not the {} it was declared with",
                    hex(&actual),
                    hex(&up.digest)
                ),
            });
        }
        let mut xml_body = format!("<CompleteMultipartUpload xmlns=\"{NAMESPACE}\">");
        for (number, etag, checksum) in &done {
            xml_body.push_str(&format!(
                "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag>\
                 <ChecksumSHA256>{checksum}</ChecksumSHA256></Part>",
                xml::escape(etag)
            ));
        }
        xml_body.push_str("</CompleteMultipartUpload>");
        let doing = format!("finishing the multipart upload of {}", up.url);
        let payload_hash = hex(&sign::sha256(xml_body.as_bytes()));
        let mut tries = 0;
        let finished = self.retrying_within(&mut retries, || {
            tries += 1;
            let response = self.send(Call {
                method: "POST",
                key: Some(&up.full),
                query: &[("uploadId", upload_id)],
                headers: &[],
                payload_hash: &payload_hash,
                body: Body::Bytes(xml_body.as_bytes()),
                deadline: Some(self.timeouts.for_bytes(size)),
                doing: &doing,
            })?;
            // A 200 can still carry an <Error>: xml_answer turns that into Error::Service.
            let answer = self.xml_answer(response, &doing)?;
            if answer.name != "CompleteMultipartUploadResult" {
                return Err(
                    self.bad_answer(&doing, &format!("<{}> instead of a result", answer.name))
                );
            }
            Ok(())
        });
        match finished {
            // An earlier try finished it and only the answer was lost: the
            // object is there if it has the size (its parts were checked).
            Err(e) if tries > 1 && e.code() == Some("NoSuchUpload") => {
                let key = self.location.relative(&up.full).unwrap_or(&up.full);
                match self.head(key) {
                    Ok(Some(stored)) if stored == size => Ok(()),
                    _ => Err(e),
                }
            }
            other => other,
        }
    }
}
