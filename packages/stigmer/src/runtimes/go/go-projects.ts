import * as path from 'node:path';
import { StigmerError } from '../../utils/errors';
import { joinPath, WorkspaceFiles } from '../../utils/workspace-files';
import type { DetectedProject, ProjectDetection } from '../types';

/** Folders whose go.mod files are no workspace modules: vendored code, test data, dependencies, outputs. */
const NOT_MODULE_FOLDERS = new Set(['vendor', 'testdata', 'node_modules', 'dist', 'build']);

function inModuleFolder(file: string): boolean {
  return file.split('/').slice(0, -1).every((folder) => !folder.startsWith('.') && !folder.startsWith('_') && !NOT_MODULE_FOLDERS.has(folder));
}

function hasProjectFile(dir: string, files: WorkspaceFiles): boolean {
  return files.isFile(joinPath(dir, 'project.json')) || files.isFile(joinPath(dir, 'package.json'));
}

/**
 * Every folder with a go.mod and no project.json/package.json is a project (a Go library a service takes through
 * `replace` needs no project.json to be a graph node), named after its folder; a name another project has, or
 * two folders share, becomes the folder's path so that Nx never sees one name twice.
 */
export function goModProjects(goModFiles: string[], files: WorkspaceFiles, takenNames: () => ReadonlySet<string>): DetectedProject[] {
  const found = goModFiles
    .map((file) => file.replace(/\\/g, '/'))
    .filter((file) => inModuleFolder(file))
    .map((file) => path.posix.dirname(file))
    .filter((root) => root !== '.' && !hasProjectFile(root, files))
    .map((root) => ({ name: path.posix.basename(root), root }));
  if (!found.length) return [];
  const taken = takenNames();
  const counts = new Map<string, number>();
  for (const { name } of found) counts.set(name, (counts.get(name) ?? 0) + 1);
  return found.map((p) => ((counts.get(p.name) ?? 0) > 1 || taken.has(p.name) ? { ...p, name: p.root } : p));
}

function treeGoModFiles(files: WorkspaceFiles, dir = ''): string[] {
  return files.list(dir).flatMap((entry) => {
    const child = joinPath(dir, entry.name);
    if (entry.isDir) return entry.name.startsWith('.') || NOT_MODULE_FOLDERS.has(entry.name) ? [] : treeGoModFiles(files, child);
    return entry.name === 'go.mod' ? [child] : [];
  });
}

export const goModDetection: ProjectDetection = {
  projectFile: 'go.mod',
  projects: goModProjects,
  treeProjectFiles: (files) => treeGoModFiles(files),
  find(requested, projects) {
    const match = projects.filter((p) => p.name === requested || p.root === requested || path.posix.basename(p.root) === requested);
    if (match.length === 1) return match[0];
    throw new StigmerError(`project '${requested}' does not exist${match.length > 1 ? ` as one Go module (${match.map((p) => p.root).join(', ')} match)` : ''}: check the name with "nx show projects".`);
  },
  // The folder's name, as `projects` gives it: a module path's last element may differ from it.
  nameOf: () => undefined,
};
