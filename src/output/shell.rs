//! Shell completion scripts, adjusted for command names with `:` in them, and the manual page's COMMANDS section.

/// A bash completion script that completes `config:set` whole, whatever `COMP_WORDBREAKS` says.
///
/// bash splits words at `:` by default, so `config:s<TAB>` would complete
/// `s` alone. The script is wrapped so that, while slipway's completion runs,
/// the current word is rebuilt across `:` and each reply trimmed back to what
/// follows the last `:` (what bash-completion's `__ltrim_colon_completions`
/// does), without changing `COMP_WORDBREAKS` for other commands.
pub fn bash_colon_safe(script: &str) -> String {
    let mut text = script.to_owned();
    text.push_str(
        r#"
# slipway: complete `config:set` whole although bash breaks words at `:`.
_slipway_colon_safe() {
    local line="${COMP_LINE:0:COMP_POINT}"
    local IFS=$' \t\n'
    local -a words
    read -r -a words <<< "$line"
    [[ "$line" == *[[:space:]] ]] && words+=("")
    local cur="${words[${#words[@]}-1]}"
    COMP_WORDS=("${words[@]}")
    COMP_CWORD=$(( ${#words[@]} - 1 ))
    _slipway slipway "$cur" "${words[${#words[@]}-2]}"
    if [[ "$cur" == *:* && "$COMP_WORDBREAKS" == *:* ]]; then
        local prefix="${cur%"${cur##*:}"}"
        local i
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[$i]="${COMPREPLY[$i]#"$prefix"}"
        done
    fi
}
complete -F _slipway_colon_safe -o nosort -o bashdefault -o default slipway
"#,
    );
    text
}

/// One command of the manual page: its name, one-line help, and the roff clap_mangen renders for its synopsis and options.
pub struct ManCommand {
    pub name: String,
    pub about: String,
    pub synopsis: String,
    pub options: String,
}

/// The COMMANDS section: per command a subsection with its synopsis, help and options (their `.SH` headings dropped).
pub fn man_commands(commands: &[ManCommand]) -> String {
    let mut text = String::from(".SH COMMANDS\n");
    for command in commands {
        text.push_str(&format!(".SS \"{}\"\n", roff_text(&command.name)));
        text.push_str(&without_headings(&command.synopsis));
        if !command.about.is_empty() {
            text.push_str(&format!(".PP\n{}\n", roff_text(&command.about)));
        }
        text.push_str(&without_headings(&command.options));
    }
    text
}

/// Roff `text` with its `.SH` lines left out.
fn without_headings(text: &str) -> String {
    text.lines()
        .filter(|line| !line.starts_with(".SH"))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Plain text as roff: backslashes doubled, and a leading `.` or `'` kept from being read as a request.
fn roff_text(text: &str) -> String {
    let text = text.replace('\\', "\\e");
    match text.starts_with(['.', '\'']) {
        true => format!("\\&{text}"),
        false => text,
    }
}
