import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { CommandResult, Workspace } from './helpers/workspace';

/**
 * Bad input and faults, each as a user meets it: a clear one-line error (what is wrong, how to fix it),
 * a non-zero exit, no partial binary or staging folder left, the last good binary untouched, and the next
 * good build working. The table in README.md ("Bad input and faults") lists the same cases.
 */
describe('bad input and faults (e2e)', () => {
  let ws: Workspace;
  const service = 'services/agent-runner';
  const binary = `${service}/dist/agent-runner`;
  let goodSha: string;

  beforeAll(() => {
    ws = Workspace.create('faults');
    ws.addExamplePythonService();
    ws.mustNx(['g', 'stigmer:init']);
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'agent-runner']);
    ws.commit('example');
    ws.mustNx(['run', 'agent-runner:build-binary']);
    goodSha = sha(binary);
  });

  afterAll(() => ws?.remove());

  function sha(file: string): string {
    return createHash('sha256').update(fs.readFileSync(ws.path(file))).digest('hex');
  }

  /** The contract of every failure: non-zero exit, the expected line, last good binary kept, no staging. */
  function expectCleanFailure(result: CommandResult, message: RegExp): void {
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(message);
    expect(sha(binary)).toBe(goodSha);
    expect(fs.readdirSync(ws.path(service, 'dist')).sort()).toEqual(['agent-runner', 'agent-runner.manifest.json', 'agent-runner.sha256']);
  }

  /** Edits a file for one case and always puts it back. */
  function withEdit(file: string, edit: (text: string) => string, body: () => void): void {
    const original = ws.read(file);
    ws.write(file, edit(original));
    try {
      body();
    } finally {
      ws.write(file, original);
    }
  }

  it('a project that does not exist', () => {
    const result = ws.nx(['run', 'no-such-service:build-binary']);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/Cannot find project 'no-such-service'/);
  });

  it('a project with no recognisable runtime (generator)', () => {
    ws.write('apps/docs/project.json', JSON.stringify({ name: 'docs' }));
    ws.write('apps/docs/README.md', '# docs\n');
    const result = ws.nx(['g', 'stigmer:binary-spec', '--project', 'docs']);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/no runtime recognised in apps\/docs .*: pass --runtime/);
    expect(fs.existsSync(ws.path('apps/docs/docs.spec'))).toBe(false);
  });

  it('options of the wrong type, and unknown options (schema)', () => {
    const wrongType = ws.nx(['run', 'agent-runner:test-binary', '--sizeBudgetMb=big']);
    expect(wrongType.code).not.toBe(0);
    expect(wrongType.output).toMatch(/sizeBudgetMb/);
    expect(wrongType.output).toMatch(/number/);
    const unknown = ws.nx(['run', 'agent-runner:build-binary', '--colour=red']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.output).toMatch(/colour/);
  });

  it('a spec path outside the project', () => {
    expectCleanFailure(ws.nx(['run', 'agent-runner:build-binary', '--spec=../../../etc/passwd']), /spec '\.\.\/\.\.\/\.\.\/etc\/passwd' is outside project agent-runner: give a path inside services\/agent-runner/);
  });

  it('a spec with a module that cannot be found', () => {
    withEdit(`${service}/agent-runner.spec`, (t) => t.replace('hiddenimports += [\n]', 'hiddenimports += [\n    "no_such_module_xyz",\n]'), () => {
      expectCleanFailure(ws.nx(['run', 'agent-runner:build-binary']), /agent-runner\.spec names 'no_such_module_xyz', which the build environment cannot import: install the package that provides it .* or remove it from hiddenimports/);
    });
  });

  it('a missing entry script', () => {
    withEdit(`${service}/agent-runner.spec`, (t) => t.replace('"main.py"', '"missing_main.py"'), () => {
      expectCleanFailure(ws.nx(['run', 'agent-runner:build-binary']), /PyInstaller failed on agent-runner\.spec: .*missing_main\.py.*: check the paths in the spec/);
    });
  });

  it('a Python too old for the service', () => {
    withEdit(`${service}/pyproject.toml`, (t) => t.replace('python = "^3.11"', 'python = "^3.99"'), () => {
      expectCleanFailure(ws.nx(['run', 'agent-runner:build-binary']), /Python 3\.\d+\.\d+ does not satisfy agent-runner's python constraint '>=3\.99,<4\.0': install a matching Python and set the build-binary option "python" to it/);
    });
  });

  it('python3 missing from PATH', () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-path-'));
    // A machine without Python still has node and a shell (Nx runs runtime inputs through sh).
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
    try {
      expectCleanFailure(ws.nx(['run', 'agent-runner:build-binary', '--skip-nx-cache'], { PATH: bin }), /python3 was not found: install Python 3 \(3\.8 to 3\.14\), or set the build-binary option "python"/);
    } finally {
      fs.removeSync(bin);
    }
  });

  it('an interpreter without PyInstaller', () => {
    const python = ws.mustRun('python3', ['-c', 'import sys; print(sys.executable)']).stdout.trim();
    const result = ws.nx(['run', 'agent-runner:build-binary', `--python=${python}`]);
    expectCleanFailure(result, /PyInstaller is not installed in the interpreter environment \(.*\): install it: .* -m pip install pyinstaller==6\.22\.3/);
  });

  it('a file where the output folder should be', () => {
    const dist = ws.path(service, 'dist');
    fs.moveSync(dist, `${dist}.kept`);
    fs.writeFileSync(dist, 'not a folder');
    try {
      const result = ws.nx(['run', 'agent-runner:build-binary', '--skip-nx-cache']);
      expect(result.code).not.toBe(0);
      expect(result.output).toMatch(/cannot write into .*dist \((ENOTDIR|EEXIST)\): a file stands where the output folder should be: move it away/);
      expect(fs.readFileSync(dist, 'utf8')).toBe('not a folder');
    } finally {
      fs.removeSync(dist);
      fs.moveSync(`${dist}.kept`, dist);
    }
  });

  it('a build over its timeout', () => {
    expectCleanFailure(ws.nx(['run', 'agent-runner:build-binary', '--timeout=1', '--clean']), /PyInstaller did not finish within the timeout of 1s: raise the "timeout" option/);
  });

  it('a build killed mid-way (SIGTERM) leaves nothing half-built, and the next build succeeds', async () => {
    const child = spawn(ws.path('node_modules', '.bin', 'nx'), ['run', 'agent-runner:build-binary', '--skip-nx-cache', '--clean'], {
      cwd: ws.root,
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    await new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const poll = setInterval(() => {
        if (/\[stigmer\] (analyse|bundle)\.\.\./.test(output)) {
          clearInterval(poll);
          process.kill(-(child.pid as number), 'SIGTERM');
          resolve();
        } else if (Date.now() - started > 120000) {
          clearInterval(poll);
          reject(new Error(`the build never started:\n${output}`));
        }
      }, 100);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code).not.toBe(0);
    expect(sha(binary)).toBe(goodSha);
    expect(fs.readdirSync(ws.path(service, 'dist')).filter((f) => f.startsWith('.stigmer-staging'))).toEqual([]);
    // No PyInstaller left running, and the next build works from what was left.
    expect(ws.run('pgrep', ['-f', `${ws.root}/.*run_pyinstaller`]).stdout.trim()).toBe('');
    ws.mustNx(['run', 'agent-runner:build-binary', '--skip-nx-cache']);
    expect(ws.run(ws.path(binary), ['--version']).stdout.trim()).toBe('agent-runner 0.3.1');
    goodSha = sha(binary);
  });

  it('a damaged managed environment is detected and rebuilt', () => {
    const venv = ws.path('.stigmer', 'venvs', 'agent-runner');
    const sitePackages = path.join(venv, 'lib', fs.readdirSync(path.join(venv, 'lib'))[0], 'site-packages');
    fs.removeSync(path.join(sitePackages, 'PyInstaller'));
    const result = ws.mustNx(['run', 'agent-runner:build-binary', '--skip-nx-cache']);
    expect(result.output).toContain('the managed environment is damaged: recreating it');
    expect(ws.run(ws.path(binary), ['--version']).stdout.trim()).toBe('agent-runner 0.3.1');
    goodSha = sha(binary);
  });

  it('a service whose folder and name hold spaces, quotes, $(), ; and non-ASCII builds, and runs no command', () => {
    const root = `services/odd dir $(touch PWNED); it's ü`;
    ws.write(`${root}/project.json`, JSON.stringify({ name: 'odd-service' }));
    ws.write(`${root}/pyproject.toml`, '[project]\nname = "odd-service"\nversion = "1.0.0"\ndependencies = []\n');
    ws.write(`${root}/main.py`, 'print("odd ok ü")\n');
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'odd-service', '--name', 'odd-service']);
    ws.mustNx(['run', 'odd-service:build-binary']);
    expect(ws.run(ws.path(root, 'dist', 'odd-service'), []).stdout.trim()).toBe('odd ok ü');
    const pwned = ws.run('find', [ws.root, '/tmp', '-maxdepth', '3', '-name', 'PWNED']);
    expect(pwned.stdout.trim()).toBe('');
  });

  it('a spec value cannot inject Python: a hostile entry name stays one string literal', () => {
    ws.write('services/inject/project.json', JSON.stringify({ name: 'inject' }));
    ws.write('services/inject/x"); import os; os.system("touch PWNED2"); ("y.py', 'print("inject ok")\n');
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'inject', '--runtime', 'python', '--entry', 'x"); import os; os.system("touch PWNED2"); ("y.py']);
    ws.mustNx(['run', 'inject:build-binary']);
    expect(ws.run(ws.path('services/inject/dist/inject'), []).stdout.trim()).toBe('inject ok');
    expect(ws.run('find', [ws.root, '-name', 'PWNED2']).stdout.trim()).toBe('');
  });
});
