import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { StigmerError } from '../../utils/errors';
import { findOnPath, run, runChecked } from '../../utils/process';
import { withFileLock } from '../../utils/lock';
import { STIGMER_VERSION } from '../../utils/version';
import { diskFiles, joinPath } from '../../utils/workspace-files';
import type { ProjectRef } from '../types';
import { satisfiesPythonConstraint } from './pep440';
import { PythonProjectMetadata, readPythonProject } from './project-metadata';

/** The PyInstaller that managed environments get; generated specs and dev dependencies follow it. */
export const PYINSTALLER_VERSION = '6.22.3';
/** Pythons that PyInstaller 6 supports: the constraint written next to the dev dependency. */
export const PYINSTALLER_PYTHON = '>=3.8,<3.15';

export type EnvironmentKind = 'interpreter' | 'poetry' | 'uv' | 'managed';
export type EnvironmentOption = 'auto' | EnvironmentKind;

export interface EnvironmentProbe {
  /** The explicit interpreter option. */
  python?: string;
  /** The environment option; `auto` follows the documented order. */
  environment?: EnvironmentOption;
  hasPoetryLock: boolean;
  hasUvLock: boolean;
  poetryOnPath: boolean;
  uvOnPath: boolean;
}

/**
 * The resolution order of DESIGN.md: an explicit interpreter; Poetry when the service has poetry.lock and
 * poetry is installed; uv likewise with uv.lock; otherwise an environment stigmer manages itself.
 */
export function chooseEnvironment(probe: EnvironmentProbe): EnvironmentKind {
  const wanted = probe.environment ?? 'auto';
  if (wanted !== 'auto') {
    if (wanted === 'interpreter' && !probe.python) {
      throw new StigmerError(`environment 'interpreter' needs the python option: set "python" to the interpreter to use.`);
    }
    if (wanted === 'poetry' && !probe.poetryOnPath) throw new StigmerError(`environment 'poetry' was asked for but poetry is not on PATH: install Poetry or use environment 'auto'.`);
    if (wanted === 'uv' && !probe.uvOnPath) throw new StigmerError(`environment 'uv' was asked for but uv is not on PATH: install uv or use environment 'auto'.`);
    return wanted;
  }
  if (probe.python) return 'interpreter';
  if (probe.hasPoetryLock && probe.poetryOnPath) return 'poetry';
  if (probe.hasUvLock && probe.uvOnPath) return 'uv';
  return 'managed';
}

export interface PythonEnvironment {
  kind: EnvironmentKind;
  /** Absolute path of the interpreter PyInstaller runs with. */
  python: string;
  pythonVersion: string;
  pyinstallerVersion: string;
  /** The managed environment's folder (kind 'managed' only). */
  venvDir?: string;
  /** What the service declares, as read to resolve the environment. */
  metadata: PythonProjectMetadata;
}

export interface EnvironmentOptions {
  python?: string;
  environment?: EnvironmentOption;
  /** Receives what the environment step is doing, for progress output. */
  log?: (message: string) => void;
}

/** The interpreter that creates managed environments: python3 (python on Windows). */
export function basePython(): string {
  return process.platform === 'win32' ? 'python' : 'python3';
}

/** Folder of a project's managed environment: <workspace>/.stigmer/venvs/<project>. */
export function managedVenvDir(project: ProjectRef): string {
  return path.join(project.workspaceRoot, '.stigmer', 'venvs', project.name.replace(/[^A-Za-z0-9._-]/g, '_'));
}

export async function resolvePythonEnvironment(project: ProjectRef, options: EnvironmentOptions = {}): Promise<PythonEnvironment> {
  const has = (file: string) => fs.existsSync(path.join(project.absRoot, file));
  const kind = chooseEnvironment({
    python: options.python,
    environment: options.environment,
    hasPoetryLock: has('poetry.lock'),
    hasUvLock: has('uv.lock'),
    poetryOnPath: !!findOnPath('poetry'),
    uvOnPath: !!findOnPath('uv'),
  });
  const log = options.log ?? (() => undefined);
  const metadata = readPythonProject((file) => diskFiles(project.absRoot).read(file));
  let python: string;
  let venvDir: string | undefined;
  switch (kind) {
    case 'interpreter':
      python = options.python as string;
      log(`using the interpreter ${python}`);
      break;
    case 'poetry':
      log('poetry install');
      await runChecked('poetry', ['install', '--no-interaction'], 'poetry install', { cwd: project.absRoot });
      python = await toolInterpreter('poetry', project);
      break;
    case 'uv':
      log('uv sync');
      await runChecked('uv', ['sync'], 'uv sync', { cwd: project.absRoot });
      python = await toolInterpreter('uv', project);
      break;
    default:
      venvDir = managedVenvDir(project);
      python = await ensureManagedVenv(project, metadata, venvDir, log);
  }
  const versions = await probeVersions(python, kind, project);
  if (!satisfiesPythonConstraint(versions.python, metadata.pythonConstraint)) {
    throw new StigmerError(
      `Python ${versions.python} does not satisfy ${project.name}'s python constraint '${metadata.pythonConstraint}': install a matching Python and set the build-binary option "python" to it.`,
    );
  }
  return { kind, python, pythonVersion: versions.python, pyinstallerVersion: versions.pyinstaller, venvDir, metadata };
}

async function toolInterpreter(tool: 'poetry' | 'uv', project: ProjectRef): Promise<string> {
  const args = tool === 'poetry' ? ['run', 'python', '-c', 'import sys; print(sys.executable)'] : ['run', '--no-sync', 'python', '-c', 'import sys; print(sys.executable)'];
  const { stdout } = await runChecked(tool, args, `${tool} run python`, { cwd: project.absRoot });
  return stdout.trim().split(/\r?\n/).pop() as string;
}

async function probeVersions(python: string, kind: EnvironmentKind, project: ProjectRef): Promise<{ python: string; pyinstaller: string }> {
  const result = await run(python, ['-c', 'import sys; print(sys.version.split()[0]); import PyInstaller; print(PyInstaller.__version__)']);
  const [pythonVersion, pyinstaller] = result.stdout.trim().split(/\r?\n/);
  if (result.exitCode !== 0 || !pyinstaller) {
    if (!pythonVersion) throw new StigmerError(`the Python interpreter ${python} does not run: check the "python" option or the ${kind} environment.`);
    const fix =
      kind === 'poetry'
        ? `run "nx g stigmer:binary-spec --project ${project.name}" (adds it to the dev group) or "poetry add --group dev pyinstaller"`
        : kind === 'uv'
          ? `run "nx g stigmer:binary-spec --project ${project.name}" or "uv add --dev pyinstaller"`
          : `install it: ${python} -m pip install pyinstaller==${PYINSTALLER_VERSION}`;
    throw new StigmerError(`PyInstaller is not installed in the ${kind} environment (${python}): ${fix}.`);
  }
  return { python: pythonVersion, pyinstaller };
}

/** pip arguments that install a service's runtime dependencies, its local libraries (editable) and PyInstaller. */
export function managedInstallArgs(metadata: PythonProjectMetadata): string[] {
  const fromPyproject = metadata.dependencies.filter((d) => d.declaredIn === 'pyproject.toml');
  return [
    `pyinstaller==${PYINSTALLER_VERSION}`,
    ...fromPyproject.filter((d) => d.requirement).map((d) => d.requirement as string),
    ...metadata.requirementFiles.flatMap((file) => ['-r', file]),
    // Editable, so that editing a library needs no reinstall; compat mode puts a plain path in a .pth
    // file (setuptools' default import hook is invisible to PyInstaller).
    ...fromPyproject.filter((d) => d.localPath).flatMap((d) => ['-e', d.localPath as string]),
    ...(fromPyproject.some((d) => d.localPath) || metadata.requirementFiles.length ? ['--config-settings', 'editable_mode=compat'] : []),
  ];
}

/**
 * Creates (or reuses) <workspace>/.stigmer/venvs/<project> with python3 -m venv and pip. It is reused while
 * its fingerprint (dependency files of the service and its local libraries, base Python, PyInstaller pin,
 * stigmer version) is unchanged; the stamp is written last, so an interrupted install is redone.
 */
async function ensureManagedVenv(project: ProjectRef, metadata: PythonProjectMetadata, venvDir: string, log: (m: string) => void): Promise<string> {
  const base = basePython();
  const baseVersion = await run(base, ['-c', 'import sys, platform; print(sys.version, platform.machine())']).catch(() => {
    throw new StigmerError(`${base} was not found: install Python 3 (3.8 to 3.14), or set the build-binary option "python" to an interpreter that has PyInstaller.`);
  });
  if (baseVersion.exitCode !== 0) throw new StigmerError(`${base} does not run (${baseVersion.stderr.trim().split('\n').pop()}): repair the Python installation.`);
  const installArgs = managedInstallArgs(metadata);
  const fingerprint = venvFingerprint(project, metadata, [baseVersion.stdout.trim(), ...installArgs]);
  const python = process.platform === 'win32' ? path.join(venvDir, 'Scripts', 'python.exe') : path.join(venvDir, 'bin', 'python');
  const stampFile = path.join(venvDir, '.stigmer-stamp');
  const stamp = await fs.readFile(stampFile, 'utf8').catch(() => '');
  if (stamp === fingerprint && (await fs.pathExists(python))) {
    const alive = await run(python, ['-c', 'import PyInstaller']).catch(() => undefined);
    if (alive?.exitCode === 0) {
      log(`reusing ${path.relative(project.workspaceRoot, venvDir)}`);
      return python;
    }
    log('the managed environment is damaged: recreating it');
  }
  log(`creating ${path.relative(project.workspaceRoot, venvDir)} (python3 -m venv, pip install)`);
  // One install at a time per workspace: services that share a local library would otherwise race on
  // the *.egg-info pip writes into that library's sources.
  await withFileLock(path.join(path.dirname(venvDir), '.install-lock'), async () => {
    await fs.remove(venvDir);
    await fs.ensureDir(path.dirname(venvDir));
    await runChecked(base, ['-m', 'venv', venvDir], 'creating the managed virtual environment');
    await runChecked(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', ...installArgs], `pip install into ${path.relative(project.workspaceRoot, venvDir)}`, {
      cwd: project.absRoot,
      env: { ...process.env, PIP_NO_INPUT: '1' },
    });
    await fs.writeFile(stampFile, fingerprint);
  });
  return python;
}

function venvFingerprint(project: ProjectRef, metadata: PythonProjectMetadata, extra: string[]): string {
  const hash = createHash('sha256').update(`stigmer ${STIGMER_VERSION}\n${extra.join('\n')}\n`);
  const files = diskFiles(project.workspaceRoot);
  const hashFile = (workspacePath: string) => hash.update(`${workspacePath}\n${files.read(workspacePath) ?? ''}\n`);
  metadata.dependencyFiles.forEach((file) => hashFile(joinPath(project.root, file)));
  for (const dependency of metadata.dependencies.filter((d) => d.localPath)) {
    const libraryRoot = joinPath(project.root, dependency.localPath as string);
    ['pyproject.toml', 'setup.py', 'setup.cfg', 'requirements.txt'].forEach((file) => hashFile(joinPath(libraryRoot, file)));
  }
  return hash.digest('hex');
}
