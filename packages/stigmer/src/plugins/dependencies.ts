import * as path from 'node:path';
import { CreateDependencies, logger, RawProjectGraphDependency } from '@nx/devkit';
import { RUNTIMES } from '../runtimes';
import type { GraphEdgeContext } from '../runtimes/types';
import { diskFiles } from '../utils/workspace-files';
import type { StigmerPluginOptions } from './targets';

const warned = new Set<string>();

/**
 * Graph edges from a service to the workspace projects it depends on through its language's own files, so
 * that `nx affected` and cache keys follow them. Each runtime reads its own files (runtimes/<lang>/); this
 * only hands them the changed files and the project roots. Reads files, spawns nothing.
 */
export const createDependencies: CreateDependencies<StigmerPluginOptions> = (_options, context) => {
  const projectByRoot = new Map(Object.entries(context.projects).map(([name, config]) => [normalizeRoot(config.root), name]));
  const edgeContext: GraphEdgeContext = {
    nx: context,
    files: diskFiles(context.workspaceRoot),
    changedFiles: Object.fromEntries(Object.entries(context.filesToProcess.projectFileMap).map(([project, files]) => [project, files.map((f) => f.file)])),
    projectRoots: [...projectByRoot.keys()],
    owningProject: (workspacePath) => owningProject(workspacePath, projectByRoot),
    warnOnce,
  };
  const seen = new Set<string>();
  const dependencies: RawProjectGraphDependency[] = [];
  for (const runtime of RUNTIMES) {
    for (const edge of runtime.dependencies?.(edgeContext) ?? []) {
      const key = `${edge.source}\0${edge.target}\0${'sourceFile' in edge ? edge.sourceFile : ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      dependencies.push(edge);
    }
  }
  return dependencies;
};

/** The project whose root holds a workspace path (the deepest root wins). */
function owningProject(workspacePath: string, projectByRoot: Map<string, string>): string | undefined {
  let dir = normalizeRoot(workspacePath);
  for (;;) {
    const project = projectByRoot.get(dir);
    if (project !== undefined) return project;
    if (dir === '') return undefined;
    dir = path.posix.dirname(dir) === '.' ? '' : path.posix.dirname(dir);
  }
}

function normalizeRoot(root: string): string {
  const normalized = path.posix.normalize(root.replace(/\\/g, '/')).replace(/\/+$/, '');
  return normalized === '.' ? '' : normalized;
}

function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  logger.warn(message);
}
