//! Source archives (`releases:create`): random bytes and mutated valid .tar.gz, .tar and .zip files
//! unpack inside their directory or are refused, and a refusal leaves nothing behind; a zip64 archive unpacks.

use std::fs;
use std::io::Write;
use std::path::Path;

use proptest::prelude::*;
use slipway::base::http::HttpSettings;
use slipway::base::size::Size;
use slipway::build::source::{Limits, Spec, fetch};
use slipway::model::event::Quiet;

use crate::{config, mutated, snapshot};

const LIMITS: Limits = Limits {
    max_size: Size(8 * 1024 * 1024),
    max_entries: 1000,
    timeout: std::time::Duration::from_secs(60),
};

fn tar_bytes() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |path: &str, kind: tar::EntryType, data: &[u8], link: Option<&str>| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        header.set_mtime(1_700_000_000);
        if let Some(link) = link {
            header.set_link_name(link).unwrap();
        }
        builder.append_data(&mut header, path, data).unwrap();
    };
    add("app/", tar::EntryType::Directory, b"", None);
    add(
        "app/Procfile",
        tar::EntryType::Regular,
        b"web: ./serve\n",
        None,
    );
    add("app/lib/", tar::EntryType::Directory, b"", None);
    add("app/lib/a.txt", tar::EntryType::Regular, &[b'a'; 700], None);
    add("app/link", tar::EntryType::Symlink, b"", Some("lib/a.txt"));
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A zip of stored entries, built by hand: local headers, central directory, end record.
fn zip_bytes() -> Vec<u8> {
    let entries: [(&str, &[u8], u32); 3] = [
        ("app/", b"", 0o40755),
        ("app/Procfile", b"web: ./serve\n", 0o100644),
        ("app/run.sh", b"#!/bin/sh\necho hi\n", 0o100755),
    ];
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, data, mode) in entries {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let offset = out.len() as u32;
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&[20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        central.extend_from_slice(&crc.sum().to_le_bytes());
        central.extend_from_slice(&(data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        central.extend_from_slice(&(mode << 16).to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let at = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 3, 0, 3, 0]);
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Every path under `dir` stays in it, symlinks included, and is a file, directory or symlink.
fn assert_contained(dir: &Path) {
    let real = fs::canonicalize(dir).unwrap();
    for (path, _) in snapshot(dir) {
        assert!(path.starts_with(dir));
        if let Ok(target) = fs::canonicalize(&path) {
            assert!(
                target.starts_with(&real),
                "{} -> {}",
                path.display(),
                target.display()
            );
        }
    }
}

/// Unpacks `bytes` (as `name`) in a fresh scratch directory: contained when it works, nothing left when it does not.
fn check(name: &str, bytes: &[u8]) {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join(name);
    fs::write(&archive, bytes).unwrap();
    let scratch = tmp.path().join("scratch");
    fs::create_dir(&scratch).unwrap();
    match fetch(
        &Spec::Path(archive.clone()),
        &scratch,
        LIMITS,
        &HttpSettings::default(),
        &mut Quiet,
    ) {
        Ok(fetched) => {
            assert!(fetched.dir.starts_with(&scratch));
            assert_contained(&fetched.dir);
        }
        Err(e) => {
            let text = e.to_string();
            assert!(
                !text.is_empty() && text.len() < 1000 && !text.contains('\n'),
                "{text:?}"
            );
        }
    }
    // The unpacked tree goes with the `Fetched`: a refused archive leaves nothing, an accepted one nothing once done.
    assert_eq!(snapshot(&scratch), Vec::new());
    assert_eq!(
        fs::read(&archive).unwrap(),
        bytes,
        "the archive was changed"
    );
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn random_bytes_are_refused_whatever_their_name(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        name in proptest::sample::select(vec!["a.tar.gz", "a.tgz", "a.tar", "a.zip"]),
    ) {
        check(name, &bytes);
    }

    #[test]
    fn mutated_tar_gz_unpacks_inside_or_is_refused(bytes in mutated(gzip(&tar_bytes()))) {
        check("app.tar.gz", &bytes);
    }

    #[test]
    fn mutated_tar_unpacks_inside_or_is_refused(bytes in mutated(tar_bytes())) {
        check("app.tar", &bytes);
    }

    #[test]
    fn mutated_zip_unpacks_inside_or_is_refused(bytes in mutated(zip_bytes())) {
        check("app.zip", &bytes);
    }
}

#[test]
fn the_valid_archives_unpack() {
    for (name, bytes) in [
        ("app.tar.gz", gzip(&tar_bytes())),
        ("app.tar", tar_bytes()),
        ("app.zip", zip_bytes()),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join(name);
        fs::write(&archive, bytes).unwrap();
        let fetched = fetch(
            &Spec::Path(archive),
            tmp.path(),
            LIMITS,
            &HttpSettings::default(),
            &mut Quiet,
        )
        .unwrap();
        assert_eq!(
            fs::read_to_string(fetched.dir.join("Procfile")).unwrap(),
            "web: ./serve\n",
            "{name}"
        );
    }
}

/// Python's zipfile writes zip64 records and extra fields for everything once its limits are lowered
/// (CPython's own tests do the same): a zip64 end record and locator, and 64-bit sizes and offsets.
const MAKE_ZIP64: &str = r##"
import sys, zipfile
zipfile.ZIP64_LIMIT = 0
zipfile.ZIP_FILECOUNT_LIMIT = 0
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("app/Procfile", "web: ./serve\n")
    with z.open("app/big.txt", "w", force_zip64=True) as f:
        f.write(b"zip64 " * 20000)
    info = zipfile.ZipInfo("app/bin/run", date_time=(2026, 3, 1, 10, 0, 0))
    info.external_attr = 0o100755 << 16
    z.writestr(info, "#!/bin/sh\necho hi\n", compress_type=zipfile.ZIP_STORED)
"##;

#[test]
fn a_zip64_archive_unpacks() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("app.zip");
    let made = std::process::Command::new("python3")
        .args(["-c", MAKE_ZIP64])
        .arg(&archive)
        .output();
    match made {
        Ok(out) if out.status.success() => {}
        _ if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: python3 cannot make a zip64 archive here");
            return;
        }
        other => panic!("python3 could not make the zip64 archive: {other:?}"),
    }
    let bytes = fs::read(&archive).unwrap();
    // It is zip64 indeed: the zip64 end record and its locator are there.
    let has = |sig: u32| bytes.windows(4).any(|w| w == sig.to_le_bytes());
    assert!(has(0x0606_4b50) && has(0x0706_4b50), "no zip64 end record");
    let fetched = fetch(
        &Spec::Path(archive),
        tmp.path(),
        LIMITS,
        &HttpSettings::default(),
        &mut Quiet,
    )
    .unwrap();
    assert_eq!(
        fs::read_to_string(fetched.dir.join("Procfile")).unwrap(),
        "web: ./serve\n"
    );
    assert_eq!(
        fs::read(fetched.dir.join("big.txt")).unwrap(),
        b"zip64 ".repeat(20000)
    );
    use std::os::unix::fs::PermissionsExt;
    let run = fetched.dir.join("bin/run");
    assert_eq!(fs::read_to_string(&run).unwrap(), "#!/bin/sh\necho hi\n");
    assert_eq!(
        fs::metadata(&run).unwrap().permissions().mode() & 0o777,
        0o755
    );
}
