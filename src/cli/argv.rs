//! Heroku's habit of `-a APP` anywhere on the line: an app option given before the subcommand is moved after it.

use std::ffi::OsString;

/// Options before the subcommand that take a value as the next word.
const WITH_VALUE: &[&str] = &["--root", "-a", "--app", "-r", "--remote"];

/// `slipway -a shop releases` as `slipway releases -a shop`; other lines are left as they are.
pub fn app_after_subcommand(args: Vec<OsString>) -> Vec<OsString> {
    let mut head = Vec::new();
    let mut moved = Vec::new();
    let mut words = args.into_iter();
    if let Some(program) = words.next() {
        head.push(program);
    }
    while let Some(word) = words.next() {
        let text = word.to_string_lossy().into_owned();
        let is_app = text == "-a" || text == "--app";
        if is_app || text.starts_with("--app=") || (text.starts_with("-a") && text.len() > 2) {
            moved.push(word);
            if is_app && let Some(value) = words.next() {
                moved.push(value);
            }
            continue;
        }
        if text.starts_with('-') {
            let takes_value = WITH_VALUE.contains(&text.as_str());
            head.push(word);
            if takes_value && let Some(value) = words.next() {
                head.push(value);
            }
            continue;
        }
        // The subcommand: what follows is its own.
        head.push(word);
        let rest: Vec<OsString> = words.collect();
        let end = rest.iter().position(|w| w == "--").unwrap_or(rest.len());
        head.extend(rest[..end].iter().cloned());
        head.extend(moved);
        head.extend(rest[end..].iter().cloned());
        return head;
    }
    head.extend(moved);
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Vec<String> {
        let args = text.split(' ').map(OsString::from).collect();
        app_after_subcommand(args)
            .into_iter()
            .map(|w| w.into_string().unwrap())
            .collect()
    }

    #[test]
    fn the_app_option_moves_after_the_subcommand() {
        assert_eq!(
            line("slipway -a shop releases"),
            ["slipway", "releases", "-a", "shop"]
        );
        assert_eq!(
            line("slipway --root /r --app=shop config:set A=1"),
            ["slipway", "--root", "/r", "config:set", "A=1", "--app=shop"]
        );
        assert_eq!(
            line("slipway -ashop run -- ls -a"),
            ["slipway", "run", "-ashop", "--", "ls", "-a"]
        );
        assert_eq!(
            line("slipway releases -a shop"),
            ["slipway", "releases", "-a", "shop"]
        );
        assert_eq!(
            line("slipway --root -a apps"),
            ["slipway", "--root", "-a", "apps"]
        );
    }
}
