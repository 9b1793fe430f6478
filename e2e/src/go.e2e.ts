import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { exec, REPO_ROOT, Workspace } from './helpers/workspace';

/**
 * A Go service (a workspace library through `replace`, two modules from the Go module proxy, an embedded file)
 * becomes five binaries with the real Go toolchain: the linux one does its real work from an empty folder with an
 * empty environment, Nx's cache and affected follow the library and not its tests, two clones build the same
 * bytes, and bad input fails in one line with nothing half-built and go.mod/go.sum untouched.
 */
describe('Go service → five cross-compiled binaries (e2e)', () => {
  let ws: Workspace;
  const spec = 'apps/api/api.go-binary.json';
  const dist = 'apps/api/dist';
  const files = ['api', 'api-linux-arm64', 'api-darwin-amd64', 'api-darwin-arm64', 'api-windows-amd64.exe'];
  const expected = 'hello, STIGMER 15de340f-9701-5468-9835-409e4770c8e0 [1.4.0] banner from an embedded file';
  const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  const goVersion = exec('go', ['env', 'GOVERSION'], REPO_ROOT).stdout.trim();
  /** The line stigmer prints for a failed build: exactly one, and what it says. */
  const errorLine = (output: string) => {
    const lines = output.split('\n').filter((line) => line.includes('stigmer build-binary:'));
    expect(lines).toHaveLength(1);
    return lines[0];
  };

  beforeAll(() => {
    if (process.arch !== 'x64' || process.platform !== 'linux') throw new Error('this suite runs on linux-x64 (CI), where the host binary is dist/api');
    ws = Workspace.create('go');
    fs.copySync(path.join(REPO_ROOT, 'e2e', 'fixtures', 'go'), ws.root);
    ws.mustNx(['g', 'stigmer:init']);
    ws.commit('go service and library');
  });

  afterAll(() => ws?.remove());

  it('nx g stigmer:binary-spec finds the cmd/api main package and writes a five-platform spec, once', () => {
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'api']);
    const written = fs.readJsonSync(ws.path(spec));
    expect(written).toEqual({
      name: 'api',
      main: './cmd/api',
      platforms: ['linux-amd64', 'linux-arm64', 'darwin-amd64', 'darwin-arm64', 'windows-amd64'],
      variables: { 'main.version': '{version}' },
    });
    expect(ws.read('apps/api/.gitignore')).toContain('dist/');
    // The user's edit (a version) survives a second run.
    fs.writeJsonSync(ws.path(spec), { ...written, version: '1.4.0' }, { spaces: 2 });
    const edited = ws.read(spec);
    expect(ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'api']).output).toMatch(/api\.go-binary\.json exists: kept it/);
    expect(ws.read(spec)).toBe(edited);
    // The library has only a go.mod: the Go runtime makes it a project, and the replace directive an edge to it.
    expect(fs.existsSync(ws.path('libs/greet/project.json'))).toBe(false);
    expect(JSON.parse(ws.mustNx(['show', 'project', 'greet', '--json']).stdout).root).toBe('libs/greet');
    const project = JSON.parse(ws.mustNx(['show', 'project', 'api', '--json']).stdout);
    // Three files per platform, and the size report of the host's binary.
    expect(project.targets['build-binary'].outputs).toHaveLength(17);
    expect(project.targets['build-binary'].inputs).toContain('!{projectRoot}/**/*_test.go');
    ws.commit('spec');
  });

  it('builds five platforms; the linux binary works from an empty folder with an empty environment', () => {
    const build = ws.mustNx(['run', 'api:build-binary']);
    expect(build.output).toMatch(/\[stigmer\] go build \(linux-amd64, linux-arm64, darwin-amd64, darwin-arm64, windows-amd64\): [\d.]+s/);
    for (const file of files) {
      expect(fs.readFileSync(ws.path(dist, `${file}.sha256`), 'utf8')).toBe(`${sha256(ws.path(dist, file))}  ${file}\n`);
      expect(fs.readJsonSync(ws.path(dist, `${file}.manifest.json`))).toMatchObject({ name: 'api', version: '1.4.0', runtime: 'go', runtimeVersions: { go: goVersion.replace(/^go/, '') } });
    }
    expect(fs.readJsonSync(ws.path(dist, 'api-windows-amd64.exe.manifest.json'))).toMatchObject({ os: 'win32', arch: 'x64' });
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-empty-'));
    try {
      fs.copySync(ws.path(dist, 'api'), path.join(empty, 'api'));
      // Every variable unset, the helper's own (NX_*, FORCE_COLOR) too: spawn drops undefined values.
      const nothing = Object.fromEntries([...Object.keys(process.env), 'NX_DAEMON', 'NX_NO_CLOUD', 'NX_TUI', 'FORCE_COLOR'].map((k) => [k, undefined]));
      const run = exec(path.join(empty, 'api'), [], empty, nothing);
      expect(run.stdout).toBe(`${expected}\n`);
      expect(run.code).toBe(0);
    } finally {
      fs.removeSync(empty);
    }
    const test = ws.mustNx(['run', 'api:test-binary', '--args=--version', '--expectedOutput=api 1\\.4\\.0']);
    expect(test.output).toMatch(/✔ go modules: 2 modules inside match go\.sum, 1 local/);
    for (const [file, what] of [['api-linux-arm64', 'ELF arm64'], ['api-darwin-amd64', 'Mach-O x64'], ['api-darwin-arm64', 'Mach-O arm64'], ['api-windows-amd64.exe', 'PE x64']]) {
      expect(test.output).toContain(`✔ header ${file}: ${what}`);
    }
    expect(ws.run('git', ['status', '--porcelain']).stdout).toBe('');
  });

  it('the size report of the host binary adds up to its size, by module: Go runtime and stdlib first, then pkg/errors', () => {
    const report = fs.readJsonSync(ws.path(dist, 'api.report.json'));
    expect(report).toMatchObject({ name: 'api', binary: 'api', runtime: 'go', version: '1.4.0', fileSize: fs.statSync(ws.path(dist, 'api')).size, basis: 'the executable' });
    expect(report.itemsSize + report.overhead.size).toBe(report.fileSize);
    // What no symbol covers (ELF headers, build info, section alignment) stays under 1 %, as for Python and Node.
    expect(report.overhead.size).toBeGreaterThan(0);
    expect(report.overhead.size / report.fileSize).toBeLessThan(0.01);
    const names = report.packages.map((p: { name: string }) => p.name);
    expect(report.packages[0]).toMatchObject({ name: 'Go runtime and standard library', kind: 'runtime', version: goVersion.replace(/^go/, '') });
    const modules = report.packages.filter((p: { kind: string }) => p.kind === 'go-module');
    expect(modules.map((p: { name: string; version: string }) => `${p.name}@${p.version}`)).toEqual(['github.com/pkg/errors@v0.9.1', 'github.com/google/uuid@v1.6.0']);
    expect(names).toContain('example.com/api (service)');
    const errorsPkg = modules[0];
    expect(errorsPkg.files.map((f: { path: string }) => f.path)).toContain('github.com/pkg/errors.(*withStack).Format');
    expect(ws.read(`${dist}/api.report.html`)).toContain('github.com/pkg/errors');
  });

  it('binary-report --compare: a module added between two builds appears as new, with its size', () => {
    const main = 'apps/api/cmd/api/main.go';
    const original = ws.read(main);
    const previous = ws.path('previous-dist');
    // The build before: the same service without github.com/pkg/errors (its require may stay: go links only what is imported).
    ws.write(main, original.replace('\t"github.com/pkg/errors"\n', '').replace(/\tif len\(os.Args\) > 1 && os.Args\[1\] == "--fail" \{[\s\S]*?\n\t\}\n/, ''));
    try {
      ws.mustNx(['run', 'api:build-binary']);
      const before = fs.readJsonSync(ws.path(dist, 'api.report.json'));
      expect(before.packages.map((p: { name: string }) => p.name)).not.toContain('github.com/pkg/errors');
      fs.copySync(ws.path(dist), previous);
    } finally {
      ws.write(main, original);
    }
    try {
      expect(ws.mustNx(['run', 'api:build-binary']).output).toMatch(/\[local cache\]|existing outputs match the cache/);
      const errorsPkg = fs.readJsonSync(ws.path(dist, 'api.report.json')).packages.find((p: { name: string }) => p.name === 'github.com/pkg/errors');
      const compared = ws.mustNx(['run', 'api:binary-report', '--compare', 'previous-dist']);
      const kb = `${(errorsPkg.size / 1024).toFixed(1)} KB`.replace('.', '\\.');
      expect(compared.output).toMatch(new RegExp(`^github\\.com/pkg/errors\\s+\\+${kb}\\s+-\\s+${kb}\\s+new$`, 'm'));
    } finally {
      fs.removeSync(previous);
    }
    expect(ws.run('git', ['status', '--porcelain']).stdout).toBe('');
  });

  it('a library change makes the service affected and rebuilt; a test-file change does not; reverting is a cache hit', () => {
    const lib = 'libs/greet/greet.go';
    const original = ws.read(lib);
    ws.write(lib, original.replace('"hello, "', '"hi, "'));
    try {
      expect(ws.mustNx(['show', 'projects', '--affected', '--base=HEAD']).stdout.split(/\s+/)).toContain('api');
      expect(ws.mustNx(['run', 'api:build-binary']).output).not.toContain('[local cache]');
      expect(ws.run(ws.path(dist, 'api'), []).stdout).toMatch(/^hi, STIGMER/);
    } finally {
      ws.write(lib, original);
    }
    expect(ws.mustNx(['run', 'api:build-binary']).output).toMatch(/\[local cache\]|existing outputs match the cache/);
    expect(ws.run(ws.path(dist, 'api'), []).stdout).toBe(`${expected}\n`);
    for (const test of ['libs/greet/greet_test.go', 'apps/api/cmd/api/main_test.go']) {
      fs.appendFileSync(ws.path(test), '\n// a test-only edit\n');
      expect(ws.mustNx(['run', 'api:build-binary']).output).toMatch(/\[local cache\]|existing outputs match the cache/);
    }
    ws.mustRun('git', ['checkout', '--', 'libs', 'apps']);
  });

  it('two clones build byte-identical binaries', () => {
    const clone = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-go-clone-'));
    try {
      fs.removeSync(clone);
      ws.mustRun('git', ['clone', '-q', ws.root, clone]);
      fs.symlinkSync(ws.path('node_modules'), path.join(clone, 'node_modules'));
      const env = { NX_CACHE_DIRECTORY: `${clone}-nx-cache`, NX_WORKSPACE_DATA_DIRECTORY: `${clone}-nx-data` };
      const built = exec(path.join(clone, 'node_modules', '.bin', 'nx'), ['run', 'api:build-binary', '--skip-nx-cache'], clone, env);
      expect(built.code).toBe(0);
      for (const file of files) expect(`${file} ${sha256(path.join(clone, dist, file))}`).toBe(`${file} ${sha256(ws.path(dist, file))}`);
    } finally {
      ['', '-nx-cache', '-nx-data'].forEach((suffix) => fs.removeSync(clone + suffix));
    }
  });

  describe('bad input fails in one line, builds nothing and never writes go.mod or go.sum', () => {
    beforeEach(() => fs.removeSync(ws.path(dist)));
    afterEach(() => {
      ws.mustRun('git', ['checkout', '--', '.']);
      ws.mustRun('git', ['clean', '-fdq', 'apps']);
      expect(ws.run('git', ['status', '--porcelain']).stdout).toBe('');
    });

    function failedBuild(): string {
      const result = ws.nx(['run', 'api:build-binary', '--skip-nx-cache']);
      expect(result.code).not.toBe(0);
      expect(fs.existsSync(ws.path(dist))).toBe(false);
      return errorLine(result.output);
    }

    it('a missing go.sum entry names go mod tidy', () => {
      const sum = ws.read('apps/api/go.sum').split('\n').filter((line) => !line.startsWith('github.com/pkg/errors')).join('\n');
      ws.write('apps/api/go.sum', sum);
      expect(failedBuild()).toMatch(/go\.sum has no entry for github\.com\/pkg\/errors.*run go mod tidy/);
      expect(ws.read('apps/api/go.sum')).toBe(sum);
      expect(ws.run('git', ['diff', '--name-only']).stdout.trim()).toBe('apps/api/go.sum');
    });

    it('a cgo import names the file and the opt-in', () => {
      ws.write('apps/api/cmd/api/native.go', 'package main\n\n// #include <stdlib.h>\nimport "C"\n\nfunc native() { C.free(nil) }\n');
      expect(failedBuild()).toMatch(/apps\/api\/cmd\/api\/native\.go imports "C" \(cgo\).*set "cgo": true and "platforms": \["host"\]/);
    });

    it('an unknown platform names the known ones', () => {
      fs.writeJsonSync(ws.path(spec), { ...fs.readJsonSync(ws.path(spec)), platforms: ['linux-amd64', 'plan9-mips'] });
      expect(failedBuild()).toMatch(/api\.go-binary\.json names an unknown platform 'plan9-mips': use host or one of linux-amd64, /);
    });
  });
});
