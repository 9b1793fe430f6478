import * as path from 'node:path';
import { parseToml, TomlTable } from './toml';
import { poetryToPep440 } from './poetry-constraint';
import { findUvWorkspace, UvWorkspace } from './local-dependencies';
import { normalizeDistName, parseRequirement, PythonDependency, ReadProjectFile, readRequirements } from './requirements';
import { joinPath, WorkspaceFiles } from '../../../utils/workspace-files';

// Requirement lines live in requirements.ts (shared with local-dependencies.ts without an import cycle).
export { normalizeDistName, parseRequirement, readRequirements } from './requirements';
export type { PythonDependency, ReadProjectFile } from './requirements';

/** How a Python service declares its dependencies. */
export type PythonProjectStyle = 'poetry' | 'uv' | 'pep621' | 'requirements' | 'none';

export interface PythonProjectMetadata {
  style: PythonProjectStyle;
  name?: string;
  version?: string;
  /** The service's Python constraint as PEP 440 (">=3.11,<4.0"). */
  pythonConstraint?: string;
  /** Runtime dependencies only (no dev or test groups). */
  dependencies: PythonDependency[];
  /** Requirements files whose lines are runtime dependencies, relative to the project root. */
  requirementFiles: string[];
  /** Files whose content decides the environment: a change means reinstalling. */
  dependencyFiles: string[];
  /** The uv.lock that pins the service, relative to the project root: its own, or its uv workspace's (`../../uv.lock`). */
  uvLock?: string;
}

/** Where the service sits in the workspace, so that uv workspace members resolve to their folders. */
export interface ProjectLocation {
  files: WorkspaceFiles;
  /** The project root, workspace-relative. */
  projectRoot: string;
}

export const LOCK_FILES = ['poetry.lock', 'uv.lock', 'pdm.lock', 'Pipfile.lock'];
const REQUIREMENT_FILES = ['requirements.txt', 'requirements.in'];

/**
 * Reads what a service declares: pyproject.toml (Poetry, uv, PEP 621) and requirements files.
 * File reads only, so the graph plugin, the generator (on a virtual tree) and the executors share it.
 * Given the project's location, a uv workspace member it depends on (`{ workspace = true }`) becomes a local
 * path dependency to the member's folder, and the workspace's uv.lock pins the service.
 */
export function readPythonProject(read: ReadProjectFile, location?: ProjectLocation): PythonProjectMetadata {
  const pyprojectText = read('pyproject.toml');
  const requirementFiles = REQUIREMENT_FILES.filter((file) => read(file) !== undefined);
  const dependencyFiles = [
    ...(pyprojectText !== undefined ? ['pyproject.toml'] : []),
    ...requirementFiles,
    ...LOCK_FILES.filter((file) => read(file) !== undefined),
    ...['setup.py', 'setup.cfg'].filter((file) => read(file) !== undefined),
  ];
  const metadata: PythonProjectMetadata = {
    style: 'none',
    dependencies: [],
    requirementFiles,
    dependencyFiles,
  };
  if (read('uv.lock') !== undefined) metadata.uvLock = 'uv.lock';
  if (pyprojectText !== undefined) {
    const doc = parseToml(pyprojectText, 'pyproject.toml');
    const poetry = doc.tool?.poetry;
    const project = doc.project;
    const workspace = location ? uvWorkspaceOf(location) : undefined;
    const workspaceLock = workspace?.relative(joinPath(workspace.workspace.root, 'uv.lock'));
    if (workspaceLock && !metadata.uvLock && read(workspaceLock) !== undefined) {
      metadata.uvLock = workspaceLock;
      metadata.dependencyFiles.push(metadata.uvLock);
    }
    if (project && (project.dependencies || !poetry?.dependencies)) {
      readPep621(doc, metadata, read, workspace);
      // Poetry 2 reads [project]: it is still a Poetry service when Poetry configures or locks it.
      if (poetry || read('poetry.lock') !== undefined) metadata.style = 'poetry';
      if (poetry?.dependencies) addPoetrySources(poetry.dependencies, metadata);
    } else if (poetry) {
      readPoetry(poetry, metadata);
    }
  }
  metadata.dependencies.forEach((dependency) => (dependency.declaredIn = 'pyproject.toml'));
  for (const file of requirementFiles) {
    if (metadata.style === 'none') metadata.style = 'requirements';
    metadata.dependencies.push(...readRequirements(file, read).map((d) => ({ ...d, declaredIn: file })));
  }
  metadata.dependencies = dedupe(metadata.dependencies);
  return metadata;
}

function readPoetry(poetry: TomlTable, metadata: PythonProjectMetadata): void {
  metadata.style = 'poetry';
  metadata.name = poetry.name;
  metadata.version = poetry.version;
  for (const [name, spec] of Object.entries<any>(poetry.dependencies ?? {})) {
    if (name.toLowerCase() === 'python') {
      metadata.pythonConstraint = poetryToPep440(String(spec));
      continue;
    }
    metadata.dependencies.push(poetryDependency(name, spec));
  }
}

/**
 * Poetry 2 with [project]: [tool.poetry.dependencies] says where a dependency of [project] comes from. A path
 * entry makes it a local library (installed editable, collected, a graph edge), never a registry package; a
 * path entry [project] does not list is a local library of the service too.
 */
function addPoetrySources(poetryDependencies: Record<string, any>, metadata: PythonProjectMetadata): void {
  for (const [name, spec] of Object.entries(poetryDependencies)) {
    const local = [spec].flat().find((s) => s && typeof s === 'object' && s.path);
    if (!local || name.toLowerCase() === 'python') continue;
    const declared = metadata.dependencies.find((d) => normalizeDistName(d.name) === normalizeDistName(name));
    if (declared) {
      declared.localPath = toPosix(local.path);
      delete declared.requirement;
    } else metadata.dependencies.push({ name, localPath: toPosix(local.path) });
  }
}

function poetryDependency(name: string, spec: any): PythonDependency {
  if (typeof spec === 'string') return { name, requirement: `${name}${poetryToPep440(spec)}` };
  if (Array.isArray(spec)) return poetryDependency(name, spec[spec.length - 1]);
  if (spec?.path) return { name, localPath: toPosix(spec.path) };
  if (spec?.optional === true || spec?.python || spec?.platform) {
    return { ...poetryDependency(name, { ...spec, optional: undefined, python: undefined, platform: undefined }), conditional: true };
  }
  const extras = Array.isArray(spec?.extras) && spec.extras.length ? `[${spec.extras.join(',')}]` : '';
  const markers = spec?.markers ? `; ${spec.markers}` : '';
  if (spec?.git) {
    const ref = spec.rev ?? spec.tag ?? spec.branch;
    // Poetry takes scp-like SSH addresses (git@host:org/repo.git); pip wants git+ssh://git@host/org/repo.git.
    const scp = /^([\w.-]+@[\w.-]+):(?!\/\/)(.+)$/.exec(spec.git);
    const url = scp ? `ssh://${scp[1]}/${scp[2]}` : spec.git;
    const subdirectory = spec.subdirectory ? `#subdirectory=${spec.subdirectory}` : '';
    return { name, requirement: `${name}${extras} @ git+${url}${ref ? `@${ref}` : ''}${subdirectory}${markers}` };
  }
  if (spec?.url) return { name, requirement: `${name}${extras} @ ${spec.url}${markers}` };
  return { name, requirement: `${name}${extras}${poetryToPep440(String(spec?.version ?? '*'))}${markers}` };
}

/** The uv workspace the project is a member of, with paths relative to the project root. */
interface MemberOf {
  workspace: UvWorkspace;
  files: WorkspaceFiles;
  /** A path relative to the (Nx) workspace root, made relative to the project root. */
  relative(workspacePath: string): string;
}

function uvWorkspaceOf({ files, projectRoot }: ProjectLocation): MemberOf | undefined {
  const root = joinPath(projectRoot);
  const workspace = findUvWorkspace(files, root);
  if (!workspace || ![...workspace.members.values()].includes(root)) return undefined;
  return { workspace, files, relative: (p) => path.posix.relative(root, p) || '.' };
}

function readPep621(doc: TomlTable, metadata: PythonProjectMetadata, read: ReadProjectFile, member?: MemberOf): void {
  const project = doc.project ?? {};
  const uv = doc.tool?.uv;
  metadata.style = uv || metadata.uvLock ? 'uv' : 'pep621';
  metadata.name = project.name;
  metadata.version = project.version;
  metadata.pythonConstraint = project['requires-python'];
  const uvSources: Record<string, any> = uv?.sources ?? {};
  for (const requirement of project.dependencies ?? []) {
    const dependency = parseRequirement(String(requirement));
    if (!dependency) continue;
    const source = Object.entries(uvSources).find(([key]) => normalizeDistName(key) === normalizeDistName(dependency.name))?.[1];
    if (source?.path) dependency.localPath = toPosix(source.path);
    // A workspace member is a local library like a path dependency: its folder, relative to the service.
    const memberRoot = source?.workspace === true ? member?.workspace.members.get(normalizeDistName(dependency.name)) : undefined;
    if (memberRoot !== undefined) dependency.localPath = member?.relative(memberRoot);
    if (dependency.localPath) delete dependency.requirement;
    metadata.dependencies.push(dependency);
  }
  if (member) addMembersOfMembers(metadata, member);
}

/**
 * The members that the service's members take from the workspace, and theirs: local libraries of the service
 * too (no index has them for pip, and the spec must collect their modules).
 */
function addMembersOfMembers(metadata: PythonProjectMetadata, member: MemberOf): void {
  const known = new Set(metadata.dependencies.map((d) => normalizeDistName(d.name)));
  const pending = metadata.dependencies.filter((d) => d.localPath && member.workspace.members.has(normalizeDistName(d.name))).map((d) => normalizeDistName(d.name));
  while (pending.length) {
    const root = member.workspace.members.get(pending.pop() as string) as string;
    const text = member.files.read(joinPath(root, 'pyproject.toml'));
    const doc = text === undefined ? undefined : parseToml(text, joinPath(root, 'pyproject.toml'));
    const sources: Record<string, any> = doc?.tool?.uv?.sources ?? {};
    const fromWorkspace = new Set(Object.keys(sources).filter((key) => sources[key]?.workspace === true).map(normalizeDistName));
    for (const requirement of doc?.project?.dependencies ?? []) {
      const name = parseRequirement(String(requirement))?.name;
      const key = name && normalizeDistName(name);
      const memberRoot = key && fromWorkspace.has(key) ? member.workspace.members.get(key) : undefined;
      if (!key || memberRoot === undefined || known.has(key)) continue;
      known.add(key);
      pending.push(key);
      metadata.dependencies.push({ name: name as string, localPath: member.relative(memberRoot) });
    }
  }
}

function dedupe(dependencies: PythonDependency[]): PythonDependency[] {
  const byName = new Map<string, PythonDependency>();
  for (const dependency of dependencies) {
    const key = normalizeDistName(dependency.name);
    if (!byName.has(key)) byName.set(key, dependency);
  }
  return [...byName.values()];
}

function toPosix(p: string): string {
  return String(p).replace(/\\/g, '/');
}
