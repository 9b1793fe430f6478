import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { helperScript } from '../pyinstaller/pyinstaller';
import { readImportRecords } from '../verify/verify';

/**
 * python/stigmer_spec.py, run by a real python3 against a fake site-packages: installed distributions with
 * RECORD files, the way pip writes them.
 */
describe('stigmer_spec.py', () => {
  let site: string;

  function install(dist: string, version: string, files: string[], requires: string[] = [], entryPoints = ''): void {
    const distInfo = `${dist.replace(/-/g, '_')}-${version}.dist-info`;
    for (const file of files) fs.outputFileSync(path.join(site, file), '');
    fs.outputFileSync(path.join(site, distInfo, 'METADATA'), `Metadata-Version: 2.1\nName: ${dist}\nVersion: ${version}\n${requires.map((r) => `Requires-Dist: ${r}\n`).join('')}`);
    if (entryPoints) fs.outputFileSync(path.join(site, distInfo, 'entry_points.txt'), entryPoints);
    const record = [...files, `${distInfo}/METADATA`, `${distInfo}/RECORD`, `../../bin/${dist}`].map((f) => `${f},,`).join('\n');
    fs.outputFileSync(path.join(site, distInfo, 'RECORD'), `${record}\n`);
  }

  function python(code: string, ...args: string[]): string {
    const result = spawnSync('python3', ['-c', code, ...args], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: [site, path.dirname(helperScript('stigmer_spec.py'))].join(path.delimiter) },
    });
    if (result.status !== 0) throw new Error(result.stderr);
    return result.stdout;
  }

  function describeDistributions(...names: string[]): Record<string, { modules: string[]; namespace: boolean } | null> {
    const result = spawnSync('python3', [helperScript('stigmer_spec.py'), 'modules', ...names], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: site } });
    if (result.status !== 0) throw new Error(result.stderr);
    return JSON.parse(result.stdout);
  }

  beforeAll(() => {
    site = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-site-'));
    install('PyJWT', '2.8.0', ['jwt/__init__.py', 'jwt/api_jwt.py']);
    install('protobuf', '4.25.0', ['google/protobuf/__init__.py', 'google/protobuf/message.py', 'google/_upb/_message.abi3.so']);
    // opentelemetry/instrumentation/__init__.py belongs to another distribution: follow down to fastapi.
    install('opentelemetry-instrumentation-fastapi', '0.45b0', ['opentelemetry/instrumentation/fastapi/__init__.py', 'opentelemetry/instrumentation/fastapi/version.py']);
    install('langgraph', '0.2.0', ['langgraph/graph/__init__.py', 'langgraph/graph/state.py', 'langgraph/pregel/__init__.py', 'langgraph/constants.py']);
    install('PyYAML', '6.0.1', ['yaml/__init__.py', '_yaml/__init__.py']);
    install('typing-extensions', '4.9.0', ['typing_extensions.py', 'typing_extensions-4.9.0.data/x.txt']);
  });

  afterAll(() => fs.removeSync(site));

  it('names the modules a distribution installs, following namespace packages down', () => {
    const described = describeDistributions('pyjwt', 'protobuf', 'opentelemetry-instrumentation-fastapi', 'langgraph', 'pyyaml', 'typing_extensions');
    expect(described.pyjwt).toEqual({ modules: ['jwt'], namespace: false });
    expect(described.protobuf).toEqual({ modules: ['google._upb._message', 'google.protobuf'], namespace: true });
    expect(described['opentelemetry-instrumentation-fastapi']).toEqual({ modules: ['opentelemetry.instrumentation.fastapi'], namespace: true });
    expect(described.langgraph).toEqual({ modules: ['langgraph.constants', 'langgraph.graph', 'langgraph.pregel'], namespace: true });
    expect(described.pyyaml).toEqual({ modules: ['_yaml', 'yaml'], namespace: false });
    expect(described.typing_extensions).toEqual({ modules: ['typing_extensions'], namespace: false });
  });

  it("tells whether a requirement's marker holds in this interpreter", () => {
    const result = spawnSync('python3', [helperScript('stigmer_spec.py'), 'applies', 'tomli; python_version < "3"', 'pyyaml>=6', 'uvloop; sys_platform == "' + process.platform + '"', 'not a requirement ;;'], { encoding: 'utf8' });
    expect(JSON.parse(result.stdout)).toEqual({ 'tomli; python_version < "3"': false, 'pyyaml>=6': true, [`uvloop; sys_platform == "${process.platform}"`]: true, 'not a requirement ;;': null });
  });

  it("names the files of the distributions a traced command brings itself, less what the service's runtime needs", () => {
    install('pytest', '8.3.0', ['pytest/__init__.py', '_pytest/runner.py'], ['iniconfig', 'packaging', 'colorama; sys_platform == "win32"'], '[console_scripts]\npytest = pytest:console_main\n');
    install('iniconfig', '2.0.0', ['iniconfig/__init__.py']);
    install('packaging', '24.0', ['packaging/__init__.py']);
    install('pytest-asyncio', '0.23.0', ['pytest_asyncio/__init__.py'], ['pytest'], '[pytest11]\nasyncio = pytest_asyncio.plugin\n');
    install('webapp', '1.0.0', ['webapp/__init__.py'], ['packaging']);
    install('psycopg', '3.2.0', ['psycopg/__init__.py']);
    const tooling = (...words: string[]) => {
      const result = spawnSync('python3', [helperScript('stigmer_spec.py'), 'tooling', 'webapp', '--', ...words], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: site } });
      if (result.status !== 0) throw new Error(result.stderr);
      return JSON.parse(result.stdout) as { distributions: string[]; files: string[] };
    };
    const expected = ['iniconfig', 'pytest', 'pytest-asyncio'];
    // By console script, or by -m module; plugins (pytest11) too; packaging stays the service's; psycopg is nobody's tool.
    expect(tooling('/venv/bin/pytest', '-q').distributions).toEqual(expected);
    const byModule = tooling('/venv/bin/python', '-m', 'pytest', 'tests');
    expect(byModule.distributions).toEqual(expected);
    expect(byModule.files).toContain(fs.realpathSync(path.join(site, '_pytest', 'runner.py')));
    expect(byModule.files).not.toContain(fs.realpathSync(path.join(site, 'packaging', '__init__.py')));
    // A plain script brings no tool.
    expect(tooling('/venv/bin/python', 'check.py').distributions).toEqual([]);
  });

  it('says null for a distribution that is not installed, and modules_of skips it with a note', () => {
    expect(describeDistributions('not-installed')).toEqual({ 'not-installed': null });
    expect(python('import json, stigmer_spec; print(json.dumps(stigmer_spec.modules_of(["pyjwt", "not-installed"])))').trim()).toBe('["jwt"]');
  });

  it('keeps a declared package out of the default excludes', () => {
    expect(python('import stigmer_spec; print(stigmer_spec.without_declared(["tkinter", "pandas"], ["pandas.core", "jwt"]))').trim()).toBe("['tkinter']");
  });

  it('puts folders first on sys.path, once', () => {
    expect(python('import sys, stigmer_spec; stigmer_spec.put_on_path(["/a", "/b"]); stigmer_spec.put_on_path(["/a", "/b"]); print(sys.path[:2], sys.path.count("/a"))').trim()).toBe("['/a', '/b'] 1");
  });

  it('turns a console-script entry into a launcher in the work folder, and leaves a script path alone', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-work-'));
    try {
      const launcher = python('import sys, stigmer_spec; print(stigmer_spec.entry_script(sys.argv[1], "/svc", sys.argv[2]))', 'api.cli:main', work).trim();
      expect(path.dirname(launcher)).toBe(work);
      expect(fs.readFileSync(launcher, 'utf8')).toBe('import sys\n\nfrom api.cli import main\n\nif __name__ == "__main__":\n    sys.exit(main())\n');
      const mtime = fs.statSync(launcher).mtimeMs;
      python('import sys, stigmer_spec; stigmer_spec.entry_script(sys.argv[1], "/svc", sys.argv[2])', 'api.cli:main', work);
      expect(fs.statSync(launcher).mtimeMs).toBe(mtime);
      expect(python('import stigmer_spec; print(stigmer_spec.entry_script("main.py", "/svc", "/w"))').trim()).toBe(path.join('/svc', 'main.py'));
    } finally {
      fs.removeSync(work);
    }
  });

  it("swaps PyInstaller's inspect run-time hook for stigmer's lazy one only when it knows its content", () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-rthook-'));
    try {
      const known = path.join(work, 'pyi_rth_inspect.py');
      fs.writeFileSync(known, 'import inspect\n');
      const other = path.join(work, 'other', 'pyi_rth_inspect.py');
      fs.outputFileSync(other, 'import inspect  # a newer PyInstaller\n');
      const swap = (hook: string) => {
        const code = [
          'import hashlib, json, sys, stigmer_spec',
          'stigmer_spec.KNOWN_INSPECT_HOOKS = {hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()}',
          'scripts = [("pyi_rth_inspect", sys.argv[2], "PYSOURCE"), ("pyi_rth_pkgutil", "/pyi/pyi_rth_pkgutil.py", "PYSOURCE"), ("main", "/svc/main.py", "PYSOURCE")]',
          'print(json.dumps(stigmer_spec.lazy_inspect_hook(scripts)))',
        ].join('\n');
        const result = spawnSync('python3', ['-c', code, known, hook], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.dirname(helperScript('stigmer_spec.py')) } });
        if (result.status !== 0) throw new Error(result.stderr);
        return { scripts: JSON.parse(result.stdout) as string[][], stderr: result.stderr };
      };
      const lazy = helperScript('runtime_hooks/pyi_rth_inspect_lazy.py');
      expect(swap(known)).toEqual({
        scripts: [['pyi_rth_inspect', lazy, 'PYSOURCE'], ['pyi_rth_pkgutil', '/pyi/pyi_rth_pkgutil.py', 'PYSOURCE'], ['main', '/svc/main.py', 'PYSOURCE']],
        stderr: '',
      });
      const kept = swap(other);
      expect(kept.scripts[0]).toEqual(['pyi_rth_inspect', other, 'PYSOURCE']);
      expect(kept.stderr).toContain("PyInstaller's pyi_rth_inspect is not the one stigmer replaces: kept");
    } finally {
      fs.removeSync(work);
    }
  });

  it('the lazy inspect hook imports nothing at start, then gives inspect the getsourcefile of frozen code', () => {
    // A frozen program's view: sys._MEIPASS with its base_library.zip, code objects with relative file names.
    const meipass = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-meipass-'));
    try {
      const code = [
        'import json, os, runpy, sys, zipfile',
        'sys._MEIPASS = sys.argv[1]',
        'with zipfile.ZipFile(os.path.join(sys._MEIPASS, "base_library.zip"), "w") as z: z.writestr("collections/__init__.pyc", b"")',
        'runpy.run_path(sys.argv[2])',
        'at_start = "inspect" in sys.modules',
        'import inspect',
        'def frozen(name):',
        '    space = {}',
        '    exec(compile("def f(): pass", name, "exec"), space)',
        '    return space["f"]',
        'inside = os.path.join(sys._MEIPASS, "svc", "api.py")',
        'sys.modules["__main__"].__file__ = os.path.join(sys._MEIPASS, "main.py")',
        'print(json.dumps({"at_start": at_start,',
        '  "pyz": inspect.getsourcefile(frozen(os.path.join("svc", "api.py"))),',
        '  "base_library": inspect.getsourcefile(frozen(os.path.join("collections", "__init__.py"))),',
        '  "main": inspect.getsourcefile(frozen("main.py")),',
        '  "absolute_inside": inspect.getsourcefile(frozen(inside)),',
        '  "elsewhere": inspect.getsourcefile(json.dumps),',
        '  "loader": type(inspect.__loader__).__name__, "spec_loader": type(inspect.__spec__.loader).__name__,',
        '  "finders": [getattr(f, "__name__", type(f).__name__) for f in sys.meta_path]}))',
      ].join('\n');
      const result = spawnSync('python3', ['-c', code, meipass, helperScript('runtime_hooks/pyi_rth_inspect_lazy.py')], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(result.stderr);
      const seen = JSON.parse(result.stdout);
      const json = spawnSync('python3', ['-c', 'import json, inspect; print(inspect.getsourcefile(json.dumps))'], { encoding: 'utf8' }).stdout.trim();
      expect(seen).toEqual({
        at_start: false,
        pyz: path.join(meipass, 'svc', 'api.py'),
        base_library: path.join(meipass, 'base_library.zip', 'collections', '__init__.pyc'),
        main: path.join(meipass, 'main.py'),
        absolute_inside: path.join(meipass, 'svc', 'api.py'),
        elsewhere: json,
        // inspect keeps its real loader, and the hook's finder is gone once inspect is imported.
        loader: 'SourceFileLoader',
        spec_loader: 'SourceFileLoader',
        finders: expect.not.arrayContaining(['InspectFinder']),
      });
      // inspect already imported when the hook runs: patched at once.
      const eager = spawnSync('python3', ['-c', `import inspect, runpy, sys; sys._MEIPASS = sys.argv[1]; runpy.run_path(sys.argv[2]); print(inspect.getsourcefile.__qualname__)`, meipass, helperScript('runtime_hooks/pyi_rth_inspect_lazy.py')], { encoding: 'utf8' });
      expect(eager.stdout.trim()).toMatch(/frozen_getsourcefile\.<locals>\.getsourcefile$/);
    } finally {
      fs.removeSync(meipass);
    }
  });

  it('ships its hooks folder with the temporalio sandbox hook', () => {
    const hooks = python('import stigmer_spec; print(stigmer_spec.HOOKS_DIR)').trim();
    expect(fs.readFileSync(path.join(hooks, 'hook-temporalio.worker.workflow_sandbox.py'), 'utf8')).toContain('"temporalio.worker.workflow_sandbox._in_sandbox"');
  });

  it("import_trace/sitecustomize.py records what a process imports after start-up, with kinds, and no aliases", async () => {
    const output = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-trace-'));
    const sources = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-src-'));
    try {
      fs.outputFileSync(path.join(sources, 'svc', '__init__.py'), 'import sys, jwt\nsys.modules["svc.alias"] = jwt\n');
      const result = spawnSync('python3', ['-c', 'import svc, xml.dom.minidom'], {
        encoding: 'utf8',
        cwd: sources,
        env: { ...process.env, PYTHONPATH: [path.dirname(helperScript('import_trace/sitecustomize.py')), site, sources].join(path.delimiter), STIGMER_IMPORT_TRACE: output },
      });
      expect(result.status).toBe(0);
      const { modules } = await readImportRecords(output);
      expect(modules.svc).toEqual({ file: fs.realpathSync(path.join(sources, 'svc', '__init__.py')), kind: 'source' });
      expect(modules.jwt.kind).toBe('source'); // the fake site folder is not named site-packages
      expect(modules['xml.dom.minidom'].kind).toBe('stdlib');
      expect(modules['svc.alias']).toBeUndefined();
      expect(modules.sys).toBeUndefined();
    } finally {
      fs.removeSync(output);
      fs.removeSync(sources);
    }
  });
});
