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
    benchGraph(ws);
  } finally {
    ws.remove();
  }
}

/**
 * The plugin's cost in graph computation: `nx show projects` on 200 generated Python services (each with a
 * spec and a path dependency on one of 10 libraries) with the plugin registered and without it, the
 * project graph cache off so that every run computes the graph.
 */
function benchGraph(ws) {
  const spec = ws.read('services/agent-runner/agent-runner.spec');
  for (let i = 0; i < 10; i++) {
    ws.write(`generated/libs/lib${i}/project.json`, JSON.stringify({ name: `lib${i}` }));
    ws.write(`generated/libs/lib${i}/pyproject.toml`, `[project]\nname = "lib${i}"\nversion = "0.1.0"\n`);
    ws.write(`generated/libs/lib${i}/lib${i}/__init__.py`, '');
  }
  for (let i = 0; i < 200; i++) {
    const dir = `generated/services/svc${i}`;
    ws.write(`${dir}/project.json`, JSON.stringify({ name: `svc${i}` }));
    ws.write(`${dir}/pyproject.toml`, `[tool.poetry]\nname = "svc${i}"\nversion = "0.1.0"\n\n[tool.poetry.dependencies]\npython = "^3.11"\npyjwt = "^2.8"\nlib${i % 10} = { path = "../../libs/lib${i % 10}", develop = true }\n`);
    ws.write(`${dir}/main.py`, `import lib${i % 10}\nprint("svc${i}")\n`);
    ws.write(`${dir}/svc${i}.spec`, spec.replace(/name="agent-runner"/, `name="svc${i}"`));
  }
  const nxJsonPath = ws.path('nx.json');
  const withPlugin = fs.readJsonSync(nxJsonPath);
  const withoutPlugin = { ...withPlugin, plugins: (withPlugin.plugins || []).filter((p) => (typeof p === 'string' ? p : p.plugin) !== 'stigmer') };
  const time = (config) => {
    fs.writeJsonSync(nxJsonPath, config, { spaces: 2 });
    const values = [];
    for (let i = 0; i < (quick ? 1 : 5); i++) {
      const result = ws.mustNx(['show', 'projects'], { NX_CACHE_PROJECT_GRAPH: 'false' });
      if (!result.stdout.includes('svc199')) throw new Error('the generated projects are missing');
      values.push(result.ms);
    }
    return values;
  };
  const without = time(withoutPlugin);
  const withIt = time(withPlugin);
  console.log(`\n| graph: nx show projects, 210 generated projects | median | min | max | ratio to no plugin |`);
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, values] of [['without stigmer', without], ['with stigmer', withIt]]) {
    console.log(`| ${name} | ${s(median(values))} | ${s(Math.min(...values))} | ${s(Math.max(...values))} | ${(median(values) / median(without)).toFixed(2)} |`);
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
