//! Shared fixtures: a temp root, app repositories, working copies that push with the real git client.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

/// The slipway binary cargo built for these tests.
pub const SLIPWAY: &str = env!("CARGO_BIN_EXE_slipway");

/// What a deploy of a tree without a Procfile says about its process types.
pub const NO_PROCESS_TYPES: [&str; 2] = [
    "-----> Discovering process types",
    "       No Procfile and no default process types: nothing will run (add a Procfile)",
];

/// A fixed clock for everything that shows times.
pub const NOW: &str = "2026-03-01T10:00:00Z";

/// A command with a clean, predictable environment: no git identity or config, UTC.
pub fn command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    for var in [
        "SLIPWAY_ROOT",
        "SLIPWAY_APP",
        "SLIPWAY_USER",
        "SLIPWAY_NOW",
        "GIT_DIR",
        "GIT_WORK_TREE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("TZ", "UTC")
        .env("SLIPWAY_USER", "alice")
        .env("SLIPWAY_NOW", NOW)
        .stdin(Stdio::null());
    cmd
}

/// Runs a command to completion and returns its output.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Text of a byte stream.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts success and returns stdout.
#[track_caller]
pub fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "command failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Runs git in `dir` and returns stdout, panicking on failure.
#[track_caller]
pub fn git(dir: &Path, args: &[&str]) -> String {
    ok(run(command("git").current_dir(dir).args(args)))
}

/// The `remote:` lines git printed, prefix and padding removed (`\r` splits lines too).
pub fn remote_lines(stderr: &[u8]) -> Vec<String> {
    text(stderr)
        .split(['\n', '\r'])
        .filter_map(|l| l.strip_prefix("remote: "))
        .map(|l| l.trim_end().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Ports for the apps of one fixture, apart from every other fixture's: tests
/// run in parallel, each with its own root, and two roots that both picked
/// the default port 5000 (free when each app was created) made whichever
/// launched second fail. Below the ephemeral range, where `free_port` and
/// the kernel pick theirs.
fn own_port_range() -> String {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let first = 10_000 + 40 * (NEXT.fetch_add(1, Ordering::Relaxed) % 400);
    format!("{first}-{}", first + 39)
}

/// A fresh temp directory that every user may search but not list (mode 0711).
pub fn searchable_tempdir() -> TempDir {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o711)).unwrap();
    tmp
}

/// A temp directory with an initialized root.
pub struct Fixture {
    pub tmp: TempDir,
    pub root: PathBuf,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture::new_at("root")
    }

    /// A root in the directory `name` of a fresh temp directory.
    ///
    /// The temp directory is searchable by every user (mode 0711, as /var/lib
    /// is): as root, app code runs sandboxed as `nobody`, which must reach the
    /// directories bound into its sandbox.
    pub fn new_at(name: &str) -> Fixture {
        let tmp = searchable_tempdir();
        let root = tmp.path().join(name);
        let f = Fixture { tmp, root };
        ok(f.slipway(&["init"]));
        fs::write(
            f.root.join("slipway.yaml"),
            format!("port_range: {}\n", own_port_range()),
        )
        .unwrap();
        f
    }

    /// `slipway --root ROOT ARGS...`.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = command(SLIPWAY);
        cmd.arg("--root").arg(&self.root).args(args);
        cmd
    }

    pub fn slipway(&self, args: &[&str]) -> Output {
        run(&mut self.cmd(args))
    }

    /// Runs slipway with `input` on its stdin.
    pub fn slipway_with_input(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // slipway may refuse (unknown app, bad user) before it reads its input: a closed pipe is fine then.
        if let Err(e) = child.stdin.take().unwrap().write_all(input) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
        }
        child.wait_with_output().unwrap()
    }

    /// `n` clones of `app`'s repository, each with a commit of its own, for racing pushes.
    pub fn diverging_clones(&self, app: &str, n: usize) -> Vec<Work> {
        (0..n)
            .map(|i| {
                let w = self.work(app, &format!("w{i}"));
                w.write(&format!("file{i}.txt"), format!("clone {i}\n"));
                w.commit(&format!("commit from clone {i}"));
                w
            })
            .collect()
    }

    /// Makes `app` deploy after git accepted a push (post-receive), as apps made before `deploy_on` do:
    /// a failed deploy then leaves the push successful and the branch moved.
    pub fn deploy_after_push(&self, app: &str) {
        let path = self.app_dir(app).join("app.yaml");
        let mut yaml = fs::read_to_string(&path).unwrap();
        yaml = yaml.replace("deploy_on: pre-receive\n", "");
        yaml.push_str("deploy_on: post-receive\n");
        fs::write(&path, yaml).unwrap();
    }

    /// The release record files of `app` (`vN.json`), without the high-water mark and temp files.
    pub fn record_files(&self, app: &str) -> usize {
        fs::read_dir(self.app_dir(app).join("releases"))
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                let name = name.to_string_lossy();
                name.starts_with('v') && name.ends_with(".json")
            })
            .count()
    }

    pub fn create_app(&self, name: &str) -> PathBuf {
        ok(self.slipway(&["apps:create", name]));
        self.app_dir(name).join("repo.git")
    }

    pub fn app_dir(&self, name: &str) -> PathBuf {
        self.root.join("apps").join(name)
    }

    /// A working copy whose `slipway` remote is `app`'s repository.
    pub fn work(&self, app: &str, dir_name: &str) -> Work {
        self.work_pushing_to(&self.app_dir(app).join("repo.git"), dir_name)
    }

    /// A working copy whose `slipway` remote is the repository at `repo`.
    pub fn work_pushing_to(&self, repo: &Path, dir_name: &str) -> Work {
        let dir = self.tmp.path().join(dir_name);
        fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "-q", "-b", "main"]);
        git(&dir, &["remote", "add", "slipway", repo.to_str().unwrap()]);
        Work { dir }
    }

    /// Pushes `files` as one commit to `app`'s main from a new working copy `w-APP`, creating the app unless it exists.
    ///
    /// Asserts that git accepted the push (the deploy itself may fail).
    #[track_caller]
    pub fn pushed(&self, app: &str, files: &[(&str, &str)]) -> Pushed {
        if !self.app_dir(app).exists() {
            self.create_app(app);
        }
        let work = self.work(app, &format!("w-{app}"));
        for (path, content) in files {
            work.write(path, content);
        }
        let sha = work.commit("First");
        let lines = work.push_ok(&["main"]);
        Pushed { work, sha, lines }
    }

    /// Creates `app` and deploys one commit to it (v1); returns the working copy.
    #[track_caller]
    pub fn deployed(&self, app: &str) -> Work {
        self.pushed(app, &[("index.html", "hi\n")]).work
    }

    /// Every release record of `app`, parsed, oldest first.
    pub fn records(&self, app: &str) -> Vec<Value> {
        let dir = self.app_dir(app).join("releases");
        let mut records: Vec<Value> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .map(|p| {
                serde_json::from_slice(&fs::read(&p).unwrap())
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            })
            .collect();
        records.sort_by_key(|r| r["version"].as_u64());
        records
    }

    /// What `current` says, such as `v2`.
    pub fn current(&self, app: &str) -> Option<String> {
        fs::read_to_string(self.app_dir(app).join("current"))
            .ok()
            .map(|s| s.trim().to_owned())
    }

    /// The names of the files in `slugs/` that are slugs.
    pub fn slug_files(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.root.join("slugs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tar.gz"))
            .collect();
        names.sort();
        names
    }
}

/// What [`Fixture::pushed`] did: the working copy, the commit it pushed and what the push printed.
pub struct Pushed {
    /// The working copy, whose `slipway` remote is the app's repository.
    pub work: Work,
    /// The full sha of the pushed commit.
    pub sha: String,
    /// The `remote:` lines of the push.
    pub lines: Vec<String>,
}

/// A git working copy.
pub struct Work {
    pub dir: PathBuf,
}

impl Work {
    pub fn write(&self, path: &str, content: impl AsRef<[u8]>) -> &Work {
        let full = self.dir.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, content).unwrap();
        self
    }

    /// Commits everything; returns the new commit's sha.
    pub fn commit(&self, message: &str) -> String {
        git(&self.dir, &["add", "-A"]);
        git(
            &self.dir,
            &[
                "-c",
                "user.name=Alice",
                "-c",
                "user.email=alice@example.com",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                message,
            ],
        );
        self.head()
    }

    pub fn head(&self) -> String {
        git(&self.dir, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// `git push slipway REFSPEC...`; returns the raw output, success or not.
    pub fn push(&self, refspecs: &[&str]) -> Output {
        run(command("git")
            .current_dir(&self.dir)
            .arg("push")
            .arg("slipway")
            .args(refspecs))
    }

    /// Pushes until git accepts it: racing pushes to one branch may be refused ("cannot lock ref").
    pub fn push_retrying(&self, refspecs: &[&str]) {
        for _ in 0..20 {
            if self.push(refspecs).status.success() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("push never succeeded");
    }

    /// Pushes and asserts git reported success; returns the `remote:` lines.
    #[track_caller]
    pub fn push_ok(&self, refspecs: &[&str]) -> Vec<String> {
        let out = self.push(refspecs);
        assert!(out.status.success(), "push failed:\n{}", text(&out.stderr));
        remote_lines(&out.stderr)
    }
}

/// Release records numbered v1, v2, ... with no gap, every one succeeded.
#[track_caller]
pub fn assert_consecutive_and_succeeded(records: &[serde_json::Value]) {
    let versions: Vec<u64> = records
        .iter()
        .map(|r| r["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, (1..=records.len() as u64).collect::<Vec<_>>());
    assert!(
        records.iter().all(|r| r["status"] == "succeeded"),
        "{records:?}"
    );
}

/// Pipes `input` to `slipway hook post-receive` as git would.
pub fn run_hook(f: &Fixture, app: &str, input: &[u8]) -> Output {
    f.slipway_with_input(&["hook", "post-receive", "--app", app], input)
}

/// Deterministic pseudo-random bytes (incompressible test content).
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
