#!/usr/bin/env node
// The plugin's own overhead, before and after a change, in one run: two packed plugins (`npm run package`'s
// tarball of each commit) swapped in one workspace, alternating, so both see the same machine load.
//   node bench/python-overhead.js <before.tgz> <after.tgz> [--runs N] [--stack]
// Example rows (bench/run.js's): clean build, unchanged rebuild without the Nx cache, a function body edited,
// each in Nx task time, and PyInstaller by hand on the same spec and environment. --stack adds the same rebuild
// rows on the agent stack of bench/python-stack.js (minutes per clean build; no by-hand row there).
// The spec is generated once, by the plugin installed in the workspace (this checkout's): a before-plugin that
// lacks a helper that spec calls (e.g. stigmer_spec.lazy_inspect_hook, new in issue 20) fails its build.
const path = require('node:path');
const os = require('node:os');
const { execFileSync } = require('node:child_process');
const fs = require('fs-extra');
const { Workspace } = require('../scripts/test-workspace');
const { median, s, printTable, nxRunDuration } = require('./report');
const { addExample, addAgentStack, pyinstallerByHand } = require('./python-services');

const argv = process.argv.slice(2);
const [beforeTgz, afterTgz] = argv.filter((a) => a.endsWith('.tgz'));
const runs = Number(argv[argv.indexOf('--runs') + 1] || 3);
if (!beforeTgz || !afterTgz) throw new Error('usage: node bench/python-overhead.js <before.tgz> <after.tgz> [--runs N] [--stack]');

function unpack(tarball) {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-overhead-plugin-'));
  execFileSync('tar', ['xzf', path.resolve(tarball), '-C', folder]);
  return path.join(folder, 'package');
}

const phases = (output) => output.split('\n').filter((l) => /\[stigmer\] [a-z ]+: \d/.test(l)).map((l) => l.trim().replace('[stigmer] ', '')).join(', ');

/** Clean, unchanged and edited builds of one project, for each plugin in turn (order alternating per run). */
function measure(ws, plugins, project, edit, byHand) {
  const times = { before: { clean: [], unchanged: [], incremental: [] }, after: { clean: [], unchanged: [], incremental: [] }, byHand: [] };
  for (let i = 0; i < runs; i++) {
    for (const which of i % 2 ? ['after', 'before'] : ['before', 'after']) {
      fs.removeSync(ws.path('node_modules', 'stigmer'));
      fs.copySync(plugins[which], ws.path('node_modules', 'stigmer'));
      for (const [kind, args] of [['clean', ['--clean', '--skip-nx-cache']], ['unchanged', ['--skip-nx-cache']], ['incremental', []]]) {
        if (kind === 'incremental') edit();
        const result = ws.mustNx(['run', `${project}:build-binary`, ...args]);
        times[which][kind].push(nxRunDuration(result.output));
        console.log(`${project} ${which} ${kind}: ${s(nxRunDuration(result.output))} | ${phases(result.output)}`);
      }
    }
    if (byHand) times.byHand.push(byHand());
  }
  return times;
}

function print(title, times) {
  const hand = times.byHand.length ? median(times.byHand) : undefined;
  console.log(`\n${title}, ${runs} run${runs > 1 ? 's' : ''}, Nx task time (medians)`);
  printTable(['plugin', 'clean', 'unchanged rebuild', 'function body edited', 'unchanged / clean', 'edited / clean', 'clean / PyInstaller by hand'], ['before', 'after'].map((which) => {
    const [clean, unchanged, edited] = ['clean', 'unchanged', 'incremental'].map((kind) => median(times[which][kind]));
    return [which, s(clean), s(unchanged), s(edited), (unchanged / clean).toFixed(3), (edited / clean).toFixed(3), hand ? (clean / hand).toFixed(2) : ''];
  }));
  if (hand) console.log(`PyInstaller by hand (clean), same spec and environment: median ${s(hand)}`);
}

const plugins = { before: unpack(beforeTgz), after: unpack(afterTgz) };
const ws = Workspace.create('overhead');
process.env.PYINSTALLER_CONFIG_DIR = `${ws.root}-pyinstaller`;
try {
  const service = addExample(ws);
  ws.mustNx(['run', 'agent-runner:build-binary', '--skip-nx-cache']);
  const cli = `${service}/agent_runner/cli.py`;
  const example = measure(
    ws,
    plugins,
    'agent-runner',
    () => ws.write(cli, ws.read(cli).replace('    agent = yaml.safe_load(definition)\n', `    agent = yaml.safe_load(definition)\n    bench_edit = ${Date.now()}\n`)),
    () => pyinstallerByHand(ws),
  );
  print('examples/agent-runner', example);
  if (argv.includes('--stack')) {
    const stack = addAgentStack(ws);
    ws.mustNx(['run', 'agent-stack:build-binary', '--skip-nx-cache']);
    const graph = `${stack}/agent_stack/graph.py`;
    const edit = () => ws.write(graph, ws.read(graph).replace('    last = state["messages"][-1].content\n', `    last = state["messages"][-1].content\n    bench_edit = ${Date.now()}\n`));
    print('agent stack (bench/python-stack.js)', measure(ws, plugins, 'agent-stack', edit));
  }
} finally {
  ws.remove();
  fs.removeSync(`${ws.root}-pyinstaller`);
  for (const folder of Object.values(plugins)) fs.removeSync(path.dirname(folder));
}
