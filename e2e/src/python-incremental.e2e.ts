import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { emptyFolder, isolatedRun } from './helpers/binaries';
import { exec, Workspace } from './helpers/workspace';

function sha256Of(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * Incremental builds of the example service with real PyInstaller: PyInstaller's analysis is reused when an
 * edit adds no import (run_pyinstaller.py + analysis_reuse.py), and the oracle is reproducibility: a build that
 * reused the analysis has the same sha256 as a clean build (--clean) of the same sources. Every other change
 * takes the full analysis, and the build log says which path it took and why.
 */
describe('Python incremental builds: the analysis reused when no import changed (e2e)', () => {
  let ws: Workspace;
  const service = 'services/agent-runner';
  const binary = `${service}/dist/agent-runner`;
  const cli = `${service}/agent_runner/cli.py`;
  const python = () => ws.path('.stigmer', 'venvs', 'agent-runner', 'bin', 'python');

  /** One build; returns its log and the sha256 of the binary. */
  const build = (...args: string[]) => {
    const result = ws.mustNx(['run', 'agent-runner:build-binary', ...args]);
    return { output: result.output, sha: sha256Of(ws.path(binary)), ms: result.ms };
  };
  const edit = (file: string, from: string, to: string) => {
    const text = ws.read(file);
    if (!text.includes(from)) throw new Error(`${file} does not contain ${from}`);
    ws.write(file, text.replace(from, to));
  };
  const pyzModules = () => JSON.parse(ws.mustRun(python(), [ws.path('node_modules', 'stigmer', 'python', 'list_archive.py'), ws.path(binary)]).stdout).modules as string[];
  const runIsolated = () => {
    const folder = emptyFolder('incremental');
    try {
      const run = isolatedRun(ws.path(binary), [], folder);
      expect(run.code).toBe(0);
      return JSON.parse(run.stdout).outputs as string[];
    } finally {
      fs.removeSync(folder);
    }
  };

  beforeAll(() => {
    ws = Workspace.create('incremental');
    ws.addExamplePythonService();
    ws.mustNx(['g', 'stigmer:init']);
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'agent-runner']);
    ws.commit('agent-runner');
  });

  afterAll(() => ws?.remove());

  it('an unchanged rebuild without the Nx cache reuses the analysis (PyInstaller excludes fix) and gives the same bytes', () => {
    const first = build('--skip-nx-cache');
    expect(first.output).toContain('stigmer: full analysis: first build in this work folder');
    const again = build('--skip-nx-cache');
    expect(again.output).toContain('stigmer: analysis reused: no module changed');
    // Without the excludes fix, PyInstaller's saved excludes never equal the spec's: "full analysis: the spec's excludes changed".
    expect(again.output).not.toContain('full analysis');
    expect(again.sha).toBe(first.sha);
  });

  it('a function body edited in the service: analysis reused, the same bytes as a clean build, works from an empty folder, passes the import trace', () => {
    edit(cli, '    outputs = graph.run()\n', '    outputs = graph.run() + ["edited"]\n');
    const fast = build();
    expect(fast.output).toContain('stigmer: analysis reused: 1 module changed, imports unchanged (agent_runner/cli.py)');
    expect(runIsolated()).toEqual(['hello from agent-runner', 'GRAPH READY', 'edited']);
    const test = ws.mustNx(['run', 'agent-runner:test-binary']);
    expect(test.output).toMatch(/✔ import trace/);
    const clean = build('--clean', '--skip-nx-cache');
    expect(clean.output).toContain('stigmer: full analysis: first build in this work folder');
    expect(fast.sha).toBe(clean.sha);
  });

  it('a function body edited in a local library, its old mtime put back: analysis reused (content decides), the same bytes as a clean build', () => {
    const echo = ws.path('services/libs/graphton/graphton/plugins/echo.py');
    const { mtime } = fs.statSync(echo);
    edit('services/libs/graphton/graphton/plugins/echo.py', '    return value', '    return f"{value} (echo)"');
    fs.utimesSync(echo, mtime, mtime);
    // Nx's own file hashes go by mtime too (it would restore the last binary): skip its cache to reach the driver.
    const fast = build('--skip-nx-cache');
    expect(fast.output).toMatch(/stigmer: analysis reused: 1 module changed, imports unchanged \(.*graphton\/plugins\/echo\.py\)/);
    expect(runIsolated()).toEqual(['hello from agent-runner (echo)', 'GRAPH READY', 'edited']);
    expect(build('--clean', '--skip-nx-cache').sha).toBe(fast.sha);
  });

  it('an import of a module not yet in the binary: full analysis that names it, and the module is inside', () => {
    expect(pyzModules()).not.toContain('wave');
    edit(cli, 'import json\n', 'import json\nimport wave\n');
    edit(cli, 'print(f"agent-runner {__version__}")', 'print(f"agent-runner {__version__} {wave.__name__}")');
    const full = build();
    expect(full.output).toContain('stigmer: full analysis: agent_runner/cli.py imports wave now');
    expect(pyzModules()).toContain('wave');
    expect(ws.mustRun(ws.path(binary), ['--version']).stdout.trim()).toBe('agent-runner 0.3.1 wave');
  });

  it('a new module file in a collected package, or a changed import_module() call: full analysis', () => {
    ws.write(`${service}/agent_runner/extra.py`, 'VALUE = 1\n');
    expect(build().output).toContain('stigmer: full analysis: a module was added to or removed from agent_runner');
    expect(pyzModules()).toContain('agent_runner.extra');
    edit('services/libs/graphton/graphton/__init__.py', 'importlib.import_module(f"graphton.plugins.{name}")', 'importlib.import_module(f"{__name__}.plugins.{name}")');
    expect(build().output).toMatch(/stigmer: full analysis: .*graphton\/__init__\.py changed an import_module\(\) or __import__\(\) call/);
    expect(runIsolated()).toEqual(['hello from agent-runner (echo)', 'GRAPH READY', 'edited']);
  });

  it('an unproven PyInstaller version: PyInstaller runs untouched with a full analysis, said in one line', () => {
    // The driver run as the plugin runs it, with PROVEN_VERSIONS changed in its process.
    edit(cli, '["edited"]', '["edited twice"]');
    // Plain PyInstaller compares modification times: an edit in the same second as the last build goes unseen there
    // (the reason the fast path compares content). Date this edit 2 s later, as a person's edit would be.
    const later = new Date(Date.now() + 2000);
    fs.utimesSync(ws.path(cli), later, later);
    const driver = ws.path('node_modules', 'stigmer', 'python', 'run_pyinstaller.py');
    const dist = emptyFolder('unproven');
    const build = ws.path(service, 'build');
    const code = `import sys; sys.path.insert(0, ${JSON.stringify(path.dirname(driver))}); import run_pyinstaller; run_pyinstaller.PROVEN_VERSIONS = ("0.0",); sys.argv = ["run_pyinstaller.py"] + sys.argv[1:]; run_pyinstaller.main()`;
    const args = [path.join(build, '.stigmer-archive-cache'), '--noconfirm', '--log-level', 'INFO', '--distpath', dist, '--workpath', build, 'agent-runner.spec'];
    try {
      const result = exec(python(), ['-c', code, ...args], ws.path(service), { PYTHONHASHSEED: '0', PYINSTALLER_CONFIG_DIR: path.join(build, '.pyinstaller-cache') });
      expect(result.code).toBe(0);
      expect(result.output.split('\n').filter((line) => line.startsWith('stigmer: '))).toEqual([
        expect.stringMatching(/^stigmer: compression cache and analysis reuse off: not proven byte-identical with PyInstaller \d+\.\d+\.\d+ \(proven: 0\.0\); PyInstaller runs unchanged, with a full analysis\.$/),
      ]);
      expect(result.output).toMatch(/Building because .*cli\.py changed/);
      expect(JSON.parse(exec(path.join(dist, 'agent-runner'), [], dist).stdout).outputs).toEqual(['hello from agent-runner (echo)', 'GRAPH READY', 'edited twice']);
    } finally {
      fs.removeSync(dist);
    }
  });

  it('noarchive=True in the spec (modules shipped as .pyc files, no PYZ): the fast path refused, an edit with its old mtime put back is in the binary', () => {
    const spec = `${service}/agent-runner.spec`;
    edit(spec, 'noarchive=False,', 'noarchive=True,');
    build('--skip-nx-cache');
    const { mtime } = fs.statSync(ws.path(cli));
    edit(cli, '["edited twice"]', '["edited with noarchive"]');
    fs.utimesSync(ws.path(cli), mtime, mtime);
    // Reused, this analysis would ship the .pyc compiled before the edit: nothing tracks the content of modules outside a PYZ.
    const again = build('--skip-nx-cache');
    expect(again.output).toContain('stigmer: full analysis: noarchive=True in the spec');
    expect(runIsolated()).toEqual(['hello from agent-runner (echo)', 'GRAPH READY', 'edited with noarchive']);
  });
});
