import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateDependencies, DependencyType, logger, RawProjectGraphDependency } from '@nx/devkit';
import { declaredDistributionName, declaresPythonDependencies, localDependencyPaths, uvWorkspaceDependencies } from '../runtimes/python/local-dependencies';
import { importSpecifiers, JS_SOURCE, packageName } from '../runtimes/node/local-imports';
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
  let projectByDistribution: Map<string, string> | undefined;
  const nodeServices = new Set(
    Object.entries(context.fileMap.projectFileMap)
      .filter(([project, files]) => files.some(({ file }) => file.endsWith('.sea.json') && path.posix.dirname(file) === normalizeRoot(context.projects[project]?.root ?? '')))
      .map(([project]) => project),
  );
  let projectByPackage: Map<string, string> | undefined;
  for (const [source, changed] of Object.entries(context.filesToProcess.projectFileMap)) {
    // Whether a source file is scanned depends on the project's spec: when the spec itself changed (or
    // appeared), every source of the project is scanned again, not only the changed ones.
    const specChanged = nodeServices.has(source) && changed.some(({ file }) => file.endsWith('.sea.json'));
    const files = specChanged ? context.fileMap.projectFileMap[source] ?? changed : changed;
    for (const { file } of files) {
      const fileName = path.posix.basename(file);
      // A Node service's binary bundles every workspace file its sources import: those projects are dependencies.
      if (nodeServices.has(source) && JS_SOURCE.test(fileName) && !file.includes('/node_modules/')) {
        let specifiers: string[] = [];
        try {
          specifiers = importSpecifiers(fs.readFileSync(path.join(context.workspaceRoot, file), 'utf8'));
        } catch {
          continue;
        }
        for (const specifier of specifiers) {
          const target = specifier.startsWith('.')
            ? owningProject(path.posix.join(path.posix.dirname(file), specifier), projectByRoot)
            : (projectByPackage ??= packageNames(context.workspaceRoot, context.projects)).get(packageName(specifier));
          if (target && target !== source) dependencies.push({ source, target, type: DependencyType.static, sourceFile: file });
        }
        continue;
      }
      if (!declaresPythonDependencies(fileName)) continue;
      let paths: string[];
      let workspaceNames: string[];
      try {
        const content = fs.readFileSync(path.join(context.workspaceRoot, file), 'utf8');
        paths = localDependencyPaths(fileName, content);
        workspaceNames = uvWorkspaceDependencies(fileName, content);
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
      for (const name of workspaceNames) {
        const target = (projectByDistribution ??= distributionNames(context.workspaceRoot, context.projects)).get(name);
        if (!target) {
          warnOnce(`${file}:${name}`, `stigmer: ${file} takes ${name} from the uv workspace, but no project of this workspace declares it: no graph edge for it.`);
          continue;
        }
        if (target !== source) dependencies.push({ source, target, type: DependencyType.static, sourceFile: file });
      }
    }
  }
  return dependencies;
};

/** Distribution name -> project, from the projects' pyproject.toml files (read only when a uv workspace source needs it). */
function distributionNames(workspaceRoot: string, projects: Record<string, { root: string }>): Map<string, string> {
  const names = new Map<string, string>();
  for (const [project, config] of Object.entries(projects)) {
    try {
      const name = declaredDistributionName(fs.readFileSync(path.join(workspaceRoot, config.root, 'pyproject.toml'), 'utf8'));
      if (name) names.set(name, project);
    } catch {
      // no or invalid pyproject.toml: not a Python project
    }
  }
  return names;
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

/** package.json name -> project, for workspace packages imported by name. */
function packageNames(workspaceRoot: string, projects: Record<string, { root: string }>): Map<string, string> {
  const names = new Map<string, string>();
  for (const [project, config] of Object.entries(projects)) {
    try {
      const name = JSON.parse(fs.readFileSync(path.join(workspaceRoot, config.root, 'package.json'), 'utf8')).name;
      if (typeof name === 'string') names.set(name, project);
    } catch {
      // no package.json
    }
  }
  return names;
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
