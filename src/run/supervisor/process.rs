//! The app's running processes: a long-running command started in its own process group with its output copied to its log, signalled, and reaped.
//!
//! These run until stopped, so they are not [`crate::base::process::Job`]s
//! (which run a command to completion); signals go through [`crate::base::sys`].

use std::collections::{BTreeMap, VecDeque};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::logs::LogBook;
use super::machine::{Event, ReleaseInfo, RunId, Signal};
use crate::base::process::describe;
use crate::base::sandbox::Spec;
use crate::base::sys;

/// Output lines kept per process, for a failed launch's report.
const TAIL_LINES: usize = 8;
/// How long a reaped process's output may take to reach its end (a leftover may still hold the pipe).
const OUTPUT_DRAIN: Duration = Duration::from_millis(200);

/// The last lines of one run's output, and whether its end was reached.
#[derive(Debug, Default)]
struct Output {
    state: Mutex<(VecDeque<String>, bool)>,
    ended: Condvar,
}

impl Output {
    fn push(&self, line: String) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.0.len() == TAIL_LINES {
            st.0.pop_front();
        }
        st.0.push_back(line);
    }

    fn end(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.ended.notify_all();
    }

    /// The last lines, once the output ended or `timeout` passed.
    fn tail(&self, timeout: Duration) -> Vec<String> {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (st, _) = self
            .ended
            .wait_timeout_while(st, timeout, |st| !st.1)
            .unwrap_or_else(|e| e.into_inner());
        st.0.iter().cloned().collect()
    }
}

struct Running {
    child: Child,
    output: Arc<Output>,
    /// Whether `child` is `bwrap`, which signals must go around.
    sandboxed: bool,
}

/// Every process the daemon started and has not reaped yet, by run.
pub(super) struct Processes {
    running: BTreeMap<RunId, Running>,
    logs: LogBook,
}

impl Processes {
    /// None yet; their output goes to `logs`.
    pub fn new(logs: LogBook) -> Processes {
        Processes {
            running: BTreeMap::new(),
            logs,
        }
    }

    /// Starts `sh -c COMMAND` in the release's directory, in its own process group; the event says how it went.
    pub fn spawn(
        &mut self,
        run: RunId,
        name: &str,
        command: &str,
        port: Option<u16>,
        release: &ReleaseInfo,
    ) -> Event {
        use std::os::unix::process::CommandExt;
        let (reader, writer) = match std::io::pipe() {
            Ok(pipe) => pipe,
            // Out of descriptors, say: not the command's fault, so it is tried again later.
            Err(e) => {
                return Event::SpawnFailed {
                    run,
                    reason: e.to_string(),
                    retry: true,
                };
            }
        };
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(crate::run::launch::env::with_profile(command))
            .current_dir(&release.dir)
            .env_clear()
            .envs(&release.env)
            .env("DYNO", name);
        if let Some(port) = port {
            cmd.env("PORT", port.to_string());
        }
        let (mut cmd, _args) = match release.sandbox.wrap(cmd, &spec(release)) {
            Ok(wrapped) => (wrapped.command, wrapped.args),
            Err(e) => {
                return Event::SpawnFailed {
                    run,
                    reason: e.to_string(),
                    retry: false,
                };
            }
        };
        cmd.stdin(Stdio::null()).process_group(0);
        match writer.try_clone() {
            Ok(w) => cmd.stdout(w).stderr(writer),
            Err(_) => cmd.stdout(Stdio::null()).stderr(Stdio::null()),
        };
        let spawned = cmd.spawn();
        // Our copies of the pipe's writing end go, so its end is the process's.
        drop(cmd);
        match spawned {
            Ok(child) => {
                let pid = child.id();
                let output = Arc::new(Output::default());
                let copier = {
                    let (logs, output) = (self.logs.clone(), output.clone());
                    let (file, source) = (name.to_owned(), format!("app[{name}]"));
                    move || copy_output(reader, &logs, &file, &source, &output)
                };
                // Without a thread of its own the output is not logged, but the process runs.
                if std::thread::Builder::new().spawn(copier).is_err() {
                    output.end();
                }
                let sandboxed = release.sandbox.is_bwrap();
                self.running.insert(
                    run,
                    Running {
                        child,
                        output,
                        sandboxed,
                    },
                );
                Event::Spawned { run, pid }
            }
            Err(e) => Event::SpawnFailed {
                run,
                reason: e.to_string(),
                retry: false,
            },
        }
    }

    /// The pid of `run` (also its process group), unless it was reaped.
    pub fn pid(&self, run: RunId) -> Option<u32> {
        self.running.get(&run).map(|p| p.child.id())
    }

    /// Sends `signal` to the process group of `run`, unless it was reaped (its pid may be another's by now).
    pub fn signal(&self, run: RunId, signal: Signal) {
        if let Some(p) = self.running.get(&run) {
            let signal = match signal {
                Signal::Term => sys::Signal::TERM,
                Signal::Kill => sys::Signal::KILL,
            };
            match p.sandboxed {
                true => crate::base::sandbox::signal_group(p.child.id(), signal),
                false => sys::kill_group(p.child.id(), signal),
            }
        }
    }

    /// Reaps every process that exited; what it left behind in its group is killed.
    pub fn reap(&mut self) -> Vec<Event> {
        let exited: Vec<(RunId, String)> = self
            .running
            .iter_mut()
            .filter_map(|(run, p)| match p.child.try_wait() {
                Ok(Some(status)) => Some((*run, describe(status))),
                _ => None,
            })
            .collect();
        let mut events = Vec::new();
        for (run, how) in exited {
            let Some(p) = self.running.remove(&run) else {
                continue;
            };
            sys::kill_group(p.child.id(), sys::Signal::KILL);
            let tail = p.output.tail(OUTPUT_DRAIN);
            events.push(Event::Exited { run, how, tail });
        }
        events
    }
}

/// What a process may touch besides the read-only system: its release's directory. It keeps the supervisor's session.
fn spec(release: &ReleaseInfo) -> Spec {
    Spec {
        write: vec![release.dir.clone()],
        read: Vec::new(),
        new_session: false,
    }
}

/// Copies a process's output into its log, line by line, keeping the last few lines for failure reports.
fn copy_output(
    reader: std::io::PipeReader,
    logs: &LogBook,
    file: &str,
    source: &str,
    output: &Output,
) {
    logs.copy_lines(reader, file, source, |line| output.push(line));
    output.end();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::time::Instant;

    fn release(dir: &std::path::Path) -> ReleaseInfo {
        ReleaseInfo {
            version: 1,
            dir: dir.to_path_buf(),
            env: BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]),
            procfile: Default::default(),
            health_path: None,
            health_timeout: Duration::from_secs(1),
            stop_grace: Duration::from_secs(1),
            sandbox: crate::base::sandbox::Sandbox::None,
        }
    }

    /// Reaps until something exited (at most 10 s).
    fn reaped(processes: &mut Processes) -> Vec<Event> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let events = processes.reap();
            if !events.is_empty() || Instant::now() > deadline {
                return events;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn an_exited_process_is_reaped_with_all_its_last_output_and_logged() {
        let dir = tempfile::tempdir().unwrap();
        let mut processes = Processes::new(LogBook::new(dir.path().to_path_buf()));
        let script = "echo $DYNO on $PORT; for i in 1 2 3 4 5 6 7 8 9; do echo line $i; done; echo gone >&2; exit 3";
        let spawned = processes.spawn(RunId(7), "web.1", script, Some(5005), &release(dir.path()));
        assert!(matches!(spawned, Event::Spawned { run: RunId(7), .. }));
        let events = reaped(&mut processes);
        let [Event::Exited { run, how, tail }] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!((run, how.as_str()), (&RunId(7), "exit 3"));
        // The last eight lines, the one written just before it exited included.
        assert_eq!(tail.len(), 8);
        assert_eq!(tail.first().map(String::as_str), Some("line 3"));
        assert_eq!(tail.last().map(String::as_str), Some("gone"));
        let log = std::fs::read_to_string(dir.path().join("web.1.log")).unwrap();
        assert!(log.contains(" app[web.1]: web.1 on 5005\n"), "{log}");
    }

    #[test]
    fn a_signal_reaches_the_whole_group_and_none_is_sent_once_reaped() {
        let dir = tempfile::tempdir().unwrap();
        let mut processes = Processes::new(LogBook::new(dir.path().to_path_buf()));
        // The shell waits for a child of its own: SIGTERM must reach both.
        processes.spawn(
            RunId(1),
            "worker.1",
            "sleep 30 & wait",
            None,
            &release(dir.path()),
        );
        processes.signal(RunId(1), Signal::Term);
        let events = reaped(&mut processes);
        assert!(
            matches!(&events[..], [Event::Exited { how, .. }] if how == "killed by signal 15"),
            "{events:?}"
        );
        // Gone from the table: a late signal goes nowhere.
        processes.signal(RunId(1), Signal::Kill);
        assert!(processes.reap().is_empty());

        let failed = processes.spawn(
            RunId(2),
            "web.1",
            "true",
            None,
            &release(&dir.path().join("missing")),
        );
        assert!(
            matches!(failed, Event::SpawnFailed { retry: false, .. }),
            "{failed:?}"
        );
    }
}
