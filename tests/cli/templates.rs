//! The shipped templates: the systemd unit is hardened and systemd reads it without a warning.

use crate::common::*;

const UNIT: &str = include_str!("../../templates/slipway.service");

fn setting<'a>(key: &str) -> Vec<&'a str> {
    UNIT.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn the_systemd_unit_runs_hardened_as_a_dedicated_user_and_verifies() {
    for (key, value) in [
        ("User", "git"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("PrivateTmp", "yes"),
        ("ProtectHome", "read-only"),
        ("RestrictSUIDSGID", "yes"),
    ] {
        assert_eq!(setting(key), [value], "{key}");
    }
    // The root it boots is the one path it may write.
    let exec = setting("ExecStart");
    let root = exec[0]
        .split(' ')
        .skip_while(|w| *w != "--root")
        .nth(1)
        .unwrap();
    assert_eq!(setting("ReadWritePaths"), [root]);

    if !std::path::Path::new("/usr/bin/systemd-analyze").exists() {
        eprintln!("skipping systemd-analyze verify: systemd-analyze is missing");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let unit = tmp.path().join("slipway.service");
    let exe = std::fs::canonicalize(SLIPWAY).unwrap();
    std::fs::write(
        &unit,
        UNIT.replace("/usr/local/bin/slipway", exe.to_str().unwrap()),
    )
    .unwrap();
    let out = run(command("systemd-analyze").arg("verify").arg(&unit));
    let err = text(&out.stderr);
    assert!(
        out.status.success() && !err.contains("slipway.service"),
        "{err}"
    );
}
