import { formatFiles, logger, NxJsonConfiguration, readNxJson, Tree, updateNxJson, writeJson } from '@nx/devkit';
import { RUNTIMES, workspaceSourceFiles } from '../../runtimes';
import { StigmerError } from '../../utils/errors';
import { addMissingIgnoreEntries } from '../../utils/gitignore';
import { treeFiles } from '../../utils/workspace-files';

export const PLUGIN_NAME = 'stigmer';

export interface InitOptions {
  /** Leave nx.json's namedInputs as they are (no `production` created or extended). */
  skipNamedInputs?: boolean;
  skipFormat?: boolean;
}

/**
 * `nx add stigmer` / `nx g stigmer:init`: registers the inference plugin once, ignores what the plugin and Nx
 * write (.stigmer/, .nx/cache, .nx/workspace-data, what each runtime's builds leave beside the sources) and, for
 * each runtime the workspace has projects of, keeps their test files out of the `production` input the plugin keys dependencies on. Prints every change it makes.
 */
export async function initGenerator(tree: Tree, options: InitOptions = {}): Promise<void> {
  const changes: string[] = [];
  // A workspace made with `npm init` + `npm i -D nx` has no nx.json, and updateNxJson() silently writes
  // nothing there: create the minimal one `nx init` would, so the plugin is really registered.
  if (!tree.exists('nx.json')) {
    writeJson(tree, 'nx.json', { $schema: './node_modules/nx/schemas/nx-schema.json' });
    changes.push('created nx.json');
  }
  const nxJson = readNxJson(tree) ?? {};
  const plugins = nxJson.plugins ?? [];
  if (!plugins.some((p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN_NAME)) {
    nxJson.plugins = [
      ...plugins,
      { plugin: PLUGIN_NAME, options: { buildTargetName: 'build-binary', testTargetName: 'test-binary', cleanTargetName: 'clean-binary' } },
    ];
    changes.push('registered the stigmer plugin in nx.json');
  }
  if (!options.skipNamedInputs) changes.push(...addProductionInputs(tree, nxJson));
  updateNxJson(tree, nxJson);
  if (!(readNxJson(tree)?.plugins ?? []).some((p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN_NAME)) {
    throw new StigmerError(`nx.json does not list the stigmer plugin after writing it (is it read from an "extends" file?): add { "plugin": "stigmer" } to "plugins" yourself.`);
  }
  // Work files of the runtimes live in <workspace>/.stigmer; each runtime adds what its builds leave beside the
  // sources (unignored, those would enter the cache keys and turn a first build's side effects into a miss).
  // Nx's own cache and graph data are never sources.
  const ignored = addMissingIgnoreEntries(tree, '', [
    { entry: '.stigmer/', sample: '.stigmer/work' },
    ...RUNTIMES.flatMap((runtime) => runtime.workspaceIgnoreEntries ?? []),
    { entry: '.nx/cache', sample: '.nx/cache/terminalOutputs' },
    { entry: '.nx/workspace-data', sample: '.nx/workspace-data/project-graph.json' },
  ], { sources: workspaceSourceFiles() });
  if (ignored.length) changes.push(`ignored ${ignored.join(', ')} in .gitignore`);
  for (const change of changes) logger.info(`stigmer: ${change}`);
  if (!options.skipFormat) await formatFiles(tree);
}

/**
 * A binary depends on the *production* files of the libraries it uses: the plugin keys dependencies on
 * `^production`. For each runtime the workspace has projects of (by their project files: pyproject.toml,
 * go.mod), `production` is defined (as default, when the workspace has none) and that runtime's test-file
 * patterns are added, so a library's tests never rebuild its services' binaries. The patterns match only that
 * runtime's test files, so other projects' keys do not move. Returns what it changed.
 */
function addProductionInputs(tree: Tree, nxJson: NxJsonConfiguration): string[] {
  const files = treeFiles(tree);
  const exclusions = RUNTIMES.filter((runtime) => runtime.productionExclusions?.length && runtime.projectDetection?.treeProjectFiles(files).length).flatMap(
    (runtime) => runtime.productionExclusions ?? [],
  );
  if (!exclusions.length) return [];
  const namedInputs = (nxJson.namedInputs ??= {});
  const changes: string[] = [];
  if (!namedInputs.production) {
    namedInputs.default ??= ['{projectRoot}/**/*'];
    namedInputs.production = ['default'];
    changes.push('defined the production named input in nx.json (default files)');
  }
  const added = exclusions.filter((pattern) => !namedInputs.production.includes(pattern));
  namedInputs.production.push(...added);
  if (added.length) changes.push(`left test files out of the production named input (${added.join(', ')}); skip with --skipNamedInputs`);
  return changes;
}

export default initGenerator;
