import { logger, readNxJson, Tree, updateNxJson } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { initGenerator, PLUGIN_NAME } from './generator';
import { getRuntime } from '../../runtimes';

const PYTHON_TEST_INPUTS = getRuntime('python').productionExclusions ?? [];
const GO_TEST_INPUTS = getRuntime('go').productionExclusions ?? [];

function stigmerPlugins(tree: Tree) {
  return (readNxJson(tree)?.plugins ?? []).filter((p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN_NAME);
}

describe('initGenerator', () => {
  let tree: Tree;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
  });

  it('registers the plugin with the default target names', async () => {
    await initGenerator(tree, { skipFormat: true });
    expect(stigmerPlugins(tree)).toEqual([
      { plugin: 'stigmer', options: { buildTargetName: 'build-binary', testTargetName: 'test-binary', cleanTargetName: 'clean-binary' } },
    ]);
  });

  it('keeps the other plugins and the rest of nx.json', async () => {
    const nxJson = readNxJson(tree)!;
    updateNxJson(tree, { ...nxJson, plugins: ['@nx/js', { plugin: '@nx/jest/plugin', options: { targetName: 'test' } }] });
    await initGenerator(tree, { skipFormat: true });
    const after = readNxJson(tree)!;
    expect(after.plugins?.slice(0, 2)).toEqual(['@nx/js', { plugin: '@nx/jest/plugin', options: { targetName: 'test' } }]);
    expect(after.targetDefaults).toEqual(nxJson.targetDefaults);
    expect(stigmerPlugins(tree)).toHaveLength(1);
  });

  it('registers the plugin once, also when run twice or when listed as a string', async () => {
    await initGenerator(tree, { skipFormat: true });
    await initGenerator(tree, { skipFormat: true });
    expect(stigmerPlugins(tree)).toHaveLength(1);

    const other = createTreeWithEmptyWorkspace();
    updateNxJson(other, { ...readNxJson(other)!, plugins: ['stigmer'] });
    await initGenerator(other, { skipFormat: true });
    expect(readNxJson(other)?.plugins).toEqual(['stigmer']);
  });

  it('ignores .stigmer/ in the root .gitignore once', async () => {
    tree.write('.gitignore', 'node_modules\n');
    await initGenerator(tree, { skipFormat: true });
    await initGenerator(tree, { skipFormat: true });
    const lines = (tree.read('.gitignore', 'utf-8') as string).split('\n');
    expect(lines[0]).toBe('node_modules');
    expect(lines.filter((l) => l === '.stigmer/')).toHaveLength(1);
  });

  it('changes nothing the second time', async () => {
    await initGenerator(tree, { skipFormat: true });
    const nxJson = tree.read('nx.json', 'utf-8');
    const gitignore = tree.read('.gitignore', 'utf-8');
    await initGenerator(tree, { skipFormat: true });
    expect(tree.read('nx.json', 'utf-8')).toBe(nxJson);
    expect(tree.read('.gitignore', 'utf-8')).toBe(gitignore);
  });

  it('defines production without the Python test files where the workspace has Python, and extends an existing one without losing it', async () => {
    const fresh = createTreeWithEmptyWorkspace();
    const nxJson = readNxJson(fresh) ?? {};
    delete nxJson.namedInputs;
    updateNxJson(fresh, nxJson);
    fresh.write('services/api/pyproject.toml', '[project]\nname = "api"\n');
    await initGenerator(fresh, { skipFormat: true });
    expect(readNxJson(fresh)?.namedInputs?.production).toEqual(['default', ...PYTHON_TEST_INPUTS]);

    const existing = createTreeWithEmptyWorkspace();
    updateNxJson(existing, { ...readNxJson(existing), namedInputs: { default: ['{projectRoot}/**/*'], production: ['default', '!{projectRoot}/**/*.spec.ts'] } });
    existing.write('services/api/pyproject.toml', '[project]\nname = "api"\n');
    await initGenerator(existing, { skipFormat: true });
    await initGenerator(existing, { skipFormat: true });
    expect(readNxJson(existing)?.namedInputs?.production).toEqual(['default', '!{projectRoot}/**/*.spec.ts', ...PYTHON_TEST_INPUTS]);
  });

  it('adds each runtime\'s test files only where the workspace has its projects (Go *_test.go beside Python tests)', async () => {
    const both = createTreeWithEmptyWorkspace();
    const nxJson = readNxJson(both) ?? {};
    delete nxJson.namedInputs;
    updateNxJson(both, nxJson);
    both.write('services/api/pyproject.toml', '[project]\nname = "api"\n');
    both.write('services/gateway/go.mod', 'module example.com/gateway\n\ngo 1.22\n');
    await initGenerator(both, { skipFormat: true });
    expect(readNxJson(both)?.namedInputs?.production).toEqual(expect.arrayContaining(['default', ...PYTHON_TEST_INPUTS, ...GO_TEST_INPUTS]));
    expect(GO_TEST_INPUTS).toContain('!{projectRoot}/**/*_test.go');

    const goOnly = createTreeWithEmptyWorkspace();
    goOnly.write('services/gateway/go.mod', 'module example.com/gateway\n\ngo 1.22\n');
    await initGenerator(goOnly, { skipFormat: true });
    const production = readNxJson(goOnly)?.namedInputs?.production ?? [];
    expect(production).toEqual(expect.arrayContaining(GO_TEST_INPUTS));
    expect(production).not.toEqual(expect.arrayContaining([PYTHON_TEST_INPUTS[1]]));
  });

  it('leaves namedInputs and @nx/js options alone in a workspace without Python, and with --skipNamedInputs', async () => {
    const nodeOnly = createTreeWithEmptyWorkspace();
    const before = readNxJson(nodeOnly)!;
    nodeOnly.write('apps/web/package.json', '{ "name": "web" }');
    await initGenerator(nodeOnly, { skipFormat: true });
    expect(readNxJson(nodeOnly)?.namedInputs).toEqual(before.namedInputs);
    expect(readNxJson(nodeOnly)?.pluginsConfig).toEqual(before.pluginsConfig);

    const skipped = createTreeWithEmptyWorkspace();
    const original = readNxJson(skipped)!;
    skipped.write('services/api/pyproject.toml', '[project]\nname = "api"\n');
    await initGenerator(skipped, { skipFormat: true, skipNamedInputs: true });
    expect(readNxJson(skipped)?.namedInputs).toEqual(original.namedInputs);
    expect(readNxJson(skipped)?.pluginsConfig).toEqual(original.pluginsConfig);
    expect(stigmerPlugins(skipped)).toHaveLength(1);
  });

  it('prints what it changed, and nothing the second time', async () => {
    tree.write('services/api/pyproject.toml', '[project]\nname = "api"\n');
    const info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    try {
      await initGenerator(tree, { skipFormat: true });
      const printed = info.mock.calls.map((c) => String(c[0])).join('\n');
      expect(printed).toMatch(/registered the stigmer plugin in nx\.json/);
      expect(printed).toMatch(/production named input/);
      expect(printed).toMatch(/ignored .*\.stigmer\/.*in \.gitignore/);
      info.mockClear();
      await initGenerator(tree, { skipFormat: true });
      expect(info).not.toHaveBeenCalled();
    } finally {
      info.mockRestore();
    }
  });

  it('creates a minimal nx.json with the plugin in a workspace that has none (npm init + npm i -D nx)', async () => {
    const bare = createTreeWithEmptyWorkspace();
    bare.delete('nx.json');
    expect(bare.exists('nx.json')).toBe(false);
    await initGenerator(bare, { skipFormat: true });
    expect(readNxJson(bare)).toEqual({
      $schema: './node_modules/nx/schemas/nx-schema.json',
      plugins: [{ plugin: 'stigmer', options: { buildTargetName: 'build-binary', testTargetName: 'test-binary', cleanTargetName: 'clean-binary' } }],
    });
  });

  it('ignores .nx/cache and .nx/workspace-data where .gitignore does not yet', async () => {
    tree.write('.gitignore', 'node_modules\n');
    await initGenerator(tree, { skipFormat: true });
    const lines = (tree.read('.gitignore', 'utf-8') as string).split('\n');
    expect(lines).toEqual(expect.arrayContaining(['.nx/cache', '.nx/workspace-data']));

    const covered = createTreeWithEmptyWorkspace();
    covered.write('.gitignore', 'node_modules\n.nx/\n');
    await initGenerator(covered, { skipFormat: true });
    expect(covered.read('.gitignore', 'utf-8')).not.toMatch(/^\.nx\/(cache|workspace-data)$/m);
  });
});
