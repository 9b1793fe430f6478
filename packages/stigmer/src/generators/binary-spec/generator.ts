import * as path from 'node:path';
import { formatFiles, GeneratorCallback, getProjects, logger, Tree } from '@nx/devkit';
import { BinaryLayout, RUNTIMES, getRuntime, RuntimeId, workspaceSourceFiles } from '../../runtimes';
import { StigmerError } from '../../utils/errors';
import { addMissingIgnoreEntries } from '../../utils/gitignore';
import { run } from '../../utils/process';
import { treeFiles } from '../../utils/workspace-files';
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
    throw new StigmerError(`no runtime recognised in ${root || '.'} (${RUNTIMES.map((r) => r.detectionHint).join('; ')}): pass --runtime.`);
  }
  if (options.layout && !(runtime.layouts ?? ['onefile']).includes(options.layout)) {
    throw new StigmerError(`--layout ${options.layout} is not a layout of ${runtime.displayName}, which builds ${(runtime.layouts ?? ['onefile']).join(' or ')}: drop --layout.`);
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
    { sources: workspaceSourceFiles(), tracked: await gitTrackedFiles(tree.root, root) },
  );
  if (added.length) logger.info(`stigmer: ignored ${added.join(', ')} in ${path.posix.join(root || '.', '.gitignore')}`);
  await initGenerator(tree, { skipFormat: true });
  if (!options.skipFormat) await formatFiles(tree);
  return afterWrite;
}

/**
 * The project --project names: a project.json/package.json project (the devkit's view), else a folder that a
 * runtime makes a project through its own project file alone (a pyproject.toml, under its declared name).
 */
function findProject(tree: Tree, requested: string): { name: string; root: string } {
  const known = getProjects(tree);
  const config = known.get(requested);
  if (config) return { name: requested, root: config.root === '.' ? '' : config.root };
  const files = treeFiles(tree);
  let lastError: unknown;
  for (const detection of RUNTIMES.flatMap((r) => (r.projectDetection ? [r.projectDetection] : []))) {
    try {
      return detection.find(requested, detection.projects(detection.treeProjectFiles(files), files, () => new Set(known.keys())), [...known.keys()]);
    } catch (error) {
      lastError = error;
    }
  }
  // A runtime may know why Nx does not list a folder that declares the name (npm workspaces), with the fix.
  for (const runtime of RUNTIMES) {
    const why = runtime.unlistedProject?.(files, requested);
    if (why) throw new StigmerError(why);
  }
  // The last runtime's message (it lists close names where it can).
  throw lastError ?? new StigmerError(`project '${requested}' does not exist: check the name with "nx show projects".`);
}

/** Workspace paths git tracks under a folder; empty outside a git repository or without git. */
async function gitTrackedFiles(workspaceRoot: string, folder: string): Promise<Set<string>> {
  const listed = await run('git', ['ls-files', '-z', '--', folder || '.'], { cwd: workspaceRoot }).catch(() => undefined);
  if (!listed || listed.exitCode !== 0) return new Set();
  return new Set(listed.stdout.split('\0').filter(Boolean));
}

export default binarySpecGenerator;
