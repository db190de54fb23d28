//! `releases:create`: a directory, archive or URL makes the same slug as a push of the same tree,
//! and hostile archives are refused by entry name with nothing recorded.
//!
//! Slugs from sources have every mtime 1980-01-01 (a push uses the commit
//! time), so entries are compared on everything else: path, type, mode,
//! bytes and link target. Sources of the same files make byte-identical slugs.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::slug::{Item, current_slug, items};

/// 1980-01-01T00:00:00Z, the mtime of every entry of a slug made from a source.
const SOURCE_MTIME: u64 = 315_532_800;

/// One entry of the sample tree.
enum Node {
    File(Vec<u8>, bool),
    Link(&'static str),
}

/// A tree with what makes ordering, modes and names interesting.
fn sample() -> Vec<(Vec<u8>, Node)> {
    let long = format!("{}/{}.txt", "d".repeat(90), "f".repeat(80));
    vec![
        (
            b"Procfile".to_vec(),
            // No processes: these tests are about the slug, not about running it.
            Node::File(b"# web: bin/web\n".to_vec(), false),
        ),
        (
            b"bin/web".to_vec(),
            Node::File(b"#!/bin/sh\necho hi\n".to_vec(), true),
        ),
        // Git order puts a-b, a.txt, the directory a, then a0.
        (b"a-b".to_vec(), Node::File(b"dash\n".to_vec(), false)),
        (b"a.txt".to_vec(), Node::File(b"dot\n".to_vec(), false)),
        (b"a/x.txt".to_vec(), Node::File(b"in a\n".to_vec(), false)),
        (b"a0".to_vec(), Node::File(b"zero\n".to_vec(), false)),
        (
            b"lib/deep/er/file.rb".to_vec(),
            Node::File(b"deep\n".to_vec(), false),
        ),
        (b"lib/up".to_vec(), Node::Link("../a.txt")),
        (b"current".to_vec(), Node::Link("lib/deep")),
        (long.into_bytes(), Node::File(b"long\n".to_vec(), false)),
        (
            b"caf\xe9.txt".to_vec(),
            Node::File(b"latin-1 name\n".to_vec(), false),
        ),
        (
            b".slugignore".to_vec(),
            Node::File(b"*.log\n".to_vec(), false),
        ),
        (
            b"debug.log".to_vec(),
            Node::File(b"left out\n".to_vec(), false),
        ),
        (b"big.bin".to_vec(), Node::File(noise(5, 300_000), false)),
    ]
}

/// Writes the sample into `dir`.
fn write_tree(dir: &Path) {
    for (path, node) in sample() {
        let full = dir.join(OsStr::from_bytes(&path));
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        match node {
            Node::File(data, executable) => {
                std::fs::write(&full, data).unwrap();
                let mode = if executable { 0o755 } else { 0o644 };
                std::fs::set_permissions(&full, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            Node::Link(target) => std::os::unix::fs::symlink(target, &full).unwrap(),
        }
    }
}

/// The sample pushed to `app` with git; returns the working copy.
fn push_sample(f: &Fixture, app: &str) -> Work {
    let work = f.work(app, "w");
    write_tree(&work.dir);
    git(&work.dir, &["add", "-f", "-A"]);
    work.commit("sample");
    work.push_ok(&["main"]);
    work
}

fn without_mtime(mut items: Vec<Item>) -> Vec<Item> {
    for item in &mut items {
        item.mtime = 0;
    }
    items
}

pub fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

pub fn create(f: &Fixture, source: &str, extra: &[&str]) -> Output {
    let mut args = vec!["releases:create", source, "-a", "myapp"];
    args.extend_from_slice(extra);
    f.slipway(&args)
}

pub fn slug_sha(f: &Fixture, version: usize) -> String {
    f.records("myapp")[version - 1]["slug"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub fn tmp_entries(f: &Fixture) -> Vec<String> {
    std::fs::read_dir(f.root.join("tmp"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The sample as a tar written by the tar crate: a top-level directory, reverse order,
/// implicit directories, group-writable modes, owners and assorted mtimes.
pub fn sample_tar() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o775);
    header.set_size(0);
    builder
        .append_data(&mut header, "myapp-main/", std::io::empty())
        .unwrap();
    for (i, (path, node)) in sample().into_iter().rev().enumerate() {
        let name = PathBuf::from(OsStr::from_bytes(&[b"myapp-main/", &path[..]].concat()));
        let mut header = tar::Header::new_gnu();
        header.set_mtime(1_600_000_000 + i as u64 * 1000);
        header.set_uid(1000);
        header.set_gid(1000);
        match node {
            Node::File(data, executable) => {
                header.set_mode(if executable { 0o775 } else { 0o664 });
                header.set_size(data.len() as u64);
                builder.append_data(&mut header, &name, &data[..]).unwrap();
            }
            Node::Link(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                builder.append_link(&mut header, &name, target).unwrap();
            }
        }
    }
    builder.into_inner().unwrap()
}

/// The sample as a zip written by the test's own writer: deflate and stored entries, unix modes.
fn sample_zip() -> Vec<u8> {
    let mut entries = vec![Z::dir(b"myapp-main/")];
    for (i, (path, node)) in sample().into_iter().enumerate() {
        let name = [b"myapp-main/", &path[..]].concat();
        entries.push(match node {
            Node::File(data, executable) => Z {
                method: if i % 2 == 0 { 8 } else { 0 },
                mode: if executable { 0o100755 } else { 0o100644 },
                ..Z::file(&name, &data)
            },
            Node::Link(target) => Z {
                mode: 0o120777,
                ..Z::file(&name, target.as_bytes())
            },
        });
    }
    zip(&entries, None)
}

#[test]
fn archives_directories_and_git_archive_output_make_the_slug_a_push_makes() {
    let f = Fixture::new();
    f.create_app("myapp");
    let work = push_sample(&f, "myapp");
    let pushed = items(&current_slug(&f, "myapp"));
    assert!(!pushed.iter().any(|i| i.path == b"app/debug.log"));

    let tar_path = f.tmp.path().join("app.tar.gz");
    std::fs::write(&tar_path, gz(&sample_tar())).unwrap();
    let out = create(&f, tar_path.to_str().unwrap(), &[]);
    // Not a terminal: whole lines, no redrawn percentages.
    assert!(!text(&out.stderr).contains('\r'), "{:?}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr).lines().collect::<Vec<_>>(),
        [
            "-----> Extracting... done, 15 entries",
            "-----> Compiling app.tar.gz",
            NO_PROCESS_TYPES[0],
            NO_PROCESS_TYPES[1],
            "-----> Compressing... done, 294KB",
            "-----> Launching... done, v2",
        ]
    );
    ok(out);
    let from_tar = items(&current_slug(&f, "myapp"));
    assert!(from_tar.iter().all(|i| i.mtime == SOURCE_MTIME));
    assert_eq!(without_mtime(from_tar), without_mtime(pushed.clone()));
    let record = &f.records("myapp")[1];
    assert_eq!(record["description"], "Deploy from app.tar.gz");
    assert_eq!(record["kind"], "deploy");
    assert_eq!(record["status"], "succeeded");
    assert!(record.get("commit").is_none());
    let sha = slug_sha(&f, 2);

    // The same files from other sources: byte-identical slugs.
    let zip_path = f.tmp.path().join("app.zip");
    std::fs::write(&zip_path, sample_zip()).unwrap();
    ok(create(
        &f,
        zip_path.to_str().unwrap(),
        &["-d", "From a zip"],
    ));
    assert_eq!(f.records("myapp")[2]["description"], "From a zip");
    assert_eq!(slug_sha(&f, 3), sha);

    let plain_tar = f.tmp.path().join("app.tar");
    std::fs::write(&plain_tar, sample_tar()).unwrap();
    ok(create(&f, plain_tar.to_str().unwrap(), &[]));
    assert_eq!(slug_sha(&f, 4), sha);

    // The working copy itself: .git is left out, as git could never track it.
    ok(create(&f, work.dir.to_str().unwrap(), &[]));
    assert_eq!(slug_sha(&f, 5), sha);
    assert_eq!(f.records("myapp")[4]["description"], "Deploy from w");

    // GitHub-style archives from git itself (pax global header, top-level directory).
    for (format, name) in [("tar.gz", "gh.tar.gz"), ("zip", "gh.zip")] {
        let path = f.tmp.path().join(name);
        git(
            &work.dir,
            &[
                "archive",
                &format!("--format={format}"),
                "--prefix=myapp-main/",
                "-o",
                path.to_str().unwrap(),
                "HEAD",
            ],
        );
        ok(create(&f, path.to_str().unwrap(), &[]));
        let version = f.records("myapp").len();
        assert_eq!(slug_sha(&f, version), sha, "{format}");
    }
    assert_eq!(
        f.slug_files().len(),
        2,
        "one slug from git, one from the sources"
    );
    assert!(tmp_entries(&f).is_empty(), "{:?}", tmp_entries(&f));
}

/// How the loopback server answers a path.
#[derive(Clone)]
enum Reply {
    Body(Vec<u8>),
    Chunked(Vec<u8>),
    Redirect(String),
    /// A Content-Length far beyond any cap, and no body.
    Huge,
}

/// Serves `routes` on 127.0.0.1 from a thread, for at most 100 connections or 60 seconds.
fn serve(routes: Vec<(&'static str, Reply)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut served = 0;
        while served < 100 && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    served += 1;
                    answer(stream, &routes);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => return,
            }
        }
    });
    base
}

fn answer(mut stream: TcpStream, routes: &[(&'static str, Reply)]) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") && request.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => request.push(byte[0]),
            _ => return,
        }
    }
    let request = String::from_utf8_lossy(&request).into_owned();
    let path = request.split(' ').nth(1).unwrap_or("");
    let reply = routes
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, r)| r.clone());
    let response = match reply {
        Some(Reply::Body(body)) => [
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes(),
            body,
        ]
        .concat(),
        Some(Reply::Chunked(body)) => {
            let mut out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            for chunk in body.chunks(7_000) {
                out.extend(format!("{:x};ext=1\r\n", chunk.len()).bytes());
                out.extend(chunk);
                out.extend(b"\r\n");
            }
            out.extend(b"0\r\nX-Trailer: yes\r\n\r\n");
            out
        }
        Some(Reply::Redirect(to)) => {
            format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n")
                .into_bytes()
        }
        Some(Reply::Huge) => b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n".to_vec(),
        None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
    };
    // The client may hang up early (a refused size): that is its right.
    let _ = stream.write_all(&response);
}

#[test]
fn urls_download_with_content_length_chunked_and_redirects() {
    let f = Fixture::new();
    f.create_app("myapp");
    let archive = gz(&sample_tar());
    let base = serve(vec![
        ("/app.tgz", Reply::Body(archive.clone())),
        ("/chunked.tgz", Reply::Chunked(archive)),
        ("/r1", Reply::Redirect("/r2".into())),
        ("/r2", Reply::Redirect("app.tgz".into())),
        ("/loop", Reply::Redirect("/loop".into())),
        ("/huge.tgz", Reply::Huge),
    ]);
    let url = format!("{base}/app.tgz");
    let out = create(&f, &url, &[]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!("-----> Downloading {url}... done, 310KB\n")),
        "{stderr}"
    );
    ok(out);
    assert_eq!(f.records("myapp")[0]["description"], "Deploy from app.tgz");
    let sha = slug_sha(&f, 1);
    ok(create(&f, &format!("{base}/chunked.tgz"), &[]));
    assert_eq!(slug_sha(&f, 2), sha);
    ok(create(&f, &format!("{base}/r1"), &[]));
    assert_eq!(slug_sha(&f, 3), sha);

    for (path, message) in [
        ("/missing.tgz", "the server answered 404 Not Found"),
        ("/loop", "more than 5 redirects"),
        ("/huge.tgz", "and the limit is 2048.0MB (max_source_size)"),
    ] {
        let url = format!("{base}{path}");
        let out = create(&f, &url, &[]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        let first = stderr.lines().next().unwrap();
        assert!(
            first.starts_with(&format!("error: cannot download {url}: "))
                && first.ends_with(message),
            "{path}: {stderr}"
        );
    }
    assert_eq!(f.records("myapp").len(), 3);
    assert!(tmp_entries(&f).is_empty(), "{:?}", tmp_entries(&f));
}

#[test]
fn https_is_spoken_by_the_binary_itself_and_credentials_never_show() {
    let f = Fixture::new();
    f.create_app("myapp");
    // No curl (nor anything else) on PATH: TLS is in the binary.
    let out = f
        .cmd(&[
            "releases:create",
            "https://user:secret@127.0.0.1:1/app.tgz",
            "-a",
            "myapp",
        ])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: cannot download https://***@127.0.0.1:1/app.tgz: cannot connect: connection refused\n"
    );
    // Credentials go over https only.
    let out = create(&f, "http://user:secret@127.0.0.1:1/app.tgz", &[]);
    assert_eq!(
        text(&out.stderr),
        "error: cannot download http://***@127.0.0.1:1/app.tgz: credentials in http:// URLs are not supported (use https://)\n"
    );
    assert!(f.records("myapp").is_empty());
}

/// One raw tar entry, header fields written as given (no tar crate checks).
struct T {
    name: Vec<u8>,
    kind: u8,
    link: Vec<u8>,
    data: Vec<u8>,
    mode: u32,
}

impl T {
    fn file(name: &[u8], data: &[u8]) -> T {
        T {
            name: name.to_vec(),
            kind: b'0',
            link: Vec::new(),
            data: data.to_vec(),
            mode: 0o644,
        }
    }

    fn link(name: &[u8], kind: u8, target: &[u8]) -> T {
        T {
            kind,
            link: target.to_vec(),
            ..T::file(name, b"")
        }
    }

    fn kind(name: &[u8], kind: u8) -> T {
        T {
            kind,
            ..T::file(name, b"")
        }
    }
}

fn raw_tar(entries: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut header = tar::Header::new_gnu();
        let old = header.as_old_mut();
        old.name[..e.name.len()].copy_from_slice(&e.name);
        old.linkname[..e.link.len()].copy_from_slice(&e.link);
        header.set_entry_type(tar::EntryType::new(e.kind));
        header.set_mode(e.mode);
        header.set_size(e.data.len() as u64);
        header.set_mtime(0);
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// A zip entry for the test's zip writer; sizes and CRC can be lied about.
#[derive(Clone)]
struct Z {
    name: Vec<u8>,
    data: Vec<u8>,
    mode: u32,
    method: u16,
    flags: u16,
    crc: Option<u32>,
    size: Option<u32>,
}

impl Z {
    fn file(name: &[u8], data: &[u8]) -> Z {
        Z {
            name: name.to_vec(),
            data: data.to_vec(),
            mode: 0o100644,
            method: 0,
            flags: 0,
            crc: None,
            size: None,
        }
    }

    fn dir(name: &[u8]) -> Z {
        Z {
            mode: 0o040755,
            ..Z::file(name, b"")
        }
    }
}

/// A zip archive; `alias` adds a central directory record named `.0` for the data of entry `.1`.
fn zip(entries: &[Z], alias: Option<(&[u8], usize)>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut records: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for e in entries {
        let payload = if e.method == 8 {
            let mut enc =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(&e.data).unwrap();
            enc.finish().unwrap()
        } else {
            e.data.clone()
        };
        let mut crc = flate2::Crc::new();
        crc.update(&e.data);
        let crc = e.crc.unwrap_or(crc.sum());
        let size = e.size.unwrap_or(e.data.len() as u32);
        let offset = out.len() as u32;
        let common = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend(sig.to_le_bytes());
            if central {
                h.extend(0x031e_u16.to_le_bytes());
            }
            h.extend(20u16.to_le_bytes());
            h.extend(e.flags.to_le_bytes());
            h.extend(e.method.to_le_bytes());
            h.extend(0u16.to_le_bytes());
            h.extend(0x21u16.to_le_bytes());
            h.extend(crc.to_le_bytes());
            h.extend((payload.len() as u32).to_le_bytes());
            h.extend(size.to_le_bytes());
            h.extend((e.name.len() as u16).to_le_bytes());
            h.extend(0u16.to_le_bytes());
            h
        };
        out.extend(common(0x0403_4b50, false));
        out.extend(&e.name);
        out.extend(&payload);
        let mut central = common(0x0201_4b50, true);
        central.extend([0u8; 6]);
        central.extend((e.mode << 16).to_le_bytes());
        central.extend(offset.to_le_bytes());
        records.push((central, e.name.clone()));
    }
    if let Some((name, of)) = alias {
        let (mut central, _) = records[of].clone();
        central[28..30].copy_from_slice(&(name.len() as u16).to_le_bytes());
        records.push((central, name.to_vec()));
    }
    let cd_offset = out.len() as u32;
    for (central, name) in &records {
        out.extend(central);
        out.extend(name);
    }
    let cd_len = out.len() as u32 - cd_offset;
    out.extend(0x0605_4b50_u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((records.len() as u16).to_le_bytes());
    out.extend((records.len() as u16).to_le_bytes());
    out.extend(cd_len.to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// Asserts `releases:create` refuses the archive with an error line containing `expect`, and that nothing changed.
#[track_caller]
fn assert_refused(f: &Fixture, name: &str, bytes: &[u8], expect: &str) {
    let path = f.tmp.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = create(f, path.to_str().unwrap(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
    let first = stderr.lines().next().unwrap_or("");
    assert!(
        first.starts_with("error: ") && first.contains(expect),
        "{name}: expected '{expect}' in:\n{stderr}"
    );
    assert!(f.records("myapp").is_empty(), "{name} made a release");
    assert!(f.slug_files().is_empty(), "{name} made a slug");
    assert!(
        tmp_entries(f).is_empty(),
        "{name} left {:?}",
        tmp_entries(f)
    );
    assert!(!f.tmp.path().join("evil.txt").exists(), "{name} escaped");
}

#[test]
fn hostile_tar_archives_are_refused_by_entry_and_change_nothing() {
    let f = Fixture::new();
    f.create_app("myapp");
    let fine = || T::file(b"ok.txt", b"fine\n");
    let long_evil = [vec![b'a'; 120], b"/../../evil.txt\0".to_vec()].concat();
    let cases: Vec<(&str, Vec<T>, &str)> = vec![
        (
            "absolute",
            vec![T::file(b"/tmp/evil.txt", b"x")],
            "refusing '/tmp/evil.txt': its path is absolute",
        ),
        (
            "dotdot",
            vec![T::file(b"../evil.txt", b"x")],
            "refusing '../evil.txt': its path has a '..' component",
        ),
        (
            "nested-dotdot",
            vec![fine(), T::file(b"a/../../evil.txt", b"x")],
            "refusing 'a/../../evil.txt': its path has a '..' component",
        ),
        (
            "abs-symlink",
            vec![T::link(b"passwd", b'2', b"/etc/passwd")],
            "refusing 'passwd': it points to the absolute path '/etc/passwd'",
        ),
        (
            "escaping-symlink",
            vec![fine(), T::link(b"up", b'2', b"../evil.txt")],
            "refusing 'up': it points outside the app ('../evil.txt')",
        ),
        // After the single top-level directory is stripped, `..` leaves the app.
        (
            "escaping-after-strip",
            vec![
                T::kind(b"top/", b'5'),
                T::link(b"top/up", b'2', b"../top/x"),
            ],
            "refusing 'top/up': it points outside the app ('../top/x')",
        ),
        (
            "symlink-chain",
            vec![
                fine(),
                T::link(b"d/up", b'2', b".."),
                T::link(b"sneaky", b'2', b"d/up/../evil.txt"),
            ],
            "refusing 'sneaky': it points outside the app",
        ),
        (
            "through-symlink",
            vec![
                fine(),
                T::kind(b"sub/", b'5'),
                T::link(b"link", b'2', b"sub"),
                T::file(b"link/evil.txt", b"x"),
            ],
            "refusing 'link/evil.txt': its path goes through the symlink 'link'",
        ),
        (
            "hardlink",
            vec![fine(), T::link(b"hard", b'1', b"ok.txt")],
            "refusing 'hard': it is a hard link",
        ),
        (
            "char-device",
            vec![fine(), T::kind(b"null", b'3')],
            "refusing 'null': it is a character device",
        ),
        (
            "block-device",
            vec![fine(), T::kind(b"sda", b'4')],
            "refusing 'sda': it is a block device",
        ),
        (
            "fifo",
            vec![fine(), T::kind(b"pipe", b'6')],
            "refusing 'pipe': it is a FIFO",
        ),
        (
            "sparse",
            vec![fine(), T::kind(b"holes", b'S')],
            "refusing 'holes': it is a sparse file",
        ),
        (
            "duplicate",
            vec![fine(), T::file(b"ok.txt", b"again")],
            "refusing 'ok.txt': it appears twice in the archive",
        ),
        (
            "file-as-dir",
            vec![fine(), T::file(b"ok.txt/evil.txt", b"x")],
            "refusing 'ok.txt/evil.txt': its path goes through the file 'ok.txt'",
        ),
        (
            "gnu-long-name",
            vec![
                fine(),
                T {
                    name: b"././@LongLink".to_vec(),
                    kind: b'L',
                    ..T::file(b"", &long_evil)
                },
                T::file(b"short", b"x"),
            ],
            "its path has a '..' component",
        ),
        (
            "pax-path",
            vec![
                fine(),
                T {
                    kind: b'x',
                    ..T::file(b"PaxHeader", b"23 path=../../evil.txt\n")
                },
                T::file(b"innocent", b"x"),
            ],
            "refusing '../../evil.txt': its path has a '..' component",
        ),
        (
            "pax-size-lie",
            vec![
                fine(),
                T {
                    kind: b'x',
                    ..T::file(b"PaxHeader", b"12 size=999\n")
                },
                T::file(b"sized", b"x"),
            ],
            "refusing 'sized': its pax size disagrees with its header",
        ),
    ];
    for (name, entries, expect) in cases {
        assert_refused(
            &f,
            &format!("{name}.tar.gz"),
            &gz(&raw_tar(&entries)),
            expect,
        );
    }
    // An extended header too large to hold in memory (plain tar: no ratio to trip first).
    let huge_meta = raw_tar(&[T {
        name: b"././@LongLink".to_vec(),
        kind: b'L',
        ..T::file(b"", &noise(9, 2 << 20))
    }]);
    assert_refused(
        &f,
        "huge-meta.tar",
        &huge_meta,
        "its extended header is larger than 1MB",
    );
    // A gzip bomb: 64MB of zeros in 64KB, refused long before 64MB reach the disk.
    let bomb = gz(&raw_tar(&[T::file(b"zeros.bin", &vec![0u8; 64 << 20])]));
    assert!(bomb.len() < 1 << 20);
    assert_refused(
        &f,
        "bomb.tar.gz",
        &bomb,
        "expands more than 100 times its compressed size (at 'zeros.bin'): a decompression bomb?",
    );
    assert_refused(
        &f,
        "truncated.tar.gz",
        &gz(&raw_tar(&[fine()]))[..40],
        "truncated.tar.gz is corrupt",
    );
    assert_refused(
        &f,
        "notes.txt",
        b"just some text\n",
        "notes.txt is not a .tar.gz, .tgz, .tar or .zip archive",
    );
    assert_refused(&f, "app.tar.bz2", b"BZh91AY&SY", "(bzip2 is not supported)");
}

#[test]
fn archives_over_the_size_and_entry_caps_are_refused() {
    let f = Fixture::new();
    f.create_app("myapp");
    std::fs::write(
        f.root.join("slipway.yaml"),
        "max_source_size: 1MB\nmax_source_files: 5\n",
    )
    .unwrap();
    let big = raw_tar(&[T::file(b"noise.bin", &noise(3, 2 << 20))]);
    assert_refused(
        &f,
        "big.tar.gz",
        &gz(&big),
        "big.tar.gz expands to more than 1.0MB (at 'noise.bin')",
    );
    let many: Vec<T> = (0..6)
        .map(|i| T::file(format!("f{i}").as_bytes(), b"x"))
        .collect();
    assert_refused(
        &f,
        "many.tgz",
        &gz(&raw_tar(&many)),
        "many.tgz has more than 5 entries",
    );
    let many_zip: Vec<Z> = (0..6)
        .map(|i| Z::file(format!("f{i}").as_bytes(), b"x"))
        .collect();
    assert_refused(
        &f,
        "many.zip",
        &zip(&many_zip, None),
        "many.zip has more than 5 entries",
    );
    let out = f.slipway(&["releases:create", "/nonexistent/app.tgz", "-a", "myapp"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("error: cannot read /nonexistent/app.tgz: "));
}

#[test]
fn hostile_zip_archives_are_refused_by_entry_and_change_nothing() {
    let f = Fixture::new();
    f.create_app("myapp");
    let fine = || Z::file(b"ok.txt", b"fine\n");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dotdot",
            zip(&[fine(), Z::file(b"../evil.txt", b"x")], None),
            "refusing '../evil.txt': its path has a '..' component",
        ),
        (
            "absolute",
            zip(&[Z::file(b"/tmp/evil.txt", b"x")], None),
            "refusing '/tmp/evil.txt': its path is absolute",
        ),
        (
            "abs-symlink",
            zip(
                &[
                    fine(),
                    Z {
                        mode: 0o120777,
                        ..Z::file(b"passwd", b"/etc/passwd")
                    },
                ],
                None,
            ),
            "refusing 'passwd': it points to the absolute path '/etc/passwd'",
        ),
        (
            "escaping-symlink",
            zip(
                &[
                    fine(),
                    Z {
                        mode: 0o120777,
                        ..Z::file(b"up", b"../../evil.txt")
                    },
                ],
                None,
            ),
            "refusing 'up': it points outside the app",
        ),
        (
            "fifo",
            zip(
                &[
                    fine(),
                    Z {
                        mode: 0o010644,
                        ..Z::file(b"pipe", b"")
                    },
                ],
                None,
            ),
            "refusing 'pipe': it is a FIFO",
        ),
        (
            "device",
            zip(
                &[
                    fine(),
                    Z {
                        mode: 0o020644,
                        ..Z::file(b"tty", b"")
                    },
                ],
                None,
            ),
            "refusing 'tty': it is a character device",
        ),
        (
            "encrypted",
            zip(&[Z { flags: 1, ..fine() }], None),
            "refusing 'ok.txt': it is encrypted",
        ),
        (
            "bzip2",
            zip(
                &[Z {
                    method: 12,
                    ..fine()
                }],
                None,
            ),
            "refusing 'ok.txt': it uses compression method 12",
        ),
        (
            "overlap",
            zip(&[fine()], Some((b"twin.txt", 0))),
            "refusing 'twin.txt': its data overlaps 'ok.txt'",
        ),
        (
            "bad-crc",
            zip(
                &[Z {
                    crc: Some(7),
                    ..fine()
                }],
                None,
            ),
            "refusing 'ok.txt': its data fails its CRC check",
        ),
        (
            "size-lie",
            zip(
                &[Z {
                    method: 8,
                    size: Some(2),
                    ..fine()
                }],
                None,
            ),
            "refusing 'ok.txt': its data is not the 2 bytes its header says",
        ),
        (
            "bomb",
            zip(
                &[Z {
                    method: 8,
                    ..Z::file(b"zeros.bin", &vec![0u8; 64 << 20])
                }],
                None,
            ),
            "expands more than 100 times its compressed size (at 'zeros.bin')",
        ),
        (
            "duplicate",
            zip(&[fine(), fine()], None),
            "refusing 'ok.txt': it appears twice in the archive",
        ),
    ];
    for (name, bytes, expect) in cases {
        assert_refused(&f, &format!("{name}.zip"), &bytes, expect);
    }
    let good = zip(&[fine()], None);
    assert_refused(
        &f,
        "truncated.zip",
        &good[..good.len() - 10],
        "truncated.zip is corrupt: it has no end of central directory record",
    );
    let mut misplaced = good.clone();
    let at = misplaced.len() - 6;
    misplaced[at..at + 4].copy_from_slice(&9999u32.to_le_bytes());
    assert_refused(
        &f,
        "misplaced.zip",
        &misplaced,
        "misplaced.zip is corrupt: its central directory is out of bounds",
    );
}

#[test]
fn local_directories_with_special_files_or_escaping_links_are_refused() {
    let f = Fixture::new();
    f.create_app("myapp");
    let dir = f.tmp.path().join("src");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("ok.txt"), "fine\n").unwrap();
    std::os::unix::fs::symlink("../../outside", dir.join("sub/out")).unwrap();
    let out = create(&f, dir.to_str().unwrap(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).lines().next().unwrap(),
        "error: refusing 'sub/out': it points outside the app ('../../outside')"
    );
    std::fs::remove_file(dir.join("sub/out")).unwrap();
    let fifo = dir.join("sub/pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let out = create(&f, dir.to_str().unwrap(), &[]);
        assert_eq!(
            text(&out.stderr).lines().next().unwrap(),
            "error: refusing 'sub/pipe': it is a FIFO, which a slug cannot hold"
        );
    }
    assert!(f.records("myapp").is_empty());
    assert!(f.slug_files().is_empty());
}

#[test]
fn a_source_for_an_unknown_app_or_scheme_is_refused_before_anything_is_read() {
    let f = Fixture::new();
    f.create_app("myapp");
    let out = f.slipway(&["releases:create", "/nonexistent", "-a", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("error: no app named 'nope'\n"));
    let out = create(&f, "ftp://example.com/app.tgz", &[]);
    assert_eq!(
        text(&out.stderr),
        "error: 'ftp://example.com/app.tgz' is not a directory, an archive file or an http(s) URL\n\
         help: give a directory, or a .tar.gz, .tgz, .tar or .zip file or http(s) URL\n"
    );
}

#[test]
fn mangled_archives_fail_cleanly_and_never_crash() {
    let f = Fixture::new();
    f.create_app("myapp");
    let bases = [
        ("m.tgz", gz(&sample_tar())),
        ("m.zip", sample_zip()),
        ("m.tar", sample_tar()),
    ];
    let mut refused = 0;
    for i in 0..90u64 {
        let (name, base) = &bases[(i % 3) as usize];
        let mut bytes = base.clone();
        let len = bytes.len();
        let r = noise(i + 100, 32);
        let pick = |k: usize| {
            let x = u64::from_le_bytes(r[k * 8..k * 8 + 8].try_into().unwrap()) as usize;
            // Headers live at the start and (zip) the end: mangle there.
            let window = len.min(4096);
            if x.is_multiple_of(2) {
                x % window
            } else {
                len - 1 - x % window
            }
        };
        match i % 4 {
            0 => bytes.truncate(pick(0)),
            1 => {
                for k in 0..3 {
                    let at = pick(k);
                    bytes[at] ^= r[24 + k] | 1;
                }
            }
            2 => {
                let at = pick(1).min(len - 4);
                bytes[at..at + 4].copy_from_slice(&[0xff; 4]);
            }
            _ => {
                let at = pick(2);
                bytes[at] = 0;
            }
        }
        let path = f.tmp.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let out = create(&f, path.to_str().unwrap(), &[]);
        let stderr = text(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0 | 1)) && !stderr.contains("panicked"),
            "case {i} ({name}): {stderr}"
        );
        assert!(
            tmp_entries(&f).is_empty(),
            "case {i} left {:?}",
            tmp_entries(&f)
        );
        refused += usize::from(out.status.code() == Some(1));
    }
    eprintln!("{refused} of 90 mangled archives refused");
    assert!(
        refused >= 45,
        "only {refused} of 90 mangled archives were refused"
    );
}
