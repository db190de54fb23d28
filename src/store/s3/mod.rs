//! An S3-compatible object store client for the slug store: AWS, MinIO, SeaweedFS, Garage, Ceph, R2.
//!
//! Blocking, on ureq with rustls ([`crate::base::http`]); requests are signed
//! with a small SigV4 implementation ([`sign`]). Nothing here reads the
//! environment: the command line's edge builds [`Credentials::from_env`] and
//! the proxies from `std::env::var` and hands them in, along with a [`Clock`]
//! (`jiff::Timestamp::now`) to sign with.
//!
//! Integrity: every upload is checked by the store, byte for byte. A single PUT
//! signs the SHA-256 the caller declared (`x-amz-content-sha256`) and sends it
//! again as `x-amz-checksum-sha256`; a multipart upload is created with
//! `x-amz-checksum-algorithm: SHA256`, each part is hashed first and then sent
//! with its digest in both headers, the whole file's hash (from those same
//! reads) must equal the declared one before the upload is completed, and the
//! completion lists every part's checksum. A store that receives other bytes
//! refuses them (`BadDigest` / `XAmzContentSHA256Mismatch`).

pub mod client;
pub mod credentials;
pub mod encode;
pub mod error;
mod request;
pub mod sign;
mod upload;
pub mod xml;

pub use client::{Client, Clock, Config};
pub use credentials::{Credentials, CredentialsError};
pub use error::Error;
