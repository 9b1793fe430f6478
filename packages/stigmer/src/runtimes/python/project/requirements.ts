import * as path from 'node:path';

// Requirement lines and distribution names: what both the project reader (project-metadata.ts) and the graph's
// dependency-file reader (local-dependencies.ts) parse, kept apart so that neither imports the other.

export interface PythonDependency {
  /** Distribution name as declared (pyjwt, grpcio, graphton). */
  name: string;
  /** PEP 508 requirement for pip (undefined for local paths). */
  requirement?: string;
  /** Local path dependency, relative to the project root (posix separators). */
  localPath?: string;
  /** The file that declares it, relative to the project root. */
  declaredIn?: string;
  /** Installed only under a condition the requirement does not carry (Poetry's optional, python or platform keys). */
  conditional?: boolean;
}

/** Reads a file relative to the project root; undefined when it does not exist. */
export type ReadProjectFile = (relativePath: string) => string | undefined;

/** Normalised distribution name (PEP 503): "PyJWT" and "py_jwt" compare equal to "pyjwt" / "py-jwt". */
export function normalizeDistName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** One PEP 508 line; `name @ file:../lib` becomes a local path. */
export function parseRequirement(line: string): PythonDependency | undefined {
  const match = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(line);
  if (!match) return undefined;
  const name = match[1];
  const fileUrl = /@\s*file:(?:\/\/)?(\S+?)\s*(?:;|$)/.exec(line);
  if (fileUrl) return { name, localPath: toPosix(decodeURIComponent(fileUrl[1])) };
  return { name, requirement: line.trim() };
}

/** Requirements file lines: packages, `-e ../lib` and `../lib` local paths, `-r other.txt` includes. */
export function readRequirements(file: string, read: ReadProjectFile, seen = new Set<string>()): PythonDependency[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const text = read(file) ?? '';
  const base = path.posix.dirname(toPosix(file));
  const dependencies: PythonDependency[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    const include = /^(?:-r|--requirement)\s*=?\s*(\S+)/.exec(line);
    if (include) {
      dependencies.push(...readRequirements(path.posix.join(base, include[1]), read, seen));
      continue;
    }
    const editable = /^(?:-e|--editable)\s*=?\s*(\S+)/.exec(line);
    const target = editable ? editable[1] : line;
    if (/^(\.{1,2}\/|\/|file:)/.test(target)) {
      const localPath = toPosix(target.replace(/^file:(\/\/)?/, ''));
      dependencies.push({ name: path.posix.basename(localPath.replace(/\/+$/, '')), localPath });
      continue;
    }
    if (line.startsWith('-')) continue; // other pip options (--index-url, ...)
    const dependency = parseRequirement(line);
    if (dependency) dependencies.push(dependency);
  }
  return dependencies;
}

function toPosix(p: string): string {
  return String(p).replace(/\\/g, '/');
}
