//! The few system calls std does not offer: sessions, signals to process groups, /proc.

#![allow(unsafe_code)]

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes `cmd` start a new session (setsid) with every inherited descriptor above 2 closed on exec.
///
/// Detaching from the session, and from any descriptor the parent got from
/// git, is what lets a `git push` end while the process lives on.
pub fn detach(cmd: &mut Command) {
    // SAFETY: the closure runs between fork and exec and calls only
    // async-signal-safe functions (setsid, syscall), allocating nothing.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            // CLOSE_RANGE_CLOEXEC (Linux 5.11+); older kernels leave them, which is harmless
            // for descriptors git marks close-on-exec, as it does its own.
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

/// Sends `signal` to the process group `pgid`; a group that is gone is not an error.
pub fn kill_group(pgid: u32, signal: libc::c_int) {
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill has no memory-safety preconditions; a negative pid names a group.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), signal);
    }
}

/// Sends `signal` to the process `pid`.
pub fn kill(pid: u32, signal: libc::c_int) {
    if pid <= 1 {
        return;
    }
    // SAFETY: as above, for one process.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// Whether a process `pid` exists (a zombie counts).
pub fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    pid > 1 && unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

/// Sets the handlers of SIGTERM, SIGINT and SIGHUP to `handler`, which must be async-signal-safe.
pub fn on_termination(handler: extern "C" fn(libc::c_int)) {
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(signal, handler as libc::sighandler_t);
        }
    }
}

/// This process's id.
pub fn pid() -> u32 {
    std::process::id()
}

/// `(session id, start time in clock ticks since boot)` of a process, from /proc/PID/stat.
pub fn session_and_start(pid: u32) -> Option<(u32, u64)> {
    stat(pid).map(|(_, session, start)| (session, start))
}

/// `(state, session id, start time)` from /proc/PID/stat.
fn stat(pid: u32) -> Option<(char, u32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold anything; fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
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

/// Waits until one of two descriptors is ready for what is asked (`libc::POLLIN` / `POLLOUT`);
/// an empty ask ignores that descriptor.
pub fn poll2(a: (std::os::fd::RawFd, i16), b: (std::os::fd::RawFd, i16)) -> io::Result<()> {
    let entry = |(fd, events): (std::os::fd::RawFd, i16)| libc::pollfd {
        fd: if events == 0 { -1 } else { fd },
        events,
        revents: 0,
    };
    let mut fds = [entry(a), entry(b)];
    loop {
        // SAFETY: `fds` is a valid array of two pollfd for the duration of the call.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if rc >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
