import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diskFiles } from '../../../utils/workspace-files';
import { findLocalPackages } from './local-packages';

describe('findLocalPackages (on disk)', () => {
  let root: string;

  function write(relative: string, content = ''): void {
    const file = path.join(root, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }

  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-local-'));
    // flat layout
    write('libs/graphton/pyproject.toml', '[project]\nname = "graphton"\n');
    write('libs/graphton/setup.py');
    write('libs/graphton/graphton/__init__.py');
    write('libs/graphton/graphton/core.py');
    write('libs/graphton/graphton/plugins/__init__.py');
    write('libs/graphton/graphton/plugins/echo.py');
    write('libs/graphton/graphton/plugins/deep/__init__.py');
    write('libs/graphton/graphton/plugins/deep/leaf.py');
    write('libs/graphton/graphton/test_core.py');
    write('libs/graphton/graphton/core_test.py');
    write('libs/graphton/graphton/conftest.py');
    write('libs/graphton/graphton/README.md');
    write('libs/graphton/graphton/tests/__init__.py');
    write('libs/graphton/graphton/tests/test_plugins.py');
    write('libs/graphton/graphton/__pycache__/core.cpython-311.pyc');
    write('libs/graphton/graphton/nopkg/helper.py'); // no __init__.py: not a package
    write('libs/graphton/tests/__init__.py');
    write('libs/graphton/tests/test_graphton.py');
    write('libs/graphton/docs/__init__.py');
    write('libs/graphton/.hidden/__init__.py');
    write('libs/graphton/scripts/run.py');
    write('libs/graphton/aaa_second/__init__.py');
    // src layout
    write('libs/lib2/pyproject.toml');
    write('libs/lib2/src/lib2/__init__.py');
    write('libs/lib2/src/lib2/util.py');
    write('libs/lib2/tests/test_util.py');
    write('libs/lib2/other/__init__.py'); // beside src/: not on the import path
    // a src/ folder without packages is not a src layout
    write('libs/lib3/src/notes.txt');
    write('libs/lib3/lib3/__init__.py');
  });

  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('finds the packages of a flat layout, skipping tests, docs and hidden folders', () => {
    const found = findLocalPackages(diskFiles(root), 'libs/graphton');
    expect(found.importRoot).toBe('libs/graphton');
    expect(found.packages).toEqual(['aaa_second', 'graphton']);
  });

  it('lists every module, nested subpackages included, without tests and test files', () => {
    const found = findLocalPackages(diskFiles(root), 'libs/graphton');
    expect(found.modules).toEqual([
      'aaa_second',
      'graphton',
      'graphton.core',
      'graphton.plugins',
      'graphton.plugins.deep',
      'graphton.plugins.deep.leaf',
      'graphton.plugins.echo',
    ]);
    expect(found.modules.some((m) => /test|conftest|nopkg|README|pycache/.test(m))).toBe(false);
  });

  it('uses src/ as the import root of a src layout', () => {
    expect(findLocalPackages(diskFiles(root), 'libs/lib2')).toEqual({
      importRoot: 'libs/lib2/src',
      packages: ['lib2'],
      modules: ['lib2', 'lib2.util'],
    });
  });

  it('keeps the library root when src/ holds no package', () => {
    expect(findLocalPackages(diskFiles(root), 'libs/lib3')).toEqual({ importRoot: 'libs/lib3', packages: ['lib3'], modules: ['lib3'] });
  });

  it('accepts paths with .. segments', () => {
    expect(findLocalPackages(diskFiles(root), 'apps/svc/../../libs/lib2').importRoot).toBe('libs/lib2/src');
  });

  it('finds nothing in a missing folder', () => {
    expect(findLocalPackages(diskFiles(root), 'libs/missing')).toEqual({ importRoot: 'libs/missing', packages: [], modules: [] });
  });
});
