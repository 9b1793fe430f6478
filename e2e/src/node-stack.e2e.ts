import { ChildProcess, spawn } from 'node:child_process';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { exec, REPO_ROOT, Workspace } from './helpers/workspace';

/**
 * A TypeScript gateway on a real stack (fastify 5 + @fastify/cors, fastify's pino logger with transports,
 * zod, undici, a YAML asset, a workspace library through a tsconfig.base.json path alias) becomes one
 * executable that does its real work from an empty folder with an empty environment; the key follows the
 * library and the npm packages the bundle takes, not the rest of the lock file; test-binary runs a copy
 * away from node_modules.
 */
/** The npm package that puts the most bytes into the gateway's bundle (of fastify 5, undici 7, zod 3, yaml 2, pino). */
const EXPECTED_LARGEST_NPM = 'undici';

describe('Node/TypeScript gateway on a real stack (e2e)', () => {
  let ws: Workspace;
  const binary = 'apps/gateway/dist/gateway';
  let upstream: http.Server;
  let upstreamUrl: string;

  beforeAll(async () => {
    ws = Workspace.create('node-stack');
    fs.copySync(path.join(REPO_ROOT, 'e2e', 'fixtures', 'node-stack'), ws.root);
    ws.mustRun('npm', ['install', '--save', '--no-audit', '--no-fund', '--prefer-offline', 'fastify@5', '@fastify/cors@11', 'pino-pretty@13', 'zod@3', 'undici@7', 'yaml@2', 'ms@2.1.3']);
    ws.mustNx(['g', 'stigmer:init']);
    ws.commit('gateway');
    upstream = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ from: 'upstream', path: req.url }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => upstream?.close(resolve));
    ws?.remove();
  });

  /** A copy of the binary in an empty folder outside the workspace, and an environment with nothing but PATH and HOME. */
  function isolatedCopy(): { dir: string; copy: string; env: NodeJS.ProcessEnv } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-gw-'));
    const copy = path.join(dir, 'gateway');
    fs.copySync(ws.path(binary), copy);
    return { dir, copy, env: { PATH: '/usr/bin:/bin', HOME: dir, NODE_PATH: '' } };
  }

  /** Starts the server and waits for its address line. */
  async function start(copy: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string; output: () => string }> {
    const child = spawn(copy, [], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no address line within 20s: ${output}`)), 20000);
      const check = () => {
        const match = /gateway listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout?.on('data', check);
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
    });
    return { child, url, output: () => output };
  }

  async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function stop(child: ChildProcess): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    return exited;
  }

  it('builds, with graph edges to the aliased library and to the npm packages the bundle takes', () => {
    const build = ws.mustNx(['run', 'gateway:build-binary']);
    expect(build.output).toMatch(/\[stigmer\] bundle: [\d.]+s/);
    // The project graph with its npm nodes (nx graph --file leaves those out), through the devkit.
    const printGraph = "require('@nx/devkit').createProjectGraphAsync().then((g) => console.log(JSON.stringify(g.dependencies)))";
    const dependencies = JSON.parse(ws.mustRun(process.execPath, ['-e', printGraph]).stdout);
    const targets = (project: string) => dependencies[project].map((d: { target: string }) => d.target).sort();
    expect(targets('gateway')).toEqual(['npm:@fastify/cors', 'npm:fastify', 'npm:undici', 'npm:yaml', 'npm:zod', 'shared']);
    expect(targets('shared')).toEqual(['npm:zod']);
    const inputs = JSON.parse(ws.mustNx(['show', 'project', 'gateway', '--json']).stdout).targets['build-binary'].inputs;
    expect(inputs).toContain('{workspaceRoot}/tsconfig.base.json');
    expect(inputs).not.toContain('{workspaceRoot}/package-lock.json');
  });

  it('writes a size report: the Node runtime, the bundle by npm package and workspace folder, the asset and the code cache, adding up to the binary', () => {
    const report = fs.readJsonSync(ws.path('apps/gateway/dist/gateway.report.json'));
    const size = fs.statSync(ws.path(binary)).size;
    expect(report).toMatchObject({ schema: 1, name: 'gateway', runtime: 'node', fileSize: size, measuredSize: size });
    const byName = new Map<string, { name: string; kind: string; size: number; version?: string; files: Array<{ path: string; size: number }> }>(report.packages.map((p: { name: string }) => [p.name, p]));
    // The tolerance: what no item accounts for (the ELF notes and alignment of the injected blob) is under 1%.
    const sum = report.packages.reduce((total: number, p: { size: number }) => total + p.size, 0);
    expect(report.overhead.size).toBe(size - sum);
    expect(report.overhead.size).toBeGreaterThanOrEqual(0);
    expect(report.overhead.size).toBeLessThan(size * 0.01);
    // The runtime weighs most; of the npm packages, fastify's own code (undici, zod and the rest follow).
    expect(report.packages[0]).toMatchObject({ name: `Node ${process.versions.node} runtime`, kind: 'runtime' });
    const npm = report.packages.filter((p: { kind: string }) => p.kind === 'npm');
    expect(npm[0].name).toBe(EXPECTED_LARGEST_NPM);
    expect(npm.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['fastify', '@fastify/cors', 'undici', 'zod', 'yaml', 'pino']));
    expect(byName.get('zod')?.version).toMatch(/^3\./);
    expect(byName.get('libs/shared (workspace)')?.files.map((f) => f.path)).toEqual(['libs/shared/src/index.ts']);
    expect(byName.get('assets')?.files).toEqual([{ path: 'config.yaml', size: fs.statSync(ws.path('apps/gateway/config/config.yaml')).size, kind: 'asset' }]);
    expect(byName.get('worker files (bundled transports)')?.files.map((f) => f.path)).toEqual(expect.arrayContaining(['stigmer/workers/pino-pretty.cjs', 'stigmer/workers/thread-stream-worker.cjs']));
    expect(byName.get('V8 code cache')?.size).toBeGreaterThan(100_000);
  });

  it('serves real HTTP requests from an empty folder with no node_modules and an empty environment', async () => {
    const { dir, copy, env } = isolatedCopy();
    const server = await start(copy, dir, { ...env, UPSTREAM_URL: upstreamUrl });
    try {
      const health = await (await fetch(`${server.url}/health`)).json();
      expect(health).toEqual({ status: 'ok', service: 'acme-gateway', shared: 'shared-1' });
      const greet = await fetch(`${server.url}/greet`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Ada' }) });
      expect(await greet.json()).toEqual({ message: 'Hello, Ada (shared-1)' });
      const invalid = await fetch(`${server.url}/greet`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: '' }) });
      expect(invalid.status).toBe(400);
      const preflight = await fetch(`${server.url}/health`, { method: 'OPTIONS', headers: { origin: 'https://app.acme.test', 'access-control-request-method': 'GET' } });
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.acme.test');
      const proxied = await (await fetch(`${server.url}/upstream`)).json();
      expect(proxied).toEqual({ upstreamStatus: 200, upstream: { from: 'upstream', path: '/' } });
    } finally {
      expect(await stop(server.child)).toBe(0);
      fs.removeSync(dir);
    }
  });

  it('runs pino transports (pino-pretty and pino/file through thread-stream workers) from the single executable', async () => {
    const { dir, copy, env } = isolatedCopy();
    const logFile = path.join(dir, 'gateway.log');
    const server = await start(copy, dir, { ...env, LOG_MODE: 'transport', LOG_FILE: logFile });
    try {
      // The transport's worker threads start after the server: wait for pino-pretty's first line (a SIGTERM
      // before the workers are up makes pino's exit flush time out, in any Node).
      await waitFor(() => /INFO.*: Server listening at/.test(server.output()), 20000);
      await fetch(`${server.url}/health`);
      await waitFor(() => /request completed/.test(server.output()), 10000);
    } finally {
      expect(await stop(server.child)).toBe(0);
    }
    // pino-pretty's human format on stdout, pino/file's JSON lines in the file.
    expect(server.output()).toMatch(/INFO.*: Server listening at http:\/\/127\.0\.0\.1:\d+/);
    expect(server.output()).toMatch(/INFO.*: incoming request/);
    const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.some((l) => l.msg === 'request completed' && l.res.statusCode === 200)).toBe(true);
    expect(server.output()).not.toMatch(/unable to determine transport target|Cannot find module/);
    // The worker files went into a private folder that is gone at exit.
    expect(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('gateway-workers-') && fs.statSync(path.join(os.tmpdir(), f)).mtimeMs > Date.now() - 60000)).toEqual([]);
    fs.removeSync(dir);
  });

  it('test-binary passes a smoke run that does real work, from a copy in an empty folder, within the runtime-sized budget', () => {
    const test = ws.mustNx(['run', 'gateway:test-binary', '--args=--check', '--expectedOutput=check ok: Hello, check \\(shared-1\\)', '--skip-nx-cache']);
    expect(test.output).toMatch(/smoke run: "apps\/gateway\/dist\/gateway --check" exited 0 and matched .* from a copy in an empty folder/);
    const budget = Number(/\(budget (\d+) MB\)/.exec(test.output)?.[1]);
    expect(budget).toBe(Math.ceil(fs.statSync(process.execPath).size / 1024 / 1024) + 30);
  });

  it('a change in the aliased library rebuilds the binary instead of restoring a stale one', () => {
    const lib = 'libs/shared/src/index.ts';
    const original = ws.read(lib);
    ws.write(lib, original.replace("'shared-1'", "'shared-2'"));
    try {
      const build = ws.mustNx(['run', 'gateway:build-binary']);
      expect(build.output).not.toContain('[local cache]');
      const { dir, copy, env } = isolatedCopy();
      expect(exec(copy, ['--check'], dir, env).stdout).toContain('check ok: Hello, check (shared-2)');
      fs.removeSync(dir);
    } finally {
      ws.write(lib, original);
    }
    // Back to the first sources: the first binary again, from the cache.
    expect(ws.mustNx(['run', 'gateway:build-binary']).output).toContain('[local cache]');
  });

  it('a lock file change that does not touch the bundled packages is a cache hit; one that does rebuilds', () => {
    ws.mustRun('npm', ['install', '--save-dev', '--no-audit', '--no-fund', '--prefer-offline', 'is-number@7.0.0']);
    expect(ws.mustNx(['run', 'gateway:build-binary']).output).toContain('[local cache]');
    ws.mustRun('npm', ['install', '--save', '--no-audit', '--no-fund', '--prefer-offline', 'yaml@2.8.0']);
    expect(ws.mustNx(['run', 'gateway:build-binary']).output).not.toContain('[local cache]');
  });

  it('binary-report --compare: a dependency added between two builds appears as new, with its size', () => {
    const previous = ws.path('previous-dist');
    fs.copySync(ws.path('apps/gateway/dist'), previous);
    const main = 'apps/gateway/src/main.ts';
    const original = ws.read(main);
    ws.mustRun('npm', ['install', '--save', '--no-audit', '--no-fund', '--prefer-offline', 'lodash@4.17.21']);
    ws.write(main, `import lodash from 'lodash';\n${original}\nif (process.argv.includes('--kebab')) console.log(lodash.kebabCase('Size Report'));\n`);
    try {
      ws.mustNx(['run', 'gateway:build-binary']);
      const lodash = fs.readJsonSync(ws.path('apps/gateway/dist/gateway.report.json')).packages.find((p: { name: string }) => p.name === 'lodash');
      expect(lodash).toMatchObject({ kind: 'npm', version: '4.17.21' });
      expect(lodash.size).toBeGreaterThan(100_000);
      const compared = ws.mustNx(['run', 'gateway:binary-report', '--compare', 'previous-dist', '--html']);
      const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
      // Biggest change first: the new package heads the table, with its size.
      const rows = compared.output.split('\n').filter((line) => /\s(new|gone|grew|shrank)$/.test(line));
      expect(rows[0]).toMatch(new RegExp(`^lodash\\s+\\+${kb(lodash.size).replace('.', '\\.')}\\s+-\\s+${kb(lodash.size).replace('.', '\\.')}\\s+new$`));
      expect(compared.output).toMatch(/gateway: [\d.]+ MB \([\d.]+, previous-dist\/gateway\.report\.json\) -> [\d.]+ MB \([\d.]+, apps\/gateway\/dist\/gateway\.report\.json\): \+[\d.]+ KB/);
      const page = ws.read('apps/gateway/dist/gateway.compare.html');
      expect(page).toContain('<tr class="new" data-package="lodash">');
      // A path that is no report: one line saying what to give.
      const bad = ws.nx(['run', 'gateway:binary-report', '--compare', 'apps/gateway/gateway.sea.json']);
      expect(bad.code).not.toBe(0);
      expect(bad.output).toMatch(/apps\/gateway\/gateway\.sea\.json is not a stigmer binary report .*: give the path of a \.report\.json that build-binary wrote/);
    } finally {
      ws.write(main, original);
      fs.removeSync(previous);
    }
  });

  it('test-binary fails a binary that loads a package from node_modules, which passes when run in place', () => {
    ws.mustNx(['run', 'ext:build-binary']);
    // In place, inside the workspace, the package resolves from the workspace's node_modules.
    expect(ws.run(ws.path('apps/ext/dist/ext'), []).stdout.trim()).toBe('ext: 1m');
    const test = ws.nx(['run', 'ext:test-binary', '--skip-nx-cache']);
    expect(test.code).not.toBe(0);
    expect(test.output).toMatch(/could not load the package 'ms' at run time: it is not in the bundle \(marked "external" in ext\.sea\.json/);
  });

  it('refuses at build time a pino transport that is not installed and a worker started from a file, naming them and the fix', () => {
    ws.write('apps/badlog/project.json', JSON.stringify({ name: 'badlog' }));
    ws.write('apps/badlog/src/main.ts', "import pino from 'pino';\npino({ transport: { target: 'pino-not-installed' } }).info('x');\n");
    ws.write('apps/badlog/badlog.sea.json', JSON.stringify({ name: 'badlog', entry: 'src/main.ts' }));
    const build = ws.nx(['run', 'badlog:build-binary']);
    expect(build.code).not.toBe(0);
    expect(build.output).toMatch(/apps\/badlog\/src\/main\.ts names the pino transport 'pino-not-installed', which is not installed, so the binary could not start it: npm install pino-not-installed/);
    expect(fs.existsSync(ws.path('apps/badlog/dist/badlog'))).toBe(false);
    // Its own worker started from a file beside the code: refused too, with the way out.
    ws.write('apps/badlog/src/main.ts', "import { Worker } from 'node:worker_threads';\nimport * as path from 'node:path';\nnew Worker(path.join(__dirname, 'task.js'));\n");
    const worker = ws.nx(['run', 'badlog:build-binary']);
    expect(worker.code).not.toBe(0);
    expect(worker.output).toMatch(/apps\/badlog\/src\/main\.ts starts a worker thread from a file \(new Worker\(path\.join\(__dirname, 'task\.js'\)\)\), which a single executable does not have: start it from code/);
  });
});
