import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { emptyFolder, extractPyInstallerMembers, isolatedRun, libpythonOf, symbolSections } from './helpers/binaries';
import { pathToFileURL } from 'node:url';
import { inspectReportPage, e2eOutputDir } from './helpers/report-page';
import { exec, REPO_ROOT, Workspace } from './helpers/workspace';

/** An agent definition the binary reads from a file: its real work (YAML, graphton's plugins, a signed receipt). */
const AGENT_YAML = 'name: isolated-agent\nsteps:\n  - plugin: echo\n    input: read from a file\n  - plugin: upper\n    input: stripped and unpacked\n';

/** Runs `agent-runner run agent.yaml` from an empty folder with an empty environment; returns its JSON output. */
function runAgentIsolated(executable: string): { agent: string; outputs: string[]; receipt: string } {
  const folder = emptyFolder('agent');
  try {
    fs.writeFileSync(path.join(folder, 'agent.yaml'), AGENT_YAML);
    const run = isolatedRun(executable, ['run', 'agent.yaml'], folder);
    if (run.code !== 0) throw new Error(`${executable} run agent.yaml exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
    return JSON.parse(run.stdout);
  } finally {
    fs.removeSync(folder);
  }
}

function sha256Of(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * A user's journey with a Python service, on a real Nx workspace with the packed plugin and real
 * PyInstaller: init, generator, build of a stripped binary that works isolated, cache hit that restores a
 * runnable binary, incremental build, test-binary, clean-binary, a spec that misses a module loaded by name,
 * and last the onedir layout (a folder shipped as a reproducible .tar.gz, unpacked and run).
 */
describe('Python service → one binary (e2e)', () => {
  let ws: Workspace;
  const binary = 'services/agent-runner/dist/agent-runner';
  const timings: Record<string, number> = {};

  beforeAll(() => {
    ws = Workspace.create('python');
    ws.addExamplePythonService();
    ws.commit('add agent-runner and graphton');
  });

  afterAll(() => {
    if (Object.keys(timings).length) console.log(`e2e build timings (ms): ${JSON.stringify(timings)}`);
    ws?.remove();
  });

  it('nx g stigmer:init registers the plugin once', () => {
    ws.mustNx(['g', 'stigmer:init']);
    ws.mustNx(['g', 'stigmer:init']);
    const plugins = fs.readJsonSync(ws.path('nx.json')).plugins as Array<string | { plugin: string }>;
    expect(plugins.filter((p) => (typeof p === 'string' ? p : p.plugin) === 'stigmer')).toHaveLength(1);
    expect(ws.read('.gitignore')).toContain('.stigmer/');
    expect(ws.read('.gitignore')).toContain('*.egg-info/');
  });

  it('nx g stigmer:binary-spec writes the spec, the dev dependency and the ignore entries, and is idempotent', () => {
    const pyprojectBefore = ws.read('services/agent-runner/pyproject.toml');
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'agent-runner']);
    const spec = ws.read('services/agent-runner/agent-runner.spec');
    // Distributions, turned into their modules (pyjwt -> jwt) at build time by the environment that builds.
    expect(spec).toMatch(/distributions = \[\n\s+"pyjwt",\n\s+"pyyaml",\n\]/);
    expect(spec).toMatch(/for package in \[\s+"agent_runner",\s+"graphton",\s+\]:\s+hiddenimports \+= collect_submodules\(package\)/);
    // One executable by default, stripped everywhere but Windows, in both of the spec's builds.
    expect(spec).toMatch(/^LAYOUT = "onefile"$/m);
    expect(spec).toMatch(/^STRIP = not sys\.platform\.startswith\("win"\)$/m);
    expect(spec.match(/^\s+strip=STRIP,$/gm)).toHaveLength(2);
    expect(spec).toMatch(/COLLECT\(exe, a\.binaries, a\.datas, strip=STRIP,/);
    expect(spec).not.toMatch(/strip=False/);
    const pyproject = ws.read('services/agent-runner/pyproject.toml');
    expect(pyproject).toContain('pyinstaller = { version = "^6.22.3", python = ">=3.11,<3.15" }');
    // Every line the user wrote is still there, comments and alignment included.
    for (const line of pyprojectBefore.split('\n')) expect(pyproject).toContain(line);
    expect(ws.read('services/agent-runner/.gitignore')).toMatch(/dist\/\nbuild\/\n$/);

    const snapshot = ['services/agent-runner/agent-runner.spec', 'services/agent-runner/pyproject.toml', 'services/agent-runner/.gitignore', 'nx.json'].map((f) => ws.read(f));
    const again = ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'agent-runner']);
    expect(again.output).not.toMatch(/UPDATE|CREATE/);
    expect(['services/agent-runner/agent-runner.spec', 'services/agent-runner/pyproject.toml', 'services/agent-runner/.gitignore', 'nx.json'].map((f) => ws.read(f))).toEqual(snapshot);
    ws.commit('stigmer binary spec');
  });

  it('infers build-binary, test-binary and clean-binary with the caching contract', () => {
    const project = JSON.parse(ws.mustNx(['show', 'project', 'agent-runner', '--json']).stdout);
    const build = project.targets['build-binary'];
    expect(build.executor).toBe('stigmer:build-binary');
    expect(build.cache).toBe(true);
    expect(build.outputs).toEqual([
      '{projectRoot}/dist/agent-runner',
      '{projectRoot}/dist/agent-runner.sha256',
      '{projectRoot}/dist/agent-runner.manifest.json',
      '{projectRoot}/dist/agent-runner.report.json',
      '{projectRoot}/dist/agent-runner.report.html',
    ]);
    expect(build.inputs).toEqual(expect.arrayContaining(['!{projectRoot}/tests/**/*', '^production', { externalDependencies: [] }]));
    // The toolchain key comes from the plugin's script, which resolves the interpreter that builds.
    const runtime = build.inputs.find((i: { runtime?: string }) => i.runtime)?.runtime;
    expect(runtime).toMatch(/^node \S*node_modules\/stigmer\/dist\/runtimes\/python\/environment\/toolchain-key\.js services\/agent-runner$/);
    expect(ws.mustRun('sh', ['-c', runtime]).stdout.trim()).toMatch(/^3\.\d+\.\d+ linux \S+ managed stigmer 0\.1\.0$/);
    expect(build.metadata.technologies).toEqual(['python', 'pyinstaller']);
    expect(project.targets['test-binary'].dependsOn).toEqual(['build-binary']);
    expect(project.targets['test-binary'].inputs).toEqual(expect.arrayContaining([{ dependentTasksOutputFiles: '**/*', transitive: false }]));
    expect(project.targets['clean-binary'].cache).toBe(false);
  });

  it('builds a binary that runs, with its checksum and manifest', () => {
    const build = ws.mustNx(['run', 'agent-runner:build-binary']);
    timings.firstBuild = build.ms;
    expect(build.output).toMatch(/\[stigmer\] resolve environment: [\d.]+s/);
    expect(build.output).toMatch(/\[stigmer\] analyse: [\d.]+s/);
    expect(build.output).toMatch(/\[stigmer\] bundle: [\d.]+s/);
    expect(build.output).toMatch(/services\/agent-runner\/dist\/agent-runner: [\d.]+ MB, built in/);

    const run = ws.run(ws.path(binary), []);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).outputs).toEqual(['hello from agent-runner', 'GRAPH READY']);

    const sha256 = createHash('sha256').update(fs.readFileSync(ws.path(binary))).digest('hex');
    expect(ws.read(`${binary}.sha256`)).toBe(`${sha256}  agent-runner\n`);
    const manifest = fs.readJsonSync(ws.path(`${binary}.manifest.json`));
    expect(manifest).toMatchObject({ name: 'agent-runner', version: '0.3.1', os: process.platform, arch: process.arch, sha256, runtime: 'python' });
    expect(manifest.size).toBe(fs.statSync(ws.path(binary)).size);
    expect(manifest.runtimeVersions.python).toMatch(/^3\.\d+\.\d+$/);
    expect(manifest.runtimeVersions.pyinstaller).toBe('6.22.3');
    // No staging folder or partial file is left behind.
    expect(fs.readdirSync(ws.path('services/agent-runner/dist')).sort()).toEqual(['agent-runner', 'agent-runner.manifest.json', 'agent-runner.report.html', 'agent-runner.report.json', 'agent-runner.sha256']);
  });

  it('writes a size report: every entry and module by distribution, adding up to the binary within 1% (the rest named overhead)', () => {
    const report = fs.readJsonSync(ws.path('services/agent-runner/dist/agent-runner.report.json'));
    const size = fs.statSync(ws.path(binary)).size;
    expect(report).toMatchObject({ schema: 1, name: 'agent-runner', version: '0.3.1', runtime: 'python', layout: 'onefile', fileSize: size, measuredSize: size });
    const sum = report.packages.reduce((total: number, p: { size: number }) => total + p.size, 0);
    expect(report.itemsSize).toBe(sum);
    // The tolerance: what no entry accounts for (CArchive and PYZ tables, ELF headers, padding) is under 1%.
    expect(report.overhead.size).toBe(size - sum);
    expect(report.overhead.size).toBeGreaterThanOrEqual(0);
    expect(report.overhead.size).toBeLessThan(size * 0.01);
    expect(report.overhead.description).toMatch(/archive tables/);
    // The interpreter and its standard library weigh most; of the declared dependencies, PyYAML (its C extension).
    expect(report.packages[0]).toMatchObject({ name: expect.stringMatching(/^Python 3\.\d+\.\d+ \(interpreter \+ stdlib\)$/), kind: 'runtime' });
    expect(report.packages[0].files.map((f: { path: string }) => f.path)).toEqual(expect.arrayContaining(['bootloader', 'base_library.zip', expect.stringMatching(/^libpython3/), 'json.decoder']));
    const distributions = report.packages.filter((p: { kind: string }) => p.kind === 'distribution');
    expect(distributions[0]).toMatchObject({ name: 'PyYAML', version: expect.stringMatching(/^6\./) });
    expect(distributions[0].files.map((f: { path: string }) => f.path)).toEqual(expect.arrayContaining([expect.stringMatching(/^yaml\/_yaml\..*\.so$/), 'yaml.reader']));
    expect(distributions.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['PyJWT', 'graphton']));
    const jwt = distributions.find((p: { name: string }) => p.name === 'PyJWT');
    expect(jwt.uncompressedSize).toBeGreaterThan(jwt.size);
    expect(report.packages.find((p: { kind: string }) => p.kind === 'service').files.map((f: { path: string }) => f.path)).toEqual(expect.arrayContaining(['agent_runner.cli']));
  });

  it('the report page works in a real browser from file:// with no network request: a rectangle for each of the five largest packages, a click lists its files', async () => {
    const html = ws.path('services/agent-runner/dist/agent-runner.report.html');
    const report = fs.readJsonSync(ws.path('services/agent-runner/dist/agent-runner.report.json'));
    const largest: string[] = report.packages.slice(0, 5).map((p: { name: string }) => p.name);
    const screenshot = path.join(e2eOutputDir(), 'agent-runner.report.png');
    const page = await inspectReportPage(html, largest, 'PyYAML', screenshot);
    expect(page.errors).toEqual([]);
    expect(page.requests).toEqual([pathToFileURL(html).href]);
    for (const name of largest) expect({ name, rectangle: page.rectangles[name] }).toEqual({ name, rectangle: { width: expect.any(Number), height: expect.any(Number) } });
    for (const name of largest) expect(page.rectangles[name]!.width * page.rectangles[name]!.height).toBeGreaterThan(0);
    const yaml = report.packages.find((p: { name: string }) => p.name === 'PyYAML');
    expect(page.listedTitle).toMatch(new RegExp(`^PyYAML 6\\.[\\d.]+: ${yaml.files.length} files`));
    expect(page.listedFiles).toEqual(yaml.files.map((f: { path: string }) => f.path));
    expect(page.sortedByName).toEqual([...page.sortedByName].sort((a, b) => a.localeCompare(b)));
    expect(fs.statSync(screenshot).size).toBeGreaterThan(10_000);
    // docs/report-agent-runner.png is this screenshot: STIGMER_DOCS_SCREENSHOT=1 writes it there too.
    if (process.env.STIGMER_DOCS_SCREENSHOT === '1') fs.copyFileSync(screenshot, path.join(REPO_ROOT, 'docs', 'report-agent-runner.png'));
  });

  it("the one-file binary is stripped, carries stigmer's lazy inspect run-time hook, and does its real work from an empty folder with an empty environment", () => {
    const copyFolder = emptyFolder('onefile');
    const libFolder = emptyFolder('libpython');
    try {
      const copy = path.join(copyFolder, 'agent-runner');
      fs.copySync(ws.path(binary), copy);
      const result = runAgentIsolated(copy);
      expect(result.agent).toBe('isolated-agent');
      expect(result.outputs).toEqual(['read from a file', 'STRIPPED AND UNPACKED']);
      expect(result.receipt.split('.')).toHaveLength(3);

      // The libpython inside the binary, read with PyInstaller's own archive reader by the Python that built it.
      const python = ws.path('.stigmer/venvs/agent-runner/bin/python');
      const original = libpythonOf(python);
      // Without symbols in the build's libpython this check could not tell a stripped build from an unstripped one.
      expect({ [original]: symbolSections(original) }).toEqual({ [original]: expect.arrayContaining(['.symtab']) });
      const inside = extractPyInstallerMembers(python, ws.path(binary), 'libpython[\\d.]+\\.so[\\d.]*', libFolder);
      expect(inside.map((file) => path.basename(file))).toEqual([path.basename(original)]);
      expect(symbolSections(inside[0])).toEqual([]);
      expect(fs.statSync(inside[0]).size).toBeLessThan(fs.statSync(original).size);

      // The spec swapped PyInstaller's inspect run-time hook for stigmer's (docs/python.md, "Start-up"); its code is in the archive.
      const [hook] = extractPyInstallerMembers(python, ws.path(binary), 'pyi_rth_inspect', libFolder);
      expect(fs.readFileSync(hook).includes('_stigmer_lazy_inspect_hook')).toBe(true);
    } finally {
      fs.removeSync(copyFolder);
      fs.removeSync(libFolder);
    }
  });

  it('a clean build (--clean) rebuilds from nothing, and leaves the user\'s PyInstaller cache alone', () => {
    // PyInstaller's --clean empties its cache folder: were it the user's, a concurrent build of another service
    // would lose the stripped libraries it is packing ("No such file or directory: .../bincache10...").
    const userCache = emptyFolder('user-cache');
    const otherBuilds = path.join(userCache, 'pyinstaller', 'bincache10py3xx', 'index.dat');
    fs.outputFileSync(otherBuilds, 'the cache of another build');
    try {
      const clean = ws.mustNx(['run', 'agent-runner:build-binary', '--clean', '--skip-nx-cache'], { XDG_CACHE_HOME: userCache });
      timings.cleanBuild = clean.ms;
      expect(clean.output).toContain('reusing .stigmer/venvs/agent-runner');
      expect(fs.existsSync(otherBuilds)).toBe(true);
    } finally {
      fs.removeSync(userCache);
    }
    expect(ws.run(ws.path(binary), ['--version']).stdout.trim()).toBe('agent-runner 0.3.1');
  });

  it('restores a runnable binary from the cache after dist/ was deleted', () => {
    // The first build (same sources, same options) stored it; --clean above is another hash.
    fs.removeSync(ws.path('services/agent-runner/dist'));
    const hit = ws.mustNx(['run', 'agent-runner:build-binary']);
    timings.cacheHit = hit.ms;
    // Nx replays the stored log of the build: the hit is in its own lines.
    expect(hit.output).toContain('nx run agent-runner:build-binary  [local cache]');
    expect(hit.output).toContain('Nx read the output from the cache instead of running the command for 1 out of 1 tasks');
    const stat = fs.statSync(ws.path(binary));
    expect(stat.mode & 0o111).toBeTruthy();
    expect(ws.run(ws.path(binary), ['--version']).stdout.trim()).toBe('agent-runner 0.3.1');
  });

  it('rebuilds after a source change (incremental), and the binary has the change', () => {
    const cli = 'services/agent-runner/agent_runner/cli.py';
    ws.write(cli, ws.read(cli).replace('input: graph ready', 'input: graph changed'));
    const incremental = ws.mustNx(['run', 'agent-runner:build-binary']);
    timings.incrementalBuild = incremental.ms;
    expect(incremental.output).toContain('[stigmer] analyse');
    expect(JSON.parse(ws.run(ws.path(binary), []).stdout).outputs).toEqual(['hello from agent-runner', 'GRAPH CHANGED']);
    ws.write(cli, ws.read(cli).replace('input: graph changed', 'input: graph ready'));
  });

  it('a change to the tests folder (no spec bundles it) does not rebuild', () => {
    ws.mustNx(['run', 'agent-runner:build-binary']);
    ws.write('services/agent-runner/tests/test_cli.py', `${ws.read('services/agent-runner/tests/test_cli.py')}\n# more tests\n`);
    expect(ws.mustNx(['run', 'agent-runner:build-binary']).output).toMatch(/local cache|existing outputs match the cache/);
  });

  it('follows the local library: a graphton change rebuilds agent-runner, reverting it is a cache hit again', () => {
    ws.mustNx(['graph', '--file', 'graph.json']);
    const graph = fs.readJsonSync(ws.path('graph.json')).graph;
    fs.removeSync(ws.path('graph.json'));
    expect(graph.dependencies['agent-runner']).toEqual([{ source: 'agent-runner', target: 'graphton', type: 'static' }]);
    const plugin = 'services/libs/graphton/graphton/plugins/upper.py';
    const original = ws.read(plugin);
    ws.write(plugin, `${original}\n# a change in the library\n`);
    expect(ws.mustNx(['run', 'agent-runner:build-binary']).output).toContain('[stigmer] analyse');
    ws.write(plugin, original);
    expect(ws.mustNx(['run', 'agent-runner:build-binary']).output).toMatch(/local cache|existing outputs match the cache/);
  });

  it('test-binary passes on a good binary', () => {
    const test = ws.mustNx(['run', 'agent-runner:test-binary']);
    expect(test.output).toContain('✔ dependency pyjwt: import jwt inside');
    expect(test.output).toContain('✔ dependency pyyaml: import _yaml, yaml inside');
    expect(test.output).toMatch(/✔ local package graphton: \d+ modules inside/);
    expect(test.output).toMatch(/✔ service package agent_runner: \d+ modules inside/);
    expect(test.output).toMatch(/✔ import trace \(smoke command\): "python main\.py" imported \d+ modules/);
    expect(test.output).toMatch(/✔ smoke run: .* exited 0 and matched/);
    expect(test.output).toContain('✔ git ignore: services/agent-runner/dist/agent-runner is ignored');
  });

  it('test-binary fails on a binary over its size budget, saying how to fix it', () => {
    const test = ws.nx(['run', 'agent-runner:test-binary', '--sizeBudgetMb=1']);
    expect(test.code).not.toBe(0);
    // The failure names the five largest packages of the size report and their weight: what to exclude.
    expect(test.output).toMatch(/over its 1 MB budget; largest packages: Python 3\.\d+\.\d+ \(interpreter \+ stdlib\) [\d.]+ MB, (.+ [\d.]+ [KM]B, ){3}.+ [\d.]+ [KM]B \(see agent-runner\.report\.html\): add large unused packages to the spec's excludes, or raise sizeBudgetMb/);
    expect(test.output).toMatch(/largest packages: .*PyYAML [\d.]+ KB/);
  });

  it('clean-binary removes the binary, its side files and the work files', () => {
    ws.mustNx(['run', 'agent-runner:clean-binary']);
    expect(fs.existsSync(ws.path(binary))).toBe(false);
    expect(fs.existsSync(ws.path(`${binary}.sha256`))).toBe(false);
    expect(fs.existsSync(ws.path(`${binary}.report.json`))).toBe(false);
    expect(fs.existsSync(ws.path(`${binary}.report.html`))).toBe(false);
    expect(fs.existsSync(ws.path('services/agent-runner/build/agent-runner'))).toBe(false);
    expect(fs.existsSync(ws.path('services/agent-runner/main.py'))).toBe(true);
  });

  it('test-binary fails, naming the module, when the spec misses a module loaded by name', () => {
    const specPath = 'services/agent-runner/agent-runner.spec';
    const good = ws.read(specPath);
    // The user "simplifies" the spec: graphton's plugins, loaded with importlib, are no longer collected.
    ws.write(specPath, good.replace(/\s+"graphton",\n/, '\n'));
    try {
      const test = ws.nx(['run', 'agent-runner:test-binary']);
      expect(test.code).not.toBe(0);
      expect(test.output).toMatch(/✘ local package graphton: module graphton\.plugins(\.echo)? .*is not in the binary: add "hiddenimports \+= collect_submodules\('graphton'\)" to agent-runner\.spec/);
      expect(test.output).toMatch(/✘ smoke run: the binary raised "No module named 'graphton\.plugins(\.\w+)?'" at run time/);
    } finally {
      ws.write(specPath, good);
    }
  });

  it('a spec with a Python syntax error fails in one clear line and leaves the last good binary alone', () => {
    ws.mustNx(['run', 'agent-runner:build-binary']);
    const before = fs.readFileSync(ws.path(binary));
    const specPath = 'services/agent-runner/agent-runner.spec';
    const good = ws.read(specPath);
    ws.write(specPath, good.replace('pyz = PYZ(a.pure)', 'pyz = PYZ(a.pure'));
    try {
      const broken = ws.nx(['run', 'agent-runner:build-binary']);
      expect(broken.code).not.toBe(0);
      expect(broken.output).toMatch(/stigmer build-binary: PyInstaller failed on agent-runner\.spec: SyntaxError.*fix the spec and run again/);
      expect(fs.readFileSync(ws.path(binary)).equals(before)).toBe(true);
      expect(fs.readdirSync(ws.path('services/agent-runner/dist')).filter((f) => f.startsWith('.stigmer-staging'))).toEqual([]);
    } finally {
      ws.write(specPath, good);
    }
  });

  it("a syntax error in the service's own module names that file and line, not the spec", () => {
    const module = 'services/agent-runner/agent_runner/cli.py';
    const good = ws.read(module);
    ws.write(module, `${good}\ndef broken(:\n    pass\n`);
    try {
      const broken = ws.nx(['run', 'agent-runner:build-binary']);
      expect(broken.code).not.toBe(0);
      // PyInstaller itself only warns ("invalid module") and builds a binary without the module.
      expect(broken.output).toMatch(/SyntaxError: invalid syntax in agent_runner\/cli\.py line \d+ \(module agent_runner\.cli, which the binary would lack\): fix it and run again/);
      expect(broken.output).not.toMatch(/fix the spec/);
    } finally {
      ws.write(module, good);
    }
  });

  // The one-folder layout, last: from here on the spec builds dist/agent-runner.tar.gz.
  describe('onedir layout: one folder shipped as one .tar.gz', () => {
    const specPath = 'services/agent-runner/agent-runner.spec';
    const dist = 'services/agent-runner/dist';
    const archive = `${dist}/agent-runner.tar.gz`;
    let archiveSha256 = '';

    /** Unpacks the archive with the system tar into an empty folder and runs its entrypoint's real work there. */
    function unpackAndRun(): { agent: string; outputs: string[] } {
      const folder = emptyFolder('onedir');
      try {
        expect(exec('tar', ['-xzf', ws.path(archive)], folder).code).toBe(0);
        expect(fs.readdirSync(folder)).toEqual(['agent-runner']);
        const entrypoint = path.join(folder, 'agent-runner', 'agent-runner');
        expect(fs.statSync(entrypoint).mode & 0o777).toBe(0o755);
        return runAgentIsolated(entrypoint);
      } finally {
        fs.removeSync(folder);
      }
    }

    it('nx g stigmer:binary-spec --layout onedir switches the layout and nothing else', () => {
      const before = ws.read(specPath);
      ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'agent-runner', '--layout', 'onedir']);
      const after = ws.read(specPath);
      const changed = (a: string, b: string) => {
        const [left, right] = [a.split('\n'), b.split('\n')];
        expect(right).toHaveLength(left.length);
        return left.flatMap((line, i) => (line === right[i] ? [] : [[line, right[i]]]));
      };
      // An unedited generated spec is rendered again: its LAYOUT line, the output its header names, and the
      // checksum that keeps it recognised as generated.
      expect(changed(before, after)).toEqual([
        [expect.stringMatching(/^# stigmer-checksum: /), expect.stringMatching(/^# stigmer-checksum: /)],
        [expect.stringContaining('build-binary  -> dist/agent-runner (+'), expect.stringContaining('build-binary  -> dist/agent-runner.tar.gz (+')],
        ['LAYOUT = "onefile"', 'LAYOUT = "onedir"'],
      ]);
      // Without --layout the spec keeps its layout.
      ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'agent-runner']);
      expect(ws.read(specPath)).toBe(after);
    });

    it('infers the archive and its side files as the build outputs', () => {
      const project = JSON.parse(ws.mustNx(['show', 'project', 'agent-runner', '--json']).stdout);
      expect(project.targets['build-binary'].outputs).toEqual([
        '{projectRoot}/dist/agent-runner.tar.gz',
        '{projectRoot}/dist/agent-runner.tar.gz.sha256',
        '{projectRoot}/dist/agent-runner.tar.gz.manifest.json',
        '{projectRoot}/dist/agent-runner.report.json',
        '{projectRoot}/dist/agent-runner.report.html',
      ]);
    });

    it('builds dist/agent-runner.tar.gz with its checksum and manifest, and nothing else in dist/', () => {
      // The one-file binary of the earlier cases is still there: the switch must not leave it beside the archive.
      expect(fs.existsSync(ws.path(binary))).toBe(true);
      const build = ws.mustNx(['run', 'agent-runner:build-binary']);
      timings.onedirBuild = build.ms;
      expect(build.output).toMatch(/services\/agent-runner\/dist\/agent-runner\.tar\.gz: [\d.]+ MB, built in/);
      // No PyInstaller folder, and no one-file binary of the earlier layout beside the archive.
      expect(fs.readdirSync(ws.path(dist)).sort()).toEqual(['agent-runner.report.html', 'agent-runner.report.json', 'agent-runner.tar.gz', 'agent-runner.tar.gz.manifest.json', 'agent-runner.tar.gz.sha256']);
      // The report of a folder measures the unpacked folder: its files add up to it, the executable's tables aside.
      const report = fs.readJsonSync(ws.path(dist, 'agent-runner.report.json'));
      expect(report).toMatchObject({ layout: 'onedir', binary: 'agent-runner.tar.gz', basis: 'the unpacked folder', fileSize: fs.statSync(ws.path(archive)).size });
      expect(report.overhead.size).toBeGreaterThanOrEqual(0);
      expect(report.overhead.size).toBeLessThan(report.measuredSize * 0.01);
      expect(report.packages.find((p: { name: string }) => p.name === 'PyYAML').files.map((f: { path: string }) => f.path)).toEqual(expect.arrayContaining([expect.stringMatching(/^yaml\/_yaml\..*\.so$/)]));
      expect(exec('sha256sum', ['-c', 'agent-runner.tar.gz.sha256'], ws.path(dist)).stdout).toBe('agent-runner.tar.gz: OK\n');
      archiveSha256 = sha256Of(ws.path(archive));
      const manifest = fs.readJsonSync(ws.path(`${archive}.manifest.json`));
      expect(manifest).toMatchObject({ name: 'agent-runner', version: '0.3.1', runtime: 'python', layout: 'onedir', entrypoint: 'agent-runner/agent-runner', sha256: archiveSha256 });
      expect(manifest.size).toBe(fs.statSync(ws.path(archive)).size);

      // One top folder; root-owned entries with fixed dates (not the build's), so the bytes depend on the files only.
      const listing = exec('tar', ['--numeric-owner', '-tvzf', ws.path(archive)], ws.root).stdout.trim().split('\n');
      const fields = listing.map((line) => line.split(/\s+/));
      const names = fields.map((field) => field.slice(5).join(' '));
      expect(names.filter((name) => !name.startsWith('agent-runner/'))).toEqual([]);
      expect(names).toEqual(expect.arrayContaining(['agent-runner/', 'agent-runner/agent-runner', 'agent-runner/_internal/']));
      expect(names.filter((name) => /^agent-runner\/_internal\/libpython[\d.]+\.so/.test(name))).toHaveLength(1);
      expect(new Set(fields.map((field) => field[1]))).toEqual(new Set(['0/0']));
      expect(fields.filter((field) => Number(field[3].slice(0, 4)) > 2000).map((field) => `${field[3]} ${field.slice(5).join(' ')}`)).toEqual([]);
    });

    it('the unpacked archive does its real work from an empty folder with an empty environment, its libpython stripped', () => {
      expect(unpackAndRun()).toMatchObject({ agent: 'isolated-agent', outputs: ['read from a file', 'STRIPPED AND UNPACKED'] });
      const folder = emptyFolder('onedir-lib');
      try {
        expect(exec('tar', ['-xzf', ws.path(archive)], folder).code).toBe(0);
        const internal = path.join(folder, 'agent-runner', '_internal');
        const libpython = fs.readdirSync(internal).filter((name) => /^libpython[\d.]+\.so/.test(name));
        expect(libpython).toHaveLength(1);
        expect(symbolSections(path.join(internal, libpython[0]))).toEqual([]);
      } finally {
        fs.removeSync(folder);
      }
    });

    it('test-binary passes on the archive, running its unpacked entrypoint', () => {
      const test = ws.mustNx(['run', 'agent-runner:test-binary']);
      expect(test.output).toContain('✔ executable: agent-runner/agent-runner in services/agent-runner/dist/agent-runner.tar.gz');
      expect(test.output).toContain('✔ dependency pyjwt: import jwt inside');
      expect(test.output).toMatch(/✔ local package graphton: \d+ modules inside/);
      expect(test.output).toMatch(/✔ checksum: sha256 [0-9a-f]{12}… matches agent-runner\.tar\.gz\.sha256/);
      expect(test.output).toMatch(/✔ smoke run: .* exited 0 and matched/);
      expect(test.output).toContain('✔ git ignore: services/agent-runner/dist/agent-runner.tar.gz is ignored');
    });

    it('test-binary fails on an archive changed after the build, saying how to fix it', () => {
      const good = fs.readFileSync(ws.path(archive));
      fs.appendFileSync(ws.path(archive), Buffer.from([0]));
      try {
        // Without its build dependency: a cache hit of build-binary would put the good archive back first.
        const test = ws.nx(['run', 'agent-runner:test-binary', '--excludeTaskDependencies']);
        expect(test.code).not.toBe(0);
        expect(test.output).toContain('✘ checksum: services/agent-runner/dist/agent-runner.tar.gz does not match its .sha256 (changed after the build): rebuild with nx run agent-runner:build-binary.');
      } finally {
        fs.writeFileSync(ws.path(archive), good);
      }
    });

    it('a cache hit after dist/ was deleted restores the identical archive, which unpacks and runs', () => {
      fs.removeSync(ws.path(dist));
      const hit = ws.mustNx(['run', 'agent-runner:build-binary']);
      timings.onedirCacheHit = hit.ms;
      expect(hit.output).toContain('nx run agent-runner:build-binary  [local cache]');
      expect(sha256Of(ws.path(archive))).toBe(archiveSha256);
      expect(exec('sha256sum', ['-c', 'agent-runner.tar.gz.sha256'], ws.path(dist)).code).toBe(0);
      expect(unpackAndRun().outputs).toEqual(['read from a file', 'STRIPPED AND UNPACKED']);
    });

    it('a clean rebuild (--clean) gives the same archive bytes: the build is reproducible', () => {
      const clean = ws.mustNx(['run', 'agent-runner:build-binary', '--clean', '--skip-nx-cache']);
      timings.onedirCleanBuild = clean.ms;
      expect(clean.output).toContain('[stigmer] analyse');
      expect(sha256Of(ws.path(archive))).toBe(archiveSha256);
    });

    it('clean-binary removes the archive and its side files', () => {
      ws.mustNx(['run', 'agent-runner:clean-binary']);
      for (const file of [archive, `${archive}.sha256`, `${archive}.manifest.json`, `${dist}/agent-runner`, `${dist}/agent-runner.report.json`]) expect(fs.existsSync(ws.path(file))).toBe(false);
      expect(fs.existsSync(ws.path('services/agent-runner/build/agent-runner'))).toBe(false);
    });

    it('--layout onefile on an edited spec changes its LAYOUT line only', () => {
      // The user's own edit makes the spec "edited": the generator must keep every other line.
      const edited = ws.read(specPath).replace('pyz = PYZ(a.pure)', 'pyz = PYZ(a.pure)  # reviewed by the team');
      ws.write(specPath, edited);
      ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'agent-runner', '--layout', 'onefile']);
      expect(ws.read(specPath)).toBe(edited.replace(/^LAYOUT = "onedir"$/m, 'LAYOUT = "onefile"'));
      const project = JSON.parse(ws.mustNx(['show', 'project', 'agent-runner', '--json']).stdout);
      expect(project.targets['build-binary'].outputs[0]).toBe('{projectRoot}/dist/agent-runner');
    });
  });
});
