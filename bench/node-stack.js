// Bench rows for a Node service on a real stack (the e2e gateway: fastify 5 + @fastify/cors, pino, zod,
// undici, a YAML asset, a workspace library through a tsconfig path alias): clean build, incremental
// build (one library file changed), Nx cache hit, binary size, start-up. Only in the full `npm run bench`.
const os = require('node:os');
const path = require('node:path');
const fs = require('fs-extra');
const { exec, Workspace } = require('../scripts/test-workspace');
const { mb, timingRow, printTable } = require('./report');

function benchNodeStack({ runs }) {
  const ws = Workspace.create('bench-node-stack');
  try {
    fs.copySync(path.join(__dirname, '..', 'e2e', 'fixtures', 'node-stack'), ws.root);
    ws.mustRun('npm', ['install', '--save', '--no-audit', '--no-fund', '--prefer-offline', 'fastify@5', '@fastify/cors@11', 'pino-pretty@13', 'zod@3', 'undici@7', 'yaml@2', 'ms@2.1.3']);
    ws.mustNx(['g', 'stigmer:init']);
    ws.commit('gateway');
    const build = (args) => ws.mustNx(['run', 'gateway:build-binary', ...args]);
    const rows = { clean: [], incremental: [], hit: [], startup: [] };
    const lib = 'libs/shared/src/index.ts';
    for (let i = 0; i < runs; i++) {
      rows.clean.push(build(['--skip-nx-cache']).ms);
      ws.write(lib, `${ws.read(lib)}\n// bench edit ${Date.now()}\n`);
      rows.incremental.push(build([]).ms);
      fs.removeSync(ws.path('apps/gateway/dist'));
      const hit = build([]);
      if (!hit.output.includes('[local cache]')) throw new Error('expected a cache hit');
      rows.hit.push(hit.ms);
    }
    const binary = ws.path('apps/gateway/dist/gateway');
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-bench-gw-'));
    const copy = path.join(empty, 'gateway');
    fs.copySync(binary, copy);
    for (let i = 0; i < Math.max(runs * 2, 5); i++) {
      // Start-up, listen on a free port, one request through the stack, exit: from an empty folder and environment.
      const run = exec(copy, ['--check'], empty, { PATH: '/usr/bin:/bin', HOME: empty, NODE_PATH: '' });
      if (run.code !== 0) throw new Error(`gateway --check failed: ${run.output}`);
      rows.startup.push(run.ms);
    }
    fs.removeSync(empty);
    printTable(['Node: gateway (fastify 5, pino, zod, undici, YAML asset, aliased library)', 'median', 'min', 'max'], [
      timingRow('clean build (nx run gateway:build-binary --skip-nx-cache)', rows.clean),
      timingRow('incremental build (one library file changed)', rows.incremental),
      timingRow('Nx cache hit', rows.hit),
      timingRow('start-up + one request + exit (gateway --check, empty folder)', rows.startup),
      ['binary size', mb(fs.statSync(binary).size)],
    ]);
  } finally {
    ws.remove();
  }
}

module.exports = { benchNodeStack };
