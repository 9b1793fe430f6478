// Bench rows for binary size and start-up of Node services (issue 11), each a ratio within this run:
// the Node single executable from a stripped runtime against the same build with "strip": false (goal
// <= 0.9), the Bun engine's start-up against `node bundle.cjs` of the same esbuild bundle (goal <= 0.2), and
// the build time of each engine. Only in the full `npm run bench`.
const os = require('node:os');
const path = require('node:path');
const fs = require('fs-extra');
const { exec, Workspace } = require('../scripts/test-workspace');
const { median, mb, ratio, goal, timingRow, printTable } = require('./report');

/** Prints its table; returns the Node SEA and Bun rows of the engines table (bench/run.js). */
function benchNodeSize({ runs }) {
  const ws = Workspace.create('bench-node-size');
  try {
    fs.copySync(path.join(__dirname, '..', 'e2e', 'fixtures', 'node'), ws.root);
    ws.mustRun('npm', ['install', '--save', '--no-audit', '--no-fund', '--prefer-offline', 'ms@2.1.3', 'semver@7']);
    ws.mustNx(['g', 'stigmer:init']);
    // A TypeScript CLI with semver and a workspace library, no assets: both engines build it.
    ws.write('apps/cli/project.json', JSON.stringify({ name: 'cli' }));
    ws.write('apps/cli/src/main.ts', "import semver from 'semver';\nimport { greet } from '../../../libs/greeting/src/index';\nconsole.log(greet(`next ${semver.inc(process.argv[2] ?? '1.2.3', 'minor')}`));\n");
    const spec = ws.path('apps/cli/cli.sea.json');
    const setSpec = (extra) => fs.writeJsonSync(spec, { name: 'cli', entry: 'src/main.ts', ...extra });
    const binary = ws.path('apps/cli/dist/cli');
    const build = () => ws.mustNx(['run', 'cli:build-binary', '--skip-nx-cache']).ms;
    const times = { node: [], bun: [] };
    setSpec({ strip: false });
    build();
    const unstripped = fs.statSync(binary).size;
    setSpec({});
    for (let i = 0; i < runs; i++) times.node.push(build());
    const stripped = fs.statSync(binary).size;
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-bench-size-'));
    const nodeCopy = path.join(empty, 'cli-node');
    fs.copySync(binary, nodeCopy);
    setSpec({ engine: 'bun' });
    build(); // first build fetches Bun once into .stigmer/bun
    for (let i = 0; i < runs; i++) times.bun.push(build());
    const bunSize = fs.statSync(binary).size;
    const bundle = ws.path('cli-bundle.cjs');
    ws.mustRun(process.execPath, ['-e', `require('esbuild').buildSync({ entryPoints: ['apps/cli/src/main.ts'], bundle: true, platform: 'node', format: 'cjs', outfile: ${JSON.stringify(bundle)} })`]);
    // Start-up: copies of both binaries in an empty folder (PATH and HOME pointing away), against node bundle.cjs.
    const copy = path.join(empty, 'cli');
    fs.copySync(binary, copy);
    const startup = { bun: [], node: [], bundle: [] };
    const timed = (program) => {
      const run = exec(program, ['1.2.3'], empty, { PATH: '/usr/bin:/bin', HOME: empty });
      if (run.code !== 0 || !run.stdout.includes('NEXT 1.3.0')) throw new Error(`${program} did not work: ${run.output}`);
      return run.ms;
    };
    for (let i = 0; i < Math.max(runs * 2, 7); i++) {
      startup.bun.push(timed(copy));
      startup.node.push(timed(nodeCopy));
      startup.bundle.push(ws.mustRun(process.execPath, [bundle, '1.2.3']).ms);
    }
    fs.removeSync(empty);
    const sizeRatio = ratio(stripped, unstripped);
    const bunStart = timingRow('start-up: Bun binary (empty folder) / node bundle.cjs', startup.bun, median(startup.bundle));
    const nodeStart = timingRow('start-up: Node SEA binary (stripped, empty folder) / node bundle.cjs', startup.node, median(startup.bundle));
    printTable(['Node: cli (TypeScript + semver + workspace library)', 'median', 'min', 'max', 'ratio', 'goal'], [
      ['Node SEA size, stripped runtime / "strip": false', `${mb(stripped)} / ${mb(unstripped)}`, '', '', sizeRatio, goal(sizeRatio, 0.9)],
      ['Bun engine size / stripped Node SEA', mb(bunSize), '', '', ratio(bunSize, stripped)],
      [...bunStart, goal(bunStart[4], 0.2)],
      nodeStart,
      timingRow('start-up: node bundle.cjs', startup.bundle, median(startup.bundle)),
      timingRow('build, Node SEA engine (nx run cli:build-binary --skip-nx-cache)', times.node, median(times.node)),
      timingRow('build, Bun engine / Node SEA engine', times.bun, median(times.node)),
    ]);
    const service = 'cli (TypeScript + semver + library)';
    return [
      { engine: 'Node SEA', service, builds: times.node, size: mb(stripped), startup: `${nodeStart[4]}× node bundle.cjs` },
      { engine: 'Bun', service, builds: times.bun, size: mb(bunSize), startup: `${bunStart[4]}× node bundle.cjs` },
    ];
  } finally {
    ws.remove();
  }
}

module.exports = { benchNodeSize };

// `node bench/node-size.js` runs these rows alone (after `npm run package`).
if (require.main === module) {
  benchNodeSize({ runs: Number(process.env.STIGMER_BENCH_RUNS ?? 3) });
}
