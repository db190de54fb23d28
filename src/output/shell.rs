//! Shell completion scripts, adjusted for command names with `:` in them.

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
