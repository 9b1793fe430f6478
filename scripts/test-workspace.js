// A real Nx workspace in a temporary folder with the packed plugin installed, as a user has it after
// `npm i -D stigmer`. Shared by the end-to-end tests (e2e/) and the benchmarks (bench/).
const { spawnSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const fs = require('fs-extra');

const REPO_ROOT = path.join(__dirname, '..');

/** Runs a program with an argument array (never a shell); returns code, stdout, stderr, output and ms. */
function exec(command, args, cwd, env = {}) {
  const started = Date.now();
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', FORCE_COLOR: '0', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, output: `${result.stdout}\n${result.stderr}`, ms: Date.now() - started };
}

/** The tarball `npm run package` wrote: what users install. */
function pluginTarball() {
  const dist = path.join(REPO_ROOT, 'dist');
  const tarball = fs.existsSync(dist) ? fs.readdirSync(dist).find((f) => /^stigmer-.*\.tgz$/.test(f)) : undefined;
  if (!tarball) throw new Error('dist/stigmer-<version>.tgz is missing: run `npm run package` first.');
  return path.join(dist, tarball);
}

function notGenerated(source) {
  return !/(^|[\\/])(dist|build|\.venv|__pycache__|[^\\/]+\.egg-info)([\\/]|$)/.test(source);
}

class Workspace {
  constructor(root) {
    this.root = root;
  }

  /** A fresh workspace, a git repository with one commit, with nx and the packed plugin installed. */
  static create(name) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `stigmer-${name}-`));
    const nxVersion = require(path.join(REPO_ROOT, 'package.json')).devDependencies.nx;
    fs.writeJsonSync(path.join(root, 'package.json'), { name: `ws-${name}`, version: '0.0.0', private: true }, { spaces: 2 });
    fs.writeJsonSync(path.join(root, 'nx.json'), { $schema: './node_modules/nx/schemas/nx-schema.json' }, { spaces: 2 });
    fs.writeFileSync(path.join(root, '.gitignore'), 'node_modules\n.nx/cache\n.nx/workspace-data\n');
    const workspace = new Workspace(root);
    workspace.mustRun('npm', ['install', '--save-dev', '--no-audit', '--no-fund', '--prefer-offline', `nx@${nxVersion}`, pluginTarball()]);
    workspace.mustRun('git', ['init', '-q']);
    workspace.commit('workspace');
    return workspace;
  }

  path(...parts) {
    return path.join(this.root, ...parts);
  }

  run(command, args, env = {}) {
    return exec(command, args, this.root, env);
  }

  /** Runs a command that must succeed; a failure shows its output. */
  mustRun(command, args, env = {}) {
    const result = this.run(command, args, env);
    if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}:\n${result.output.slice(-4000)}`);
    return result;
  }

  nx(args, env = {}) {
    return this.run(this.path('node_modules', '.bin', 'nx'), args, env);
  }

  mustNx(args, env = {}) {
    return this.mustRun(this.path('node_modules', '.bin', 'nx'), args, env);
  }

  commit(message) {
    this.mustRun('git', ['add', '-A']);
    this.mustRun('git', ['-c', 'user.name=stigmer', '-c', 'user.email=stigmer@example.invalid', 'commit', '-q', '--allow-empty', '-m', message]);
  }

  /** Copies the example Python service and its local library into services/, without any stigmer file. */
  addExamplePythonService() {
    fs.copySync(path.join(REPO_ROOT, 'examples', 'libs', 'graphton'), this.path('services', 'libs', 'graphton'), { filter: notGenerated });
    fs.copySync(path.join(REPO_ROOT, 'examples', 'agent-runner'), this.path('services', 'agent-runner'), { filter: notGenerated });
    fs.removeSync(this.path('services', 'agent-runner', 'agent-runner.spec'));
    fs.removeSync(this.path('services', 'agent-runner', '.gitignore'));
    const pyproject = this.path('services', 'agent-runner', 'pyproject.toml');
    fs.writeFileSync(pyproject, fs.readFileSync(pyproject, 'utf8').replace(/^pyinstaller = .*\n/m, ''));
    for (const project of ['services/agent-runner/project.json', 'services/libs/graphton/project.json']) {
      const file = this.path(project);
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/"\$schema": "[^"]*",\n\s*/, ''));
    }
  }

  read(relative) {
    return fs.readFileSync(this.path(relative), 'utf8');
  }

  write(relative, content) {
    fs.outputFileSync(this.path(relative), content);
  }

  remove() {
    if (!process.env.STIGMER_KEEP_WORKSPACE) fs.removeSync(this.root);
  }
}

/**
 * The bin folder of the pinned Poetry and uv (scripts/test-tools.js): tests put it on PATH themselves, so no
 * test depends on what the machine has installed, and a missing tool fails with what to run.
 */
function toolsBin() {
  const bin = path.join(REPO_ROOT, '.tools', 'venv', process.platform === 'win32' ? 'Scripts' : 'bin');
  for (const tool of ['poetry', 'uv']) {
    if (!fs.existsSync(path.join(bin, tool))) throw new Error(`${tool} is missing from ${bin}: run \`node scripts/test-tools.js\` (npm test does).`);
  }
  return bin;
}

/**
 * The index and certificates pip is configured with on this machine, read at test time (no index address is
 * committed): pip's config (environment and files), else pip's own default index.
 */
function pipIndex() {
  const python = process.platform === 'win32' ? 'python' : 'python3';
  const listed = exec(python, ['-m', 'pip', 'config', 'list']).stdout;
  const value = (key) => {
    const found = ['global', 'install', ':env:']
      .map((section) => new RegExp(`^${section.replace(/[.:]/g, '\\$&')}\\.${key}='?([^'\\n]*)'?$`, 'm').exec(listed)?.[1])
      .filter(Boolean);
    return found.pop();
  };
  const url = process.env.PIP_INDEX_URL || value('index-url') || exec(python, ['-c', 'from pip._internal.models.index import PyPI; print(PyPI.simple_url)']).stdout.trim();
  const cert = process.env.PIP_CERT || value('cert');
  return { url, cert };
}

/**
 * Environment for Poetry and uv to use pip's index and certificates. Poetry also needs the index as a source
 * of the project (its default is PyPI's JSON API, which this machine's index does not fully answer): see
 * poetrySourceArgs().
 */
function pythonToolsEnv() {
  const { url, cert } = pipIndex();
  return {
    UV_DEFAULT_INDEX: url,
    ...(cert ? { SSL_CERT_FILE: cert, REQUESTS_CA_BUNDLE: cert } : {}),
  };
}

/** `poetry source add` arguments that make pip's index the project's primary Poetry source (simple API). */
function poetrySourceArgs() {
  return ['source', 'add', '--priority=primary', 'pip-index', pipIndex().url];
}

module.exports = { Workspace, exec, pluginTarball, REPO_ROOT, toolsBin, pipIndex, pythonToolsEnv, poetrySourceArgs };
