import { parse } from 'smol-toml';
import { PYINSTALLER_VERSION } from '../environment/environment';
import { addPyInstallerDevDependency, pyinstallerPythonRange } from './pyproject-edit';

const POETRY_WITH_DEV = `[tool.poetry]
name = "agent-runner"   # the service
version = "0.1.0"

[tool.poetry.dependencies]
python = "^3.11"
pyjwt = "^2.8"            # comment
grpcio    =   "^1.60"

# Development tools
[tool.poetry.group.dev.dependencies]
# test tools
pytest = "^8.0"   # runner
black="^24"

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
`;

const POETRY_WITHOUT_DEV = `[tool.poetry]
name = "agent-runner"
version = "0.1.0"

[tool.poetry.dependencies]
python = "^3.11"
pyjwt = "^2.8"            # comment
`;

const POETRY_LINE = `pyinstaller = { version = "^${PYINSTALLER_VERSION}", python = ">=3.11,<3.15" }`;

/** The lines of `after` without the ones that mention pyinstaller, joined back: must be `before`, byte for byte. */
function withoutPyInstallerLines(after: string): string {
  return after
    .split('\n')
    .filter((line) => !/pyinstaller/i.test(line))
    .join('\n');
}

function hasBareLf(text: string): boolean {
  return /(^|[^\r])\n/.test(text);
}

describe('pyinstallerPythonRange', () => {
  it("keeps the service's lower bound and caps at what PyInstaller supports", () => {
    expect(pyinstallerPythonRange('>=3.11,<4.0')).toBe('>=3.11,<3.15');
    expect(pyinstallerPythonRange(' <4.0 , >=3.10')).toBe('>=3.10,<3.15');
  });

  it("uses PyInstaller's own range without a lower bound", () => {
    expect(pyinstallerPythonRange(undefined)).toBe('>=3.8,<3.15');
    expect(pyinstallerPythonRange('~=3.11')).toBe('>=3.8,<3.15');
  });
});

describe('addPyInstallerDevDependency: Poetry', () => {
  it('inserts into the existing dev group, keeping every original line byte for byte', () => {
    const edit = addPyInstallerDevDependency(POETRY_WITH_DEV, 'poetry', '>=3.11,<4.0');
    expect(edit.location).toBe('[tool.poetry.group.dev.dependencies]');
    const text = edit.text as string;
    expect(withoutPyInstallerLines(text)).toBe(POETRY_WITH_DEV);
    const lines = text.split('\n');
    const added = lines.indexOf(POETRY_LINE);
    expect(added).toBeGreaterThan(lines.indexOf('[tool.poetry.group.dev.dependencies]'));
    expect(added).toBeLessThan(lines.indexOf('[build-system]'));
    expect(lines[added - 1]).toBe('black="^24"');
    expect(text).toContain('pyjwt = "^2.8"            # comment\n');
    expect(parse(text)).toMatchObject({
      tool: { poetry: { group: { dev: { dependencies: { pytest: '^8.0', black: '^24', pyinstaller: { version: `^${PYINSTALLER_VERSION}`, python: '>=3.11,<3.15' } } } } } },
    });
  });

  it('writes the Python constraint capped at 3.15', () => {
    const text = addPyInstallerDevDependency(POETRY_WITH_DEV, 'poetry', '>=3.11,<4.0').text as string;
    const doc = parse(text) as any;
    expect(doc.tool.poetry.group.dev.dependencies.pyinstaller.python).toBe('>=3.11,<3.15');
  });

  it('appends a new dev group table at the end when there is none', () => {
    const edit = addPyInstallerDevDependency(POETRY_WITHOUT_DEV, 'poetry', '>=3.11,<4.0');
    expect(edit.text).toBe(`${POETRY_WITHOUT_DEV}\n[tool.poetry.group.dev.dependencies]\n${POETRY_LINE}\n`);
  });

  it('is idempotent: a second run returns no text', () => {
    for (const original of [POETRY_WITH_DEV, POETRY_WITHOUT_DEV]) {
      const once = addPyInstallerDevDependency(original, 'poetry', '>=3.11,<4.0').text as string;
      expect(once).toBeDefined();
      expect(addPyInstallerDevDependency(once, 'poetry', '>=3.11,<4.0')).toEqual({ location: '[tool.poetry.group.dev.dependencies]' });
    }
  });

  it('leaves a file alone that declares PyInstaller anywhere in Poetry, in any case', () => {
    const main = '[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\nPyInstaller = "^6"\n';
    expect(addPyInstallerDevDependency(main, 'poetry', undefined).text).toBeUndefined();
    const legacy = '[tool.poetry]\nname = "x"\n[tool.poetry.dev-dependencies]\npyinstaller = "^6"\n';
    expect(addPyInstallerDevDependency(legacy, 'poetry', undefined).text).toBeUndefined();
    const build = '[tool.poetry]\nname = "x"\n[tool.poetry.group.build.dependencies]\npyinstaller = "^6"\n';
    expect(addPyInstallerDevDependency(build, 'poetry', undefined).text).toBeUndefined();
  });

  it('keeps CRLF files CRLF only', () => {
    const crlf = POETRY_WITH_DEV.replace(/\n/g, '\r\n');
    const text = addPyInstallerDevDependency(crlf, 'poetry', '>=3.11,<4.0').text as string;
    expect(text).toContain('black="^24"\r\n' + POETRY_LINE + '\r\n');
    expect(hasBareLf(text)).toBe(false);
    expect(text.split('\r\n').filter((line) => !line.includes('pyinstaller')).join('\r\n')).toBe(crlf);

    const crlfWithout = POETRY_WITHOUT_DEV.replace(/\n/g, '\r\n');
    const appended = addPyInstallerDevDependency(crlfWithout, 'poetry', '>=3.11,<4.0').text as string;
    expect(appended).toBe(`${crlfWithout}\r\n[tool.poetry.group.dev.dependencies]\r\n${POETRY_LINE}\r\n`);
    expect(hasBareLf(appended)).toBe(false);
  });

  it('keeps a missing final newline missing', () => {
    const withDevLast = '[tool.poetry]\nname = "x"\n\n[tool.poetry.group.dev.dependencies]\npytest = "^8"';
    const edited = addPyInstallerDevDependency(withDevLast, 'poetry', undefined).text as string;
    expect(edited.endsWith('\n')).toBe(false);
    expect(edited).toBe(`${withDevLast}\npyinstaller = { version = "^${PYINSTALLER_VERSION}", python = ">=3.8,<3.15" }`);

    const withoutDev = POETRY_WITHOUT_DEV.trimEnd();
    const appended = addPyInstallerDevDependency(withoutDev, 'poetry', '>=3.11,<4.0').text as string;
    expect(appended.endsWith('\n')).toBe(false);
    expect(appended.startsWith(withoutDev)).toBe(true);
    expect(parse(appended)).toMatchObject({ tool: { poetry: { group: { dev: { dependencies: { pyinstaller: { python: '>=3.11,<3.15' } } } } } } });

    const crlfNoFinal = withDevLast.replace(/\n/g, '\r\n');
    const crlfEdited = addPyInstallerDevDependency(crlfNoFinal, 'poetry', undefined).text as string;
    expect(crlfEdited.endsWith('\n')).toBe(false);
    expect(hasBareLf(crlfEdited)).toBe(false);
  });

  it('does not mistake a header inside a multi-line string for the dev table', () => {
    const tricky = '[tool.poetry]\nname = "x"\ndescription = """\n[tool.poetry.group.dev.dependencies]\n"""\n';
    const text = addPyInstallerDevDependency(tricky, 'poetry', undefined).text as string;
    const doc = parse(text) as any;
    expect(doc.tool.poetry.description).toBe('[tool.poetry.group.dev.dependencies]\n');
    expect(doc.tool.poetry.group.dev.dependencies.pyinstaller.version).toBe(`^${PYINSTALLER_VERSION}`);
  });

  it('refuses to write a file it cannot edit without changing anything else', () => {
    // the dev group is an inline table: a [tool.poetry.group.dev.dependencies] header would redefine it
    const inline = '[tool.poetry]\nname = "x"\n\n[tool.poetry.group.dev]\ndependencies = { pytest = "^8" }\n';
    expect(() => addPyInstallerDevDependency(inline, 'poetry', undefined)).toThrow(/by hand/);
  });
});

describe('addPyInstallerDevDependency: uv and PEP 621', () => {
  const requirement = (lowest: string) => `pyinstaller>=${PYINSTALLER_VERSION},<7; python_version >= "${lowest}" and python_version < "3.15"`;

  it('uv: adds a [dependency-groups] table with a dev list', () => {
    const original = '[project]\nname = "svc"\nrequires-python = ">=3.11"\ndependencies = ["requests"]\n';
    const edit = addPyInstallerDevDependency(original, 'uv', '>=3.11');
    expect(edit.location).toBe('[dependency-groups] dev');
    expect(edit.text).toBe(`${original}\n[dependency-groups]\ndev = [${JSON.stringify(requirement('3.11'))}]\n`);
    expect((parse(edit.text as string) as any)['dependency-groups'].dev).toEqual([requirement('3.11')]);
  });

  it('uv: puts the item on its own line in an existing multi-line dev array, keeping the comment', () => {
    const original = '[project]\nname = "svc"\n\n[dependency-groups]\ndev = [\n  "pytest>=8",  # tests\n]\n';
    const text = addPyInstallerDevDependency(original, 'uv', '>=3.11').text as string;
    expect(text).toBe(`[project]\nname = "svc"\n\n[dependency-groups]\ndev = [\n  "pytest>=8",  # tests\n  ${JSON.stringify(requirement('3.11'))},\n]\n`);
    expect(withoutPyInstallerLines(text)).toBe(original);
  });

  it('uv: adds the missing comma after a last item that has a comment', () => {
    const original = '[dependency-groups]\ndev = [\n  "pytest>=8"  # tests\n]\n';
    const text = addPyInstallerDevDependency(original, 'uv', undefined).text as string;
    expect(text).toBe(`[dependency-groups]\ndev = [\n  "pytest>=8",  # tests\n  ${JSON.stringify(requirement('3.8'))},\n]\n`);
    expect((parse(text) as any)['dependency-groups'].dev).toEqual(['pytest>=8', requirement('3.8')]);
  });

  it('uv: adds a dev key to an existing [dependency-groups] table without one', () => {
    const original = '[dependency-groups]\nlint = ["ruff"]\n';
    const text = addPyInstallerDevDependency(original, 'uv', undefined).text as string;
    expect((parse(text) as any)['dependency-groups']).toEqual({ lint: ['ruff'], dev: [requirement('3.8')] });
  });

  it('uses [dependency-groups] for any style once the file has it', () => {
    const original = '[project]\nname = "svc"\n\n[dependency-groups]\ndev = ["pytest"]\n';
    expect(addPyInstallerDevDependency(original, 'pep621', undefined).location).toBe('[dependency-groups] dev');
  });

  it('pep621: adds a build extra in [project.optional-dependencies]', () => {
    const original = '[project]\nname = "svc"\ndependencies = ["requests"]\n';
    const edit = addPyInstallerDevDependency(original, 'pep621', undefined);
    expect(edit.location).toBe('[project.optional-dependencies] build');
    expect(edit.text).toBe(`${original}\n[project.optional-dependencies]\nbuild = [${JSON.stringify(requirement('3.8'))}]\n`);
  });

  it('pep621: appends to an existing single-line build array', () => {
    const original = '[project]\nname = "svc"\n\n[project.optional-dependencies]\nbuild = ["x"]\nserver = ["uvicorn"]\n';
    const text = addPyInstallerDevDependency(original, 'pep621', '>=3.10').text as string;
    expect(text).toBe(`[project]\nname = "svc"\n\n[project.optional-dependencies]\nbuild = ["x", ${JSON.stringify(requirement('3.10'))}]\nserver = ["uvicorn"]\n`);
  });

  it('is idempotent for uv and PEP 621', () => {
    const uv = addPyInstallerDevDependency('[project]\nname = "svc"\n', 'uv', undefined).text as string;
    expect(addPyInstallerDevDependency(uv, 'uv', undefined).text).toBeUndefined();
    const pep = addPyInstallerDevDependency('[project]\nname = "svc"\n', 'pep621', undefined).text as string;
    expect(addPyInstallerDevDependency(pep, 'pep621', undefined).text).toBeUndefined();
  });

  it('keeps CRLF and a missing final newline for uv', () => {
    const original = '[project]\r\nname = "svc"\r\n\r\n[dependency-groups]\r\ndev = [\r\n  "pytest>=8",  # tests\r\n]';
    const text = addPyInstallerDevDependency(original, 'uv', undefined).text as string;
    expect(hasBareLf(text)).toBe(false);
    expect(text.endsWith(']')).toBe(true);
    expect((parse(text) as any)['dependency-groups'].dev).toEqual(['pytest>=8', requirement('3.8')]);
  });

  // Regression (found in review): the marker uses python_version, which is only "major.minor" (3.12). For requires-python ">=3.12.1"
  // it writes `python_version >= "3.12.1"`, which is FALSE on every 3.12.x (PEP 440: 3.12 < 3.12.1), so uv
  // never installs PyInstaller on Python 3.12. It should compare python_full_version (or use "3.12").
  it('writes a marker that is true for a patch-level lower bound', () => {
    const text = addPyInstallerDevDependency('[project]\nname = "svc"\nrequires-python = ">=3.12.1"\n', 'uv', '>=3.12.1').text as string;
    const item: string = (parse(text) as any)['dependency-groups'].dev[0];
    expect(item).not.toMatch(/python_version >= "\d+\.\d+\.\d+"/);
  });
});
