import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tree } from '@nx/devkit';

/**
 * Read-only access to workspace files by workspace-relative path, over a real folder or an Nx Tree,
 * so that logic that reads a service (metadata, local packages) is written once for the generator
 * (virtual tree) and for the executors and graph plugin (disk).
 */
export interface WorkspaceFiles {
  read(workspacePath: string): string | undefined;
  isFile(workspacePath: string): boolean;
  /** Names of the entries of a folder, with whether each is a folder; [] when it does not exist. */
  list(workspacePath: string): { name: string; isDir: boolean }[];
}

export function diskFiles(workspaceRoot: string): WorkspaceFiles {
  const abs = (p: string) => path.join(workspaceRoot, p);
  return {
    read: (p) => {
      try {
        return fs.readFileSync(abs(p), 'utf8');
      } catch {
        return undefined;
      }
    },
    isFile: (p) => {
      try {
        return fs.statSync(abs(p)).isFile();
      } catch {
        return false;
      }
    },
    list: (p) => {
      try {
        return fs.readdirSync(abs(p), { withFileTypes: true }).map((e) => ({ name: e.name, isDir: e.isDirectory() }));
      } catch {
        return [];
      }
    },
  };
}

export function treeFiles(tree: Tree): WorkspaceFiles {
  return {
    read: (p) => (tree.exists(p) && tree.isFile(p) ? tree.read(p, 'utf-8') ?? undefined : undefined),
    isFile: (p) => tree.exists(p) && tree.isFile(p),
    // The tree's root answers exists() with false: list it all the same.
    list: (p) => (joinPath(p) === '' || tree.exists(p) ? tree.children(joinPath(p)).map((name) => ({ name, isDir: !tree.isFile(joinPath(p, name)) })) : []),
  };
}

/** Joins workspace-relative paths with forward slashes and resolves `..`; '' is the workspace root. */
export function joinPath(...parts: string[]): string {
  const joined = path.posix.normalize(parts.filter((p) => p !== '' && p !== '.').join('/') || '.');
  return joined === '.' ? '' : joined.replace(/\/$/, '');
}
