//! Reading blobs from a repository's object database, streaming the large ones.
//!
//! libgit2 inflates a whole object into memory, which for a 1 GB file means
//! 1 GB of RSS. Large blobs stored whole (loose, or undeltified in a pack, as
//! git stores big files) are therefore inflated here straight from disk, a
//! buffer at a time. A deltified large blob falls back to libgit2.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use flate2::bufread::ZlibDecoder;
use git2::{Odb, Oid, Repository};

/// Blobs up to this size are read whole; larger ones are streamed.
pub const STREAM_THRESHOLD: u64 = 4 * 1024 * 1024;

const PACK_TYPE_BLOB: u8 = 3;
const STREAM_BUF: usize = 64 * 1024;

/// Reads blobs of one repository.
pub struct Objects<'r> {
    odb: Odb<'r>,
    dirs: Vec<PathBuf>,
    packs: Option<Vec<PackIndex>>,
}

impl<'r> Objects<'r> {
    /// Opens the object database of `repo`, with its alternates and any `extra_dirs`.
    pub fn new(repo: &'r Repository, extra_dirs: &[PathBuf]) -> Result<Objects<'r>, git2::Error> {
        let odb = repo.odb()?;
        let primary = repo.path().join("objects");
        let mut dirs = extra_dirs.to_vec();
        for dir in extra_dirs {
            odb.add_disk_alternate(&dir.to_string_lossy())?;
        }
        dirs.extend(alternates(&primary));
        dirs.insert(0, primary);
        Ok(Objects {
            odb,
            dirs,
            packs: None,
        })
    }

    /// The size of a blob, without reading it.
    pub fn size(&self, oid: Oid) -> Result<u64, git2::Error> {
        self.odb.read_header(oid).map(|(size, _)| size as u64)
    }

    /// The whole content of a (small) blob.
    pub fn read(&self, oid: Oid) -> Result<Vec<u8>, git2::Error> {
        self.odb.read(oid).map(|o| o.data().to_vec())
    }

    /// A reader over a blob of `size` bytes that holds at most a buffer of it in memory when it can.
    pub fn open(&mut self, oid: Oid, size: u64) -> io::Result<Box<dyn BufRead + '_>> {
        if size > STREAM_THRESHOLD {
            if let Some(reader) = self.open_loose(oid)? {
                return Ok(Box::new(BufReader::with_capacity(
                    STREAM_BUF,
                    reader.take(size),
                )));
            }
            if let Some(reader) = self.open_packed(oid)? {
                return Ok(Box::new(BufReader::with_capacity(
                    STREAM_BUF,
                    reader.take(size),
                )));
            }
        }
        let object = self.odb.read(oid).map_err(io::Error::other)?;
        Ok(Box::new(ObjectReader { object, pos: 0 }))
    }

    fn open_loose(&self, oid: Oid) -> io::Result<Option<impl Read + use<>>> {
        let hex = oid.to_string();
        for dir in &self.dirs {
            let path = dir.join(&hex[..2]).join(&hex[2..]);
            let file = match File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let mut reader = BufReader::new(ZlibDecoder::new(BufReader::new(file)));
            // Loose objects start with "blob <size>\0".
            let mut header = Vec::new();
            reader.read_until(0, &mut header)?;
            if !header.starts_with(b"blob ") || header.last() != Some(&0) {
                return Ok(None);
            }
            return Ok(Some(reader));
        }
        Ok(None)
    }

    fn open_packed(&mut self, oid: Oid) -> io::Result<Option<impl Read + use<>>> {
        if self.packs.is_none() {
            self.packs = Some(find_packs(&self.dirs)?);
        }
        for pack in self.packs.iter().flatten() {
            let Some(offset) = pack.find(oid)? else {
                continue;
            };
            let mut file = pack.pack.try_clone()?;
            file.seek(SeekFrom::Start(offset))?;
            let mut reader = BufReader::new(file);
            let kind = read_pack_entry_type(&mut reader)?;
            if kind != PACK_TYPE_BLOB {
                // A delta: only libgit2 can rebuild it.
                return Ok(None);
            }
            return Ok(Some(ZlibDecoder::new(reader)));
        }
        Ok(None)
    }
}

/// Reads an object held in memory by libgit2 without copying it first.
struct ObjectReader<'o> {
    object: git2::OdbObject<'o>,
    pos: usize,
}

impl Read for ObjectReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.fill_buf()?.read(buf)?;
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ObjectReader<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Ok(&self.object.data()[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.object.data().len());
    }
}

/// Reads a pack entry's type-and-size header, leaving the reader at the compressed data.
fn read_pack_entry_type(reader: &mut impl Read) -> io::Result<u8> {
    let mut byte = [0u8; 1];
    reader.read_exact(&mut byte)?;
    let kind = (byte[0] >> 4) & 7;
    while byte[0] & 0x80 != 0 {
        reader.read_exact(&mut byte)?;
    }
    Ok(kind)
}

fn alternates(objects: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(objects.join("info").join("alternates")) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| objects.join(l))
        .collect()
}

fn find_packs(dirs: &[PathBuf]) -> io::Result<Vec<PackIndex>> {
    let mut packs = Vec::new();
    for dir in dirs {
        let pack_dir = dir.join("pack");
        let Ok(entries) = std::fs::read_dir(&pack_dir) else {
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "idx")
                && let Some(index) = PackIndex::open(&path)?
            {
                packs.push(index);
            }
        }
    }
    Ok(packs)
}

/// A version 2 pack index, searched with positioned reads rather than loaded.
///
/// The pack file is opened with its index, so a repack that deletes both
/// while a slug is compiled cannot pull them away.
struct PackIndex {
    idx: File,
    pack: File,
    fanout: Vec<u32>,
}

impl PackIndex {
    fn open(path: &Path) -> io::Result<Option<PackIndex>> {
        let (idx, pack) = match (File::open(path), File::open(path.with_extension("pack"))) {
            (Ok(idx), Ok(pack)) => (idx, pack),
            // Removed by a repack since the directory was listed.
            (Err(e), _) | (_, Err(e)) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };
        let mut header = [0u8; 8 + 256 * 4];
        if idx.read_exact_at(&mut header, 0).is_err() || header[..8] != *b"\xfftOc\x00\x00\x00\x02"
        {
            return Ok(None);
        }
        let fanout = header[8..]
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Some(PackIndex { idx, pack, fanout }))
    }

    fn count(&self) -> u64 {
        u64::from(self.fanout[255])
    }

    /// The offset of `oid` in the pack, if the pack has it.
    fn find(&self, oid: Oid) -> io::Result<Option<u64>> {
        let id = oid.as_bytes();
        let first = usize::from(id[0]);
        let mut lo = if first == 0 {
            0
        } else {
            u64::from(self.fanout[first - 1])
        };
        let mut hi = u64::from(self.fanout[first]);
        let names = 8 + 256 * 4;
        let mut name = [0u8; 20];
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            self.idx.read_exact_at(&mut name, names + mid * 20)?;
            match name.as_slice().cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.offset(mid).map(Some),
            }
        }
        Ok(None)
    }

    fn offset(&self, position: u64) -> io::Result<u64> {
        let n = self.count();
        let offsets = 8 + 256 * 4 + n * 20 + n * 4;
        let mut word = [0u8; 4];
        self.idx.read_exact_at(&mut word, offsets + position * 4)?;
        let small = u32::from_be_bytes(word);
        if small & 0x8000_0000 == 0 {
            return Ok(u64::from(small));
        }
        let large_table = offsets + n * 4;
        let mut large = [0u8; 8];
        self.idx
            .read_exact_at(&mut large, large_table + u64::from(small & 0x7fff_ffff) * 8)?;
        Ok(u64::from_be_bytes(large))
    }
}
