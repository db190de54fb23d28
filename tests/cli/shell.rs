//! Shell completions and the manual page, generated from the command line and loaded by the real bash.

use crate::common::*;

/// Completes the end of `line` with slipway's bash completion, as bash splits words (at `:` too).
fn complete(script: &str, line: &str, words: &[&str]) -> Vec<String> {
    let words: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "{script}\nCOMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=({}); COMP_CWORD={}; \
         _slipway_colon_safe; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        words.join(" "),
        words.len() - 1
    );
    let out = ok(run(command("bash").args(["-c", &program])));
    out.lines().map(str::to_owned).collect()
}

#[test]
fn bash_completes_command_names_with_colons_under_the_default_word_breaks() {
    if !std::path::Path::new("/bin/bash").exists()
        && !std::path::Path::new("/usr/bin/bash").exists()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must have bash"
        );
        eprintln!("skipped: no bash");
        return;
    }
    let f = Fixture::new();
    let script = ok(f.slipway(&["completions", "bash"]));
    // bash breaks `config:s` into `config`, `:`, `s` and replaces only `s`.
    assert_eq!(
        complete(
            &script,
            "slipway config:s",
            &["slipway", "config", ":", "s"]
        ),
        ["set"]
    );
    let releases = complete(
        &script,
        "slipway releases:i",
        &["slipway", "releases", ":", "i"],
    );
    assert_eq!(releases, ["info"]);
    let top = complete(&script, "slipway buildp", &["slipway", "buildp"]);
    assert!(top.contains(&"buildpacks:set".to_owned()), "{top:?}");
    assert!(top.contains(&"buildpacks".to_owned()), "{top:?}");
}

#[test]
fn zsh_and_fish_completions_and_the_manual_page_name_every_command() {
    let f = Fixture::new();
    for shell in ["zsh", "fish"] {
        let script = ok(f.slipway(&["completions", shell]));
        assert!(script.contains("config:set"), "{shell}");
        assert!(script.contains("buildpacks:add"), "{shell}");
    }
    let page = ok(f.slipway(&["manpage"]));
    assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{}", &page[..80]);
    assert!(
        page.contains(".TH slipway 1"),
        "a roff page titled slipway(1)"
    );
    assert!(page.contains("releases:info"));
    // One self-contained page: every command's options in it, no pointer to pages nothing installs.
    assert!(page.contains(".SH COMMANDS\n"), "{page}");
    assert!(page.contains(".SS \"releases:prune\"\n"), "{page}");
    assert!(
        page.contains("\\-\\-keep"),
        "releases:prune's option is there"
    );
    assert!(
        !page.contains("slipway\\-init(1)") && !page.contains("slipway-init(1)"),
        "{page}"
    );
    let out = f.slipway(&["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}
