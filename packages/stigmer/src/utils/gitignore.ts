import { logger, Tree } from '@nx/devkit';
import ignore from 'ignore';
import { joinPath } from './workspace-files';

/** Nx's own project file: a source wherever it is, whatever the runtimes say. */
const NX_SOURCE_FILES = ['project.json'];

/**
 * Files that are sources wherever they are (.gitignore patterns, e.g. "*.ext"), and folder names that hold
 * installed dependencies, never sources: the runtimes' (runtimes/index.ts gathers them). An ignore entry that
 * matches a source file hides code from git and Nx.
 */
export interface SourceFiles {
  patterns: string[];
  dependencyFolders: string[];
}

export interface IgnoreEntry {
  /** The line to write, relative to the folder, e.g. "dist/". */
  entry: string;
  /** A path (relative to the folder) the entry must ignore; when something already ignores it, nothing is written. */
  sample: string;
}

/**
 * Appends to `<folder>/.gitignore` the entries whose sample path no .gitignore from the workspace root
 * down to that folder ignores yet. Keeps the file's content, line endings and comments; returns what it added.
 * An entry that would ignore a file git tracks (`tracked`, workspace paths) or a source file of the tree
 * (e.g. a package folder named build/) is not written: a warning says which file and what to do instead.
 */
export function addMissingIgnoreEntries(tree: Tree, folder: string, entries: IgnoreEntry[], options: { sources: SourceFiles; tracked?: ReadonlySet<string> }): string[] {
  const missing = entries
    .filter(({ sample }) => !isIgnored(tree, joinPath(folder, sample)))
    .filter(({ entry, sample }) => {
      const hidden = sourcesHiddenBy(tree, folder, entry, options.tracked ?? new Set(), options.sources);
      if (!hidden.length) return true;
      logger.warn(
        `stigmer: not adding '${entry}' to ${joinPath(folder, '.gitignore') || '.gitignore'}: it would hide ${hidden.slice(0, 3).join(', ')}${hidden.length > 3 ? ` and ${hidden.length - 3} more` : ''} from git and Nx; ignore ${joinPath(folder, sample)} with a narrower entry yourself.`,
      );
      return false;
    });
  if (!missing.length) return [];
  const file = joinPath(folder, '.gitignore');
  const existing = tree.exists(file) ? (tree.read(file, 'utf-8') ?? '') : '';
  const eol = existing.includes('\r\n') ? '\r\n' : '\n';
  const prefix = existing === '' || existing.endsWith('\n') ? existing : existing + eol;
  const header = existing.includes('# stigmer') ? [] : ['# stigmer: binaries and build work files'];
  tree.write(file, prefix + [...header, ...missing.map((m) => m.entry)].join(eol) + eol);
  return missing.map((m) => m.entry);
}

/**
 * Workspace paths under `folder` that `entry` (a line of `<folder>/.gitignore`) would ignore and that are
 * sources: tracked by git, or source files of the tree that no .gitignore ignores yet.
 */
export function sourcesHiddenBy(tree: Tree, folder: string, entry: string, tracked: ReadonlySet<string>, sources: SourceFiles): string[] {
  const rules = ignore().add(entry);
  const prefix = folder ? `${folder}/` : '';
  const inFolder = (p: string) => (prefix ? p.startsWith(prefix) : true);
  const sourceFile = ignore().add([...NX_SOURCE_FILES, ...sources.patterns]);
  const skipped = new Set(sources.dependencyFolders);
  const candidates = new Set([...[...tracked].filter(inFolder), ...treeFiles(tree, folder, skipped).filter((p) => sourceFile.ignores(p))]);
  return [...candidates]
    .filter((p) => rules.ignores(p.slice(prefix.length)))
    .filter((p) => tracked.has(p) || !isIgnored(tree, p))
    .sort();
}

/** Files of the tree under a folder; dependency folders and hidden folders (.git, .venv, .nx, ...) are skipped. */
function treeFiles(tree: Tree, folder: string, skipped: ReadonlySet<string>): string[] {
  const files: string[] = [];
  for (const name of tree.children(folder)) {
    const child = joinPath(folder, name);
    if (tree.isFile(child)) files.push(child);
    else if (!skipped.has(name) && !name.startsWith('.')) files.push(...treeFiles(tree, child, skipped));
  }
  return files;
}

/** Whether any .gitignore between the workspace root and the path ignores it (negations included). */
export function isIgnored(tree: Tree, workspacePath: string): boolean {
  // As git does: a deeper .gitignore's decision (ignore or negation) overrides a higher one's.
  const parts = workspacePath.split('/');
  let ignored = false;
  for (let depth = 0; depth < parts.length; depth++) {
    const file = joinPath(parts.slice(0, depth).join('/'), '.gitignore');
    if (!tree.exists(file)) continue;
    const rules = ignore().add(tree.read(file, 'utf-8') ?? '');
    const relative = parts.slice(depth);
    // Each folder on the way down, then the path itself: "dist/" rules apply to everything inside dist.
    for (let k = 1; k <= relative.length; k++) {
      const verdict = rules.test(relative.slice(0, k).join('/') + (k < relative.length ? '/' : ''));
      if (verdict.ignored) ignored = true;
      else if (verdict.unignored) ignored = false;
    }
  }
  return ignored;
}
