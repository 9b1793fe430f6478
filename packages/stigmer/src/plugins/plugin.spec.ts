import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CreateNodesContextV2 } from '@nx/devkit';
import { minimatch } from 'minimatch';
import { createNodes } from './plugin';
import type { StigmerPluginOptions } from './targets';

const SPEC = `a = Analysis(["main.py"])\nexe = EXE(pyz, a.scripts, name="api")\n`;

/** The project nodes the plugin infers for files written to a temporary workspace, by root. */
async function inferredNodes(files: Record<string, string>, options: StigmerPluginOptions = {}, nxJson: CreateNodesContextV2['nxJsonConfiguration'] = {}): Promise<Record<string, { name?: string; targets?: Record<string, unknown> }>> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-plugin-'));
  try {
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), content);
    }
    const [glob, create] = createNodes;
    const matched = Object.keys(files).filter((f) => minimatch(f, glob, { dot: true }));
    const context: CreateNodesContextV2 = { workspaceRoot: root, nxJsonConfiguration: nxJson };
    const results = await create(matched, options, context);
    const nodes: Record<string, { name?: string; targets?: Record<string, unknown> }> = {};
    for (const [, result] of results) {
      for (const [projectRoot, node] of Object.entries(result.projects ?? {})) {
        nodes[projectRoot] = { ...nodes[projectRoot], ...node } as (typeof nodes)[string];
      }
    }
    return nodes;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

describe('createNodes: pyproject-only projects', () => {
  it('makes a named node without targets for a folder with only a pyproject.toml', async () => {
    const nodes = await inferredNodes({
      'services/api/pyproject.toml': '[project]\nname = "api"\nversion = "0.1.0"\n\n[tool.uv]\npackage = false\n',
      'libs/poetry-lib/pyproject.toml': '[tool.poetry]\nname = "shared-lib"\nversion = "1.0.0"\n',
      'libs/unnamed/pyproject.toml': '[project]\nversion = "1.0.0"\n',
    });
    expect(nodes).toEqual({
      'services/api': { name: 'api' },
      'libs/poetry-lib': { name: 'shared-lib' },
      'libs/unnamed': { name: 'unnamed' },
    });
  });

  it('adds the build targets where the folder holds a spec, under the same name', async () => {
    const nodes = await inferredNodes({ 'services/api/pyproject.toml': '[project]\nname = "web-api"\n', 'services/api/api.spec': SPEC });
    expect(nodes['services/api'].name).toBe('web-api');
    expect(Object.keys(nodes['services/api'].targets ?? {}).sort()).toEqual(['binary-report', 'build-binary', 'clean-binary', 'nx-release-publish', 'publish-binary', 'test-binary']);
  });

  it('creates no node where project.json or package.json already define one, nor a name that would rename it', async () => {
    const nodes = await inferredNodes({
      'apps/a/pyproject.toml': '[project]\nname = "a-dist"\n',
      'apps/a/project.json': '{"name": "a"}',
      'apps/b/pyproject.toml': '[project]\nname = "b-dist"\n',
      'apps/b/package.json': '{"name": "b"}',
      'apps/b/b.spec': SPEC,
    });
    expect(nodes['apps/a']).toBeUndefined();
    expect(nodes['apps/b'].name).toBeUndefined();
    expect(nodes['apps/b'].targets).toBeDefined();
  });

  it('skips environments, installed packages, tool-only files and the workspace root', async () => {
    const nodes = await inferredNodes({
      'pyproject.toml': '[project]\nname = "root"\n\n[tool.uv.workspace]\nmembers = ["services/*"]\n',
      'services/api/.venv/lib/python3.12/site-packages/x/pyproject.toml': '[project]\nname = "x"\n',
      'envs/v/pyvenv.cfg': 'home = /usr/bin\n',
      'envs/v/src/editable/pyproject.toml': '[project]\nname = "editable"\n',
      'vendor/lib/python3.12/site-packages/y/pyproject.toml': '[project]\nname = "y"\n',
      'node_modules/z/pyproject.toml': '[project]\nname = "z"\n',
      'config/pyproject.toml': '[tool.ruff]\nline-length = 100\n',
      'broken/pyproject.toml': '[project\nname = ',
    });
    expect(nodes).toEqual({});
  });

  it('names each of two folders that declare the same name by its root, so Nx never sees a name twice', async () => {
    const nodes = await inferredNodes({
      'a/svc/pyproject.toml': '[project]\nname = "svc"\n',
      'b/svc/pyproject.toml': '[project]\nname = "svc"\n',
      'c/other/pyproject.toml': '[project]\nname = "other"\n',
    });
    expect(nodes).toEqual({ 'a/svc': { name: 'a/svc' }, 'b/svc': { name: 'b/svc' }, 'c/other': { name: 'other' } });
  });

  it("makes no node of a pyproject.toml inside another project's folder, which would take files out of its inputs", async () => {
    const nodes = await inferredNodes({
      'services/api/pyproject.toml': '[project]\nname = "api"\n',
      'services/api/tests/fixtures/sample/pyproject.toml': '[project]\nname = "sample"\n',
      'apps/runner/project.json': '{"name": "runner"}',
      'apps/runner/third_party/vendored/pyproject.toml': '[project]\nname = "vendored"\n',
      'libs/shared/pyproject.toml': '[project]\nname = "shared"\n',
    });
    expect(nodes).toEqual({ 'services/api': { name: 'api' }, 'libs/shared': { name: 'shared' } });
  });

  it('names a folder by its path when a project.json or package.json project has its declared name already', async () => {
    const nodes = await inferredNodes({
      'apps/web/project.json': '{"name": "web"}',
      'apps/ui/package.json': '{"name": "@acme/ui"}',
      'services/web/pyproject.toml': '[project]\nname = "web"\n',
      'services/ui/pyproject.toml': '[project]\nname = "@acme/ui"\n',
      'services/api/pyproject.toml': '[project]\nname = "api"\n',
    });
    expect(nodes).toEqual({ 'services/web': { name: 'services/web' }, 'services/ui': { name: 'services/ui' }, 'services/api': { name: 'api' } });
  });
});

describe('createNodes: the cache key follows the python option', () => {
  /** The runtime input (the toolchain key command) of a target. */
  const keyCommand = (target: unknown) =>
    ((target as { inputs: unknown[] }).inputs.find((input) => typeof input === 'object' && input !== null && 'runtime' in input) as { runtime: string }).runtime;
  const projectJson = (target: string, python: string) => JSON.stringify({ name: 'api', targets: { [target]: { options: { python } } } });

  it("probes the python option of the project's own build target, over the plugin's option", async () => {
    const nodes = await inferredNodes(
      { 'services/api/project.json': projectJson('build-binary', '/opt/py 3.12/bin/python'), 'services/api/api.spec': SPEC },
      { python: '/usr/bin/python3.11' },
    );
    const targets = nodes['services/api'].targets ?? {};
    expect(keyCommand(targets['build-binary'])).toMatch(/ services\/api '\/opt\/py 3\.12\/bin\/python'$/);
    expect(keyCommand(targets['test-binary'])).toBe(keyCommand(targets['build-binary']));
  });

  it("reads it under the plugin's build target name, and keeps the plugin's option where the project sets none", async () => {
    const renamed = await inferredNodes(
      { 'services/api/project.json': projectJson('binary', '/opt/py312/bin/python'), 'services/api/api.spec': SPEC },
      { buildTargetName: 'binary' },
    );
    expect(keyCommand(renamed['services/api'].targets?.binary)).toMatch(/ services\/api \/opt\/py312\/bin\/python$/);
    const unset = await inferredNodes(
      { 'services/api/project.json': projectJson('other-target', '/opt/py312/bin/python'), 'services/api/api.spec': SPEC },
      { python: '/usr/bin/python3.11' },
    );
    expect(keyCommand(unset['services/api'].targets?.['build-binary'])).toMatch(/ services\/api \/usr\/bin\/python3\.11$/);
    const none = await inferredNodes({ 'services/api/project.json': '{"name": "api"}', 'services/api/api.spec': SPEC });
    expect(keyCommand(none['services/api'].targets?.['build-binary'])).toMatch(/ services\/api$/);
  });

  it('reads the environment option, nx.json targetDefaults and every configuration, as Nx merges them for the build', async () => {
    const project = JSON.stringify({
      name: 'api',
      targets: { 'build-binary': { options: { environment: 'managed' }, configurations: { py312: { python: '/opt/py312/bin/python', environment: 'interpreter' }, ci: {} } } },
    });
    const nodes = await inferredNodes(
      { 'services/api/project.json': project, 'services/api/api.spec': SPEC },
      {},
      { targetDefaults: { 'build-binary': { options: { python: 'tools/py311/bin/python' }, configurations: { old: { python: 'python3.9' } } } } },
    );
    const command = keyCommand(nodes['services/api'].targets?.['build-binary']);
    // The target's options (targetDefaults' python, the project's environment), then each distinct configuration.
    expect(command).toMatch(/ services\/api '\{"python":"tools\/py311\/bin\/python","environment":"managed"\}' '\{"python":"python3\.9","environment":"managed"\}' '\{"python":"\/opt\/py312\/bin\/python","environment":"interpreter"\}'$/);
    // targetDefaults keyed by the executor count too.
    const byExecutor = await inferredNodes({ 'services/api/api.spec': SPEC }, {}, { targetDefaults: { 'stigmer:build-binary': { options: { python: '/opt/py/bin/python' } } } });
    expect(keyCommand(byExecutor['services/api'].targets?.['build-binary'])).toMatch(/ services\/api \/opt\/py\/bin\/python$/);
  });

  it("passes the plugin's python option to the builds, so that build and key use the same interpreter", async () => {
    const nodes = await inferredNodes({ 'services/api/api.spec': SPEC }, { python: '/usr/bin/python3.11' });
    expect((nodes['services/api'].targets?.['build-binary'] as { options: unknown }).options).toEqual({ spec: 'api.spec', python: '/usr/bin/python3.11' });
  });
});
