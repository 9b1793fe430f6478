#!/usr/bin/env node
// Benchmarks of the Python runtime on the example agent-runner, in a fresh workspace with the packed plugin.
// Every figure is a median of several runs and a ratio to the clean build measured in the same run, so
// the table holds on a noisy shared machine. `npm run bench` (3 runs) or `npm run bench -- --quick` (1 run).
const path = require('node:path');
const fs = require('fs-extra');
const { Workspace } = require('../scripts/test-workspace');

const quick = process.argv.includes('--quick');
const runs = quick ? 1 : Number(process.env.STIGMER_BENCH_RUNS ?? 3);

function main() {
  const ws = Workspace.create('bench');
  try {
    ws.addExamplePythonService();
    ws.mustNx(['g', 'stigmer:init']);
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'agent-runner']);
    ws.commit('example');
    const samples = { first: [], clean: [], incremental: [], hit: [], byHand: [] };
    samples.first.push(ws.mustNx(['run', 'agent-runner:build-binary', '--skip-nx-cache']).ms);
    const service = 'services/agent-runner';
    const python = ws.path('.stigmer', 'venvs', 'agent-runner', 'bin', 'python');
    for (let i = 0; i < runs; i++) {
      samples.clean.push(ws.mustNx(['run', 'agent-runner:build-binary', '--clean', '--skip-nx-cache']).ms);
      // One source file changed: a new hash, so Nx runs the build, which reuses build/.
      ws.write(`${service}/agent_runner/cli.py`, `${ws.read(`${service}/agent_runner/cli.py`)}\n# bench edit ${Date.now()}\n`);
      samples.incremental.push(ws.mustNx(['run', 'agent-runner:build-binary']).ms);
      fs.removeSync(ws.path(service, 'dist'));
      const hit = ws.mustNx(['run', 'agent-runner:build-binary']);
      if (!/local cache|existing outputs match the cache/.test(hit.output)) throw new Error('expected a cache hit');
      samples.hit.push(hit.ms);
      // The same spec and environment, PyInstaller by hand (clean), for the plugin's overhead.
      samples.byHand.push(
        ws.mustRun(python, ['-m', 'PyInstaller', '--noconfirm', '--clean', '--distpath', ws.path('bench-dist'), '--workpath', ws.path('bench-build'), ws.path(service, 'agent-runner.spec')]).ms,
      );
    }
    const size = fs.statSync(ws.path(service, 'dist', 'agent-runner')).size;
    const clean = median(samples.clean);
    const rows = [
      ['first build (creates the managed environment)', samples.first, clean],
      ['clean build (--clean)', samples.clean, clean],
      ['incremental build (one source file changed)', samples.incremental, clean],
      ['Nx cache hit (dist/ deleted)', samples.hit, clean],
      ['PyInstaller by hand, same spec and env (clean)', samples.byHand, clean],
    ];
    console.log(`\nstigmer benchmark: examples/agent-runner, ${runs} run${runs > 1 ? 's' : ''} each, node ${process.version}, ${process.platform}-${process.arch}\n`);
    console.log('| measure | median | min | max | ratio to clean build |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const [name, values, base] of rows) {
      console.log(`| ${name} | ${s(median(values))} | ${s(Math.min(...values))} | ${s(Math.max(...values))} | ${(median(values) / base).toFixed(2)} |`);
    }
    console.log(`| plugin overhead: clean build / PyInstaller by hand | | | | ${(clean / median(samples.byHand)).toFixed(2)} |`);
    console.log(`| binary size | ${(size / 1024 / 1024).toFixed(1)} MB | | | |`);
  } finally {
    ws.remove();
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function s(ms) {
  return `${(ms / 1000).toFixed(2)} s`;
}

main();
