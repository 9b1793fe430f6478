import * as path from 'node:path';
import { dependencyCheck, entryCommand, missingFromTrace, missingModuleHint, TracedModule } from './verify';

const service = path.join(path.sep, 'ws', 'services', 'api');
const library = path.join(path.sep, 'ws', 'libs', 'rpc', 'src');
const site = path.join(path.sep, 'venv', 'lib', 'python3.11', 'site-packages');

function traced(entries: Record<string, [kind: TracedModule['kind'], file: string]>): Record<string, TracedModule> {
  return Object.fromEntries(Object.entries(entries).map(([name, [kind, file]]) => [name, { kind, file }]));
}

describe('missingFromTrace', () => {
  const modules = traced({
    'redis': ['site', path.join(site, 'redis', '__init__.py')],
    'redis.asyncio': ['site', path.join(site, 'redis', 'asyncio', '__init__.py')],
    'tiktoken_ext.openai_public': ['site', path.join(site, 'tiktoken_ext', 'openai_public.py')],
    '_pytest.runner': ['site', path.join(site, '_pytest', 'runner.py')],
    'iniconfig': ['site', path.join(site, 'iniconfig', '__init__.py')],
    'pandas.core': ['site', path.join(site, 'pandas', 'core', '__init__.py')],
    'psycopg': ['site', path.join(site, 'psycopg', '__init__.py')],
    'xml.dom.minidom': ['stdlib', '/usr/lib/python3.11/xml/dom/minidom.py'],
    'api.plugins.echo': ['source', path.join(service, 'api', 'plugins', 'echo.py')],
    'rpc.stubs': ['source', path.join(library, 'rpc', 'stubs.py')],
    'test_api': ['source', path.join(service, 'tests', 'test_api.py')],
    'conftest': ['source', path.join(service, 'conftest.py')],
    'elsewhere': ['source', '/opt/other/elsewhere.py'],
    'sitecustomize': ['source', '/plugin/python/import_trace/sitecustomize.py'],
  });
  const inBinary = new Set(['redis']);
  const has = (m: string) => inBinary.has(m);

  it('in the smoke run, every installed module and every service or library module the binary lacks', () => {
    expect(missingFromTrace(modules, has, [service, library])).toEqual([
      '_pytest.runner',
      'api.plugins.echo',
      'iniconfig',
      'pandas.core',
      'psycopg',
      'redis.asyncio',
      'rpc.stubs',
      'tiktoken_ext.openai_public',
    ]);
  });

  it("in a configured command (tests), every installed module except the files of the command's own tools; never test files, stdlib or the recorder", () => {
    const toolFiles = new Set([path.join(site, '_pytest', 'runner.py'), path.join(site, 'iniconfig', '__init__.py')]);
    // pandas is in DEFAULT_EXCLUDES and psycopg is a driver of which the binary holds nothing: both still count.
    expect(missingFromTrace(modules, has, [service, library], toolFiles)).toEqual(['api.plugins.echo', 'pandas.core', 'psycopg', 'redis.asyncio', 'rpc.stubs', 'tiktoken_ext.openai_public']);
  });

  it('finds nothing when the binary has it all', () => {
    expect(missingFromTrace(modules, () => true, [service, library])).toEqual([]);
  });
});

describe('dependencyCheck', () => {
  const has = (m: string) => ['jwt', 'langgraph.graph', 'langgraph.pregel'].includes(m);

  it('passes a regular distribution when all its modules are inside, and names the missing ones otherwise', () => {
    expect(dependencyCheck('pyjwt', { modules: ['jwt'], namespace: false }, has, 'api.spec')).toMatchObject({ ok: true, detail: 'import jwt inside' });
    const failed = dependencyCheck('pyyaml', { modules: ['_yaml', 'yaml'], namespace: false }, has, 'api.spec');
    expect(failed.ok).toBe(false);
    expect(failed.detail).toBe(`dependency pyyaml (import _yaml, yaml) is not in the binary: add "pyyaml" to the distributions of api.spec (or '_yaml', 'yaml' to hiddenimports).`);
  });

  it('passes a namespace distribution with only part of it inside (the trace checks what the service uses)', () => {
    const check = dependencyCheck('langgraph', { modules: ['langgraph.constants', 'langgraph.graph', 'langgraph.pregel'], namespace: true }, has, 'api.spec');
    expect(check).toMatchObject({ ok: true, detail: 'namespace package: 2 of 3 modules inside' });
    expect(dependencyCheck('opentelemetry-sdk', { modules: ['opentelemetry.sdk'], namespace: true }, has, 'api.spec').ok).toBe(false);
  });

  it('reports a declared distribution its marker leaves out as not checked, never as a pass', () => {
    const absent = { requirement: 'tomli>=2; python_version < "3.11"', applies: false, conditional: false, declaredIn: 'pyproject.toml' };
    const check = dependencyCheck('tomli', null, has, 'api.spec', absent);
    expect(check).toMatchObject({ ok: true, notChecked: true });
    expect(check.detail).toContain('its marker "python_version < "3.11"" (pyproject.toml)');
    // A Poetry condition stigmer does not evaluate (optional, python, platform): not checked either.
    expect(dependencyCheck('uvloop', null, has, 'api.spec', { requirement: 'uvloop>=0.19', applies: true, conditional: true, declaredIn: 'pyproject.toml' })).toMatchObject({ ok: true, notChecked: true });
  });

  it('fails a declared distribution that should be installed and is not', () => {
    const check = dependencyCheck('pyyaml', null, has, 'api.spec', { requirement: 'pyyaml>=6', applies: true, conditional: false, declaredIn: 'requirements.txt' });
    expect(check.ok).toBe(false);
    expect(check.notChecked).toBeUndefined();
    expect(check.detail).toBe('dependency pyyaml is declared in requirements.txt but not installed in the build environment, so the binary cannot hold it: install it (update the lock if it lacks pyyaml) and build again.');
  });
});

describe('entryCommand', () => {
  const project = { name: 'api', root: 'services/api', absRoot: service, workspaceRoot: '/ws' };

  it('runs a script entry with its path and the smoke arguments', () => {
    expect(entryCommand('/venv/bin/python', project, 'main.py', ['--version'])).toEqual(['/venv/bin/python', path.join(service, 'main.py'), '--version']);
  });

  it('calls a console-script entry the way its launcher does', () => {
    expect(entryCommand('/venv/bin/python', project, 'api.cli:main', ['--help'])).toEqual([
      '/venv/bin/python',
      '-c',
      'import sys\nfrom api.cli import main\nsys.exit(main())',
      '--help',
    ]);
  });
});

describe('missingModuleHint', () => {
  it('names the module and the spec', () => {
    expect(missingModuleHint("ModuleNotFoundError: No module named 'temporalio.worker.workflow_sandbox._in_sandbox'", 'w.spec')).toMatch(
      /"No module named 'temporalio\.worker\.workflow_sandbox\._in_sandbox'" at run time: add .* to hiddenimports in w\.spec/,
    );
    expect(missingModuleHint('all good', 'w.spec')).toBeUndefined();
  });

  it('tells a library that strip damaged from a missing module, and names the STRIP line', () => {
    const output = 'Traceback (most recent call last):\nImportError: libtiff-20b7e810.so.6.3.0: ELF load command address/offset not page-aligned\n';
    expect(missingModuleHint(output, 'w.spec')).toBe(
      'libtiff-20b7e810.so.6.3.0 fails to load in the binary ("ELF load command address/offset not page-aligned"): strip damaged this library (one auditwheel patched); set STRIP = False in w.spec and build again.',
    );
  });
});
