import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateDependencies, DependencyType, logger, RawProjectGraphDependency } from '@nx/devkit';
import { declaresPythonDependencies, findUvWorkspace, localDependencyPaths, uvWorkspaceDependencies } from '../runtimes/python/local-dependencies';
import { diskFiles } from '../utils/workspace-files';
import { nodeImportDependencies } from '../runtimes/node/import-edges';
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
  for (const [source, changed] of Object.entries(context.filesToProcess.projectFileMap)) {
    for (const { file } of changed) {
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
  dependencies.push(...uvWorkspaceEdges(context, projectByRoot));
  // Node: what an esbuild bundle follows (tsconfig aliases, package names, relative paths, npm packages).
  dependencies.push(...nodeImportDependencies(context, (workspacePath) => owningProject(workspacePath, projectByRoot), warnOnce));
  return dependencies;
};

let uvEdgesMemo: { key: string; edges: RawProjectGraphDependency[] } | undefined;

/**
 * Edges to uv workspace members (`{ workspace = true }`). Whether one exists depends on other files than the
 * service's own: the root's `members` globs and each member's declared name. Nx reuses a file's edges while that
 * file is unchanged (also under the daemon), so these are computed from every pyproject.toml of the file map on
 * each graph computation, memoised on those files' hashes, and given without a source file (as "implicit"
 * edges, which Nx never carries over from an unchanged file).
 */
function uvWorkspaceEdges(context: Parameters<typeof createDependencies>[1], projectByRoot: Map<string, string>): RawProjectGraphDependency[] {
  const pyprojects: { file: string; hash: string; project?: string }[] = [];
  for (const [project, fileData] of Object.entries(context.fileMap.projectFileMap)) {
    for (const { file, hash } of fileData) if (path.posix.basename(file) === 'pyproject.toml') pyprojects.push({ file, hash, project });
  }
  for (const { file, hash } of context.fileMap.nonProjectFiles) if (path.posix.basename(file) === 'pyproject.toml') pyprojects.push({ file, hash });
  const key = JSON.stringify([context.workspaceRoot, pyprojects.map((p) => [p.file, p.hash, p.project ?? null]).sort(), [...projectByRoot].sort()]);
  if (uvEdgesMemo?.key === key) return uvEdgesMemo.edges;
  const files = diskFiles(context.workspaceRoot);
  const edges: RawProjectGraphDependency[] = [];
  for (const { file, project: source } of pyprojects) {
    if (!source) continue;
    let workspaceNames: string[];
    try {
      workspaceNames = uvWorkspaceDependencies('pyproject.toml', fs.readFileSync(path.join(context.workspaceRoot, file), 'utf8'));
    } catch (error) {
      warnOnce(`${file}`, `stigmer: ${file} could not be read for local dependencies (${error instanceof Error ? error.message : error})`);
      continue;
    }
    // The same resolution as the build's (project-metadata.ts): members of the nearest uv workspace, by declared name.
    const members = workspaceNames.length ? findUvWorkspace(files, path.posix.dirname(file))?.members : undefined;
    for (const name of workspaceNames) {
      const memberRoot = members?.get(name);
      const target = memberRoot === undefined ? undefined : projectByRoot.get(normalizeRoot(memberRoot));
      if (!target) {
        warnOnce(`${file}:${name}`, `stigmer: ${file} takes ${name} from the uv workspace, but no project of this workspace is a uv workspace member that declares it: no graph edge for it.`);
        continue;
      }
      if (target !== source && !edges.some((e) => e.source === source && e.target === target)) edges.push({ source, target, type: DependencyType.implicit });
    }
  }
  uvEdgesMemo = { key, edges };
  return edges;
}

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
