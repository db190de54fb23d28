//! Unpacks an untrusted archive into a private directory, refusing anything that could escape or explode.
//!
//! Refused, by entry name: absolute paths, `..` components, paths through a
//! symlink or a file, duplicates, hard links, devices, FIFOs, sparse files,
//! unknown entry types, and symlinks that resolve outside the app. Capped while
//! streaming (the readers themselves fail once a cap is passed, so not even the
//! tar parser's own buffers can grow past them): the bytes the archive expands
//! to, its entry count, and its expansion ratio. Only names and the owner's
//! executable bit are taken from the archive: files are created 0644 or 0755,
//! directories 0755, with `create_new` and `O_NOFOLLOW`.

use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use flate2::read::MultiGzDecoder;

use super::{Limits, MAX_RATIO, RATIO_FLOOR, SourceError};
use crate::base::text::escape_bytes;
use crate::build::dir::symlink_escape;
use crate::build::error::{Error, Result};
use crate::model::event::{Event, Observer};

/// Extended headers (GNU long names, pax records) larger than this are refused.
pub(super) const MAX_META: u64 = 1024 * 1024;
/// Longest symlink target, as Linux's PATH_MAX.
const MAX_TARGET: usize = 4095;

/// The archive formats slipway unpacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    TarGz,
    Tar,
    Zip,
}

/// Unpacks the archive at `path` into `dest`; returns the app's root (a single top-level directory is stripped).
pub fn extract(
    path: &Path,
    name: &str,
    dest: &Path,
    limits: Limits,
    observer: &mut dyn Observer,
) -> Result<PathBuf> {
    let format = sniff(path, name)?;
    let file = File::open(path).map_err(Error::io("read", path))?;
    let counters = Rc::new(Counters::default());
    let mut sink = Sink::new(dest, name, limits, Rc::clone(&counters));
    match format {
        Format::TarGz => {
            let gz = MultiGzDecoder::new(io::BufReader::new(Metered::compressed(file, &counters)));
            super::untar::untar(Metered::expanded(gz, &counters, limits), &mut sink)?;
        }
        Format::Tar => {
            let raw = Metered::compressed(file, &counters);
            super::untar::untar(Metered::expanded(raw, &counters, limits), &mut sink)?;
        }
        Format::Zip => super::zip::unzip(&file, &mut sink)?,
    }
    let entries = sink.entries;
    let root = sink.finish()?;
    observer.event(Event::Extracted { entries });
    Ok(root)
}

/// Tells the format from the first bytes, never from the name.
fn sniff(path: &Path, name: &str) -> Result<Format> {
    let mut head = Vec::with_capacity(512);
    File::open(path)
        .and_then(|f| f.take(512).read_to_end(&mut head))
        .map_err(Error::io("read", path))?;
    let format = if head.starts_with(&[0x1f, 0x8b]) {
        Some(Format::TarGz)
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(Format::Zip)
    } else if head.len() == 512 && (&head[257..262] == b"ustar" || tar_checksum_ok(&head)) {
        Some(Format::Tar)
    } else {
        None
    };
    format.ok_or_else(|| {
        let detail = if head.starts_with(b"BZh") {
            " (bzip2 is not supported)"
        } else if head.starts_with(b"\xfd7zXZ\x00") {
            " (xz is not supported)"
        } else if head.starts_with(b"Rar!") || head.starts_with(b"7z\xbc\xaf") {
            " (rar and 7z are not supported)"
        } else if head.is_empty() {
            " (it is empty)"
        } else {
            ""
        };
        SourceError::Format {
            name: name.to_owned(),
            detail: detail.to_owned(),
        }
        .into()
    })
}

/// Whether a 512-byte block is a tar header with a valid checksum (old v7 archives have no magic).
fn tar_checksum_ok(block: &[u8]) -> bool {
    let field = &block[148..156];
    let digits: String = field
        .iter()
        .map(|&b| b as char)
        .filter(|c| c.is_digit(8))
        .collect();
    let Ok(expected) = u32::from_str_radix(&digits, 8) else {
        return false;
    };
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == expected
}

/// Why streaming stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trip {
    /// More than `max_source_size` came out.
    Size,
    /// More than [`MAX_RATIO`] times what went in came out.
    Ratio,
}

/// Bytes read from the archive file and bytes it expanded to, shared by the readers of one extraction.
#[derive(Debug, Default)]
pub struct Counters {
    compressed: Cell<u64>,
    expanded: Cell<u64>,
    tripped: Cell<Option<Trip>>,
}

impl Counters {
    /// Why a read failed because of a cap, if it did.
    pub fn tripped(&self) -> Option<Trip> {
        self.tripped.get()
    }
}

/// Counts bytes through a reader; the expanded side fails once a cap is passed.
pub struct Metered<R> {
    inner: R,
    counters: Rc<Counters>,
    /// `None` on the compressed side.
    max: Option<u64>,
}

impl<R: Read> Metered<R> {
    /// Counts what is read from the archive file itself.
    pub fn compressed(inner: R, counters: &Rc<Counters>) -> Metered<R> {
        Metered {
            inner,
            counters: Rc::clone(counters),
            max: None,
        }
    }

    /// Counts what the archive expands to, failing past `limits.max_size` or [`MAX_RATIO`].
    pub fn expanded(inner: R, counters: &Rc<Counters>, limits: Limits) -> Metered<R> {
        Metered {
            inner,
            counters: Rc::clone(counters),
            max: Some(limits.max_size.bytes()),
        }
    }
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let c = &self.counters;
        let Some(max) = self.max else {
            c.compressed.set(c.compressed.get() + n as u64);
            return Ok(n);
        };
        let expanded = c.expanded.get() + n as u64;
        c.expanded.set(expanded);
        let trip = if expanded > max {
            Some(Trip::Size)
        } else if expanded > RATIO_FLOOR && expanded > c.compressed.get().saturating_mul(MAX_RATIO)
        {
            Some(Trip::Ratio)
        } else {
            None
        };
        if let Some(trip) = trip {
            c.tripped.set(Some(trip));
            return Err(io::Error::other("the archive passed a size cap"));
        }
        Ok(n)
    }
}

/// What an extracted path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Dir,
    File,
    Symlink,
}

/// Creates entries under the destination, enforcing every rule; the one place an archive touches the disk.
pub struct Sink<'a> {
    root: &'a Path,
    name: &'a str,
    limits: Limits,
    counters: Rc<Counters>,
    nodes: HashMap<Vec<u8>, Node>,
    /// Symlinks made: display name and normalized path, checked once everything exists.
    symlinks: Vec<(String, Vec<u8>)>,
    entries: u64,
    /// The entry being worked on, for messages.
    current: String,
}

impl<'a> Sink<'a> {
    fn new(root: &'a Path, name: &'a str, limits: Limits, counters: Rc<Counters>) -> Sink<'a> {
        Sink {
            root,
            name,
            limits,
            counters,
            nodes: HashMap::new(),
            symlinks: Vec::new(),
            entries: 0,
            current: "(the first entry)".into(),
        }
    }

    /// The limits this extraction runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The counters the archive's readers must report to.
    pub fn counters(&self) -> &Rc<Counters> {
        &self.counters
    }

    /// A refusal of the entry `raw`.
    pub fn refuse(&self, raw: &[u8], reason: impl Into<String>) -> Error {
        SourceError::Refused {
            entry: escape_bytes(raw).into_owned(),
            reason: reason.into(),
        }
        .into()
    }

    /// The error for a failed read: a cap that tripped, else a corrupt archive.
    pub fn read_error(&self, e: io::Error) -> Error {
        let entry = self.current.clone();
        let name = self.name.to_owned();
        match self.counters.tripped() {
            Some(Trip::Size) => SourceError::TooLarge {
                name,
                max: self.limits.max_size,
                entry,
            },
            Some(Trip::Ratio) => SourceError::Bomb { name, entry },
            None => SourceError::Corrupt {
                name,
                reason: e.to_string(),
            },
        }
        .into()
    }

    /// A corrupt-archive error with this reason.
    pub fn corrupt(&self, reason: impl Into<String>) -> Error {
        SourceError::Corrupt {
            name: self.name.to_owned(),
            reason: reason.into(),
        }
        .into()
    }

    /// Fails once the archive holds more than `max_source_files` entries.
    pub fn check_count(&self, count: u64) -> Result<()> {
        if count > self.limits.max_entries {
            return Err(SourceError::TooManyEntries {
                name: self.name.to_owned(),
                max: self.limits.max_entries,
            }
            .into());
        }
        Ok(())
    }

    /// Starts an entry: counts it and turns its raw name into a clean relative path.
    fn begin(&mut self, raw: &[u8]) -> Result<Vec<u8>> {
        self.current = escape_bytes(raw).into_owned();
        self.entries += 1;
        self.check_count(self.entries)?;
        if raw.contains(&0) {
            return Err(self.refuse(raw, "its name contains a NUL byte"));
        }
        if raw.starts_with(b"/") {
            return Err(self.refuse(raw, "its path is absolute"));
        }
        let mut parts: Vec<&[u8]> = Vec::new();
        for part in raw.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => return Err(self.refuse(raw, "its path has a '..' component")),
                part => parts.push(part),
            }
        }
        Ok(parts.join(&b'/'))
    }

    /// Makes sure every parent of `path` is a directory made by this extraction.
    fn parents(&mut self, raw: &[u8], path: &[u8]) -> Result<()> {
        let mut end = 0;
        while let Some(slash) = path[end..].iter().position(|&b| b == b'/') {
            end += slash;
            let parent = &path[..end];
            match self.nodes.get(parent) {
                Some(Node::Dir) => {}
                Some(Node::Symlink) => {
                    return Err(self.refuse(
                        raw,
                        format!(
                            "its path goes through the symlink '{}'",
                            escape_bytes(parent)
                        ),
                    ));
                }
                Some(Node::File) => {
                    return Err(self.refuse(
                        raw,
                        format!("its path goes through the file '{}'", escape_bytes(parent)),
                    ));
                }
                None => {
                    self.mkdir(raw, parent)?;
                }
            }
            end += 1;
        }
        Ok(())
    }

    fn mkdir(&mut self, raw: &[u8], path: &[u8]) -> Result<()> {
        let full = self.full(path);
        fs::DirBuilder::new()
            .mode(0o755)
            .create(&full)
            .map_err(|e| self.refuse(raw, format!("cannot create it: {e}")))?;
        self.nodes.insert(path.to_vec(), Node::Dir);
        Ok(())
    }

    fn full(&self, path: &[u8]) -> PathBuf {
        self.root.join(OsStr::from_bytes(path))
    }

    fn claim(&self, raw: &[u8], path: &[u8]) -> Result<()> {
        if self.nodes.contains_key(path) {
            return Err(self.refuse(raw, "it appears twice in the archive"));
        }
        Ok(())
    }

    /// A directory entry.
    pub fn dir(&mut self, raw: &[u8]) -> Result<()> {
        let path = self.begin(raw)?;
        if path.is_empty() {
            return Ok(());
        }
        self.parents(raw, &path)?;
        match self.nodes.get(path.as_slice()) {
            Some(Node::Dir) => Ok(()),
            Some(_) => Err(self.refuse(raw, "it appears twice in the archive")),
            None => self.mkdir(raw, &path),
        }
    }

    /// A regular file whose content `data` yields; read errors become cap or corruption errors.
    pub fn file(&mut self, raw: &[u8], executable: bool, data: &mut dyn Read) -> Result<()> {
        let path = self.begin(raw)?;
        if path.is_empty() {
            return Err(self.refuse(raw, "it has no name"));
        }
        self.parents(raw, &path)?;
        self.claim(raw, &path)?;
        let full = self.full(&path);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(if executable { 0o755 } else { 0o644 })
            .open(&full)
            .map_err(|e| self.refuse(raw, format!("cannot create it: {e}")))?;
        self.nodes.insert(path, Node::File);
        copy(data, &mut file).map_err(|e| match e {
            CopyError::Read(e) => self.read_error(e),
            CopyError::Write(e) => Error::io("write", &full)(e),
        })
    }

    /// A symbolic link to `target`, kept as a link; where it resolves is checked in [`Sink::finish`].
    pub fn symlink(&mut self, raw: &[u8], target: &[u8]) -> Result<()> {
        let path = self.begin(raw)?;
        if path.is_empty() {
            return Err(self.refuse(raw, "it has no name"));
        }
        if target.is_empty() {
            return Err(self.refuse(raw, "its target is empty"));
        }
        if target.contains(&0) || target.len() > MAX_TARGET {
            return Err(self.refuse(raw, "its target is not a valid path"));
        }
        if target.starts_with(b"/") {
            return Err(self.refuse(
                raw,
                format!("it points to the absolute path '{}'", escape_bytes(target)),
            ));
        }
        self.parents(raw, &path)?;
        self.claim(raw, &path)?;
        std::os::unix::fs::symlink(OsStr::from_bytes(target), self.full(&path))
            .map_err(|e| self.refuse(raw, format!("cannot create it: {e}")))?;
        self.nodes.insert(path.clone(), Node::Symlink);
        self.symlinks.push((escape_bytes(raw).into_owned(), path));
        Ok(())
    }

    /// Picks the app's root (stripping a single top-level directory) and checks every symlink stays inside it.
    fn finish(self) -> Result<PathBuf> {
        let mut tops = self.nodes.iter().filter(|(path, _)| !path.contains(&b'/'));
        let strip = match (tops.next(), tops.next()) {
            (Some((top, Node::Dir)), None) => Some(top.clone()),
            _ => None,
        };
        let (root, skip) = match &strip {
            Some(top) => (self.full(top), top.len() + 1),
            None => (self.root.to_path_buf(), 0),
        };
        for (display, path) in &self.symlinks {
            if let Some(reason) = symlink_escape(&root, &path[skip..]) {
                return Err(SourceError::Refused {
                    entry: display.clone(),
                    reason,
                }
                .into());
            }
        }
        Ok(root)
    }
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

fn copy(data: &mut dyn Read, out: &mut File) -> std::result::Result<(), CopyError> {
    use std::io::Write;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match data.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        out.write_all(&buf[..n]).map_err(CopyError::Write)?;
    }
}
