//! Running a one-off command (the release phase, the `exec` launcher's hook) with its output streamed line by line.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::supervisor::sys;

/// How long output may keep coming after the command exited (from something it left running).
const LINGER: Duration = Duration::from_millis(300);
/// Lines longer than this are split.
const MAX_LINE: usize = 16 * 1024;

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finished {
    /// It exited with this status.
    Exited(ExitStatus),
    /// It ran longer than allowed and was killed.
    TimedOut,
}

impl Finished {
    /// Whether it exited with status 0.
    pub fn success(self) -> bool {
        matches!(self, Finished::Exited(s) if s.success())
    }
}

/// Runs `cmd` in its own process group with stdin from /dev/null, passing each line of its stdout and stderr to `on_line`.
///
/// After `timeout` the whole group is killed. Once the command exits, whatever
/// it left running in its group is killed too, so a background process can
/// neither hold the output open nor outlive the step.
pub fn run(
    cmd: &mut Command,
    timeout: Duration,
    on_line: &mut dyn FnMut(String),
) -> std::io::Result<Finished> {
    use std::os::unix::process::CommandExt;
    let (reader, writer) = std::io::pipe()?;
    cmd.stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0);
    let mut child = cmd.spawn()?;
    // Our copies of the write end live in `cmd`; replace them so EOF can come.
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let pgid = child.id();
    // Bounded: a command that prints faster than the client reads blocks on its pipe
    // instead of piling lines up in memory.
    let (tx, rx) = mpsc::sync_channel::<String>(256);
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
                    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                        line.pop();
                    }
                    if tx
                        .send(String::from_utf8_lossy(&line).into_owned())
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    let deadline = Instant::now() + timeout;
    let mut open = true;
    let mut exited: Option<(ExitStatus, Instant)> = None;
    loop {
        if open {
            // A burst of lines, then the exit and deadline checks below, so a
            // command that never stops printing still times out.
            let burst_end = Instant::now() + Duration::from_millis(50);
            loop {
                match rx.recv_timeout(Duration::from_millis(20)) {
                    Ok(line) => on_line(line),
                    Err(mpsc::RecvTimeoutError::Disconnected) => open = false,
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                }
                if !open || Instant::now() >= burst_end {
                    break;
                }
            }
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
        if exited.is_none()
            && let Some(status) = child.try_wait()?
        {
            exited = Some((status, Instant::now()));
        }
        match exited {
            Some((status, at)) if !open || at.elapsed() >= LINGER => {
                sys::kill_group(pgid, libc::SIGKILL);
                // Whatever was already written is still worth showing (for a moment: something
                // that left the group could write forever).
                let until = Instant::now() + LINGER;
                while let Ok(line) = rx.recv_timeout(Duration::from_millis(50)) {
                    on_line(line);
                    if Instant::now() >= until {
                        break;
                    }
                }
                return Ok(Finished::Exited(status));
            }
            None if Instant::now() >= deadline => {
                sys::kill_group(pgid, libc::SIGKILL);
                let _ = child.wait();
                return Ok(Finished::TimedOut);
            }
            _ => {}
        }
    }
}

/// "exit 1", "killed by signal 9": how a status reads in a message.
pub fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
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
        let finished = run(
            Command::new("sh").arg("-c").arg(script),
            timeout,
            &mut |l| lines.push(l),
        )
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
    fn a_command_that_never_stops_printing_still_times_out() {
        let start = Instant::now();
        let mut seen = 0u64;
        let finished = run(
            Command::new("sh").arg("-c").arg("yes"),
            Duration::from_millis(300),
            // A slow reader, as a client behind ssh can be.
            &mut |_| {
                seen += 1;
                if seen.is_multiple_of(1000) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            },
        )
        .unwrap();
        assert_eq!(finished, Finished::TimedOut);
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
