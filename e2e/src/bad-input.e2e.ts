import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { CommandResult, exec, Workspace } from './helpers/workspace';

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
    expect(fs.readdirSync(ws.path(service, 'dist')).sort()).toEqual(['agent-runner', 'agent-runner.manifest.json', 'agent-runner.report.html', 'agent-runner.report.json', 'agent-runner.sha256']);
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

  it('build-binary on a project with no spec: the hand-configured target says which generator to run', () => {
    // Inferred targets exist only for projects with a spec, so there Nx answers before the plugin runs
    // ("Cannot find configuration for task"); a target written by hand reaches the executor, which can tell.
    ws.write('services/handmade/project.json', JSON.stringify({ name: 'handmade', targets: { 'build-binary': { executor: 'stigmer:build-binary' } } }));
    ws.write('services/handmade/main.py', 'print("handmade")\n');
    try {
      const handmade = ws.nx(['run', 'handmade:build-binary']);
      expect(handmade.code).not.toBe(0);
      expect(handmade.output).toMatch(/project handmade has no binary spec in services\/handmade: run nx g stigmer:binary-spec --project handmade\./);
    } finally {
      fs.removeSync(ws.path('services/handmade'));
    }
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

  it('a build over its timeout kills what PyInstaller started too, and does not wait for it', () => {
    // A helper that the spec starts and that keeps PyInstaller's output pipe open: killing PyInstaller alone
    // would leave it running, and the build waiting for it to close the pipe.
    const spec = `${service}/agent-runner.spec`;
    const pidFile = ws.path(service, 'helper.pid');
    withEdit(spec, (t) => t.replace('import os\n', `import os\nimport subprocess\nopen(${JSON.stringify(pidFile)}, "w").write(str(subprocess.Popen(["sleep", "120"]).pid))\n`), () => {
      try {
        const started = Date.now();
        expectCleanFailure(ws.nx(['run', 'agent-runner:build-binary', '--timeout=10', '--skip-nx-cache']), /PyInstaller did not finish within the timeout of 10s/);
        expect(Date.now() - started).toBeLessThan(60000);
        const helper = Number(fs.readFileSync(pidFile, 'utf8'));
        expect(stillRunning({ pid: helper, start: startTime(helper) ?? '' })).toBe(false);
      } finally {
        fs.removeSync(pidFile);
      }
    });
  });

  it('the compression cache of run_pyinstaller.py changes no byte of the binary, is keyed on content and pruned', () => {
    // The same small program built through the driver without the compression cache ("-"), then with a cold and a
    // warm cache. (Not against plain PyInstaller: marshal's reference flags follow what the process has imported, so
    // the driver's code objects differ from a plain run's in flags only; the driver's own builds are reproducible.)
    const python = ws.path('.stigmer', 'venvs', 'agent-runner', 'bin', 'python');
    const driver = ws.path('node_modules', 'stigmer', 'python', 'run_pyinstaller.py');
    const proof = ws.path('tmp-cache-proof');
    fs.outputFileSync(path.join(proof, 'hello.py'), 'print("hello")\n');
    const args = ['--noconfirm', '--onefile', '--clean', '--log-level', 'WARN', '--distpath', 'dist', '--workpath', 'work', '--specpath', '.', 'hello.py'];
    const env = { PYTHONHASHSEED: '0', PYTHONDONTWRITEBYTECODE: '1' };
    const build = (command: string[]) => {
      const result = exec(python, [...command, ...args], proof, env);
      expect(result.code).toBe(0);
      return { sha: createHash('sha256').update(fs.readFileSync(path.join(proof, 'dist', 'hello'))).digest('hex'), output: result.output };
    };
    try {
      const version = exec(python, ['-c', `import sys; sys.path.insert(0, ${JSON.stringify(path.dirname(driver))}); import run_pyinstaller, PyInstaller; print(PyInstaller.__version__ in run_pyinstaller.PROVEN_VERSIONS)`], proof);
      expect(version.stdout.trim()).toBe('True');
      const plain = build([driver, '-']);
      const cold = build([driver, 'cache']);
      const entries = fs.readdirSync(path.join(proof, 'cache')).sort();
      expect(entries.length).toBeGreaterThan(5);
      // Named by the sha256 of the content: a copy of libpython elsewhere, with another mtime, would hit the same entry.
      for (const entry of entries) expect(entry).toMatch(/^[0-9a-f]{64}-z\d-/);
      fs.writeFileSync(path.join(proof, 'cache', `${'0'.repeat(64)}-z9-stale`), 'from an older build');
      const warm = build([driver, 'cache']);
      expect(cold.output).not.toContain('compression cache off');
      expect([cold.sha, warm.sha]).toEqual([plain.sha, plain.sha]);
      expect(fs.readdirSync(path.join(proof, 'cache')).sort()).toEqual(entries);
    } finally {
      fs.removeSync(proof);
    }
  });

  it('run_pyinstaller.py leaves PyInstaller alone, with one line, for an unproven version or an unexpected signature', () => {
    const python = ws.path('.stigmer', 'venvs', 'agent-runner', 'bin', 'python');
    const probe = (setup: string) =>
      exec(python, ['-c', [
        'import sys',
        `sys.path.insert(0, ${JSON.stringify(ws.path('node_modules', 'stigmer', 'python'))})`,
        'import run_pyinstaller',
        'from PyInstaller.archive import writers',
        setup,
        'before = writers.CArchiveWriter._write_file',
        'print(run_pyinstaller.install_compression_cache("unused", set()), writers.CArchiveWriter._write_file is before)',
      ].join('\n')], ws.root);
    const unproven = probe('run_pyinstaller.PROVEN_VERSIONS = ("0.0",)');
    expect(unproven.stdout.trim()).toBe('False True');
    expect(unproven.stderr.trim()).toMatch(/^stigmer: compression cache off: not proven byte-identical with PyInstaller \d+\.\d+\.\d+ \(proven: 0\.0\); PyInstaller runs unchanged\.$/);
    const changed = probe('writers.CArchiveWriter._write_file = lambda self, out_fp, src_name, dest_name, typecode, compress=False, extra=None: None');
    expect(changed.stdout.trim()).toBe('False True');
    expect(changed.stderr.trim()).toMatch(/^stigmer: compression cache off: PyInstaller \S+ has an unexpected CArchiveWriter\._write_file\(.*'extra'\); PyInstaller runs unchanged\.$/);
    const changedInit = probe('writers.CArchiveWriter.__init__ = lambda self, filename, entries, pylib_name, extra=None: None');
    expect(changedInit.stdout.trim()).toBe('False True');
    expect(changedInit.stderr.trim()).toMatch(/^stigmer: compression cache off: PyInstaller \S+ has an unexpected CArchiveWriter\.__init__\(.*'extra'\); PyInstaller runs unchanged\.$/);
    expect(probe('pass').stdout.trim()).toBe('True False');
  });

  /** Every process descended from `pid` now, with its start time (so a recycled pid is not mistaken for it). */
  function descendants(pid: number): Array<{ pid: number; start: string; command: string }> {
    const table = new Map<number, { ppid: number; start: string; command: string }>();
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const command = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
        table.set(Number(entry), { ppid: Number(fields[1]), start: fields[19], command });
      } catch {
        // exited while we looked
      }
    }
    const found: Array<{ pid: number; start: string; command: string }> = [];
    const queue = [pid];
    while (queue.length) {
      const parent = queue.shift() as number;
      for (const [child, info] of table) {
        if (info.ppid === parent) {
          found.push({ pid: child, start: info.start, command: info.command });
          queue.push(child);
        }
      }
    }
    return found;
  }

  function startTime(pid: number): string | undefined {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    } catch {
      return undefined;
    }
  }

  /** Still running: same pid, same start time, not a zombie. */
  function stillRunning(proc: { pid: number; start: string }): boolean {
    try {
      const stat = fs.readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return fields[0] !== 'Z' && fields[19] === proc.start;
    } catch {
      return false;
    }
  }

  it.each(['SIGTERM', 'SIGINT'] as const)('a build whose nx gets %s mid-way stops its whole process tree and leaves nothing half-built', async (signal) => {
    // The spec (Python that PyInstaller runs) starts a long-lived helper: a grandchild of the executor, as
    // PyInstaller's and npm's own children are (theirs live too briefly to catch reliably).
    const spec = `${service}/agent-runner.spec`;
    const original = ws.read(spec);
    ws.write(spec, original.replace('import os\n', 'import os\nimport subprocess\nsubprocess.Popen(["sleep", "300"])\n'));
    let tree: ReturnType<typeof descendants> = [];
    try {
      // Not detached: the signal goes to the nx process alone, as `kill <pid>` or a supervisor sends it, never to a group.
      const child = spawn(process.execPath, [fs.realpathSync(ws.path('node_modules', '.bin', 'nx')), 'run', 'agent-runner:build-binary', '--skip-nx-cache', '--clean'], {
        cwd: ws.root,
        env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
      });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      let exited = false;
      const closed = new Promise<number | null>((resolve) => child.on('close', (c) => ((exited = true), resolve(c))));
      const pid = child.pid as number;
      const started = Date.now();
      while (!tree.some((p) => p.command === 'sleep 300')) {
        if (exited || Date.now() - started > 120000) throw new Error(`the spec's helper never started:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        tree = descendants(pid);
      }
      expect(tree.some((p) => p.command.includes('run_pyinstaller'))).toBe(true);
      process.kill(pid, signal);
      expect(await closed).not.toBe(0);
      // Give the kernel a moment to reap; any survivor after that is an orphan the plugin left behind.
      const deadline = Date.now() + 5000;
      while (tree.some(stillRunning) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(tree.filter(stillRunning).map((p) => `${p.pid} ${p.command}`)).toEqual([]);
      expect(sha(binary)).toBe(goodSha);
      expect(fs.readdirSync(ws.path(service, 'dist')).filter((f) => f.startsWith('.stigmer-staging'))).toEqual([]);
    } finally {
      ws.write(spec, original);
      for (const survivor of tree.filter(stillRunning)) process.kill(survivor.pid, 'SIGKILL');
    }
  });

  it('the next build after those interruptions works from what they left', () => {
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

  it('strip missing from PATH: the build works and says in one line that libraries ship unstripped; the next build with strip is stripped again', () => {
    // Every command of PATH but strip (binutils missing), as on a slim image.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-path-'));
    for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter((d) => fs.existsSync(d))) {
      for (const name of fs.readdirSync(dir)) {
        if (name !== 'strip' && !fs.existsSync(path.join(bin, name))) fs.symlinkSync(path.join(dir, name), path.join(bin, name));
      }
    }
    try {
      const unstripped = ws.mustNx(['run', 'agent-runner:build-binary', '--skip-nx-cache'], { PATH: bin });
      expect(unstripped.output).toMatch(/strip is not on PATH, so \d+ libraries \(.*\) ship unstripped, bigger and slower to start: install binutils \(the package with strip\), or set STRIP = False in agent-runner\.spec\./);
      expect(ws.run(ws.path(binary), ['--version']).stdout.trim()).toBe('agent-runner 0.3.1');
      expect(sha(binary)).not.toBe(goodSha);
      // PyInstaller would have cached the unstripped libraries as stripped ones: the next build must not reuse them.
      ws.mustNx(['run', 'agent-runner:build-binary', '--skip-nx-cache']);
      expect(sha(binary)).toBe(goodSha);
    } finally {
      fs.removeSync(bin);
    }
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
