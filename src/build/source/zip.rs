//! A small zip reader for untrusted archives: central directory (zip64 too), stored and deflate entries.
//!
//! The central directory is the authority (as for every mainstream unzip).
//! Refused: multi-disk and encrypted archives, other compression methods,
//! entries whose data overlap (the "overlapping files" zip bomb) or lie outside
//! the file, sizes or CRCs that disagree with the data, and unix file types
//! other than files, directories and symlinks. Entries are unpacked through the
//! same [`Sink`] and caps as tar archives.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::rc::Rc;

use flate2::CrcReader;
use flate2::read::DeflateDecoder;

use super::extract::{Metered, Sink};
use crate::base::text::escape_bytes;
use crate::build::error::Result;

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_LOCATOR_SIG: u32 = 0x0706_4b50;
const EOCD64_SIG: u32 = 0x0606_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
const EOCD_LEN: usize = 22;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: u64 = 30;
const MAX_COMMENT: usize = 0xffff;
/// The central directory is read into memory; larger ones are refused.
const MAX_CENTRAL: u64 = 64 * 1024 * 1024;
const UNIX_HOSTS: [u8; 2] = [3, 19];
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATE: u16 = 8;
/// Longest symlink target, as Linux's PATH_MAX.
const MAX_TARGET: u64 = 4095;

/// One central directory record, with zip64 fields resolved.
struct Member {
    name: Vec<u8>,
    flags: u16,
    method: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
    /// Unix mode from the external attributes, when the archive was made on unix.
    mode: Option<u32>,
    /// Where the data starts and ends, from the local header.
    data: (u64, u64),
}

/// Unpacks the zip archive `file` into `sink`.
pub fn unzip(file: &File, sink: &mut Sink) -> Result<()> {
    let len = file
        .metadata()
        .map_err(|e| sink.corrupt(e.to_string()))?
        .len();
    let dir = central_directory(file, len, sink)?;
    sink.check_count(dir.count)?;
    let mut members = read_members(file, &dir, sink)?;
    check_layout(file, &mut members, dir.offset, sink)?;
    for member in &members {
        unpack(file, member, sink)?;
    }
    Ok(())
}

/// Where the central directory is and how many records it says it holds.
struct Directory {
    offset: u64,
    size: u64,
    count: u64,
}

fn central_directory(file: &File, len: u64, sink: &Sink) -> Result<Directory> {
    let tail_len = len.min((EOCD_LEN + MAX_COMMENT) as u64) as usize;
    let tail_start = len - tail_len as u64;
    let tail = read_at(file, tail_start, tail_len, sink)?;
    if tail_len < EOCD_LEN {
        return Err(sink.corrupt("it has no end of central directory record"));
    }
    // The record whose comment runs exactly to the end of the file.
    let at = (0..=tail_len - EOCD_LEN)
        .rev()
        .find(|&i| {
            u32_at(&tail, i) == EOCD_SIG
                && i + EOCD_LEN + usize::from(u16_at(&tail, i + 20)) == tail_len
        })
        .ok_or_else(|| sink.corrupt("it has no end of central directory record"))?;
    let eocd = &tail[at..];
    let eocd_pos = tail_start + at as u64;
    if u16_at(eocd, 4) != 0 || u16_at(eocd, 6) != 0 || u16_at(eocd, 8) != u16_at(eocd, 10) {
        return Err(sink.corrupt("multi-disk archives are not supported"));
    }
    let mut dir = Directory {
        count: u64::from(u16_at(eocd, 10)),
        size: u64::from(u32_at(eocd, 12)),
        offset: u64::from(u32_at(eocd, 16)),
    };
    let mut end = eocd_pos;
    if dir.count == 0xffff || dir.size == 0xffff_ffff || dir.offset == 0xffff_ffff {
        // Zip64: a locator just before the record points at the zip64 record.
        let locator_pos = eocd_pos
            .checked_sub(20)
            .ok_or_else(|| sink.corrupt("its zip64 locator is missing"))?;
        let locator = read_at(file, locator_pos, 20, sink)?;
        if u32_at(&locator, 0) != EOCD64_LOCATOR_SIG {
            return Err(sink.corrupt("its zip64 locator is missing"));
        }
        let record_pos = u64_at(&locator, 8);
        if record_pos.checked_add(56).is_none_or(|e| e > locator_pos) {
            return Err(sink.corrupt("its zip64 record is out of bounds"));
        }
        let record = read_at(file, record_pos, 56, sink)?;
        if u32_at(&record, 0) != EOCD64_SIG {
            return Err(sink.corrupt("its zip64 record is missing"));
        }
        if u32_at(&record, 16) != 0 || u32_at(&record, 20) != 0 {
            return Err(sink.corrupt("multi-disk archives are not supported"));
        }
        dir = Directory {
            count: u64_at(&record, 32),
            size: u64_at(&record, 40),
            offset: u64_at(&record, 48),
        };
        end = record_pos;
    }
    if dir.offset.checked_add(dir.size).is_none_or(|e| e > end) {
        return Err(sink.corrupt("its central directory is out of bounds"));
    }
    if dir.size > MAX_CENTRAL {
        return Err(sink.corrupt("its central directory is larger than 64MB"));
    }
    Ok(dir)
}

fn read_members(file: &File, dir: &Directory, sink: &Sink) -> Result<Vec<Member>> {
    let bytes = read_at(file, dir.offset, dir.size as usize, sink)?;
    let truncated = || sink.corrupt("its central directory is truncated");
    let mut members = Vec::new();
    let mut pos = 0usize;
    for _ in 0..dir.count {
        let fixed = bytes.get(pos..pos + CENTRAL_LEN).ok_or_else(truncated)?;
        if u32_at(fixed, 0) != CENTRAL_SIG {
            return Err(sink.corrupt("its central directory has a bad record"));
        }
        let name_len = usize::from(u16_at(fixed, 28));
        let extra_len = usize::from(u16_at(fixed, 30));
        let comment_len = usize::from(u16_at(fixed, 32));
        let name_start = pos + CENTRAL_LEN;
        let name = bytes
            .get(name_start..name_start + name_len)
            .ok_or_else(truncated)?
            .to_vec();
        let extra = bytes
            .get(name_start + name_len..name_start + name_len + extra_len)
            .ok_or_else(truncated)?;
        let made_by = (u16_at(fixed, 4) >> 8) as u8;
        let external = u32_at(fixed, 38);
        let mut member = Member {
            flags: u16_at(fixed, 8),
            method: u16_at(fixed, 10),
            crc: u32_at(fixed, 16),
            compressed: u64::from(u32_at(fixed, 20)),
            size: u64::from(u32_at(fixed, 24)),
            offset: u64::from(u32_at(fixed, 42)),
            mode: (UNIX_HOSTS.contains(&made_by) && external >> 16 != 0).then_some(external >> 16),
            data: (0, 0),
            name,
        };
        if u16_at(fixed, 34) != 0 && u16_at(fixed, 34) != 0xffff {
            return Err(sink.corrupt("multi-disk archives are not supported"));
        }
        apply_zip64(&mut member, extra).map_err(|r| sink.refuse(&member.name, r))?;
        members.push(member);
        pos = name_start + name_len + extra_len + comment_len;
    }
    Ok(members)
}

/// Replaces 0xffffffff fields with the 64-bit values of the zip64 extra field, in the spec's order.
fn apply_zip64(member: &mut Member, mut extra: &[u8]) -> std::result::Result<(), &'static str> {
    const MISSING: &str = "its zip64 sizes are missing";
    while extra.len() >= 4 {
        let id = u16_at(extra, 0);
        let len = usize::from(u16_at(extra, 2));
        let data = extra
            .get(4..4 + len)
            .ok_or("its extra field is truncated")?;
        if id == 1 {
            let mut at = 0;
            for field in [&mut member.size, &mut member.compressed, &mut member.offset] {
                if *field == 0xffff_ffff {
                    *field = data.get(at..at + 8).map(|b| u64_at(b, 0)).ok_or(MISSING)?;
                    at += 8;
                }
            }
            return Ok(());
        }
        extra = &extra[4 + len..];
    }
    if member.size == 0xffff_ffff
        || member.compressed == 0xffff_ffff
        || member.offset == 0xffff_ffff
    {
        return Err(MISSING);
    }
    Ok(())
}

/// Finds each member's data from its local header and refuses overlaps and data outside the file.
fn check_layout(file: &File, members: &mut [Member], central: u64, sink: &Sink) -> Result<()> {
    for m in members.iter_mut() {
        let outside = || sink.refuse(&m.name, "its data lies outside the archive");
        if m.offset.checked_add(LOCAL_LEN).is_none_or(|e| e > central) {
            return Err(outside());
        }
        let header = read_at(file, m.offset, LOCAL_LEN as usize, sink)?;
        if u32_at(&header, 0) != LOCAL_SIG {
            return Err(sink.refuse(&m.name, "its local header is missing"));
        }
        let start =
            m.offset + LOCAL_LEN + u64::from(u16_at(&header, 26)) + u64::from(u16_at(&header, 28));
        let end = start
            .checked_add(m.compressed)
            .filter(|&end| end <= central)
            .ok_or_else(outside)?;
        m.data = (start, end);
    }
    let mut order: Vec<&Member> = members.iter().collect();
    order.sort_by_key(|m| m.offset);
    for pair in order.windows(2) {
        if pair[0].data.1 > pair[1].offset {
            return Err(sink.refuse(
                &pair[1].name,
                format!("its data overlaps '{}'", escape_bytes(&pair[0].name)),
            ));
        }
    }
    Ok(())
}

/// What a member unpacks to.
enum What {
    Dir,
    File { executable: bool },
    Symlink,
}

fn unpack(file: &File, m: &Member, sink: &mut Sink) -> Result<()> {
    if m.flags & 0x41 != 0 {
        return Err(sink.refuse(&m.name, "it is encrypted"));
    }
    let what = match m.mode.map(|mode| mode & 0o170000) {
        Some(0o040000) => What::Dir,
        Some(0o120000) => What::Symlink,
        Some(0o100000 | 0) | None if m.name.ends_with(b"/") => What::Dir,
        Some(0o100000 | 0) | None => What::File {
            executable: m.mode.is_some_and(|mode| mode & 0o100 != 0),
        },
        Some(0o010000) => return Err(sink.refuse(&m.name, "it is a FIFO")),
        Some(0o020000) => return Err(sink.refuse(&m.name, "it is a character device")),
        Some(0o060000) => return Err(sink.refuse(&m.name, "it is a block device")),
        Some(0o140000) => return Err(sink.refuse(&m.name, "it is a socket")),
        Some(other) => {
            return Err(sink.refuse(&m.name, format!("it has the unknown file type {other:o}")));
        }
    };
    if let What::Dir = what {
        return sink.dir(&m.name);
    }
    match m.method {
        METHOD_STORED if m.compressed != m.size => {
            return Err(sink.refuse(&m.name, "its stored and compressed sizes differ"));
        }
        METHOD_STORED | METHOD_DEFLATE => {}
        other => {
            return Err(sink.refuse(
                &m.name,
                format!(
                    "it uses compression method {other} (only stored and deflate are supported)"
                ),
            ));
        }
    }
    let counters = Rc::clone(sink.counters());
    let raw = Metered::compressed(
        At {
            file,
            pos: m.data.0,
            end: m.data.1,
        },
        &counters,
    );
    let decoded: Box<dyn Read + '_> = if m.method == METHOD_DEFLATE {
        Box::new(DeflateDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    // One byte more than the header says, to notice data that runs on.
    let mut data = CrcReader::new(
        Metered::expanded(decoded, &counters, sink.limits()).take(m.size.saturating_add(1)),
    );
    match what {
        What::Symlink => {
            if m.size > MAX_TARGET {
                return Err(sink.refuse(&m.name, "its target is not a valid path"));
            }
            let mut target = Vec::new();
            data.read_to_end(&mut target)
                .map_err(|e| sink.read_error(e))?;
            verify(&data, m, sink)?;
            sink.symlink(&m.name, &target)
        }
        What::File { executable } => {
            sink.file(&m.name, executable, &mut data)?;
            verify(&data, m, sink)
        }
        What::Dir => Ok(()),
    }
}

/// Checks that a member's data had the size and CRC its header promised.
fn verify<R: Read>(data: &CrcReader<io::Take<R>>, m: &Member, sink: &Sink) -> Result<()> {
    let read = m.size.saturating_add(1) - data.get_ref().limit();
    if read != m.size {
        return Err(sink.refuse(
            &m.name,
            format!("its data is not the {} bytes its header says", m.size),
        ));
    }
    if data.crc().sum() != m.crc {
        return Err(sink.refuse(&m.name, "its data fails its CRC check"));
    }
    Ok(())
}

fn read_at(file: &File, pos: u64, len: usize, sink: &Sink) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, pos)
        .map_err(|e| sink.corrupt(format!("cannot read at offset {pos}: {e}")))?;
    Ok(buf)
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(word)
}

/// Reads a range of a file with positioned reads.
struct At<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends inside an entry",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}
