import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { helperScript } from './pyinstaller';

/**
 * python/analysis_reuse.py's decision material, run by a real python3: the import fingerprint of a module (what
 * decides between reusing PyInstaller's analysis and the full path), the reason it gives, and the module
 * listing of a package folder. The builds themselves are proven in e2e/src/python-incremental.e2e.ts.
 */
describe('analysis_reuse.py', () => {
  let folder: string;

  beforeAll(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-reuse-'));
  });

  afterAll(() => fs.removeSync(folder));

  function python(code: string): string {
    const result = spawnSync('python3', ['-c', code], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.dirname(helperScript('analysis_reuse.py')) } });
    if (result.status !== 0) throw new Error(result.stderr);
    return result.stdout.trim();
  }

  /** The fingerprint of a source text, as JSON (null when it does not parse). */
  function fingerprint(source: string): unknown {
    const file = path.join(folder, 'module.py');
    fs.writeFileSync(file, source);
    return JSON.parse(python(`import json, analysis_reuse; print(json.dumps(analysis_reuse.import_fingerprint(${JSON.stringify(file)})))`));
  }

  /** Why `after` takes the full path when `before` was analysed ("" when the fingerprints are equal): one python run. */
  function change(before: string, after: string): string {
    const [old, now] = [path.join(folder, 'before.py'), path.join(folder, 'after.py')];
    fs.writeFileSync(old, before);
    fs.writeFileSync(now, after);
    return python(
      [
        'import analysis_reuse as r',
        `old, now = r.import_fingerprint(${JSON.stringify(old)}), r.import_fingerprint(${JSON.stringify(now)})`,
        'print("" if old == now else r.describe_change("m.py", old, now))',
      ].join('\n'),
    );
  }

  const base = [
    'import os',
    'from . import sibling',
    'try:',
    '    import ujson as json',
    'except ImportError:',
    '    import json',
    '',
    'def load(name):',
    '    from .plugins import registry',
    '    return importlib.import_module(f"pkg.plugins.{name}")',
    '',
    'def fixed():',
    '    return importlib.import_module("pkg.fixed"), __import__("pkg.other")',
    '',
    '__all__ = ["load"]',
    '',
  ].join('\n');

  it('does not change with a function body, comments or blank lines', () => {
    const edited = base.replace('    from .plugins import registry\n', '    from .plugins import registry  # the registry\n    count = len(name) * 2\n\n').replace('import os\n', '# header\nimport os\n');
    expect(change(base, edited)).toBe('');
  });

  it('changes with an import anywhere: top level, conditional, relative, inside a function', () => {
    expect(change(base, base.replace('import os\n', 'import os\nimport wave\n'))).toBe('m.py imports wave now');
    expect(change(base, base.replace('    import json\n', '    import json\n    import simplejson\n'))).toBe('m.py imports simplejson now');
    expect(change(base, base.replace('from . import sibling', 'from . import sibling, cousin'))).toBe('m.py imports .cousin now');
    expect(change(base, base.replace('    from .plugins import registry\n', ''))).toBe('m.py no longer imports .plugins.registry');
  });

  it('changes with an import_module or __import__ literal, the shape of an f-string, __all__ and the order of imports', () => {
    expect(change(base, base.replace('"pkg.fixed"', '"pkg.moved"'))).toBe('m.py imports pkg.moved now');
    expect(change(base, base.replace('__import__("pkg.other")', '__import__("pkg.else")'))).toBe('m.py imports pkg.else now');
    expect(change(base, base.replace('f"pkg.plugins.{name}"', 'f"pkg.extensions.{name}"'))).toBe('m.py changed an import_module() or __import__() call');
    expect(change(base, base.replace('__all__ = ["load"]', '__all__ = ["load", "fixed"]'))).toBe('m.py changed __all__');
    expect(change(base, base.replace('import os\nfrom . import sibling\n', 'from . import sibling\nimport os\n'))).toBe('m.py moved its imports');
  });

  it('has no fingerprint for a module that does not parse (the full path reports it)', () => {
    expect(fingerprint('def broken(:\n')).toBeNull();
  });

  it('lists a package folder by its modules: .py files and subpackages, not data, caches or plain folders', () => {
    const pkg = path.join(folder, 'pkg');
    for (const file of ['__init__.py', 'a.py', 'sub/__init__.py', 'data.json', '__pycache__/a.cpython-311.pyc', 'notes/readme.txt']) fs.outputFileSync(path.join(pkg, file), '');
    expect(JSON.parse(python(`import json, analysis_reuse; print(json.dumps(analysis_reuse.module_listing(${JSON.stringify(pkg)})))`))).toEqual(['__init__.py', 'a.py', 'sub/']);
  });
});
