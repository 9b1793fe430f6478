import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateDependenciesContext, DependencyType, RawProjectGraphDependency } from '@nx/devkit';
import { importSpecifiers, importTargets, JS_SOURCE, TsconfigResolver } from './workspace-imports';

/**
 * Specifiers per source file and content hash, for the life of the process (the Nx daemon keeps it): a
 * full rescan after a lock file or tsconfig change then only resolves again, it does not re-read sources.
 */
const specifierCache = new Map<string, { hash: string; specifiers: string[] }>();

/** Files whose change can move where any import leads: every source is scanned again. */
const RESOLUTION_FILE = /(^|\/)(tsconfig[^/]*\.json|package\.json|package-lock\.json|pnpm-lock\.yaml|yarn\.lock|[^/]+\.sea\.json)$/;

/**
 * Graph edges for what an esbuild bundle follows, in a workspace with a Node service: every JavaScript or
 * TypeScript source of a project gets an edge to the workspace projects it imports (relative paths across
 * project roots, tsconfig `paths`/`baseUrl` aliases, package.json names) and to the npm packages it imports
 * (the lock file's external nodes). With `^default`, Nx then hashes those projects' files and those packages'
 * versions with their own dependencies, and nothing else of the lock file. Reads files, spawns nothing.
 */
export function nodeImportDependencies(
  context: CreateDependenciesContext,
  owningProject: (workspacePath: string) => string | undefined,
  warnOnce: (key: string, message: string) => void,
): RawProjectGraphDependency[] {
  const fileMap = context.fileMap.projectFileMap;
  const hasNodeService = Object.values(fileMap).some((files) => files.some(({ file }) => file.endsWith('.sea.json')));
  if (!hasNodeService) return [];
  const changed = [...Object.values(context.filesToProcess.projectFileMap).flat().map((f) => f.file), ...context.filesToProcess.nonProjectFiles.map((f) => f.file)];
  const everything = changed.some((file) => RESOLUTION_FILE.test(file));
  const toScan = everything ? fileMap : context.filesToProcess.projectFileMap;
  let packages: Map<string, string> | undefined;
  const graphContext = {
    workspaceRoot: context.workspaceRoot,
    tsconfig: new TsconfigResolver(context.workspaceRoot),
    owningProject,
    projectByPackage: (name: string) => (packages ??= packageNames(context.workspaceRoot, context.projects)).get(name),
    externalNode: (name: string) => (context.externalNodes?.[`npm:${name}`] ? `npm:${name}` : undefined),
  };
  const dependencies: RawProjectGraphDependency[] = [];
  for (const [source, files] of Object.entries(toScan)) {
    for (const { file, hash } of files) {
      if (!JS_SOURCE.test(file) || file.endsWith('.d.ts') || /(^|\/)(node_modules|dist|build)\//.test(file)) continue;
      const key = path.join(context.workspaceRoot, file);
      let specifiers = specifierCache.get(key)?.hash === hash ? specifierCache.get(key)?.specifiers : undefined;
      try {
        specifiers ??= importSpecifiers(fs.readFileSync(path.join(context.workspaceRoot, file), 'utf8'), file);
      } catch (error) {
        warnOnce(file, `stigmer: ${file} could not be read for imports (${error instanceof Error ? error.message : error}): no graph edges from it.`);
        continue;
      }
      if (hash) specifierCache.set(key, { hash, specifiers });
      for (const found of importTargets(file, specifiers, graphContext)) {
        if (found.unowned) {
          warnOnce(`${file}:${found.specifier}`, `stigmer: ${file} imports '${found.specifier}' from ${found.unowned}, which belongs to no project: add a project.json there so its changes rebuild the binaries that bundle it.`);
          continue;
        }
        if (found.target !== source) dependencies.push({ source, target: found.target, type: DependencyType.static, sourceFile: file });
      }
    }
  }
  return dependencies;
}

/** package.json name -> project, for workspace packages imported by name. */
function packageNames(workspaceRoot: string, projects: Record<string, { root: string }>): Map<string, string> {
  const names = new Map<string, string>();
  for (const [project, config] of Object.entries(projects)) {
    try {
      const name = JSON.parse(fs.readFileSync(path.join(workspaceRoot, config.root, 'package.json'), 'utf8')).name;
      if (typeof name === 'string' && config.root !== '' && config.root !== '.') names.set(name, project);
    } catch {
      // no package.json
    }
  }
  return names;
}
