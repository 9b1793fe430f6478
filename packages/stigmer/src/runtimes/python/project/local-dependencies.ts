import * as path from 'node:path';
import { normalizeDistName, parseRequirement, readRequirements } from './requirements';
import { parseToml, TomlTable } from './toml';
import { joinPath, WorkspaceFiles } from '../../../utils/workspace-files';

/** Files that can declare local Python dependencies, by base name. */
export function declaresPythonDependencies(fileName: string): boolean {
  return fileName === 'pyproject.toml' || /^requirements[\w.-]*\.(txt|in)$/.test(fileName);
}

/**
 * Local paths a dependency file points at, in every group: Poetry path dependencies (main, dev, any group),
 * uv sources with a path, PEP 621 / PEP 735 `name @ file:...` references, and `-e ../lib` / `../lib`
 * lines of requirements files. Paths are relative to the file's folder. File text in, paths out.
 */
export function localDependencyPaths(fileName: string, content: string): string[] {
  if (fileName !== 'pyproject.toml') {
    return readRequirements(fileName, (f) => (f === fileName ? content : undefined))
      .map((d) => d.localPath)
      .filter((p): p is string => !!p);
  }
  const doc = parseToml(content, fileName);
  const paths: string[] = [];
  const poetry = doc.tool?.poetry ?? {};
  const poetryTables: TomlTable[] = [
    poetry.dependencies,
    poetry['dev-dependencies'],
    ...Object.values<any>(poetry.group ?? {}).map((g) => g?.dependencies),
  ].filter(Boolean);
  for (const table of poetryTables) {
    for (const spec of Object.values<any>(table)) {
      for (const item of Array.isArray(spec) ? spec : [spec]) if (item && typeof item === 'object' && item.path) paths.push(String(item.path));
    }
  }
  for (const source of Object.values<any>(doc.tool?.uv?.sources ?? {})) if (source?.path) paths.push(String(source.path));
  const project = doc.project ?? {};
  const requirementLists = [
    project.dependencies,
    ...Object.values<any>(project['optional-dependencies'] ?? {}),
    ...Object.values<any>(doc['dependency-groups'] ?? {}),
  ].filter(Array.isArray);
  for (const list of requirementLists) {
    for (const item of list) {
      if (typeof item !== 'string') continue;
      const localPath = parseRequirement(item)?.localPath;
      if (localPath) paths.push(localPath);
    }
  }
  return [...new Set(paths.map((p) => p.replace(/\\/g, '/').replace(/\/+$/, '')))].filter((p) => !path.posix.isAbsolute(p));
}

/** Dependencies a pyproject.toml takes from its uv workspace (`[tool.uv.sources] name = { workspace = true }`). */
export function uvWorkspaceDependencies(fileName: string, content: string): string[] {
  if (fileName !== 'pyproject.toml') return [];
  const sources = parseToml(content, fileName).tool?.uv?.sources ?? {};
  return Object.entries<any>(sources)
    .filter(([, source]) => source?.workspace === true)
    .map(([name]) => normalizeDistName(name));
}

/** The distribution name a pyproject.toml declares (PEP 621 or Poetry), normalised. */
export function declaredDistributionName(content: string): string | undefined {
  const doc = parseToml(content, 'pyproject.toml');
  const name = doc.project?.name ?? doc.tool?.poetry?.name;
  return typeof name === 'string' ? normalizeDistName(name) : undefined;
}

/** A uv workspace: its root folder and its members' folders by normalised distribution name (workspace-relative). */
export interface UvWorkspace {
  root: string;
  /** Globbed and read on first use, once: callers that only need the root (cache inputs) never walk the members. */
  readonly members: Map<string, string>;
}

/** Workspaces already found through one WorkspaceFiles (one graph computation, one build), by root folder. */
const foundWorkspaces = new WeakMap<WorkspaceFiles, Map<string, UvWorkspace>>();

/**
 * The uv workspace a folder belongs to, as uv finds it: the nearest pyproject.toml at or above the folder (up to the
 * Nx workspace root) with a [tool.uv.workspace] table, whose `members` globs (less `exclude`) name the member
 * folders; the root is a member too when it declares a project. Each member is keyed by the name its
 * pyproject.toml declares, PEP 503-normalised. Paths are workspace-relative, posix; undefined when none.
 */
export function findUvWorkspace(files: WorkspaceFiles, folder: string): UvWorkspace | undefined {
  for (let dir = joinPath(folder); ; dir = parentOf(dir)) {
    const text = files.read(joinPath(dir, 'pyproject.toml'));
    const table = text === undefined ? undefined : tryParse(text)?.tool?.uv?.workspace;
    if (table && typeof table === 'object') {
      const known = foundWorkspaces.get(files) ?? new Map<string, UvWorkspace>();
      foundWorkspaces.set(files, known);
      if (!known.has(dir)) known.set(dir, lazyWorkspace(files, dir, table));
      return known.get(dir);
    }
    if (dir === '') return undefined;
  }
}

function lazyWorkspace(files: WorkspaceFiles, root: string, table: TomlTable): UvWorkspace {
  let members: Map<string, string> | undefined;
  return {
    root,
    get members() {
      return (members ??= memberFolders(files, root, table));
    },
  };
}

function memberFolders(files: WorkspaceFiles, root: string, table: TomlTable): Map<string, string> {
  const excluded = globAll(files, root, stringList(table.exclude));
  const folders = [root, ...globAll(files, root, stringList(table.members))].filter((member) => !excluded.has(member));
  const members = new Map<string, string>();
  for (const member of folders) {
    const memberText = files.read(joinPath(member, 'pyproject.toml'));
    const name = memberText === undefined ? undefined : tryDeclaredName(memberText);
    if (name && !members.has(name)) members.set(name, member);
  }
  return members;
}

function parentOf(dir: string): string {
  return joinPath(path.posix.dirname(dir));
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function tryParse(text: string): TomlTable | undefined {
  try {
    return parseToml(text, 'pyproject.toml');
  } catch {
    return undefined;
  }
}

function tryDeclaredName(text: string): string | undefined {
  try {
    return declaredDistributionName(text);
  } catch {
    return undefined;
  }
}

/** Folders under `base` that the globs match (`*`, `?`, `[...]` within a name, `**` across folders). */
function globAll(files: WorkspaceFiles, base: string, globs: string[]): Set<string> {
  const found = new Set<string>();
  for (const glob of globs) {
    const segments = glob.replace(/\\/g, '/').split('/').filter((s) => s !== '' && s !== '.');
    for (const match of globFrom(files, base, segments)) found.add(match);
  }
  return found;
}

function globFrom(files: WorkspaceFiles, dir: string, segments: string[]): string[] {
  if (segments.length === 0) return [dir];
  const [segment, ...rest] = segments;
  if (segment === '**') {
    const deeper = files.list(dir).filter((e) => e.isDir && !e.name.startsWith('.') && e.name !== 'node_modules');
    return [...globFrom(files, dir, rest), ...deeper.flatMap((e) => globFrom(files, joinPath(dir, e.name), segments))];
  }
  if (!/[*?[]/.test(segment)) return globFrom(files, joinPath(dir, segment), rest);
  const pattern = segmentPattern(segment);
  return files
    .list(dir)
    .filter((e) => e.isDir && pattern.test(e.name) && (segment.startsWith('.') || !e.name.startsWith('.')))
    .flatMap((e) => globFrom(files, joinPath(dir, e.name), rest));
}

function segmentPattern(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    const close = c === '[' ? segment.indexOf(']', i + 2) : -1;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (close > 0) {
      source += `[${segment.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
