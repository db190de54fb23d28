'use strict';
// node pkg.js COMMAND [ARG] — questions about ./package.json for bin/compile
// and bin/release (run with cwd = the app directory).
//
//   facts NPM_PATH NODE_VERSION
//                     everything bin/compile asks, in one go (starting node
//                     costs ~0.1 s), as NAME=VALUE lines, values on one line:
//                       npm_version     read from npm's own package.json,
//                                       found through NPM_PATH (empty if not)
//                       engine_node, engine_npm         the ranges asked for
//                       engine_node_ok, engine_npm_ok   0 yes, 1 no, 2 cannot
//                                                       parse, empty: no range
//                       scripts         the non-empty script names
//                       lifecycle, has_dev, has_web, cache_inputs: as below
//                     exit 2 with a one-line reason when package.json is not
//                     a JSON object.
//   has-web           exit 0 when `npm start` has something to run
//                     (a start script, or server.js, npm's default); for
//                     bin/release
//
// The facts:
//   lifecycle         the root install lifecycle scripts present, in the
//                     order npm ci runs them
//   has_dev           1 when there are devDependencies
//   has_web           1 as for has-web
//   cache_inputs      what decides node_modules besides the lockfile: the
//                     dependency fields, canonically, and a digest of each
//                     local file:/link: dependency's files

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

function load() {
  let pkg;
  try {
    pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
  } catch (e) {
    process.stderr.write(e.code === 'ENOENT' ? 'package.json not found\n' : `${e.message.split('\n')[0]}\n`);
    process.exit(2);
  }
  if (!pkg || typeof pkg !== 'object' || Array.isArray(pkg)) {
    process.stderr.write('package.json must hold a JSON object\n');
    process.exit(2);
  }
  return pkg;
}

function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value).sort()) out[key] = canonical(value[key]);
    return out;
  }
  return value;
}

function digestPath(p) {
  const hash = crypto.createHash('sha256');
  const walk = (dir, rel) => {
    for (const name of fs.readdirSync(dir).sort()) {
      if (name === 'node_modules' || name === '.git') continue;
      const full = path.join(dir, name);
      const st = fs.lstatSync(full);
      const r = rel ? `${rel}/${name}` : name;
      if (st.isDirectory()) walk(full, r);
      else if (st.isFile()) hash.update(`\0${r}\0`).update(fs.readFileSync(full));
      else if (st.isSymbolicLink()) hash.update(`\0${r}\0->${fs.readlinkSync(full)}`);
    }
  };
  try {
    const st = fs.statSync(p);
    if (st.isDirectory()) walk(p, '');
    else hash.update(fs.readFileSync(p));
  } catch (e) {
    return `missing (${e.code})`;
  }
  return hash.digest('hex');
}

const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies',
  'peerDependenciesMeta', 'bundleDependencies', 'bundledDependencies', 'overrides', 'workspaces'];
const LIFECYCLE = ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare', 'postprepare'];

function npmVersion(npmPath) {
  try {
    let dir = path.dirname(fs.realpathSync(npmPath));
    for (let i = 0; i < 3; i++, dir = path.dirname(dir)) {
      const file = path.join(dir, 'package.json');
      if (fs.existsSync(file)) {
        const meta = JSON.parse(fs.readFileSync(file, 'utf8'));
        return meta.name === 'npm' && typeof meta.version === 'string' ? meta.version : '';
      }
    }
  } catch (e) {
    // fall through: bin/compile asks `npm --version` instead
  }
  return '';
}

function cacheInputs(pkg) {
  const inputs = {};
  for (const field of DEP_FIELDS) if (pkg[field] !== undefined) inputs[field] = canonical(pkg[field]);
  const local = {};
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    for (const [name, spec] of Object.entries(pkg[field] || {})) {
      const m = /^(?:file:|link:)(.*)$/.exec(String(spec));
      if (m) local[`${field}/${name}`] = digestPath(path.resolve(m[1]));
    }
  }
  inputs.local = local;
  return JSON.stringify(inputs);
}

const [command, arg, arg2] = process.argv.slice(2);
const pkg = load();
const scripts = pkg.scripts && typeof pkg.scripts === 'object' ? pkg.scripts : {};
const hasScript = (name) => typeof scripts[name] === 'string' && scripts[name].trim() !== '';

switch (command) {
  case 'facts': {
    const { satisfies } = require('./semver.js');
    const oneLine = (v) => String(v).replace(/[\r\n]+/g, ' ');
    const facts = { npm_version: npmVersion(arg) };
    const engines = pkg.engines && typeof pkg.engines === 'object' ? pkg.engines : {};
    for (const [name, version] of [['node', arg2], ['npm', facts.npm_version]]) {
      const range = typeof engines[name] === 'string' ? engines[name] : '';
      facts[`engine_${name}`] = oneLine(range);
      let ok = '';
      if (range && version) {
        const result = satisfies(range, version);
        ok = result === null ? 2 : result ? 0 : 1;
      }
      facts[`engine_${name}_ok`] = ok;
    }
    facts.scripts = Object.keys(scripts).filter(hasScript).map(oneLine).join(' ');
    facts.lifecycle = LIFECYCLE.filter(hasScript).join(' ');
    facts.has_dev = pkg.devDependencies && Object.keys(pkg.devDependencies).length ? 1 : 0;
    facts.has_web = hasScript('start') || fs.existsSync('server.js') ? 1 : 0;
    facts.cache_inputs = cacheInputs(pkg);
    for (const [name, value] of Object.entries(facts)) process.stdout.write(`${name}=${value}\n`);
    break;
  }
  case 'has-web':
    process.exit(hasScript('start') || fs.existsSync('server.js') ? 0 : 1);
    break;
  default:
    process.stderr.write(`unknown command: ${command}\n`);
    process.exit(2);
}
