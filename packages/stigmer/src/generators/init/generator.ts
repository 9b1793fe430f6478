import { formatFiles, NxJsonConfiguration, readNxJson, Tree, updateNxJson } from '@nx/devkit';
import { RUNTIMES } from '../../runtimes';
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
  }
  addProductionInputs(nxJson);
  affectOnlyDependentsOfUpdatedPackages(nxJson);
  updateNxJson(tree, nxJson);
  // Work files of the runtimes live in <workspace>/.stigmer; each runtime adds what its builds leave beside the
  // sources (unignored, those would enter the cache keys and turn a first build's side effects into a miss).
  addMissingIgnoreEntries(tree, '', [{ entry: '.stigmer/', sample: '.stigmer/work' }, ...RUNTIMES.flatMap((runtime) => runtime.workspaceIgnoreEntries ?? [])]);
  if (!options.skipFormat) await formatFiles(tree);
}

/**
 * A binary depends on the *production* files of the libraries it uses: the plugin keys dependencies on
 * `^production`. Like the @nx plugins' init generators, this defines `production` when the workspace has
 * none and adds each runtime's test-file patterns to it, so a library's tests never rebuild its services' binaries.
 */
function addProductionInputs(nxJson: NxJsonConfiguration): void {
  const namedInputs = (nxJson.namedInputs ??= {});
  namedInputs.default ??= ['{projectRoot}/**/*'];
  const production = (namedInputs.production ??= ['default']);
  for (const pattern of RUNTIMES.flatMap((runtime) => runtime.productionExclusions ?? [])) if (!production.includes(pattern)) production.push(pattern);
}

/**
 * By default Nx marks every project affected when the lock file changes (@nx/js's failsafe), so a
 * package-lock.json change would rebuild every Python binary. "auto" (Nx 19.5 and later, so every Nx this
 * plugin supports) marks only the projects that depend on the packages that changed. A choice already in
 * nx.json is kept.
 */
function affectOnlyDependentsOfUpdatedPackages(nxJson: NxJsonConfiguration): void {
  const pluginsConfig = (nxJson.pluginsConfig ??= {});
  const jsConfig = (pluginsConfig['@nx/js'] ??= {}) as Record<string, unknown>;
  jsConfig.projectsAffectedByDependencyUpdates ??= 'auto';
}

export default initGenerator;
