import * as path from 'node:path';
import { DependencyType, RawProjectGraphDependency } from '@nx/devkit';
import { joinPath, WorkspaceFiles } from '../../utils/workspace-files';
import type { GraphEdgeContext } from '../types';
import { goImports, parseGoMod, parseGoWorkUses } from './go-files';

/**
 * The Go modules of the workspace: module path -> folder (workspace path). They are the go.mod files at project
 * roots and the folders the root go.work `use`s. Read from files only (nx-go runs `go list` here; a graph
 * plugin that spawns slows every Nx command).
 */
export function workspaceGoModules(projectRoots: string[], files: WorkspaceFiles): Map<string, string> {
  const modules = new Map<string, string>();
  const add = (dir: string) => {
    const module = parseGoMod(files.read(joinPath(dir, 'go.mod')) ?? '').module;
    if (module && !modules.has(module)) modules.set(module, joinPath(dir));
  };
  projectRoots.forEach(add);
  parseGoWorkUses(files.read('go.work') ?? '').forEach(add);
  return modules;
}

/** The workspace module an import path belongs to (the longest module path that prefixes it). */
export function moduleOfImport(importPath: string, modules: Map<string, string>): string | undefined {
  let best: string | undefined;
  for (const module of modules.keys()) {
    if ((importPath === module || importPath.startsWith(`${module}/`)) && (!best || module.length > best.length)) best = module;
  }
  return best;
}

/**
 * Edges from a Go project to the projects holding the local modules it uses: `replace ... => ../path` and
 * workspace modules required in its go.mod (sourceFile go.mod), and workspace modules its non-test sources
 * import (go.work makes them usable with no require; sourceFile the .go file). Test files give no edge:
 * a library used only by tests never rebuilds the binary.
 */
export function goDependencies(context: GraphEdgeContext): RawProjectGraphDependency[] {
  const edges: RawProjectGraphDependency[] = [];
  let modules: Map<string, string> | undefined;
  const workspaceModules = () => (modules ??= workspaceGoModules(context.projectRoots, context.files));
  const edge = (source: string, targetDir: string, file: string, why: string) => {
    const target = context.owningProject(targetDir);
    if (!target) {
      context.warnOnce(`${file}:${targetDir}`, `stigmer: ${file} uses ${why} (${targetDir || '.'}), which is in no project of this workspace: no graph edge for it.`);
      return;
    }
    if (target !== source) edges.push({ source, target, type: DependencyType.static, sourceFile: file });
  };
  for (const [source, changed] of Object.entries(context.changedFiles)) {
    for (const file of changed) {
      const name = path.posix.basename(file);
      if (name === 'go.mod') {
        const mod = parseGoMod(context.files.read(file) ?? '');
        const dir = path.posix.dirname(file);
        for (const [module, target] of mod.localReplace) {
          if (!path.isAbsolute(target)) edge(source, joinPath(dir, target), file, `${module} => ${target}`);
        }
        for (const module of mod.require.keys()) {
          const moduleDir = workspaceModules().get(module);
          if (moduleDir !== undefined && !mod.localReplace.has(module) && moduleDir !== joinPath(dir)) edge(source, moduleDir, file, module);
        }
      } else if (name.endsWith('.go') && !name.endsWith('_test.go')) {
        const imports = goImports(context.files.read(file) ?? '');
        if (!imports.some((i) => i.includes('.'))) continue;
        const own = context.owningProject(path.posix.dirname(file));
        for (const imported of imports) {
          const module = moduleOfImport(imported, workspaceModules());
          if (module === undefined) continue;
          const moduleDir = workspaceModules().get(module) as string;
          if (context.owningProject(moduleDir) !== own) edge(source, moduleDir, file, module);
        }
      }
    }
  }
  return edges;
}
