import * as path from 'node:path';
import { joinPath, WorkspaceFiles } from '../../utils/workspace-files';

/**
 * A package.json (outside node_modules and hidden folders) that declares `requested` (its name, with or without
 * an npm scope) while Nx does not see it as a project: Nx makes package.json projects only from the root
 * package.json's `workspaces` (or pnpm-workspace.yaml). Returns the file and the one-line fix, or undefined.
 */
export function unlistedPackageProject(files: WorkspaceFiles, requested: string): { file: string; message: string } | undefined {
  const file = findPackageJson(files, '', requested);
  if (!file) return undefined;
  const folder = path.posix.dirname(file);
  const glob = path.posix.dirname(folder) === '.' ? folder : `${path.posix.dirname(folder)}/*`;
  return {
    file,
    message:
      `${file} declares '${requested}', but Nx sees package.json projects only through the workspaces of the root package.json, ` +
      `and none lists ${folder}: add "workspaces": ["${glob}"] to package.json and run npm install (or add ${folder}/project.json with { "name": "${requested}" }), then run this again.`,
  };
}

function findPackageJson(files: WorkspaceFiles, dir: string, requested: string): string | undefined {
  for (const entry of files.list(dir)) {
    const child = joinPath(dir, entry.name);
    if (entry.isDir) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const found = findPackageJson(files, child, requested);
      if (found) return found;
    } else if (entry.name === 'package.json' && dir !== '') {
      let name: unknown;
      try {
        name = JSON.parse(files.read(child) ?? '{}').name;
      } catch {
        continue;
      }
      if (typeof name === 'string' && (name === requested || name.replace(/^@[^/]+\//, '') === requested)) return child;
    }
  }
  return undefined;
}
