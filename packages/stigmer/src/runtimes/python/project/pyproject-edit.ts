import { PYINSTALLER_PYTHON, PYINSTALLER_VERSION } from '../pyinstaller/pyinstaller';
import type { PythonProjectStyle } from './project-metadata';
import { appendTable, appendToArray, insertIntoTable, parseToml, TomlTable, verifyEdit } from './toml';

export interface DevDependencyEdit {
  /** The new file text, or undefined when PyInstaller is already declared. */
  text?: string;
  /** Where it went, for the generator's log: "[tool.poetry.group.dev.dependencies]". */
  location: string;
}

/** The Python range PyInstaller is declared for: the service's lower bound, capped by what PyInstaller supports. */
export function pyinstallerPythonRange(serviceConstraint: string | undefined): string {
  const lower = serviceConstraint?.split(',').map((c) => c.trim()).find((c) => c.startsWith('>='));
  return `${lower ?? PYINSTALLER_PYTHON.split(',')[0]},${PYINSTALLER_PYTHON.split(',')[1]}`;
}

/**
 * Declares PyInstaller as a development dependency the way the service declares dependencies: a Poetry
 * group, a PEP 735 dependency group (uv, or any file that already has [dependency-groups]), or a PEP 621
 * optional dependency. The Python constraint keeps Poetry's and uv's resolvers happy where the service
 * allows Pythons PyInstaller does not support.
 */
export function addPyInstallerDevDependency(text: string, style: PythonProjectStyle, serviceConstraint: string | undefined): DevDependencyEdit {
  const doc = parseToml(text, 'pyproject.toml');
  const pythonRange = pyinstallerPythonRange(serviceConstraint);
  if (style === 'poetry') {
    const location = '[tool.poetry.group.dev.dependencies]';
    if (declaresPoetry(doc)) return { location };
    const value = { version: `^${PYINSTALLER_VERSION}`, python: pythonRange };
    const line = `pyinstaller = { version = "${value.version}", python = "${value.python}" }`;
    const edited = insertIntoTable(text, ['tool', 'poetry', 'group', 'dev', 'dependencies'], line) ?? appendTable(text, location, [line]);
    return { location, text: verifyEdit(text, edited, (d) => setPath(d, ['tool', 'poetry', 'group', 'dev', 'dependencies', 'pyinstaller'], value)) };
  }
  // python_version is major.minor only: ">=3.12.1" must become "3.12" or the marker is false on every 3.12.x.
  const lowest = pythonRange.replace(/^>=/, '').split(',')[0].split('.').slice(0, 2).join('.');
  const requirement = `pyinstaller>=${PYINSTALLER_VERSION},<7; python_version >= "${lowest}" and python_version < "3.15"`;
  const item = JSON.stringify(requirement);
  const useGroups = style === 'uv' || doc['dependency-groups'] !== undefined;
  const [location, table, key] = useGroups
    ? ['[dependency-groups] dev', ['dependency-groups'], 'dev']
    : ['[project.optional-dependencies] build', ['project', 'optional-dependencies'], 'build'];
  const groups = getPath(doc, table);
  if (declaresInLists(groups)) return { location };
  const change = (d: TomlTable) => {
    const current = getPath(d, [...table, key]);
    setPath(d, [...table, key], [...(Array.isArray(current) ? current : []), requirement]);
  };
  const edited = Array.isArray(groups?.[key])
    ? appendToArray(text, table, key, item)
    : groups
      ? insertIntoTable(text, table, `${key} = [${item}]`)
      : appendTable(text, `[${table.join('.')}]`, [`${key} = [${item}]`]);
  if (edited === undefined) {
    throw new Error(`could not find where to add PyInstaller in pyproject.toml: add ${requirement} to ${location} by hand.`);
  }
  return { location, text: verifyEdit(text, edited, change) };
}

function declaresPoetry(doc: TomlTable): boolean {
  const poetry = doc.tool?.poetry ?? {};
  const groups = Object.values<any>(poetry.group ?? {}).map((g) => g?.dependencies ?? {});
  return [poetry.dependencies ?? {}, poetry['dev-dependencies'] ?? {}, ...groups].some((deps) =>
    Object.keys(deps).some((name) => name.toLowerCase() === 'pyinstaller'),
  );
}

function declaresInLists(groups: Record<string, unknown> | undefined): boolean {
  return Object.values(groups ?? {}).some((list) => Array.isArray(list) && list.some((item) => typeof item === 'string' && /^\s*pyinstaller\b/i.test(item)));
}

function getPath(doc: TomlTable, keys: string[]): any {
  return keys.reduce<any>((node, key) => (node && typeof node === 'object' ? node[key] : undefined), doc);
}

function setPath(doc: TomlTable, keys: string[], value: unknown): void {
  let node = doc;
  for (const key of keys.slice(0, -1)) node = node[key] ??= {};
  node[keys[keys.length - 1]] = value;
}
