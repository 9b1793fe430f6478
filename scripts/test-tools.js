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
 * Debian packages the tests drive: redis-server (the Python agent-stack e2e's real Redis) and minisign (the
 * publish tests verify signatures with the real tool). One apt-get run for whatever is missing.
 */
const APT_TOOLS = [
  { program: 'redis-server', pkg: 'redis-server' },
  { program: 'minisign', pkg: 'minisign' },
];

function ensureAptTools() {
  const missing = APT_TOOLS.filter((tool) => !onPath(tool.program)).map((tool) => tool.pkg);
  if (!missing.length) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = root ? ['apt-get'] : ['sudo', '-n', 'apt-get'];
  console.log(`test tools: installing ${missing.join(' ')} (apt-get)`);
  for (const args of [['update', '-q'], ['install', '-y', '-q', ...missing]]) {
    const result = spawnSync(apt[0], [...apt.slice(1), ...args], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (result.status !== 0) throw new Error(`"${[...apt, ...args].join(' ')}" failed: install ${missing.join(' ')} (Debian packages) and run again.`);
  }
}

if (require.main === module) {
  try {
    ensureTestTools();
    require('./test-tools-go').ensureGoTools();
    ensureAptTools();
  } catch (error) {
    console.error(`test tools: ${error.message}`);
    process.exit(1);
  }
}

module.exports = { TOOLS_VENV, PINS, ensureTestTools, ensureAptTools };
