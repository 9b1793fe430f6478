import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { freePort } from './helpers/net';
import { REPO_ROOT, Workspace } from './helpers/workspace';

/**
 * A worker on a real agent stack (Temporal workflow sandbox, LangGraph + LangChain, gRPC stubs in a local
 * library served on 127.0.0.1, Redis against a real redis-server, httpx against a local HTTP server, PyJWT +
 * Authlib, plugins loaded by name) built into one binary through the managed environment, run from an empty
 * folder with an almost empty environment. Then test-binary's import trace on the service's tests.
 */
describe('Python agent stack → one binary (e2e)', () => {
  let ws: Workspace;
  let redis: ChildProcess | undefined;
  let redisPort = 0;
  const service = 'services/agent-stack';
  const binary = `${service}/dist/agent-stack`;
  const specPath = `${service}/agent-stack.spec`;

  beforeAll(async () => {
    const redisServer = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => fs.existsSync(p));
    if (!redisServer) throw new Error('redis-server is not installed: run `node scripts/test-tools.js` (installs the Debian package redis-server).');
    redisPort = await freePort();
    redis = spawn(redisServer, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    ws = Workspace.create('python-stack');
    const fixtures = path.join(REPO_ROOT, 'e2e', 'fixtures', 'python-stack');
    fs.copySync(path.join(fixtures, 'agent-stack'), ws.path(service));
    fs.copySync(path.join(fixtures, 'libs', 'agent-rpc'), ws.path('services/libs/agent-rpc'));
    fs.writeJsonSync(ws.path(service, 'project.json'), { name: 'agent-stack', root: service }, { spaces: 2 });
    fs.writeJsonSync(ws.path('services/libs/agent-rpc/project.json'), { name: 'agent-rpc', root: 'services/libs/agent-rpc' }, { spaces: 2 });
    ws.commit('add agent-stack and agent-rpc');
    await waitForPort(redisPort);
  });

  afterAll(() => {
    if (redis?.pid) process.kill(redis.pid, 'SIGTERM');
    ws?.remove();
  });

  it('the generator lists distributions, proposes a smoke run from --version, and test-binary takes it', () => {
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'agent-stack']);
    const spec = ws.read(specPath);
    expect(spec).toMatch(/distributions = \[\n\s+"temporalio",\n\s+"langgraph",\n\s+"langchain-core",/);
    expect(spec).toContain('hookspath=[stigmer_spec.HOOKS_DIR],');
    expect(spec).not.toContain('"tiktoken"'); // a library's dependency: the hook, not the distributions list, brings its plugins
    expect(spec).toContain('# stigmer-test: {"args":["--version"],"expectedOutput":"1\\\\.4\\\\.0"}');
    expect(spec).toMatch(/for package in \[\n\s+"agent_stack",\n\s+"agent_rpc",\n\]/);
    const project = JSON.parse(ws.mustNx(['show', 'project', 'agent-stack', '--json']).stdout);
    expect(project.targets['test-binary'].options).toMatchObject({ args: ['--version'], expectedOutput: '1\\.4\\.0' });
    ws.commit('stigmer binary spec');
  });

  it('builds a binary that does its real work from an empty folder with an almost empty environment', () => {
    ws.mustNx(['run', 'agent-stack:build-binary']);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-stack-run-'));
    try {
      const run = spawnSync(ws.path(binary), ['--redis-port', String(redisPort)], {
        cwd: empty,
        env: { PATH: '/usr/bin:/bin', HOME: empty },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(run.stderr).not.toMatch(/Traceback|ModuleNotFoundError/);
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout.trim().split('\n').pop() as string)).toEqual({
        plugins: '!KCATS',
        workflow: 'workflow GreetWorkflow ok',
        graph: 'GRAPH READY',
        grpc: 'echo ping',
        http: 'http ok',
        tokens: 'agent+pkce43',
        // tiktoken's encoding plugins, which only stigmer's hook-tiktoken.py bundles (tiktoken comes in through agent-rpc).
        encodings: 'cl100k_base,o200k_base',
        redis: 'sync-value',
      });
    } finally {
      fs.removeSync(empty);
    }
  });

  it('test-binary passes: namespace packages count by what is inside, and the import trace of the smoke command finds nothing missing', () => {
    const test = ws.mustNx(['run', 'agent-stack:test-binary']);
    expect(test.output).toMatch(/✔ service package agent_stack: \d+ modules inside/);
    expect(test.output).toMatch(/✔ local package agent_rpc: \d+ modules inside/);
    expect(test.output).toMatch(/✔ dependency langgraph: namespace package: \d+ of \d+ modules inside/);
    expect(test.output).toContain('✔ dependency protobuf: namespace package');
    expect(test.output).toContain('✔ dependency pyjwt: import jwt inside');
    expect(test.output).toMatch(/✔ import trace \(smoke command\): "python main\.py --version" imported \d+ modules/);
    expect(test.output).toMatch(/✔ smoke run: .* exited 0 and matched \/1\\\.4\\\.0\//);
  });

  it("test-binary fails, naming the module, when the service's tests import a module the binary lacks; --update adds it", () => {
    const projectJson = ws.path(service, 'project.json');
    fs.writeJsonSync(
      projectJson,
      {
        name: 'agent-stack',
        root: service,
        targets: { 'test-binary': { options: { traceCommand: ['python', '-m', 'unittest', 'discover', '-s', 'tests'], env: { REDIS_PORT: String(redisPort) } } } },
      },
      { spaces: 2 },
    );
    const failing = ws.nx(['run', 'agent-stack:test-binary', '--skip-nx-cache']);
    expect(failing.code).not.toBe(0);
    expect(failing.output).toMatch(
      /✘ import trace \(traceCommand\): module authlib\.oauth2\.rfc8628 \(imported by "python -m unittest discover -s tests"\) is not in the binary: add\s+"authlib\.oauth2\.rfc8628",\s+to the traced imports of agent-stack\.spec \(nx g stigmer:binary-spec --project agent-stack --update adds it\)/,
    );
    // Test-only tools (unittest is stdlib; nothing of a test runner is the service's) are no finding.
    expect(failing.output).not.toMatch(/✘ import trace.*module (unittest|_pytest)/);

    const before = ws.read(specPath);
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'agent-stack', '--update']);
    const updated = ws.read(specPath);
    expect(updated).toMatch(/# stigmer: traced imports[^\n]*\nhiddenimports \+= \[\n(\s+"[\w.]+",\n)*\s+"authlib\.oauth2\.rfc8628",\n/);
    // Nothing else changed (the checksum line follows the content of a generated spec).
    const withoutChecksum = (text: string) => text.replace(/^# stigmer-checksum: .*\n/m, '');
    expect(withoutChecksum(updated).replace(/\n\s+"authlib\.oauth2\.rfc8628[\w.]*",/g, '')).toBe(withoutChecksum(before));

    ws.mustNx(['run', 'agent-stack:build-binary']);
    const passing = ws.mustNx(['run', 'agent-stack:test-binary']);
    expect(passing.output).toMatch(/✔ import trace \(traceCommand\): "python -m unittest discover -s tests" imported \d+ modules/);
  });
});

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`redis-server did not listen on 127.0.0.1:${port}`);
}
