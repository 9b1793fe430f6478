import * as path from 'node:path';
import { formatFiles, GeneratorCallback, getProjects, logger, Tree } from '@nx/devkit';
import { findPyprojectProject, pyprojectProjects, treePyprojectFiles } from '../../core/project';
import { BinaryLayout, RUNTIMES, getRuntime, RuntimeId } from '../../runtimes';
import { StigmerError } from '../../utils/errors';
import { addMissingIgnoreEntries } from '../../utils/gitignore';
import { run } from '../../utils/process';
import { treeFiles } from '../../utils/workspace-files';
import { unlistedPackageProject } from '../../runtimes/node/unlisted-package';
import { initGenerator } from '../init/generator';

export interface BinarySpecOptions {
  project: string;
  runtime?: RuntimeId;
  name?: string;
  entry?: string;
  force?: boolean;
  update?: boolean;
  /** Python: one executable (default) or one folder shipped as a .tar.gz. */
  layout?: BinaryLayout;
  skipFormat?: boolean;
}

/** `nx g stigmer:binary-spec --project <service>`: everything a service needs to become a binary. */
export async function binarySpecGenerator(tree: Tree, options: BinarySpecOptions): Promise<GeneratorCallback | void> {
  const { name: projectName, root } = findProject(tree, options.project);
  const runtime = options.runtime ? getRuntime(options.runtime) : RUNTIMES.find((r) => r.detect(tree, root));
  if (!runtime) {
    throw new StigmerError(`no runtime recognised in ${root || '.'} (a Python service has pyproject.toml, requirements.txt or main.py): pass --runtime.`);
  }
  if (options.layout === 'onedir' && runtime.id !== 'python') {
    throw new StigmerError(`--layout onedir is for Python services (PyInstaller's one-folder build); a ${runtime.displayName} binary is always one file: drop --layout.`);
  }
  const binaryName = options.name ?? projectName.replace(/^@[^/]+\//, '').replace(/[^A-Za-z0-9._-]/g, '-');
  const afterWrite = await runtime.generateSpec({
    tree,
    project: { name: projectName, root, absRoot: path.join(tree.root, root), workspaceRoot: tree.root },
    binaryName,
    entry: options.entry,
    force: options.force === true,
    update: options.update === true,
    layout: options.layout,
  });
  // Outputs live in dist/ and build/ only: no entry for the binary's bare name, which would hide a package
  // folder of the same name (binary api, package api/) from git and from Nx's file map.
  const added = addMissingIgnoreEntries(
    tree,
    root,
    [
      { entry: 'dist/', sample: `dist/${binaryName}` },
      { entry: 'build/', sample: `build/${binaryName}` },
    ],
    { tracked: await gitTrackedFiles(tree.root, root) },
  );
  if (added.length) logger.info(`stigmer: ignored ${added.join(', ')} in ${path.posix.join(root || '.', '.gitignore')}`);
  await initGenerator(tree, { skipFormat: true });
  if (!options.skipFormat) await formatFiles(tree);
  return afterWrite;
}

/**
 * The project --project names: a project.json/package.json project (the devkit's view), else a folder with
 * only a pyproject.toml, which the inference plugin makes a project under its declared name.
 */
function findProject(tree: Tree, requested: string): { name: string; root: string } {
  const known = getProjects(tree);
  const config = known.get(requested);
  if (config) return { name: requested, root: config.root === '.' ? '' : config.root };
  const files = treeFiles(tree);
  try {
    const found = findPyprojectProject(requested, pyprojectProjects(treePyprojectFiles(files), files, () => new Set(known.keys())), [...known.keys()]);
    return { name: found.name, root: found.root };
  } catch (error) {
    // A package.json that declares the name but that Nx does not list (no npm workspaces): say why, with the fix.
    const unlisted = unlistedPackageProject(files, requested);
    if (unlisted) throw new StigmerError(unlisted.message);
    throw error;
  }
}

/** Workspace paths git tracks under a folder; empty outside a git repository or without git. */
async function gitTrackedFiles(workspaceRoot: string, folder: string): Promise<Set<string>> {
  const listed = await run('git', ['ls-files', '-z', '--', folder || '.'], { cwd: workspaceRoot }).catch(() => undefined);
  if (!listed || listed.exitCode !== 0) return new Set();
  return new Set(listed.stdout.split('\0').filter(Boolean));
}

export default binarySpecGenerator;
