//! The one way slipway runs a child to completion: clean environment, its own process group, output streamed line by line, a deadline, and nothing left behind.
//!
//! Used by the build step, add-on hooks, watch's `git fetch`, the release
//! phase and the `exec` launcher's hook. A [`Job`] starts with an empty
//! environment and stdin from /dev/null; its stdout and stderr share one pipe
//! (so lines arrive in the order they were written) unless stderr is asked for
//! apart. When the command exits, times out or is stopped, its whole process
//! group is killed, so a background process can neither hold the output open
//! nor outlive the step.

use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::sandbox::{Sandbox, SandboxError, Spec};
use super::sys::{self, Signal};

/// Lines longer than this many bytes are passed on in pieces.
pub const MAX_LINE: usize = 16 * 1024;
/// How long output may keep coming after the command exited (from something it left running).
const LINGER: Duration = Duration::from_millis(300);
/// How often exit, deadline and stop are checked while output is quiet.
const POLL: Duration = Duration::from_millis(20);
/// Lines buffered between the reader threads and the caller: a command that
/// prints faster than the caller takes lines blocks on its pipe instead of
/// piling them up in memory.
const QUEUE: usize = 256;

/// Which of the command's outputs a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Standard output (and standard error, unless it was asked for apart).
    Stdout,
    /// Standard error, when [`Job::stderr_apart`] was asked for.
    Stderr,
}

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finished {
    /// It exited with this status.
    Exited(ExitStatus),
    /// It ran longer than allowed and was killed.
    TimedOut,
    /// The stop flag was raised and it was killed.
    Stopped,
}

impl Finished {
    /// Whether it exited with status 0.
    pub fn success(self) -> bool {
        matches!(self, Finished::Exited(s) if s.success())
    }
}

/// A command to run to completion.
#[derive(Debug)]
pub struct Job {
    command: Command,
    /// What the sandbox needs open until the command is spawned.
    keep: Vec<std::os::fd::OwnedFd>,
    timeout: Option<Duration>,
    stderr_apart: bool,
    stdout_to: Option<std::fs::File>,
    stop: Option<Arc<AtomicBool>>,
}

impl Job {
    /// `program`, with an empty environment, stdin from /dev/null and no deadline.
    pub fn new(program: impl AsRef<OsStr>) -> Job {
        let mut command = Command::new(program);
        command.env_clear();
        Job {
            command,
            keep: Vec::new(),
            timeout: None,
            stderr_apart: false,
            stdout_to: None,
            stop: None,
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Job {
        self.command.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Job
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Sets one environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Job {
        self.command.env(key, value);
        self
    }

    /// Sets environment variables.
    pub fn envs<I, K, V>(mut self, vars: I) -> Job
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.command.envs(vars);
        self
    }

    /// Runs it in `dir`.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Job {
        self.command.current_dir(dir);
        self
    }

    /// Kills it (and its group) after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Job {
        self.timeout = Some(timeout);
        self
    }

    /// Reports stderr as [`Stream::Stderr`] instead of merging it into stdout.
    pub fn stderr_apart(mut self) -> Job {
        self.stderr_apart = true;
        self
    }

    /// Sends stdout to `file` (for binary output, such as `git archive`); stderr is still reported line by line.
    pub fn stdout_to(mut self, file: std::fs::File) -> Job {
        self.stdout_to = Some(file);
        self
    }

    /// Kills it (and its group) as soon as `flag` is raised.
    pub fn stop_when(mut self, flag: Arc<AtomicBool>) -> Job {
        self.stop = Some(flag);
        self
    }

    /// Runs it in `sandbox`, seeing what `spec` allows; call this last, once program, arguments, environment and directory are set.
    pub fn sandboxed(mut self, sandbox: &Sandbox, spec: &Spec) -> Result<Job, SandboxError> {
        let wrapped = sandbox.wrap(self.command, spec)?;
        self.command = wrapped.command;
        self.keep = wrapped.args;
        Ok(self)
    }

    /// The program and arguments, for messages.
    pub fn program(&self) -> &OsStr {
        self.command.get_program()
    }

    /// Runs the command to its end, passing each line of its output (without the newline) to `on_line`.
    ///
    /// A line is shown as a terminal would leave it: after a `\r`, only what
    /// overwrote it. Whatever the command left running in its process group is
    /// killed once it exits.
    pub fn run(mut self, on_line: &mut dyn FnMut(Stream, String)) -> io::Result<Finished> {
        let (tx, rx) = mpsc::sync_channel::<(Stream, String)>(QUEUE);
        let (out_reader, out_writer) = io::pipe()?;
        self.command.stdin(Stdio::null()).process_group(0);
        match self.stdout_to.take() {
            Some(file) => self.command.stdout(file),
            None => self.command.stdout(out_writer.try_clone()?),
        };
        let err_reader = if self.stderr_apart {
            let (reader, writer) = io::pipe()?;
            self.command.stderr(writer);
            Some(reader)
        } else {
            self.command.stderr(out_writer.try_clone()?);
            None
        };
        let spawned = self.command.spawn();
        // Our copies of the write ends live in `command` and `out_writer`:
        // drop them, so EOF comes as soon as the command's processes are gone
        // (one left open made every job wait out LINGER after it exited).
        drop(self.command);
        drop(out_writer);
        self.keep.clear();
        let mut child = spawned?;
        read_lines(out_reader, Stream::Stdout, tx.clone());
        if let Some(reader) = err_reader {
            read_lines(reader, Stream::Stderr, tx.clone());
        }
        drop(tx);

        let pgid = child.id();
        let deadline = self.timeout.and_then(|t| Instant::now().checked_add(t));
        let stopped = || self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst));
        let mut open = true;
        let mut exited: Option<Instant> = None;
        loop {
            if open {
                // A burst of lines, then the checks below, so a command that
                // never stops printing still times out.
                let burst_end = Instant::now() + Duration::from_millis(50);
                loop {
                    match rx.recv_timeout(POLL) {
                        Ok((stream, line)) => on_line(stream, line),
                        Err(RecvTimeoutError::Disconnected) => open = false,
                        Err(RecvTimeoutError::Timeout) => {}
                    }
                    if !open || Instant::now() >= burst_end {
                        break;
                    }
                }
            } else {
                std::thread::sleep(POLL);
            }
            if exited.is_none() && sys::has_exited(pgid) {
                exited = Some(Instant::now());
            }
            let ended = match exited {
                Some(at) if !open || at.elapsed() >= LINGER => None,
                Some(_) => continue,
                None if deadline.is_some_and(|d| Instant::now() >= d) => Some(Finished::TimedOut),
                None if stopped() => Some(Finished::Stopped),
                None => continue,
            };
            sys::kill_group(pgid, Signal::KILL);
            let status = child.wait()?;
            if let Some(ended) = ended {
                return Ok(ended);
            }
            // Whatever was already written is still worth showing, for a
            // moment: something that left the group could write forever.
            let until = Instant::now() + LINGER;
            while let Ok((stream, line)) = rx.recv_timeout(Duration::from_millis(50)) {
                on_line(stream, line);
                if Instant::now() >= until {
                    break;
                }
            }
            return Ok(Finished::Exited(status));
        }
    }
}

/// Reads `reader` on a thread, sending each line (at most [`MAX_LINE`] bytes) as it comes.
fn read_lines(
    reader: impl Read + Send + 'static,
    stream: Stream,
    tx: mpsc::SyncSender<(Stream, String)>,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            match (&mut reader)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut line)
            {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send((stream, display_line(&line))).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

/// A line as a terminal would leave it: no newline, and after a `\r` only what overwrote the line.
pub fn display_line(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let last = line.rsplit(|&b| b == b'\r').next().unwrap_or(line);
    String::from_utf8_lossy(last).into_owned()
}

/// "exit 1", "killed by signal 9": how a status reads in a message.
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> (Finished, Vec<String>) {
        let mut lines = Vec::new();
        let finished = Job::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .timeout(timeout)
            .run(&mut |_, l| lines.push(l))
            .unwrap();
        (finished, lines)
    }

    #[test]
    fn streams_both_outputs_and_reports_the_status() {
        let (finished, lines) = sh("echo one; echo two >&2; exit 3", Duration::from_secs(10));
        assert_eq!(lines, ["one", "two"]);
        assert!(!finished.success());
        let Finished::Exited(status) = finished else {
            panic!("{finished:?}")
        };
        assert_eq!(describe(status), "exit 3");
    }

    #[test]
    fn stderr_apart_is_marked() {
        let mut lines = Vec::new();
        Job::new("/bin/sh")
            .args(["-c", "echo out; echo err >&2"])
            .stderr_apart()
            .run(&mut |s, l| lines.push((s, l)))
            .unwrap();
        lines.sort_by_key(|(s, _)| *s == Stream::Stderr);
        assert_eq!(
            lines,
            [
                (Stream::Stdout, "out".to_owned()),
                (Stream::Stderr, "err".to_owned())
            ]
        );
    }

    #[test]
    fn the_environment_starts_empty() {
        let (_, lines) = sh("echo \"[$HOME]\"", Duration::from_secs(10));
        assert_eq!(lines, ["[]"]);
    }

    #[test]
    fn a_background_child_does_not_hold_it_open() {
        let start = Instant::now();
        let (finished, lines) = sh("sleep 30 & echo started", Duration::from_secs(20));
        assert!(finished.success());
        assert_eq!(lines, ["started"]);
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_command_over_its_time_is_killed() {
        let start = Instant::now();
        let (finished, _) = sh("echo hi; sleep 30", Duration::from_millis(300));
        assert_eq!(finished, Finished::TimedOut);
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_raised_stop_flag_kills_it() {
        let flag = Arc::new(AtomicBool::new(true));
        let finished = Job::new("/bin/sh")
            .args(["-c", "sleep 30"])
            .stop_when(flag)
            .run(&mut |_, _| {})
            .unwrap();
        assert_eq!(finished, Finished::Stopped);
    }

    #[test]
    fn a_command_that_never_stops_printing_still_times_out() {
        let start = Instant::now();
        let mut seen = 0u64;
        let finished = Job::new("/bin/sh")
            .args(["-c", "yes"])
            .timeout(Duration::from_millis(300))
            // A slow reader, as a client behind ssh can be.
            .run(&mut |_, _| {
                seen += 1;
                if seen.is_multiple_of(1000) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
            .unwrap();
        assert_eq!(finished, Finished::TimedOut);
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn lines_show_what_a_terminal_would() {
        assert_eq!(display_line(b"hello\n"), "hello");
        assert_eq!(display_line(b"crlf\r\n"), "crlf");
        assert_eq!(display_line(b"10%\r50%\r100%\n"), "100%");
        assert_eq!(display_line(b"no newline"), "no newline");
        assert_eq!(display_line(b"\xff\n"), "\u{fffd}");
    }
}
