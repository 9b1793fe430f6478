import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Two builds of the same service resolve its managed environment at the same moment, in two real node
 * processes that load this very source (environment.ts and its imports, transpiled on load). Both see no
 * stamp before the install lock; the stamp is checked again under the lock, so the second one reuses what the
 * first created instead of deleting it while the first one's PyInstaller would be running from it.
 */
describe('resolvePythonEnvironment in two concurrent processes', () => {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-venv-race-'));
  const service = path.join(workspace, 'services', 'tiny');
  const worker = path.join(workspace, 'worker.js');
  const nodeModules = path.join(__dirname, '..', '..', '..', '..', '..', '..', 'node_modules');

  beforeAll(() => {
    fs.mkdirSync(service, { recursive: true });
    // No dependencies: the managed environment gets PyInstaller only.
    fs.writeFileSync(path.join(service, 'pyproject.toml'), '[project]\nname = "tiny"\nversion = "0.1.0"\nrequires-python = ">=3.8"\ndependencies = []\n');
    // worker.js <name>: resolves the environment (log lines on stdout), writes <name>.resolved with the stamp's
    // inode, waits for the other worker's .resolved, then runs the interpreter it was given and says whether
    // the stamp is still the same file.
    fs.writeFileSync(
      worker,
      `const fs = require('fs'); const path = require('path'); const ts = require('typescript');
require.extensions['.ts'] = (module, file) => module._compile(ts.transpileModule(fs.readFileSync(file, 'utf8'), { fileName: file,
  compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText, file);
const { resolvePythonEnvironment } = require(${JSON.stringify(path.join(__dirname, 'environment.ts'))});
const { spawnSync } = require('child_process');
const [name, other] = [process.argv[2], process.argv[3]];
const project = { name: 'tiny', root: 'services/tiny', absRoot: ${JSON.stringify(service)}, workspaceRoot: ${JSON.stringify(workspace)} };
(async () => {
  const env = await resolvePythonEnvironment(project, { environment: 'managed', log: (line) => console.log(name + ': ' + line) });
  const stamp = path.join(env.venvDir, '.stigmer-stamp');
  const inode = fs.statSync(stamp).ino;
  fs.writeFileSync(path.join(__dirname, name + '.resolved'), String(inode));
  while (!fs.existsSync(path.join(__dirname, other + '.resolved'))) await new Promise((r) => setTimeout(r, 100));
  const ran = spawnSync(env.python, ['-c', 'import PyInstaller; print(PyInstaller.__version__)'], { encoding: 'utf8' });
  console.log(name + ' result ' + JSON.stringify({ python: env.python, ran: ran.status, inodeBefore: inode, inodeAfter: fs.statSync(stamp).ino }));
})().catch((e) => { console.error(name + ': ' + e.message); fs.writeFileSync(path.join(__dirname, name + '.resolved'), 'failed'); process.exit(1); });
`,
    );
  });
  afterAll(() => fs.rmSync(workspace, { recursive: true, force: true }));

  function start(name: string, other: string): ChildProcess {
    return spawn(process.execPath, [worker, name, other], { cwd: workspace, env: { ...process.env, NODE_PATH: nodeModules }, stdio: ['ignore', 'pipe', 'pipe'] });
  }
  function finished(child: ChildProcess): Promise<{ code: number | null; output: string }> {
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
  }

  it('creates the environment once; both get it, and it still runs after both resolved', async () => {
    expect(spawnSync('python3', ['-c', 'import venv'], { encoding: 'utf8' }).status).toBe(0);
    const results = await Promise.all([finished(start('a', 'b')), finished(start('b', 'a'))]);
    const output = results.map((r) => r.output).join('\n');
    expect(results.map((r) => r.code)).toEqual([0, 0]);
    // One creation, one reuse decided under the lock (neither found a stamp before it: the install takes seconds).
    expect(output.match(/^[ab]: creating /gm)).toHaveLength(1);
    expect(output.match(/^[ab]: reusing /gm)).toHaveLength(1);
    const reports = ['a', 'b'].map((name) => JSON.parse((new RegExp(`^${name} result (.*)$`, 'm').exec(output) as RegExpExecArray)[1]));
    expect(reports[0].python).toBe(reports[1].python);
    for (const report of reports) {
      expect(report.ran).toBe(0);
      // The environment a process resolved is still the one on disk after the other resolved too: never replaced.
      expect(report.inodeAfter).toBe(report.inodeBefore);
    }
    expect(reports[0].inodeBefore).toBe(reports[1].inodeBefore);
  }, 180_000);
});
