//! Process logs: `apps/NAME/logs/TYPE.N.log`, one timestamped line per line of output, and reading them back.
//!
//! Every line starts with an RFC 3339 UTC timestamp with microseconds (fixed
//! width, so lines of several files merge by sorting), then who wrote it:
//! `app[web.1]` for the process, `slipway[web.1]` for what the supervisor did.
//! A file over 10 MB is renamed to `.log.1` (replacing the previous one).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::model::procfile::Target;
use crate::run::error::{Error, Result};

const ROTATE_AT: u64 = 10 * 1024 * 1024;
/// The longest output line logged as one; a longer one is split.
const MAX_LINE: u64 = 16 * 1024;
const TIMESTAMP_LEN: usize = 27;

/// Now as a log line starts: `2026-03-01T10:00:00.123456Z`.
pub fn timestamp() -> String {
    format!("{:.6}", jiff::Timestamp::now())
}

/// One log file, opened on first write and reopened after rotation.
type Slot = Arc<Mutex<Option<File>>>;

/// The open log files of one app, shared by every thread of its supervisor.
#[derive(Clone, Debug)]
pub struct LogBook {
    dir: PathBuf,
    files: Arc<Mutex<HashMap<String, Slot>>>,
}

impl LogBook {
    /// Copies what a process writes to `reader` into `FILE.log` as `source`, line by line, until it closes; `each` sees every line too.
    pub fn copy_lines(
        &self,
        reader: impl Read,
        file: &str,
        source: &str,
        mut each: impl FnMut(String),
    ) {
        let mut reader = io::BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            match io::BufRead::read_until(&mut (&mut reader).take(MAX_LINE), b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                        line.pop();
                    }
                    let text = String::from_utf8_lossy(&line).into_owned();
                    self.write(file, source, &text);
                    each(text);
                }
            }
        }
    }

    /// Logs in `dir` (`apps/NAME/logs`).
    pub fn new(dir: PathBuf) -> LogBook {
        LogBook {
            dir,
            files: Arc::default(),
        }
    }

    /// Appends `TIMESTAMP SOURCE: text` to `FILE.log`; failures to write are dropped (logs never stop an app).
    pub fn write(&self, file: &str, source: &str, text: &str) {
        let slot = {
            let Ok(mut files) = self.files.lock() else {
                return;
            };
            files.entry(file.to_owned()).or_default().clone()
        };
        let Ok(mut slot) = slot.lock() else {
            return;
        };
        let path = self.dir.join(format!("{file}.log"));
        if slot
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .is_some_and(|m| m.len() >= ROTATE_AT)
        {
            let _ = fs::rename(&path, self.dir.join(format!("{file}.log.1")));
            *slot = None;
        }
        if slot.is_none() {
            *slot = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .ok();
        }
        if let Some(f) = slot.as_mut() {
            let line = format!("{} {source}: {text}\n", timestamp());
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// Whether `name` in the logs directory is a process or supervisor log (not a release's build log `vN.log`).
fn is_process_log(name: &str) -> bool {
    let Some(stem) = name
        .strip_suffix(".log")
        .or_else(|| name.strip_suffix(".log.1"))
    else {
        return false;
    };
    let build_log = stem
        .strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    !build_log && !stem.is_empty()
}

/// Whether the log file `name` (`web.1.log`, `web.1.log.1`) is the log of a process `only` names (any process log when `None`).
fn is_selected(name: &str, only: Option<&Target>) -> bool {
    let Some(target) = only else {
        return true;
    };
    name.strip_suffix(".log")
        .or_else(|| name.strip_suffix(".log.1"))
        .is_some_and(|stem| target.matches_name(stem))
}

fn log_files(dir: &Path, only: Option<&Target>) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(Error::io("read", dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(Error::io("read", dir))?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|name| is_process_log(name) && is_selected(name, only))
        {
            files.push(entry.path());
        }
    }
    // Rotated files first, so their lines come before their successors' at equal times.
    files.sort_by_key(|p| (!p.to_string_lossy().ends_with(".1"), p.clone()));
    Ok(files)
}

/// Where `follow` picks up: the size of every log file when it was last read.
#[derive(Clone, Debug, Default)]
pub struct Cursor {
    read: HashMap<PathBuf, u64>,
}

/// The last `n` lines of the app's process logs (of the processes `only` names), merged in time order, and where to follow from.
pub fn last_lines(dir: &Path, n: usize, only: Option<&Target>) -> Result<(Vec<String>, Cursor)> {
    let mut cursor = Cursor::default();
    let mut lines: Vec<(String, usize, usize, String)> = Vec::new();
    for (i, path) in log_files(dir, only)?.into_iter().enumerate() {
        let (tail, size) = tail_of(&path, n).map_err(Error::io("read", &path))?;
        if !path.to_string_lossy().ends_with(".1") {
            cursor.read.insert(path, size);
        }
        let mut stamp = String::new();
        for (j, line) in tail.into_iter().enumerate() {
            if let Some(ts) = line_timestamp(&line) {
                stamp = ts.to_owned();
            }
            lines.push((stamp.clone(), i, j, line));
        }
    }
    lines.sort();
    let skip = lines.len().saturating_sub(n);
    Ok((lines.into_iter().skip(skip).map(|l| l.3).collect(), cursor))
}

fn line_timestamp(line: &str) -> Option<&str> {
    let ts = line.get(..TIMESTAMP_LEN)?;
    (ts.as_bytes()[0].is_ascii_digit() && ts.ends_with('Z')).then_some(ts)
}

/// The last `n` complete lines of a file and its size, reading backwards from the end.
fn tail_of(path: &Path, n: usize) -> io::Result<(Vec<String>, u64)> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut pos = size;
    let mut buf: Vec<u8> = Vec::new();
    const CHUNK: u64 = 64 * 1024;
    while pos > 0 && buf.iter().filter(|b| **b == b'\n').count() <= n {
        let step = CHUNK.min(pos);
        pos -= step;
        file.seek(SeekFrom::Start(pos))?;
        let mut chunk = vec![0; step as usize];
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
    }
    // Only complete lines: what follows the last newline is still being written.
    let end = buf.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let complete = &buf[..end];
    let text = String::from_utf8_lossy(complete);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if pos > 0 && !lines.is_empty() {
        // The first line may have been cut by the chunking.
        lines.remove(0);
    }
    let skip = lines.len().saturating_sub(n);
    Ok((lines.split_off(skip), size - (buf.len() - end) as u64))
}

/// Passes each new complete line of the app's logs (of the processes `only` names) to `emit` as it is written, until `emit` fails.
///
/// Polls every 200 ms; new files are picked up, and a file that shrank
/// (rotated) is read again from its start.
pub fn follow(
    dir: &Path,
    mut cursor: Cursor,
    only: Option<&Target>,
    emit: &mut dyn FnMut(&str) -> io::Result<()>,
) -> Result<()> {
    loop {
        for path in log_files(dir, only)? {
            if path.to_string_lossy().ends_with(".1") {
                continue;
            }
            let Ok(mut file) = File::open(&path) else {
                continue;
            };
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            let mut from = cursor.read.get(&path).copied().unwrap_or(0);
            if size < from {
                from = 0;
            }
            if size == from {
                cursor.read.insert(path, size);
                continue;
            }
            let mut buf = Vec::new();
            if file.seek(SeekFrom::Start(from)).is_err()
                || (&mut file).take(size - from).read_to_end(&mut buf).is_err()
            {
                continue;
            }
            let end = buf.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            for line in String::from_utf8_lossy(&buf[..end]).lines() {
                if emit(line).is_err() {
                    return Ok(());
                }
            }
            cursor.read.insert(path, from + end as u64);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_files_by_time_and_skips_build_logs() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(
            d.join("web.1.log"),
            "2026-03-01T10:00:00.000001Z app[web.1]: a\n2026-03-01T10:00:00.000003Z app[web.1]: c\n",
        )
        .unwrap();
        fs::write(
            d.join("worker.1.log"),
            "2026-03-01T10:00:00.000002Z app[worker.1]: b\ncontinued\npartial",
        )
        .unwrap();
        fs::write(d.join("v1.log"), "-----> build\n").unwrap();
        let (lines, _) = last_lines(d, 10, None).unwrap();
        assert_eq!(
            lines,
            [
                "2026-03-01T10:00:00.000001Z app[web.1]: a",
                "2026-03-01T10:00:00.000002Z app[worker.1]: b",
                "continued",
                "2026-03-01T10:00:00.000003Z app[web.1]: c",
            ]
        );
        let (last, _) = last_lines(d, 1, None).unwrap();
        assert_eq!(last, ["2026-03-01T10:00:00.000003Z app[web.1]: c"]);
        let worker = "worker".parse().ok();
        let (only, _) = last_lines(d, 10, worker.as_ref()).unwrap();
        assert_eq!(
            only,
            ["2026-03-01T10:00:00.000002Z app[worker.1]: b", "continued"]
        );
        let (none, _) = last_lines(d, 10, "web.2".parse().ok().as_ref()).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn tail_reads_only_the_end_of_big_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.1.log");
        let text: String = (0..50_000).map(|i| format!("line {i}\n")).collect();
        fs::write(&path, text).unwrap();
        let (lines, size) = tail_of(&path, 3).unwrap();
        assert_eq!(lines, ["line 49997", "line 49998", "line 49999"]);
        assert_eq!(size, fs::metadata(&path).unwrap().len());
    }

    #[test]
    fn log_book_writes_timestamped_lines() {
        let dir = tempfile::tempdir().unwrap();
        let book = LogBook::new(dir.path().to_path_buf());
        book.write("web.1", "app[web.1]", "hello");
        let text = fs::read_to_string(dir.path().join("web.1.log")).unwrap();
        assert!(text.ends_with("Z app[web.1]: hello\n"), "{text}");
        assert_eq!(line_timestamp(&text).map(str::len), Some(TIMESTAMP_LEN));
    }
}
