//! What /proc says about processes and their TCP sockets: the members of a process group, the ports they listen on, and who listens on a port.
//!
//! Everything here is best effort: a process that is gone, or whose
//! descriptors belong to another user, is simply not seen.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// `TCP_LISTEN` in the `st` column of /proc/net/tcp.
const LISTEN: &str = "0A";

/// A listening TCP socket, as /proc/net/tcp{,6} lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Listening {
    port: u16,
    uid: u32,
    inode: u64,
}

/// Who holds a listening TCP port: its owner's uid, and its pid and command name when this user may see them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortHolder {
    /// A process with the socket open.
    pub pid: Option<u32>,
    /// That process's command name (`/proc/PID/comm`).
    pub name: Option<String>,
    /// The uid that owns the socket.
    pub uid: u32,
}

/// The TCP ports the live processes of process group `pgid` listen on, lowest first.
pub fn group_listening_ports(pgid: u32) -> Vec<u16> {
    let members = group_members(pgid);
    let Some(first) = members.first() else {
        return Vec::new();
    };
    let inodes: BTreeSet<u64> = members.iter().flat_map(|&pid| socket_inodes(pid)).collect();
    if inodes.is_empty() {
        return Vec::new();
    }
    // The sockets of the group's network namespace.
    let ports: BTreeSet<u16> = listening(&Path::new("/proc").join(first.to_string()).join("net"))
        .into_iter()
        .filter(|l| inodes.contains(&l.inode))
        .map(|l| l.port)
        .collect();
    ports.into_iter().collect()
}

/// Who listens on TCP `port` (any address) on this host; `None` when nothing visible does.
pub fn port_holder(port: u16) -> Option<PortHolder> {
    let sockets: Vec<Listening> = listening(Path::new("/proc/net"))
        .into_iter()
        .filter(|l| l.port == port)
        .collect();
    let first = sockets.first()?;
    let inodes: BTreeSet<u64> = sockets.iter().map(|l| l.inode).collect();
    let pid = pids().into_iter().find(|&pid| {
        socket_inodes(pid)
            .iter()
            .any(|inode| inodes.contains(inode))
    });
    let name = pid.and_then(|pid| {
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        Some(comm.trim_end().to_owned())
    });
    Some(PortHolder {
        pid,
        name,
        uid: first.uid,
    })
}

/// Every live (not zombie) process whose process group is `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    pids()
        .into_iter()
        .filter(|&pid| {
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // After the name, which may hold anything: state(0) ppid(1) pgrp(2).
            let Some(rest) = stat.rfind(')').and_then(|i| stat.get(i + 2..)) else {
                return false;
            };
            let mut fields = rest.split(' ');
            let state = fields.next();
            let pgrp = fields.nth(1).and_then(|p| p.parse::<u32>().ok());
            state != Some("Z") && pgrp == Some(pgid)
        })
        .collect()
}

/// The pids in /proc, lowest first.
fn pids() -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}

/// The inodes of the sockets `pid` has open (none when its descriptors cannot be read).
fn socket_inodes(pid: u32) -> Vec<u64> {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.filter_map(|fd| {
        let target = fs::read_link(fd.ok()?.path()).ok()?;
        let target = target.to_str()?;
        target
            .strip_prefix("socket:[")?
            .strip_suffix(']')?
            .parse()
            .ok()
    })
    .collect()
}

/// The listening sockets in `net/tcp` and `net/tcp6` under `net`.
fn listening(net: &Path) -> Vec<Listening> {
    ["tcp", "tcp6"]
        .iter()
        .filter_map(|file| fs::read_to_string(net.join(file)).ok())
        .flat_map(|text| parse_listening(&text))
        .collect()
}

/// The listening sockets of one /proc/net/tcp{,6} table.
fn parse_listening(text: &str) -> Vec<Listening> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(3) != Some(&LISTEN) {
                return None;
            }
            let port = fields.get(1)?.rsplit_once(':')?.1;
            Some(Listening {
                port: u16::from_str_radix(port, 16).ok()?,
                uid: fields.get(7)?.parse().ok()?,
                inode: fields.get(9)?.parse().ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_sockets_are_read_from_the_tcp_tables() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
           0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0000000000000000 100 0 0 10 0\n   \
           1: 0100007F:8F43 0100007F:8116 01 00000000:00000000 03:00000CFE 00000000     0        0 0 3 0000000011438344\n";
        assert_eq!(
            parse_listening(table),
            [Listening {
                port: 8080,
                uid: 1000,
                inode: 12345
            }]
        );
        let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
           0: 00000000000000000000000000000000:1388 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1 0000000000000000 100 0 0 10 0\n";
        assert_eq!(parse_listening(v6)[0].port, 5000);
    }

    #[test]
    fn a_listening_socket_of_this_process_is_found() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = port_holder(port).expect("the port is held");
        assert_eq!(holder.pid, Some(std::process::id()));
        assert!(holder.name.is_some());
        let group = rustix::process::getpgrp().as_raw_nonzero().get() as u32;
        assert!(group_listening_ports(group).contains(&port));
        drop(listener);
        assert_eq!(port_holder(port), None);
    }
}
