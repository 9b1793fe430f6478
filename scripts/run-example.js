#!/usr/bin/env node
// Quick start: builds the example agent-runner service into one binary with Nx, then runs that binary.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const nx = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'nx.cmd' : 'nx');
const binary = path.join(root, 'examples', 'agent-runner', 'dist', process.platform === 'win32' ? 'agent-runner.exe' : 'agent-runner');

step(nx, ['run', 'agent-runner:build-binary']);
console.log(`\n$ ${path.relative(root, binary)}`);
step(binary, []);

function step(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { NX_DAEMON: 'false', ...process.env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
