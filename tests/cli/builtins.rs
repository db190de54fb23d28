//! The built-in python and nodejs buildpacks, end to end: detected on push, built with the host's toolchain, served from wherever the slug is unpacked.
//!
//! The apps' dependencies are local (a wheel the test writes, an npm `file:`
//! package), so no package index is needed.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::launch::Running;

/// Whether the host has `tool` on the build PATH; outside CI a missing tool skips the test with a reason.
fn host_has(tool: &str, test: &str) -> bool {
    let found = ["/usr/local/bin", "/usr/bin", "/bin"]
        .iter()
        .any(|dir| Path::new(dir).join(tool).is_file());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: {tool} is missing, and CI must run this test"
        );
        eprintln!("skipped {test}: no {tool} on the host");
    }
    found
}

/// A minimal pure-Python wheel holding the module `hello` (and a console script `hello-say`).
fn wheel(greeting: &str) -> Vec<u8> {
    let script = format!(
        "import zipfile, io, sys\n\
         buf = io.BytesIO()\n\
         z = zipfile.ZipFile(buf, 'w')\n\
         z.writestr('hello/__init__.py', 'GREETING = {greeting:?}\\ndef say():\\n    print(GREETING)\\n')\n\
         z.writestr('hello-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: hello\\nVersion: 1.0\\n')\n\
         z.writestr('hello-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')\n\
         z.writestr('hello-1.0.dist-info/entry_points.txt', '[console_scripts]\\nhello-say = hello:say\\n')\n\
         z.writestr('hello-1.0.dist-info/RECORD', '')\n\
         z.close()\n\
         sys.stdout.buffer.write(buf.getvalue())\n"
    );
    let out = run(command("python3").args(["-c", &script]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    out.stdout
}

/// A web server in Python that answers with `hello.GREETING`.
const PY_SERVER: &str = r#"import http.server, os, hello

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = hello.GREETING.encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass

http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()
"#;

/// GETs `url` until it answers (bounded), returning the body.
fn get(url: &str) -> String {
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(&addr) {
            let _ = write!(stream, "GET / HTTP/1.0\r\nHost: x\r\n\r\n");
            let mut response = String::new();
            let _ = std::io::Read::read_to_string(&mut stream, &mut response);
            if let Some((_, body)) = response.split_once("\r\n\r\n") {
                return body.to_owned();
            }
        }
        assert!(Instant::now() < deadline, "{url} never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The URL the push printed after `Launching... done`.
fn deployed_url(lines: &[String]) -> String {
    lines
        .iter()
        .find_map(|l| l.trim().strip_suffix(" deployed"))
        .unwrap_or_else(|| panic!("no URL in {lines:?}"))
        .to_owned()
}

#[test]
fn a_python_app_builds_with_pip_and_runs_from_any_directory() {
    if !host_has("python3", "python built-in") {
        return;
    }
    let f = Fixture::new();
    f.create_app("pyapp");
    let _running = Running::new(&f, "pyapp");
    let work = f.work("pyapp", "w");
    fs::create_dir_all(work.dir.join("wheels")).unwrap();
    fs::write(
        work.dir.join("wheels/hello-1.0-py3-none-any.whl"),
        wheel("hi from the wheel"),
    )
    .unwrap();
    work.write("requirements.txt", "./wheels/hello-1.0-py3-none-any.whl\n");
    work.write("server.py", PY_SERVER);
    work.write("Procfile", "web: python server.py\nrelease: hello-say\n");
    work.commit("First");
    let lines = work.push_ok(&["main"]);
    for expected in [
        "-----> Python app detected",
        "-----> Discovering process types",
        "       Procfile declares types -> web",
        "       hi from the wheel",
    ] {
        assert!(
            lines.iter().any(|l| l == expected),
            "{expected:?} in {lines:?}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("-----> Installing requirements with pip")),
        "{lines:?}"
    );
    let url = deployed_url(&lines);
    assert_eq!(get(&url), "hi from the wheel");

    // Unchanged requirements: the packages come from the build cache, not pip.
    work.write("server.py", format!("{PY_SERVER}# v2\n"));
    work.commit("Second");
    let lines = work.push_ok(&["main"]);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("-----> Restored") && l.contains("from the build cache")),
        "{lines:?}"
    );

    // v1's slug, unpacked for a new release in a directory it was never built in.
    let out = ok(f.slipway(&["rollback", "v1", "-a", "pyapp"]));
    assert_eq!(out, "Rolled back to v1\n");
    assert!(f.app_dir("pyapp").join("run/v3/app/.heroku").is_dir());
    assert_eq!(get(&url), "hi from the wheel");
    ok(f.slipway(&["ps:stop", "-a", "pyapp"]));
}

#[test]
fn a_python_app_asking_for_a_version_the_host_lacks_is_rejected_with_the_versions_it_has() {
    if !host_has("python3", "python built-in") {
        return;
    }
    let f = Fixture::new();
    f.create_app("pyapp");
    let work = f.work("pyapp", "w");
    work.write("requirements.txt", "");
    work.write("runtime.txt", "python-3.4.10\n");
    work.commit("Old");
    let out = work.push(&["main"]);
    assert!(
        !out.status.success(),
        "a strict push whose build fails is rejected"
    );
    let lines = remote_lines(&out.stderr);
    assert!(
        lines.contains(&" !     Push rejected, failed to compile Python app.".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Python 3.4 is not installed"))
            && lines
                .iter()
                .any(|l| l.contains("Python versions on this host: 3.11")),
        "names what was asked and what the host has: {lines:?}"
    );
    let repo = f.app_dir("pyapp").join("repo.git");
    assert!(git(&repo, &["for-each-ref"]).is_empty(), "no ref moved");
}

#[test]
fn a_node_app_builds_with_npm_prunes_dev_dependencies_and_defaults_to_npm_start() {
    if !host_has("npm", "nodejs built-in") || !host_has("node", "nodejs built-in") {
        return;
    }
    let f = Fixture::new();
    f.create_app("nodeapp");
    let _running = Running::new(&f, "nodeapp");
    let work = f.work("nodeapp", "w");
    work.write(
        "vendor/hello/package.json",
        r#"{"name": "hello", "version": "1.0.0", "main": "index.js"}"#,
    );
    work.write(
        "vendor/hello/index.js",
        "module.exports = 'hi from node';\n",
    );
    work.write(
        "vendor/devtool/package.json",
        r#"{"name": "devtool", "version": "1.0.0"}"#,
    );
    work.write(
        "package.json",
        r#"{
  "name": "nodeapp",
  "version": "1.0.0",
  "scripts": {"start": "node server.js", "build": "node -e \"require('fs').writeFileSync('built.txt', 'yes')\""},
  "dependencies": {"hello": "file:./vendor/hello"},
  "devDependencies": {"devtool": "file:./vendor/devtool"}
}
"#,
    );
    work.write(
        "server.js",
        "require('http').createServer((q, s) => s.end(require('hello'))).listen(process.env.PORT, '127.0.0.1');\n",
    );
    work.commit("First");
    let lines = work.push_ok(&["main"]);
    for expected in [
        "-----> Node.js app detected",
        "       Procfile declares types -> (none)",
        "       Default types for buildpack -> web",
    ] {
        assert!(
            lines.iter().any(|l| l == expected),
            "{expected:?} in {lines:?}"
        );
    }
    assert_eq!(get(&deployed_url(&lines)), "hi from node");
    let app = f.app_dir("nodeapp").join("run/v1/app");
    assert_eq!(fs::read_to_string(app.join("built.txt")).unwrap(), "yes");
    assert!(app.join("node_modules/hello").exists());
    assert!(
        !app.join("node_modules/devtool").exists(),
        "devDependencies pruned"
    );
    ok(f.slipway(&["ps:stop", "-a", "nodeapp"]));
}
