import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { pythonRuntime } from '../runtimes/python';
import type { SpecInfo } from '../runtimes/types';
import { minimatch } from 'minimatch';
import { createBinaryTargets } from './targets';

const spec: SpecInfo = { specFile: 'agent-runner.spec', binaryName: 'agent-runner', binaryFiles: ['agent-runner'] };
const ext = process.platform === 'win32' ? '.exe' : '';
const binary = `{projectRoot}/dist/agent-runner${ext}`;

function context(exists: (p: string) => boolean = () => false) {
  return {
    projectRoot: 'apps/agent-runner',
    dependencyInput: '^production',
    runtimeInputs: pythonRuntime.inputs('apps/agent-runner', exists, {}),
  };
}

describe('createBinaryTargets', () => {
  const targets = createBinaryTargets(pythonRuntime, spec, context());
  const build = targets['build-binary'];
  const test = targets['test-binary'];
  const clean = targets['clean-binary'];

  it('creates the default targets (binary-report for a runtime that writes size reports, publish-binary and nx-release-publish)', () => {
    expect(Object.keys(targets).sort()).toEqual(['binary-report', 'build-binary', 'clean-binary', 'nx-release-publish', 'publish-binary', 'test-binary']);
    expect(targets['binary-report']).toMatchObject({ executor: 'stigmer:binary-report', cache: false, dependsOn: ['build-binary'], options: { spec: 'agent-runner.spec' } });
    expect(build.executor).toBe('stigmer:build-binary');
    expect(test.executor).toBe('stigmer:test-binary');
    expect(clean.executor).toBe('stigmer:clean-binary');
    for (const target of [build, test, clean]) expect(target.options).toEqual({ spec: 'agent-runner.spec' });
  });

  it('makes build-binary cacheable, with the binary, its side files and its size report as outputs', () => {
    expect(build.cache).toBe(true);
    expect(build.outputs).toEqual([binary, `${binary}.sha256`, `${binary}.manifest.json`, "{projectRoot}/dist/agent-runner.report.json", "{projectRoot}/dist/agent-runner.report.html"]);
  });

  it('keys build-binary on the sources, without tests and outputs, plus dependencies and the toolchain', () => {
    const inputs = build.inputs as unknown[];
    expect(inputs).toContain('{projectRoot}/**/*');
    expect(inputs).toContain('!{projectRoot}/dist/**/*');
    expect(inputs).toContain('!{projectRoot}/build/**/*');
    expect(inputs).toContain('!{projectRoot}/tests/**/*');
    expect(inputs).toContain('!{projectRoot}/.venv/**/*');
    expect(inputs).toContain('^production');
    expect(inputs).toContainEqual({ externalDependencies: [] });
    const runtimeInput = inputs.find((i): i is { runtime: string } => typeof i === 'object' && i !== null && 'runtime' in i);
    // a node script of the plugin resolves the interpreter that builds and prints its version
    expect(runtimeInput?.runtime).toMatch(/^node \S*runtimes\/python\/environment\/toolchain-key\.js apps\/agent-runner$/);
    // the exclusions come after the project glob, or they would exclude nothing
    expect(inputs.indexOf('{projectRoot}/**/*')).toBeLessThan(inputs.indexOf('!{projectRoot}/tests/**/*'));
  });

  it('leaves out of the build key only files the binary never holds: runtime modules named test_*, bundled .md data count', () => {
    const patterns = (build.inputs as unknown[]).filter((i): i is string => typeof i === 'string' && i.startsWith('!')).map((i) => i.slice(1).replace('{projectRoot}', 'apps/agent-runner'));
    const excluded = (file: string) => patterns.some((pattern) => minimatch(file, pattern, { dot: true }));
    for (const file of ['pkg/test_mode.py', 'pkg/mode_test.py', 'pkg/conftest.py', 'prompts/system.md', 'pkg/testing/fixtures.py', 'README.md']) {
      expect([file, excluded(`apps/agent-runner/${file}`)]).toEqual([file, false]);
    }
    for (const file of ['tests/test_api.py', 'test/conftest.py', '.venv/lib/x.py', 'pkg/__pycache__/a.pyc', '.pytest_cache/v', '.tox/py/x', 'dist/agent-runner', 'build/x']) {
      expect([file, excluded(`apps/agent-runner/${file}`)]).toEqual([file, true]);
    }
  });

  it('keys test-binary on the tests a traceCommand runs', () => {
    for (const pattern of ['{projectRoot}/tests/**/*', '{projectRoot}/**/test_*.py', '{projectRoot}/**/conftest.py', '{projectRoot}/pytest.ini']) expect(test.inputs).toContain(pattern);
  });

  it('makes test-binary depend on build-binary and key on its output files', () => {
    expect(test.dependsOn).toEqual(['build-binary']);
    expect(test.cache).toBe(true);
    expect(test.inputs).toContainEqual(expect.objectContaining({ dependentTasksOutputFiles: '**/*' }));
    expect(test.inputs).toContain('{projectRoot}/agent-runner.spec');
    expect(test.inputs).toContainEqual({ externalDependencies: [] });
  });

  it('keys test-binary on what its checks read: dependency declarations and locks', () => {
    for (const file of ['pyproject.toml', 'requirements*.txt', 'poetry.lock', 'uv.lock']) expect(test.inputs).toContain(`{projectRoot}/${file}`);
  });

  it('never caches clean-binary', () => {
    expect(clean.cache).toBe(false);
    expect(clean.outputs).toBeUndefined();
  });

  it('publishes (publish-binary, nx-release-publish) after test-binary, never cached, with the plugin\'s publish options', () => {
    const withStore = createBinaryTargets(pythonRuntime, spec, context(), { publish: { store: 's3://bucket/bin', expiresDays: 7 } });
    for (const name of ['publish-binary', 'nx-release-publish']) {
      expect(withStore[name]).toMatchObject({ executor: 'stigmer:publish-binary', cache: false, dependsOn: ['test-binary'] });
      expect(withStore[name].options).toEqual({ store: 's3://bucket/bin', expiresDays: 7, spec: spec.specFile });
    }
  });

  it('describes the targets with the runtime technologies', () => {
    expect(build.metadata?.technologies).toEqual(['python', 'pyinstaller']);
    expect(build.metadata?.description).toContain('agent-runner');
    expect(build.metadata?.description).toContain('Python (PyInstaller)');
  });

  it('uses the target names of the plugin options, and wires dependsOn to the custom build name', () => {
    const custom = createBinaryTargets(pythonRuntime, spec, context(), { buildTargetName: 'bin', testTargetName: 'bin-test', cleanTargetName: 'bin-clean' });
    expect(Object.keys(custom).sort()).toEqual(['bin', 'bin-clean', 'bin-test', 'binary-report', 'nx-release-publish', 'publish-binary']);
    expect(custom['binary-report'].dependsOn).toEqual(['bin']);
    expect(custom['bin-test'].dependsOn).toEqual(['bin']);
    expect(custom['publish-binary'].dependsOn).toEqual(['bin-test']);
    expect(custom['bin'].metadata?.help?.command).toContain(':bin --help');
  });

  it('uses the dependency input it is given', () => {
    const targetsDefault = createBinaryTargets(pythonRuntime, spec, { ...context(), dependencyInput: '^default' });
    expect(targetsDefault['build-binary'].inputs).toContain('^default');
    expect(targetsDefault['build-binary'].inputs).not.toContain('^production');
  });

  it('adds workspace-level lock files that the project does not have itself', () => {
    const withLocks = createBinaryTargets(
      pythonRuntime,
      spec,
      context((p) => ['uv.lock', 'poetry.lock', 'apps/agent-runner/poetry.lock'].includes(p)),
    );
    const inputs = withLocks['build-binary'].inputs as unknown[];
    expect(inputs).toContain('{workspaceRoot}/uv.lock');
    expect(inputs).not.toContain('{workspaceRoot}/poetry.lock');
  });

  it("adds the uv.lock of a uv workspace rooted in a sub-folder to its members' inputs", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-inputs-'));
    try {
      fs.outputFileSync(path.join(root, 'py', 'pyproject.toml'), '[tool.uv.workspace]\nmembers = ["apps/*"]\n');
      fs.outputFileSync(path.join(root, 'py', 'uv.lock'), 'version = 1\n');
      fs.outputFileSync(path.join(root, 'py', 'apps', 'svc', 'pyproject.toml'), '[project]\nname = "svc"\n');
      fs.outputFileSync(path.join(root, 'tools', 'other', 'pyproject.toml'), '[project]\nname = "other"\n');
      const exists = (p: string) => fs.existsSync(path.join(root, p));
      expect(pythonRuntime.inputs('py/apps/svc', exists, {}, root).extraFiles).toEqual(['{workspaceRoot}/py/uv.lock']);
      expect(pythonRuntime.inputs('tools/other', exists, {}, root).extraFiles).toEqual([]);
    } finally {
      fs.removeSync(root);
    }
  });

  it('puts the python plugin option into the toolchain input', () => {
    const runtimeInputs = pythonRuntime.inputs('apps/agent-runner', () => false, { python: '/opt/py/bin/python3.12' });
    const custom = createBinaryTargets(pythonRuntime, spec, { projectRoot: 'apps/agent-runner', dependencyInput: '^default', runtimeInputs });
    expect(custom['build-binary'].inputs).toContainEqual({ runtime: expect.stringMatching(/toolchain-key\.js apps\/agent-runner \/opt\/py\/bin\/python3\.12$/) });
  });
});

describe('pythonRuntime.readSpec', () => {
  it('reads a PyInstaller spec and rejects other files', () => {
    const content = "a = Analysis(['main.py'])\npyz = PYZ(a.pure)\nexe = EXE(\n    pyz,\n    name='svc',\n)\n";
    expect(pythonRuntime.readSpec('apps/x/svc-bin.spec', content)).toEqual({ specFile: 'svc-bin.spec', binaryName: 'svc', binaryFiles: ['svc'], layout: 'onefile', supersededFiles: ['svc.tar.gz'] });
    expect(pythonRuntime.readSpec('apps/x/pkg.spec', 'Name: foo\nVersion: 1\n%build')).toBeUndefined();
    const onedir = `${content.replace('exe = EXE(', 'exe = EXE(\n    exclude_binaries=True,')}coll = COLLECT(exe, a.binaries, name='svc')\n`;
    expect(pythonRuntime.readSpec('apps/x/svc-bin.spec', onedir)).toEqual({ specFile: 'svc-bin.spec', binaryName: 'svc', binaryFiles: ['svc.tar.gz'], layout: 'onedir', supersededFiles: ['svc'] });
    expect(pythonRuntime.readSpec('apps/x/svc.py', content)).toBeUndefined();
  });

  it("passes the smoke run a spec proposes to test-binary's options (project.json still overrides them)", () => {
    const proposed = createBinaryTargets(pythonRuntime, { ...spec, smoke: { args: ['--version'], expectedOutput: '1\\.4\\.0' } }, context());
    expect(proposed['test-binary'].options).toEqual({ spec: 'agent-runner.spec', args: ['--version'], expectedOutput: '1\\.4\\.0' });
    expect(proposed['build-binary'].options).toEqual({ spec: 'agent-runner.spec' });
  });
});
