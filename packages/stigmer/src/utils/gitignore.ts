import type { Tree } from '@nx/devkit';
import ignore from 'ignore';
import { joinPath } from './workspace-files';

/**
 * Appends to `<folder>/.gitignore` the entries whose sample path no .gitignore from the workspace root
 * down to that folder ignores yet. Keeps the file's content, line endings and comments; returns what it added.
 */
export function addMissingIgnoreEntries(tree: Tree, folder: string, entries: { entry: string; sample: string }[]): string[] {
  const missing = entries.filter(({ sample }) => !isIgnored(tree, joinPath(folder, sample)));
  if (!missing.length) return [];
  const file = joinPath(folder, '.gitignore');
  const existing = tree.exists(file) ? (tree.read(file, 'utf-8') ?? '') : '';
  const eol = existing.includes('\r\n') ? '\r\n' : '\n';
  const prefix = existing === '' || existing.endsWith('\n') ? existing : existing + eol;
  const header = existing.includes('# stigmer') ? [] : ['# stigmer: binaries and build work files'];
  tree.write(file, prefix + [...header, ...missing.map((m) => m.entry)].join(eol) + eol);
  return missing.map((m) => m.entry);
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
