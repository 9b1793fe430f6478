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
    // Each sample: wall time of the whole command, and the task time Nx reports (without its own start-up).
    const samples = { first: [], clean: [], incremental: [], hit: [], byHand: [] };
    const task = { clean: [], incremental: [], hit: [] };
    const nx = (args, kind) => {
      const result = ws.mustNx(args);
      if (kind) task[kind].push(nxRunDuration(result.output));
      return result;
    };
    samples.first.push(nx(['run', 'agent-runner:build-binary', '--skip-nx-cache']).ms);
    const service = 'services/agent-runner';
    const python = ws.path('.stigmer', 'venvs', 'agent-runner', 'bin', 'python');
    for (let i = 0; i < runs; i++) {
      samples.clean.push(nx(['run', 'agent-runner:build-binary', '--clean', '--skip-nx-cache'], 'clean').ms);
      // One source file changed: a new hash, so Nx runs the build, which reuses build/.
      ws.write(`${service}/agent_runner/cli.py`, `${ws.read(`${service}/agent_runner/cli.py`)}\n# bench edit ${Date.now()}\n`);
      samples.incremental.push(nx(['run', 'agent-runner:build-binary'], 'incremental').ms);
      fs.removeSync(ws.path(service, 'dist'));
      const hit = nx(['run', 'agent-runner:build-binary'], 'hit');
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
    const taskClean = median(task.clean);
    for (const [name, values] of [['clean build, Nx task time', task.clean], ['incremental build, Nx task time', task.incremental], ['Nx cache hit, Nx task time', task.hit]]) {
      console.log(`| ${name} | ${s(median(values))} | ${s(Math.min(...values))} | ${s(Math.max(...values))} | ${(median(values) / taskClean).toFixed(2)} |`);
    }
    console.log(`| plugin overhead: clean build / PyInstaller by hand | | | | ${(clean / median(samples.byHand)).toFixed(2)} |`);
    console.log(`| binary size | ${(size / 1024 / 1024).toFixed(1)} MB | | | |`);
  } finally {
    ws.remove();
  }
}

/** The "Run duration" Nx prints: the task's time without the CLI's start-up and graph computation. */
function nxRunDuration(output) {
  const match = /Run duration:\s+([\d.]+)(ms|s)/.exec(output);
  if (!match) throw new Error('Nx printed no run duration');
  return Number(match[1]) * (match[2] === 's' ? 1000 : 1);
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
