import { addProjectConfiguration, logger, readNxJson, Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { parse } from 'smol-toml';
import { isUneditedGeneratedSpec } from '../../runtimes/python/spec-file/spec-file';
import { binarySpecGenerator } from './generator';

const PYPROJECT = `[tool.poetry]
name = "agent-runner"
version = "0.1.0"   # bumped by CI

[tool.poetry.dependencies]
python = "^3.11"
pyjwt = "^2.8"            # tokens
grpcio = "^1.60"
protobuf = "^4.25"
graphton = { path = "../../libs/graphton", develop = true }

# Development tools
[tool.poetry.group.dev.dependencies]
pytest = "^8.0"   # test runner

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
`;

function setUpService(tree: Tree): void {
  addProjectConfiguration(tree, 'agent-runner', { root: 'apps/agent-runner', targets: {} });
  tree.write('apps/agent-runner/main.py', 'import jwt\nimport graphton\nprint("hi")\n');
  tree.write('apps/agent-runner/pyproject.toml', PYPROJECT);
  tree.write('libs/graphton/pyproject.toml', '[project]\nname = "graphton"\nversion = "0.1.0"\n');
  tree.write('libs/graphton/graphton/__init__.py', '');
  tree.write('libs/graphton/graphton/plugins/__init__.py', '');
  tree.write('libs/graphton/graphton/plugins/echo.py', 'def run(): pass\n');
}

/** Every file of the tree with its content. */
function snapshot(tree: Tree, dir = ''): Record<string, string> {
  const result: Record<string, string> = {};
  for (const name of tree.children(dir)) {
    const p = dir ? `${dir}/${name}` : name;
    if (tree.isFile(p)) result[p] = tree.read(p, 'utf-8') as string;
    else Object.assign(result, snapshot(tree, p));
  }
  return result;
}

describe('binarySpecGenerator', () => {
  let tree: Tree;

  beforeAll(() => {
    // the generator logs what it did; keep the test output quiet
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });

  afterAll(() => jest.restoreAllMocks());

  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
    setUpService(tree);
  });

  it('writes a spec with the hidden imports, the local package and its path', async () => {
    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true });
    expect(tree.exists('apps/agent-runner/agent-runner.spec')).toBe(true);
    const spec = tree.read('apps/agent-runner/agent-runner.spec', 'utf-8') as string;
    // Distributions, turned into modules at build time by the environment that builds.
    expect(spec).toMatch(/distributions = \[\n\s+"pyjwt",\n\s+"grpcio",\n\s+"protobuf",\n\]\nhiddenimports = stigmer_spec\.modules_of\(distributions\)/);
    expect(spec).toMatch(/for package in \[\n\s+"graphton",\n\]:\n\s+hiddenimports \+= collect_submodules\(package\)/);
    // The service's folder and the library are on sys.path before collect_submodules runs.
    expect(spec).toMatch(/PATHS = stigmer_spec\.put_on_path\(\[SERVICE_DIR\] \+ \[os\.path\.join\(SERVICE_DIR, p\) for p in \[\n\s+"\.\.\/\.\.\/libs\/graphton",\n\]\]\)/);
    expect(spec.indexOf('PATHS = stigmer_spec.put_on_path')).toBeLessThan(spec.indexOf('collect_submodules(package)'));
    expect(spec).toContain('ENTRY = "main.py"');
    expect(spec).toContain('hookspath=[stigmer_spec.HOOKS_DIR],');
    expect(spec).toContain('name="agent-runner",');
    expect(isUneditedGeneratedSpec(spec)).toBe(true);
  });

  it('adds PyInstaller to the Poetry dev group, keeping comments and alignment', async () => {
    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true });
    const text = tree.read('apps/agent-runner/pyproject.toml', 'utf-8') as string;
    const withoutAdded = text
      .split('\n')
      .filter((line) => !line.startsWith('pyinstaller ='))
      .join('\n');
    expect(withoutAdded).toBe(PYPROJECT);
    expect(text).toContain('pyjwt = "^2.8"            # tokens\n');
    expect(text).toContain('# Development tools\n');
    const doc = parse(text) as any;
    expect(doc.tool.poetry.group.dev.dependencies.pyinstaller).toEqual({ version: expect.stringMatching(/^\^6\./), python: '>=3.11,<3.15' });
    expect(doc.tool.poetry.group.dev.dependencies.pytest).toBe('^8.0');
  });

  it('ignores the outputs in git and registers the plugin', async () => {
    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true });
    const gitignore = tree.read('apps/agent-runner/.gitignore', 'utf-8') as string;
    expect(gitignore.split('\n')).toEqual(expect.arrayContaining(['dist/', 'build/']));
    // outputs live in dist/ and build/: no bare /<binary> entry that could hide a package of that name
    expect(gitignore.split('\n')).not.toContain('/agent-runner');
    expect((tree.read('.gitignore', 'utf-8') as string).split('\n')).toContain('.stigmer/');
    const plugins = readNxJson(tree)?.plugins ?? [];
    expect(plugins.filter((p) => (typeof p === 'string' ? p : p.plugin) === 'stigmer')).toHaveLength(1);
  });

  it('registers the plugin exactly once and changes nothing when run twice', async () => {
    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true });
    const first = snapshot(tree);
    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true });
    expect(snapshot(tree)).toEqual(first);
    const plugins = readNxJson(tree)?.plugins ?? [];
    expect(plugins.filter((p) => (typeof p === 'string' ? p : p.plugin) === 'stigmer')).toHaveLength(1);
  });

  it('keeps an edited spec without force, and overwrites it with force', async () => {
    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true });
    const fresh = tree.read('apps/agent-runner/agent-runner.spec', 'utf-8') as string;
    const edited = fresh + "a.datas += [('config.yaml', 'config.yaml', 'DATA')]\n";
    tree.write('apps/agent-runner/agent-runner.spec', edited);

    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true });
    expect(tree.read('apps/agent-runner/agent-runner.spec', 'utf-8')).toBe(edited);

    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true, force: true });
    expect(tree.read('apps/agent-runner/agent-runner.spec', 'utf-8')).toBe(fresh);
  });

  it('--layout writes a one-folder spec, keeps it on the next run, and switches an edited spec by its LAYOUT line alone', async () => {
    const specPath = 'apps/agent-runner/agent-runner.spec';
    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true, layout: 'onedir' });
    const onedir = tree.read(specPath, 'utf-8') as string;
    expect(onedir).toContain('\nLAYOUT = "onedir"\n');
    expect(isUneditedGeneratedSpec(onedir)).toBe(true);

    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true });
    expect(tree.read(specPath, 'utf-8')).toBe(onedir);

    const edited = `${onedir}a.datas += [('config.yaml', 'config.yaml', 'DATA')]\n`;
    tree.write(specPath, edited);
    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true, layout: 'onefile' });
    expect(tree.read(specPath, 'utf-8')).toBe(edited.replace(/^LAYOUT = "onedir"$/m, 'LAYOUT = "onefile"'));
  });

  it('--layout refuses a hand-written spec without a LAYOUT line, and onedir for a Node service', async () => {
    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true });
    const handWritten = "a = Analysis(['main.py'])\npyz = PYZ(a.pure)\nexe = EXE(pyz, a.scripts, name='agent-runner')\n";
    tree.write('apps/agent-runner/agent-runner.spec', handWritten);
    await expect(binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true, layout: 'onedir' })).rejects.toThrow(
      /agent-runner\.spec has no LAYOUT line .*: regenerate it with --force --layout onedir/,
    );
    expect(tree.read('apps/agent-runner/agent-runner.spec', 'utf-8')).toBe(handWritten);

    addProjectConfiguration(tree, 'gateway', { root: 'apps/gateway', targets: {} });
    tree.write('apps/gateway/package.json', '{"name":"gateway","main":"src/main.ts"}');
    tree.write('apps/gateway/src/main.ts', 'console.log(1)\n');
    await expect(binarySpecGenerator(tree, { project: 'gateway', runtime: 'node', skipFormat: true, layout: 'onedir' })).rejects.toThrow(
      /--layout onedir is not a layout of Node .*, which builds onefile: drop --layout\./,
    );
  });

  it('regenerates an unedited spec when the service changes', async () => {
    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true });
    tree.write('apps/agent-runner/pyproject.toml', (tree.read('apps/agent-runner/pyproject.toml', 'utf-8') as string).replace('grpcio = "^1.60"\n', 'grpcio = "^1.60"\nPyYAML = "^6"\n'));
    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true });
    expect(tree.read('apps/agent-runner/agent-runner.spec', 'utf-8')).toContain('    "PyYAML",\n');
  });

  it('writes no second spec when a hand-written PyInstaller spec exists', async () => {
    const handWritten = "a = Analysis(['main.py'])\npyz = PYZ(a.pure)\nexe = EXE(pyz, a.scripts, name='runner')\n";
    tree.write('apps/agent-runner/runner.spec', handWritten);
    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true });
    expect(tree.exists('apps/agent-runner/agent-runner.spec')).toBe(false);
    expect(tree.read('apps/agent-runner/runner.spec', 'utf-8')).toBe(handWritten);
  });

  it('uses the name and entry options', async () => {
    tree.write('apps/agent-runner/serve.py', 'print(1)\n');
    await binarySpecGenerator(tree, { project: 'agent-runner', name: 'runner', entry: 'serve.py', skipFormat: true });
    const spec = tree.read('apps/agent-runner/runner.spec', 'utf-8') as string;
    expect(spec).toContain('name="runner",');
    expect(spec).toContain('ENTRY = "serve.py"');
    expect((tree.read('apps/agent-runner/.gitignore', 'utf-8') as string).split('\n')).not.toContain('/runner');
  });

  it('throws for a project that does not exist, pointing at nx show projects', async () => {
    await expect(binarySpecGenerator(tree, { project: 'nope', skipFormat: true })).rejects.toThrow(/nx show projects/);
  });

  it('throws for a project without Python files', async () => {
    addProjectConfiguration(tree, 'docs', { root: 'apps/docs', targets: {} });
    tree.write('apps/docs/README.md', '# docs\n');
    await expect(binarySpecGenerator(tree, { project: 'docs', skipFormat: true })).rejects.toThrow(/no runtime recognised/);
    expect(tree.exists('apps/docs/docs.spec')).toBe(false);
  });

  it('throws for a service without an entry script, mentioning --entry', async () => {
    addProjectConfiguration(tree, 'worker', { root: 'apps/worker', targets: {} });
    tree.write('apps/worker/pyproject.toml', '[project]\nname = "worker"\ndependencies = []\n');
    tree.write('apps/worker/worker/__init__.py', '');
    await expect(binarySpecGenerator(tree, { project: 'worker', skipFormat: true })).rejects.toThrow(/--entry/);
    expect(tree.exists('apps/worker/worker.spec')).toBe(false);
  });

  it('throws when the requested entry does not exist', async () => {
    await expect(binarySpecGenerator(tree, { project: 'agent-runner', entry: 'missing.py', skipFormat: true })).rejects.toThrow(
      /apps\/agent-runner\/missing\.py does not exist/,
    );
    expect(tree.exists('apps/agent-runner/agent-runner.spec')).toBe(false);
  });

  it('handles a requirements.txt service without pyproject.toml', async () => {
    addProjectConfiguration(tree, 'api', { root: 'apps/api', targets: {} });
    tree.write('apps/api/requirements.txt', 'PyYAML==6.0.1\n-e ../../libs/graphton\n');
    tree.write('apps/api/app.py', 'import yaml\n');
    await binarySpecGenerator(tree, { project: 'api', skipFormat: true });
    const spec = tree.read('apps/api/api.spec', 'utf-8') as string;
    expect(spec).toContain('"PyYAML",');
    expect(spec).toContain('"graphton",');
    expect(spec).toContain('"../../libs/graphton",');
    expect(spec).toContain('ENTRY = "app.py"');
    expect(tree.exists('apps/api/pyproject.toml')).toBe(false);
  });

  // Regression (found in review): a requirements.txt service whose pyproject.toml holds only tool settings ([tool.ruff]) has style
  // 'requirements'; addPyInstallerDevDependency then takes the PEP 621 branch and appends
  // [project.optional-dependencies], creating a [project] table without the mandatory `name`, which build
  // backends reject. The managed environment installs PyInstaller itself, so the file should stay as it is.
  it('leaves a tool-settings-only pyproject.toml of a requirements service alone', async () => {
    addProjectConfiguration(tree, 'api', { root: 'apps/api', targets: {} });
    tree.write('apps/api/requirements.txt', 'requests\n');
    tree.write('apps/api/pyproject.toml', '[tool.ruff]\nline-length = 100\n');
    tree.write('apps/api/main.py', 'import requests\n');
    await binarySpecGenerator(tree, { project: 'api', skipFormat: true });
    const doc = parse(tree.read('apps/api/pyproject.toml', 'utf-8') as string) as any;
    expect(doc.project === undefined || typeof doc.project.name === 'string').toBe(true);
  });

  // Regression (found in review): a Poetry 2 service declares its runtime dependencies in [project] and keeps dev tools in Poetry
  // groups (poetry.lock, `poetry install`). readPythonProject classifies it as 'pep621', so PyInstaller goes
  // into [project.optional-dependencies] build, an extra that `poetry install` does not install: the build
  // in the poetry environment then fails with "PyInstaller is not installed".
  it('declares PyInstaller where `poetry install` installs it for a Poetry 2 service', async () => {
    addProjectConfiguration(tree, 'p2', { root: 'apps/p2', targets: {} });
    tree.write(
      'apps/p2/pyproject.toml',
      '[project]\nname = "p2"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["requests>=2"]\n\n[tool.poetry.group.dev.dependencies]\npytest = "^8"\n\n[build-system]\nrequires = ["poetry-core>=2.0"]\nbuild-backend = "poetry.core.masonry.api"\n',
    );
    tree.write('apps/p2/poetry.lock', '# lock\n');
    tree.write('apps/p2/main.py', 'import requests\n');
    await binarySpecGenerator(tree, { project: 'p2', skipFormat: true });
    const doc = parse(tree.read('apps/p2/pyproject.toml', 'utf-8') as string) as any;
    const inPoetryGroup = doc.tool?.poetry?.group?.dev?.dependencies?.pyinstaller !== undefined;
    const inDependencyGroup = (doc['dependency-groups']?.dev ?? []).some((r: string) => r.startsWith('pyinstaller'));
    expect(inPoetryGroup || inDependencyGroup).toBe(true);
  });

  it('takes the entry from [project.scripts] and checks its module exists', async () => {
    addProjectConfiguration(tree, 'api', { root: 'apps/api', targets: {} });
    tree.write('apps/api/pyproject.toml', '[project]\nname = "api"\ndependencies = []\n\n[project.scripts]\napi = "api.cli:main"\n');
    tree.write('apps/api/api/__init__.py', '');
    tree.write('apps/api/api/cli.py', 'import argparse\n\ndef main():\n    argparse.ArgumentParser().parse_args()\n');
    await binarySpecGenerator(tree, { project: 'api', skipFormat: true });
    expect(tree.read('apps/api/api.spec', 'utf-8')).toContain('ENTRY = "api.cli:main"');
    tree.write('apps/api/pyproject.toml', '[project]\nname = "api"\ndependencies = []\n\n[tool.poetry.scripts]\napi = "api.missing:main"\n');
    await expect(binarySpecGenerator(tree, { project: 'api', skipFormat: true, force: true })).rejects.toThrow(/module api\.missing is not in apps\/api/);
  });

  it('refuses an entry module that only defines functions, with the --entry that fixes it', async () => {
    tree.write('apps/agent-runner/agent_runner/__init__.py', '');
    tree.write('apps/agent-runner/agent_runner/cli.py', '"""CLI."""\nimport sys\n\nVERSION = "1"\n\n\ndef main():\n    print(sys.argv)\n');
    await expect(binarySpecGenerator(tree, { project: 'agent-runner', entry: 'agent_runner/cli.py', skipFormat: true })).rejects.toThrow(
      /only defines functions .*pass --entry agent_runner\.cli:main/,
    );
    expect(tree.exists('apps/agent-runner/agent-runner.spec')).toBe(false);
    await binarySpecGenerator(tree, { project: 'agent-runner', entry: 'agent_runner.cli:main', skipFormat: true });
    expect(tree.read('apps/agent-runner/agent-runner.spec', 'utf-8')).toContain('ENTRY = "agent_runner.cli:main"');
  });

  it('proposes a smoke run when the service handles --version', async () => {
    tree.write('apps/agent-runner/main.py', 'import argparse\np = argparse.ArgumentParser()\np.add_argument("--version", action="version", version="0.1.0")\np.parse_args()\n');
    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true });
    expect(tree.read('apps/agent-runner/agent-runner.spec', 'utf-8')).toContain('# stigmer-test: {"args":["--version"],"expectedOutput":"0\\\\.1\\\\.0"}');
  });

  it('--update adds the modules test-binary found missing and keeps the user\'s edits', async () => {
    await binarySpecGenerator(tree, { project: 'agent-runner', skipFormat: true });
    const edited = `${tree.read('apps/agent-runner/agent-runner.spec', 'utf-8')}# my edit\n`;
    tree.write('apps/agent-runner/agent-runner.spec', edited);
    tree.write('apps/agent-runner/build/agent-runner.missing-imports.json', JSON.stringify({ modules: ['redis.asyncio'] }));
    await binarySpecGenerator(tree, { project: 'agent-runner', update: true, skipFormat: true });
    const updated = tree.read('apps/agent-runner/agent-runner.spec', 'utf-8') as string;
    expect(updated).toMatch(/# stigmer: traced imports.*\nhiddenimports \+= \[\n    "redis\.asyncio",\n\]\n# stigmer: end of traced imports/);
    expect(updated).toContain('# my edit\n');
    expect(updated.replace(/\s+"redis\.asyncio",/, '')).toBe(edited);
    // Idempotent: a second --update adds nothing twice.
    await binarySpecGenerator(tree, { project: 'agent-runner', update: true, skipFormat: true });
    expect(tree.read('apps/agent-runner/agent-runner.spec', 'utf-8')).toBe(updated);
  });
});
