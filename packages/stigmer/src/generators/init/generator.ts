import { formatFiles, readNxJson, Tree, updateNxJson } from '@nx/devkit';
import { addMissingIgnoreEntries } from '../../utils/gitignore';

export const PLUGIN_NAME = 'stigmer';

export interface InitOptions {
  skipFormat?: boolean;
}

/** `nx add stigmer` / `nx g stigmer:init`: registers the inference plugin once and ignores .stigmer/. */
export async function initGenerator(tree: Tree, options: InitOptions = {}): Promise<void> {
  const nxJson = readNxJson(tree) ?? {};
  const plugins = nxJson.plugins ?? [];
  if (!plugins.some((p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN_NAME)) {
    nxJson.plugins = [
      ...plugins,
      { plugin: PLUGIN_NAME, options: { buildTargetName: 'build-binary', testTargetName: 'test-binary', cleanTargetName: 'clean-binary' } },
    ];
    updateNxJson(tree, nxJson);
  }
  // Managed Python environments live in <workspace>/.stigmer: never committed, never hashed by Nx.
  addMissingIgnoreEntries(tree, '', [{ entry: '.stigmer/', sample: '.stigmer/venvs' }]);
  if (!options.skipFormat) await formatFiles(tree);
}

export default initGenerator;
