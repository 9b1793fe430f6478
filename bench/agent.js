#!/usr/bin/env node
// Bench rows for the daemon side (agent/, issue 18), on the real S3-compatible server of the tests, with a store
// written per the distribution contract and signed by the real `minisign`:
//   - fetch throughput: `stigmer-agent fetch` of a 64 MB binary (index, signatures, download, sha256, install)
//     against `curl --aws-sigv4` of the same object to a file (goal: curl time / agent time >= 0.9);
//   - "new version in the index" -> "new version healthy" (`run` asked on demand with SIGHUP; a polling agent adds
//     up to its --poll interval), with the health window it must wait out;
//   - "bad version failed" -> "previous version serving again" (its /health answers), the rollback by itself.
// `node bench/agent.js [--quick]`, or from bench/run.js. Under a minute in quick mode.
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { testS3Server } = require('../scripts/s3-server');
const { median, s, ratio, printTable } = require('./report');

const AGENT_DIR = path.join(__dirname, '..', 'agent');
const PLATFORM = `${process.platform}-${{ x64: 'amd64', arm64: 'arm64' }[process.arch] ?? process.arch}`;
const NAME = 'benchsvc';
const WINDOW_MS = 1000;

function must(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...options });
  if (result.error || result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed: ${result.error?.message ?? ''}${result.stderr ?? ''}`.trim());
  }
  return result;
}

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A store per the contract in S3, uploaded with curl (SigV4) and signed with the real minisign. */
class Store {
  constructor(server, work) {
    this.server = server;
    this.bucket = `agent-bench-${Date.now()}`;
    this.work = work;
    this.serial = 0;
    this.index = { schema: 1, name: NAME, serial: 0, expires: new Date(Date.now() + 864e5).toISOString().replace(/\.\d+Z$/, 'Z'), keys: [], channels: {}, versions: {} };
    must('minisign', ['-G', '-W', '-p', path.join(work, 'key.pub'), '-s', path.join(work, 'key.sec')]);
    this.keyId = /minisign public key:? ([0-9A-F]+)/.exec(fs.readFileSync(path.join(work, 'key.pub'), 'utf8'))[1];
    this.curl(['-X', 'PUT', this.url('')]);
  }

  url(key) {
    return `${this.server.endpoint}/${this.bucket}${key ? `/${key}` : ''}`;
  }

  curl(args) {
    // versitygw wants x-amz-content-sha256, which curl signs when it is given.
    return must('curl', ['-sSf', '--aws-sigv4', 'aws:amz:us-east-1:s3', '--user', `${this.server.accessKey}:${this.server.secretKey}`, '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', ...args]);
  }

  put(key, file) {
    this.curl(['-T', file, this.url(key)]);
  }

  sign(file, trusted) {
    must('minisign', ['-S', '-s', path.join(this.work, 'key.sec'), '-m', file, '-t', trusted]);
  }

  /** Uploads one version's binary with its side files, then the index (written last, as publish-binary does). */
  publish(version, file) {
    const data = fs.readFileSync(file);
    const sha256 = crypto.createHash('sha256').update(data).digest('hex');
    const base = `${version}/${NAME}-${PLATFORM}`;
    const local = path.join(this.work, 'store', NAME, base);
    fs.mkdirSync(path.dirname(local), { recursive: true });
    fs.copyFileSync(file, local);
    fs.writeFileSync(`${local}.sha256`, `${sha256}  ${path.basename(local)}\n`);
    const [osName, arch] = PLATFORM.split('-');
    fs.writeFileSync(`${local}.manifest.json`, JSON.stringify({ name: NAME, version, os: osName, arch, runtime: 'go', layout: 'onefile', size: data.length, sha256 }, null, 2));
    this.sign(`${local}.manifest.json`, `${NAME} ${version} ${PLATFORM}`);
    for (const suffix of ['', '.sha256', '.manifest.json', '.manifest.json.minisig']) this.put(`${NAME}/${base}${suffix}`, local + suffix);
    this.index.versions[version] = { published: new Date().toISOString(), platforms: { [PLATFORM]: { file: base, size: data.length, sha256, layout: 'onefile', entrypoint: null } } };
    this.index.channels.latest = version;
    this.index.serial += 1;
    this.index.keys = [this.keyId];
    const indexFile = path.join(this.work, 'store', NAME, 'index.json');
    fs.writeFileSync(indexFile, JSON.stringify(this.index, null, 2));
    this.sign(indexFile, `${NAME} ${this.index.serial}`);
    this.put(`${NAME}/index.json`, indexFile);
    this.put(`${NAME}/index.json.minisig`, `${indexFile}.minisig`);
    return `${NAME}/${base}`;
  }
}

async function waitFor(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`bench agent: timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function health(url) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(500) });
    return response.ok ? (await response.text()).trim() : '';
  } catch {
    return '';
  }
}

async function benchAgent({ quick = false } = {}) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-bench-agent-'));
  const server = await testS3Server();
  let agent;
  try {
    const bin = path.join(work, 'bin');
    must('go', ['build', '-o', bin + '/', './cmd/stigmer-agent', './supervise/testdata/child'], { cwd: AGENT_DIR });
    const stigmerAgent = path.join(bin, 'stigmer-agent');
    const store = new Store(server, work);
    const env = { ...process.env, AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: server.secretKey, AWS_ENDPOINT_URL_S3: server.endpoint };
    const from = `s3://${store.bucket}`;
    const key = path.join(work, 'key.pub');

    // Throughput: a 64 MB binary (random, so nothing compresses it).
    const big = path.join(work, 'big');
    fs.writeFileSync(big, crypto.randomBytes(64 << 20));
    const bigKey = store.publish('0.0.1', big);
    const samples = { agent: [], curl: [] };
    for (let i = 0; i < (quick ? 3 : 7); i++) {
      const to = path.join(work, `fetch-${i}`);
      let started = process.hrtime.bigint();
      must(stigmerAgent, ['fetch', `${NAME}@0.0.1`, '--from', from, '--to', to, '--key', key], { env });
      samples.agent.push(Number(process.hrtime.bigint() - started) / 1e6);
      started = process.hrtime.bigint();
      store.curl(['-o', path.join(to, 'curl-copy'), store.url(bigKey)]);
      samples.curl.push(Number(process.hrtime.bigint() - started) / 1e6);
      fs.rmSync(to, { recursive: true, force: true });
    }
    const throughput = (ms) => `${((64 / ms) * 1000).toFixed(0)} MB/s`;

    // Upgrade and rollback under `stigmer-agent run`.
    const child = path.join(bin, 'child');
    store.publish('1.0.0', child);
    const port = await freePort();
    const healthUrl = `http://127.0.0.1:${port}/health`;
    const dir = path.join(work, 'run');
    agent = spawn(stigmerAgent, ['run', NAME, '--from', from, '--dir', dir, '--key', key, '--env', `CHILD_ADDR=127.0.0.1:${port}`, '--health-url', healthUrl, '--health-window', `${WINDOW_MS}ms`, '--poll', '0', '--grace', '2s'], { env, stdio: 'ignore' });
    const statusFile = path.join(dir, NAME, 'status.json');
    const status = () => {
      try {
        return JSON.parse(fs.readFileSync(statusFile, 'utf8'));
      } catch {
        return {};
      }
    };
    await waitFor('1.0.0 serving', 20000, async () => (await health(healthUrl)) === '1.0.0');
    const upgrade = [];
    const restore = [];
    const rounds = quick ? 1 : 3;
    let version = 1;
    for (let i = 0; i < rounds; i++) {
      const good = `1.${version++}.0`;
      store.publish(good, child);
      let t0 = Date.now();
      agent.kill('SIGHUP');
      await waitFor(`${good} healthy`, 30000, () => status().upgrade?.to === good && status().upgrade.ok && status());
      upgrade.push(Date.now() - t0);
      const bad = `1.${version++}.0`;
      const badFile = path.join(work, 'bad.sh');
      fs.writeFileSync(badFile, '#!/bin/sh\necho bad >&2\nexit 3\n', { mode: 0o755 });
      store.publish(bad, badFile);
      agent.kill('SIGHUP');
      const failed = await waitFor(`${bad} rolled back`, 30000, () => status().upgrade?.to === bad && status().upgrade.failedAt && status().upgrade);
      const serving = await waitFor(`${good} serving again`, 30000, async () => ((await health(healthUrl)) === good ? Date.now() : 0));
      if (!failed.rolledBack) throw new Error(`bench agent: ${bad} was not rolled back: ${failed.reason}`);
      restore.push(serving - Date.parse(failed.failedAt));
    }
    const rows = [
      ['fetch 64 MB from S3: stigmer-agent fetch (verify + install)', s(median(samples.agent)), throughput(median(samples.agent)), ''],
      ['the same object: curl --aws-sigv4 to a file', s(median(samples.curl)), throughput(median(samples.curl)), ''],
      ['fetch throughput / curl throughput', '', '', `${ratio(median(samples.curl), median(samples.agent))} (goal >= 0.9: ${Number(ratio(median(samples.curl), median(samples.agent))) >= 0.9 ? 'pass' : 'FAIL'})`],
      [`new version in the index -> new version healthy (health window ${s(WINDOW_MS)}, on demand)`, s(median(upgrade)), '', `${s(median(upgrade) - WINDOW_MS)} beyond the window`],
      ['bad version failed -> previous version serving again', s(median(restore)), '', ''],
    ];
    printTable([`agent (Go ${must('go', ['env', 'GOVERSION']).stdout.trim()}, versitygw on loopback)`, 'median', 'throughput', 'ratio'], rows);
    return { agentMs: samples.agent, curlMs: samples.curl, upgradeMs: upgrade, restoreMs: restore };
  } finally {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent.once('exit', r));
    }
    server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

module.exports = { benchAgent };

if (require.main === module) {
  benchAgent({ quick: process.argv.includes('--quick') }).catch((error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
}
