"""Helpers for the slipway Python buildpack's bin/compile.

Run with the interpreter the build selected (any Python 3.6+), standard
library only:

  pyhelper.py cache-key BUILD_DIR REQFILE EXTRA...
      sha256 over everything that decides what pip installs from REQFILE:
      its text, the files it includes (-r/-c), the contents of local paths it
      names, this interpreter, and the EXTRA strings (buildpack version, PIP_*
      config vars, ...). BUILD_DIR itself never enters the key, so the same
      app builds to the same key in a fresh build directory.
  pyhelper.py pipfile-lock BUILD_DIR OUT
      Pipfile.lock's "default" packages as a requirements file.
  pyhelper.py pyproject BUILD_DIR OUT
      [project].dependencies as a requirements file. Exit 3 when the
      dependencies are dynamic (the project itself must be installed with
      pip install .), exit 4 for a Poetry-only pyproject.toml.
  pyhelper.py relocate-pth SITE_DIR BUILD_DIR
      Rewrite absolute BUILD_DIR paths in SITE_DIR's *.pth files as paths
      relative to SITE_DIR (Python resolves relative .pth lines against the
      site directory) and in its top-level modules (setuptools' editable
      finders) as paths computed from the module's __file__, then print each
      top-level file that still names BUILD_DIR.

Errors are printed as one line on stderr with exit status 2.
"""

import hashlib
import json
import os
import re
import shlex
import sys


def die(message, status=2):
    sys.stderr.write(message + "\n")
    sys.exit(status)


def load_toml(path):
    try:
        import tomllib  # Python 3.11+
    except ImportError:
        try:
            import tomli as tomllib
        except ImportError:
            try:
                from pip._vendor import tomli as tomllib  # pip >= 21.2 vendors it
            except ImportError:
                die("cannot read %s: this Python has no TOML parser (tomllib needs 3.11+)" % path)
    with open(path, "rb") as f:
        try:
            return tomllib.load(f)
        except Exception as e:  # the parser's own error class differs by module
            die("%s is not valid TOML: %s" % (os.path.basename(path), e))


# ---------------------------------------------------------------- cache-key

SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".heroku", ".tox", ".venv"}


def hash_path(h, path, metadata_only=False):
    """Feed a local file's bytes, or a directory's files (sorted), into h."""
    if os.path.isfile(path):
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return
    if metadata_only:
        # An editable install only records metadata and a path: what it
        # installs changes with these files, not with every source file.
        for name in ("pyproject.toml", "setup.py", "setup.cfg"):
            p = os.path.join(path, name)
            if os.path.isfile(p):
                h.update(("\0" + name + "\0").encode())
                hash_path(h, p)
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            p = os.path.join(root, name)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            h.update(("\0" + os.path.relpath(p, path) + "\0").encode())
            hash_path(h, p)


def logical_lines(text):
    """Requirement lines with comments removed and backslash continuations joined."""
    joined = re.sub(r"\\\r?\n", "", text)
    for line in joined.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            yield line


def local_ref(token, build_dir, req_dir):
    """The local path a requirement token names, or None."""
    if token.startswith("file:"):
        path = re.sub(r"^file:(//)?", "", token).split("#")[0]
        if path.startswith("/"):
            return path if os.path.exists(path) else None
        token = path
    if "://" in token or token.startswith("-"):
        return None
    for base in (build_dir, req_dir):  # pip resolves against the cwd; be generous
        p = os.path.join(base, token)
        if os.path.exists(p):
            return p
    return None


def feed_requirements(h, path, build_dir, seen):
    path = os.path.abspath(path)
    if path in seen:
        return
    seen.add(path)
    req_dir = os.path.dirname(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        die("cannot read %s: %s" % (path, e.strerror))
    h.update(b"\0file\0" + data)
    for line in logical_lines(data.decode("utf-8", "replace")):
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        if not words:
            continue
        first = words[0]
        m = re.match(r"^(-r|--requirement|-c|--constraint)(?:=|$)(.*)$", first)
        if m:
            target = m.group(2) or (words[1] if len(words) > 1 else "")
            if target and "://" not in target:
                feed_requirements(h, os.path.join(req_dir, target), build_dir, seen)
            continue
        editable = False
        m = re.match(r"^(-e|--editable)(?:=|$)(.*)$", first)
        if m:
            editable = True
            first = m.group(2) or (words[1] if len(words) > 1 else "")
        # "name @ file:///path" and plain "./path[extras]" both name a local path
        if len(words) >= 3 and words[1] == "@":
            first = words[2]
        first = re.sub(r"\[[^\]]*\]$", "", first)
        ref = local_ref(first, build_dir, req_dir)
        if ref:
            h.update(("\0local\0" + first + "\0").encode())
            hash_path(h, ref, metadata_only=editable)


def cache_key(build_dir, reqfile, extra):
    h = hashlib.sha256()
    h.update(
        json.dumps(
            {
                "executable": sys.executable,
                "version": sys.version,
                "cache_tag": sys.implementation.cache_tag,
                "extra": extra,
            },
            sort_keys=True,
        ).encode()
    )
    feed_requirements(h, os.path.join(build_dir, reqfile), build_dir, set())
    print(h.hexdigest())


# ------------------------------------------------------------- pipfile-lock

def pipfile_lock(build_dir, out):
    path = os.path.join(build_dir, "Pipfile.lock")
    try:
        with open(path) as f:
            lock = json.load(f)
    except ValueError as e:
        die("Pipfile.lock is not valid JSON: %s" % e)
    packages = lock.get("default") or {}
    lines = []
    # An index the lock names besides PyPI (which the host's pip config
    # already decides) is passed on; ${VARS} expand from config vars.
    for source in (lock.get("_meta") or {}).get("sources") or []:
        url = os.path.expandvars(source.get("url", ""))
        if url and "pypi.org/" not in url and "pythonhosted.org" not in url:
            lines.append("--extra-index-url " + url)
    all_hashed = all(spec.get("hashes") and spec.get("version") for spec in packages.values()) and packages
    for name in sorted(packages):
        spec = packages[name]
        extras = "[%s]" % ",".join(spec["extras"]) if spec.get("extras") else ""
        markers = " ; " + spec["markers"] if spec.get("markers") else ""
        editable = "-e " if spec.get("editable") else ""
        if "path" in spec:
            line = editable + spec["path"] + extras
            markers = ""  # pip takes no markers on bare paths
        elif "file" in spec:
            line = "%s%s @ %s" % (name, extras, spec["file"])
        elif "git" in spec:
            url = "git+" + spec["git"] if not spec["git"].startswith("git+") else spec["git"]
            if spec.get("ref"):
                url += "@" + spec["ref"]
            fragment = "#egg=" + name if editable else ""
            if spec.get("subdirectory"):
                fragment += ("&" if fragment else "#") + "subdirectory=" + spec["subdirectory"]
            line = editable + url + fragment if editable else "%s%s @ %s%s" % (name, extras, url, fragment)
        else:
            line = name + extras + spec.get("version", "") + markers
            markers = ""
            if all_hashed:  # pip takes options after the markers
                line += "".join(" --hash=" + h for h in spec["hashes"])
        lines.append(line + markers)
    with open(out, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    print("%d packages%s" % (len(packages), ", hash-checked" if all_hashed else ""))


# ---------------------------------------------------------------- pyproject

def pyproject(build_dir, out):
    data = load_toml(os.path.join(build_dir, "pyproject.toml"))
    project = data.get("project")
    if project is None:
        if "poetry" in (data.get("tool") or {}):
            sys.exit(4)
        deps = []
    else:
        if "dependencies" in (project.get("dynamic") or []):
            sys.exit(3)
        deps = project.get("dependencies") or []
    with open(out, "w") as f:
        f.write("".join(d + "\n" for d in deps))
    print("%d dependencies" % len(deps))


# ------------------------------------------------------------- relocate-pth

def relocate_pth(site_dir, build_dir):
    site_dir = os.path.abspath(site_dir)
    build_dir = os.path.abspath(build_dir)
    for name in sorted(os.listdir(site_dir)):
        if not name.endswith(".pth"):
            continue
        path = os.path.join(site_dir, name)
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
        changed = False
        for i, line in enumerate(lines):
            stripped = line.strip()
            # Only plain path lines; "import ..." lines are code, left alone.
            if stripped == build_dir or stripped.startswith(build_dir + "/"):
                lines[i] = os.path.relpath(stripped, site_dir)
                changed = True
        if changed:
            with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write("".join(line + "\n" for line in lines))
    # setuptools' editable installs of flat layouts use a finder module with
    # a MAPPING of absolute paths: make each such string literal relative to
    # the module's own location, which moves with the app.
    rel_root = os.path.relpath(build_dir, site_dir)
    literal = re.compile(r"""(['"])%s((?:/[^'"\\]*)?)\1""" % re.escape(build_dir))

    def relative_literal(m):
        rest = rel_root + m.group(2)
        return "__import__('os').path.normpath(__import__('os').path.join(__import__('os').path.dirname(__file__), %r))" % rest

    for name in sorted(os.listdir(site_dir)):
        path = os.path.join(site_dir, name)
        if not name.endswith(".py") or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        new = literal.sub(relative_literal, text)
        if new != text:
            with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(new)
            stem = name[:-3] + "."
            cache = os.path.join(site_dir, "__pycache__")
            for pyc in os.listdir(cache) if os.path.isdir(cache) else []:
                if pyc.startswith(stem):
                    os.remove(os.path.join(cache, pyc))
    # What is left is not relocatable. Only the top level is read: that is
    # where installers put path hooks (.pth, editable finders, .egg-link);
    # reading every file of a large site-packages would cost seconds.
    needle = build_dir.encode()
    for name in sorted(os.listdir(site_dir)):
        p = os.path.join(site_dir, name)
        if not os.path.isfile(p) or name.endswith((".pyc", ".so")):
            continue
        try:
            with open(p, "rb") as f:
                if needle in f.read():
                    print(name)
        except OSError:
            pass


def main(argv):
    if len(argv) < 3:
        die(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "cache-key":
        cache_key(args[0], args[1], args[2:])
    elif cmd == "pipfile-lock":
        pipfile_lock(args[0], args[1])
    elif cmd == "pyproject":
        pyproject(args[0], args[1])
    elif cmd == "relocate-pth":
        relocate_pth(args[0], args[1])
    else:
        die("unknown command: " + cmd)


if __name__ == "__main__":
    main(sys.argv)
