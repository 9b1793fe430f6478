import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { joinPath, treeFiles } from '../../../utils/workspace-files';
import { normalizeDistName, parseRequirement, PythonDependency, readPythonProject, readRequirements } from './project-metadata';

/** A read function over an in-memory set of files, relative to the project root. */
function reader(files: Record<string, string>): (file: string) => string | undefined {
  return (file) => (Object.prototype.hasOwnProperty.call(files, file) ? files[file] : undefined);
}

function byName(dependencies: PythonDependency[], name: string): PythonDependency | undefined {
  return dependencies.find((d) => d.name === name);
}

const POETRY_PYPROJECT = `[tool.poetry]
name = "agent-runner"
version = "1.4.0"
description = "runs agents"

[tool.poetry.dependencies]
python = "^3.11"
pyjwt = "^2.8"            # tokens
grpcio = { version = "^1.60", extras = ["protobuf"], markers = "sys_platform == 'linux'" }
uvicorn = { version = "0.30.1", extras = ["standard", "http"] }
graphton = { path = "../libs/graphton", develop = true }
mylib = { git = "https://github.com/acme/mylib.git", tag = "v1.0" }
branchlib = { git = "https://github.com/acme/branchlib.git", branch = "main" }
anything = "*"

[tool.poetry.group.dev.dependencies]
pytest = "^8.0"
black = "^24"

[tool.poetry.dev-dependencies]
mypy = "^1"

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
`;

describe('readPythonProject: Poetry', () => {
  const metadata = readPythonProject(reader({ 'pyproject.toml': POETRY_PYPROJECT, 'poetry.lock': '# lock' }));

  it('recognises the style, name and version', () => {
    expect(metadata.style).toBe('poetry');
    expect(metadata.name).toBe('agent-runner');
    expect(metadata.version).toBe('1.4.0');
  });

  it('turns the python constraint into PEP 440 and does not list python as a dependency', () => {
    expect(metadata.pythonConstraint).toBe('>=3.11,<4.0');
    expect(byName(metadata.dependencies, 'python')).toBeUndefined();
  });

  it('reads string dependencies as PEP 508 requirements', () => {
    expect(byName(metadata.dependencies, 'pyjwt')).toEqual({ name: 'pyjwt', requirement: 'pyjwt>=2.8,<3.0', declaredIn: 'pyproject.toml' });
    expect(byName(metadata.dependencies, 'anything')?.requirement).toBe('anything');
  });

  it('reads table dependencies with version, extras and markers', () => {
    expect(byName(metadata.dependencies, 'grpcio')?.requirement).toBe("grpcio[protobuf]>=1.60,<2.0; sys_platform == 'linux'");
    expect(byName(metadata.dependencies, 'uvicorn')?.requirement).toBe('uvicorn[standard,http]==0.30.1');
  });

  it('reads path dependencies as local paths without a pip requirement', () => {
    expect(byName(metadata.dependencies, 'graphton')).toEqual({ name: 'graphton', localPath: '../libs/graphton', declaredIn: 'pyproject.toml' });
  });

  it('reads git dependencies as direct references with their ref', () => {
    expect(byName(metadata.dependencies, 'mylib')?.requirement).toBe('mylib @ git+https://github.com/acme/mylib.git@v1.0');
    expect(byName(metadata.dependencies, 'branchlib')?.requirement).toBe('branchlib @ git+https://github.com/acme/branchlib.git@main');
  });

  it('leaves dev groups and legacy dev-dependencies out of the runtime dependencies', () => {
    const names = metadata.dependencies.map((d) => d.name);
    expect(names).toEqual(['pyjwt', 'grpcio', 'uvicorn', 'graphton', 'mylib', 'branchlib', 'anything']);
    expect(names).not.toContain('pytest');
    expect(names).not.toContain('black');
    expect(names).not.toContain('mypy');
  });

  it('sets declaredIn on every dependency', () => {
    expect(metadata.dependencies.every((d) => d.declaredIn === 'pyproject.toml')).toBe(true);
  });

  it('lists pyproject.toml and the lock file as dependency files', () => {
    expect(metadata.dependencyFiles).toEqual(['pyproject.toml', 'poetry.lock']);
    expect(metadata.requirementFiles).toEqual([]);
  });

  it('converts Windows separators of path dependencies', () => {
    const m = readPythonProject(reader({ 'pyproject.toml': '[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\nlib = { path = "..\\\\libs\\\\lib" }\n' }));
    expect(byName(m.dependencies, 'lib')?.localPath).toBe('../libs/lib');
  });

  it('uses the last of several constraints of one dependency', () => {
    const m = readPythonProject(
      reader({
        'pyproject.toml': `[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\nnumpy = [\n  { version = "^1.24", python = "<3.12" },\n  { version = "^2.0", python = ">=3.12" },\n]\n`,
      }),
    );
    expect(byName(m.dependencies, 'numpy')?.requirement).toBe('numpy>=2.0,<3.0');
  });

  it('reads url dependencies as direct references', () => {
    const m = readPythonProject(
      reader({ 'pyproject.toml': `[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\nwheel1 = { url = "https://example.com/wheel1-1.0-py3-none-any.whl" }\n` }),
    );
    expect(byName(m.dependencies, 'wheel1')?.requirement).toBe('wheel1 @ https://example.com/wheel1-1.0-py3-none-any.whl');
  });

  // Regression (found in review): Poetry documents `{ git = "git@github.com:owner/repo.git" }` (scp-like SSH form). It becomes
  // "sshlib @ git+git@github.com:acme/sshlib.git", which is not a URL: pip (packaging <= 25) rejects it
  // with "Invalid requirement ... Invalid URL". The pip form is git+ssh://git@github.com/acme/sshlib.git.
  it('turns an SSH git dependency into a URL pip accepts', () => {
    const m = readPythonProject(
      reader({ 'pyproject.toml': `[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\nsshlib = { git = "git@github.com:acme/sshlib.git" }\n` }),
    );
    expect(byName(m.dependencies, 'sshlib')?.requirement).toBe('sshlib @ git+ssh://git@github.com/acme/sshlib.git');
  });

  // Regression (found in review): Poetry's `subdirectory` key of git dependencies is dropped, so pip installs the repository root
  // instead of the package in the subdirectory. pip needs "#subdirectory=pkg" on the URL.
  it('keeps the subdirectory of a git dependency', () => {
    const m = readPythonProject(
      reader({ 'pyproject.toml': `[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\nsub = { git = "https://github.com/acme/mono.git", subdirectory = "pkg" }\n` }),
    );
    expect(byName(m.dependencies, 'sub')?.requirement).toBe('sub @ git+https://github.com/acme/mono.git#subdirectory=pkg');
  });
});

describe('readPythonProject: PEP 621 and uv', () => {
  const UV_PYPROJECT = `[project]
name = "svc"
version = "0.3.0"
requires-python = ">=3.10"
dependencies = [
  "requests>=2.31",
  "PyYAML==6.0.1; python_version >= '3.8'",
  "mylib @ file:../mylib",
  "lib",
]

[dependency-groups]
dev = ["pytest>=8"]

[tool.uv.sources]
lib = { path = "../lib" }
`;

  it('reads requires-python, dependencies, file: references and uv path sources', () => {
    const m = readPythonProject(reader({ 'pyproject.toml': UV_PYPROJECT }));
    expect(m.style).toBe('uv');
    expect(m.name).toBe('svc');
    expect(m.version).toBe('0.3.0');
    expect(m.pythonConstraint).toBe('>=3.10');
    expect(m.dependencies).toEqual([
      { name: 'requests', requirement: 'requests>=2.31', declaredIn: 'pyproject.toml' },
      { name: 'PyYAML', requirement: "PyYAML==6.0.1; python_version >= '3.8'", declaredIn: 'pyproject.toml' },
      { name: 'mylib', localPath: '../mylib', declaredIn: 'pyproject.toml' },
      { name: 'lib', localPath: '../lib', declaredIn: 'pyproject.toml' },
    ]);
  });

  it('matches uv sources by normalised name', () => {
    const m = readPythonProject(
      reader({ 'pyproject.toml': `[project]\nname = "svc"\ndependencies = ["My_Lib>=1"]\n[tool.uv.sources]\nmy-lib = { path = "../my-lib" }\n` }),
    );
    expect(m.dependencies).toEqual([{ name: 'My_Lib', localPath: '../my-lib', declaredIn: 'pyproject.toml' }]);
  });

  it('is plain PEP 621 without tool.uv or uv.lock, and uv with only a uv.lock', () => {
    const text = `[project]\nname = "svc"\ndependencies = ["requests"]\n`;
    expect(readPythonProject(reader({ 'pyproject.toml': text })).style).toBe('pep621');
    const withLock = readPythonProject(reader({ 'pyproject.toml': text, 'uv.lock': 'version = 1' }));
    expect(withLock.style).toBe('uv');
    expect(withLock.dependencyFiles).toEqual(['pyproject.toml', 'uv.lock']);
  });

  it('keeps optional dependencies and dependency groups out of the runtime dependencies', () => {
    const m = readPythonProject(
      reader({
        'pyproject.toml': `[project]\nname = "svc"\ndependencies = ["requests"]\n[project.optional-dependencies]\nbuild = ["pyinstaller"]\n[dependency-groups]\ndev = ["pytest"]\n`,
      }),
    );
    expect(m.dependencies.map((d) => d.name)).toEqual(['requests']);
  });

  it('reports invalid TOML with the file name', () => {
    expect(() => readPythonProject(reader({ 'pyproject.toml': '[project\nname = ' }))).toThrow(/pyproject\.toml is not valid TOML/);
  });
});

describe('readPythonProject: requirements files', () => {
  const files = {
    'requirements.txt': [
      '# runtime dependencies',
      'requests==2.31.0  # pinned',
      '',
      '-e ../lib',
      '../lib2',
      '-r other.txt',
      '--index-url https://pypi.example.com/simple',
      '--extra-index-url=https://mirror.example.com/simple',
      'PyJWT[crypto]>=2.8 ; python_version >= "3.8"',
    ].join('\n'),
    'other.txt': 'click>=8\r\n# nothing\r\nrequests==1.0\r\n',
  };

  it('reads packages, local paths and includes; ignores comments and pip options', () => {
    const m = readPythonProject(reader(files));
    expect(m.style).toBe('requirements');
    expect(m.requirementFiles).toEqual(['requirements.txt']);
    expect(m.dependencyFiles).toEqual(['requirements.txt']);
    expect(m.dependencies).toEqual([
      { name: 'requests', requirement: 'requests==2.31.0', declaredIn: 'requirements.txt' },
      { name: 'lib', localPath: '../lib', declaredIn: 'requirements.txt' },
      { name: 'lib2', localPath: '../lib2', declaredIn: 'requirements.txt' },
      { name: 'click', requirement: 'click>=8', declaredIn: 'requirements.txt' },
      { name: 'PyJWT', requirement: 'PyJWT[crypto]>=2.8 ; python_version >= "3.8"', declaredIn: 'requirements.txt' },
    ]);
  });

  it('adds requirements dependencies after the pyproject ones, the first declaration winning', () => {
    const m = readPythonProject(
      reader({
        ...files,
        'pyproject.toml': `[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\npython = ">=3.11"\nRequests = "^2.0"\n`,
        'poetry.lock': '',
        'setup.py': '',
      }),
    );
    expect(m.style).toBe('poetry');
    expect(m.dependencyFiles).toEqual(['pyproject.toml', 'requirements.txt', 'poetry.lock', 'setup.py']);
    expect(byName(m.dependencies, 'Requests')).toEqual({ name: 'Requests', requirement: 'Requests>=2.0,<3.0', declaredIn: 'pyproject.toml' });
    expect(byName(m.dependencies, 'requests')).toBeUndefined();
    expect(byName(m.dependencies, 'click')?.declaredIn).toBe('requirements.txt');
  });

  it('lists requirements.in and the other lock files', () => {
    const m = readPythonProject(reader({ 'requirements.in': 'flask\n', 'Pipfile.lock': '{}', 'pdm.lock': '' }));
    expect(m.requirementFiles).toEqual(['requirements.in']);
    expect(m.dependencyFiles).toEqual(['requirements.in', 'pdm.lock', 'Pipfile.lock']);
  });

  it('has style none and nothing declared in an empty folder', () => {
    expect(readPythonProject(reader({}))).toEqual({ style: 'none', dependencies: [], requirementFiles: [], dependencyFiles: [] });
  });
});

describe('readRequirements', () => {
  it('resolves includes relative to the including file and survives include cycles', () => {
    const read = reader({
      'reqs/base.txt': '-r common.txt\nflask\n',
      'reqs/common.txt': '--requirement=base.txt\nitsdangerous\n',
    });
    expect(readRequirements('reqs/base.txt', read).map((d) => d.name)).toEqual(['itsdangerous', 'flask']);
  });

  it('reads --editable and file: paths as local paths named after their folder', () => {
    const deps = readRequirements('r.txt', reader({ 'r.txt': '--editable=../libs/alpha/\nfile:../libs/beta\n/abs/gamma\n' }));
    expect(deps).toEqual([
      { name: 'alpha', localPath: '../libs/alpha/' },
      { name: 'beta', localPath: '../libs/beta' },
      { name: 'gamma', localPath: '/abs/gamma' },
    ]);
  });

  it('returns nothing for a missing file', () => {
    expect(readRequirements('missing.txt', reader({}))).toEqual([]);
  });
});

describe('parseRequirement', () => {
  it('reads the name and keeps the whole requirement', () => {
    expect(parseRequirement("requests[socks]>=2.31; python_version < '3.12'")).toEqual({
      name: 'requests',
      requirement: "requests[socks]>=2.31; python_version < '3.12'",
    });
    expect(parseRequirement('  zope.interface  ')).toEqual({ name: 'zope.interface', requirement: 'zope.interface' });
  });

  it('turns `name @ file:` references into local paths', () => {
    expect(parseRequirement('lib @ file:../lib')).toEqual({ name: 'lib', localPath: '../lib' });
    expect(parseRequirement('lib @ file:///srv/libs/lib')).toEqual({ name: 'lib', localPath: '/srv/libs/lib' });
    expect(parseRequirement("lib @ file:../my%20lib ; python_version > '3'")).toEqual({ name: 'lib', localPath: '../my lib' });
  });

  it('keeps other direct references as requirements', () => {
    expect(parseRequirement('lib @ https://example.com/lib.whl')).toEqual({ name: 'lib', requirement: 'lib @ https://example.com/lib.whl' });
  });

  it('returns undefined for lines that are no requirement', () => {
    expect(parseRequirement('-e ../lib')).toBeUndefined();
    expect(parseRequirement('')).toBeUndefined();
  });
});

describe('normalizeDistName', () => {
  it.each([
    ['PyJWT', 'pyjwt'],
    ['py_jwt', 'py-jwt'],
    ['Py-JWT', 'py-jwt'],
    ['zope.interface', 'zope-interface'],
    ['Foo__Bar.-baz', 'foo-bar-baz'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeDistName(input)).toBe(expected);
  });
});

describe('readPythonProject in a uv workspace', () => {
  const SERVICE = `[project]\nname = "svc"\nversion = "0.2.0"\ndependencies = ["Graph_Ton", "six>=1.15"]\n\n[tool.uv.sources]\ngraph-ton = { workspace = true }\n`;

  function read(files: Record<string, string>, projectRoot: string) {
    const tree = createTreeWithEmptyWorkspace();
    for (const [file, content] of Object.entries(files)) tree.write(file, content);
    const workspace = treeFiles(tree);
    return readPythonProject((file) => workspace.read(joinPath(projectRoot, file)), { files: workspace, projectRoot });
  }

  it('makes a workspace member a local path dependency relative to the service, pinned by the root uv.lock', () => {
    const metadata = read(
      {
        'pyproject.toml': '[tool.uv.workspace]\nmembers = ["apps/*", "libs/*"]\n',
        'uv.lock': 'version = 1\n',
        'apps/svc/pyproject.toml': SERVICE,
        'libs/graphton/pyproject.toml': '[project]\nname = "graph.ton"\nversion = "1.0.0"\n',
      },
      'apps/svc',
    );
    expect(metadata.style).toBe('uv');
    expect(byName(metadata.dependencies, 'Graph_Ton')).toEqual({ name: 'Graph_Ton', localPath: '../../libs/graphton', declaredIn: 'pyproject.toml' });
    expect(byName(metadata.dependencies, 'six')?.requirement).toBe('six>=1.15');
    expect(metadata.uvLock).toBe('../../uv.lock');
    expect(metadata.dependencyFiles).toContain('../../uv.lock');
  });

  it('keeps its own uv.lock first, and gives no local path when the member is not in the workspace or the service is no member', () => {
    const withOwnLock = read(
      {
        'pyproject.toml': '[tool.uv.workspace]\nmembers = ["apps/*"]\n',
        'uv.lock': 'version = 1\n',
        'apps/svc/pyproject.toml': SERVICE,
        'apps/svc/uv.lock': 'version = 1\n',
        'libs/graphton/pyproject.toml': '[project]\nname = "graph-ton"\n',
      },
      'apps/svc',
    );
    expect(withOwnLock.uvLock).toBe('uv.lock');
    expect(byName(withOwnLock.dependencies, 'Graph_Ton')?.localPath).toBeUndefined();
    const notMember = read(
      { 'pyproject.toml': '[tool.uv.workspace]\nmembers = ["libs/*"]\n', 'uv.lock': 'version = 1\n', 'apps/svc/pyproject.toml': SERVICE, 'libs/graphton/pyproject.toml': '[project]\nname = "graph-ton"\n' },
      'apps/svc',
    );
    expect(notMember.uvLock).toBeUndefined();
    expect(byName(notMember.dependencies, 'Graph_Ton')?.localPath).toBeUndefined();
  });

  it("adds the members that its members take from the workspace (not their dev sources), once", () => {
    const metadata = read(
      {
        'pyproject.toml': '[tool.uv.workspace]\nmembers = ["apps/*", "libs/*"]\n',
        'uv.lock': 'version = 1\n',
        'apps/svc/pyproject.toml': SERVICE,
        'libs/graphton/pyproject.toml': '[project]\nname = "graph-ton"\ndependencies = ["core-lib>=1", "six"]\n\n[tool.uv.sources]\ncore_lib = { workspace = true }\ntools = { workspace = true }\n',
        'libs/core/pyproject.toml': '[project]\nname = "core-lib"\ndependencies = ["graph-ton"]\n\n[tool.uv.sources]\ngraph-ton = { workspace = true }\n',
        'libs/tools/pyproject.toml': '[project]\nname = "tools"\n',
      },
      'apps/svc',
    );
    expect(metadata.dependencies.filter((d) => d.localPath)).toEqual([
      { name: 'Graph_Ton', localPath: '../../libs/graphton', declaredIn: 'pyproject.toml' },
      { name: 'core-lib', localPath: '../../libs/core', declaredIn: 'pyproject.toml' },
    ]);
  });

  it('resolves a member for the uv workspace root service itself', () => {
    const metadata = read(
      { 'svc/pyproject.toml': `${SERVICE}\n[tool.uv.workspace]\nmembers = ["libs/*"]\n`, 'svc/uv.lock': 'version = 1\n', 'svc/libs/graphton/pyproject.toml': '[project]\nname = "graph_ton"\n' },
      'svc',
    );
    expect(byName(metadata.dependencies, 'Graph_Ton')?.localPath).toBe('libs/graphton');
    expect(metadata.uvLock).toBe('uv.lock');
  });
});

describe('readPythonProject: Poetry 2 [project] with [tool.poetry.dependencies] sources', () => {
  it('reads a path entry as a local library, whether [project] lists it or not', () => {
    const files: Record<string, string> = {
      'pyproject.toml': `[project]
name = "svc"
version = "1.0.0"
dependencies = ["graphton", "six>=1.16"]

[tool.poetry.dependencies]
graphton = { path = "../../libs/graphton", develop = true }
helper = { path = "..\\\\helper" }
six = { source = "pip-index" }
`,
      'poetry.lock': '',
    };
    const metadata = readPythonProject((file) => files[file]);
    expect(metadata.style).toBe('poetry');
    expect(metadata.dependencies.map(({ name, requirement, localPath }) => ({ name, requirement, localPath }))).toEqual([
      { name: 'graphton', requirement: undefined, localPath: '../../libs/graphton' },
      { name: 'six', requirement: 'six>=1.16', localPath: undefined },
      { name: 'helper', requirement: undefined, localPath: '../helper' },
    ]);
  });
});
