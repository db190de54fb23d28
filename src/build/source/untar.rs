//! Reading an untrusted tar stream into a [`Sink`]: GNU long names and pax records handled here, bounded, rather than in the tar crate.

use std::io::Read;

use super::extract::{MAX_META, Sink};
use crate::base::text::escape_bytes;
use crate::build::error::Result;

/// Pax records: keyword and value, in order.
type PaxRecords = Vec<(Vec<u8>, Vec<u8>)>;

/// Extended header records that apply to the next entry.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<PaxRecords>,
}

/// Unpacks a tar stream, handling GNU long names and pax records itself (bounded) rather than in the tar crate.
pub(super) fn untar(reader: impl Read, sink: &mut Sink) -> Result<()> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| sink.read_error(e))?.raw(true);
    let mut pending = Pending::default();
    for entry in entries {
        let mut entry = entry.map_err(|e| sink.read_error(e))?;
        let kind = entry.header().entry_type().as_byte();
        let header_name = entry.path_bytes().into_owned();
        match kind {
            b'L' | b'K' | b'x' => {
                let data = read_meta(&mut entry, &header_name, sink)?;
                let slot_taken = match kind {
                    b'L' => pending.long_name.replace(trim_nul(data)).is_some(),
                    b'K' => pending.long_link.replace(trim_nul(data)).is_some(),
                    _ => pending
                        .pax
                        .replace(parse_pax(&data).map_err(|r| sink.refuse(&header_name, r))?)
                        .is_some(),
                };
                if slot_taken {
                    return Err(sink.corrupt("two extended headers describe the same entry"));
                }
                continue;
            }
            // A pax global header (git archive puts the commit id there): nothing to unpack.
            b'g' => continue,
            _ => {}
        }
        let pending = std::mem::take(&mut pending);
        let pax_value = |key: &[u8]| {
            pending
                .pax
                .as_ref()
                .and_then(|records| records.iter().rev().find(|(k, _)| k == key))
                .map(|(_, v)| v.clone())
        };
        let name = pending
            .long_name
            .clone()
            .or_else(|| pax_value(b"path"))
            .unwrap_or(header_name);
        let link = pending
            .long_link
            .clone()
            .or_else(|| pax_value(b"linkpath"))
            .or_else(|| entry.link_name_bytes().map(|l| l.into_owned()))
            .unwrap_or_default();
        if let Some(records) = &pending.pax {
            if records.iter().any(|(k, _)| k.starts_with(b"GNU.sparse.")) {
                return Err(sink.refuse(&name, "it is a sparse file"));
            }
            let size = entry.header().entry_size().unwrap_or(0);
            if let Some(pax_size) = pax_value(b"size")
                && pax_size != size.to_string().as_bytes()
            {
                return Err(sink.refuse(&name, "its pax size disagrees with its header"));
            }
        }
        match kind {
            b'0' | b'\0' | b'7' if name.ends_with(b"/") => sink.dir(&name)?,
            b'0' | b'\0' | b'7' => {
                let mode = entry
                    .header()
                    .mode()
                    .map_err(|_| sink.refuse(&name, "its mode is not a number"))?;
                sink.file(&name, mode & 0o100 != 0, &mut entry)?;
            }
            b'5' => sink.dir(&name)?,
            b'2' => sink.symlink(&name, &link)?,
            other => {
                let what = match other {
                    b'1' => "it is a hard link".to_owned(),
                    b'3' => "it is a character device".to_owned(),
                    b'4' => "it is a block device".to_owned(),
                    b'6' => "it is a FIFO".to_owned(),
                    b'S' => "it is a sparse file".to_owned(),
                    other => format!(
                        "it has the unsupported entry type '{}'",
                        escape_bytes(&[other])
                    ),
                };
                return Err(sink.refuse(&name, what));
            }
        }
    }
    Ok(())
}

/// Reads an extended header's data, refusing ones over [`MAX_META`].
fn read_meta(entry: &mut impl Read, name: &[u8], sink: &Sink) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    entry
        .take(MAX_META + 1)
        .read_to_end(&mut data)
        .map_err(|e| sink.read_error(e))?;
    if data.len() as u64 > MAX_META {
        return Err(sink.refuse(name, "its extended header is larger than 1MB"));
    }
    Ok(data)
}

fn trim_nul(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    bytes
}

/// Parses pax records: `LEN KEY=VALUE\n`, LEN counting the whole record.
fn parse_pax(mut data: &[u8]) -> std::result::Result<PaxRecords, &'static str> {
    const BAD: &str = "its pax header is malformed";
    let mut records = Vec::new();
    while !data.is_empty() {
        let space = data.iter().position(|&b| b == b' ').ok_or(BAD)?;
        let len: usize = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(BAD)?;
        if len <= space + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err(BAD);
        }
        let record = &data[space + 1..len - 1];
        let eq = record.iter().position(|&b| b == b'=').ok_or(BAD)?;
        records.push((record[..eq].to_vec(), record[eq + 1..].to_vec()));
        data = &data[len..];
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_parse_and_malformed_ones_are_refused() {
        let data = b"18 path=a/long/nm\n12 size=123\n";
        assert_eq!(
            parse_pax(data),
            Ok(vec![
                (b"path".to_vec(), b"a/long/nm".to_vec()),
                (b"size".to_vec(), b"123".to_vec())
            ])
        );
        assert!(parse_pax(b"99 path=x\n").is_err());
        assert!(parse_pax(b"5 a=b\n").is_err());
        assert!(parse_pax(b"x path=y\n").is_err());
    }
}
