// A real S3-compatible server for the tests: versitygw (Apache-2.0, pinned in scripts/test-tools-go.js), serving a
// folder on 127.0.0.1. `.ci/run` starts one for the whole run and stops it; a test run without it (a developer's
// `npm test`, one suite run alone) gets a private one that stops with the process.
//
//   node scripts/s3-server.js start   starts it in the background, writes .tools/s3-server/server.json
//   node scripts/s3-server.js env     prints STIGMER_TEST_S3_ENDPOINT=…, …_ACCESS_KEY=…, …_SECRET_KEY=… lines
//   node scripts/s3-server.js stop    stops it and removes its data
//
// Tests call `testS3Server()`: the server of the environment variables, else the one .ci/run started, else a new one.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { goToolPath } = require('./test-tools-go');

const REPO_ROOT = path.join(__dirname, '..');
const STATE_DIR = path.join(REPO_ROOT, '.tools', 's3-server');
const STATE_FILE = path.join(STATE_DIR, 'server.json');
/** Test-only credentials of a server that listens on loopback only. */
const ACCESS_KEY = 'stigmer-test-access';
const SECRET_KEY = 'stigmer-test-secret-key';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => socket.end(() => resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts versitygw on a free loopback port over `dataDir`. `detached` servers outlive this process (for .ci/run).
 * Resolves once the port answers.
 */
async function startS3Server({ dataDir, detached = false } = {}) {
  const binary = goToolPath('versitygw');
  if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: run \`node scripts/test-tools.js\` (installs versitygw from the Go module proxy).`);
  const data = dataDir ?? fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'stigmer-s3-'));
  fs.mkdirSync(data, { recursive: true });
  const port = await freePort();
  const args = ['--access', ACCESS_KEY, '--secret', SECRET_KEY, '--port', `127.0.0.1:${port}`, '--quiet', 'posix', data];
  const child = spawn(binary, args, { stdio: detached ? 'ignore' : ['ignore', 'ignore', 'pipe'], detached });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const deadline = Date.now() + 15000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`versitygw did not start on 127.0.0.1:${port}: ${stderr.trim().split('\n').pop() ?? 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  // The server must not keep a test process alive (jest waits for open handles): it is stopped on exit anyway.
  child.stderr?.destroy();
  child.unref();
  const server = { endpoint: `http://127.0.0.1:${port}`, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, region: 'us-east-1', pid: child.pid, dataDir: data };
  return {
    ...server,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      if (!dataDir) fs.rmSync(data, { recursive: true, force: true });
    },
  };
}

/** The server named by the environment (STIGMER_TEST_S3_*), or the one `start` left running, if any. */
function runningS3Server() {
  const { STIGMER_TEST_S3_ENDPOINT: endpoint, STIGMER_TEST_S3_ACCESS_KEY: accessKey, STIGMER_TEST_S3_SECRET_KEY: secretKey } = process.env;
  if (endpoint && accessKey && secretKey) return { endpoint, accessKey, secretKey, region: 'us-east-1' };
  if (!fs.existsSync(STATE_FILE)) return undefined;
  const state = JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
  return alive(state.pid) ? state : undefined;
}

let privateServer;
/**
 * The S3 server a test uses: a running one (whose `stop` does nothing), else a private one that its `stop` ends
 * (and the process's exit, where jest lets that event through); the next call after a stop starts a new one.
 */
async function testS3Server() {
  const running = runningS3Server();
  if (running) return { ...running, stop: () => {} };
  if (!privateServer) {
    const server = await startS3Server();
    privateServer = server;
    process.once('exit', () => server.stop());
  }
  const server = privateServer;
  return {
    ...server,
    stop: () => {
      if (privateServer === server) privateServer = undefined;
      server.stop();
    },
  };
}

/** The variables a process needs to talk to the server with the AWS SDK (or the Go agent). */
function s3Env(server) {
  return {
    STIGMER_TEST_S3_ENDPOINT: server.endpoint,
    STIGMER_TEST_S3_ACCESS_KEY: server.accessKey,
    STIGMER_TEST_S3_SECRET_KEY: server.secretKey,
  };
}

async function main(command) {
  if (command === 'start') {
    const running = runningS3Server();
    if (running) return console.log(`s3 server: already running at ${running.endpoint}`);
    fs.mkdirSync(STATE_DIR, { recursive: true });
    const { stop, ...server } = await startS3Server({ dataDir: path.join(STATE_DIR, 'data'), detached: true });
    fs.writeFileSync(STATE_FILE, JSON.stringify(server, null, 2));
    console.log(`s3 server: versitygw at ${server.endpoint} (pid ${server.pid}, data ${server.dataDir})`);
  } else if (command === 'env') {
    const running = runningS3Server();
    if (!running) throw new Error('no S3 server is running: run `node scripts/s3-server.js start` first.');
    for (const [key, value] of Object.entries(s3Env(running))) console.log(`${key}=${value}`);
  } else if (command === 'stop') {
    if (!fs.existsSync(STATE_FILE)) return;
    const state = JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
    if (alive(state.pid)) process.kill(state.pid, 'SIGTERM');
    const deadline = Date.now() + 5000;
    while (alive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (alive(state.pid)) process.kill(state.pid, 'SIGKILL');
    fs.rmSync(STATE_DIR, { recursive: true, force: true });
    console.log('s3 server: stopped');
  } else {
    throw new Error('usage: node scripts/s3-server.js start|env|stop');
  }
}

module.exports = { startS3Server, runningS3Server, testS3Server, s3Env };

if (require.main === module) {
  main(process.argv[2]).catch((error) => {
    console.error(`s3 server: ${error.message}`);
    process.exit(1);
  });
}
