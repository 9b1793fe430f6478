import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { REPO_ROOT, Workspace } from './helpers/workspace';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { testS3Server } = require('../../scripts/s3-server.js');

/**
 * Both sides joined: stigmer builds and publishes a Python service and stigmer-agent itself (a Go service of this
 * repository, five platforms) into a real S3-compatible server; the agent stigmer built fetches itself from the store,
 * then fetches, runs and supervises the Python service: env file, logs, a kill -9, an upgrade, and a release that
 * exits at start, rolled back by the agent on its own.
 */
describe('stigmer-agent runs what publish-binary published (e2e)', () => {
  let ws: Workspace;
  let server: { endpoint: string; accessKey: string; secretKey: string; region: string; stop(): void };
  let s3: S3Client;
  let bucket: string;
  let scratch: string;
  let env: Record<string, string>;
  let agentBin: string;
  let agent: ChildProcess | undefined;
  let agentExit: Promise<number | null>;
  let agentOutput = '';
  const store = () => `s3://${bucket}/bin`;
  const runDir = () => path.join(scratch, 'run');
  const logDir = () => path.join(scratch, 'logs');
  const logFile = () => path.join(logDir(), 'pysvc.log');
  const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  const agentPlatforms = ['linux-amd64', 'linux-arm64', 'darwin-amd64', 'darwin-arm64', 'windows-amd64'];

  /** The service: prints its version and an env variable twice a second; a build-time switch makes it exit at start. */
  function writeService(version: string, exitAtStart = false): void {
    ws.write('services/pysvc/pyproject.toml', PYPROJECT.replace('{version}', version));
    ws.write('services/pysvc/main.py', MAIN_PY.replace('{version}', version).replace('{exit}', exitAtStart ? 'True' : 'False'));
    ws.commit(`pysvc ${version}`);
  }

  /** The agent's environment: the store's credentials and nothing else of ours (HOME set, to show it is not passed on). */
  const agentEnv = () => ({ AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: server.secretKey, AWS_REGION: server.region, HOME: scratch });

  function agentCli(args: string[]) {
    const result = spawnSync(agentBin, args, { env: agentEnv(), encoding: 'utf8', timeout: 60_000 });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  function status(): Record<string, any> {
    const result = agentCli(['status', 'pysvc', '--dir', runDir(), '--json']);
    return JSON.parse(result.stdout);
  }

  async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value) return value;
      if (Date.now() > deadline) {
        const log = fs.existsSync(logFile()) ? fs.readFileSync(logFile(), 'utf8').slice(-3000) : '(no log)';
        throw new Error(`timed out waiting for ${what}\nstatus: ${JSON.stringify(status())}\nagent: ${agentOutput.slice(-2000)}\nlog: ${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  const log = () => (fs.existsSync(logFile()) ? fs.readFileSync(logFile(), 'utf8') : '');
  const publish = (projects: string) => ws.mustNx(['run-many', '-t', 'publish-binary', '--projects', projects, '--output-style=static'], env);

  beforeAll(async () => {
    if (process.arch !== 'x64' || process.platform !== 'linux') throw new Error('this suite runs on linux-x64 (CI)');
    server = await testS3Server();
    s3 = new S3Client({ endpoint: server.endpoint, region: server.region, forcePathStyle: true, credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey } });
    bucket = `stigmer-e2e-agent-${process.pid}-${Date.now()}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-agent-e2e-'));
    env = { ...agentEnv(), HOME: os.homedir(), STIGMER_SIGNING_KEY_FILE: path.join(scratch, 'signing.key') };

    ws = Workspace.create('agent');
    // stigmer-agent, the Go module of this repository, with its spec (a version of its own for this test).
    fs.copySync(path.join(REPO_ROOT, 'agent'), ws.path('agent'), { filter: (source) => !/[\\/](dist|build)([\\/]|$)/.test(source) });
    const agentSpec = ws.path('agent', 'stigmer-agent.go-binary.json');
    fs.writeJsonSync(agentSpec, { ...fs.readJsonSync(agentSpec), version: '0.9.0' }, { spaces: 2 });
    ws.write('services/pysvc/pyproject.toml', PYPROJECT.replace('{version}', '1.0.0'));
    ws.write('services/pysvc/main.py', MAIN_PY.replace('{version}', '1.0.0').replace('{exit}', 'False'));
    ws.mustNx(['g', 'stigmer:init']);
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'pysvc', '--entry', 'main.py']);
    ws.mustNx(['g', 'stigmer:signing-key', '--store', store(), '--secretKeyFile', env.STIGMER_SIGNING_KEY_FILE]);
    const nxJson = fs.readJsonSync(ws.path('nx.json'));
    nxJson.plugins.find((p: { plugin: string }) => p.plugin === 'stigmer').options.publish.endpoint = server.endpoint;
    fs.writeJsonSync(ws.path('nx.json'), nxJson, { spaces: 2 });
    ws.commit('services');
    fs.writeFileSync(path.join(scratch, 'pysvc.env'), '# the service\'s settings\nexport GREETING="hello from the env file"\n');
  }, 10 * 60 * 1000);

  afterAll(async () => {
    // Stop what was started: the agent's group, then the service's group if the agent left it behind.
    const child = fs.existsSync(path.join(runDir(), 'pysvc', 'status.json')) ? fs.readJsonSync(path.join(runDir(), 'pysvc', 'status.json')).pid : undefined;
    for (const pid of [agent?.pid, child]) {
      if (!pid) continue;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    s3?.destroy();
    server?.stop();
    ws?.remove();
    if (scratch) fs.removeSync(scratch);
  });

  it('publishes stigmer-agent (five Go platforms, built by build-binary) and pysvc 1.0.0; the agent fetches itself', async () => {
    const published = publish('agent,pysvc');
    for (const platform of agentPlatforms) expect(published.output).toMatch(new RegExp(`stigmer-agent/0\\.9\\.0/stigmer-agent-${platform}(\\.exe)?: `));
    expect(published.output).toMatch(/pysvc\/index\.json: serial 1, latest -> 1\.0\.0/);
    const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'bin/stigmer-agent/index.json' }));
    const index = JSON.parse(await stored.Body!.transformToString());
    expect(index.channels).toEqual({ latest: '0.9.0' });
    expect(Object.keys(index.versions['0.9.0'].platforms).sort()).toEqual([...agentPlatforms].sort());
    // The host binary is build-binary's: its manifest says so, and the version was linked in.
    const built = ws.path('agent', 'dist', 'stigmer-agent');
    const manifest = fs.readJsonSync(ws.path('agent', 'dist', 'stigmer-agent.manifest.json'));
    expect(manifest).toMatchObject({ name: 'stigmer-agent', version: '0.9.0', runtime: 'go', os: 'linux', arch: 'x64', layout: 'onefile', builtBy: expect.stringMatching(/^stigmer /) });
    expect(manifest.sha256).toBe(sha256(built));
    // The agent stigmer built fetches itself from the store, verified with the workspace's public key.
    agentBin = built;
    const tools = path.join(scratch, 'tools');
    const fetched = agentCli(['fetch', 'stigmer-agent@0.9.0', '--from', store(), '--to', tools, '--key', ws.path('stigmer-signing.pub'), '--s3-endpoint', server.endpoint]);
    expect({ code: fetched.code, stderr: fetched.stderr }).toEqual({ code: 0, stderr: '' });
    agentBin = fetched.stdout.trim().match(/: (\S+)$/)![1];
    expect(agentBin).toBe(path.join(tools, 'stigmer-agent', '0.9.0', 'stigmer-agent-linux-amd64'));
    expect(sha256(agentBin)).toBe(manifest.sha256);
    expect(agentCli(['version']).stdout.trim()).toBe('stigmer-agent 0.9.0 linux-amd64');
  });

  it('runs 1.0.0 with the env file (and nothing of its own environment), logs into the log folder', async () => {
    agent = spawn(
      agentBin,
      ['run', 'pysvc', '--from', store(), '--dir', runDir(), '--key', ws.path('stigmer-signing.pub'), '--s3-endpoint', server.endpoint,
        '--env-file', path.join(scratch, 'pysvc.env'), '--log-dir', logDir(), '--health-window', '3s', '--poll', '1h', '--grace', '2s'],
      { env: agentEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    agent.stdout!.on('data', (data) => (agentOutput += data));
    agent.stderr!.on('data', (data) => (agentOutput += data));
    agentExit = new Promise((resolve) => agent!.on('exit', (code) => resolve(code)));
    await waitFor('1.0.0 in the log', () => /stdout pysvc 1\.0\.0 says hello from the env file \(home <unset>\) #2/.test(log()), 120_000);
    expect(status()).toMatchObject({ name: 'pysvc', version: '1.0.0', state: 'running', restarts: 0 });
    expect(fs.readdirSync(logDir())).toContain('pysvc.log');
    expect(fs.readlinkSync(path.join(runDir(), 'pysvc', 'current'))).toBe('1.0.0');
  });

  it('kill -9 of the service: restarted, counted in status --json', async () => {
    const before = status();
    process.kill(before.pid, 'SIGKILL');
    const after = await waitFor('a restart', () => {
      const now = status();
      return now.state === 'running' && now.restarts === 1 && now.pid !== before.pid && now;
    });
    expect(after.lastExit).toMatchObject({ version: '1.0.0', signal: 'killed' });
    expect(agentCli(['status', 'pysvc', '--dir', runDir()]).code).toBe(0);
  });

  it('1.1.0 published to latest: on SIGHUP the agent upgrades and 1.1.0 answers', async () => {
    writeService('1.1.0');
    publish('pysvc');
    const published = Date.now();
    process.kill(agent!.pid!, 'SIGHUP');
    const upgraded = await waitFor('the upgrade', () => {
      const now = status();
      return now.version === '1.1.0' && now.upgrade?.ok === true && now;
    });
    console.log(`[agent e2e] 1.1.0 published -> healthy in ${((Date.now() - published) / 1000).toFixed(1)}s (health window 3s)`);
    expect(upgraded).toMatchObject({ state: 'running', upgrade: { from: '1.0.0', to: '1.1.0', ok: true } });
    await waitFor('1.1.0 in the log', () => /stdout pysvc 1\.1\.0 says hello from the env file/.test(log()));
    expect(fs.readlinkSync(path.join(runDir(), 'pysvc', 'current'))).toBe('1.1.0');
  });

  it('1.2.0 exits at start: tried, unhealthy, back on 1.1.0 by itself, marked bad with the reason', async () => {
    writeService('1.2.0', true);
    publish('pysvc');
    const published = Date.now();
    process.kill(agent!.pid!, 'SIGHUP');
    const rolledBack = await waitFor('the rollback', () => {
      const now = status();
      return now.upgrade?.to === '1.2.0' && now.upgrade.rolledBack === true && now.state === 'running' && now;
    });
    const seconds = (Date.now() - published) / 1000;
    console.log(`[agent e2e] 1.2.0 published -> back on 1.1.0 in ${seconds.toFixed(1)}s`);
    expect(rolledBack).toMatchObject({ version: '1.1.0', upgrade: { from: '1.1.0', to: '1.2.0', ok: false, rolledBack: true } });
    expect(rolledBack.upgrade.reason).toMatch(/exited during the health window \(code 3/);
    expect(rolledBack.bad['1.2.0']).toMatch(/exited during the health window/);
    expect(rolledBack.message).toMatch(/pysvc 1\.2\.0 failed its health check .*back on 1\.1\.0/);
    expect(log()).toMatch(/pysvc 1\.2\.0 refuses to start/);
    expect(fs.readlinkSync(path.join(runDir(), 'pysvc', 'current'))).toBe('1.1.0');
    expect(fs.readJsonSync(path.join(runDir(), 'pysvc', 'state.json')).bad).toHaveProperty(['1.2.0']);
    // 1.1.0 serves again: new lines after the rollback.
    const lines = (log().match(/pysvc 1\.1\.0 says/g) ?? []).length;
    await waitFor('1.1.0 serving again', () => (log().match(/pysvc 1\.1\.0 says/g) ?? []).length > lines + 1);
    // A second look at the channel does not try 1.2.0 again.
    process.kill(agent!.pid!, 'SIGHUP');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(status()).toMatchObject({ version: '1.1.0', state: 'running', restarts: rolledBack.restarts });
  });

  it('SIGTERM stops the service and the agent exits 0', async () => {
    const child = status().pid;
    process.kill(agent!.pid!, 'SIGTERM');
    expect(await agentExit).toBe(0);
    expect(() => process.kill(child, 0)).toThrow();
    expect(agentCli(['status', 'pysvc', '--dir', runDir()]).code).toBe(8);
    agent = undefined;
  });
});

const PYPROJECT = `[project]
name = "pysvc"
version = "{version}"
description = "run by stigmer-agent"
requires-python = ">=3.9"
dependencies = []
`;

// The versions differ by these two lines: the version, and whether it exits at start.
const MAIN_PY = `import os
import sys
import time

VERSION = "{version}"
EXIT_AT_START = {exit}

if sys.argv[1:] == ["--self-check"]:  # test-binary's smoke run
    print(f"pysvc {VERSION} ok")
    sys.exit(0)
if EXIT_AT_START:
    print(f"pysvc {VERSION} refuses to start", flush=True)
    sys.exit(3)
n = 0
while True:
    n += 1
    print(f"pysvc {VERSION} says {os.environ.get('GREETING', '<unset>')} (home {os.environ.get('HOME', '<unset>')}) #{n}", flush=True)
    time.sleep(0.5)
`;
