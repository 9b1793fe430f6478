import { logger } from '@nx/devkit';
import { StigmerError } from '../../utils/errors';
import { joinPath, treeFiles, WorkspaceFiles } from '../../utils/workspace-files';
import type { GenerateSpecRequest } from '../types';
import { DEFAULT_GO_PLATFORMS } from './go-spec';

/** Whether a folder holds a non-test Go file of package main. */
function isMainPackage(files: WorkspaceFiles, dir: string): boolean {
  return files.list(dir).some((e) => !e.isDir && e.name.endsWith('.go') && !e.name.endsWith('_test.go') && /^\s*package\s+main\b/m.test(files.read(joinPath(dir, e.name)) ?? ''));
}

/**
 * The main package of a module, in go build's form: the module root ("."), else cmd/<binary name>/, else the
 * only main package under cmd/. Several under cmd/ and none named like the binary: the user picks with --entry.
 */
export function findMainPackage(files: WorkspaceFiles, root: string, binaryName: string): string {
  if (isMainPackage(files, root)) return '.';
  const commands = files.list(joinPath(root, 'cmd')).filter((e) => e.isDir && isMainPackage(files, joinPath(root, 'cmd', e.name))).map((e) => e.name);
  if (commands.includes(binaryName)) return `./cmd/${binaryName}`;
  if (commands.length === 1) return `./cmd/${commands[0]}`;
  if (commands.length > 1) throw new StigmerError(`${root || '.'} has several main packages (${commands.map((c) => `cmd/${c}`).join(', ')}): pass --entry ./cmd/<one> (and --name for its binary).`);
  throw new StigmerError(`no main package in ${root || '.'} (looked for package main in the module root and in cmd/*/): pass --entry with the main package's folder, such as ./cmd/server.`);
}

/** Writes `<name>.go-binary.json` beside go.mod; an existing spec is the user's and kept unless --force. */
export async function generateGoSpec({ tree, project, binaryName, entry, force }: GenerateSpecRequest): Promise<void> {
  const files = treeFiles(tree);
  let main = entry ? (entry.startsWith('.') ? entry : `./${entry}`).replace(/\/$/, '') : findMainPackage(files, project.root, binaryName);
  if (main === './') main = '.';
  if (entry && !isMainPackage(files, joinPath(project.root, main))) {
    throw new StigmerError(`${joinPath(project.root, main) || '.'} holds no package main: pass --entry with the main package's folder, relative to ${project.root || '.'}.`);
  }
  const specFile = joinPath(project.root, `${binaryName}.go-binary.json`);
  const content = `${JSON.stringify({ name: binaryName, main, platforms: DEFAULT_GO_PLATFORMS, variables: { 'main.version': '{version}' } }, null, 2)}\n`;
  const existing = files.read(specFile);
  if (existing !== undefined && existing !== content && !force) {
    logger.warn(`stigmer: ${specFile} exists: kept it as it is (run again with --force to overwrite it).`);
    return;
  }
  tree.write(specFile, content);
}
