import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateDependencies, DependencyType, logger, RawProjectGraphDependency } from '@nx/devkit';
import { declaresPythonDependencies, localDependencyPaths } from '../runtimes/python/local-dependencies';
import type { StigmerPluginOptions } from './targets';

const warned = new Set<string>();

/**
 * Graph edges from a service to the workspace projects it depends on through its language's own files
 * (pyproject.toml path dependencies, uv sources, file: references, requirements `-e ../lib`), so that
 * `nx affected` and cache keys follow them. Reads only the changed files Nx hands over; spawns nothing.
 * A path that resolves to no project root gives no edge and one warning.
 */
export const createDependencies: CreateDependencies<StigmerPluginOptions> = (_options, context) => {
  const projectByRoot = new Map(Object.entries(context.projects).map(([name, config]) => [normalizeRoot(config.root), name]));
  const dependencies: RawProjectGraphDependency[] = [];
  for (const [source, files] of Object.entries(context.filesToProcess.projectFileMap)) {
    for (const { file } of files) {
      const fileName = path.posix.basename(file);
      if (!declaresPythonDependencies(fileName)) continue;
      let paths: string[];
      try {
        paths = localDependencyPaths(fileName, fs.readFileSync(path.join(context.workspaceRoot, file), 'utf8'));
      } catch (error) {
        warnOnce(`${file}`, `stigmer: ${file} could not be read for local dependencies (${error instanceof Error ? error.message : error})`);
        continue;
      }
      for (const localPath of paths) {
        const targetRoot = normalizeRoot(path.posix.join(path.posix.dirname(file), localPath));
        const target = projectByRoot.get(targetRoot);
        if (!target) {
          warnOnce(`${file}:${localPath}`, `stigmer: ${file} points at ${localPath} (${targetRoot || '.'}), which is not a project of this workspace: no graph edge for it.`);
          continue;
        }
        if (target !== source) dependencies.push({ source, target, type: DependencyType.static, sourceFile: file });
      }
    }
  }
  return dependencies;
};

function normalizeRoot(root: string): string {
  const normalized = path.posix.normalize(root.replace(/\\/g, '/')).replace(/\/+$/, '');
  return normalized === '.' ? '' : normalized;
}

function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  logger.warn(message);
}
