import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { CommandResult, exec, lockedVersions, pythonToolsEnv, toolsBin, Workspace } from './helpers/workspace';

/**
 * A uv workspace member is a local library like a path dependency. The Nx workspace root is a uv workspace
 * (`members = ["apps/*", "libs/*"]`, one uv.lock at the root); the service apps/greeter takes `plug-kit` from it
 * (`{ workspace = true }`), plug-kit takes textkit from it in turn, and six comes from the index. plugkit loads its
 * plugins by name (importlib), so only a spec that collects the member's modules makes a working binary. Built
 * through uv (pinned uv on PATH) and with neither tool on PATH (the managed environment installs the root
 * uv.lock's packages and the members, editable); each binary does its work from an empty folder with an empty
 * environment, test-binary passes, and a change in the member misses the cache and shows in the rebuilt binary.
 * A second member service (apps/counter, idna where greeter has six) shares uv's .venv at the root: the two are
 * built by `nx run-many --parallel=2` twice, and each binary still holds its own packages (uv's sync is
 * exact: without the environment lock, counter's sync uninstalls six while greeter's PyInstaller reads it).
 */
const SERVICE = 'greeter';
const BINARY = `apps/${SERVICE}/dist/${SERVICE}`;

const COUNTER = 'counter';

const FILES: Record<string, string> = {
  [`apps/${COUNTER}/project.json`]: JSON.stringify({ name: COUNTER }, null, 2),
  [`apps/${COUNTER}/pyproject.toml`]: ['[project]', `name = "${COUNTER}"`, 'version = "0.1.0"', 'requires-python = ">=3.9,<4"', 'dependencies = ["idna>=3"]', '', '[tool.uv]', 'package = false', ''].join('\n'),
  [`apps/${COUNTER}/main.py`]: 'import idna\n\nprint("idna", idna.__version__, idna.encode("b\u00fccher.example").decode())\n',
  'pyproject.toml': '[tool.uv.workspace]\nmembers = ["apps/*", "libs/*"]\n',
  [`apps/${SERVICE}/project.json`]: JSON.stringify({ name: SERVICE }, null, 2),
  [`apps/${SERVICE}/pyproject.toml`]: [
    '[project]',
    `name = "${SERVICE}"`,
    'version = "0.1.0"',
    'requires-python = ">=3.9,<4"',
    'dependencies = ["plug-kit", "six>=1.15"]',
    '',
    '[tool.uv]',
    'package = false',
    '',
    '[tool.uv.sources]',
    'plug_kit = { workspace = true }',
    '',
  ].join('\n'),
  [`apps/${SERVICE}/main.py`]: 'import sys\n\nimport six\nfrom plugkit import run\n\nprint(run("shout", sys.argv[1] if len(sys.argv) > 1 else "hello"), "six", six.__version__)\n',
  'libs/plugkit/project.json': JSON.stringify({ name: 'plugkit' }, null, 2),
  // Declared with other spellings than the service's (plug-kit, plug_kit): members are matched by their PEP 503
  // name. Its import package (plugkit) is another name again.
  'libs/plugkit/pyproject.toml': [
    '[project]',
    'name = "Plug.Kit"',
    'version = "1.0.0"',
    'requires-python = ">=3.9"',
    'dependencies = ["textkit"]',
    '',
    '[tool.uv.sources]',
    'textkit = { workspace = true }',
    '',
    '[build-system]',
    'requires = ["setuptools>=61"]',
    'build-backend = "setuptools.build_meta"',
    '',
    '[tool.setuptools.packages.find]',
    'include = ["plugkit*"]',
    '',
  ].join('\n'),
  'libs/plugkit/plugkit/__init__.py': 'import importlib\n\n\ndef run(plugin, text):\n    return importlib.import_module("plugkit.plugins." + plugin).apply(text)\n',
  'libs/plugkit/plugkit/plugins/__init__.py': '',
  'libs/plugkit/plugkit/plugins/shout.py': 'from textkit import exclaim\n\n\ndef apply(text):\n    return exclaim(text.upper())\n',
  // A member of a member: a local library of the service too.
  'libs/textkit/project.json': JSON.stringify({ name: 'textkit' }, null, 2),
  'libs/textkit/pyproject.toml': [
    '[project]',
    'name = "textkit"',
    'version = "2.0.0"',
    '',
    '[build-system]',
    'requires = ["setuptools>=61"]',
    'build-backend = "setuptools.build_meta"',
    '',
  ].join('\n'),
  'libs/textkit/textkit/__init__.py': 'def exclaim(text):\n    return text + "!"\n',
};

describe('Python: a uv workspace member is a local library (e2e)', () => {
  let ws: Workspace;
  let scratch: string;
  let withUv: Record<string, string>;
  let neither: Record<string, string>;
  let six: string;
  const timings: Record<string, number> = {};

  const gitStatus = () => ws.mustRun('git', ['status', '--porcelain']).stdout.trim();
  const mustNx = (args: string[], env: Record<string, string>, label: string): CommandResult => {
    const result = ws.mustNx(args, env);
    timings[label] = result.ms;
    return result;
  };
  const cacheHit = (result: CommandResult) => /local cache|existing outputs match the cache/.test(result.output);

  /** Runs the binary from an empty folder with an empty environment: only PATH=/usr/bin:/bin and HOME. */
  function runEmpty(args: string[] = []): string {
    const empty = fs.mkdtempSync(path.join(scratch, 'run-'));
    const result = exec('/usr/bin/env', ['-i', 'PATH=/usr/bin:/bin', `HOME=${empty}`, ws.path(BINARY), ...args], empty);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return result.stdout.trim();
  }

  /** Where an environment's interpreter imports the members from (their folders: editable), with their versions. */
  function installedMembers(python: string): string {
    const probe = exec(
      python,
      ['-c', 'import importlib.metadata as m, os, plugkit, textkit\nfor module, name in ((plugkit, "plug-kit"), (textkit, "textkit")): print(os.path.dirname(os.path.dirname(module.__file__)), m.version(name))'],
      scratch,
    );
    expect(probe.stderr).toBe('');
    return probe.stdout.trim();
  }
  const editableMembers = () => `${ws.path('libs', 'plugkit')} 1.0.0\n${ws.path('libs', 'textkit')} 2.0.0`;

  beforeAll(() => {
    const started = Date.now();
    const bin = toolsBin();
    expect(exec('sh', ['-c', 'command -v poetry || command -v uv || true'], os.tmpdir()).stdout.trim()).toBe(''); // "neither" must mean neither
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-uvws-scratch-'));
    // A folder with uv alone, so that the uv PATH has uv and not the tools venv's python3.
    fs.ensureDirSync(path.join(scratch, 'uv-bin'));
    fs.symlinkSync(path.join(bin, 'uv'), path.join(scratch, 'uv-bin', 'uv'));
    // PyInstaller's own cache in the scratch folder: other builds on this machine may clear the shared one mid-build.
    neither = { ...pythonToolsEnv(), PYINSTALLER_CONFIG_DIR: path.join(scratch, 'pyinstaller'), PATH: process.env.PATH as string };
    withUv = { ...neither, PATH: `${path.join(scratch, 'uv-bin')}${path.delimiter}${process.env.PATH}` };

    ws = Workspace.create('uvws');
    ws.mustNx(['g', 'stigmer:init']);
    ws.write('.gitignore', `${ws.read('.gitignore')}.venv/\n`);
    for (const [file, content] of Object.entries(FILES)) ws.write(file, content);
    ws.mustRun('uv', ['lock'], withUv);
    ws.commit('a uv workspace: a service and a member library, locked');
    timings.setup = Date.now() - started;
  });

  afterAll(() => {
    if (Object.keys(timings).length) console.log(`python-uv-workspace e2e timings (ms): ${JSON.stringify(timings)}`);
    ws?.remove();
    if (scratch && !process.env.STIGMER_KEEP_WORKSPACE) fs.removeSync(scratch);
  });

  it('graphs the member, and the generated spec collects its modules from its folder', () => {
    const graphFile = path.join(scratch, 'graph.json');
    ws.mustNx(['graph', `--file=${graphFile}`], neither);
    const graph = fs.readJsonSync(graphFile).graph;
    expect(graph.dependencies[SERVICE].map((d: { target: string }) => d.target)).toContain('plugkit');

    const generated = mustNx(['g', 'stigmer:binary-spec', '--project', SERVICE], withUv, 'generate');
    const spec = ws.read(`apps/${SERVICE}/${SERVICE}.spec`);
    expect(spec).toContain('../../libs/plugkit');
    expect(spec).toContain('../../libs/textkit');
    expect(spec).toMatch(/for package in \[\s*"plugkit",\s*"textkit",\s*\]:\s*hiddenimports \+= collect_submodules\(package\)/);
    // One lock for the whole uv workspace, at its root: the generator re-locked it with PyInstaller as the
    // service's dev dependency, and uv agrees it is fresh.
    expect(generated.output).toContain(`stigmer: uv lock (in apps/${SERVICE}), so that uv.lock matches pyproject.toml`);
    ws.mustRun('uv', ['lock', '--check'], withUv);
    const locked = lockedVersions(ws.read('uv.lock'));
    expect(locked).toMatchObject({ 'plug-kit': '1.0.0', textkit: '2.0.0', greeter: '0.1.0' });
    expect(locked.pyinstaller).toMatch(/^6\./);
    six = locked.six;
    expect(fs.existsSync(ws.path('apps', SERVICE, 'uv.lock'))).toBe(false);
    ws.commit('binary spec, locked');
  });

  it("under the Nx daemon, the member's edge follows a change of the root's members globs and of the member's name", () => {
    const daemon = { ...neither, NX_DAEMON: 'true' };
    const graphFile = path.join(scratch, 'daemon-graph.json');
    const targets = (): string[] => {
      ws.mustNx(['graph', `--file=${graphFile}`], daemon);
      return fs.readJsonSync(graphFile).graph.dependencies[SERVICE].map((d: { target: string }) => d.target);
    };
    // The daemon learns of a file change from its watcher: a wrong graph must stay wrong for 10 s to fail.
    const eventually = (expected: boolean) => {
      const deadline = Date.now() + 10_000;
      let seen = targets().includes('plugkit');
      while (seen !== expected && Date.now() < deadline) {
        exec('sleep', ['0.5'], scratch);
        seen = targets().includes('plugkit');
      }
      expect(seen ? 'edge to plugkit' : 'no edge to plugkit').toBe(expected ? 'edge to plugkit' : 'no edge to plugkit');
    };
    const root = ws.read('pyproject.toml');
    const member = ws.read('libs/plugkit/pyproject.toml');
    try {
      eventually(true);
      expect(ws.mustNx(['daemon'], daemon).output).toMatch(/Daemon is currently running/i);
      ws.write('pyproject.toml', root.replace('members = ["apps/*", "libs/*"]', 'members = ["apps/*", "libs/textkit"]'));
      eventually(false);
      ws.write('pyproject.toml', root);
      eventually(true);
      ws.write('libs/plugkit/pyproject.toml', member.replace('name = "Plug.Kit"', 'name = "plug-kit-two"'));
      eventually(false);
      ws.write('libs/plugkit/pyproject.toml', member);
      eventually(true);
    } finally {
      ws.write('pyproject.toml', root);
      ws.write('libs/plugkit/pyproject.toml', member);
      ws.mustNx(['daemon', '--stop'], daemon);
    }
    expect(gitStatus()).toBe('');
  });

  it('builds two members that share uv\'s environment in parallel, twice: each binary holds its own packages', () => {
    mustNx(['g', 'stigmer:binary-spec', '--project', COUNTER], withUv, 'counter.generate');
    ws.commit('counter: binary spec, locked');
    const idna = lockedVersions(ws.read('uv.lock')).idna;
    for (let round = 1; round <= 2; round++) {
      const both = mustNx(['run-many', '-t', 'build-binary', '-p', SERVICE, COUNTER, '--parallel=2', '--skip-nx-cache', '--output-style=static'], withUv, `uv.parallel${round}`);
      expect(both.output).toContain('uv sync --locked');
      expect(runEmpty(['hi'])).toBe(`HI! six ${six}`);
      const empty = fs.mkdtempSync(path.join(scratch, 'run-'));
      const counter = exec('/usr/bin/env', ['-i', 'PATH=/usr/bin:/bin', `HOME=${empty}`, ws.path(`apps/${COUNTER}/dist/${COUNTER}`)], empty);
      expect([counter.code, counter.stdout.trim(), counter.stderr]).toEqual([0, `idna ${idna} xn--bcher-kva.example`, '']);
    }
    expect(gitStatus()).toBe('');
  });

  it('builds through uv (uv sync --locked installs the member too) a binary that runs it from an empty folder', () => {
    const build = mustNx(['run', `${SERVICE}:build-binary`], withUv, 'uv.build');
    expect(build.output).toContain('uv sync --locked');
    expect(runEmpty(['hi'])).toBe(`HI! six ${six}`);
    expect(installedMembers(ws.path('.venv', 'bin', 'python'))).toBe(editableMembers());
    const test = mustNx(['run', `${SERVICE}:test-binary`], withUv, 'uv.test');
    expect(test.output).toMatch(/✔ local package plugkit/);
    expect(test.output).toMatch(/✔ local package textkit/);
    expect(gitStatus()).toBe('');
  });

  it('builds with neither tool on PATH: the managed environment installs the root uv.lock and the member, editable', () => {
    fs.removeSync(ws.path('apps', SERVICE, 'dist'));
    const build = mustNx(['run', `${SERVICE}:build-binary`, '--skip-nx-cache'], neither, 'managed.build');
    expect(build.output).toMatch(/installing the \d+ packages uv\.lock pins/);
    expect(build.output).not.toMatch(/not pinned/);
    expect(runEmpty()).toBe(`HELLO! six ${six}`);
    expect(installedMembers(ws.path('.stigmer', 'venvs', SERVICE, 'bin', 'python'))).toBe(editableMembers());
    const test = mustNx(['run', `${SERVICE}:test-binary`], neither, 'managed.test');
    expect(test.output).toMatch(/✔ local package plugkit/);
    expect(test.output).toMatch(/✔ local package textkit/);
    expect(gitStatus()).toBe('');
  });

  it('rebuilds when the member changes (a cache miss), and the binary shows the change', () => {
    expect(cacheHit(mustNx(['run', `${SERVICE}:build-binary`], neither, 'managed.hit'))).toBe(true);
    ws.write('libs/plugkit/plugkit/plugins/shout.py', 'from textkit import exclaim\n\n\ndef apply(text):\n    return exclaim(text.upper()) + "!!"\n');
    const rebuilt = mustNx(['run', `${SERVICE}:build-binary`], neither, 'managed.memberChanged');
    expect(cacheHit(rebuilt)).toBe(false);
    expect(runEmpty()).toBe(`HELLO!!! six ${six}`);
  });
});
