import {
  binaryNameFromSpec,
  DEFAULT_EXCLUDES,
  isUneditedGeneratedSpec,
  layoutOfSpec,
  looksLikePyInstallerSpec,
  addTracedImports,
  entryOfSpec,
  pyString,
  PythonSpecModel,
  renderPythonSpec,
  smokeProposalOf,
  tracedImportsOf,
  unknownLayoutOf,
  withLayout,
} from './spec-file';

function model(overrides: Partial<PythonSpecModel> = {}): PythonSpecModel {
  return {
    projectName: 'agent-runner',
    binaryName: 'agent-runner',
    entry: 'main.py',
    pathex: ['../../libs/graphton'],
    distributions: ['pyjwt', 'grpcio', 'protobuf'],
    collectSubmodules: ['graphton'],
    excludes: ['tkinter', 'matplotlib'],
    ...overrides,
  };
}

/** Python string literals (double-quoted, with escapes) in one line of code. */
function stringTokens(line: string): string[] {
  return line.match(/"(?:[^"\\\n]|\\.)*"/g) ?? [];
}

/** The text between `name = [` ... `]` of a top-level list assignment or loop. */
function listAfter(spec: string, opening: string): string {
  const start = spec.indexOf(opening);
  expect(start).toBeGreaterThanOrEqual(0);
  const open = spec.indexOf('[', start + opening.length - 1);
  const close = spec.indexOf(']', open);
  return spec.slice(open, close + 1);
}

describe('renderPythonSpec', () => {
  const spec = renderPythonSpec(model());

  it('lists the declared distributions and turns them into modules at build time', () => {
    expect(listAfter(spec, 'distributions = [')).toBe('[\n    "pyjwt",\n    "grpcio",\n    "protobuf",\n]');
    expect(spec).toContain('hiddenimports = stigmer_spec.modules_of(distributions)\n');
  });

  it('puts the service and library paths on sys.path before collecting submodules', () => {
    expect(spec).toMatch(/for package in \[\n\s+"graphton",\n\]:\n\s+hiddenimports \+= collect_submodules\(package\)/);
    expect(spec.indexOf('stigmer_spec.put_on_path(')).toBeLessThan(spec.indexOf('collect_submodules(package)'));
    expect(spec).toContain('pathex=PATHS,');
  });

  it('copies the metadata of the distributions', () => {
    expect(spec).toMatch(/for distribution in distributions:\n\s+datas \+= copy_metadata\(distribution\)/);
  });

  it('points PyInstaller at the hooks shipped with the plugin, and fails clearly without stigmer', () => {
    expect(spec).toContain('hookspath=[stigmer_spec.HOOKS_DIR],');
    expect(spec).toMatch(/except ImportError:\n\s+raise SystemExit\("agent-runner\.spec is built by stigmer: run \\"nx run agent-runner:build-binary\\"/);
  });

  it("swaps PyInstaller's inspect run-time hook for stigmer's lazy one, after Analysis and before the archive; keeps noarchive and optimize off", () => {
    const swap = spec.indexOf('\na.scripts = stigmer_spec.lazy_inspect_hook(a.scripts)\n');
    expect(swap).toBeGreaterThan(spec.indexOf('a = Analysis('));
    expect(swap).toBeLessThan(spec.indexOf('pyz = PYZ(a.pure)'));
    // Measured for start-up and left off (docs/python.md, "Start-up").
    expect(spec).toContain('    noarchive=False,\n    optimize=0,\n)');
  });

  it('lists the excludes, less what the service declares, and passes them to Analysis', () => {
    expect(listAfter(spec, 'excludes = stigmer_spec.without_declared([')).toBe('[\n    "tkinter",\n    "matplotlib",\n]');
    expect(spec).toContain('excludes=excludes,');
  });

  it('puts the entry, the local library paths and the binary name in place', () => {
    expect(spec).toContain('ENTRY = "main.py"\n');
    expect(spec).toContain('[stigmer_spec.entry_script(ENTRY, SERVICE_DIR, workpath)]');
    expect(entryOfSpec(spec)).toBe('main.py');
    expect(entryOfSpec(renderPythonSpec(model({ entry: 'api.cli:main' })))).toBe('api.cli:main');
    expect(entryOfSpec("a = Analysis(['serve.py'])")).toBe('serve.py');
    expect(spec).toContain('"../../libs/graphton",');
    expect(spec).toMatch(/\nelse:\n    exe = EXE\([\s\S]*\n        name="agent-runner",\n[\s\S]*\n    \)\n$/);
  });

  it('renders empty lists as []', () => {
    const empty = renderPythonSpec(model({ distributions: [], collectSubmodules: [], excludes: [], pathex: [] }));
    expect(empty).toContain('distributions = []\n');
    expect(empty).toContain('for package in []:');
    expect(empty).toContain('without_declared([], hiddenimports)');
    expect(empty).toContain('for p in []])');
  });

  it('writes a proposed smoke run that reads back, and none when there is none', () => {
    const withSmoke = renderPythonSpec(model({ smoke: { args: ['--version'], expectedOutput: '1\\.4\\.0' } }));
    expect(smokeProposalOf(withSmoke)).toEqual({ args: ['--version'], expectedOutput: '1\\.4\\.0' });
    expect(smokeProposalOf(spec)).toBeUndefined();
    expect(smokeProposalOf('# stigmer-test: {"args": "not a list"}\n')).toBeUndefined();
    expect(smokeProposalOf('# stigmer-test: {broken\n')).toBeUndefined();
  });

  it('is a PyInstaller spec, whose binary name reads back', () => {
    expect(looksLikePyInstallerSpec(spec)).toBe(true);
    expect(binaryNameFromSpec(spec, 'agent-runner.spec')).toBe('agent-runner');
    expect(binaryNameFromSpec(renderPythonSpec(model({ binaryName: 'runner-2.x' })), 'agent-runner.spec')).toBe('runner-2.x');
  });

  it('is deterministic', () => {
    expect(renderPythonSpec(model())).toBe(spec);
  });

  it('has DEFAULT_EXCLUDES without anything a service declares commonly', () => {
    expect(DEFAULT_EXCLUDES).toContain('tkinter');
    expect(DEFAULT_EXCLUDES).not.toContain('requests');
  });
});

describe('isUneditedGeneratedSpec', () => {
  const spec = renderPythonSpec(model());

  it('is true for a freshly generated spec', () => {
    expect(spec.split('\n')[1]).toMatch(/^# stigmer-checksum: [0-9a-f]{64}$/);
    expect(isUneditedGeneratedSpec(spec)).toBe(true);
  });

  it('is true for a fresh spec checked out with CRLF line endings', () => {
    expect(isUneditedGeneratedSpec(spec.replace(/\n/g, '\r\n'))).toBe(true);
  });

  it('is false after any edit', () => {
    expect(isUneditedGeneratedSpec(spec + 'print("hi")\n')).toBe(false);
    expect(isUneditedGeneratedSpec(spec.replace('"pyjwt"', '"pyjwt2"'))).toBe(false);
    expect(isUneditedGeneratedSpec(spec.replace('console=True', 'console=False'))).toBe(false);
    expect(isUneditedGeneratedSpec(spec.slice(0, -1))).toBe(false);
  });

  it('is false when the checksum line is changed or missing', () => {
    const lines = spec.split('\n');
    expect(isUneditedGeneratedSpec([lines[0], ...lines.slice(2)].join('\n'))).toBe(false);
    expect(isUneditedGeneratedSpec(spec.replace(/stigmer-checksum: [0-9a-f]{4}/, 'stigmer-checksum: 0000'))).toBe(false);
    expect(isUneditedGeneratedSpec('a = Analysis([])\nexe = EXE(pyz, name="x")\n')).toBe(false);
  });
});

describe('pyString', () => {
  it('escapes quotes, backslashes and line breaks', () => {
    expect(pyString('plain')).toBe('"plain"');
    expect(pyString('a"b')).toBe('"a\\"b"');
    expect(pyString('a\\b')).toBe('"a\\\\b"');
    expect(pyString('a\nb\rc')).toBe('"a\\nb\\rc"');
    expect(pyString('x\u2028y\u2029z')).toBe('"x\\u2028y\\u2029z"');
    expect(pyString("it's")).toBe('"it\'s"');
  });

  it('keeps a hostile binary name one string literal in the rendered spec', () => {
    const hostile = 'x"); import os; os.system("echo pwned';
    const spec = renderPythonSpec(model({ binaryName: hostile, entry: 'main.py"); import os; #\nos.system("x' }));
    const literal = '"x\\"); import os; os.system(\\"echo pwned"';
    expect(pyString(hostile)).toBe(literal);
    expect(spec).toContain(`        name=${literal},\n`);

    // the EXE(...) of each layout, and COLLECT(...): each holds the name as one literal
    const nameLines = spec.split('\n').filter((line) => /\bname=/.test(line) && !line.trimStart().startsWith('#'));
    expect(nameLines).toHaveLength(3);
    for (const line of nameLines) {
      const tokens = stringTokens(line.slice(line.indexOf('name=')));
      expect(tokens).toHaveLength(1);
      expect(JSON.parse(tokens[0])).toBe(hostile);
    }
    expect(nameLines[0].replace(stringTokens(nameLines[0])[0], '')).toBe('        name=,');

    // the entry stays one literal too, on one line
    const entryLine = spec.split('\n').find((line) => line.startsWith('ENTRY = "main.py'));
    expect(entryLine).toBeDefined();
    expect(stringTokens(entryLine as string)).toHaveLength(1);
    // nothing of the hostile values reaches code outside a string or comment
    expect(spec.split('\n').filter((line) => /^\s*(import os;|os\.system)/.test(line))).toEqual([]);
  });

  it('keeps line breaks of names out of the comment lines', () => {
    const spec = renderPythonSpec(model({ projectName: 'svc\nimport os', binaryName: 'svc' }));
    expect(spec.split('\n').filter((line) => line.startsWith('import os'))).toEqual(['import os']);
  });
});

describe('binaryNameFromSpec', () => {
  const handWritten = `a = Analysis(['main.py'], pathex=[], name='not-this')
pyz = PYZ(a.pure)
exe = EXE(
    pyz,
    a.scripts,
    name='foo',
    console=True,
)
coll = COLLECT(exe, name='folder')
`;

  it('reads name= of the EXE call', () => {
    expect(binaryNameFromSpec(handWritten, 'apps/svc/other.spec')).toBe('foo');
    expect(binaryNameFromSpec('exe = EXE(pyz, a.scripts, name="bar", console=True)', 'x.spec')).toBe('bar');
  });

  it("falls back to the spec file's base name", () => {
    expect(binaryNameFromSpec('a = Analysis([])\nexe = EXE(pyz, a.scripts)\n', 'apps/svc/my-svc.spec')).toBe('my-svc');
    expect(binaryNameFromSpec('exe = EXE(pyz, name=NAME)\n', 'svc.spec')).toBe('svc');
  });
});

describe('looksLikePyInstallerSpec', () => {
  it('is false for an RPM spec and other text', () => {
    expect(looksLikePyInstallerSpec('Name: foo\nVersion: 1\n%build')).toBe(false);
    expect(looksLikePyInstallerSpec('Name: foo\nVersion: 1\n%build\nmake EXE(x)\n')).toBe(false);
    expect(looksLikePyInstallerSpec('')).toBe(false);
  });

  it('is true for a hand-written PyInstaller spec', () => {
    expect(looksLikePyInstallerSpec("a = Analysis(['main.py'])\npyz = PYZ(a.pure)\nexe = EXE(pyz, a.scripts, name='x')\n")).toBe(true);
  });
});

describe('traced imports block', () => {
  it('adds modules once, sorted, inside the block of a generated spec', () => {
    const spec = renderPythonSpec(model());
    expect(tracedImportsOf(spec)).toEqual([]);
    const once = addTracedImports(spec, ['redis.asyncio', 'a.b']);
    expect(tracedImportsOf(once)).toEqual(['a.b', 'redis.asyncio']);
    expect(addTracedImports(once, ['redis.asyncio'])).toBe(once);
  });

  it('adds the block before Analysis in a hand-written spec', () => {
    const handWritten = "a = Analysis(['main.py'], hiddenimports=hiddenimports)\npyz = PYZ(a.pure)\n";
    const updated = addTracedImports(`hiddenimports = []\n${handWritten}`, ['x.y']);
    expect(updated).toMatch(/^hiddenimports = \[\]\n# stigmer: traced imports[^\n]*\nhiddenimports \+= \[\n    "x\.y",\n\]\n# stigmer: end of traced imports\n\na = Analysis/);
  });
});

describe('layout and strip', () => {
  const onefile = renderPythonSpec(model());
  const onedir = renderPythonSpec(model({ layout: 'onedir' }));

  it('strips on Linux and macOS, never on Windows, in every EXE and COLLECT call', () => {
    expect(onefile).toContain('\nSTRIP = not sys.platform.startswith("win")\n');
    expect(onefile).toMatch(/Not on Windows, where PyInstaller advises against stripping/);
    expect(onefile.match(/strip=STRIP/g)).toHaveLength(3);
    expect(onefile).not.toMatch(/strip=(True|False)/);
  });

  it('writes the layout asked for, one-file by default, and names the archive in the header', () => {
    expect(onefile).toContain('\nLAYOUT = "onefile"\n');
    expect(onedir).toContain('\nLAYOUT = "onedir"\n');
    expect(onedir).toContain('-> dist/agent-runner.tar.gz (+ .sha256, .manifest.json)');
    expect(onefile).toContain('-> dist/agent-runner (+ .sha256, .manifest.json)');
    expect(onedir).toMatch(/if LAYOUT == "onedir":\n    exe = EXE\([\s\S]*exclude_binaries=True[\s\S]*\n    coll = COLLECT\(exe, a\.binaries, a\.datas, strip=STRIP/);
    expect(binaryNameFromSpec(onedir, 'x.spec')).toBe('agent-runner');
  });

  it('reads the layout: the LAYOUT line, else a COLLECT call outside a comment, else one-file', () => {
    expect(layoutOfSpec(onefile)).toBe('onefile');
    expect(layoutOfSpec(onedir)).toBe('onedir');
    expect(layoutOfSpec("LAYOUT = 'onedir'  # faster start\n")).toBe('onedir');
    const handWritten = "a = Analysis(['main.py'])\npyz = PYZ(a.pure)\nexe = EXE(pyz, a.scripts, exclude_binaries=True, name='svc')\n";
    expect(layoutOfSpec(`${handWritten}coll = COLLECT(exe, a.binaries, a.datas, name='svc')\n`)).toBe('onedir');
    expect(layoutOfSpec(`${handWritten}# coll = COLLECT(exe, a.binaries, name='svc')\n`)).toBe('onefile');
    expect(layoutOfSpec(handWritten)).toBe('onefile');
  });

  it('switches an edited spec by its LAYOUT line alone, and names a LAYOUT it does not know', () => {
    const edited = onefile.replace('console=True,\n    )\n', 'console=False,\n    )\n');
    const switched = withLayout(edited, 'onedir') as string;
    expect(layoutOfSpec(switched)).toBe('onedir');
    expect(switched.replace(/^LAYOUT = "onedir"$/m, 'LAYOUT = "onefile"')).toBe(edited);
    expect(withLayout("exe = EXE(pyz, name='svc')\n", 'onedir')).toBeUndefined();
    expect(unknownLayoutOf('LAYOUT = "one-dir"\n')).toBe('one-dir');
    expect(unknownLayoutOf(onedir)).toBeUndefined();
  });
});
