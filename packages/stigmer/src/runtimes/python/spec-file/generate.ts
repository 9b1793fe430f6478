import * as path from 'node:path';
import { GeneratorCallback, logger } from '@nx/devkit';
import { StigmerError } from '../../../utils/errors';
import { joinPath, treeFiles, WorkspaceFiles } from '../../../utils/workspace-files';
import type { GenerateSpecRequest, ProjectRef } from '../../types';
import { findLocalPackages, LocalPackages } from '../project/local-packages';
import { PythonProjectMetadata, readPythonProject } from '../project/project-metadata';
import { addPyInstallerDevDependency } from '../project/pyproject-edit';
import { relockAfterEdit } from '../environment/relock';
import {
  addTracedImports,
  DEFAULT_EXCLUDES,
  isUneditedGeneratedSpec,
  layoutOfSpec,
  looksLikePyInstallerSpec,
  PythonSpecModel,
  renderPythonSpec,
  SmokeProposal,
  tracedImportsOf,
  withLayout,
} from './spec-file';
import { parseToml, TomlTable } from '../project/toml';

const ENTRY_CANDIDATES = ['main.py', '__main__.py', 'app.py', 'server.py', 'cli.py'];
const SCRIPT_ENTRY = /^\s*([A-Za-z_][\w.]*)\s*:\s*([A-Za-z_][\w.]*)\s*$/;

/** Writes `<binary>.spec` and declares PyInstaller in pyproject.toml, for a Python service. */
export async function generatePythonSpec(request: GenerateSpecRequest): Promise<GeneratorCallback | void> {
  const { tree, project, binaryName, force } = request;
  const files = treeFiles(tree);
  const metadata = readPythonProject((file) => files.read(joinPath(project.root, file)), { files, projectRoot: project.root });
  const entry = resolveEntry(files, project, metadata, request.entry);
  const specFile = joinPath(project.root, `${binaryName}.spec`);
  const existing = files.read(specFile);
  // The layout asked for, else the one the spec already has: regenerating never flips it back.
  const layout = request.layout ?? (existing !== undefined ? layoutOfSpec(existing) : 'onefile');
  const model = { ...buildSpecModel(project, files, metadata, binaryName, entry), layout };
  if (request.update) {
    updateSpec(request, specFile, model);
  } else {
    writeSpec(request, specFile, renderPythonSpec(model), force);
  }

  const pyprojectPath = joinPath(project.root, 'pyproject.toml');
  const pyproject = files.read(pyprojectPath);
  if (pyproject === undefined || metadata.style === 'requirements' || metadata.style === 'none') {
    logger.info(`stigmer: ${project.root || '.'} declares no dependencies in pyproject.toml: left it alone (the managed environment installs PyInstaller itself).`);
    return;
  }
  const edit = addPyInstallerDevDependency(pyproject, metadata.style, metadata.pythonConstraint);
  if (edit.text !== undefined) {
    tree.write(pyprojectPath, edit.text);
    logger.info(`stigmer: added PyInstaller to ${pyprojectPath} ${edit.location}`);
    return relockAfterEdit(tree, project);
  }
}

export function buildSpecModel(project: ProjectRef, files: WorkspaceFiles, metadata: PythonProjectMetadata, binaryName: string, entry: string): PythonSpecModel {
  const packaged = metadata.dependencies.filter((d) => !d.localPath);
  const locals = metadata.dependencies
    .filter((d) => d.localPath)
    .map((d) => findLocalPackages(files, joinPath(project.root, d.localPath as string)));
  // The service's own packages also load modules by name sometimes: collect them like the libraries.
  const own = findLocalPackages(files, project.root);
  const collected = [...new Set([...own.packages, ...locals.flatMap((l) => l.packages)])];
  return {
    projectName: project.name,
    binaryName,
    entry,
    pathex: [...(own.importRoot !== project.root ? [own] : []), ...locals].map((l) => path.posix.relative(project.root || '.', l.importRoot || '.') || '.'),
    distributions: [...new Set(packaged.map((d) => d.name))],
    collectSubmodules: collected,
    excludes: DEFAULT_EXCLUDES.filter((name) => !collected.includes(name)),
    smoke: proposeSmokeRun(files, project, entry, own, metadata.version),
  };
}

/**
 * The entry: --entry (a script or `package.module:function`), else the console script of
 * [project.scripts] / [tool.poetry.scripts], else a usual script name. A script that only defines
 * functions is refused: its binary would do nothing.
 */
export function resolveEntry(files: WorkspaceFiles, project: ProjectRef, metadata: PythonProjectMetadata, requested?: string): string {
  const where = project.root || '.';
  const entry = requested ?? consoleScriptOf(files.read(joinPath(project.root, 'pyproject.toml')), project.name) ?? ENTRY_CANDIDATES.find((file) => files.isFile(joinPath(project.root, file)));
  if (!entry) {
    throw new StigmerError(`no entry in ${where} (no [project.scripts] entry, none of ${ENTRY_CANDIDATES.join(', ')}): pass --entry <script> or --entry <package.module:function>.`);
  }
  const script = SCRIPT_ENTRY.exec(entry);
  if (script && !entry.endsWith('.py')) {
    const module = script[1];
    if (!moduleFile(files, project, metadata, module)) {
      throw new StigmerError(`entry ${entry}: module ${module} is not in ${where} or its local libraries: fix the module path (package.module:function).`);
    }
    return entry.replace(/\s+/g, '');
  }
  const source = files.read(joinPath(project.root, entry));
  if (source === undefined) {
    throw new StigmerError(`entry script ${joinPath(project.root, entry)} does not exist: pass --entry with the service's main script, relative to ${where}.`);
  }
  if (onlyDefinesFunctions(source)) {
    const func = /^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(/m.exec(source)?.[1] ?? 'main';
    const module = entry.replace(/\.py$/, '').replace(/^src\//, '').replace(/\//g, '.');
    throw new StigmerError(
      `entry ${joinPath(project.root, entry)} only defines functions (no "if __name__ == '__main__':" and no top-level call), so its binary would do nothing: pass --entry ${module}:${func} (the function to run), or add the guard.`,
    );
  }
  return entry;
}

/**
 * True when a script only defines functions: it has a def, no __main__ guard, and nothing at top level
 * beyond imports, definitions and plain assignments (no call that would start the service).
 */
export function onlyDefinesFunctions(source: string): boolean {
  const code = source.replace(/("""|\'\'\')[\s\S]*?\1/g, '""');
  if (/^if\s+__name__\s*==\s*['"]__main__['"]\s*:/m.test(code)) return false;
  const topLevel = code.split(/\r?\n/).filter((line) => /^\S/.test(line) && !line.startsWith('#'));
  if (!topLevel.some((line) => /^(async\s+)?def\s/.test(line))) return false;
  return topLevel.every(
    (line) => /^(import|from|def|async\s+def|class|@|""|[)\]}])/.test(line) || (/^[A-Za-z_][\w, ]*(:[^=]+)?=/.test(line) && !line.includes('(')),
  );
}

/** `name = "pkg.mod:func"` of [project.scripts] or [tool.poetry.scripts]: the one named like the project, else the first. */
export function consoleScriptOf(pyproject: string | undefined, projectName: string): string | undefined {
  if (!pyproject) return undefined;
  let doc: TomlTable;
  try {
    doc = parseToml(pyproject, 'pyproject.toml');
  } catch {
    return undefined;
  }
  const scripts: Record<string, unknown> = { ...(doc.tool?.poetry?.scripts ?? {}), ...(doc.project?.scripts ?? {}) };
  const entries = Object.entries(scripts).filter((e): e is [string, string] => typeof e[1] === 'string' && SCRIPT_ENTRY.test(e[1]));
  const named = entries.find(([name]) => name === projectName.replace(/^@[^/]+\//, ''));
  return (named ?? entries[0])?.[1];
}

function moduleFile(files: WorkspaceFiles, project: ProjectRef, metadata: PythonProjectMetadata, module: string): string | undefined {
  const roots = [project.root, joinPath(project.root, 'src'), ...metadata.dependencies.filter((d) => d.localPath).flatMap((d) => [joinPath(project.root, d.localPath as string), joinPath(project.root, d.localPath as string, 'src')])];
  const relative = module.replace(/\./g, '/');
  for (const root of roots) {
    for (const candidate of [joinPath(root, `${relative}.py`), joinPath(root, relative, '__init__.py')]) {
      if (files.isFile(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * A smoke run that proves more than start-up, when the entry (or the service's own modules) handles
 * --self-check, --version or --help: test-binary reads it back from the spec's `# stigmer-test:` line.
 */
export function proposeSmokeRun(files: WorkspaceFiles, project: ProjectRef, entry: string, own: LocalPackages, version?: string): SmokeProposal | undefined {
  const sources = [
    ...(entry.endsWith('.py') ? [joinPath(project.root, entry)] : []),
    ...own.modules.map((m) => {
      const relative = m.replace(/\./g, '/');
      const file = joinPath(own.importRoot, `${relative}.py`);
      return files.isFile(file) ? file : joinPath(own.importRoot, relative, '__init__.py');
    }),
  ].map((file) => files.read(file) ?? '');
  const handles = (flag: string) => sources.some((text) => text.includes(`"${flag}"`) || text.includes(`'${flag}'`));
  if (handles('--self-check')) return { args: ['--self-check'] };
  if (handles('--version')) return { args: ['--version'], ...(version ? { expectedOutput: version.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') } : {}) };
  if (sources.some((text) => /argparse|ArgumentParser|import click|from click|import typer|from typer/.test(text))) return { args: ['--help'], expectedOutput: '[Uu]sage' };
  return undefined;
}

/**
 * --update: adds the modules test-binary's import trace found missing (build/<binary>.missing-imports.json)
 * to the spec's traced-imports block; the rest of an edited spec stays exactly as the user left it.
 */
function updateSpec(request: GenerateSpecRequest, specFile: string, model: PythonSpecModel): void {
  const { tree, project } = request;
  const existing = tree.read(specFile, 'utf8');
  const findings = tree.read(joinPath(project.root, 'build', `${request.binaryName}.missing-imports.json`), 'utf8');
  const missing: string[] = findings ? (JSON.parse(findings).modules ?? []) : [];
  if (existing === null) {
    tree.write(specFile, renderPythonSpec({ ...model, tracedImports: missing }));
    return;
  }
  const updated = isUneditedGeneratedSpec(existing)
    ? renderPythonSpec({ ...model, tracedImports: [...tracedImportsOf(existing), ...missing] })
    : addTracedImports(withRequestedLayout(request, specFile, existing), missing);
  if (!missing.length) logger.info(`stigmer: test-binary found no missing module (${joinPath(project.root, 'build', `${request.binaryName}.missing-imports.json`)}${findings ? ' lists none' : ' does not exist: run test-binary first'}).`);
  if (updated !== existing) {
    tree.write(specFile, updated);
    if (missing.length) logger.info(`stigmer: added ${missing.join(', ')} to the traced imports of ${specFile}`);
  }
}

/** An edited spec with only its LAYOUT line set to the --layout asked for (unchanged when none was asked). */
function withRequestedLayout(request: GenerateSpecRequest, specFile: string, existing: string): string {
  if (!request.layout || layoutOfSpec(existing) === request.layout) return existing;
  const relaid = withLayout(existing, request.layout);
  if (relaid === undefined) {
    throw new StigmerError(`${specFile} has no LAYOUT line (written by hand or by an older stigmer), so --layout cannot switch it: regenerate it with --force --layout ${request.layout}, or edit its EXE/COLLECT calls.`);
  }
  logger.info(`stigmer: set LAYOUT = "${request.layout}" in ${specFile}; the rest of the edited spec is kept.`);
  return relaid;
}

/** Idempotent, and never overwrites a spec the user edited (or wrote) unless --force. */
function writeSpec(request: GenerateSpecRequest, specFile: string, content: string, force: boolean): void {
  const { tree, project } = request;
  const files = treeFiles(tree);
  const otherSpec = files
    .list(project.root)
    .map((e) => joinPath(project.root, e.name))
    .find((file) => file !== specFile && file.endsWith('.spec') && looksLikePyInstallerSpec(files.read(file) ?? ''));
  if (otherSpec && !force) {
    logger.warn(`stigmer: ${otherSpec} already builds this service: kept it and wrote no second spec (--force writes ${specFile} anyway).`);
    return;
  }
  const existing = files.read(specFile);
  if (existing === content) return;
  if (existing !== undefined && !force && !isUneditedGeneratedSpec(existing)) {
    const relaid = withRequestedLayout(request, specFile, existing);
    if (relaid !== existing) {
      tree.write(specFile, relaid);
      return;
    }
    logger.warn(`stigmer: ${specFile} was edited: kept it as it is (run again with --force to overwrite it).`);
    return;
  }
  tree.write(specFile, content);
}
