import * as path from 'node:path';
import { StigmerError } from '../../../utils/errors';
import { joinPath, WorkspaceFiles } from '../../../utils/workspace-files';
import type { DetectedProject, ProjectDetection } from '../../types';
import { normalizeDistName } from './project-metadata';
import { parseToml } from './toml';

/**
 * Folders whose pyproject.toml files are no workspace projects: installed or vendored packages, virtual
 * environments (pyvenv.cfg is checked too) and tool caches. Hidden folders (.venv, .tox, .stigmer, .git) are skipped too.
 */
const NOT_PROJECT_FOLDERS = new Set(['node_modules', 'site-packages', 'dist-packages', '__pypackages__', '__pycache__']);

/** Whether a workspace path's folders may hold a project (a pure path check; see NOT_PROJECT_FOLDERS). */
export function inProjectFolder(workspacePath: string): boolean {
  const folders = workspacePath.replace(/\\/g, '/').split('/').slice(0, -1);
  return folders.every((folder) => !folder.startsWith('.') && !NOT_PROJECT_FOLDERS.has(folder));
}

/** What a pyproject.toml says about the project it makes: whether it declares one, and its name. */
export interface PyprojectDeclaration {
  /** A [project] or [tool.poetry] table: false for tool-settings-only files, uv workspace roots and files that do not parse. */
  declaresProject: boolean;
  /** `[project].name` or `[tool.poetry].name` as written. */
  name?: string;
}

// Parsed once per distinct content: the graph plugin runs on every Nx command (and for the life of the daemon).
const declarations = new Map<string, PyprojectDeclaration>();

export function readPyprojectDeclaration(content: string): PyprojectDeclaration {
  const known = declarations.get(content);
  if (known) return known;
  let declaration: PyprojectDeclaration;
  try {
    const doc = parseToml(content, 'pyproject.toml');
    const name = doc.project?.name ?? doc.tool?.poetry?.name;
    declaration = {
      declaresProject: typeof doc.project === 'object' || typeof doc.tool?.poetry === 'object',
      name: typeof name === 'string' && name.trim() ? name.trim() : undefined,
    };
  } catch {
    declaration = { declaresProject: false };
  }
  if (declarations.size > 10_000) declarations.clear();
  declarations.set(content, declaration);
  return declaration;
}

/** The project name a pyproject.toml gives its folder; undefined when it declares none or does not parse. */
export function pyprojectProjectName(content: string): string | undefined {
  return readPyprojectDeclaration(content).name;
}

export type PyprojectProject = DetectedProject;

/**
 * The projects that exist only through a pyproject.toml (no project.json or package.json beside it): what
 * `uv init --app` and `poetry new` make. The inference plugin creates these nodes; the generator, whose
 * devkit only sees project.json/package.json projects, finds them here. Names are the declared ones
 * (folder name when none); when two folders declare the same name, or another project has it already
 * (`takenNames`, asked only when there is a pyproject-only folder), the folder's path is its name, so that
 * Nx never sees one name twice.
 */
export function pyprojectProjects(pyprojectPaths: string[], files: WorkspaceFiles, takenNames: () => ReadonlySet<string> = () => new Set()): PyprojectProject[] {
  const declared: PyprojectProject[] = [];
  for (const file of pyprojectPaths) {
    const root = path.posix.dirname(file.replace(/\\/g, '/'));
    if (root === '.' || !inProjectFolder(file)) continue;
    if (hasProjectFile(root, files)) continue;
    if (isInsideVirtualEnv(root, files)) continue;
    const content = files.read(file);
    const declaration = content === undefined ? undefined : readPyprojectDeclaration(content);
    if (!declaration?.declaresProject) continue;
    declared.push({ name: declaration.name ?? path.posix.basename(root), root });
  }
  // A pyproject.toml inside another project's folder (a test fixture, a vendored copy) is no node of its
  // own: it would take its files out of that project's inputs, and a change there would no longer rebuild it.
  const roots = new Set(declared.map((p) => p.root));
  const found = declared.filter((p) => !ancestors(p.root).some((dir) => roots.has(dir) || hasProjectFile(dir, files)));
  if (!found.length) return [];
  // Nx refuses every command when two projects share a name: a name that a project.json/package.json
  // project already has, or that two folders declare, becomes the folder's path.
  const taken = takenNames();
  const counts = new Map<string, number>();
  for (const { name } of found) counts.set(name, (counts.get(name) ?? 0) + 1);
  return found.map((p) => ((counts.get(p.name) ?? 0) > 1 || taken.has(p.name) ? { ...p, name: p.root } : p));
}

function hasProjectFile(dir: string, files: WorkspaceFiles): boolean {
  return files.isFile(joinPath(dir, 'project.json')) || files.isFile(joinPath(dir, 'package.json'));
}

/** The folders above a workspace folder, the workspace root excluded: "a/b/c" -> ["a/b", "a"]. */
function ancestors(dir: string): string[] {
  const result: string[] = [];
  for (let parent = path.posix.dirname(dir); parent !== '.' && parent !== ''; parent = path.posix.dirname(parent)) result.push(parent);
  return result;
}

/** A folder inside a virtual environment (pyvenv.cfg in it or above), e.g. a venv's src/ of editable checkouts. */
function isInsideVirtualEnv(root: string, files: WorkspaceFiles): boolean {
  return [root, ...ancestors(root)].some((dir) => files.isFile(joinPath(dir, 'pyvenv.cfg')));
}

/** Every pyproject.toml of a generator's tree that may be a project (hidden, venv and output folders skipped). */
export function treePyprojectFiles(files: WorkspaceFiles, dir = ''): string[] {
  const result: string[] = [];
  for (const entry of files.list(dir)) {
    const child = joinPath(dir, entry.name);
    if (entry.isDir) {
      if (entry.name.startsWith('.') || NOT_PROJECT_FOLDERS.has(entry.name)) continue;
      result.push(...treePyprojectFiles(files, child));
    } else if (entry.name === 'pyproject.toml') {
      result.push(child);
    }
  }
  return result;
}

/**
 * The pyproject-only project the user means by `--project <name>`: its declared name or its folder name,
 * both compared PEP 503-normalised ("My_API" finds "my-api"). The error lists close candidates.
 */
export function findPyprojectProject(requested: string, projects: PyprojectProject[], otherNames: string[] = []): PyprojectProject {
  const wanted = normalizeDistName(requested);
  const byName = projects.filter((p) => normalizeDistName(p.name) === wanted);
  const byFolder = projects.filter((p) => normalizeDistName(path.posix.basename(p.root)) === wanted);
  const matches = byName.length ? byName : byFolder;
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    throw new StigmerError(`project '${requested}' is ambiguous: ${matches.map((p) => `${p.name} (${p.root})`).join(', ')} match: pass the exact name of one.`);
  }
  const candidates = closeNames(requested, [...otherNames, ...projects.map((p) => p.name)]);
  throw new StigmerError(
    `project '${requested}' does not exist: no project.json, package.json or pyproject.toml declares it${candidates.length ? ` (did you mean ${candidates.map((c) => `'${c}'`).join(', ')}?)` : ''}: check the name with "nx show projects".`,
  );
}

/** Names close to a requested one: containing it or contained, or within an edit distance of 2; at most 5. */
export function closeNames(requested: string, names: string[]): string[] {
  const wanted = normalizeDistName(requested);
  const scored = [...new Set(names)]
    .map((name) => {
      const n = normalizeDistName(name);
      const distance = n.includes(wanted) || wanted.includes(n) ? 0 : editDistance(n, wanted);
      return { name, distance };
    })
    .filter((c) => c.distance <= 2)
    .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name));
  return scored.slice(0, 5).map((c) => c.name);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * Folders with only a pyproject.toml are projects (what `uv init --app` and `poetry new` make): the inference
 * plugin names them, the generator finds them by their declared or folder name.
 */
export const pyprojectDetection: ProjectDetection = {
  projectFile: 'pyproject.toml',
  projects: pyprojectProjects,
  treeProjectFiles: (files) => treePyprojectFiles(files),
  find: findPyprojectProject,
  nameOf: pyprojectProjectName,
};
