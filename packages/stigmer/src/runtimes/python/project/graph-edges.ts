import * as path from 'node:path';
import { DependencyType, RawProjectGraphDependency } from '@nx/devkit';
import type { GraphEdgeContext } from '../../types';
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
      try {
        paths = localDependencyPaths(fileName, content);
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
    }
  }
  dependencies.push(...uvWorkspaceEdges(context, projectByRoot));
  return dependencies;
}

let uvEdgesMemo: { key: string; edges: RawProjectGraphDependency[] } | undefined;

/**
 * Edges to uv workspace members (`{ workspace = true }`). Whether one exists depends on other files than the
 * service's own: the root's `members` globs and each member's declared name. Nx reuses a file's edges while that
 * file is unchanged (also under the daemon), so these are computed from every pyproject.toml of the file map on
 * each graph computation, memoised on those files' hashes, and given without a source file (as "implicit"
 * edges, which Nx never carries over from an unchanged file).
 */
function uvWorkspaceEdges(context: GraphEdgeContext, projectByRoot: Map<string, string>): RawProjectGraphDependency[] {
  const { fileMap, workspaceRoot } = context.nx;
  const pyprojects: { file: string; hash: string; project?: string }[] = [];
  for (const [project, fileData] of Object.entries(fileMap.projectFileMap)) {
    for (const { file, hash } of fileData) if (path.posix.basename(file) === 'pyproject.toml') pyprojects.push({ file, hash, project });
  }
  for (const { file, hash } of fileMap.nonProjectFiles) if (path.posix.basename(file) === 'pyproject.toml') pyprojects.push({ file, hash });
  const key = JSON.stringify([workspaceRoot, pyprojects.map((p) => [p.file, p.hash, p.project ?? null]).sort(), [...projectByRoot].sort()]);
  if (uvEdgesMemo?.key === key) return uvEdgesMemo.edges;
  const edges: RawProjectGraphDependency[] = [];
  for (const { file, project: source } of pyprojects) {
    if (!source) continue;
    const content = context.files.read(file);
    let workspaceNames: string[];
    try {
      if (content === undefined) throw new Error('not readable');
      workspaceNames = uvWorkspaceDependencies('pyproject.toml', content);
    } catch (error) {
      context.warnOnce(file, `stigmer: ${file} could not be read for local dependencies (${error instanceof Error ? error.message : error})`);
      continue;
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
      if (target !== source && !edges.some((e) => e.source === source && e.target === target)) edges.push({ source, target, type: DependencyType.implicit });
    }
  }
  uvEdgesMemo = { key, edges };
  return edges;
}

function normalizeRoot(root: string): string {
  const normalized = path.posix.normalize(root.replace(/\\/g, '/')).replace(/\/+$/, '');
  return normalized === '.' ? '' : normalized;
}
