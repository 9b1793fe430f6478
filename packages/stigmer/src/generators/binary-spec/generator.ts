import * as path from 'node:path';
import { formatFiles, logger, readProjectConfiguration, Tree } from '@nx/devkit';
import { RUNTIMES, getRuntime, RuntimeId } from '../../runtimes';
import { StigmerError } from '../../utils/errors';
import { addMissingIgnoreEntries } from '../../utils/gitignore';
import { initGenerator } from '../init/generator';

export interface BinarySpecOptions {
  project: string;
  runtime?: RuntimeId;
  name?: string;
  entry?: string;
  force?: boolean;
  update?: boolean;
  skipFormat?: boolean;
}

/** `nx g stigmer:binary-spec --project <service>`: everything a service needs to become a binary. */
export async function binarySpecGenerator(tree: Tree, options: BinarySpecOptions): Promise<void> {
  let config;
  try {
    config = readProjectConfiguration(tree, options.project);
  } catch {
    throw new StigmerError(`project '${options.project}' does not exist: check the name with "nx show projects".`);
  }
  const root = config.root === '.' ? '' : config.root;
  const runtime = options.runtime ? getRuntime(options.runtime) : RUNTIMES.find((r) => r.detect(tree, root));
  if (!runtime) {
    throw new StigmerError(`no runtime recognised in ${root || '.'} (a Python service has pyproject.toml, requirements.txt or main.py): pass --runtime.`);
  }
  const binaryName = options.name ?? options.project.replace(/^@[^/]+\//, '').replace(/[^A-Za-z0-9._-]/g, '-');
  await runtime.generateSpec({
    tree,
    project: { name: options.project, root, absRoot: path.join(tree.root, root), workspaceRoot: tree.root },
    binaryName,
    entry: options.entry,
    force: options.force === true,
    update: options.update === true,
  });
  const added = addMissingIgnoreEntries(tree, root, [
    { entry: 'dist/', sample: `dist/${binaryName}` },
    { entry: 'build/', sample: `build/${binaryName}` },
    { entry: `/${binaryName}`, sample: binaryName },
  ]);
  if (added.length) logger.info(`stigmer: ignored ${added.join(', ')} in ${path.posix.join(root || '.', '.gitignore')}`);
  await initGenerator(tree, { skipFormat: true });
  if (!options.skipFormat) await formatFiles(tree);
}

export default binarySpecGenerator;
