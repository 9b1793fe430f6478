/**
 * Readers of Go's own files (go.mod, go.work, go.sum) and of the import and embed lines of Go sources. Pure
 * text in, facts out: the graph plugin runs them on every Nx command, where nothing may be spawned.
 */

export interface GoMod {
  module?: string;
  go?: string;
  toolchain?: string;
  /** module path -> version */
  require: Map<string, string>;
  /** Replacements whose target is a folder (./ or ../ or absolute): module path -> folder as written. */
  localReplace: Map<string, string>;
}

/** The directives of a go.mod or go.work, block form `require ( ... )` flattened: [verb, ...args] per line. */
function directives(content: string): string[][] {
  const result: string[][] = [];
  let block: string | undefined;
  for (const raw of content.split(/\r?\n/)) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (!line) continue;
    if (block) {
      if (line === ')') block = undefined;
      else result.push([block, ...words(line)]);
      continue;
    }
    const parts = words(line);
    if (parts.length === 2 && parts[1] === '(') block = parts[0];
    else result.push(parts);
  }
  return result;
}

/** Words of a line; Go allows "quoted" and `raw` strings for paths. */
function words(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

export function isLocalPath(target: string): boolean {
  return target.startsWith('./') || target.startsWith('../') || target === '.' || target === '..' || target.startsWith('/') || /^[A-Za-z]:[\\/]/.test(target);
}

export function parseGoMod(content: string): GoMod {
  const mod: GoMod = { require: new Map(), localReplace: new Map() };
  for (const [verb, ...args] of directives(content)) {
    if (verb === 'module') mod.module = args[0];
    else if (verb === 'go') mod.go = args[0];
    else if (verb === 'toolchain') mod.toolchain = args[0];
    else if (verb === 'require' && args.length >= 2) mod.require.set(args[0], args[1]);
    else if (verb === 'replace') {
      const arrow = args.indexOf('=>');
      const target = arrow >= 0 ? args[arrow + 1] : undefined;
      if (arrow > 0 && target && isLocalPath(target)) mod.localReplace.set(args[0], target);
    }
  }
  return mod;
}

/** The folders a go.work `use`s, as written (relative to the go.work's folder). */
export function parseGoWorkUses(content: string): string[] {
  return directives(content).filter(([verb]) => verb === 'use').map(([, dir]) => dir).filter(Boolean);
}

/** go.sum lines: "module version" -> h1 hash (the module's zip; the `/go.mod` lines are left out). */
export function parseGoSum(content: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of content.split(/\r?\n/)) {
    const [module, version, hash] = line.trim().split(/\s+/);
    if (module && version && hash && !version.endsWith('/go.mod')) sums.set(`${module} ${version}`, hash);
  }
  return sums;
}

/** Import paths of a Go source file (single and grouped imports, aliases and blank imports). */
export function goImports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '');
  const imports: string[] = [];
  for (const match of code.matchAll(/^\s*import\s*(\(([\s\S]*?)\)|[^\n]*)/gm)) {
    const body = match[2] ?? match[1];
    for (const spec of body.matchAll(/(?:^|\n|;)\s*(?:[A-Za-z_.][\w]*\s+)?"([^"]+)"/g)) imports.push(spec[1]);
  }
  return imports;
}

/** Whether a Go source file imports "C" (needs cgo). */
export function importsC(source: string): boolean {
  return goImports(source).includes('C');
}
