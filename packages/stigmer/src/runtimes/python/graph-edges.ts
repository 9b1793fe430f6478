import * as path from 'node:path';
import { DependencyType, RawProjectGraphDependency } from '@nx/devkit';
import type { GraphEdgeContext } from '../types';
import { declaresPythonDependencies, findUvWorkspace, localDependencyPaths, uvWorkspaceDependencies } from './local-dependencies';

/**
 * Edges from pyproject.toml path dependencies, uv sources and workspace members, PEP 621 `file:` URLs and
 * requirements `-e ../lib` lines. A path that resolves to no project root gives no edge and one warning.
 */
export function pythonDependencies(context: GraphEdgeContext): RawProjectGraphDependency[] {
  const dependencies: RawProjectGraphDependency[] = [];
  const projectByRoot = new Map(Object.entries(context.nx.projects).map(([name, config]) => [normalizeRoot(config.root), name]));
  for (const [source, changed] of Object.entries(context.changedFiles)) {
    for (const file of changed) {
      const fileName = path.posix.basename(file);
      if (!declaresPythonDependencies(fileName)) continue;
      const content = context.files.read(file);
      if (content === undefined) {
        context.warnOnce(file, `stigmer: ${file} could not be read for local dependencies`);
        continue;
      }
      let paths: string[];
      let workspaceNames: string[];
      try {
        paths = localDependencyPaths(fileName, content);
        workspaceNames = uvWorkspaceDependencies(fileName, content);
      } catch (error) {
        context.warnOnce(file, `stigmer: ${file} could not be read for local dependencies (${error instanceof Error ? error.message : error})`);
        continue;
      }
      for (const localPath of paths) {
        const targetRoot = normalizeRoot(path.posix.join(path.posix.dirname(file), localPath));
        const target = projectByRoot.get(targetRoot);
        if (!target) {
          context.warnOnce(`${file}:${localPath}`, `stigmer: ${file} points at ${localPath} (${targetRoot || '.'}), which is not a project of this workspace: no graph edge for it.`);
          continue;
        }
        if (target !== source) dependencies.push({ source, target, type: DependencyType.static, sourceFile: file });
      }
      // The same resolution as the build's (project-metadata.ts): members of the nearest uv workspace, by declared name.
      const members = workspaceNames.length ? findUvWorkspace(context.files, path.posix.dirname(file))?.members : undefined;
      for (const name of workspaceNames) {
        const memberRoot = members?.get(name);
        const target = memberRoot === undefined ? undefined : projectByRoot.get(normalizeRoot(memberRoot));
        if (!target) {
          context.warnOnce(`${file}:${name}`, `stigmer: ${file} takes ${name} from the uv workspace, but no project of this workspace is a uv workspace member that declares it: no graph edge for it.`);
          continue;
        }
        if (target !== source) dependencies.push({ source, target, type: DependencyType.static, sourceFile: file });
      }
    }
  }
  return dependencies;
}

function normalizeRoot(root: string): string {
  const normalized = path.posix.normalize(root.replace(/\\/g, '/')).replace(/\/+$/, '');
  return normalized === '.' ? '' : normalized;
}
