#!/usr/bin/env node
// Benchmarks of the Python runtime on the example agent-runner, in a fresh workspace with the packed plugin.
// Every figure is a median of several runs and a ratio to the clean build measured in the same run, so
// the table holds on a noisy shared machine. `npm run bench` (3 runs) or `npm run bench -- --quick` (1 run).
const path = require('node:path');
const fs = require('fs-extra');
const { Workspace } = require('../scripts/test-workspace');
const { median, s, mb, ratio, goal, timingRow, printTable, nxRunDuration, expectPath } = require('./report');
const { benchPythonLayout } = require('./python-layout');
const { addExample, pyinstallerByHand } = require('./python-services');

const quick = process.argv.includes('--quick');
const runs = quick ? 1 : Number(process.env.STIGMER_BENCH_RUNS ?? 3);

async function main() {
  const ws = Workspace.create('bench');
  // PyInstaller keeps its cache (the stripped copies of libraries) per user, and a --clean build empties it, even
  // under another build that is reading it. A private cache keeps the bench's --clean builds from breaking other
  // builds on the machine, and theirs from breaking the bench.
  process.env.PYINSTALLER_CONFIG_DIR = `${ws.root}-pyinstaller`;
  try {
    addExample(ws);
    // Each sample: wall time of the whole command, and the task time Nx reports (without its own start-up).
    const samples = { first: [], clean: [], unchanged: [], incremental: [], hit: [], importAdded: [], byHand: [] };
    const task = { floor: [], clean: [], unchanged: [], incremental: [], hit: [], importAdded: [] };
    const nx = (args, kind) => {
      const result = ws.mustNx(args);
      if (kind) task[kind].push(taskTime(result.output));
      return result;
    };
    samples.first.push(nx(['run', 'agent-runner:build-binary', '--skip-nx-cache']).ms);
    const service = 'services/agent-runner';
    const python = ws.path('.stigmer', 'venvs', 'agent-runner', 'bin', 'python');
    for (let i = 0; i < runs; i++) {
      // The floor under any build: an Nx task of this plugin that builds nothing (clean-binary removes what the
      // clean build below would remove anyway, and dist/).
      nx(['run', 'agent-runner:clean-binary', '--skip-nx-cache'], 'floor');
      samples.clean.push(nx(['run', 'agent-runner:build-binary', '--clean', '--skip-nx-cache'], 'clean').ms);
      // Nothing changed, Nx's cache skipped: PyInstaller's own analysis is reused.
      samples.unchanged.push(expectPath(nx(['run', 'agent-runner:build-binary', '--skip-nx-cache'], 'unchanged'), 'analysis reused').ms);
      // A function body edited: a new hash, so Nx runs the build, which reuses build/ and the analysis.
      const cli = `${service}/agent_runner/cli.py`;
      ws.write(cli, ws.read(cli).replace('    agent = yaml.safe_load(definition)\n', `    agent = yaml.safe_load(definition)\n    bench_edit = ${Date.now()}\n`));
      samples.incremental.push(expectPath(nx(['run', 'agent-runner:build-binary'], 'incremental'), 'analysis reused').ms);
      fs.removeSync(ws.path(service, 'dist'));
      const hit = nx(['run', 'agent-runner:build-binary'], 'hit');
      if (!/local cache|existing outputs match the cache/.test(hit.output)) throw new Error('expected a cache hit');
      samples.hit.push(hit.ms);
      // An import added: the full analysis (a full build: not in the quick bench that CI runs).
      if (!quick) {
        ws.write(cli, `import ${['wave', 'colorsys', 'sched', 'bdb', 'cmd'][i % 5]}\n${ws.read(cli)}`);
        samples.importAdded.push(expectPath(nx(['run', 'agent-runner:build-binary'], 'importAdded'), 'full analysis').ms);
      }
      // The same spec and environment, PyInstaller by hand (clean), for the plugin's overhead.
      samples.byHand.push(pyinstallerByHand(ws));
    }
    // Another machine restoring from the self-hosted remote cache: the local cache is emptied each time.
    const { spawn } = require('node:child_process');
    const server = spawn(process.execPath, [path.join(__dirname, '..', 'scripts', 'remote-cache-server.js'), 'bench-token'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const url = await waitForServer(server);
      const remote = {
        NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url,
        NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'bench-token',
        NX_CACHE_DIRECTORY: `${ws.root}-remote-run-cache`,
      };
      ws.mustNx(['run', 'agent-runner:build-binary'], remote);
      samples.remote = [];
      task.remote = [];
      for (let i = 0; i < runs; i++) {
        fs.removeSync(remote.NX_CACHE_DIRECTORY);
        fs.removeSync(ws.path(service, 'dist'));
        const hit = ws.mustNx(['run', 'agent-runner:build-binary'], remote);
        if (!/remote cache/.test(hit.output)) throw new Error('expected a remote cache hit');
        samples.remote.push(hit.ms);
        task.remote.push(taskTime(hit.output));
      }
      fs.removeSync(remote.NX_CACHE_DIRECTORY);
    } finally {
      server.kill();
    }
    const size = fs.statSync(ws.path(service, 'dist', 'agent-runner')).size;
    // The generated spec's binary passes test-binary; PyInstaller with no spec on the same environment:
    const testBinary = ws.nx(['run', 'agent-runner:test-binary']).code === 0;
    ws.mustRun(python, ['-m', 'PyInstaller', '--onefile', '--noconfirm', '--distpath', ws.path('naive-dist'), '--workpath', ws.path('naive-build'), '--specpath', ws.path('naive-spec'), ws.path(service, 'main.py')]);
    const naive = ws.path('naive-dist', 'main');
    const naiveSize = fs.statSync(naive).size;
    const naiveRun = ws.run(naive, []);
    const naiveRuns = naiveRun.code === 0 && naiveRun.stdout.includes('GRAPH READY');
    const clean = median(samples.clean);
    console.log(`\nstigmer benchmark: examples/agent-runner, ${runs} run${runs > 1 ? 's' : ''} each, node ${process.version}, ${process.platform}-${process.arch}`);
    const taskClean = median(task.clean);
    const withGoal = (row, max) => [...row, goal(row[4], max)];
    printTable(['measure', 'median', 'min', 'max', 'ratio to clean build', 'goal'], [
      timingRow('first build (creates the managed environment)', samples.first, clean),
      timingRow('clean build (--clean)', samples.clean, clean),
      timingRow('unchanged rebuild, no Nx cache (--skip-nx-cache, no --clean)', samples.unchanged, clean),
      timingRow('incremental build (a function body edited: analysis reused)', samples.incremental, clean),
      ...(quick ? [] : [timingRow('incremental build (an import added: full analysis)', samples.importAdded, clean)]),
      timingRow('Nx cache hit (dist/ deleted)', samples.hit, clean),
      timingRow('remote cache hit (empty local cache, dist/ deleted)', samples.remote, clean),
      timingRow('PyInstaller by hand, same spec and env (clean)', samples.byHand, clean),
      timingRow('clean build, Nx task time', task.clean, taskClean),
      withGoal(timingRow('unchanged rebuild, Nx task time', task.unchanged, taskClean), 0.05),
      timingRow('floor: an Nx task that builds nothing (clean-binary), Nx task time', task.floor, taskClean),
      timingRow('incremental build (function body), Nx task time', task.incremental, taskClean),
      ...(quick ? [] : [timingRow('incremental build (import added), Nx task time', task.importAdded, taskClean)]),
      timingRow('Nx cache hit, Nx task time', task.hit, taskClean),
      timingRow('remote cache hit, Nx task time', task.remote, taskClean),
      ['plugin overhead: clean build / PyInstaller by hand', '', '', '', ratio(clean, median(samples.byHand))],
      withGoal(['plugin overhead, Nx task time: clean build / PyInstaller by hand', '', '', '', ratio(taskClean, median(samples.byHand))], 1.05),
    ]);
    printTable(['binary', 'size', 'ratio to no-spec build', 'passes test-binary / runs'], [
      ['generated spec (nx run agent-runner:build-binary)', mb(size), ratio(size, naiveSize), testBinary ? 'passes test-binary' : 'FAILS test-binary'],
      ['pyinstaller --onefile main.py, no spec', mb(naiveSize), '1.00', naiveRuns ? 'runs' : `does not run (${lastLine(naiveRun.output)})`],
    ], { left: [3] });
    const engines = benchPythonLayout(ws, { runs, quick, onefileBuilds: samples.clean });
    engines.push(benchNode(ws));
    require('./go').benchGo(ws, { runs, quick });
    benchGraph(ws);
    await require('./agent').benchAgent({ quick });
    await require('./publish').benchPublish({ runs, quick });
    if (!quick) require('./node-stack').benchNodeStack({ runs });
    if (!quick) engines.push(...require('./node-size').benchNodeSize({ runs }));
    printEngines(engines);
    if (!quick) require('./python-stack').benchPythonStack(ws, { runs });
  } finally {
    ws.remove();
    fs.removeSync(process.env.PYINSTALLER_CONFIG_DIR);
  }
}

/**
 * The Node runtime on the e2e fixture (TypeScript, an npm package, a workspace library, an asset): build
 * time and size of the single executable, and its start-up against `node bundle.cjs` of the same bundle.
 */
function benchNode(ws) {
  fs.copySync(path.join(__dirname, '..', 'e2e', 'fixtures', 'node'), ws.root);
  ws.mustRun('npm', ['install', '--save', '--no-audit', '--no-fund', '--prefer-offline', 'ms@2.1.3']);
  ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'greeter']);
  const specPath = ws.path('apps/greeter/greeter.sea.json');
  fs.writeJsonSync(specPath, { ...fs.readJsonSync(specPath), assets: { 'greeting.txt': 'assets/greeting.txt' } });
  const builds = [];
  for (let i = 0; i < runs; i++) builds.push(ws.mustNx(['run', 'greeter:build-binary', '--skip-nx-cache']).ms);
  const binary = ws.path('apps/greeter/dist/greeter');
  const bundle = ws.path('greeter-bundle.cjs');
  ws.mustRun(process.execPath, ['-e', `require('esbuild').buildSync({ entryPoints: ['apps/greeter/src/main.ts'], bundle: true, platform: 'node', format: 'cjs', outfile: ${JSON.stringify(bundle)} })`]);
  const startup = { binary: [], bundle: [] };
  for (let i = 0; i < (quick ? 3 : 7); i++) {
    startup.binary.push(ws.mustRun(binary, ['--version']).ms);
    startup.bundle.push(ws.mustRun(process.execPath, [bundle, '--version']).ms);
  }
  const size = fs.statSync(binary).size;
  const startupRatio = ratio(median(startup.binary), median(startup.bundle));
  printTable(['Node: greeter (TypeScript + ms + workspace library + asset)', 'median', 'min', 'max', 'ratio'], [
    timingRow('single-executable build (nx run greeter:build-binary --skip-nx-cache)', builds),
    ['binary size', mb(size), '', '', `${ratio(size, fs.statSync(process.execPath).size)} of the node executable`],
    timingRow('start-up: binary --version', startup.binary, median(startup.bundle)),
    timingRow('start-up: node bundle.cjs --version', startup.bundle, median(startup.bundle)),
    ['@yao-pkg/pkg, same service', 'not measurable here', '', '', 'needs its patched Node from GitHub or nodejs.org, unreachable'],
  ]);
  return { engine: 'Node SEA', service: 'greeter (TypeScript + ms + library + asset)', builds, size: mb(size), startup: `${startupRatio}× node bundle.cjs` };
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
    ws.mustNx(['show', 'projects']); // warm-up: file system caches, not the graph (its cache is off below)
    const values = [];
    for (let i = 0; i < (quick ? 1 : 5); i++) {
      const result = ws.mustNx(['show', 'projects'], { NX_CACHE_PROJECT_GRAPH: 'false' });
      if (!result.stdout.includes('svc199')) throw new Error('the generated projects are missing');
      values.push(result.ms);
    }
    return values;
  };
  // An empty plugin on the same files: what Nx charges any plugin (its isolated worker), to set apart
  // what stigmer's own graph work costs.
  ws.write('tools/noop-plugin.js', "module.exports = { name: 'noop', createNodesV2: ['**/*.spec', (files) => files.map((file) => [file, {}])] };\n");
  const withNoop = { ...withoutPlugin, plugins: [...(withoutPlugin.plugins || []), './tools/noop-plugin.js'] };
  const without = time(withoutPlugin);
  const noop = time(withNoop);
  const withIt = time(withPlugin);
  printTable(['graph: nx show projects, 210 generated projects', 'median', 'min', 'max', 'ratio to no plugin'], [
    timingRow('without stigmer', without, median(without)),
    timingRow('an empty plugin instead (Nx per-plugin cost)', noop, median(without)),
    timingRow('with stigmer', withIt, median(without)),
  ]);
}

/**
 * Every engine side by side, each on the service it was measured on: build time (the whole
 * `nx run <service>:build-binary --skip-nx-cache`, Python with --clean), what ships, and start-up against the
 * service run by its own interpreter.
 */
function printEngines(engines) {
  const onefile = median(engines[0].builds);
  printTable(['engine / layout', 'service', 'build, median (Nx start-up included)', 'build ratio to PyInstaller one-file', 'what ships', 'start-up'], [
    ...engines.map(({ engine, service, builds, size, startup }) => [engine, service, s(median(builds)), ratio(median(builds), onefile), size, startup]),
    ...(quick ? [['Bun, Node SEA on a TypeScript CLI', 'full bench only (bench/node-size.js)']] : []),
  ], { left: [1, 4, 5] });
}

/** The URL the server prints when it listens. */
function waitForServer(server) {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error('the remote cache server did not start')), 10000);
    server.stdout.on('data', (chunk) => {
      output += chunk;
      const url = /listening (\S+)/.exec(output);
      if (url) {
        clearTimeout(timer);
        resolve(url[1]);
      }
    });
  });
}

/** Nx's task time of a run, which every build here must print. */
function taskTime(output) {
  const duration = nxRunDuration(output);
  if (duration === undefined) throw new Error('Nx printed no run duration');
  return duration;
}

function lastLine(text) {
  return text.trim().split('\n').filter(Boolean).pop() || 'no output';
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
