//! The shape of `src/` that DESIGN.md ("Source layout: layers") agrees on, checked on every `cargo test`.
//!
//! Reads the sources as text, with comments and string literals blanked out:
//! no compiler, no new dependency. Unit tests (`#[cfg(test)]` items) may import
//! anything.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

/// The top-level modules, lowest first: each imports only from lower ranks.
///
/// A strict order is stronger than "no cycles": any cycle needs an import
/// that goes up or sideways, and that import is the one reported.
const LAYERS: &[(&str, u8)] = &[
    ("base", 0),
    ("model", 1),
    ("store", 2),
    ("build", 3),
    ("run", 3),
    ("ops", 4),
    ("output", 5),
    ("cli", 6),
];

/// The most `unsafe` blocks `src/` may hold.
const MAX_UNSAFE: usize = 3;

/// The most lines a file in `src/` may have.
const MAX_LINES: usize = 600;

/// Files over [`MAX_LINES`] that are known and not yet split, with the most lines each may have until then.
///
/// An entry that is no longer needed fails the check too, so the list only shrinks.
const OVERSIZE: &[(&str, usize, &str)] = &[];

#[test]
fn top_level_modules_import_only_the_layers_below_them() {
    let mut problems = Vec::new();
    for file in sources() {
        let Some(module) = file.module.first() else {
            continue; // lib.rs and main.rs: the crate root
        };
        let Some(rank) = rank_of(module) else {
            problems.push(format!(
                "{}: the top-level module '{module}' has no layer: add it to LAYERS in tests/layers.rs and to the layer list of DESIGN.md",
                file.path
            ));
            continue;
        };
        let code = without_test_items(&file.code);
        for (line, target) in imports(&code, &file.module) {
            if &target == module {
                continue;
            }
            let text = file.text.lines().nth(line - 1).unwrap_or("").trim();
            let at = format!("{}:{line}: {module} imports {target} (`{text}`)", file.path);
            let Some(target_rank) = rank_of(&target) else {
                problems.push(format!(
                    "{at}, which has no layer: add it to LAYERS in tests/layers.rs and to the layer list of DESIGN.md"
                ));
                continue;
            };
            if target_rank < rank {
                continue;
            }
            let below: Vec<&str> = LAYERS
                .iter()
                .filter(|(_, r)| *r < rank)
                .map(|(name, _)| *name)
                .collect();
            let fix = if target == "cli" || target == "output" {
                "nothing but cli imports cli or output: return data, or report an Event through the Observer, and let cli render it".to_owned()
            } else if target_rank == rank {
                format!(
                    "{module} and {target} are side by side and must not import each other: move what both need down a layer"
                )
            } else {
                format!(
                    "{module} may import only {}; move what it needs from {target} down, or the calling code up",
                    if below.is_empty() {
                        "std and other crates".to_owned()
                    } else {
                        below.join(", ")
                    }
                )
            };
            problems.push(format!("{at}: {fix}"));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn unsafe_blocks_are_few_and_each_says_why_it_is_sound() {
    let mut blocks = Vec::new();
    let mut problems = Vec::new();
    for file in sources() {
        let raw: Vec<&str> = file.text.lines().collect();
        for line in unsafe_blocks(&file.code) {
            blocks.push(format!("{}:{line}", file.path));
            // The comment block right above, through any attributes (`#[allow(unsafe_code)]`).
            let justified = raw[..line - 1]
                .iter()
                .rev()
                .map(|l| l.trim())
                .take_while(|l| l.starts_with("//") || l.starts_with("#["))
                .any(|l| l.starts_with("// SAFETY:"));
            if !justified {
                problems.push(format!(
                    "{}:{line}: unsafe block without a `// SAFETY:` comment just above it: say why it is sound and why no safe wrapper (std, rustix) will do",
                    file.path
                ));
            }
        }
    }
    if blocks.len() > MAX_UNSAFE {
        problems.push(format!(
            "src/ has {} unsafe blocks, at most {MAX_UNSAFE} are allowed: replace one with a safe wrapper (std, rustix): {}",
            blocks.len(),
            blocks.join(", ")
        ));
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn source_files_stay_under_the_line_limit() {
    let mut problems = Vec::new();
    let files = sources();
    for file in &files {
        let lines = file.text.lines().count();
        let known = OVERSIZE.iter().find(|(path, _, _)| *path == file.path);
        match known {
            Some((_, most, why)) if lines > *most => problems.push(format!(
                "{} is {lines} lines: over the {MAX_LINES}-line limit it may keep at most {most} ({why}): split it into modules",
                file.path
            )),
            Some(_) => {}
            None if lines > MAX_LINES => problems.push(format!(
                "{} is {lines} lines, over the {MAX_LINES}-line limit: split it into modules",
                file.path
            )),
            None => {}
        }
    }
    for (path, _, _) in OVERSIZE {
        let lines = files
            .iter()
            .find(|f| f.path == *path)
            .map(|f| f.text.lines().count());
        if lines.is_none_or(|n| n <= MAX_LINES) {
            problems.push(format!(
                "{path} is {} now: remove it from OVERSIZE in tests/layers.rs",
                lines.map_or("gone".to_owned(), |n| format!("{n} lines"))
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// One file of `src/`.
struct Source {
    /// Such as `src/ops/deploy.rs`.
    path: String,
    /// Its module path, such as `["ops", "deploy"]`; empty for the crate root.
    module: Vec<String>,
    text: String,
    /// `text` with comments and the contents of string and char literals blanked (lines kept).
    code: String,
}

/// Every `.rs` file under `src/`, sorted.
fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(root).unwrap();
            let text = fs::read_to_string(&path).unwrap();
            Source {
                path: relative.display().to_string(),
                module: module_path(relative),
                code: blank_comments_and_literals(&text),
                text,
            }
        })
        .collect()
}

/// `src/ops/deploy.rs` is `ops::deploy`, `src/ops/mod.rs` is `ops`, `src/lib.rs` the crate root.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .skip(1)
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn rank_of(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

/// The top-level modules `code` names through `crate::` or `super::` paths, with their 1-based lines.
///
/// `use crate::{a, b::c}` names `a` and `b`; `super::` is resolved from the file's `module`.
fn imports(code: &str, module: &[String]) -> Vec<(usize, String)> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !is_ident(chars[i - 1]) && chars[i - 1] != '$';
        if !starts_word || !is_ident(chars[i]) {
            i += 1;
            continue;
        }
        // A path: idents separated by `::`.
        let mut segments = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < chars.len() && is_ident(chars[j]) {
                j += 1;
            }
            segments.push(chars[start..j].iter().collect::<String>());
            let next = skip_space(&chars, j);
            if chars.get(next..next + 2) != Some(&[':', ':']) {
                break;
            }
            j = skip_space(&chars, next + 2);
            if chars.get(j) == Some(&'{') {
                segments.push("{".to_owned());
                break;
            }
            if !chars.get(j).copied().is_some_and(is_ident) {
                break;
            }
        }
        // How many leading segments lead to the crate root, if the path goes there.
        let to_root = match segments[0].as_str() {
            "crate" => Some(1),
            "super" => {
                let supers = segments.iter().take_while(|s| *s == "super").count();
                (supers >= module.len()).then_some(module.len())
            }
            _ => None,
        };
        let line_at = |at: usize| 1 + chars[..at].iter().filter(|&&c| c == '\n').count();
        if let Some(n) = to_root {
            match segments.get(n).map(String::as_str) {
                Some("{") => found.extend(
                    group_heads(&chars, j)
                        .into_iter()
                        .map(|(at, head)| (line_at(at), head)),
                ),
                Some(name) if name != "self" => found.push((line_at(i), name.to_owned())),
                _ => {}
            }
        }
        i = j.max(i + 1);
    }
    found
}

/// The first segment of each item in the `{...}` group opening at `open`, and where it is: `{a, b::c, d::{e}}` gives a, b, d.
fn group_heads(chars: &[char], open: usize) -> Vec<(usize, String)> {
    let mut items = vec![(open + 1, String::new())];
    let mut depth = 0;
    for (i, &c) in chars.iter().enumerate().skip(open + 1) {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push((i + 1, String::new()));
                continue;
            }
            _ => {}
        }
        items.last_mut().unwrap().1.push(c);
    }
    items
        .into_iter()
        .filter_map(|(start, item)| {
            let indent = item.chars().take_while(|c| c.is_whitespace()).count();
            let head: String = item
                .chars()
                .skip(indent)
                .take_while(|&c| is_ident(c))
                .collect();
            (!head.is_empty() && head != "self").then_some((start + indent, head))
        })
        .collect()
}

/// The 1-based lines of `unsafe {` blocks in `code`.
fn unsafe_blocks(code: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("unsafe") {
            let before = rest[..at].chars().next_back();
            let after = rest[at + "unsafe".len()..].trim_start();
            if !before.is_some_and(is_ident) && after.starts_with('{') {
                lines.push(n + 1);
            }
            rest = &rest[at + "unsafe".len()..];
        }
    }
    lines
}

/// `code` with every `#[cfg(test)]` item (a unit test module, a test-only function or import) blanked.
fn without_test_items(code: &str) -> String {
    const ATTR: &str = "#[cfg(test)]";
    let mut chars: Vec<char> = code.chars().collect();
    let mut from = 0;
    while let Some(at) = find(&chars, ATTR, from) {
        // The item ends at its first `;` outside brackets, or with the braces it opens.
        let mut end = at + ATTR.chars().count();
        let mut depth = 0i32;
        while end < chars.len() {
            match chars[end] {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                ';' if depth == 0 => break,
                '{' if depth == 0 => {
                    end = matching_brace(&chars, end);
                    break;
                }
                _ => {}
            }
            end += 1;
        }
        let end = end.min(chars.len());
        for c in &mut chars[at..end] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        from = end;
    }
    chars.into_iter().collect()
}

fn find(chars: &[char], needle: &str, from: usize) -> Option<usize> {
    let needle: Vec<char> = needle.chars().collect();
    (from..chars.len()).find(|&i| chars[i..].starts_with(&needle))
}

fn matching_brace(chars: &[char], open: usize) -> usize {
    let mut depth = 0;
    for (i, &c) in chars.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    chars.len()
}

/// Replaces comments and the insides of string and char literals with spaces, keeping every newline.
fn blank_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = chars.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for c in &mut out[from..to.min(chars.len())] {
            if *c != '\n' {
                *c = ' ';
            }
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            let end = (i..chars.len())
                .find(|&k| chars[k] == '\n')
                .unwrap_or(chars.len());
            blank(&mut out, i, end);
            i = end;
        } else if c == '/' && next == Some('*') {
            let (mut depth, mut k) = (1, i + 2);
            while k < chars.len() && depth > 0 {
                if chars[k] == '/' && chars.get(k + 1) == Some(&'*') {
                    depth += 1;
                    k += 1;
                } else if chars[k] == '*' && chars.get(k + 1) == Some(&'/') {
                    depth -= 1;
                    k += 1;
                }
                k += 1;
            }
            blank(&mut out, i, k);
            i = k;
        } else if c == 'r' && !prev_ident_except_b(&chars, i) && matches!(next, Some('"' | '#')) {
            // A raw string: r"...", r#"..."# or br"..." (not a raw identifier such as r#type).
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            let quote = i + 1 + hashes;
            if chars.get(quote) != Some(&'"') {
                i += 1;
                continue;
            }
            let close: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let end = find_slice(&chars, &close, quote + 1).unwrap_or(chars.len());
            blank(&mut out, quote + 1, end);
            i = end + close.len();
        } else if c == '"' {
            let mut k = i + 1;
            while k < chars.len() && chars[k] != '"' {
                k += if chars[k] == '\\' { 2 } else { 1 };
            }
            blank(&mut out, i + 1, k);
            i = k + 1;
        } else if c == '\'' && !prev_ident_except_b(&chars, i) {
            // A char or byte literal ('x', b'{', '\u{7f}'), or else a lifetime or label ('a).
            let end = if next == Some('\\') {
                (i + 3..chars.len()).find(|&k| chars[k] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    blank(&mut out, i + 1, end);
                    i = end + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    out.into_iter().collect()
}

/// Whether an identifier character other than a lone `b` prefix (`br"..."`, `b'x'`) comes right before `i`.
fn prev_ident_except_b(chars: &[char], i: usize) -> bool {
    match i.checked_sub(1).map(|p| chars[p]) {
        Some('b') => i >= 2 && is_ident(chars[i - 2]),
        Some(c) => is_ident(c),
        None => false,
    }
}

fn find_slice(chars: &[char], needle: &[char], from: usize) -> Option<usize> {
    (from..chars.len()).find(|&k| chars[k..].starts_with(needle))
}

fn skip_space(chars: &[char], mut i: usize) -> usize {
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    i
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}
