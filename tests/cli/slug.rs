//! Slug contents: the same files, modes, bytes and links as `git archive --prefix=app/`.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::*;

/// One tar entry, everything a user of the unpacked slug could observe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub path: Vec<u8>,
    pub kind: u8,
    pub mode: u32,
    pub mtime: u64,
    pub data: Vec<u8>,
    pub link: Option<Vec<u8>>,
}

pub fn items(tar_bytes: &[u8]) -> Vec<Item> {
    let mut archive = tar::Archive::new(tar_bytes);
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let kind = entry.header().entry_type().as_byte();
        if !matches!(kind, b'0' | b'5' | b'2') {
            continue; // pax global header with git's commit id
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.push(Item {
            path: entry.path_bytes().into_owned(),
            kind,
            mode: entry.header().mode().unwrap(),
            mtime: entry.header().mtime().unwrap(),
            data,
            link: entry.link_name_bytes().map(|l| l.into_owned()),
        });
    }
    out
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn git_archive(work: &Path, rev: &str) -> Vec<u8> {
    let out = run(command("git").current_dir(work).args([
        "-c",
        "tar.umask=0022",
        "archive",
        "--format=tar",
        "--prefix=app/",
        rev,
    ]));
    assert!(out.status.success());
    out.stdout
}

/// The slug the app's current release points at, unzipped.
pub fn current_slug(f: &Fixture, app: &str) -> Vec<u8> {
    let records = f.records(app);
    let sha = records.last().unwrap()["slug"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    gunzip(&std::fs::read(f.root.join("slugs").join(format!("{sha}.tar.gz"))).unwrap())
}

fn paths(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| String::from_utf8_lossy(&i.path).into_owned())
        .collect()
}

#[test]
fn slug_matches_git_archive_for_modes_links_long_and_odd_names() {
    let f = Fixture::new();
    f.create_app("myapp");
    let work = f.work("myapp", "w");
    work.write("README.md", "# hi\n")
        .write("bin/run", "#!/bin/sh\necho run\n")
        .write("lib/z.rb", "z\n")
        .write("lib/a/deep.rb", "deep\n")
        .write("Lib-upper.txt", "sorted by bytes\n")
        .write("with space.txt", "space\n");
    std::fs::set_permissions(
        work.dir.join("bin/run"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let long_dir = "d".repeat(90);
    let long_name = format!("{long_dir}/{}.txt", "f".repeat(80));
    work.write(&long_name, "long\n");
    std::os::unix::fs::symlink("lib/z.rb", work.dir.join("link")).unwrap();
    std::os::unix::fs::symlink("t".repeat(150), work.dir.join("long-link")).unwrap();
    std::fs::write(
        work.dir.join(OsStr::from_bytes(b"caf\xe9.txt")),
        "latin-1 name\n",
    )
    .unwrap();
    let sha = work.commit("everything");
    work.push_ok(&["main"]);

    let slug = items(&current_slug(&f, "myapp"));
    let archive = items(&git_archive(&work.dir, &sha));
    assert_eq!(paths(&slug), paths(&archive));
    assert_eq!(slug, archive);
    assert!(slug.iter().any(|i| i.path == b"app/caf\xe9.txt"));
    assert!(
        slug.iter()
            .any(|i| i.path == format!("app/{long_name}").as_bytes())
    );
    let run = slug.iter().find(|i| i.path == b"app/bin/run").unwrap();
    assert_eq!(run.mode, 0o755);
    let link = slug.iter().find(|i| i.path == b"app/link").unwrap();
    assert_eq!(
        (link.kind, link.link.as_deref()),
        (b'2', Some(&b"lib/z.rb"[..]))
    );
}

#[test]
fn large_blobs_stream_from_loose_objects_packs_and_deltas() {
    let f = Fixture::new();
    let repo = f.create_app("myapp");
    let work = f.work("myapp", "w");
    // Few objects: receive-pack unpacks them as loose objects.
    work.write("big/one.bin", noise(7, 5 << 20));
    work.commit("loose");
    work.push_ok(&["main"]);
    let sha = work.head();
    assert_eq!(
        items(&current_slug(&f, "myapp")),
        items(&git_archive(&work.dir, &sha))
    );

    // Kept as a pack, with a near-copy that git stores as a delta.
    git(&repo, &["config", "receive.unpackLimit", "1"]);
    let mut similar = noise(7, 5 << 20);
    similar[100] ^= 0xff;
    work.write("big/two.bin", &similar)
        .write("big/three.bin", noise(8, 6 << 20));
    work.commit("packed");
    work.push_ok(&["main"]);
    let sha = work.head();
    assert_eq!(
        items(&current_slug(&f, "myapp")),
        items(&git_archive(&work.dir, &sha))
    );
}

#[test]
fn the_same_tree_always_compiles_to_the_same_bytes() {
    let f = Fixture::new();
    f.create_app("myapp");
    let work = f.work("myapp", "w");
    work.write("a.txt", "a\n")
        .write("b/c.txt", noise(3, 100_000));
    let sha = work.commit("x");
    work.push_ok(&["main"]);
    let record = &f.records("myapp")[0];
    let pushed = f.root.join("slugs").join(format!(
        "{}.tar.gz",
        record["slug"]["sha256"].as_str().unwrap()
    ));
    let mut outputs = Vec::new();
    for name in ["one.tar.gz", "two.tar.gz"] {
        let out = f.tmp.path().join(name);
        let stdout = ok(run(command(SLIPWAY).args([
            "slugs:compile",
            &sha,
            "--git-dir",
            work.dir.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])));
        assert_eq!(
            stdout,
            format!(
                "{} {} {}\n",
                record["slug"]["sha256"].as_str().unwrap(),
                record["slug"]["size"],
                out.display()
            )
        );
        outputs.push(std::fs::read(out).unwrap());
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], std::fs::read(pushed).unwrap());
}

#[test]
fn slugs_compile_names_a_bad_revision() {
    let f = Fixture::new();
    f.create_app("myapp");
    let work = f.work("myapp", "w");
    work.commit("x");
    let out = run(command(SLIPWAY).args([
        "slugs:compile",
        "nope",
        "--git-dir",
        work.dir.to_str().unwrap(),
        "-o",
        "/tmp/never.tar.gz",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error: 'nope' does not name a commit in "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_empty_tree_makes_a_slug_with_only_the_app_directory() {
    let f = Fixture::new();
    let lines = f.pushed("myapp", &[]).lines;
    assert_eq!(lines.last().unwrap(), "-----> Launching... done, v1");
    assert_eq!(paths(&items(&current_slug(&f, "myapp"))), ["app/"]);
}

#[test]
fn submodules_are_skipped_with_a_warning() {
    let f = Fixture::new();
    f.create_app("myapp");
    let work = f.work("myapp", "w");
    work.write("a.txt", "a\n");
    git(&work.dir, &["add", "a.txt"]);
    let gitlink = "0123456789abcdef0123456789abcdef01234567";
    git(
        &work.dir,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{gitlink},vendor/lib"),
        ],
    );
    // Commit the index as is: `git add -A` would drop the gitlink, having no checkout for it.
    git(
        &work.dir,
        &[
            "-c",
            "user.name=A",
            "-c",
            "user.email=a@example.com",
            "commit",
            "-q",
            "-m",
            "with a submodule",
        ],
    );
    let lines = work.push_ok(&["main"]);
    assert!(
        lines.contains(
            &" !     Warning: submodule vendor/lib (0123456) skipped: slugs hold only the repository's own files"
                .to_owned()
        ),
        "{lines:?}"
    );
    assert_eq!(lines.last().unwrap(), "-----> Launching... done, v1");
    assert_eq!(
        paths(&items(&current_slug(&f, "myapp"))),
        ["app/", "app/a.txt", "app/vendor/"]
    );
}

#[test]
fn slugignore_excludes_exactly_what_git_would_ignore() {
    let patterns = "\
# comments and blank lines are ignored

*.log
!important.log
/build/
doc/*.md
**/cache
deep/**/c.txt
*.psd
\\#hash.txt
\\!bang.txt
foo/**
tmp[0-9]
[a-c]?.bin
space\\ name.txt
trailing.txt   
nested/*/x
";
    let corpus = [
        "a.log",
        "important.log",
        "src/b.log",
        "src/important.log",
        "build/out.o",
        "keep/build/y.o",
        "doc/readme.md",
        "doc/sub/readme.md",
        "src/doc/readme.md",
        "vendor/cache/z",
        "cache/top",
        "lib/vendor/cache",
        "deep/c.txt",
        "deep/a/b/c.txt",
        "deep/a/b/d.txt",
        "x.psd",
        "y.PSD",
        "#hash.txt",
        "!bang.txt",
        "foo/bar/baz.tmp",
        "foo.txt",
        "tmp1",
        "tmp12",
        "ab.bin",
        "dd.bin",
        "space name.txt",
        "trailing.txt",
        "nested/a/x",
        "nested/a/b/x",
        "plain.txt",
    ];
    // What git itself ignores: the same patterns as .gitignore in a scratch repository.
    let scratch = tempfile::tempdir().unwrap();
    git(scratch.path(), &["init", "-q"]);
    std::fs::write(scratch.path().join(".gitignore"), patterns).unwrap();
    for path in corpus {
        let full = scratch.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, path).unwrap();
    }
    git(scratch.path(), &["add", "-A"]);
    let mut kept_by_git: Vec<String> = git(scratch.path(), &["ls-files"])
        .lines()
        .filter(|l| *l != ".gitignore")
        .map(|l| format!("app/{l}"))
        .collect();
    kept_by_git.sort();

    let f = Fixture::new();
    f.create_app("myapp");
    let work = f.work("myapp", "w");
    work.write(".slugignore", patterns);
    for path in corpus {
        work.write(path, path);
    }
    git(&work.dir, &["add", "-f", "-A"]);
    work.commit("corpus");
    work.push_ok(&["main"]);
    let mut kept_by_slug: Vec<String> = items(&current_slug(&f, "myapp"))
        .into_iter()
        .filter(|i| i.kind != b'5' && i.path != b"app/.slugignore")
        .map(|i| String::from_utf8_lossy(&i.path).into_owned())
        .collect();
    kept_by_slug.sort();
    assert_eq!(kept_by_slug, kept_by_git);
    assert!(
        kept_by_slug.len() < corpus.len() / 2,
        "the corpus should exercise exclusions: {kept_by_slug:?}"
    );
}

#[test]
fn slug_bytes_do_not_depend_on_how_git_stores_the_blobs() {
    let f = Fixture::new();
    f.create_app("myapp");
    let work = f.work("myapp", "w");
    // Compressible at first, then noise: a sample cut short would judge it differently.
    let mut mixed = b"a".repeat(1100);
    mixed.extend(noise(4, 5 << 20));
    work.write("mixed.bin", &mixed)
        .write("text.txt", "hello\n".repeat(200_000));
    let sha = work.commit("mixed");
    let compile = |name: &str| {
        let out = f.tmp.path().join(name);
        ok(run(command(SLIPWAY).args([
            "slugs:compile",
            &sha,
            "--git-dir",
            work.dir.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])));
        std::fs::read(out).unwrap()
    };
    let loose = compile("loose.tar.gz");
    git(&work.dir, &["gc", "-q", "--aggressive"]);
    let packed = compile("packed.tar.gz");
    assert!(
        loose == packed,
        "loose and packed blobs give different slugs"
    );
    // A near-copy makes git store one of them as a delta.
    let mut similar = mixed.clone();
    similar[3_000_000] ^= 1;
    work.write("similar.bin", &similar);
    let sha2 = work.commit("similar");
    git(&work.dir, &["gc", "-q", "--aggressive"]);
    let out = f.tmp.path().join("delta.tar.gz");
    ok(run(command(SLIPWAY).args([
        "slugs:compile",
        &sha2,
        "--git-dir",
        work.dir.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])));
    let delta = items(&gunzip(&std::fs::read(out).unwrap()));
    assert_eq!(delta, items(&git_archive(&work.dir, &sha2)));
}
