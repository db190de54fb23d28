//! A gzip writer that can store incompressible stretches instead of deflating them.
//!
//! Deflating data that is already compressed (images, archives, video) costs
//! most of a compile and saves nothing. The tar thread marks such file bodies
//! and they are written as stored deflate blocks, which is as small and many
//! times faster. To store, the compressor is sync-flushed (so the stream is
//! byte-aligned) and raw stored blocks follow; to deflate again it is reset,
//! so it never refers back to bytes it did not see (as pigz does between its
//! blocks). The output depends only on the input and those marks, so it stays
//! deterministic. Header: no name, mtime 0, OS "unknown".

use std::io::{self, Write};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
const OUT_BUF: usize = 128 * 1024;
const MAX_STORED_BLOCK: usize = 65535;

/// A gzip stream being written to `out`.
pub struct GzipWriter<W: Write> {
    out: W,
    deflate: Compress,
    storing: bool,
    crc: Crc,
    buf: Vec<u8>,
}

impl<W: Write> GzipWriter<W> {
    /// Starts a stream deflating at `level` (1-9).
    pub fn new(mut out: W, level: u32) -> io::Result<GzipWriter<W>> {
        out.write_all(&HEADER)?;
        Ok(GzipWriter {
            out,
            deflate: Compress::new(Compression::new(level), false),
            storing: false,
            crc: Crc::new(),
            buf: Vec::with_capacity(OUT_BUF),
        })
    }

    /// Switches between storing (for incompressible data) and deflating.
    pub fn set_storing(&mut self, storing: bool) -> io::Result<()> {
        if storing == self.storing {
            return Ok(());
        }
        if storing {
            // Emit everything deflated so far and align to a byte.
            self.run(&[], FlushCompress::Sync)?;
        } else {
            // Start a fresh history: the stored bytes are not in the compressor's window.
            self.deflate.reset();
        }
        self.storing = storing;
        Ok(())
    }

    /// Compresses (or stores) all of `data`.
    pub fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.crc.update(data);
        if !self.storing {
            return self.run(data, FlushCompress::None);
        }
        for block in data.chunks(MAX_STORED_BLOCK) {
            // A non-final stored block: 3 header bits padded to a byte, LEN, NLEN, data.
            let len = block.len() as u16;
            let [lo, hi] = len.to_le_bytes();
            let [nlo, nhi] = (!len).to_le_bytes();
            self.out.write_all(&[0, lo, hi, nlo, nhi])?;
            self.out.write_all(block)?;
        }
        Ok(())
    }

    /// Ends the deflate stream, writes the gzip trailer and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.set_storing(false)?;
        self.run(&[], FlushCompress::Finish)?;
        self.out.write_all(&self.crc.sum().to_le_bytes())?;
        self.out.write_all(&self.crc.amount().to_le_bytes())?;
        Ok(self.out)
    }

    fn run(&mut self, mut input: &[u8], flush: FlushCompress) -> io::Result<()> {
        loop {
            self.buf.clear();
            let before = self.deflate.total_in();
            let status = self
                .deflate
                .compress_vec(input, &mut self.buf, flush)
                .map_err(io::Error::other)?;
            input = &input[(self.deflate.total_in() - before) as usize..];
            self.out.write_all(&self.buf)?;
            let output_full = self.buf.len() == self.buf.capacity();
            match status {
                Status::StreamEnd => return Ok(()),
                _ if input.is_empty() && !output_full => return Ok(()),
                _ => {}
            }
        }
    }
}

/// Whether a sample of a file looks already compressed (near 8 bits of entropy per byte).
pub fn looks_incompressible(sample: &[u8]) -> bool {
    if sample.len() < 4096 {
        return false;
    }
    let mut counts = [0u32; 256];
    for &b in sample {
        counts[usize::from(b)] += 1;
    }
    let n = sample.len() as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    entropy > 7.5
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn mixed_stored_and_deflated_stretches_round_trip() {
        let text = b"the quick brown fox jumps over the lazy dog\n".repeat(2000);
        let mut noise = vec![0u8; 300_000];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for b in &mut noise {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = (x >> 24) as u8;
        }
        assert!(looks_incompressible(&noise[..65536]));
        assert!(!looks_incompressible(&text[..65536]));
        let mut gz = GzipWriter::new(Vec::new(), 6).unwrap();
        gz.write_all(&text).unwrap();
        gz.set_storing(true).unwrap();
        gz.write_all(&noise).unwrap();
        gz.set_storing(false).unwrap();
        gz.write_all(&text).unwrap();
        let bytes = gz.finish().unwrap();
        assert!(bytes.len() < noise.len() + 10_000, "{}", bytes.len());
        let mut round = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut round)
            .unwrap();
        assert_eq!(round, [&text[..], &noise[..], &text[..]].concat());
    }
}
