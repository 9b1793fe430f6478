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

  it('a function body edited in a local library: analysis reused, the same bytes as a clean build', () => {
    edit('services/libs/graphton/graphton/plugins/echo.py', '    return value', '    return f"{value} (echo)"');
    const fast = build();
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

  it('decides by content, not mtime (an edit put back with the old mtime), and an unproven PyInstaller takes the full path, said once', () => {
    // A small program through the driver directly, so PROVEN_VERSIONS can be changed in the process.
    const folder = ws.path('tmp-hello');
    const driver = ws.path('node_modules', 'stigmer', 'python', 'run_pyinstaller.py');
    const script = path.join(folder, 'hello.py');
    fs.outputFileSync(script, 'def greet():\n    return "hello"\n\nprint(greet())\n');
    const args = ['cache', '--noconfirm', '--onefile', '--log-level', 'INFO', '--distpath', 'dist', '--workpath', 'work', '--specpath', '.', 'hello.py'];
    const env = { PYTHONHASHSEED: '0', PYTHONDONTWRITEBYTECODE: '1' };
    const drive = (proven: boolean) => {
      const setup = proven ? '' : 'run_pyinstaller.PROVEN_VERSIONS = ("0.0",); ';
      const code = `import sys; sys.path.insert(0, ${JSON.stringify(path.dirname(driver))}); import run_pyinstaller; ${setup}sys.argv = ["run_pyinstaller.py"] + sys.argv[1:]; run_pyinstaller.main()`;
      const result = exec(python(), ['-c', code, ...args], folder, env);
      expect(result.code).toBe(0);
      return { output: result.output, says: result.output.split('\n').filter((line) => line.startsWith('stigmer: ')), printed: exec(path.join(folder, 'dist', 'hello'), [], folder).stdout.trim() };
    };
    try {
      expect(drive(true).says).toEqual(['stigmer: full analysis: first build in this work folder']);
      const { mtime } = fs.statSync(script);
      fs.writeFileSync(script, fs.readFileSync(script, 'utf8').replace('"hello"', '"hello again"'));
      fs.utimesSync(script, mtime, mtime);
      const sameMtime = drive(true);
      expect(sameMtime.says).toEqual(['stigmer: analysis reused: 1 module changed, imports unchanged (hello.py)']);
      expect(sameMtime.printed).toBe('hello again');
      fs.writeFileSync(script, fs.readFileSync(script, 'utf8').replace('"hello again"', '"hello, unproven"'));
      const unproven = drive(false);
      expect(unproven.says).toEqual([expect.stringMatching(/^stigmer: compression cache and analysis reuse off: not proven byte-identical with PyInstaller \d+\.\d+\.\d+ \(proven: 0\.0\); PyInstaller runs unchanged, with a full analysis\.$/)]);
      expect(unproven.output).toContain('Building because');
      expect(unproven.printed).toBe('hello, unproven');
    } finally {
      fs.removeSync(folder);
    }
  });
});
