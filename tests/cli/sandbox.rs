//! App code runs sandboxed: pushed by a user granted one app, it tries from every place it runs (build
//! step, buildpack, release phase, web process, one-off) to read the root and to grant itself another app, and
//! cannot; its port, a private /tmp and absolute symlinks still work.
//!
//! These need a working bubblewrap (`bwrap`, Debian package bubblewrap). Without one they say they
//! skipped, and fail under CI (`CI` set), where `.ci/run` installs it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::*;
use crate::launch::{Running, free_port, http_get, wait_for};

/// Alice's public key: she is granted `shop` only.
const ALICE: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA3ga97CjLyESupk2ch/poql9Kgue+aIth63EtGPucno alice@example\n";

/// A config var of the other app: it must never show in what `shop` prints.
const SECRET: &str = "s3cr3t-of-the-other-app";

/// The exploit of issue 14: from `$1` (a directory below the root), reach the root and use it.
///
/// `$2` names the place it runs; every probe says `read`/`connected`/`added`
/// (the sandbox failed) or `denied`.
fn probe_script() -> String {
    format!(
        r#"root=$(cd "$1" && pwd)
p="$2"
say() {{ echo "probe $p $1: $2"; }}
try() {{ if eval "$2" >/dev/null 2>&1; then say "$1" "$3"; else say "$1" denied; fi; }}
try records 'cat "$root"/apps/other/releases/*.json' read
try keys 'cat "$root"/keys.json' read
try socket 'python3 -c "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])" "$root"/apps/other/supervisor.sock' connected
try grant '{bin} --root "$root" access:add other alice' added
try proc 'cat /proc/*/root"$root"/keys.json /proc/*/cwd/../../../../../keys.json' read
say apps "$(echo $(ls -A "$root"/apps 2>&1))"
echo private > /tmp/probe-"$p"
say tmp "$(echo $(ls -A /tmp | grep probe))"
say user "$(id -u)"
cat "$root"/apps/other/releases/*.json "$root"/keys.json 2>/dev/null
true
"#,
        bin = SLIPWAY
    )
}

/// The lines a probe in `place` prints when the sandbox holds.
fn denied(place: &str) -> Vec<String> {
    let uid = ok(run(command("id").arg("-u"))).trim().to_owned();
    let user = if uid == "0" { "65534" } else { uid.as_str() };
    [
        ("records", "denied"),
        ("keys", "denied"),
        ("socket", "denied"),
        ("grant", "denied"),
        ("proc", "denied"),
        ("apps", "shop"),
    ]
    .iter()
    .map(|(what, how)| format!("probe {place} {what}: {how}"))
    .chain([
        format!("probe {place} tmp: probe-{place}"),
        format!("probe {place} user: {user}"),
    ])
    .collect()
}

/// The probe lines among `lines`, with the build output's indentation gone.
fn probe_lines(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.trim_start())
        .filter(|l| l.starts_with("probe "))
        .map(str::to_owned)
        .collect()
}

/// A root where alice may push `shop` only, and `other` (whose config holds [`SECRET`]) runs a supervisor.
struct Victim {
    f: Fixture,
    keys: Vec<u8>,
    grants: String,
    _other: Running,
}

impl Victim {
    fn new() -> Option<Victim> {
        let f = Fixture::new();
        f.create_app("shop");
        ok(f.slipway_with_input(&["keys:add", "alice"], ALICE.as_bytes()));
        ok(f.slipway(&["access:add", "shop", "alice"]));
        if !sandboxed(&f, "shop") {
            return None;
        }
        f.create_app("other");
        let other = Running::new(&f, "other");
        fs::write(
            f.app_dir("other").join("app.yaml"),
            "stop_grace: 1s\nhealth_timeout: 10s\n",
        )
        .unwrap();
        ok(f.slipway(&["config:set", &format!("SECRET={SECRET}"), "-a", "other"]));
        let pushed = f.pushed("other", &[("Procfile", "worker: exec sleep 600\n")]);
        assert!(
            pushed.lines.iter().any(|l| l.contains("Launching... done")),
            "{:?}",
            pushed.lines
        );
        wait_for(10, "other's supervisor socket", || {
            f.app_dir("other").join("supervisor.sock").exists()
        });
        let keys = fs::read(f.root.join("keys.json")).unwrap();
        let grants = ok(f.slipway(&["access", "other"]));
        Some(Victim {
            f,
            keys,
            grants,
            _other: other,
        })
    }

    /// Nothing of the root changed and no secret reached `text`.
    #[track_caller]
    fn unharmed(&self, text: &str) {
        assert!(
            !text.contains(SECRET),
            "the other app's config leaked:\n{text}"
        );
        assert!(
            !text.contains("AAAAC3NzaC1lZDI1NTE5"),
            "keys.json leaked:\n{text}"
        );
        assert_eq!(fs::read(self.f.root.join("keys.json")).unwrap(), self.keys);
        assert_eq!(ok(self.f.slipway(&["access", "other"])), self.grants);
    }
}

/// Whether `app`'s code runs under bubblewrap, as `apps:info` says; else why the test is skipped (a failure under CI).
fn sandboxed(f: &Fixture, app: &str) -> bool {
    let info = ok(f.slipway(&["apps:info", "-a", app]));
    if info.contains("Sandbox:         bwrap") {
        return true;
    }
    let reason = info
        .lines()
        .find(|l| l.starts_with("Sandbox:"))
        .unwrap_or("no Sandbox line")
        .to_owned();
    assert!(
        std::env::var_os("CI").is_none(),
        "CI needs a working bubblewrap (.ci/run installs it): {reason}"
    );
    eprintln!("skipped: no working bubblewrap here ({reason})");
    false
}

/// `shop`'s app.yaml: its own stable port and short timeouts; returns the port.
fn local_settings(f: &Fixture, extra: &str) -> u16 {
    let port = free_port();
    fs::write(
        f.app_dir("shop").join("app.yaml"),
        format!("port: {port}\nhealth_timeout: 10s\nstop_grace: 1s\n{extra}"),
    )
    .unwrap();
    port
}

#[test]
fn the_release_phase_and_a_web_process_cannot_reach_the_root_and_still_serve_on_their_port() {
    let Some(v) = Victim::new() else {
        return;
    };
    let f = &v.f;
    let _shop = Running::new(f, "shop");
    let port = local_settings(f, "");
    let pushed = f.pushed(
        "shop",
        &[
            ("probe.sh", &probe_script()),
            (
                "Procfile",
                "release: sh probe.sh ../../../../.. release\n\
                 web: sh probe.sh ../../../../.. web > probe.txt 2>&1; exec python3 -m http.server $PORT --bind 127.0.0.1\n",
            ),
        ],
    );
    let all = pushed.lines.join("\n");
    assert_eq!(probe_lines(&pushed.lines), denied("release"), "{all}");
    assert!(
        pushed
            .lines
            .iter()
            .any(|l| l == "-----> Launching... done, v1"),
        "{all}"
    );
    v.unharmed(&all);
    // The health check reached the web process, and so do we, through the stable port.
    let (status, body) = http_get(port, "/probe.txt").expect("the web process answers");
    assert_eq!(status, 200, "{body}");
    let lines: Vec<String> = body.lines().map(str::to_owned).collect();
    // Its /tmp is not the release phase's: it sees only its own probe file.
    assert_eq!(probe_lines(&lines), denied("web"), "{body}");
    v.unharmed(&body);

    // A one-off (`slipway run`) is app code too, in its own copy of the release.
    let out = f.slipway(&["run", "-a", "shop", "--", "sh probe.sh ../../../../.. run"]);
    let stdout = text(&out.stdout);
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_eq!(probe_lines(&lines), denied("run"), "{stdout}");
    v.unharmed(&stdout);
    assert!(!Path::new("/tmp/probe-release").exists());
    assert!(!Path::new("/tmp/probe-web").exists());
    assert!(!Path::new("/tmp/probe-run").exists());
}

#[test]
fn a_build_step_and_a_buildpack_cannot_reach_the_root() {
    let Some(v) = Victim::new() else {
        return;
    };
    let f = &v.f;
    // The build step runs in ROOT/tmp/.src-*/app.
    local_settings(f, "launcher: none\nbuild: sh probe.sh ../../.. build\n");
    let pushed = f.pushed("shop", &[("probe.sh", &probe_script())]);
    let all = pushed.lines.join("\n");
    assert_eq!(probe_lines(&pushed.lines), denied("build"), "{all}");
    assert!(
        pushed
            .lines
            .iter()
            .any(|l| l == "-----> Launching... done, v1"),
        "{all}"
    );
    v.unharmed(&all);

    // A buildpack: BUILD_DIR is $1; it may write its cache ($2) and read ENV_DIR ($3).
    local_settings(f, "launcher: none\n");
    ok(f.slipway(&["config:set", "GREETING=hello", "-a", "shop"]));
    let bp = f.tmp.path().join("probe-buildpack");
    for (name, body) in [
        ("detect", "echo Probe"),
        (
            "compile",
            "sh \"$1/probe.sh\" \"$1/../../..\" buildpack; echo cached > \"$2/c\" && echo \"env: $(cat \"$3/GREETING\")\"",
        ),
    ] {
        let path = bp.join("bin").join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    ok(f.slipway(&["buildpacks:set", bp.to_str().unwrap(), "-a", "shop"]));
    let work = &pushed.work;
    work.write("again.txt", "again\n");
    work.commit("Build with the buildpack");
    let lines = work.push_ok(&["main"]);
    let all = lines.join("\n");
    assert_eq!(probe_lines(&lines), denied("buildpack"), "{all}");
    assert!(lines.iter().any(|l| l.trim() == "env: hello"), "{all}");
    assert!(
        lines.iter().any(|l| l == "-----> Launching... done, v3"),
        "{all}"
    );
    v.unharmed(&all);
}

#[test]
fn absolute_symlinks_in_a_slug_point_into_the_read_only_system_not_the_root() {
    let f = Fixture::new();
    f.create_app("shop");
    if !sandboxed(&f, "shop") {
        return;
    }
    let _shop = Running::new(&f, "shop");
    local_settings(&f, "");
    let work = f.work("shop", "w-shop");
    work.write(
        "Procfile",
        "release: ls passwd-dir/passwd && touch passwd-dir/x 2>/dev/null || echo system: read-only\n",
    );
    std::os::unix::fs::symlink("/etc", work.dir.join("passwd-dir")).unwrap();
    work.commit("An absolute symlink");
    let lines = work.push_ok(&["main"]);
    assert!(
        lines.iter().any(|l| l.trim() == "passwd-dir/passwd"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.trim() == "system: read-only"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "-----> Launching... done, v1"),
        "{lines:?}"
    );

    // One into the root is refused when the slug is unpacked, and nothing goes live.
    fs::remove_file(work.dir.join("passwd-dir")).unwrap();
    // keys.json does not exist yet: what the link names counts, not what is there now.
    std::os::unix::fs::symlink(f.root.join("keys.json"), work.dir.join("keys")).unwrap();
    work.commit("A symlink into the root");
    let lines = work.push(&["main"]);
    let lines = remote_lines(&lines.stderr);
    assert!(
        lines.iter().any(|l| l.contains(
            "slug entry 'app/keys' cannot be unpacked: it is a symlink into the slipway root"
        )),
        "{lines:?}"
    );
    assert_eq!(f.current("shop").as_deref(), Some("v1"));
}

/// Pushes `work` with every `bwrap` of the system's PATH directories hidden (in a private mount namespace).
fn push_without_bwrap(work: &Work) -> std::process::Output {
    let script = r#"for b in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
  [ -e "$b/bwrap" ] && mount --bind /dev/null "$b/bwrap"
done
cd "$1" && exec git push slipway main"#;
    // As root a mount namespace is enough; otherwise map ourselves to root in a user namespace.
    let flags = if ok(run(command("id").arg("-u"))).trim() == "0" {
        "-m"
    } else {
        "-rm"
    };
    run(command("unshare")
        .args([flags, "sh", "-c", script, "sh"])
        .arg(&work.dir))
}

#[test]
fn sandbox_none_is_loud_and_a_deploy_asking_for_a_missing_bwrap_fails_before_anything_is_recorded()
{
    let f = Fixture::new();
    f.create_app("open");
    // A build step is app code: the deploy that runs it says it runs unsandboxed.
    fs::write(
        f.app_dir("open").join("app.yaml"),
        "launcher: none\nsandbox: none\nbuild: echo built\n",
    )
    .unwrap();
    let pushed = f.pushed("open", &[("a.txt", "a\n")]);
    let warning = " !     Warning: sandbox: none — app code runs with slipway's own rights and can read every app's config";
    assert_eq!(
        pushed.lines.iter().filter(|l| *l == warning).count(),
        1,
        "{:?}",
        pushed.lines
    );
    let info = ok(f.slipway(&["apps:info", "-a", "open"]));
    assert!(
        info.contains("Sandbox:         none (sandbox: none): app code runs with slipway's own rights and can read every app's config\n"),
        "{info}"
    );

    // Asked for, and missing: a clear error with the install hint, and no release.
    f.create_app("strict");
    fs::write(
        f.app_dir("strict").join("app.yaml"),
        "launcher: none\nsandbox: bwrap\n",
    )
    .unwrap();
    let work = f.work("strict", "w-strict");
    work.write("a.txt", "a\n");
    work.commit("First");
    let out = push_without_bwrap(&work);
    let lines = remote_lines(&out.stderr);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("error: bubblewrap (bwrap) is not installed")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("help: install bubblewrap (apt-get install bubblewrap)")),
        "{lines:?}"
    );
    assert_eq!(f.record_files("strict"), 0);
    assert_eq!(f.current("strict"), None);

    // Not asked for, and missing: the deploy goes on, unsandboxed, and says so.
    fs::write(
        f.app_dir("strict").join("app.yaml"),
        "launcher: none\nbuild: echo built\n",
    )
    .unwrap();
    work.write("b.txt", "b\n");
    work.commit("Second");
    let out = push_without_bwrap(&work);
    let lines = remote_lines(&out.stderr);
    assert!(
        lines.iter().any(|l| l.starts_with(" !     Warning: no sandbox (bubblewrap (bwrap) is not installed) — app code runs with slipway's own rights")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "-----> Launching... done, v1"),
        "{lines:?}"
    );
}
