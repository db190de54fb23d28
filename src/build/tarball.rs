//! Writes the slug's tar stream: GNU tar headers with fixed owner, modes and mtime, names as raw bytes.
//!
//! Names and link targets are copied byte for byte (non-UTF-8 included); ones
//! longer than a header field get a GNU long-name entry first, as GNU tar does.

use std::io::{self, Read, Write};

use tar::{EntryType, Header};

const BLOCK: usize = 512;
const NAME_FIELD: usize = 100;

/// A tar stream being written to `out`.
pub struct TarWriter<W: Write> {
    out: W,
    mtime: u64,
}

impl<W: Write> TarWriter<W> {
    /// Starts a stream whose every entry has modification time `mtime`.
    pub fn new(out: W, mtime: u64) -> TarWriter<W> {
        TarWriter { out, mtime }
    }

    /// A directory entry; `path` should end with `/`.
    pub fn dir(&mut self, path: &[u8]) -> io::Result<()> {
        let header = self.header(path, b"", EntryType::Directory, 0o755, 0)?;
        self.out.write_all(header.as_bytes())
    }

    /// The header of a regular file; [`Self::file_data`] must follow with its `size` bytes.
    pub fn file_header(&mut self, path: &[u8], executable: bool, size: u64) -> io::Result<()> {
        let mode = if executable { 0o755 } else { 0o644 };
        let header = self.header(path, b"", EntryType::Regular, mode, size)?;
        self.out.write_all(header.as_bytes())
    }

    /// Exactly `size` bytes of file content from `data`, padded to a block.
    pub fn file_data(&mut self, size: u64, data: impl Read) -> io::Result<()> {
        let copied = io::copy(&mut data.take(size), &mut self.out)?;
        if copied != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("blob ended after {copied} of {size} bytes"),
            ));
        }
        self.pad(size)
    }

    /// A symbolic link to `target`, kept as a link.
    pub fn symlink(&mut self, path: &[u8], target: &[u8]) -> io::Result<()> {
        let header = self.header(path, target, EntryType::Symlink, 0o777, 0)?;
        self.out.write_all(header.as_bytes())
    }

    /// The output, for switching how the next bytes are compressed.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Writes the end-of-archive marker and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0u8; BLOCK * 2])?;
        Ok(self.out)
    }

    fn header(
        &mut self,
        path: &[u8],
        link: &[u8],
        kind: EntryType,
        mode: u32,
        size: u64,
    ) -> io::Result<Header> {
        if path.len() > NAME_FIELD {
            self.long_name(b'L', path)?;
        }
        if link.len() > NAME_FIELD {
            self.long_name(b'K', link)?;
        }
        let mut header = Header::new_gnu();
        let old = header.as_old_mut();
        copy_truncated(&mut old.name, path);
        copy_truncated(&mut old.linkname, link);
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(self.mtime);
        header.set_size(size);
        header.set_cksum();
        Ok(header)
    }

    /// A GNU `././@LongLink` entry carrying a name too long for the header field.
    fn long_name(&mut self, kind: u8, name: &[u8]) -> io::Result<()> {
        let mut header = Header::new_gnu();
        copy_truncated(&mut header.as_old_mut().name, b"././@LongLink");
        header.set_entry_type(EntryType::new(kind));
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        let len = name.len() as u64 + 1;
        header.set_size(len);
        header.set_cksum();
        self.out.write_all(header.as_bytes())?;
        self.out.write_all(name)?;
        self.out.write_all(&[0])?;
        self.pad(len)
    }

    fn pad(&mut self, len: u64) -> io::Result<()> {
        let rem = (len % BLOCK as u64) as usize;
        if rem != 0 {
            self.out.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }
}

fn copy_truncated(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}
