import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { CommandResult, exec, lockedVersions, poetrySourceArgs, pythonToolsEnv, toolsBin, Workspace } from './helpers/workspace';

/**
 * The lock is the law, in every environment kind: one small service (it prints the versions of six and idna,
 * both locked BELOW their newest release that the ranges allow, so any re-resolution shows) is built through
 * Poetry (poetry.lock, pinned Poetry 2 on PATH), through uv (uv.lock, pinned uv on PATH) and with neither on
 * PATH (the managed environment installs what poetry.lock pins). Each time: the binary prints the locked
 * versions from an empty folder with an empty environment, git stays clean after build-binary and test-binary,
 * a stale lock is a one-line error naming the command (binary untouched), and the cache follows the
 * interpreter that builds.
 *
 * Only Python 3.11 exists on this machine, so "another interpreter" is a copy of an environment whose
 * sitecustomize.py makes it report 3.12.99 in sys.version (see reportOtherVersion): the key probe and the build
 * see that version, as they would see a real 3.12.
 */
const LOCKED = 'six 1.16.0 idna 3.7';
const PINNED_DEPS = '["six==1.16.0", "idna==3.7"]';
const RANGE_DEPS = '["six>=1.15", "idna>=3.0"]';
const MAIN = 'import idna\nimport six\n\nprint(f"six {six.__version__} idna {idna.__version__}")\n';

function pyproject(name: string, dependencies: string, tail: string): string {
  return `[project]\nname = "${name}"\nversion = "0.1.0"\nrequires-python = ">=3.9,<4"\ndependencies = ${dependencies}\n${tail}`;
}

describe('Python: the lock is the law in every environment kind (e2e)', () => {
  let ws: Workspace;
  let scratch: string;
  let baseEnv: Record<string, string>;
  let withPoetry: Record<string, string>;
  let withUv: Record<string, string>;
  let neither: Record<string, string>;
  const timings: Record<string, number> = {};

  const sha = (file: string) => createHash('sha256').update(fs.readFileSync(ws.path(file))).digest('hex');
  const gitStatus = () => ws.mustRun('git', ['status', '--porcelain']).stdout.trim();
  const nx = (args: string[], env: Record<string, string>) => ws.nx(args, env);
  const mustNx = (args: string[], env: Record<string, string>, label?: string): CommandResult => {
    const result = ws.mustNx(args, env);
    if (label) timings[label] = result.ms;
    return result;
  };
  const inService = (service: string, command: string, args: string[], env: Record<string, string>) => {
    const result = exec(command, args, ws.path('services', service), env);
    if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}:\n${result.output.slice(-3000)}`);
    return result;
  };

  /** Runs the binary from an empty folder with an empty environment: only PATH=/usr/bin:/bin and HOME. */
  function runInEmpty(binary: string, args: string[] = []): CommandResult {
    const empty = fs.mkdtempSync(path.join(scratch, 'run-'));
    return exec('/usr/bin/env', ['-i', 'PATH=/usr/bin:/bin', `HOME=${empty}`, ws.path(binary), ...args], empty);
  }

  function runEmpty(binary: string): string {
    const result = runInEmpty(binary);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return result.stdout.trim();
  }

  /** A sitecustomize.py in `sitePackages` that makes that environment report Python 3.12.99. */
  function reportOtherVersion(sitePackages: string): () => void {
    const file = path.join(sitePackages, 'sitecustomize.py');
    fs.writeFileSync(file, 'import sys\nsys.version = "3.12.99 " + sys.version.split(" ", 1)[1]\n');
    return () => fs.removeSync(file);
  }

  /** Builds with the other interpreter (a cache miss that really builds), then with the real one again (a hit). */
  function expectCacheFollowsInterpreter(project: string, env: Record<string, string>, sitePackages: string, label = `${project}.otherInterpreter`): void {
    const restore = reportOtherVersion(sitePackages);
    try {
      const other = mustNx(['run', `${project}:build-binary`], env, label);
      expect(other.output).not.toMatch(/local cache|existing outputs match the cache/);
    } finally {
      restore();
    }
    const back = mustNx(['run', `${project}:build-binary`], env);
    expect(back.output).toMatch(/local cache|existing outputs match the cache/);
    expect(runEmpty(`services/${project}/dist/${project}`)).toBe(LOCKED);
  }

  /** A changed range makes the lock stale: build-binary fails in one line naming the command; no binary change. */
  function expectStaleLockRefused(project: string, env: Record<string, string>, command: string, edit = '"six>=1.15,<2"'): void {
    const binary = `services/${project}/dist/${project}`;
    const before = sha(binary);
    const file = `services/${project}/pyproject.toml`;
    ws.write(file, ws.read(file).replace('"six>=1.15"', edit));
    try {
      const stale = nx(['run', `${project}:build-binary`, '--skip-nx-cache'], env);
      expect(stale.code).not.toBe(0);
      const line = stale.output.split('\n').find((l) => l.includes(`"${command}"`));
      expect(line).toMatch(new RegExp(`${project}/(poetry|uv)\\.lock does not match pyproject.toml.*run "${command}" in services/${project}`));
      expect(sha(binary)).toBe(before);
    } finally {
      ws.mustRun('git', ['checkout', '--', file]);
    }
    expect(gitStatus()).toBe('');
  }

  beforeAll(() => {
    const started = Date.now();
    const bin = toolsBin();
    expect(exec('sh', ['-c', 'command -v poetry || command -v uv || true'], os.tmpdir()).stdout.trim()).toBe(''); // "neither" must mean neither
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-pylock-scratch-'));
    // One folder per tool, so that a PATH has exactly the tools a case wants (the tools venv's python3 stays out).
    for (const tool of ['poetry', 'uv']) {
      fs.ensureDirSync(path.join(scratch, `${tool}-bin`));
      fs.symlinkSync(path.join(bin, tool), path.join(scratch, `${tool}-bin`, tool));
    }
    baseEnv = { ...pythonToolsEnv(), POETRY_VIRTUALENVS_PATH: path.join(scratch, 'poetry-venvs'), POETRY_NO_INTERACTION: '1' };
    neither = { ...baseEnv, PATH: process.env.PATH as string };
    withPoetry = { ...baseEnv, PATH: `${path.join(scratch, 'poetry-bin')}${path.delimiter}${process.env.PATH}` };
    withUv = { ...baseEnv, PATH: `${path.join(scratch, 'uv-bin')}${path.delimiter}${process.env.PATH}` };

    ws = Workspace.create('pylock');
    ws.mustNx(['g', 'stigmer:init']);
    ws.write('.gitignore', `${ws.read('.gitignore')}.venv/\n`);
    for (const [service, tail] of [
      ['vers-poetry', '\n[tool.poetry]\npackage-mode = false\n'],
      ['vers-uv', '\n[tool.uv]\npackage = false\n'],
    ]) {
      ws.write(`services/${service}/project.json`, JSON.stringify({ name: service }, null, 2));
      ws.write(`services/${service}/main.py`, MAIN);
      ws.write(`services/${service}/pyproject.toml`, pyproject(service, PINNED_DEPS, tail));
    }
    // Lock the pins, then relax them to ranges and lock again: both tools keep what is locked, so the locks
    // hold versions below the newest ones the ranges allow. Poetry gets pip's index as its source.
    inService('vers-poetry', 'poetry', poetrySourceArgs(), withPoetry);
    inService('vers-poetry', 'poetry', ['lock'], withPoetry);
    inService('vers-uv', 'uv', ['lock'], withUv);
    for (const service of ['vers-poetry', 'vers-uv']) {
      const file = `services/${service}/pyproject.toml`;
      ws.write(file, ws.read(file).replace(PINNED_DEPS, RANGE_DEPS));
    }
    inService('vers-poetry', 'poetry', ['lock'], withPoetry);
    inService('vers-uv', 'uv', ['lock'], withUv);
    for (const lock of ['services/vers-poetry/poetry.lock', 'services/vers-uv/uv.lock']) {
      expect(lockedVersions(ws.read(lock))).toMatchObject({ six: '1.16.0', idna: '3.7' });
    }
    ws.commit('two services locked below the newest releases');
    timings.setup = Date.now() - started;
  });

  afterAll(() => {
    if (Object.keys(timings).length) console.log(`python-lock e2e timings (ms): ${JSON.stringify(timings)}`);
    ws?.remove();
    if (scratch && !process.env.STIGMER_KEEP_WORKSPACE) fs.removeSync(scratch);
  });

  describe.each([
    ['poetry', 'vers-poetry', 'poetry.lock', 'poetry lock', () => withPoetry],
    ['uv', 'vers-uv', 'uv.lock', 'uv lock', () => withUv],
  ])('through %s', (tool, project, lockFile, relock, envOf) => {
    it(`the generator re-locks with ${relock}: only PyInstaller's packages are added, locked versions stay`, () => {
      const lock = `services/${project}/${lockFile}`;
      const before = lockedVersions(ws.read(lock));
      const generated = mustNx(['g', 'stigmer:binary-spec', '--project', project], envOf(), `${project}.generate`);
      expect(generated.output).toContain(`stigmer: ${relock} (in services/${project})`);
      const after = lockedVersions(ws.read(lock));
      expect(after).toMatchObject(before);
      expect(after.pyinstaller).toMatch(/^6\./);
      // Nothing else is left to re-lock: the tool agrees the lock is fresh.
      inService(project, tool, tool === 'poetry' ? ['check', '--lock'] : ['lock', '--check'], envOf());
      ws.commit(`${project}: binary spec`);
    });

    it(`builds through ${tool} a binary holding the locked versions, and git stays clean`, () => {
      const build = mustNx(['run', `${project}:build-binary`], envOf(), `${project}.build`);
      expect(build.output).toContain(tool === 'poetry' ? 'poetry check --lock' : 'uv sync --locked');
      expect(runEmpty(`services/${project}/dist/${project}`)).toBe(LOCKED);
      expect(gitStatus()).toBe('');
      mustNx(['run', `${project}:test-binary`], envOf(), `${project}.test`);
      expect(gitStatus()).toBe('');
    });

    it(`refuses a stale ${lockFile} in one line naming "${relock}"`, () => {
      expectStaleLockRefused(project, envOf(), relock);
    });

    it('keys the cache on the interpreter of its environment: a miss for another version, a hit back', () => {
      const python = inService(project, tool, tool === 'poetry' ? ['env', 'info', '--executable'] : ['python', 'find'], envOf()).stdout.trim();
      const sitePackages = exec(python, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], scratch).stdout.trim();
      expect(sitePackages).toContain(tool === 'poetry' ? 'poetry-venvs' : path.join('vers-uv', '.venv'));
      expectCacheFollowsInterpreter(project, envOf(), sitePackages);
      expect(gitStatus()).toBe('');
    });
  });

  describe('with neither tool on PATH (managed environment)', () => {
    const project = 'vers-poetry';
    const binary = `services/${project}/dist/${project}`;

    it('installs exactly what poetry.lock pins, never re-resolving the ranges', () => {
      fs.removeSync(ws.path('services', project, 'dist'));
      const build = mustNx(['run', `${project}:build-binary`, '--skip-nx-cache'], neither, 'managed.build');
      expect(build.output).toMatch(/installing the 2 packages poetry\.lock pins \(uv [\d.]+, --no-deps, hashes checked\)/);
      expect(build.output).not.toMatch(/not pinned/);
      expect(runEmpty(binary)).toBe(LOCKED);
      const venvPython = ws.path('.stigmer', 'venvs', project, 'bin', 'python');
      const installed = exec(venvPython, ['-c', 'import importlib.metadata as m; print(m.version("six"), m.version("idna"), m.version("pyinstaller"))'], scratch).stdout.trim();
      expect(installed).toBe(`1.16.0 3.7 ${lockedVersions(ws.read(`services/${project}/poetry.lock`)).pyinstaller}`);
      expect(gitStatus()).toBe('');
      mustNx(['run', `${project}:test-binary`], neither, 'managed.test');
      expect(gitStatus()).toBe('');
    });

    it('installs exactly what uv.lock pins (uv export of the lock, with hashes), never re-resolving the ranges', () => {
      const uvProject = 'vers-uv';
      fs.removeSync(ws.path('services', uvProject, 'dist'));
      const build = mustNx(['run', `${uvProject}:build-binary`, '--skip-nx-cache'], neither, 'managed.uv.build');
      expect(build.output).toMatch(/installing the 2 packages uv\.lock pins \(uv [\d.]+, --no-deps, hashes checked\)/);
      expect(runEmpty(`services/${uvProject}/dist/${uvProject}`)).toBe(LOCKED);
      const venvPython = ws.path('.stigmer', 'venvs', uvProject, 'bin', 'python');
      const installed = exec(venvPython, ['-c', 'import importlib.metadata as m; print(m.version("six"), m.version("idna"), m.version("pyinstaller"))'], scratch).stdout.trim();
      expect(installed).toBe(`1.16.0 3.7 ${lockedVersions(ws.read(`services/${uvProject}/uv.lock`)).pyinstaller}`);
      expect(gitStatus()).toBe('');
    });

    it('refuses a poetry.lock that lacks a declared dependency in one line naming "poetry lock"', () => {
      // Without Poetry the content-hash cannot be checked: a dependency missing from the lock is what shows.
      expectStaleLockRefused(project, neither, 'poetry lock', '"six>=1.15", "packaging>=20"');
    });

    it('keys the cache on the python3 that creates the environment: a miss for another version, a hit back', () => {
      // A python3 earlier on PATH that reports 3.12.99: a venv of the real one, with the sitecustomize.
      const otherVenv = path.join(scratch, 'other-python');
      exec('python3', ['-m', 'venv', '--without-pip', otherVenv], scratch);
      const sitePackages = exec(path.join(otherVenv, 'bin', 'python3'), ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], scratch).stdout.trim();
      const env = { ...neither, PATH: `${path.join(otherVenv, 'bin')}${path.delimiter}${neither.PATH}` };
      const restore = reportOtherVersion(sitePackages);
      try {
        const other = mustNx(['run', `${project}:build-binary`], env, 'managed.otherInterpreter');
        expect(other.output).not.toMatch(/local cache|existing outputs match the cache/);
      } finally {
        restore();
      }
      const back = mustNx(['run', `${project}:build-binary`], neither);
      expect(back.output).toMatch(/local cache|existing outputs match the cache/);
      expect(runEmpty(binary)).toBe(LOCKED);
    });

    it('keys the cache on the python option of project.json (interpreter kind, a path relative to the workspace root): a miss for another version, a hit back', () => {
      // The managed environment above has PyInstaller and the locked packages: the cheapest real interpreter.
      // Given relative to the workspace root, the build, its probes and the cache key must all run that same file.
      const venvPython = ws.path('.stigmer', 'venvs', project, 'bin', 'python');
      const projectFile = `services/${project}/project.json`;
      ws.write(projectFile, JSON.stringify({ name: project, targets: { 'build-binary': { options: { python: `.stigmer/venvs/${project}/bin/python` } } } }, null, 2));
      try {
        const build = mustNx(['run', `${project}:build-binary`], neither, 'interpreter.build');
        expect(build.output).toContain(`using the interpreter ${venvPython}`);
        expect(runEmpty(binary)).toBe(LOCKED);
        // Same option, same project.json: only the interpreter behind it reports another version.
        const sitePackages = exec(venvPython, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], scratch).stdout.trim();
        expect(sitePackages).toContain(path.join('.stigmer', 'venvs', project));
        expectCacheFollowsInterpreter(project, neither, sitePackages, 'interpreter.otherInterpreter');
      } finally {
        ws.mustRun('git', ['checkout', '--', projectFile]);
      }
      expect(gitStatus()).toBe('');
    });
  });

  describe('a [project.scripts] entry (pyproject-only service, no dependencies, managed environment)', () => {
    const project = 'greet-cli';
    const binary = `services/${project}/dist/${project}`;

    it('becomes the entry of a binary that runs the function and passes its return value on as the exit code', () => {
      ws.write(
        `services/${project}/pyproject.toml`,
        `[project]\nname = "${project}"\nversion = "0.2.0"\nrequires-python = ">=3.9,<4"\ndependencies = []\n\n[project.scripts]\n${project} = "greet_cli.cli:main"\n`,
      );
      ws.write(`services/${project}/greet_cli/__init__.py`, '');
      ws.write(
        `services/${project}/greet_cli/cli.py`,
        'import sys\n\n\ndef main():\n    args = sys.argv[1:]\n    print("hello " + (" ".join(a for a in args if a != "--fail") or "world"))\n    return 3 if "--fail" in args else 0\n',
      );
      ws.commit(`${project}: a console script, no main.py`);
      mustNx(['g', 'stigmer:binary-spec', '--project', project], neither, `${project}.generate`);
      expect(ws.read(`services/${project}/${project}.spec`)).toContain('greet_cli.cli:main');
      ws.commit(`${project}: binary spec`);
      mustNx(['run', `${project}:build-binary`], neither, `${project}.build`);
      const greeted = runInEmpty(binary, ['Ada']);
      expect([greeted.code, greeted.stdout.trim(), greeted.stderr]).toEqual([0, 'hello Ada', '']);
      const failed = runInEmpty(binary, ['Bob', '--fail']);
      expect([failed.code, failed.stdout.trim()]).toEqual([3, 'hello Bob']);
      expect(gitStatus()).toBe('');
    });
  });
});
