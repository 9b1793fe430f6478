import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CreateDependenciesContext } from '@nx/devkit';
import { createDependencies } from './dependencies';
import { localDependencyPaths } from '../runtimes/python/project/local-dependencies';

describe('localDependencyPaths', () => {
  it('finds Poetry path dependencies in every group, uv sources and file: references', () => {
    const pyproject = `
[tool.poetry.dependencies]
python = "^3.11"
graphton = { path = "../../libs/graphton", develop = true }
httpx = "^0.27"

[tool.poetry.group.test.dependencies]
fixtures = { path = "../../libs/fixtures" }

[tool.uv.sources]
stubs = { path = "../../libs/stubs/" }
other = { workspace = true }

[project]
name = "svc"
dependencies = ["shared @ file:../../libs/shared", "pyjwt>=2"]

[dependency-groups]
dev = ["devlib @ file:///abs/ignored"]
`;
    expect(localDependencyPaths('pyproject.toml', pyproject).sort()).toEqual(
      ['../../libs/fixtures', '../../libs/graphton', '../../libs/shared', '../../libs/stubs'].sort(),
    );
  });

  it('reads -e and plain path lines of requirements files', () => {
    expect(localDependencyPaths('requirements.txt', '-e ../lib-a\n../lib-b  # local\nrequests==2.0\n--index-url https://x\n')).toEqual(['../lib-a', '../lib-b']);
  });
});

describe('createDependencies', () => {
  let root: string;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-deps-'));
  });

  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  function write(file: string, content: string) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  }

  function context(changed: Record<string, string[]>): CreateDependenciesContext {
    const projects = {
      'agent-runner': { root: 'apps/agent-runner' },
      graphton: { root: 'libs/graphton' },
      web: { root: 'apps/web' },
    };
    const projectFileMap = Object.fromEntries(Object.entries(changed).map(([p, files]) => [p, files.map((file) => ({ file, hash: '1' }))]));
    return {
      projects,
      externalNodes: {},
      nxJsonConfiguration: {},
      workspaceRoot: root,
      fileMap: { projectFileMap, nonProjectFiles: [] },
      filesToProcess: { projectFileMap, nonProjectFiles: [] },
    } as unknown as CreateDependenciesContext;
  }

  it('adds an edge only where the path is a project root, and none for a path that points nowhere', async () => {
    write('apps/agent-runner/pyproject.toml', '[tool.poetry.dependencies]\ngraphton = { path = "../../libs/graphton" }\nghost = { path = "../../libs/ghost" }\n');
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const edges = await createDependencies(undefined, context({ 'agent-runner': ['apps/agent-runner/pyproject.toml', 'apps/agent-runner/main.py'] }));
    expect(edges).toEqual([{ source: 'agent-runner', target: 'graphton', type: 'static', sourceFile: 'apps/agent-runner/pyproject.toml' }]);
    warn.mockRestore();
  });

  it('reads only the files Nx hands over as changed', async () => {
    write('apps/agent-runner/pyproject.toml', '[tool.poetry.dependencies]\ngraphton = { path = "../../libs/graphton" }\n');
    expect(await createDependencies(undefined, context({ 'agent-runner': ['apps/agent-runner/main.py'] }))).toEqual([]);
  });

  it('survives an invalid pyproject.toml', async () => {
    write('apps/web/pyproject.toml', '[tool.poetry\nbroken');
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(await createDependencies(undefined, context({ web: ['apps/web/pyproject.toml'] }))).toEqual([]);
    warn.mockRestore();
  });

  it('adds edges from a Node service to the projects its sources import, by relative path', async () => {
    write('apps/web/web.sea.json', '{"name":"web","entry":"src/main.ts"}');
    write('apps/web/src/main.ts', "import { g } from '../../../libs/graphton/src/index';\nimport ms from 'ms';\nimport { h } from './helper';\n");
    const edges = await createDependencies(undefined, context({ web: ['apps/web/web.sea.json', 'apps/web/src/main.ts'] }));
    expect(edges).toEqual([{ source: 'web', target: 'graphton', type: 'static', sourceFile: 'apps/web/src/main.ts' }]);
  });

  it('scans every source of a Node service again when its spec appears', async () => {
    write('apps/web/web.sea.json', '{"name":"web","entry":"src/main.ts"}');
    write('apps/web/src/main.ts', "import { g } from '../../../libs/graphton/src/index';\n");
    const all = { web: ['apps/web/web.sea.json', 'apps/web/src/main.ts'] };
    const ctx = context(all);
    (ctx as any).fileMap = { projectFileMap: { web: all.web.map((file) => ({ file, hash: '1' })) }, nonProjectFiles: [] };
    (ctx as any).filesToProcess = { projectFileMap: { web: [{ file: 'apps/web/web.sea.json', hash: '2' }] }, nonProjectFiles: [] };
    expect(await createDependencies(undefined, ctx)).toEqual([{ source: 'web', target: 'graphton', type: 'static', sourceFile: 'apps/web/src/main.ts' }]);
  });

  it('follows tsconfig path aliases from tsconfig.base.json through the service\'s extends chain, and npm imports to their lock file node', async () => {
    write('tsconfig.base.json', '{\n  // Nx style\n  "compilerOptions": { "baseUrl": ".", "paths": { "@acme/shared": ["libs/graphton/src/index.ts"], "@acme/*": ["libs/*/src"], } }\n}');
    write('apps/web/tsconfig.json', '{ "extends": "../../tsconfig.base.json", "compilerOptions": { "strict": true } }');
    write('apps/web/web.sea.json', '{"name":"web","entry":"src/main.ts"}');
    write('apps/web/src/main.ts', "import { s } from '@acme/shared';\nimport type { T } from '@acme/agent-runner';\nimport fastify from 'fastify';\nimport { z } from 'zod/v4';\nimport x = require('left-pad');\n");
    write('libs/graphton/src/index.ts', 'export const s = 1;\n');
    write('apps/agent-runner/src/index.ts', 'export type T = 1;\n');
    write('libs/graphton/src/dep.ts', "import { q } from '../../../apps/web/src/main';\n");
    const ctx = context({ web: ['apps/web/web.sea.json', 'apps/web/src/main.ts'] });
    (ctx as any).projects['agent-runner'] = { root: 'apps/agent-runner' };
    write('apps/agent-runner/src/placeholder', '');
    (ctx as any).externalNodes = { 'npm:fastify': {}, 'npm:zod': {} };
    const edges = await createDependencies(undefined, ctx);
    expect(edges.map((e) => e.target).sort()).toEqual(['graphton', 'npm:fastify', 'npm:zod']);
  });

  it('resolves uv workspace members by their declared name', async () => {
    write('pyproject.toml', '[tool.uv.workspace]\nmembers = ["apps/*", "libs/*"]\n');
    write('apps/agent-runner/pyproject.toml', '[project]\nname = "agent-runner"\ndependencies = ["Graph_Ton"]\n\n[tool.uv.sources]\nGraph_Ton = { workspace = true }\n');
    write('libs/graphton/pyproject.toml', '[project]\nname = "graph-ton"\n');
    const edges = await createDependencies(undefined, context({ 'agent-runner': ['apps/agent-runner/pyproject.toml'] }));
    expect(edges).toEqual([{ source: 'agent-runner', target: 'graphton', type: 'implicit' }]);
  });

  it("follows a change of the root's members globs and of a member's name while the service's pyproject.toml is unchanged", async () => {
    write('pyproject.toml', '[tool.uv.workspace]\nmembers = ["apps/*", "libs/*"]\n');
    write('apps/agent-runner/pyproject.toml', '[project]\nname = "agent-runner"\ndependencies = ["graphton"]\n\n[tool.uv.sources]\ngraphton = { workspace = true }\n');
    write('libs/graphton/pyproject.toml', '[project]\nname = "graphton"\n');
    const hashes: Record<string, string> = { root: 'r1', service: 's1', member: 'm1' };
    // As Nx hands it over on a later run: every file in the file map, only the one that changed to process.
    const run = (changed: { project?: string; file: string; hash: string }[]) => {
      const ctx = context({});
      (ctx as any).fileMap = {
        projectFileMap: {
          'agent-runner': [{ file: 'apps/agent-runner/pyproject.toml', hash: hashes.service }],
          graphton: [{ file: 'libs/graphton/pyproject.toml', hash: hashes.member }],
        },
        nonProjectFiles: [{ file: 'pyproject.toml', hash: hashes.root }],
      };
      (ctx as any).filesToProcess = {
        projectFileMap: Object.fromEntries(changed.filter((c) => c.project).map((c) => [c.project, [{ file: c.file, hash: c.hash }]])),
        nonProjectFiles: changed.filter((c) => !c.project).map((c) => ({ file: c.file, hash: c.hash })),
      };
      return createDependencies(undefined, ctx);
    };
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      expect(await run([])).toEqual([{ source: 'agent-runner', target: 'graphton', type: 'implicit' }]);
      write('pyproject.toml', '[tool.uv.workspace]\nmembers = ["apps/*"]\n');
      hashes.root = 'r2';
      expect(await run([{ file: 'pyproject.toml', hash: 'r2' }])).toEqual([]);
      write('pyproject.toml', '[tool.uv.workspace]\nmembers = ["apps/*", "libs/*"]\n');
      hashes.root = 'r3';
      expect(await run([{ file: 'pyproject.toml', hash: 'r3' }])).toEqual([{ source: 'agent-runner', target: 'graphton', type: 'implicit' }]);
      write('libs/graphton/pyproject.toml', '[project]\nname = "graphton-renamed"\n');
      hashes.member = 'm2';
      expect(await run([{ project: 'graphton', file: 'libs/graphton/pyproject.toml', hash: 'm2' }])).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });

  it('gives no edge to a project that declares the name but is no member of the uv workspace', async () => {
    write('pyproject.toml', '[tool.uv.workspace]\nmembers = ["apps/*"]\n');
    write('apps/agent-runner/pyproject.toml', '[project]\nname = "agent-runner"\ndependencies = ["graphton"]\n\n[tool.uv.sources]\ngraphton = { workspace = true }\n');
    write('libs/graphton/pyproject.toml', '[project]\nname = "graphton"\n');
    const edges = await createDependencies(undefined, context({ 'agent-runner': ['apps/agent-runner/pyproject.toml'] }));
    expect(edges).toEqual([]);
  });
});

