//! gzip on several cores, with incompressible stretches stored rather than deflated.
//!
//! The deflate stream is cut into blocks compressed in parallel, pigz-style:
//! each block is deflated with the previous block's last 32 KiB as its
//! dictionary and ends with a sync flush, so the blocks concatenate into one
//! valid stream and compress almost as well as a single pass. Data that is
//! already compressed (images, archives, video) is written as raw stored
//! blocks: as small, and many times faster than deflating it. Block borders
//! depend only on the input, so the output is deterministic whatever the
//! thread timing. Header: no name, mtime 0, OS "unknown".

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
const BLOCK: usize = 512 * 1024;
const WINDOW: usize = 32 * 1024;
const MAX_STORED_BLOCK: usize = 65535;

type Job = (Vec<u8>, Vec<u8>, SyncSender<io::Result<Vec<u8>>>);

/// A gzip stream being written to `out`, deflated by `workers` threads.
pub struct GzipWriter<W: Write> {
    out: W,
    crc: Crc,
    storing: bool,
    block: Vec<u8>,
    dictionary: Vec<u8>,
    jobs: Option<SyncSender<Job>>,
    pending: VecDeque<Receiver<io::Result<Vec<u8>>>>,
    max_pending: usize,
}

impl<W: Write> GzipWriter<W> {
    /// Starts a stream; `scope` hosts the deflate workers, which stop when the writer is finished.
    pub fn new<'scope>(
        scope: &'scope thread::Scope<'scope, '_>,
        mut out: W,
        level: u32,
        workers: usize,
    ) -> io::Result<GzipWriter<W>> {
        out.write_all(&HEADER)?;
        let workers = workers.max(1);
        let (tx, rx) = sync_channel::<Job>(workers);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..workers {
            let rx = Arc::clone(&rx);
            scope.spawn(move || deflate_worker(&rx, level));
        }
        Ok(GzipWriter {
            out,
            crc: Crc::new(),
            storing: false,
            block: Vec::with_capacity(BLOCK),
            dictionary: Vec::new(),
            jobs: Some(tx),
            pending: VecDeque::new(),
            max_pending: workers + 1,
        })
    }

    /// Switches between storing (for incompressible data) and deflating.
    pub fn set_storing(&mut self, storing: bool) -> io::Result<()> {
        if storing == self.storing {
            return Ok(());
        }
        if storing {
            self.submit()?;
            self.drain(0)?;
            // Stored bytes are not in any deflate block's history.
            self.dictionary.clear();
        }
        self.storing = storing;
        Ok(())
    }

    /// Compresses (or stores) all of `data`.
    pub fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        self.crc.update(data);
        if self.storing {
            for block in data.chunks(MAX_STORED_BLOCK) {
                // A non-final stored block at a byte boundary: header byte, LEN, NLEN, data.
                let len = block.len() as u16;
                let [lo, hi] = len.to_le_bytes();
                let [nlo, nhi] = (!len).to_le_bytes();
                self.out.write_all(&[0, lo, hi, nlo, nhi])?;
                self.out.write_all(block)?;
            }
            return Ok(());
        }
        while !data.is_empty() {
            let n = data.len().min(BLOCK - self.block.len());
            self.block.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.block.len() == BLOCK {
                self.submit()?;
            }
        }
        Ok(())
    }

    /// Ends the deflate stream, writes the gzip trailer and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.submit()?;
        self.drain(0)?;
        self.jobs = None;
        // Every block ended byte-aligned; an empty final block closes the stream.
        self.out
            .write_all(&deflate(&[], &[], 6, FlushCompress::Finish)?)?;
        self.out.write_all(&self.crc.sum().to_le_bytes())?;
        self.out.write_all(&self.crc.amount().to_le_bytes())?;
        Ok(self.out)
    }

    /// Hands the current block to a worker, keeping its tail as the next block's dictionary.
    fn submit(&mut self) -> io::Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let block = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK));
        let tail = block.len().saturating_sub(WINDOW);
        let dictionary = std::mem::replace(&mut self.dictionary, block[tail..].to_vec());
        let (tx, rx) = sync_channel(1);
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| io::Error::other("gzip stream already finished"))?;
        jobs.send((block, dictionary, tx))
            .map_err(|_| io::Error::other("a deflate worker stopped"))?;
        self.pending.push_back(rx);
        self.drain(self.max_pending)
    }

    /// Writes finished blocks, in order, until at most `keep` are still in flight.
    fn drain(&mut self, keep: usize) -> io::Result<()> {
        while self.pending.len() > keep {
            let Some(rx) = self.pending.pop_front() else {
                break;
            };
            let compressed = rx
                .recv()
                .map_err(|_| io::Error::other("a deflate worker stopped"))??;
            self.out.write_all(&compressed)?;
        }
        Ok(())
    }
}

fn deflate_worker(jobs: &Mutex<Receiver<Job>>, level: u32) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((block, dictionary, reply)) = job else {
            return;
        };
        let _ = reply.send(deflate(&block, &dictionary, level, FlushCompress::Sync));
    }
}

/// Raw-deflates `input` with `dictionary` as its history, ending with `flush`.
fn deflate(
    input: &[u8],
    dictionary: &[u8],
    level: u32,
    flush: FlushCompress,
) -> io::Result<Vec<u8>> {
    let mut compress = Compress::new(Compression::new(level), false);
    if !dictionary.is_empty() {
        compress
            .set_dictionary(dictionary)
            .map_err(io::Error::other)?;
    }
    let mut out = Vec::with_capacity(input.len() / 2 + 1024);
    let mut rest = input;
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let before = compress.total_in();
        let status = compress
            .compress_vec(rest, &mut out, flush)
            .map_err(io::Error::other)?;
        rest = &rest[(compress.total_in() - before) as usize..];
        let room_left = out.capacity() > out.len();
        match status {
            Status::StreamEnd => return Ok(out),
            _ if rest.is_empty() && room_left => return Ok(out),
            _ => {}
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

    fn gzip(parts: &[(&[u8], bool)], workers: usize) -> Vec<u8> {
        thread::scope(|scope| {
            let mut gz = GzipWriter::new(scope, Vec::new(), 6, workers).unwrap();
            for (data, store) in parts {
                gz.set_storing(*store).unwrap();
                gz.write_all(data).unwrap();
            }
            gz.finish().unwrap()
        })
    }

    #[test]
    fn parallel_blocks_and_stored_stretches_round_trip_deterministically() {
        let text = b"the quick brown fox jumps over the lazy dog\n".repeat(40_000);
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
        let parts: [(&[u8], bool); 3] = [(&text, false), (&noise, true), (&text, false)];
        let bytes = gzip(&parts, 3);
        assert_eq!(
            bytes,
            gzip(&parts, 1),
            "the worker count must not change the bytes"
        );
        let mut single = flate2::write::GzEncoder::new(Vec::new(), Compression::new(6));
        single
            .write_all(&[&text[..], &noise[..], &text[..]].concat())
            .unwrap();
        let single = single.finish().unwrap().len();
        assert!(
            bytes.len() <= single + single / 50,
            "{} vs one pass {single}",
            bytes.len()
        );
        let mut round = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut round)
            .unwrap();
        assert_eq!(round, [&text[..], &noise[..], &text[..]].concat());
        assert_eq!(
            gzip(&[], 2).len(),
            10 + 2 + 8,
            "header, empty final block, trailer"
        );
    }
}
