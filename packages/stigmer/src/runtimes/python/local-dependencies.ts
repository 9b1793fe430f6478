import * as path from 'node:path';
import { normalizeDistName, parseRequirement, readRequirements } from './project-metadata';
import { parseToml, TomlTable } from './toml';

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
