import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { RemoteCacheServer } from './helpers/cache-server';
import { exec, REPO_ROOT, Workspace } from './helpers/workspace';

/**
 * A monorepo as the issue describes it: two Python services (agent-runner: Poetry; billing: uv/PEP 621),
 * two local libraries (graphton, shared by both; ledger, billing's own) and a Node project with no spec.
 * Proves the graph edges, the affected set and the cache hit or miss of each build for each kind of
 * change, a binary shared between two clones through Nx's self-hosted remote cache, and the same bytes when the
 * second clone builds it from nothing.
 */
describe('monorepo: graph, affected and shared cache (e2e)', () => {
  let ws: Workspace;

  beforeAll(() => {
    ws = Workspace.create('monorepo');
    ws.addExamplePythonService();
    fs.copySync(path.join(REPO_ROOT, 'e2e', 'fixtures', 'monorepo'), ws.root);
    ws.mustNx(['g', 'stigmer:init']);
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'agent-runner']);
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'billing']);
    ws.commit('monorepo');
  });

  // Graph and affected assertions run with the Nx daemon on, as developers' machines do (builds run without it).
  const DAEMON = { NX_DAEMON: 'true' };

  afterAll(() => {
    ws?.nx(['daemon', '--stop'], DAEMON);
    ws?.remove();
  });

  it('has graph edges from the Poetry path dependency and the uv sources, and none for the Node project', () => {
    ws.mustNx(['graph', '--file', 'graph.json'], DAEMON);
    expect(ws.mustNx(['daemon'], DAEMON).output).toMatch(/Daemon is currently running/i);
    const { dependencies } = fs.readJsonSync(ws.path('graph.json')).graph;
    fs.removeSync(ws.path('graph.json'));
    const targets = (project: string) => dependencies[project].map((d: { target: string }) => d.target).sort();
    expect(targets('agent-runner')).toEqual(['graphton']);
    expect(targets('billing')).toEqual(['graphton', 'ledger']);
    expect(targets('web')).toEqual([]);
  });

  it('builds both services in parallel (they share graphton), twice, with byte-identical binaries that run', () => {
    const binaries = ['services/billing/dist/billing', 'services/agent-runner/dist/agent-runner'];
    const digest = () => binaries.map((b) => createHash('sha256').update(fs.readFileSync(ws.path(b))).digest('hex'));
    ws.mustNx(['run-many', '-t', 'build-binary', '--parallel=3']);
    const first = digest();
    ws.mustNx(['run-many', '-t', 'build-binary', '--parallel=3', '--skip-nx-cache']);
    expect(digest()).toEqual(first);
    expect(ws.run(ws.path('services/billing/dist/billing'), []).stdout.trim()).toBe('billing total=255.00 EUR');
    expect(ws.run(ws.path('services/agent-runner/dist/agent-runner'), ['--version']).stdout.trim()).toBe('agent-runner 0.3.1');
  });

  // For each change: the projects `nx show projects --affected -t build-binary` prints, and whether each
  // service's build-binary is then a cache hit. Every change is reverted afterwards.
  const cases: { change: string; file: string; affected: string[]; rebuilt: string[] }[] = [
    { change: 'service source', file: 'services/agent-runner/agent_runner/cli.py', affected: ['agent-runner'], rebuilt: ['agent-runner'] },
    { change: 'shared local library', file: 'services/libs/graphton/graphton/__init__.py', affected: ['agent-runner', 'billing'], rebuilt: ['agent-runner', 'billing'] },
    // binary billing, package billing/: the package must not be hidden by an ignore entry for the binary
    { change: 'service package named like the binary', file: 'services/billing/billing/invoice.py', affected: ['billing'], rebuilt: ['billing'] },
    { change: "one service's own library", file: 'services/libs/ledger/ledger/__init__.py', affected: ['billing'], rebuilt: ['billing'] },
    { change: 'binary spec', file: 'services/billing/billing.spec', affected: ['billing'], rebuilt: ['billing'] },
    // pdm.lock: a lock the build keys on but does not install from (a hand-written poetry.lock would be a stale lock).
    { change: 'lock file', file: 'services/agent-runner/pdm.lock', affected: ['agent-runner'], rebuilt: ['agent-runner'] },
    { change: 'tests', file: 'services/agent-runner/tests/test_cli.py', affected: [], rebuilt: [] },
    // A runtime module named like a test: the spec bundles every module of the package, so it is in the key.
    { change: 'a runtime module named test_*', file: 'services/agent-runner/agent_runner/test_mode.py', affected: ['agent-runner'], rebuilt: ['agent-runner'] },
    { change: "a library's tests", file: 'services/libs/graphton/tests/test_graph.py', affected: [], rebuilt: [] },
    { change: 'unrelated Node project', file: 'apps/web/index.js', affected: [], rebuilt: [] },
    { change: 'a file in dist/', file: 'services/agent-runner/dist/notes.txt', affected: [], rebuilt: [] },
    { change: 'a file in build/', file: 'services/billing/build/notes.txt', affected: [], rebuilt: [] },
  ];

  it.each(cases)('$change ($file): affected $affected, rebuilt $rebuilt', ({ file, affected, rebuilt }) => {
    const existed = fs.existsSync(ws.path(file));
    const original = existed ? ws.read(file) : '';
    ws.write(file, `${original}\n# changed by the e2e test\n`);
    try {
      const shown = ws.mustNx(['show', 'projects', '--affected', '-t', 'build-binary', `--files=${file}`, '--json'], DAEMON);
      expect(JSON.parse(shown.stdout).sort()).toEqual(affected);
      expect(rebuiltServices()).toEqual(rebuilt);
    } finally {
      if (existed) ws.write(file, original);
      else fs.removeSync(ws.path(file));
    }
    // Reverting the change gives cache hits again.
    expect(rebuiltServices()).toEqual([]);
  });

  function rebuiltServices(): string[] {
    const run = ws.mustNx(['run-many', '-t', 'build-binary', '--projects=agent-runner,billing']);
    return ['agent-runner', 'billing'].filter((p) => !new RegExp(`nx run ${p}:build-binary\\s+\\[(local|remote) cache\\]`).test(run.output));
  }

  it('another Python version is another cache key: rebuilt, and a hit again with the first one', () => {
    // A python3 that reports 3.99.0 to the cache key's runtime input (the command that carries the stigmer
    // version) and is the real interpreter for everything else, so the build itself still works.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-python-'));
    const real = ws.mustRun('python3', ['-c', 'import sys; print(sys.executable)']).stdout.trim();
    fs.writeFileSync(path.join(bin, 'python3'), `#!/bin/sh\ncase "$*" in *"stigmer "*) echo "3.99.0 linux x86_64";; *) exec "${real}" "$@";; esac\n`, { mode: 0o755 });
    try {
      const other = ws.mustNx(['run', 'agent-runner:build-binary'], { PATH: `${bin}${path.delimiter}${process.env.PATH}` });
      expect(other.output).not.toMatch(/\[(local|remote) cache\]/);
    } finally {
      fs.removeSync(bin);
    }
    expect(ws.mustNx(['run', 'agent-runner:build-binary']).output).toMatch(/\[local cache\]|existing outputs match the cache/);
  });

  it('shares a binary between two clones through the self-hosted remote cache; the restored binary runs', async () => {
    const server = new RemoteCacheServer();
    const url = await server.start();
    const clones = ['machine-a', 'machine-b'].map((name) => fs.mkdtempSync(path.join(os.tmpdir(), `stigmer-${name}-`)));
    try {
      const env = (clone: string): NodeJS.ProcessEnv => ({
        NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url,
        NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: server.token,
        NX_CACHE_DIRECTORY: `${clone}-nx-cache`,
        NX_WORKSPACE_DATA_DIRECTORY: `${clone}-nx-data`,
      });
      for (const clone of clones) {
        fs.removeSync(clone);
        ws.mustRun('git', ['clone', '-q', ws.root, clone]);
        ws.mustRun('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline', '--prefix', clone]);
      }
      const nx = (clone: string, args: string[]) => {
        const result = exec(path.join(clone, 'node_modules', '.bin', 'nx'), args, clone, env(clone));
        if (result.code !== 0) throw new Error(`nx ${args.join(' ')} failed in ${clone}:\n${result.output.slice(-3000)}`);
        return result;
      };
      const [a, b] = clones;
      const built = nx(a, ['run', 'agent-runner:build-binary']);
      expect(built.output).toContain('[stigmer] analyse');
      expect(server.requests().some((line) => /^PUT \w+ 200$/.test(line))).toBe(true);

      const restored = nx(b, ['run', 'agent-runner:build-binary']);
      expect(restored.output).toMatch(/nx run agent-runner:build-binary\s+\[remote cache\]/);
      // Machine B never built: it has no Python environment at all, yet its binary runs.
      expect(fs.existsSync(path.join(b, '.stigmer'))).toBe(false);
      const binary = path.join(b, 'services/agent-runner/dist/agent-runner');
      expect(fs.statSync(binary).mode & 0o111).toBeTruthy();
      expect(fs.readFileSync(binary).equals(fs.readFileSync(path.join(a, 'services/agent-runner/dist/agent-runner')))).toBe(true);
      expect(ws.run(binary, ['--version']).stdout.trim()).toBe('agent-runner 0.3.1');
      console.log(`remote cache: build on A ${built.ms} ms, restore on B ${restored.ms} ms (ratio ${(restored.ms / built.ms).toFixed(2)})`);

      // Reproducible from nothing: B now builds the service itself, in another folder, with no build/ (so no
      // compression cache), no Nx cache and a managed environment of its own made from scratch. Same bytes as A's.
      expect(fs.existsSync(path.join(b, 'services/agent-runner/build'))).toBe(false);
      const rebuilt = nx(b, ['run', 'agent-runner:build-binary', '--skip-nx-cache']);
      expect(rebuilt.output).toContain('[stigmer] analyse');
      // From the example's committed poetry.lock (no Poetry on PATH): the versions A built with, not ranges resolved again.
      expect(rebuilt.output).toMatch(/installing the \d+ packages poetry\.lock pins/);
      expect(rebuilt.output).not.toContain('are not pinned');
      expect(fs.existsSync(path.join(b, '.stigmer', 'venvs', 'agent-runner', '.stigmer-stamp'))).toBe(true);
      const sha256 = (clone: string) => createHash('sha256').update(fs.readFileSync(path.join(clone, 'services/agent-runner/dist/agent-runner'))).digest('hex');
      expect(sha256(b)).toBe(sha256(a));
      console.log(`reproducible from nothing: clone B built agent-runner in ${rebuilt.ms} ms, sha256 ${sha256(b)} as on clone A`);
    } finally {
      server.stop();
      clones.forEach((clone) => ['', '-nx-cache', '-nx-data'].forEach((suffix) => fs.removeSync(clone + suffix)));
    }
  });
});
