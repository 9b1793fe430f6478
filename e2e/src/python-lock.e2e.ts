import { ChildProcess, spawn } from 'node:child_process';
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

  /**
   * Each case of a lock that an exporter can get wrong, in real Poetry 2 and uv locks made here, installed by the
   * managed environment (neither tool on PATH): idna from a private index on 127.0.0.1 with basic auth (a wheel
   * of the same name and version as the default index's, whose MARK says "private"), six locked at two versions
   * under python_version markers, a git dependency in a subdirectory of its repository (served over git's dumb
   * HTTP by the same server; the root holds another project), an optional extra (colorama) the build does not
   * ask for, and for Poetry a local library named by a [tool.poetry.dependencies] path entry under [project].
   */
  describe('exactly the lock: private sources, hashes, extras, git subdirectories, two versions (managed environment)', () => {
    const USER = 'alice';
    const PASSWORD = 's3cret-pw';
    let server: ChildProcess | undefined;
    let indexDir: string;
    let port: string;
    const six = () => (exec('python3', ['-c', 'import sys; print("1.17.0" if sys.version_info >= (3, 11) else "1.16.0")'], scratch).stdout.trim());
    const deps = ['"idna==3.7"', `"six==1.16.0 ; python_version < '3.11'"`, `"six==1.17.0 ; python_version >= '3.11'"`, '"tl-gitsub"'];
    const head = (name: string, extra: string[]) =>
      `[project]\nname = "${name}"\nversion = "0.1.0"\nrequires-python = ">=3.9,<4"\ndependencies = [${[...deps, ...extra].join(', ')}]\n\n[project.optional-dependencies]\ncolor = ["colorama==0.4.6"]\n`;
    const mainPy = (extra: string) =>
      `import idna\nimport six\nimport tl_gitsub\n${extra ? 'import greetlib\n' : ''}\nprint(getattr(idna, "MARK", "public"), "six", six.__version__, tl_gitsub.MARK${extra ? ', greetlib.hello()' : ''})\n`;
    const poetryCreds = () => ({ POETRY_HTTP_BASIC_PRIVATE_USERNAME: USER, POETRY_HTTP_BASIC_PRIVATE_PASSWORD: PASSWORD });
    const uvCreds = () => ({ UV_INDEX_PRIVATE_USERNAME: USER, UV_INDEX_PRIVATE_PASSWORD: PASSWORD });

    beforeAll(async () => {
      const started = Date.now();
      indexDir = path.join(scratch, 'private-index');
      const repo = path.join(scratch, 'gitsub');
      fs.outputFileSync(path.join(repo, 'pyproject.toml'), '[project]\nname = "wrong-root"\nversion = "0.0.1"\n');
      fs.outputFileSync(
        path.join(repo, 'sub', 'pyproject.toml'),
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n[project]\nname = "tl-gitsub"\nversion = "0.3.0"\n',
      );
      fs.outputFileSync(path.join(repo, 'sub', 'tl_gitsub', '__init__.py'), 'MARK = "from-the-subdirectory"\n');
      const git = (args: string[], cwd: string) => expect(exec('git', ['-c', 'user.email=e2e@stigmer.invalid', '-c', 'user.name=e2e', ...args], cwd).code).toBe(0);
      git(['init', '-q', '-b', 'main'], repo);
      git(['add', '-A'], repo);
      git(['commit', '-qm', 'a package in a subdirectory'], repo);
      fs.ensureDirSync(path.join(indexDir, 'git'));
      git(['clone', '-q', '--bare', repo, path.join(indexDir, 'git', 'sub.git')], scratch);
      git(['update-server-info'], path.join(indexDir, 'git', 'sub.git'));
      server = spawn('python3', [path.join(__dirname, 'helpers', 'private_index.py'), indexDir, USER, PASSWORD, 'idna==3.7'], { stdio: ['ignore', 'pipe', 'inherit'] });
      port = await new Promise<string>((resolve, reject) => {
        server?.stdout?.once('data', (data: Buffer) => resolve(data.toString().trim()));
        server?.once('exit', (code) => reject(new Error(`the private index exited ${code}`)));
      });
      expect(port).toMatch(/^\d+$/);
      const base = `http://127.0.0.1:${port}`;
      const gitSource = `{ git = "${base}/git/sub.git", branch = "main", subdirectory = "sub" }`;

      ws.write('libs/greetlib/project.json', JSON.stringify({ name: 'greetlib' }, null, 2));
      ws.write('libs/greetlib/pyproject.toml', '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n[project]\nname = "greetlib"\nversion = "1.0.0"\n');
      ws.write('libs/greetlib/greetlib/__init__.py', 'def hello():\n    return "greetlib-local"\n');
      ws.write('services/cases-poetry/project.json', JSON.stringify({ name: 'cases-poetry' }, null, 2));
      ws.write('services/cases-poetry/main.py', mainPy('greetlib'));
      ws.write(
        'services/cases-poetry/pyproject.toml',
        `${head('cases-poetry', ['"greetlib"'])}\n[tool.poetry]\npackage-mode = false\n\n[tool.poetry.dependencies]\nidna = { source = "private" }\ntl-gitsub = ${gitSource}\ngreetlib = { path = "../../libs/greetlib", develop = true }\n`,
      );
      ws.write('services/cases-uv/project.json', JSON.stringify({ name: 'cases-uv' }, null, 2));
      ws.write('services/cases-uv/main.py', mainPy(''));
      ws.write(
        'services/cases-uv/pyproject.toml',
        `${head('cases-uv', [])}\n[tool.uv]\npackage = false\n\n[[tool.uv.index]]\nname = "private"\nurl = "${base}/simple/"\nexplicit = true\n\n[tool.uv.sources]\nidna = { index = "private" }\ntl-gitsub = ${gitSource}\n`,
      );
      inService('cases-poetry', 'poetry', poetrySourceArgs(), withPoetry);
      inService('cases-poetry', 'poetry', ['source', 'add', '--priority=explicit', 'private', `${base}/simple/`], withPoetry);
      inService('cases-poetry', 'poetry', ['lock'], { ...withPoetry, ...poetryCreds() });
      inService('cases-uv', 'uv', ['lock'], { ...withUv, ...uvCreds() });
      // The generator re-locks with PyInstaller in the dev group: the tool on PATH, with the source's credentials.
      mustNx(['g', 'stigmer:binary-spec', '--project', 'cases-poetry'], { ...withPoetry, ...poetryCreds() }, 'cases-poetry.generate');
      mustNx(['g', 'stigmer:binary-spec', '--project', 'cases-uv'], { ...withUv, ...uvCreds() }, 'cases-uv.generate');
      for (const lock of ['services/cases-poetry/poetry.lock', 'services/cases-uv/uv.lock']) {
        const text = ws.read(lock);
        expect(text).toContain(`${base}/simple`);
        expect(text.match(/^name = "six"$/gm)).toHaveLength(2);
        expect(text).toMatch(/subdirectory/);
        expect(text).toMatch(/colorama/);
      }
      ws.commit('two services whose locks hold every case');
      timings.casesSetup = Date.now() - started;
    });

    afterAll(() => {
      server?.kill();
    });

    it.each([
      ['cases-poetry', 'poetry.lock', poetryCreds, ` greetlib-local`],
      ['cases-uv', 'uv.lock', uvCreds, ''],
    ])('%s: idna from the private source only, six by its markers, the git subdirectory, no optional package', (project, lockFile, creds, local) => {
      fs.writeFileSync(path.join(indexDir, 'access.log'), '');
      // A fresh uv cache: every file is fetched again, the private one with the credentials.
      const env = { ...neither, ...creds(), UV_CACHE_DIR: fs.mkdtempSync(path.join(scratch, 'uv-cache-')) };
      const build = mustNx(['run', `${project}:build-binary`], env, `${project}.build`);
      expect(build.output).toContain(`installing the 4 packages ${lockFile} pins (uv`);
      expect(build.output).toContain('hashes checked but for tl-gitsub');
      expect(build.output).toContain(`no hash in ${lockFile} for tl-gitsub: installed without a hash check`);
      expect(build.output).toContain('from the source "private" only: idna');
      expect(fs.readFileSync(path.join(indexDir, 'access.log'), 'utf8')).toMatch(/^200 \/files\/idna-3\.7-py3-none-any\.whl$/m);
      expect(runEmpty(`services/${project}/dist/${project}`)).toBe(`private six ${six()} from-the-subdirectory${local}`);
      const venvPython = ws.path('.stigmer', 'venvs', project, 'bin', 'python');
      const probe = 'import importlib.metadata as m, importlib.util as u; print(m.version("six"), m.version("tl-gitsub"), u.find_spec("colorama"), [d.metadata["Name"] for d in m.distributions() if d.metadata["Name"] == "wrong-root"])';
      expect(exec(venvPython, ['-c', probe], scratch).stdout.trim()).toBe(`${six()} 0.3.0 None []`);
      expect(gitStatus()).toBe('');
    });

    it('cases-poetry: the [tool.poetry.dependencies] path entry is a local library: an edge in the graph, installed editable, collected', () => {
      const graphFile = path.join(scratch, 'graph.json');
      ws.mustNx(['graph', `--file=${graphFile}`], neither);
      expect(fs.readJsonSync(graphFile).graph.dependencies['cases-poetry'].map((d: { target: string }) => d.target)).toContain('greetlib');
      expect(ws.read('services/cases-poetry/cases-poetry.spec')).toContain('../../libs/greetlib');
      const where = exec(ws.path('.stigmer', 'venvs', 'cases-poetry', 'bin', 'python'), ['-c', 'import greetlib; print(greetlib.__file__)'], scratch).stdout.trim();
      expect(where).toBe(ws.path('libs', 'greetlib', 'greetlib', '__init__.py'));
    });

    it('checks every hash the lock has: a wrong one fails the build, the binary untouched', () => {
      const project = 'cases-uv';
      const binary = `services/${project}/dist/${project}`;
      const before = sha(binary);
      const lock = `services/${project}/uv.lock`;
      const text = ws.read(lock);
      // Every file of six 1.17.0 (uv takes any file whose hash the lock lists: the sdist's would do).
      const block = /\[\[package\]\]\nname = "six"\nversion = "1\.17\.0"[\s\S]*?(?=\n\[\[package\]\]|$)/.exec(text)?.[0] ?? '';
      expect(block.match(/sha256:[0-9a-f]{64}/g)?.length).toBeGreaterThan(0);
      ws.write(lock, text.replace(block, block.replace(/sha256:[0-9a-f]{64}/g, `sha256:${'0'.repeat(64)}`)));
      try {
        const failed = nx(['run', `${project}:build-binary`, '--skip-nx-cache'], { ...neither, ...uvCreds() });
        expect(failed.code).not.toBe(0);
        expect(failed.output).toMatch(/installing uv\.lock into \S+ failed: .*(sha256|[Hh]ash)/);
        expect(sha(binary)).toBe(before);
      } finally {
        ws.mustRun('git', ['checkout', '--', lock]);
      }
      expect(gitStatus()).toBe('');
    });

    it('a requirements.txt that pins only the direct dependencies is not a lock: the build says so once', () => {
      const project = 'reqs-direct';
      ws.write(`services/${project}/project.json`, JSON.stringify({ name: project }, null, 2));
      ws.write(`services/${project}/requirements.txt`, 'python-dateutil==2.8.2\n');
      ws.write(`services/${project}/main.py`, 'import dateutil\nimport six\n\nprint("dateutil", dateutil.__version__, "six", six.__version__)\n');
      mustNx(['g', 'stigmer:binary-spec', '--project', project], neither, `${project}.generate`);
      ws.commit(`${project}: pins python-dateutil, not its six`);
      const build = mustNx(['run', `${project}:build-binary`], neither, `${project}.build`);
      const notices = build.output.split('\n').filter((line) => line.includes('so it is not a lock'));
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatch(/services\/reqs-direct\/requirements\.txt pins only some of the packages reqs-direct installs \(not six\), so it is not a lock: .*"pip freeze > requirements\.txt"/);
      expect(runEmpty(`services/${project}/dist/${project}`)).toMatch(/^dateutil 2\.8\.2 six \d/);
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
