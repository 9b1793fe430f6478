// Benchmark rows for a larger Python service: the e2e agent stack (Temporal, LangGraph + LangChain, gRPC stubs
// in a local library, Redis, httpx, PyJWT, Authlib). Clean, incremental and cache-hit builds, where the time
// of a build goes (environment, PyInstaller's analysis, bundling), size, and start-up against `python main.py`.
// Only in the full `npm run bench` (it builds a 60 MB binary several times).
const fs = require('fs-extra');
const { exec } = require('../scripts/test-workspace');
const { median, s, mb, goal, timingRow, printTable, nxRunDuration, expectPath } = require('./report');
const { addAgentStack } = require('./python-services');

function benchPythonStack(ws, { runs }) {
  const service = addAgentStack(ws);

  const samples = { first: [], clean: [], unchanged: [], incremental: [], hit: [], importAdded: [] };
  const task = { clean: [], unchanged: [], incremental: [], hit: [], importAdded: [] };
  const phases = { clean: [], unchanged: [], incremental: [], importAdded: [] };
  const build = (args, kind) => {
    const result = ws.mustNx(['run', 'agent-stack:build-binary', ...args]);
    samples[kind].push(result.ms);
    const duration = nxRunDuration(result.output);
    if (task[kind] && duration !== undefined) task[kind].push(duration);
    if (phases[kind]) phases[kind].push(phaseTimes(result.output));
    return result;
  };
  build(['--skip-nx-cache'], 'first');
  for (let i = 0; i < runs; i++) {
    build(['--clean', '--skip-nx-cache'], 'clean');
    // Nothing changed, Nx's cache skipped: PyInstaller's own analysis is reused.
    expectPath(build(['--skip-nx-cache'], 'unchanged'), 'analysis reused');
    // A function body of the service edited: a new hash, so Nx runs the build, which reuses build/ and the analysis.
    const graph = `${service}/agent_stack/graph.py`;
    ws.write(graph, ws.read(graph).replace('    last = state["messages"][-1].content\n', `    last = state["messages"][-1].content\n    bench_edit = ${Date.now()}\n`));
    expectPath(build([], 'incremental'), 'analysis reused');
    fs.removeSync(ws.path(service, 'dist'));
    const hit = build([], 'hit');
    if (!/local cache|existing outputs match the cache/.test(hit.output)) throw new Error('agent-stack: expected a cache hit');
    // An import added: the full analysis.
    ws.write(graph, `import ${['wave', 'colorsys', 'sched', 'bdb', 'cmd'][i % 5]}\n${ws.read(graph)}`);
    expectPath(build([], 'importAdded'), 'full analysis');
  }
  const binary = ws.path(service, 'dist', 'agent-stack');
  const python = ws.path('.stigmer', 'venvs', 'agent-stack', 'bin', 'python');
  const startup = { binary: [], python: [] };
  for (let i = 0; i < 7; i++) {
    startup.binary.push(ws.mustRun(binary, ['--version']).ms);
    startup.python.push(exec(python, ['main.py', '--version'], ws.path(service)).ms);
  }

  const clean = median(samples.clean);
  const taskClean = median(task.clean);
  console.log(`\nPython agent stack (e2e/fixtures/python-stack: Temporal, LangGraph, gRPC, Redis, httpx, PyJWT, Authlib), ${runs} run${runs > 1 ? 's' : ''} each`);
  printTable(['measure', 'median', 'min', 'max', 'ratio to clean build', 'goal'], [
    ['first build (creates the managed environment)', samples.first, clean],
    ['clean build (--clean)', samples.clean, clean],
    ['unchanged rebuild, no Nx cache (--skip-nx-cache, no --clean)', samples.unchanged, clean],
    ['incremental build (a function body edited: analysis reused)', samples.incremental, clean],
    ['incremental build (an import added: full analysis)', samples.importAdded, clean],
    ['Nx cache hit (dist/ deleted)', samples.hit, clean],
    ['clean build, Nx task time', task.clean, taskClean],
    ['unchanged rebuild, Nx task time', task.unchanged, taskClean, 0.05],
    ['incremental build (function body), Nx task time', task.incremental, taskClean, 0.1],
    ['incremental build (import added), Nx task time', task.importAdded, taskClean],
    ['Nx cache hit, Nx task time', task.hit, taskClean],
  ].filter(([, values]) => values.length).map(([name, values, base, max]) => {
    const row = timingRow(name, values, base);
    return max === undefined ? row : [...row, goal(row[4], max)];
  }));
  const phase = (values, key) => s(median(values.map((v) => v[key] ?? 0)));
  const phaseNames = ['resolve environment', 'analyse', 'bundle', 'verify'];
  printTable(["where a build's time goes (median)", ...phaseNames], [
    ['clean build', phases.clean],
    ['unchanged rebuild', phases.unchanged],
    ['incremental build (function body edited)', phases.incremental],
    ['incremental build (import added)', phases.importAdded],
  ].map(([name, values]) => [name, ...phaseNames.map((key) => phase(values, key))]));
  printTable(['agent-stack binary', 'size'], [['dist/agent-stack', mb(fs.statSync(binary).size)]]);
  printTable(['agent-stack start-up (--version)', 'median', 'min', 'max', 'ratio to python main.py'], [
    timingRow('binary', startup.binary, median(startup.python)),
    timingRow('python main.py (managed environment)', startup.python, median(startup.python)),
  ]);
}

/** The phase times stigmer prints: "[stigmer] analyse: 12.3s". */
function phaseTimes(output) {
  const times = {};
  for (const match of output.matchAll(/\[stigmer\] ([a-z ]+): ([\d.]+)s/g)) times[match[1]] = Number(match[2]) * 1000;
  return times;
}

module.exports = { benchPythonStack };
