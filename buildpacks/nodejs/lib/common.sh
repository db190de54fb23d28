# shellcheck shell=bash
# Shared helpers for a slipway buildpack's bin/compile (bash, sourced).
# The python and nodejs buildpacks carry identical copies of this file so that
# each buildpack directory stays self-contained.

# Output: step lines start with "-----> ", detail lines with exactly 7 spaces,
# error lines with " !     ". Everything goes to stdout, which slipway streams
# to the pushing client line by line.
step() { printf -- '-----> %s\n' "$*"; }
info() { printf '       %s\n' "$*"; }
warn() { printf -- '-----> Warning: %s\n' "$*"; }
error_lines() { local line; for line in "$@"; do printf ' !     %s\n' "$line"; done; }
# Print error lines and stop the build.
fail() { error_lines "$@"; exit 1; }

# Indent a tool's output as detail lines, without buffering it (GNU sed -u),
# so the client sees pip/npm progress as it happens.
if sed -u 's/^//' </dev/null >/dev/null 2>&1; then
  indent() { sed -u 's/^/       /'; }
else
  indent() { sed 's/^/       /'; }
fi

# Any command that fails without being handled ends the build (set -e); say
# where, so that a buildpack bug is not a silent exit 1.
on_unexpected_error() {
  local status=$1 line=$2
  error_lines "Build failed: unexpected error (exit status $status) in ${BASH_SOURCE[1]:-compile} line $line."
  exit "$status"
}

# env_var NAME: print config var NAME from ENV_DIR (empty when unset).
# Config vars are not in compile's environment; ENV_DIR holds one file each.
env_var() {
  local file="${ENV_DIR:-}/$1"
  if [ -n "${ENV_DIR:-}" ] && [ -f "$file" ]; then cat -- "$file"; fi
}

# export_env_dir: export the app's config vars for the tools the build runs
# (pip honours PIP_*, npm honours NPM_CONFIG_*, build scripts and Django
# settings read their own), as Heroku's buildpacks do. Names that would change
# how the build itself runs are never exported; see ENV_DENY. Extra names to
# skip can be passed as arguments (compared case-insensitively).
ENV_DENY='PATH HOME PWD OLDPWD SHELL USER LOGNAME IFS ENV BASH_ENV CDPATH SHELLOPTS BASHOPTS
PS4 GLOBIGNORE POSIXLY_CORRECT LANG LD_PRELOAD LD_LIBRARY_PATH LIBRARY_PATH CPATH CPPATH
GIT_DIR BUILD_DIR CACHE_DIR ENV_DIR STACK SOURCE_VERSION TMPDIR'
export_env_dir() {
  [ -n "${ENV_DIR:-}" ] && [ -d "$ENV_DIR" ] || return 0
  local file name upper skip deny
  for file in "$ENV_DIR"/*; do
    [ -f "$file" ] || continue
    name=${file##*/}
    [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    upper=${name^^}
    skip=
    for deny in $ENV_DENY "$@"; do
      if [ "$upper" = "${deny^^}" ]; then skip=1; break; fi
    done
    [ -z "$skip" ] || continue
    export "$name=$(cat -- "$file")"
  done
}

# elapsed START: seconds since START (from `now`), one decimal.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# human_size DIR: "12.3 MB"-style size of a directory tree.
human_size() {
  du -sk -- "$1" 2>/dev/null | awk '{ k = $1; if (k >= 1024) printf "%.1f MB", k / 1024; else printf "%d KB", k }'
}

# sha256 of stdin, hex only.
sha256() { sha256sum | cut -d' ' -f1; }

# replace_dir_from SRC DEST: make DEST an exact copy of SRC (cp -a keeps modes,
# times and relative symlinks; --reflink=auto makes it nearly free on CoW file
# systems). DEST's parent must exist.
replace_dir_from() {
  rm -rf -- "$2"
  cp -a --reflink=auto -- "$1" "$2"
}

# save_cache_dir SRC CACHE_SUBDIR KEY: copy SRC into the cache as CACHE_SUBDIR
# with KEY next to it. The key file is removed first and written last, so an
# interrupted save is never mistaken for a valid cache entry.
save_cache_dir() {
  local src=$1 dest=$2 key=$3
  rm -f -- "$dest.key"
  rm -rf -- "$dest.new"
  cp -a --reflink=auto -- "$src" "$dest.new"
  rm -rf -- "$dest"
  mv -- "$dest.new" "$dest"
  printf '%s\n' "$key" >"$dest.key"
}

# cache_matches CACHE_SUBDIR KEY: whether the cache holds a complete entry for KEY.
cache_matches() {
  [ -d "$1" ] && [ -f "$1.key" ] && [ "$(cat -- "$1.key")" = "$2" ]
}
