//! The few system calls std does not offer (sessions, signals to process groups, polling two sockets, /proc), through rustix and signal-hook.
//!
//! This module holds two of the crate's three `unsafe` blocks; each says why
//! no safe wrapper exists.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, WaitId, WaitIdOptions};

pub use rustix::process::Signal;

/// Makes `cmd` start a new session (setsid) with every inherited descriptor above 2 closed on exec.
///
/// Detaching from the session, and from any descriptor the parent got from
/// git, is what lets a `git push` end while the process lives on.
#[allow(unsafe_code)]
pub fn detach(cmd: &mut Command) {
    // SAFETY: `pre_exec` is unsafe because the closure runs between fork and
    // exec; std offers no safe way to call setsid there (`CommandExt::setsid`
    // is unstable). The closure only makes two raw system calls (setsid,
    // close_range), which are async-signal-safe, and allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            rustix::process::setsid()?;
            // CLOSE_RANGE_CLOEXEC (Linux 5.11+; rustix has no close_range).
            // Older kernels leave the descriptors, which is harmless for those
            // git marks close-on-exec, as it does its own.
            const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
            libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                CLOSE_RANGE_CLOEXEC,
            );
            Ok(())
        });
    }
}

fn pid_of(pid: u32) -> Option<Pid> {
    // Never 0 (our group) or 1 (init, or every process for a group kill).
    if pid <= 1 {
        return None;
    }
    Pid::from_raw(i32::try_from(pid).ok()?)
}

/// Sends `signal` to the process group `pgid`; a group that is gone is not an error.
pub fn kill_group(pgid: u32, signal: Signal) {
    if let Some(pid) = pid_of(pgid) {
        let _ = rustix::process::kill_process_group(pid, signal);
    }
}

/// Sends `signal` to the process `pid`.
pub fn kill(pid: u32, signal: Signal) {
    if let Some(pid) = pid_of(pid) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}

/// Whether a process `pid` exists (a zombie counts).
pub fn alive(pid: u32) -> bool {
    pid_of(pid).is_some_and(|pid| rustix::process::test_kill_process(pid).is_ok())
}

/// Whether our child `pid` has exited, without reaping it (so `Child::wait` still gets its status).
pub fn has_exited(pid: u32) -> bool {
    let Some(pid) = pid_of(pid) else {
        return true;
    };
    let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
    match rustix::process::waitid(WaitId::Pid(pid), options) {
        Ok(status) => status.is_some(),
        // No such child: there is nothing left to wait for.
        Err(e) => e == rustix::io::Errno::CHILD,
    }
}

/// A flag that SIGTERM, SIGINT and SIGHUP raise instead of killing the process.
pub fn termination_flag() -> io::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&flag))?;
    }
    Ok(flag)
}

/// This process's id.
pub fn pid() -> u32 {
    std::process::id()
}

/// Whether this process runs as root.
pub fn is_superuser() -> bool {
    rustix::process::geteuid().is_root()
}

/// The name of the effective user, from the password database (NSS included).
#[allow(unsafe_code)]
pub fn user_name() -> Option<String> {
    let mut buf = vec![0u8; 4096];
    // SAFETY: rustix wraps no user-database lookup (it is NSS, in libc), so
    // getpwuid_r is called directly. `pwd` is plain old data that it fills
    // in, `buf` outlives the call and its length is passed with it, and
    // `result` is either null or points at `pwd`, whose name points into `buf`.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            libc::geteuid(),
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr(pwd.pw_name);
        Some(name.to_string_lossy().into_owned())
    }
}

/// `(session id, start time in clock ticks since boot)` of a process, from /proc/PID/stat.
pub fn session_and_start(pid: u32) -> Option<(u32, u64)> {
    stat(pid).map(|(_, session, start)| (session, start))
}

/// `(state, session id, start time)` from /proc/PID/stat.
fn stat(pid: u32) -> Option<(char, u32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold anything; fields follow the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split(' ').collect();
    // After the name: state(0) ppid(1) pgrp(2) session(3) ... starttime(19).
    let state = fields.first()?.chars().next()?;
    let session = fields.get(3)?.parse().ok()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, session, start))
}

/// This boot's id (changes at every reboot), so pids from a previous boot are never trusted.
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Every live (not zombie) process in session `sid`, other than this one.
pub fn session_members(sid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = pid();
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| p != me && stat(p).is_some_and(|(state, s, _)| s == sid && state != 'Z'))
        .collect()
}

/// Every live (not zombie) process in the process group `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                return false;
            };
            // After the name: state(0) ppid(1) pgrp(2).
            let fields: Vec<&str> = stat
                .rfind(')')
                .and_then(|i| stat.get(i + 2..))
                .map(|rest| rest.split(' ').take(3).collect())
                .unwrap_or_default();
            fields.first() != Some(&"Z") && fields.get(2) == Some(&pgid.to_string().as_str())
        })
        .collect()
}

/// What [`poll2`] waits for on one descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Interest {
    /// Wake when it can be read.
    pub read: bool,
    /// Wake when it can be written.
    pub write: bool,
}

impl Interest {
    fn flags(self) -> PollFlags {
        let mut flags = PollFlags::empty();
        if self.read {
            flags |= PollFlags::IN;
        }
        if self.write {
            flags |= PollFlags::OUT;
        }
        flags
    }

    /// Whether it asks for nothing.
    pub fn is_empty(self) -> bool {
        !self.read && !self.write
    }
}

/// Waits until one of two descriptors is ready for what is asked; an empty ask ignores that descriptor.
pub fn poll2(a: (&impl AsFd, Interest), b: (&impl AsFd, Interest)) -> io::Result<()> {
    let mut fds = Vec::with_capacity(2);
    if !a.1.is_empty() {
        fds.push(PollFd::new(a.0, a.1.flags()));
    }
    if !b.1.is_empty() {
        fds.push(PollFd::new(b.0, b.1.flags()));
    }
    loop {
        match rustix::event::poll(&mut fds, None) {
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The nearest ancestor of this process (up to `depth` generations) whose command line holds `word`.
pub fn ancestor_running(word: &str, depth: usize) -> Option<u32> {
    let mut pid = std::os::unix::process::parent_id();
    for _ in 0..depth {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        if cmdline
            .split(|&b| b == 0)
            .any(|arg| arg.windows(word.len()).any(|w| w == word.as_bytes()))
        {
            return Some(pid);
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = stat.get(stat.rfind(')')? + 2..)?;
        pid = rest.split(' ').nth(1)?.parse().ok()?;
        if pid <= 1 {
            return None;
        }
    }
    None
}
