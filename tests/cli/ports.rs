//! Ports that go wrong at launch: a web process listening elsewhere than `$PORT`, and a stable port someone else holds.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::launch::{body, local_app, write_web};

/// A free port below the kernel's ephemeral range, so the supervisor can never hand it out as a `$PORT` too.
fn free_port_below_ephemeral() -> u16 {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let low: u16 = range.split_whitespace().next().unwrap().parse().unwrap();
    (low.saturating_sub(5000)..low)
        .find(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port below the ephemeral range")
}

/// A python3 process listening on `127.0.0.1:port`, killed when dropped.
struct Squatter(Child);

impl Squatter {
    fn on(port: u16) -> Squatter {
        let mut child = command("python3")
            .args([
                "-c",
                "import socket, sys, time\n\
                 s = socket.socket()\n\
                 s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
                 s.bind(('127.0.0.1', int(sys.argv[1])))\n\
                 s.listen()\n\
                 print('listening', flush=True)\n\
                 time.sleep(120)\n",
                &port.to_string(),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "listening\n");
        Squatter(child)
    }
}

impl Drop for Squatter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_web_process_listening_on_another_port_fails_its_deploy_long_before_the_health_timeout() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "astray", "health_timeout: 60s\n");
    write_web(&work, "good");
    work.commit("good");
    work.push_ok(&["main"]);

    let wrong = free_port_below_ephemeral();
    work.write(
        "Procfile",
        format!("web: exec python3 -m http.server {wrong} --bind 127.0.0.1\n"),
    );
    work.commit("a hard-coded port");
    let started = Instant::now();
    let lines = remote_lines(&work.push(&["main"]).stderr);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    let at = lines
        .iter()
        .position(|l| {
            l == &format!(
                " !     v2 did not start: web processes must listen on $PORT (was {wrong}); v1 is still live"
            )
        })
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(
        lines[at + 1].starts_with(&format!(
            "       web.1 listens on port {wrong}; its $PORT is "
        )),
        "{lines:?}"
    );
    assert_eq!(f.current("astray").as_deref(), Some("v1"));
    assert_eq!(f.records("astray")[1]["status"], "failed");
    assert!(body(port).starts_with("good"));
}

#[test]
fn a_taken_stable_port_fails_the_deploy_and_restart_with_who_holds_it() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "squat", "");
    let squatter = Squatter::on(port);
    let pid = squatter.0.id();
    write_web(&work, "mine");
    work.commit("web");
    let lines = remote_lines(&work.push(&["main"]).stderr);
    let help = format!(
        " !     help: python3 (pid {pid}) holds port {port}; stop it, or give squat another port: `port:` in apps/squat/app.yaml (apps:create picks free ones from port_range in slipway.yaml)"
    );
    let at = lines
        .iter()
        .position(|l| l.starts_with(&format!(" !     cannot listen on 127.0.0.1:{port}: ")))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(lines[at].ends_with("; nothing is live yet"), "{lines:?}");
    assert_eq!(lines[at + 1], help, "{lines:?}");
    assert_eq!(f.current("squat"), None);

    // Starting it by hand says the same.
    let out = f.slipway(&["deploy", "-a", "squat"]);
    assert_eq!(out.status.code(), Some(1));
    drop(squatter);
    let out = f.slipway(&["deploy", "-a", "squat"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(body(port).starts_with("mine"));
    ok(f.slipway(&["ps:stop", "-a", "squat"]));
    let squatter = Squatter::on(port);
    let help = help.replace(
        &format!("(pid {pid})"),
        &format!("(pid {})", squatter.0.id()),
    );
    let out = f.slipway(&["ps:restart", "-a", "squat"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).lines().collect::<Vec<_>>(),
        [
            format!(
                "error: cannot listen on 127.0.0.1:{port}: Address already in use (os error 98)"
            ),
            help.trim_start_matches(" !     ").to_owned(),
        ]
    );
    drop(squatter);
}
