//! The supervisor's control protocol: one request line in, one JSON reply line out, over `apps/NAME/supervisor.sock`.
//!
//! Requests are words: `ping`, `status`, `launch N` (answered once vN is
//! healthy or has failed; then `switch N` or `abort N` on the same connection),
//! `scale`, `restart [TYPE[.N]]`, `stop [TYPE[.N]]`, `kill TYPE[.N]`, `maintenance on|off`. Every reply is a [`Reply`] as one line of
//! JSON, so values need no escaping of their own.

use serde::{Deserialize, Serialize};

use crate::model::release::Version;

/// Longest request line accepted.
pub const MAX_LINE: usize = 4096;

/// A request to the supervisor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Is anybody there?
    Ping,
    /// What runs.
    Status,
    /// Start release vN beside the live one and answer once it is healthy or failed.
    Launch(Version),
    /// Route traffic to vN (which `current` now names) and retire the previous release.
    Switch(Version),
    /// Stop vN: it did not become current.
    Abort(Version),
    /// Read the formation again and start or stop processes to match.
    Scale,
    /// Restart processes of this type (or this one process, `web.1`) in place, or with none every process with no downtime.
    Restart(Option<String>),
    /// Stop the processes of this type (or this one process) until a restart, scale or deploy; SIGKILL at once when `kill`.
    StopProcess {
        /// `web` or `web.1`.
        name: String,
        /// SIGKILL now instead of SIGTERM.
        kill: bool,
    },
    /// Stop every process and exit.
    Stop,
    /// Answer every request on the stable port with the maintenance page (on), or forward them again (off).
    Maintenance(bool),
}

impl Request {
    /// Parses one request line (without its newline).
    pub fn parse(line: &str) -> Option<Request> {
        let mut words = line.split_ascii_whitespace();
        let verb = words.next()?;
        let arg = words.next();
        if words.next().is_some() {
            return None;
        }
        let version = || arg.and_then(|a| a.parse::<Version>().ok());
        Some(match (verb, arg) {
            ("ping", None) => Request::Ping,
            ("status", None) => Request::Status,
            ("launch", Some(_)) => Request::Launch(version()?),
            ("switch", Some(_)) => Request::Switch(version()?),
            ("abort", Some(_)) => Request::Abort(version()?),
            ("scale", None) => Request::Scale,
            ("restart", kind) => Request::Restart(kind.map(str::to_owned)),
            ("stop", None) => Request::Stop,
            ("stop", Some(name)) => Request::StopProcess {
                name: name.to_owned(),
                kill: false,
            },
            ("kill", Some(name)) => Request::StopProcess {
                name: name.to_owned(),
                kill: true,
            },
            ("maintenance", Some("on")) => Request::Maintenance(true),
            ("maintenance", Some("off")) => Request::Maintenance(false),
            _ => return None,
        })
    }

    /// The request as a line, newline included.
    pub fn line(&self) -> String {
        match self {
            Request::Ping => "ping\n".into(),
            Request::Status => "status\n".into(),
            Request::Launch(v) => format!("launch {v}\n"),
            Request::Switch(v) => format!("switch {v}\n"),
            Request::Abort(v) => format!("abort {v}\n"),
            Request::Scale => "scale\n".into(),
            Request::Restart(None) => "restart\n".into(),
            Request::Restart(Some(kind)) => format!("restart {kind}\n"),
            Request::Stop => "stop\n".into(),
            Request::StopProcess { name, kill: false } => format!("stop {name}\n"),
            Request::StopProcess { name, kill: true } => format!("kill {name}\n"),
            Request::Maintenance(true) => "maintenance on\n".into(),
            Request::Maintenance(false) => "maintenance off\n".into(),
        }
    }
}

/// The answer to any request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Whether the request was done.
    pub ok: bool,
    /// What went wrong, when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// More lines about the failure (a crashed process's last output).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detail: Vec<String>,
    /// For `status`: every process.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<ProcessStatus>,
    /// For `ping` and `status`: the supervisor's pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// For `status`: the version whose processes take traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<Version>,
    /// For `status`: the stable port the forwarder listens on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// For a failed `launch` or `restart`: the stable port it could not listen on because something else holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy_port: Option<u16>,
}

impl Reply {
    /// A plain success.
    pub fn ok() -> Reply {
        Reply {
            ok: true,
            ..Reply::default()
        }
    }

    /// A failure with its reason and detail lines.
    pub fn failed(error: impl Into<String>, detail: Vec<String>) -> Reply {
        Reply {
            ok: false,
            error: Some(error.into()),
            detail,
            ..Reply::default()
        }
    }

    /// The reply as a line, newline included.
    pub fn line(&self) -> String {
        let mut text = serde_json::to_string(self).unwrap_or_else(|_| "{\"ok\":false}".into());
        text.push('\n');
        text
    }
}

/// One process, as `ps` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessStatus {
    /// Its process type, such as `web`.
    #[serde(rename = "type")]
    pub kind: String,
    /// 1, 2, ... within the type.
    pub index: u32,
    /// Its pid while it runs.
    pub pid: Option<u32>,
    /// `starting`, `up`, `crashed`, `stopping`.
    pub state: String,
    /// Seconds since it (re)started.
    pub uptime_secs: u64,
    /// The release it runs.
    pub release: Version,
    /// Whether its release is the live one (else it is starting or being retired).
    pub live: bool,
    /// Its Procfile command.
    pub command: String,
    /// The port it was given (web processes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// How many times it was restarted after crashing.
    pub restarts: u32,
}

impl ProcessStatus {
    /// `web.1`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.kind, self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_junk_is_refused() {
        for r in [
            Request::Ping,
            Request::Status,
            Request::Launch(12),
            Request::Switch(3),
            Request::Abort(3),
            Request::Scale,
            Request::Restart(None),
            Request::Restart(Some("worker".into())),
            Request::Stop,
            Request::StopProcess {
                name: "web.1".into(),
                kill: false,
            },
            Request::StopProcess {
                name: "worker".into(),
                kill: true,
            },
            Request::Maintenance(true),
            Request::Maintenance(false),
        ] {
            assert_eq!(Request::parse(r.line().trim_end()), Some(r));
        }
        for bad in [
            "",
            "launch",
            "launch x",
            "ping now",
            "restart a b",
            "LAUNCH 1",
            "maintenance",
            "maintenance yes",
            "kill",
        ] {
            assert_eq!(Request::parse(bad), None, "{bad}");
        }
    }
}
