//! Uploads: one checksummed PUT, or a multipart upload whose every part the store checks.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::client::{BUFFER, Client, MAX_OBJECT_SIZE, MAX_PARTS, NAMESPACE};
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

impl Client {
    /// Uploads the file at `path` as `key`. `sha256_hex` and `size` are what the
    /// caller knows the file to be; the store is made to check every byte against
    /// them (see the crate docs). Files up to `single_put_max` go up in one PUT, larger
    /// ones in parts read one at a time; a failed multipart upload is aborted.
    /// `progress` is told the bytes sent so far.
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
        let mut file = File::open(path).map_err(local)?;
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
        let full = self.location.key(key);
        if size <= self.single_put_max {
            self.put_single(&full, &mut file, path, &digest, size, &doing, progress)
        } else {
            self.put_multipart(&full, &mut file, path, &digest, size, &url, progress)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn put_single(
        &self,
        full: &str,
        file: &mut File,
        path: &Path,
        digest: &[u8; 32],
        size: u64,
        doing: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        let mut body = Counted {
            inner: file.take(size),
            sent: 0,
            progress,
            failed: None,
            ended_early: false,
            expected_end: size,
        };
        let headers = [("x-amz-checksum-sha256", base64(digest))];
        let result = self.send(Call {
            method: "PUT",
            key: Some(full),
            query: &[],
            headers: &headers,
            payload_hash: &hex(digest),
            body: Body::Reader(&mut body, size),
            deadline: Some(self.timeouts.for_bytes(size)),
            doing,
        });
        let response = self.local_first(result, &mut body, path, doing)?;
        self.expect_success(response, doing).map(drop)
    }

    #[allow(clippy::too_many_arguments)]
    fn put_multipart(
        &self,
        full: &str,
        file: &mut File,
        path: &Path,
        digest: &[u8; 32],
        size: u64,
        url: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        let part_size = self
            .part_size
            .max(size.div_ceil(MAX_PARTS).div_ceil(1 << 20) << 20);
        let parts = size.div_ceil(part_size);
        let doing = format!("starting a multipart upload of {url}");
        let headers = [("x-amz-checksum-algorithm", "SHA256".to_owned())];
        let response = self.send(Call {
            method: "POST",
            key: Some(full),
            query: &[("uploads", "")],
            headers: &headers,
            payload_hash: sign::EMPTY_SHA256,
            body: Body::Empty,
            deadline: Some(self.timeouts.base),
            doing: &doing,
        })?;
        let answer = self.xml_answer(response, &doing)?;
        let upload_id = answer
            .child_text("UploadId")
            .filter(|id| !id.is_empty())
            .ok_or_else(|| self.bad_answer(&doing, "no UploadId"))?
            .to_owned();

        let result = self.upload_parts(
            full, &upload_id, file, path, digest, size, part_size, parts, url, progress,
        );
        if result.is_err() {
            // Best effort: the error that matters is the one already in hand.
            let _ = self.send(Call {
                method: "DELETE",
                key: Some(full),
                query: &[("uploadId", &upload_id)],
                headers: &[],
                payload_hash: sign::EMPTY_SHA256,
                body: Body::Empty,
                deadline: Some(self.timeouts.base),
                doing: &format!("aborting the multipart upload of {url}"),
            });
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn upload_parts(
        &self,
        full: &str,
        upload_id: &str,
        file: &mut File,
        path: &Path,
        digest: &[u8; 32],
        size: u64,
        part_size: u64,
        parts: u64,
        url: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        let mut whole = Sha256::new();
        let mut done: Vec<(u64, String, String)> = Vec::new();
        let mut buffer = vec![0u8; BUFFER];
        for number in 1..=parts {
            let doing = format!("uploading part {number} of {parts} of {url}");
            let local = |source| Error::Local {
                doing: doing.clone(),
                path: path.to_owned(),
                source,
            };
            let offset = (number - 1) * part_size;
            let len = part_size.min(size - offset);
            // First pass: the part's digest, which goes in the headers before the bytes.
            file.seek(SeekFrom::Start(offset)).map_err(local)?;
            let mut part_hash = Sha256::new();
            let mut reader = (&mut *file).take(len);
            let mut read = 0u64;
            loop {
                let n = match reader.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(local(e)),
                };
                let chunk = buffer.get(..n).unwrap_or_default();
                part_hash.update(chunk);
                whole.update(chunk);
                read += n as u64;
            }
            if read != len {
                return Err(self.shrunk(path, &doing));
            }
            let part_digest: [u8; 32] = part_hash.finalize().into();
            // Second pass: the bytes, which the store checks against that digest.
            file.seek(SeekFrom::Start(offset)).map_err(local)?;
            let mut body = Counted {
                inner: (&mut *file).take(len),
                sent: offset,
                progress: &mut *progress,
                failed: None,
                ended_early: false,
                expected_end: offset + len,
            };
            let checksum = base64(&part_digest);
            let headers = [("x-amz-checksum-sha256", checksum.clone())];
            let number_text = number.to_string();
            let result = self.send(Call {
                method: "PUT",
                key: Some(full),
                query: &[("partNumber", &number_text), ("uploadId", upload_id)],
                headers: &headers,
                payload_hash: &hex(&part_digest),
                body: Body::Reader(&mut body, len),
                deadline: Some(self.timeouts.for_bytes(len)),
                doing: &doing,
            });
            let response = self.local_first(result, &mut body, path, &doing)?;
            let response = self.expect_success(response, &doing)?;
            let etag = header(&response, "etag")
                .ok_or_else(|| self.bad_answer(&doing, "no ETag for the part"))?
                .to_owned();
            done.push((number, etag, checksum));
        }
        let actual: [u8; 32] = whole.finalize().into();
        if &actual != digest {
            return Err(Error::NotAsDeclared {
                doing: format!("uploading {url}"),
                path: path.to_owned(),
                problem: format!(
                    "hashes to {}, not the {} it was declared with",
                    hex(&actual),
                    hex(digest)
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
        let doing = format!("finishing the multipart upload of {url}");
        let response = self.send(Call {
            method: "POST",
            key: Some(full),
            query: &[("uploadId", upload_id)],
            headers: &[],
            payload_hash: &hex(&sign::sha256(xml_body.as_bytes())),
            body: Body::Bytes(xml_body.as_bytes()),
            deadline: Some(self.timeouts.for_bytes(size)),
            doing: &doing,
        })?;
        // A 200 can still carry an <Error>: xml_answer turns that into Error::Service.
        let answer = self.xml_answer(response, &doing)?;
        if answer.name != "CompleteMultipartUploadResult" {
            return Err(self.bad_answer(&doing, &format!("<{}> instead of a result", answer.name)));
        }
        Ok(())
    }
}
