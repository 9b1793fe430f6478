#!/usr/bin/env node
// `npm run test:agent`: the Go module agent/ (fetch, supervise, stigmer-agent) with `go test ./... -count=1`,
// against the real S3-compatible server: the one named by STIGMER_TEST_S3_* (.ci/run starts one for the whole
// run), else the one `node scripts/s3-server.js start` left, else a private one for this run. Go modules come
// from the Go module proxy into the normal module cache.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { testS3Server, s3Env } = require('./s3-server');

async function main() {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) throw new Error('go is not on PATH: install Go 1.26 or newer (the agent module needs it).');
  const server = await testS3Server();
  const args = ['test', '-count=1', ...process.argv.slice(2), './...'];
  console.log(`test:agent: ${go.stdout.trim()}; S3 server ${server.endpoint}; go ${args.join(' ')}`);
  const result = spawnSync('go', args, {
    cwd: path.join(__dirname, '..', 'agent'),
    stdio: 'inherit',
    env: { ...process.env, ...s3Env(server) },
  });
  server.stop();
  process.exitCode = result.status ?? 1;
}

main().catch((error) => {
  console.error(`test:agent: ${error.message}`);
  process.exitCode = 1;
});
