//! The `local` and `exec` launchers with real processes: HTTP on the stable port, health checks,
//! automatic rollback, the release phase, restarts, zero-downtime deploys, `boot`.
//!
//! Every app runs under a [`Running`] guard that stops its supervisor and kills
//! whatever its session still holds, so no test leaves a process behind.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;

/// A web process that answers every GET with `body.txt`, `$GREETING` and its `$PORT`.
pub const SERVER: &str = r#"import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health" and os.path.exists("unhealthy"):
            self.send_response(500); self.end_headers(); return
        body = "%s %s port=%s" % (open("body.txt").read().strip(), os.environ.get("GREETING", "-"), os.environ["PORT"])
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, fmt, *args):
        print("request " + self.path, flush=True)
print("listening on", os.environ["PORT"], flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;

/// Stops an app's supervisor and kills every process of its session when dropped.
pub struct Running {
    app_dir: std::path::PathBuf,
    root: std::path::PathBuf,
    app: String,
}

impl Running {
    pub fn new(f: &Fixture, app: &str) -> Running {
        Running {
            app_dir: f.app_dir(app),
            root: f.root.clone(),
            app: app.to_owned(),
        }
    }

    pub fn supervisor_pid(&self) -> Option<u32> {
        fs::read_to_string(self.app_dir.join("supervisor.lock"))
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let pid = self.supervisor_pid();
        // Politely first, bounded: the supervisor stops its processes (grace is short in tests).
        let mut stop = command(SLIPWAY)
            .arg("--root")
            .arg(&self.root)
            .args(["ps:stop", "-a", &self.app])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok();
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Some(child) = stop.as_mut() {
            if child.try_wait().ok().flatten().is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Then anything left in the supervisor's session (its own pid is the session id).
        for pid in pid.map(session_members).unwrap_or_default() {
            kill_hard(pid);
        }
    }
}

/// Sends SIGKILL to `pid` with the shell's builtin `kill` (procps may be missing); whether it was sent.
pub fn kill_hard(pid: impl std::fmt::Display) -> bool {
    command("sh")
        .args(["-c", "kill -KILL \"$1\"", "sh", &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

/// Live processes whose session id is `sid`.
pub fn session_members(sid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        if fields.first() != Some(&"Z") && fields.get(3) == Some(&sid.to_string().as_str()) {
            out.push(pid);
        }
    }
    out
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` over HTTP/1.0; `None` if the connection failed.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// Polls `cond` every 50 ms for at most `secs` seconds.
#[track_caller]
pub fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An app with test settings (its own port, short timeouts) and a guard; returns (guard, work, port).
pub fn local_app(f: &Fixture, app: &str, extra: &str) -> (Running, Work, u16) {
    f.create_app(app);
    let guard = Running::new(f, app);
    let port = free_port();
    let timeout = if extra.contains("health_timeout") {
        ""
    } else {
        "health_timeout: 10s\n"
    };
    fs::write(
        f.app_dir(app).join("app.yaml"),
        format!("port: {port}\n{timeout}stop_grace: 2s\n{extra}"),
    )
    .unwrap();
    let work = f.work(app, &format!("w-{app}"));
    (guard, work, port)
}

pub fn write_web(work: &Work, body: &str) {
    work.write("server.py", SERVER)
        .write("body.txt", format!("{body}\n"))
        .write("Procfile", "web: exec python3 server.py\n");
}

pub fn body(port: u16) -> String {
    let (status, body) = http_get(port, "/").expect("the app answers");
    assert_eq!(status, 200, "{body}");
    body
}

pub fn ps_json(f: &Fixture, app: &str) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(&ok(f.slipway(&["ps", "-a", app, "--json"])))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_push_serves_http_on_the_stable_port_and_ps_shows_it() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "web", "");
    write_web(&work, "first");
    work.commit("web");
    let lines = work.push_ok(&["main"]);
    assert_eq!(lines[lines.len() - 2], "-----> Launching... done, v1");
    assert_eq!(
        lines[lines.len() - 1],
        format!("       http://127.0.0.1:{port}/ deployed")
    );
    assert!(body(port).starts_with("first - port="), "{}", body(port));

    let ps = ps_json(&f, "web");
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(ps[0]["name"], "web.1");
    assert_eq!(ps[0]["state"], "up");
    assert_eq!(ps[0]["release"], 1);
    assert!(ps[0]["pid"].as_u64().is_some());
    let table = ok(f.slipway(&["ps", "-a", "web"]));
    assert!(table.starts_with("Process  State  Release  PID"), "{table}");
    assert!(table.contains("web.1    up     v1"), "{table}");

    let info = ok(f.slipway(&["apps:info", "-a", "web"]));
    assert!(info.contains("State:           up\n"), "{info}");
    assert!(
        info.contains(&format!("URL:             http://127.0.0.1:{port}/\n")),
        "{info}"
    );
    assert!(info.contains("Processes:       web: 1/1 up\n"), "{info}");

    // The process's output, and what the supervisor did, are in its log.
    wait_for(5, "the request in the log", || {
        ok(f.slipway(&["logs", "-a", "web"])).contains("app[web.1]: request /")
    });
    let logs = ok(f.slipway(&["logs", "-a", "web", "-n", "50"]));
    assert!(
        logs.contains("slipway[web.1]: Starting process with command `exec python3 server.py` (v1"),
        "{logs}"
    );
    assert!(logs.contains("app[web.1]: listening on"), "{logs}");
}

#[test]
fn a_redeploy_under_steady_traffic_drops_no_request() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "steady", "");
    write_web(&work, "one");
    work.commit("one");
    work.push_ok(&["main"]);
    assert!(body(port).starts_with("one"));

    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut failures, mut bodies) = (0, Vec::new());
            for _ in 0..200 {
                match http_get(port, "/") {
                    Some((200, body)) => bodies.push(body),
                    other => {
                        failures += 1;
                        eprintln!("failed request: {other:?}");
                    }
                }
                if stop.load(Ordering::SeqCst) && bodies.len() >= 200 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            (failures, bodies)
        })
    };
    work.write("body.txt", "two\n");
    work.commit("two");
    work.push_ok(&["main"]);
    stop.store(true, Ordering::SeqCst);
    let (failures, bodies) = traffic.join().unwrap();
    assert_eq!(failures, 0);
    assert_eq!(bodies.len(), 200);
    assert!(bodies[0].starts_with("one"), "{}", bodies[0]);
    assert!(body(port).starts_with("two"));
    // The old release's process is gone once it drained.
    wait_for(10, "v1 to stop", || {
        ps_json(&f, "steady").iter().all(|p| p["release"] == 2)
    });
}

#[test]
fn a_release_whose_web_never_listens_fails_and_the_old_one_keeps_serving() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "shop", "health_timeout: 2s\n");
    write_web(&work, "good");
    work.commit("good");
    work.push_ok(&["main"]);

    work.write("Procfile", "web: sleep 60\n");
    work.commit("broken");
    let out = work.push(&["main"]);
    let lines = remote_lines(&out.stderr);
    assert!(
        lines.contains(&" !     v2 did not become healthy in 2s; v1 is still live".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("web.1 did not accept connections on port")),
        "{lines:?}"
    );
    assert_eq!(f.current("shop").as_deref(), Some("v1"));
    assert_eq!(f.records("shop")[1]["status"], "failed");
    assert!(body(port).starts_with("good"));
    wait_for(10, "v2's process to stop", || {
        ps_json(&f, "shop").iter().all(|p| p["release"] == 1)
    });
}

#[test]
fn a_release_that_crashes_or_fails_its_health_path_is_rolled_back() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "crash", "health_path: /health\nhealth_timeout: 3s\n");
    write_web(&work, "good");
    work.commit("good");
    work.push_ok(&["main"]);

    work.write(
        "Procfile",
        "web: echo starting up; echo out of memory >&2; exit 3\n",
    );
    work.commit("crashes");
    let lines = remote_lines(&work.push(&["main"]).stderr);
    // What the process said before it died is shown to the pusher.
    let at = lines
        .iter()
        .position(|l| l == " !     v2 did not start: web.1 exited (exit 3); v1 is still live")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(
        lines[at + 1..at + 3],
        ["       starting up", "       out of memory"]
    );

    write_web(&work, "sick");
    work.write("unhealthy", "");
    work.commit("unhealthy");
    let lines = remote_lines(&work.push(&["main"]).stderr);
    assert!(
        lines.contains(&" !     v3 did not become healthy in 3s; v1 is still live".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("answered /health with 'HTTP/1.0 500")),
        "{lines:?}"
    );
    assert_eq!(f.current("crash").as_deref(), Some("v1"));
    assert!(body(port).starts_with("good"));
}

#[test]
fn the_release_phase_runs_before_the_switch_and_its_failure_keeps_the_old_release() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "rel", "");
    write_web(&work, "one");
    work.commit("one");
    work.push_ok(&["main"]);

    // The release command sees the old release still serving, and the new release's config.
    work.write("body.txt", "two\n").write(
        "Procfile",
        format!(
            "web: exec python3 server.py\n\
             release: echo migrating $SLIPWAY_RELEASE; python3 -c \"import urllib.request; print('live:', urllib.request.urlopen('http://127.0.0.1:{port}/').read().decode())\"\n"
        ),
    );
    work.commit("two");
    let lines = work.push_ok(&["main"]);
    let at = lines
        .iter()
        .position(|l| l.starts_with("-----> Running release command: echo migrating"))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(lines[at + 1], "       migrating v2");
    assert!(lines[at + 2].starts_with("       live: one "), "{lines:?}");
    assert_eq!(lines[at + 3], "-----> Launching... done, v2");
    assert!(body(port).starts_with("two"));
    // It is in the release's build log too.
    let log = fs::read_to_string(f.app_dir("rel").join("logs/v2.log")).unwrap();
    assert!(log.contains("       migrating v2\n"), "{log}");

    work.write("body.txt", "three\n").write(
        "Procfile",
        "web: exec python3 server.py\nrelease: echo nope; exit 1\n",
    );
    work.commit("three");
    let lines = remote_lines(&work.push(&["main"]).stderr);
    assert!(lines.contains(&"       nope".to_owned()), "{lines:?}");
    assert!(
        lines.contains(&" !     Release command failed (exit 1); v2 is still live".to_owned()),
        "{lines:?}"
    );
    assert_eq!(f.current("rel").as_deref(), Some("v2"));
    assert_eq!(f.records("rel")[2]["status"], "failed");
    assert!(body(port).starts_with("two"));
    // No process of v3 ever started.
    assert!(ps_json(&f, "rel").iter().all(|p| p["release"] != 3));
}

#[test]
fn a_crashed_web_process_is_restarted() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "phoenix", "");
    write_web(&work, "alive");
    work.commit("web");
    work.push_ok(&["main"]);
    let pid = ps_json(&f, "phoenix")[0]["pid"].as_u64().unwrap();
    assert!(kill_hard(pid));
    wait_for(10, "web.1 to come back", || {
        let ps = ps_json(&f, "phoenix");
        ps.len() == 1 && ps[0]["state"] == "up" && ps[0]["pid"].as_u64().is_some_and(|p| p != pid)
    });
    assert_eq!(ps_json(&f, "phoenix")[0]["restarts"], 1);
    assert!(body(port).starts_with("alive"));
    let logs = ok(f.slipway(&["logs", "-a", "phoenix"]));
    assert!(
        logs.contains("Process exited (killed by signal 9)"),
        "{logs}"
    );
}

#[test]
fn config_changes_and_rollbacks_launch_like_deploys() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "cfg", "");
    write_web(&work, "old");
    work.commit("old");
    work.push_ok(&["main"]);
    work.write("body.txt", "new\n");
    work.commit("new");
    work.push_ok(&["main"]);
    assert!(body(port).starts_with("new -"));

    let out = ok(f.slipway(&["config:set", "GREETING=hej", "-a", "cfg"]));
    assert!(
        out.ends_with("Updating vars and restarting cfg... done, v3\n"),
        "{out}"
    );
    assert!(body(port).starts_with("new hej port="), "{}", body(port));

    // Rolling back to v1 serves v1's code (and v1's config) again.
    let out = ok(f.slipway(&["rollback", "v1", "-a", "cfg"]));
    assert_eq!(out, "Rolled back to v1\n");
    assert!(body(port).starts_with("old - port="), "{}", body(port));
    assert_eq!(f.current("cfg").as_deref(), Some("v4"));
}

#[test]
fn scaling_runs_more_web_processes_behind_the_stable_port_and_workers() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "scale", "");
    write_web(&work, "hi");
    work.write(
        "Procfile",
        "web: exec python3 server.py\nworker: while true; do echo $DYNO > worker.out; sleep 0.1; done\n",
    );
    work.commit("web and worker");
    work.push_ok(&["main"]);
    let marker = f.app_dir("scale").join("run/v1/app/worker.out");
    wait_for(10, "the worker to write its file", || {
        fs::read_to_string(&marker).is_ok_and(|s| s == "worker.1\n")
    });

    let out = ok(f.slipway(&["ps:scale", "web=2", "worker=0", "-a", "scale"]));
    assert_eq!(
        out,
        "Scaling processes... done, now running web at 2, worker at 0\n"
    );
    wait_for(10, "two web processes up and no worker", || {
        let ps = ps_json(&f, "scale");
        ps.len() == 2 && ps.iter().all(|p| p["type"] == "web" && p["state"] == "up")
    });
    let ports: std::collections::BTreeSet<String> = (0..6)
        .map(|_| body(port).split("port=").nth(1).unwrap().to_owned())
        .collect();
    assert_eq!(ports.len(), 2, "round-robin reaches both: {ports:?}");
    assert_eq!(
        ok(f.slipway(&["ps:scale", "-a", "scale"])),
        "web=2 worker=0\n"
    );

    // The formation is kept for the next deploy.
    work.write("body.txt", "again\n");
    work.commit("again");
    work.push_ok(&["main"]);
    let ps = ps_json(&f, "scale");
    assert_eq!(
        ps.iter()
            .filter(|p| p["release"] == 2 && p["type"] == "web")
            .count(),
        2,
        "{ps:?}"
    );

    // Bad input changes nothing.
    for (args, message) in [
        (
            &["ps:scale", "web=many", "-a", "scale"][..],
            "error: invalid scale 'web=many': the count is not a whole number\n",
        ),
        (
            &["ps:scale", "wrkr=1", "-a", "scale"],
            "error: the Procfile of v2 has no process type 'wrkr'\nhelp: its process types: web, worker\n",
        ),
    ] {
        let out = f.slipway(args);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).starts_with(message),
            "{}",
            text(&out.stderr)
        );
    }
    assert_eq!(
        ok(f.slipway(&["ps:scale", "-a", "scale"])),
        "web=2 worker=0\n"
    );
}

#[test]
fn restart_and_stop_keep_the_release_and_boot_respects_a_stop() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "ops", "");
    write_web(&work, "ops");
    work.commit("ops");
    work.push_ok(&["main"]);
    let first = ps_json(&f, "ops")[0]["pid"].as_u64().unwrap();

    assert_eq!(
        ok(f.slipway(&["restart", "-a", "ops"])),
        "Restarting processes... done\n"
    );
    assert!(body(port).starts_with("ops"));
    wait_for(10, "the old process to go", || {
        let ps = ps_json(&f, "ops");
        ps.len() == 1 && ps[0]["pid"].as_u64() != Some(first)
    });
    assert_eq!(f.records("ops").len(), 1, "restart makes no release");

    // One type restarts in place.
    let second = ps_json(&f, "ops")[0]["pid"].as_u64().unwrap();
    assert_eq!(
        ok(f.slipway(&["ps:restart", "web", "-a", "ops"])),
        "Restarting web processes... done\n"
    );
    wait_for(10, "web.1 to be back up", || {
        let ps = ps_json(&f, "ops");
        ps.len() == 1 && ps[0]["state"] == "up" && ps[0]["pid"].as_u64() != Some(second)
    });
    let out = f.slipway(&["ps:restart", "web.0", "-a", "ops"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: invalid process 'web.0': the number after the dot counts from 1, as in web.1\n"
    );

    assert!(
        ok(f.slipway(&["ps:stop", "-a", "ops"])).starts_with("Stopping ops's processes... done\n")
    );
    assert!(http_get(port, "/").is_none());
    assert_eq!(
        ok(f.slipway(&["ps", "-a", "ops"])),
        "ops has no processes running\n"
    );
    let info = ok(f.slipway(&["apps:info", "-a", "ops"]));
    assert!(info.contains("State:           stopped\n"), "{info}");
    assert_eq!(
        ok(f.slipway(&["boot"])),
        "Skipping ops: stopped by ps:stop\n"
    );

    // Starting again is checked as a deploy is: a failure is an error, not "done".
    let squatter = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let out = f.slipway(&["ps:restart", "-a", "ops"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: ")
            && stderr.contains(&format!("cannot listen on 127.0.0.1:{port}"))
            && stderr.lines().count() <= 2,
        "{stderr}"
    );
    drop(squatter);
    assert_eq!(
        ok(f.slipway(&["ps:restart", "-a", "ops"])),
        "Restarting processes... done\n"
    );
    // "done" means up: no waiting needed.
    assert!(body(port).starts_with("ops"));
}

#[test]
fn boot_brings_back_apps_whose_supervisor_was_killed() {
    let f = Fixture::new();
    let (guard, work, port) = local_app(&f, "phoenix", "");
    let (_guard2, work2, port2) = {
        let (g, w, p) = local_app(&f, "second", "");
        (g, w, p)
    };
    for (work, text) in [(&work, "first app"), (&work2, "second app")] {
        write_web(work, text);
        work.commit("web");
        work.push_ok(&["main"]);
    }
    f.create_app("idle");
    let supervisor = guard.supervisor_pid().unwrap();
    let old_web = ps_json(&f, "phoenix")[0]["pid"].as_u64().unwrap();
    // A host restart, as far as slipway can tell: the supervisor dies without a word.
    assert!(kill_hard(supervisor));
    wait_for(5, "the supervisor to die", || {
        !Path::new(&format!("/proc/{supervisor}/stat")).exists()
            || fs::read_to_string(format!("/proc/{supervisor}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
    });
    assert!(http_get(port, "/").is_none());

    let out = ok(f.slipway(&["boot"]));
    assert_eq!(
        out,
        "Skipping idle: no current release\nStarting phoenix... done\nStarting second... done\n"
    );
    // (While its web process starts, the stable port answers 503.)
    wait_for(10, "the app to serve again", || {
        http_get(port, "/").is_some_and(|(status, _)| status == 200)
    });
    assert!(body(port).starts_with("first app"));
    assert!(body(port2).starts_with("second app"));
    // The killed supervisor's orphan was stopped, not left running beside the new one.
    wait_for(5, "the orphan to be gone", || {
        !Path::new(&format!("/proc/{old_web}")).exists()
    });
    // boot is idempotent.
    assert_eq!(
        ok(f.slipway(&["boot"])),
        "Skipping idle: no current release\nStarting phoenix... done\nStarting second... done\n"
    );
    assert_eq!(ps_json(&f, "phoenix").len(), 1);
}

#[test]
fn the_exec_launcher_runs_the_admin_hook_with_the_release_in_its_environment() {
    let f = Fixture::new();
    f.create_app("ext");
    fs::write(
        f.app_dir("ext").join("app.yaml"),
        "launcher: exec\nport: 5999\n",
    )
    .unwrap();
    let hooks = f.root.join("hooks");
    fs::create_dir_all(&hooks).unwrap();
    let record = f.tmp.path().join("record");
    let hook = hooks.join("launch");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\n\
             env | grep -E '^(SLIPWAY_|PATH=|HOME=)' | sort > {rec}\n\
             cp \"$SLIPWAY_ENV_FILE\" {rec}.env\n\
             cat \"$SLIPWAY_PROCFILE\" > {rec}.procfile\n\
             stat -c %a \"$SLIPWAY_ENV_FILE\" > {rec}.mode\n\
             echo \"starting $SLIPWAY_APP $SLIPWAY_RELEASE\"\n\
             [ \"$(sha256sum < \"$SLIPWAY_SLUG\" | cut -d' ' -f1)\" = \"$SLIPWAY_SLUG_SHA256\" ] || exit 9\n",
            rec = record.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    let Pushed { work, lines, .. } = f.pushed("ext", &[("Procfile", "web: ./serve\n")]);
    assert_eq!(
        lines[lines.len() - 2..],
        ["       starting ext v1", "-----> Launching... done, v1"]
    );
    let env = fs::read_to_string(&record).unwrap();
    let slug = f.records("ext")[0]["slug"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let exec_dir = f.app_dir("ext").join("exec/v1");
    assert_eq!(
        env,
        format!(
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
             SLIPWAY_APP=ext\n\
             SLIPWAY_ENV_FILE={env}\n\
             SLIPWAY_PORT=5999\n\
             SLIPWAY_PROCFILE={procfile}\n\
             SLIPWAY_RELEASE=v1\n\
             SLIPWAY_ROOT={root}\n\
             SLIPWAY_SLUG={slugs}/{slug}.tar.gz\n\
             SLIPWAY_SLUG_SHA256={slug}\n\
             SLIPWAY_SLUG_URL=file://{slugs}/{slug}.tar.gz\n",
            env = exec_dir.join("env").display(),
            procfile = exec_dir.join("Procfile").display(),
            root = f.root.display(),
            slugs = f.root.join("slugs").display(),
        )
    );
    assert_eq!(
        fs::read_to_string(record.with_extension("procfile")).unwrap(),
        "web: ./serve\n"
    );
    assert_eq!(
        fs::read_to_string(record.with_extension("mode")).unwrap(),
        "600\n"
    );

    // A failing hook fails the release; its output still reaches the pusher.
    fs::write(&hook, "#!/bin/sh\necho no capacity >&2\nexit 4\n").unwrap();
    work.commit("two");
    let lines = remote_lines(&work.push(&["main"]).stderr);
    assert_eq!(
        lines[lines.len() - 3..],
        [
            "       no capacity",
            " !     Launch hook failed (exit 4); v1 is still live",
            " !     help: `slipway logs -a ext` shows what it printed; `slipway deploy -a ext` deploys the same commit again (after a fix outside the code)"
        ]
    );
    assert_eq!(f.current("ext").as_deref(), Some("v1"));
}

#[test]
fn apps_without_a_procfile_start_no_supervisor_and_destroy_stops_processes() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "plain", "");
    work.write("index.html", "static\n");
    work.commit("no Procfile");
    let lines = work.push_ok(&["main"]);
    assert_eq!(lines.last().unwrap(), "-----> Launching... done, v1");
    assert!(!f.app_dir("plain").join("supervisor.sock").exists());
    assert_eq!(
        ok(f.slipway(&["ps", "-a", "plain"])),
        "plain has no processes running\n"
    );

    write_web(&work, "now with web");
    work.commit("web");
    work.push_ok(&["main"]);
    assert!(body(port).starts_with("now with web"));
    let pid = ps_json(&f, "plain")[0]["pid"].as_u64().unwrap();
    ok(f.slipway(&["apps:destroy", "plain", "--confirm", "plain"]));
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists() || {
            fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
        }
    );
    assert!(http_get(port, "/").is_none());
}

#[test]
fn a_supervisor_whose_app_directory_is_deleted_stops_its_processes_and_exits() {
    let f = Fixture::new();
    let (guard, work, port) = local_app(&f, "gone", "");
    write_web(&work, "here");
    work.commit("web");
    work.push_ok(&["main"]);
    assert!(body(port).starts_with("here"));
    let supervisor = guard.supervisor_pid().unwrap();
    assert!(!session_members(supervisor).is_empty());
    // As when a scratch root is deleted by hand: nothing is left to stop the app but itself.
    fs::remove_dir_all(f.app_dir("gone")).unwrap();
    wait_for(15, "the supervisor and its processes to exit", || {
        session_members(supervisor).is_empty()
    });
    assert!(http_get(port, "/").is_none());
}

#[test]
fn logs_tail_follows_new_lines() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "tail", "");
    write_web(&work, "t");
    work.commit("web");
    work.push_ok(&["main"]);
    let mut child = f
        .cmd(&["logs", "-a", "tail", "-n", "1", "--tail"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    // What `logs --tail` printed so far, once it contains `what` or after a generous guard.
    let mut seen = Vec::new();
    let mut read_until = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !String::from_utf8_lossy(&seen).contains(what) {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(chunk) => seen.extend_from_slice(&chunk),
                Err(_) => break,
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    };
    // The last line comes first: once it is shown, only following can show more.
    let backlog = read_until("\n");
    assert!(
        backlog.contains('\n'),
        "logs --tail showed no last line: {backlog:?}"
    );
    http_get(port, "/followed").unwrap();
    let seen = read_until("app[web.1]: request /followed");
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    assert!(seen.contains("app[web.1]: request /followed"), "{seen}");
}

#[test]
fn a_renamed_app_keeps_its_releases_port_and_grants_and_deploys_under_its_new_name() {
    let f = Fixture::new();
    let (_old_guard, work, port) = local_app(&f, "web", "");
    let _guard = Running::new(&f, "shop");
    write_web(&work, "before");
    work.commit("web");
    work.push_ok(&["main"]);
    ok(f.slipway(&["config:set", "GREETING=hi", "-a", "web"]));
    let key =
        b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINXxtxZbP9rGN2idomm8cHlehS0/8r/lOxNmn3KyWc4X dana\n";
    ok(f.slipway_with_input(&["keys:add", "dana"], key));
    ok(f.slipway(&["access:add", "web", "dana"]));
    f.create_app("taken");

    let out = f.slipway(&["apps:rename", "web", "taken"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error: app 'taken' already exists"),
        "{}",
        text(&out.stderr)
    );
    assert!(f.app_dir("web").join("current").exists(), "nothing moved");

    let new_repo = f.app_dir("shop").join("repo.git");
    assert_eq!(
        ok(f.slipway(&["apps:rename", "web", "shop"])),
        format!(
            "Renaming web to shop... done\nGit repository: {repo}\nUpdate your remote: git remote set-url slipway {repo}\n",
            repo = new_repo.display()
        )
    );
    assert!(!f.app_dir("web").exists());
    assert_eq!(f.records("shop").len(), 2, "releases kept");
    assert_eq!(f.current("shop").as_deref(), Some("v2"));
    // Its processes came back under the new name, on the same port.
    assert!(body(port).starts_with("before"), "{}", body(port));
    assert_eq!(ps_json(&f, "shop")[0]["state"], "up");
    let hook = fs::read_to_string(new_repo.join("hooks/post-receive")).unwrap();
    assert!(
        hook.contains("--app shop") || hook.contains("--app 'shop'"),
        "{hook}"
    );
    let out = f.slipway(&["releases", "-a", "web"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        ok(f.slipway(&["access", "shop"])),
        "User  Access\ndana  granted\n"
    );

    // The new repository deploys as the app's.
    git(
        &work.dir,
        &["remote", "set-url", "slipway", new_repo.to_str().unwrap()],
    );
    write_web(&work, "after");
    work.commit("after");
    let lines = work.push_ok(&["main"]);
    assert_eq!(lines[lines.len() - 2], "-----> Launching... done, v3");
    assert!(body(port).starts_with("after"), "{}", body(port));
    let config = ok(f.slipway(&["config:get", "GREETING", "-a", "shop"]));
    assert_eq!(config, "hi\n");

    // Heroku's spelling, `apps:rename NEW -a OLD`, and back.
    assert!(
        ok(f.slipway(&["apps:rename", "web", "-a", "shop"]))
            .starts_with("Renaming shop to web... done\n")
    );
    assert_eq!(f.current("web").as_deref(), Some("v3"));
    assert!(!f.app_dir("shop").exists());
}
