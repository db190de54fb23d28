//! The hook scripts slipway writes into a repository: the shim and the dispatcher, and how to read one back.

use std::path::{Path, PathBuf};

use super::refs::HookKind;
use crate::base::text::shell_quote;

const SHIM_TEMPLATE: &str = include_str!("../../templates/hook-shim");
const DISPATCHER_TEMPLATE: &str = include_str!("../../templates/hook-dispatcher");
/// Every file slipway writes as a hook starts with this; nothing else is ever treated as slipway's.
const MARKER: &[u8] = b"#!/bin/sh\n# slipway hook ";

/// What a slipway hook runs: `EXE --root ROOT hook HOOK --app APP`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The slipway binary, by absolute path.
    pub exe: PathBuf,
    /// The root it deploys into.
    pub root: PathBuf,
    /// The hook slipway runs as.
    pub hook: HookKind,
    /// The app it deploys.
    pub app: String,
}

impl Invocation {
    /// The shim's text: runs slipway by absolute path, every value shell-quoted.
    pub fn shim(&self) -> String {
        self.render(SHIM_TEMPLATE)
    }

    /// The dispatcher's text: runs `original` (the admin's hook) first, then slipway, with the same stdin.
    pub fn dispatcher(&self, original: &Path) -> String {
        self.render(DISPATCHER_TEMPLATE)
            .replace("{{ORIGINAL}}", &shell_quote(&original.to_string_lossy()))
    }

    fn render(&self, template: &str) -> String {
        template
            .replace("{{SLIPWAY}}", &shell_quote(&self.exe.to_string_lossy()))
            .replace("{{ROOT}}", &shell_quote(&self.root.to_string_lossy()))
            .replace("{{HOOK}}", self.hook.as_str())
            .replace("{{APP}}", &shell_quote(&self.app))
    }

    /// Finds the slipway command line in a shim or dispatcher that slipway wrote.
    pub fn parse(script: &[u8]) -> Option<Invocation> {
        if !is_slipway_hook(script) {
            return None;
        }
        let text = std::str::from_utf8(script).ok()?;
        text.lines().rev().find_map(|line| {
            let words = shell_words(line)?;
            let i = words.iter().position(|w| w == "--root")?.checked_sub(1)?;
            let [exe, _, root, hook_word, hook, app_flag, app] = words.get(i..i + 7)? else {
                return None;
            };
            let hook = match hook.as_str() {
                "post-receive" => HookKind::PostReceive,
                "pre-receive" => HookKind::PreReceive,
                _ => return None,
            };
            (hook_word == "hook" && app_flag == "--app").then(|| Invocation {
                exe: exe.into(),
                root: root.into(),
                hook,
                app: app.clone(),
            })
        })
    }
}

/// Whether a hook file's content is a shim or dispatcher written by slipway.
pub fn is_slipway_hook(script: &[u8]) -> bool {
    script.starts_with(MARKER)
}

/// Splits one line of sh into words: bare, `'single'` and `"double"` quoted; `None` if a quote is unclosed.
fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => words.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => w.push(c),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => w.push(chars.next()?),
                        c => w.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).push(chars.next()?),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shim_and_dispatcher_invocations_parse_back() {
        let inv = Invocation {
            exe: "/opt/it's here/slipway".into(),
            root: "/srv/my root".into(),
            hook: HookKind::PreReceive,
            app: "shop".into(),
        };
        assert_eq!(Invocation::parse(inv.shim().as_bytes()), Some(inv.clone()));
        let dispatcher = inv.dispatcher(Path::new("/srv/a | b/pre-slipway/pre-receive"));
        assert_eq!(Invocation::parse(dispatcher.as_bytes()), Some(inv));
        assert_eq!(
            Invocation::parse(b"#!/bin/sh\nexec slipway --root r hook pre-receive --app a\n"),
            None
        );
        assert!(!is_slipway_hook(b"#!/bin/bash\n# slipway hook shim\n"));
    }
}
