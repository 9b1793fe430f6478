import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extraHiddenImportsOf, importNamesOf, installedTopLevelModules, sitePackagesOf } from './import-names';

describe('importNamesOf (no installed environment)', () => {
  it.each([
    ['pyjwt', ['jwt']],
    ['PyJWT', ['jwt']],
    ['grpcio', ['grpc']],
    ['protobuf', ['google.protobuf']],
    ['PyYAML', ['yaml']],
    ['python-dotenv', ['dotenv']],
    ['python_dateutil', ['dateutil']],
    ['Pillow', ['PIL']],
    ['my-lib', ['my_lib']],
    ['My.Lib', ['my_lib']],
    ['requests', ['requests']],
  ])('%s -> %p', (distribution, expected) => {
    expect(importNamesOf(distribution)).toEqual(expected);
  });

  it('falls back to the known names when the distribution is not installed', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-sp-'));
    try {
      expect(importNamesOf('pyjwt', empty)).toEqual(['jwt']);
      expect(importNamesOf('my-lib', empty)).toEqual(['my_lib']);
      expect(importNamesOf('pyjwt', path.join(empty, 'does-not-exist'))).toEqual(['jwt']);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('extraHiddenImportsOf', () => {
  it('lists modules loaded by name for known packages, nothing for others', () => {
    expect(extraHiddenImportsOf('tiktoken')).toEqual(['tiktoken_ext', 'tiktoken_ext.openai_public']);
    expect(extraHiddenImportsOf('requests')).toEqual([]);
  });
});

describe('installed metadata (a fake virtual environment)', () => {
  let venv: string;
  let sitePackages: string;

  function write(relative: string, content: string): void {
    const file = path.join(sitePackages, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }

  beforeAll(() => {
    venv = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-venv-'));
    sitePackages = path.join(venv, 'lib', 'python3.11', 'site-packages');
    fs.mkdirSync(path.join(venv, 'lib', 'python3.11', 'site-packages'), { recursive: true });
    fs.mkdirSync(path.join(venv, 'lib', 'pkgconfig'), { recursive: true });
    fs.mkdirSync(path.join(venv, 'bin'), { recursive: true });

    // top_level.txt says it all
    write('PyJWT-2.8.0.dist-info/top_level.txt', 'jwt\n');
    write('PyJWT-2.8.0.dist-info/RECORD', 'jwt/__init__.py,sha256=abc,100\njwt/api_jwt.py,sha256=abc,100\nPyJWT-2.8.0.dist-info/RECORD,,\n');
    // no top_level.txt: RECORD decides, and google/ is a namespace package
    write(
      'protobuf-4.25.0.dist-info/RECORD',
      [
        'google/protobuf/__init__.py,sha256=abc,10',
        'google/protobuf/message.py,sha256=abc,10',
        'protobuf-4.25.0.dist-info/METADATA,sha256=abc,10',
        'protobuf-4.25.0.dist-info/RECORD,,',
      ].join('\n'),
    );
    // a private helper module comes with the package
    write('PyYAML-6.0.1.dist-info/top_level.txt', '_yaml\nyaml\n');
    write('PyYAML-6.0.1.dist-info/RECORD', '_yaml/__init__.py,sha256=abc,10\nyaml/__init__.py,sha256=abc,10\nyaml/cyaml.py,sha256=abc,10\n');
    // a namespace package named in top_level.txt (like the real protobuf wheel)
    write('googleapis_common_protos-1.62.0.dist-info/top_level.txt', 'google\n');
    write(
      'googleapis_common_protos-1.62.0.dist-info/RECORD',
      'google/api/__init__.py,,\ngoogle/api/http_pb2.py,,\ngoogle/rpc/__init__.py,,\ngoogle/rpc/status_pb2.py,,\n',
    );
    // single-module and extension-module distributions, found through RECORD only (CRLF lines)
    write('six-1.16.0.dist-info/RECORD', 'six.py,sha256=abc,10\r\nsix-1.16.0.dist-info/RECORD,,\r\n');
    write('cffi-1.16.0.dist-info/RECORD', '_cffi_backend.cpython-311-x86_64-linux-gnu.so,sha256=abc,10\n../../../bin/tool,,\n');
    // a dist-info folder whose name uses underscores for hyphens
    write('typing_extensions-4.9.0.dist-info/top_level.txt', 'typing_extensions\n');
  });

  afterAll(() => fs.rmSync(venv, { recursive: true, force: true }));

  it('finds site-packages of a posix virtual environment', () => {
    expect(sitePackagesOf(venv)).toBe(sitePackages);
  });

  it('finds site-packages of a Windows virtual environment', () => {
    const win = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-winvenv-'));
    try {
      fs.mkdirSync(path.join(win, 'Lib', 'site-packages'), { recursive: true });
      expect(sitePackagesOf(win)).toBe(path.join(win, 'Lib', 'site-packages'));
    } finally {
      fs.rmSync(win, { recursive: true, force: true });
    }
  });

  it('returns undefined for a folder that is no virtual environment', () => {
    expect(sitePackagesOf(path.join(venv, 'missing'))).toBeUndefined();
    expect(sitePackagesOf(path.join(venv, 'bin'))).toBeUndefined();
  });

  it('reads top_level.txt', () => {
    expect(installedTopLevelModules('pyjwt', sitePackages)).toEqual(['jwt']);
    expect(installedTopLevelModules('PyJWT', sitePackages)).toEqual(['jwt']);
    expect(installedTopLevelModules('typing-extensions', sitePackages)).toEqual(['typing_extensions']);
  });

  it('names a namespace package one level down from RECORD', () => {
    expect(installedTopLevelModules('protobuf', sitePackages)).toEqual(['google.protobuf']);
    expect(installedTopLevelModules('googleapis-common-protos', sitePackages)).toEqual(['google.api', 'google.rpc']);
  });

  it('drops private helper modules that come with the package', () => {
    expect(installedTopLevelModules('pyyaml', sitePackages)).toEqual(['yaml']);
  });

  it('reads single modules and extension modules from RECORD', () => {
    expect(installedTopLevelModules('six', sitePackages)).toEqual(['six']);
    expect(installedTopLevelModules('cffi', sitePackages)).toEqual(['_cffi_backend']);
  });

  it('returns undefined for a distribution that is not installed', () => {
    expect(installedTopLevelModules('requests', sitePackages)).toBeUndefined();
  });

  it('prefers the installed metadata over the known names', () => {
    expect(importNamesOf('pyjwt', sitePackages)).toEqual(['jwt']);
    expect(importNamesOf('googleapis-common-protos', sitePackages)).toEqual(['google.api', 'google.rpc']);
    expect(importNamesOf('six', sitePackages)).toEqual(['six']);
    expect(importNamesOf('requests', sitePackages)).toEqual(['requests']);
  });
});
