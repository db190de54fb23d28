//! `.slugignore`: gitignore syntax, matched the way git matches a top-level `.gitignore`.
//!
//! The glob engine is a port of git's `wildmatch.c`; the rule handling
//! (negation, directory-only rules, anchoring, last match wins) follows
//! git's `dir.c`. Tests cross-check it against `git check-ignore`.

/// The parsed rules of one `.slugignore`.
#[derive(Debug, Default)]
pub struct SlugIgnore {
    rules: Vec<Rule>,
}

#[derive(Debug)]
struct Rule {
    pattern: Vec<u8>,
    negated: bool,
    dir_only: bool,
    /// No slash in the pattern: it is matched against the last path component.
    basename_only: bool,
}

impl SlugIgnore {
    /// Parses the contents of a `.slugignore` file.
    pub fn parse(text: &[u8]) -> SlugIgnore {
        let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        let rules = text.split(|&b| b == b'\n').filter_map(parse_rule).collect();
        SlugIgnore { rules }
    }

    /// Whether the rules exclude `path` (relative to the app root, `/`-separated).
    pub fn is_ignored(&self, path: &[u8], is_dir: bool) -> bool {
        let basename = match path.iter().rposition(|&b| b == b'/') {
            Some(i) => &path[i + 1..],
            None => path,
        };
        for rule in self.rules.iter().rev() {
            if rule.dir_only && !is_dir {
                continue;
            }
            let subject = if rule.basename_only { basename } else { path };
            if wildmatch(&rule.pattern, subject) {
                return !rule.negated;
            }
        }
        false
    }
}

fn parse_rule(line: &[u8]) -> Option<Rule> {
    // As git: a CRLF line ending is a line ending.
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = trim_trailing_spaces(line);
    if line.is_empty() || line[0] == b'#' {
        return None;
    }
    let (negated, mut pattern) = match line.strip_prefix(b"!") {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let mut dir_only = false;
    if let Some(rest) = pattern.strip_suffix(b"/") {
        dir_only = true;
        pattern = rest;
    }
    if pattern.is_empty() {
        return None;
    }
    let basename_only = !pattern.contains(&b'/');
    let pattern = pattern.strip_prefix(b"/").unwrap_or(pattern);
    Some(Rule {
        pattern: pattern.to_vec(),
        negated,
        dir_only,
        basename_only,
    })
}

/// Drops trailing spaces unless they are escaped with a backslash, as git does.
fn trim_trailing_spaces(line: &[u8]) -> &[u8] {
    let mut last_space = None;
    let mut i = 0;
    while i < line.len() {
        match line[i] {
            b' ' => {
                last_space.get_or_insert(i);
            }
            b'\\' => {
                i += 1;
                if i == line.len() {
                    return line;
                }
                last_space = None;
            }
            _ => last_space = None,
        }
        i += 1;
    }
    match last_space {
        Some(end) => &line[..end],
        None => line,
    }
}

/// Matches `text` against a glob with git's WM_PATHNAME semantics (`*` stops at `/`, `**` does not).
fn wildmatch(pattern: &[u8], text: &[u8]) -> bool {
    dowild(pattern, text) == Match::Yes
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Match {
    Yes,
    No,
    AbortAll,
    AbortToStarStar,
}

fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

fn is_glob_special(c: u8) -> bool {
    matches!(c, b'*' | b'?' | b'[' | b'\\')
}

fn dowild(pat: &[u8], text: &[u8]) -> Match {
    let mut p = 0;
    let mut t = 0;
    while p < pat.len() {
        let mut p_ch = pat[p];
        let mut t_ch = at(text, t);
        if t_ch == 0 && p_ch != b'*' {
            return Match::AbortAll;
        }
        match p_ch {
            b'?' => {
                if t_ch == b'/' {
                    return Match::No;
                }
            }
            b'*' => {
                p += 1;
                let match_slash;
                if at(pat, p) == b'*' {
                    let prev_is_boundary = p < 2 || pat[p - 2] == b'/';
                    while at(pat, p) == b'*' {
                        p += 1;
                    }
                    let next = at(pat, p);
                    if prev_is_boundary
                        && (next == 0 || next == b'/' || (next == b'\\' && at(pat, p + 1) == b'/'))
                    {
                        // "**/" may match nothing: try the rest right here first.
                        if next == b'/' && dowild(&pat[p + 1..], &text[t..]) == Match::Yes {
                            return Match::Yes;
                        }
                        match_slash = true;
                    } else {
                        match_slash = false;
                    }
                } else {
                    match_slash = false;
                }
                if p >= pat.len() {
                    // A trailing "**" matches everything; a trailing "*" only within one component.
                    if !match_slash && text[t..].contains(&b'/') {
                        return Match::No;
                    }
                    return Match::Yes;
                } else if !match_slash && pat[p] == b'/' {
                    // A single "*" followed by "/" matches up to the next slash.
                    let Some(slash) = text[t..].iter().position(|&c| c == b'/') else {
                        return Match::No;
                    };
                    t += slash;
                    // The slash itself is matched by the loop's next step.
                    t += 1;
                    p += 1;
                    continue;
                }
                loop {
                    if t_ch == 0 {
                        break;
                    }
                    // Skip quickly to the next occurrence of a literal that follows the star.
                    if !is_glob_special(pat[p]) {
                        p_ch = pat[p];
                        loop {
                            t_ch = at(text, t);
                            if t_ch == 0 || (!match_slash && t_ch == b'/') || t_ch == p_ch {
                                break;
                            }
                            t += 1;
                        }
                        if t_ch != p_ch {
                            return if match_slash {
                                Match::AbortAll
                            } else {
                                Match::AbortToStarStar
                            };
                        }
                    }
                    let matched = dowild(&pat[p..], &text[t..]);
                    if matched != Match::No {
                        if !match_slash || matched != Match::AbortToStarStar {
                            return matched;
                        }
                    } else if !match_slash && t_ch == b'/' {
                        return Match::AbortToStarStar;
                    }
                    t += 1;
                    t_ch = at(text, t);
                }
                return Match::AbortAll;
            }
            b'[' => match match_class(pat, &mut p, t_ch) {
                Some(true) => {}
                Some(false) => return Match::No,
                None => return Match::AbortAll,
            },
            b'\\' => {
                p += 1;
                p_ch = at(pat, p);
                if t_ch != p_ch {
                    return Match::No;
                }
            }
            _ => {
                if t_ch != p_ch {
                    return Match::No;
                }
            }
        }
        p += 1;
        t += 1;
    }
    if t < text.len() {
        Match::No
    } else {
        Match::Yes
    }
}

/// Matches one character against the bracket expression at `pat[*p]` (`[`); leaves `*p` on its `]`.
///
/// `None` means the expression is malformed, which aborts the whole match as in git.
fn match_class(pat: &[u8], p: &mut usize, t_ch: u8) -> Option<bool> {
    *p += 1;
    let mut p_ch = at(pat, *p);
    let negated = p_ch == b'!' || p_ch == b'^';
    if negated {
        *p += 1;
        p_ch = at(pat, *p);
    }
    let mut prev_ch = 0u8;
    let mut matched = false;
    loop {
        if p_ch == 0 {
            return None;
        }
        if p_ch == b'\\' {
            *p += 1;
            p_ch = at(pat, *p);
            if p_ch == 0 {
                return None;
            }
            if t_ch == p_ch {
                matched = true;
            }
        } else if p_ch == b'-' && prev_ch != 0 && at(pat, *p + 1) != 0 && at(pat, *p + 1) != b']' {
            *p += 1;
            p_ch = at(pat, *p);
            if p_ch == b'\\' {
                *p += 1;
                p_ch = at(pat, *p);
                if p_ch == 0 {
                    return None;
                }
            }
            if t_ch <= p_ch && t_ch >= prev_ch {
                matched = true;
            }
            p_ch = 0;
        } else if p_ch == b'[' && at(pat, *p + 1) == b':' {
            let start = *p + 2;
            let mut q = start;
            while at(pat, q) != 0 && at(pat, q) != b']' {
                q += 1;
            }
            if at(pat, q) == 0 {
                return None;
            }
            if q == start || pat[q - 1] != b':' {
                // No ":]": the '[' is an ordinary member of the set.
                if t_ch == b'[' {
                    matched = true;
                }
            } else {
                *p = q;
                if class_matches(&pat[start..q - 1], t_ch)? {
                    matched = true;
                }
                p_ch = 0;
            }
        } else if t_ch == p_ch {
            matched = true;
        }
        prev_ch = p_ch;
        *p += 1;
        p_ch = at(pat, *p);
        if p_ch == b']' {
            break;
        }
    }
    Some(matched != negated && t_ch != b'/')
}

fn class_matches(name: &[u8], c: u8) -> Option<bool> {
    Some(match name {
        b"alnum" => c.is_ascii_alphanumeric(),
        b"alpha" => c.is_ascii_alphabetic(),
        b"blank" => c == b' ' || c == b'\t',
        b"cntrl" => c.is_ascii_control(),
        b"digit" => c.is_ascii_digit(),
        b"graph" => c.is_ascii_graphic(),
        b"lower" => c.is_ascii_lowercase(),
        b"print" => c.is_ascii_graphic() || c == b' ',
        b"punct" => c.is_ascii_punctuation(),
        b"space" => c.is_ascii_whitespace() || c == 0x0b,
        b"upper" => c.is_ascii_uppercase(),
        b"xdigit" => c.is_ascii_hexdigit(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildmatch_follows_git_pathname_rules() {
        let yes = [
            ("foo", "foo"),
            ("*.log", "a.log"),
            ("a/*/c", "a/b/c"),
            ("a/**/c", "a/c"),
            ("a/**/c", "a/x/y/c"),
            ("**/c", "x/y/c"),
            ("**", "x/y"),
            ("a/**", "a/b/c"),
            ("[a-c]x", "bx"),
            ("[!a-c]x", "dx"),
            ("[[:digit:]]", "7"),
            ("\\*", "*"),
            ("f?o", "fxo"),
            ("*[]]", "x]"),
        ];
        for (p, t) in yes {
            assert!(
                wildmatch(p.as_bytes(), t.as_bytes()),
                "{p} should match {t}"
            );
        }
        let no = [
            ("*.log", "a/b.log"),
            ("a/*/c", "a/x/y/c"),
            ("f?o", "f/o"),
            ("[a-c]x", "dx"),
            ("a/**/c", "a/x/d"),
            ("foo", "foobar"),
            ("[[:bogus:]]", "a"),
        ];
        for (p, t) in no {
            assert!(
                !wildmatch(p.as_bytes(), t.as_bytes()),
                "{p} should not match {t}"
            );
        }
    }

    #[test]
    fn rules_negate_anchor_and_apply_to_directories() {
        let ignore = SlugIgnore::parse(b"# comment\n*.psd\n!keep.psd\n/docs\nlog/\nspace\\ \n");
        assert!(ignore.is_ignored(b"art/big.psd", false));
        assert!(!ignore.is_ignored(b"art/keep.psd", false));
        assert!(ignore.is_ignored(b"docs", true));
        assert!(!ignore.is_ignored(b"src/docs", true));
        assert!(ignore.is_ignored(b"src/log", true));
        assert!(!ignore.is_ignored(b"src/log", false));
        assert!(ignore.is_ignored(b"space ", false));
    }
}
