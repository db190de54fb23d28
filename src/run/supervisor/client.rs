//! The client side of the control socket: connecting to an app's supervisor, starting it when none runs, and one request at a time.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Paths;
use super::protocol::{Reply, Request};
use crate::run::error::{Error, Result};
use crate::run::launch::env;
use crate::store::app::App;
use crate::store::root::Root;

/// How long a new supervisor has to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest path `bind` takes for a Unix socket (sun_path, less its NUL).
const MAX_SOCKET_PATH: usize = 107;
/// How long quick requests (ping, status, scale) may take.
pub(super) const QUICK: Duration = Duration::from_secs(10);

/// What a supervisor started by [`Client::connect_or_start`] does first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Start the current release by itself (after a reboot, a scale, a crash of the old supervisor).
    Current,
    /// Nothing until asked: the caller launches a release and wants to hear how it went.
    Idle,
}

/// A connection to a running supervisor.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<UnixStream>,
    socket: PathBuf,
}

impl Client {
    /// Connects to the app's supervisor; `None` when none is running.
    pub fn connect(app: &App) -> Result<Option<Client>> {
        let socket = Paths::of(app).socket;
        match UnixStream::connect(&socket) {
            Ok(stream) => Ok(Some(Client {
                reader: BufReader::new(stream),
                socket,
            })),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(Error::io("connect to", &socket)(e)),
        }
    }

    /// Connects to the app's supervisor, starting one (detached) if none runs.
    pub fn connect_or_start(root: &Root, app: &App, exe: &Path, start: Start) -> Result<Client> {
        if let Some(client) = Client::connect(app)? {
            return Ok(client);
        }
        let socket = Paths::of(app).socket;
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(Error::Supervisor {
                app: app.name.to_string(),
                reason: format!(
                    "its socket path {} is longer than the {MAX_SOCKET_PATH} bytes a Unix socket allows; use a root with a shorter path",
                    socket.display()
                ),
            });
        }
        let mut child = spawn(root, app, exe, start)?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(client) = Client::connect(app)? {
                return Ok(client);
            }
            // Exit 0 means another supervisor holds the lock: it will answer soon.
            if let Ok(Some(status)) = child.try_wait()
                && !status.success()
            {
                return Err(Error::Supervisor {
                    app: app.name.to_string(),
                    reason: format!("it exited at once ({status})"),
                });
            }
            if Instant::now() >= deadline {
                return Err(Error::Supervisor {
                    app: app.name.to_string(),
                    reason: format!(
                        "it did not start answering on {} within {}s",
                        Paths::of(app).socket.display(),
                        START_TIMEOUT.as_secs()
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `request` and waits up to `timeout` for the reply.
    pub fn request(&mut self, request: &Request, timeout: Duration) -> Result<Reply> {
        self.send(request)?;
        let stream = self.reader.get_ref();
        stream
            .set_read_timeout(Some(timeout))
            .map_err(Error::io("read from", &self.socket))?;
        let mut line = Vec::new();
        (&mut self.reader)
            .take(16 * 1024 * 1024)
            .read_until(b'\n', &mut line)
            .map_err(Error::io("read from", &self.socket))?;
        if line.is_empty() {
            return Err(Error::Supervisor {
                app: self.app_name(),
                reason: "it closed the connection without answering".into(),
            });
        }
        serde_json::from_slice(&line).map_err(|e| Error::Supervisor {
            app: self.app_name(),
            reason: format!("its answer is malformed: {e}"),
        })
    }

    /// Sends `request` without waiting for an answer.
    pub fn send(&mut self, request: &Request) -> Result<()> {
        let mut stream = self.reader.get_ref();
        stream
            .set_write_timeout(Some(QUICK))
            .and_then(|()| stream.write_all(request.line().as_bytes()))
            .map_err(Error::io("write to", &self.socket))
    }

    fn app_name(&self) -> String {
        self.socket
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Starts `slipway supervise --app NAME` in its own session, with nothing of ours inherited.
fn spawn(root: &Root, app: &App, exe: &Path, start: Start) -> Result<std::process::Child> {
    let logs = app.logs_dir();
    std::fs::create_dir_all(&logs).map_err(Error::io("create", &logs))?;
    let log_path = logs.join("supervisor.log");
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(Error::io("open", &log_path))?;
    let err = log.try_clone().map_err(Error::io("open", &log_path))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--root")
        .arg(root.dir())
        .args(["supervise", "--app", app.name.as_str()])
        .args((start == Start::Idle).then_some("--idle"))
        .current_dir(app.dir())
        .env_clear()
        .env("PATH", env::DEFAULT_PATH)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err);
    crate::base::sys::detach(&mut cmd);
    // It outlives us; if it exits at once (one already runs), the zombie goes when we do.
    cmd.spawn().map_err(|e| Error::Supervisor {
        app: app.name.to_string(),
        reason: format!("cannot run {}: {e}", exe.display()),
    })
}
