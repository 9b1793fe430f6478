#!/usr/bin/env node
// Tools the test suite needs that npm does not install. Idempotent: each step does nothing when its tool is there.
// (Helper python-env owns the Poetry/uv steps of this script; this minimal version only has the redis step.)
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function onPath(program) {
  return (process.env.PATH || '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, program)));
}

/** redis-server (Debian package redis-server), for the Python agent-stack e2e's real Redis. */
function ensureRedisServer() {
  if (onPath('redis-server')) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = root ? ['apt-get'] : ['sudo', '-n', 'apt-get'];
  console.log('test-tools: installing redis-server (apt-get)');
  for (const args of [['update', '-q'], ['install', '-y', '-q', 'redis-server']]) {
    const result = spawnSync(apt[0], [...apt.slice(1), ...args], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (result.status !== 0) {
      console.error(`test-tools: "${[...apt, ...args].join(' ')}" failed: install redis-server (Debian package redis-server) and run again.`);
      process.exit(1);
    }
  }
}

if (require.main === module) {
  ensureRedisServer();
}

module.exports = { ensureRedisServer };
