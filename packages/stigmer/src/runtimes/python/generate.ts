import * as fs from 'node:fs';
import * as path from 'node:path';
import { GeneratorCallback, logger } from '@nx/devkit';
import { StigmerError } from '../../utils/errors';
import { joinPath, treeFiles, WorkspaceFiles } from '../../utils/workspace-files';
import type { GenerateSpecRequest, ProjectRef } from '../types';
import { managedVenvDir } from './environment';
import { extraHiddenImportsOf, importNamesOf, sitePackagesOf } from './import-names';
import { findLocalPackages } from './local-packages';
import { PythonProjectMetadata, readPythonProject } from './project-metadata';
import { addPyInstallerDevDependency } from './pyproject-edit';
import { relockAfterEdit } from './relock';
import { DEFAULT_EXCLUDES, isUneditedGeneratedSpec, looksLikePyInstallerSpec, PythonSpecModel, renderPythonSpec } from './spec-file';

const ENTRY_CANDIDATES = ['main.py', '__main__.py', 'app.py', 'server.py', 'cli.py'];

/** Writes `<binary>.spec` and declares PyInstaller in pyproject.toml, for a Python service. */
export async function generatePythonSpec(request: GenerateSpecRequest): Promise<GeneratorCallback | void> {
  const { tree, project, binaryName, force } = request;
  const files = treeFiles(tree);
  const metadata = readPythonProject((file) => files.read(joinPath(project.root, file)));
  const entry = request.entry ?? ENTRY_CANDIDATES.find((file) => files.isFile(joinPath(project.root, file)));
  if (!entry || !files.isFile(joinPath(project.root, entry))) {
    throw new StigmerError(
      entry
        ? `entry script ${joinPath(project.root, entry)} does not exist: pass --entry with the service's main script, relative to ${project.root || '.'}.`
        : `no entry script in ${project.root || '.'} (looked for ${ENTRY_CANDIDATES.join(', ')}): pass --entry <script>.`,
    );
  }
  const specFile = joinPath(project.root, `${binaryName}.spec`);
  const content = renderPythonSpec(buildSpecModel(project, files, metadata, binaryName, entry));
  writeSpec(request, specFile, content, force);

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
  const sitePackages = installedSitePackages(project);
  const packaged = metadata.dependencies.filter((d) => !d.localPath);
  const hiddenImports = packaged.flatMap((d) =>
    [...importNamesOf(d.name, sitePackages), ...extraHiddenImportsOf(d.name)].map((name): [string, string] => [name, d.name]),
  );
  const locals = metadata.dependencies
    .filter((d) => d.localPath)
    .map((d) => findLocalPackages(files, joinPath(project.root, d.localPath as string)));
  // The service's own packages also load modules by name sometimes: collect them like the libraries.
  const own = findLocalPackages(files, project.root);
  const collected = [...new Set([...own.packages, ...locals.flatMap((l) => l.packages)])];
  const declaredTopLevel = new Set([...hiddenImports.map(([name]) => name.split('.')[0]), ...collected]);
  return {
    projectName: project.name,
    binaryName,
    entry,
    pathex: [...(own.importRoot !== project.root ? [own] : []), ...locals].map((l) => path.posix.relative(project.root || '.', l.importRoot || '.') || '.'),
    hiddenImports,
    collectSubmodules: collected,
    copyMetadata: packaged.map((d) => d.name),
    excludes: DEFAULT_EXCLUDES.filter((name) => !declaredTopLevel.has(name)),
  };
}

/** site-packages of an environment already installed for the service (managed, or the service's .venv). */
function installedSitePackages(project: ProjectRef): string | undefined {
  for (const venv of [managedVenvDir(project), path.join(project.absRoot, '.venv')]) {
    if (fs.existsSync(venv)) return sitePackagesOf(venv);
  }
  return undefined;
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
    logger.warn(`stigmer: ${specFile} was edited: kept it as it is (run again with --force to overwrite it).`);
    return;
  }
  tree.write(specFile, content);
}
