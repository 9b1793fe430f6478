import { joinPath, WorkspaceFiles } from '../../../utils/workspace-files';

export interface LocalPackages {
  /** Folder (workspace-relative) that goes on PyInstaller's path: the library root, or its src/. */
  importRoot: string;
  /** Top-level packages found there (graphton). */
  packages: string[];
  /** Every module of those packages, including the ones only ever loaded by name (graphton.plugins.echo). */
  modules: string[];
}

const SKIPPED_DIRS = new Set(['tests', 'test', 'docs', 'build', 'dist', '__pycache__', 'node_modules']);

/** The importable packages of a local library folder (flat or src layout), by reading its files. */
export function findLocalPackages(files: WorkspaceFiles, libraryDir: string): LocalPackages {
  const srcDir = joinPath(libraryDir, 'src');
  const importRoot = files.list(srcDir).some((e) => e.isDir && isPackage(files, joinPath(srcDir, e.name))) ? srcDir : libraryDir;
  const packages = files
    .list(importRoot)
    .filter((e) => e.isDir && !SKIPPED_DIRS.has(e.name) && !e.name.startsWith('.') && isPackage(files, joinPath(importRoot, e.name)))
    .map((e) => e.name)
    .sort();
  const modules = packages.flatMap((pkg) => modulesUnder(files, joinPath(importRoot, pkg), pkg));
  return { importRoot, packages, modules };
}

function isPackage(files: WorkspaceFiles, dir: string): boolean {
  return files.isFile(joinPath(dir, '__init__.py'));
}

function modulesUnder(files: WorkspaceFiles, dir: string, moduleName: string): string[] {
  const result = [moduleName];
  for (const entry of files.list(dir)) {
    if (entry.isDir) {
      if (!SKIPPED_DIRS.has(entry.name) && isPackage(files, joinPath(dir, entry.name))) {
        result.push(...modulesUnder(files, joinPath(dir, entry.name), `${moduleName}.${entry.name}`));
      }
    } else if (entry.name.endsWith('.py') && entry.name !== '__init__.py' && !/^(test_.*|.*_test|conftest)\.py$/.test(entry.name)) {
      result.push(`${moduleName}.${entry.name.slice(0, -3)}`);
    }
  }
  return result.sort();
}
