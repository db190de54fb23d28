'use strict';
// node semver.js RANGE VERSION
//   exit 0 when VERSION (e.g. v20.20.2) satisfies the npm-style RANGE, 1 when
//   it does not, 2 when RANGE cannot be parsed.
//
// A small reimplementation of node-semver's range grammar (npm's own copy is
// not at a stable path on every host): "||" alternatives, space-separated
// comparators that must all hold, hyphen ranges ("16 - 20"), x-ranges ("18",
// "18.x", "*", ""), caret ("^18.2.0", "^0.2"), tilde ("~20.1", "~>1.2") and
// the operators = > >= < <=. Pre-release tags are ignored: the version checked
// is a host's release build.

function parsePartial(text) {
  const m = /^v?([0-9]+|[xX*])(?:\.([0-9]+|[xX*]))?(?:\.([0-9]+|[xX*]))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.exec(text);
  if (!m) return null;
  const parts = [m[1], m[2], m[3]].map((p) => (p === undefined || /^[xX*]$/.test(p) ? null : Number(p)));
  // Anything after a wildcard is a wildcard too ("1.x.3" means 1.x).
  for (let i = 1; i < 3; i++) if (parts[i - 1] === null) parts[i] = null;
  return parts;
}

const ANY = [];
const NONE = [['<', [0, 0, 0]]];

// Comparators [op, [major, minor, patch]] equivalent to one range token.
function desugar(op, p) {
  const [M, m, pt] = p;
  const full = pt !== null;
  switch (op) {
    case '':
    case '=':
      if (M === null) return ANY;
      if (m === null) return [['>=', [M, 0, 0]], ['<', [M + 1, 0, 0]]];
      if (!full) return [['>=', [M, m, 0]], ['<', [M, m + 1, 0]]];
      return [['=', [M, m, pt]]];
    case '^':
      if (M === null) return ANY;
      if (m === null) return [['>=', [M, 0, 0]], ['<', [M + 1, 0, 0]]];
      if (M > 0) return [['>=', [M, m, pt || 0]], ['<', [M + 1, 0, 0]]];
      if (!full || m > 0) return [['>=', [0, m, pt || 0]], ['<', [0, m + 1, 0]]];
      return [['>=', [0, 0, pt]], ['<', [0, 0, pt + 1]]];
    case '~':
    case '~>':
      if (M === null) return ANY;
      if (m === null) return [['>=', [M, 0, 0]], ['<', [M + 1, 0, 0]]];
      return [['>=', [M, m, pt || 0]], ['<', [M, m + 1, 0]]];
    case '>':
      if (M === null) return NONE;
      if (m === null) return [['>=', [M + 1, 0, 0]]];
      if (!full) return [['>=', [M, m + 1, 0]]];
      return [['>', [M, m, pt]]];
    case '>=':
      if (M === null) return ANY;
      return [['>=', [M, m || 0, pt || 0]]];
    case '<':
      if (M === null) return NONE;
      return [['<', [M, m || 0, pt || 0]]];
    case '<=':
      if (M === null) return ANY;
      if (m === null) return [['<', [M + 1, 0, 0]]];
      if (!full) return [['<', [M, m + 1, 0]]];
      return [['<=', [M, m, pt]]];
    default:
      return null;
  }
}

function compare(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

function holds([op, v], version) {
  const c = compare(version, v);
  return { '=': c === 0, '>': c > 0, '>=': c >= 0, '<': c < 0, '<=': c <= 0 }[op];
}

// One "||" alternative as a list of comparators, or null if unparseable.
function parseSet(text) {
  text = text.trim();
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
  if (hyphen) {
    const from = parsePartial(hyphen[1]);
    const to = parsePartial(hyphen[2]);
    if (!from || !to) return null;
    return desugar('>=', from).concat(desugar('<=', to));
  }
  // "> = 18" and ">= 18" are written with spaces; glue operators to versions.
  const tokens = text.replace(/(>=|<=|~>|[<>=~^])\s+/g, '$1').split(/\s+/).filter(Boolean);
  let comparators = [];
  for (const token of tokens) {
    const m = /^(>=|<=|~>|[<>=~^])?(.*)$/.exec(token);
    const p = parsePartial(m[2]);
    if (!p) return null;
    const c = desugar(m[1] || '', p);
    if (!c) return null;
    comparators = comparators.concat(c);
  }
  return comparators;
}

function satisfies(range, versionText) {
  const version = parsePartial(String(versionText).trim());
  if (!version || version.includes(null)) return null;
  const sets = String(range).split('||').map(parseSet);
  if (sets.some((s) => s === null)) return null;
  return sets.some((set) => set.every((c) => holds(c, version)));
}

module.exports = { satisfies };

if (require.main === module) {
  if (process.argv.length !== 4) {
    process.stderr.write('usage: node semver.js RANGE VERSION\n');
    process.exit(2);
  }
  const result = satisfies(process.argv[2], process.argv[3]);
  process.exit(result === null ? 2 : result ? 0 : 1);
}
