import { readNxJson, Tree, updateNxJson } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { initGenerator, PLUGIN_NAME } from './generator';
import { RUNTIMES } from '../../runtimes';

const TEST_INPUTS = RUNTIMES.flatMap((runtime) => runtime.productionExclusions ?? []);

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

  it('defines production without the runtimes\' test files (Python tests, Go *_test.go), and extends an existing one without losing it', async () => {
    const fresh = createTreeWithEmptyWorkspace();
    const nxJson = readNxJson(fresh) ?? {};
    delete nxJson.namedInputs;
    updateNxJson(fresh, nxJson);
    await initGenerator(fresh, { skipFormat: true });
    expect(readNxJson(fresh)?.namedInputs?.production).toEqual(['default', ...TEST_INPUTS]);
    expect(TEST_INPUTS).toEqual(expect.arrayContaining(['!{projectRoot}/**/test_*.py', '!{projectRoot}/**/*_test.go']));

    const existing = createTreeWithEmptyWorkspace();
    updateNxJson(existing, { ...readNxJson(existing), namedInputs: { default: ['{projectRoot}/**/*'], production: ['default', '!{projectRoot}/**/*.spec.ts'] } });
    await initGenerator(existing, { skipFormat: true });
    await initGenerator(existing, { skipFormat: true });
    expect(readNxJson(existing)?.namedInputs?.production).toEqual(['default', '!{projectRoot}/**/*.spec.ts', ...TEST_INPUTS]);
  });

  it('sets @nx/js projectsAffectedByDependencyUpdates to "auto" unless nx.json already chose', async () => {
    await initGenerator(tree, { skipFormat: true });
    expect(readNxJson(tree)?.pluginsConfig?.['@nx/js']).toEqual({ projectsAffectedByDependencyUpdates: 'auto' });

    const chosen = createTreeWithEmptyWorkspace();
    updateNxJson(chosen, { ...readNxJson(chosen)!, pluginsConfig: { '@nx/js': { projectsAffectedByDependencyUpdates: ['app-*'], analyzeSourceFiles: false } } });
    await initGenerator(chosen, { skipFormat: true });
    expect(readNxJson(chosen)?.pluginsConfig?.['@nx/js']).toEqual({ projectsAffectedByDependencyUpdates: ['app-*'], analyzeSourceFiles: false });
  });
});
