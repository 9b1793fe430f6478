import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { StigmerError } from '../../../utils/errors';
import { logger } from '@nx/devkit';
import { findOnPath, lastLines, run, runChecked, runSync } from '../../../utils/process';
import { withFileLock } from '../../../utils/lock';
import { STIGMER_VERSION } from '../../../utils/version';
import { diskFiles, joinPath } from '../../../utils/workspace-files';
import type { ProjectRef } from '../../types';
import { satisfiesPythonConstraint } from '../project/pep440';
import { installLocked, installPinnedRequirements, MANAGED_UV_VERSION, pinSourceOf, readPoetryLock, unpinnedNotice } from './managed-install';
import { PythonProjectMetadata, readPythonProject } from '../project/project-metadata';
import { poetryMajorVersion } from './relock';
import { pythonOptionCommand } from './toolchain-key';
import { InterpreterFacts, probeInterpreter, ProbeOutcome, probeStampFile } from './interpreter-probe';

import { PYINSTALLER_VERSION } from '../pyinstaller/pyinstaller';

export { PYINSTALLER_PYTHON, PYINSTALLER_VERSION } from '../pyinstaller/pyinstaller';

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
  const metadata = readPythonProject((file) => diskFiles(project.absRoot).read(file), { files: diskFiles(project.workspaceRoot), projectRoot: project.root });
  const kind = chooseEnvironment({
    python: options.python,
    environment: options.environment,
    hasPoetryLock: has('poetry.lock'),
    // A uv workspace member is pinned by the workspace's uv.lock.
    hasUvLock: metadata.uvLock !== undefined,
    poetryOnPath: !!findOnPath('poetry'),
    uvOnPath: !!findOnPath('uv'),
  });
  const log = options.log ?? (() => undefined);
  let python: string;
  let venvDir: string | undefined;
  let probed: ProbeOutcome | undefined;
  switch (kind) {
    case 'interpreter':
      python = pythonOptionCommand(options.python as string, project.workspaceRoot);
      log(`using the interpreter ${python}`);
      break;
    case 'poetry':
      await syncPoetry(project, log);
      python = await toolInterpreter('poetry', project);
      break;
    case 'uv':
      // Under the lock of uv's environment: a build of another member holds it from its sync to its end.
      python = await withUvEnvironmentLock(project, metadata, async () => {
        await syncUv(project, metadata, log);
        return toolInterpreter('uv', project);
      });
      break;
    default:
      venvDir = managedVenvDir(project);
      ({ python, probed } = await ensureManagedVenv(project, metadata, venvDir, log));
  }
  const versions = checkedVersions(probed ?? (await probeInterpreter(python, project.workspaceRoot)), python, kind, project);
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

function checkedVersions(probed: ProbeOutcome, python: string, kind: EnvironmentKind, project: ProjectRef): { python: string; pyinstaller: string } {
  const facts: Partial<InterpreterFacts> = probed.ran ? probed.facts : {};
  const { python: pythonVersion, pyinstaller } = facts;
  if (!pythonVersion || !pyinstaller) {
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
 * Poetry's environment, exactly as poetry.lock says: the lock is checked first (a stale lock is an error naming
 * `poetry lock`, never a silent re-lock), then `poetry sync` installs it and removes what the lock does not have.
 */
async function syncPoetry(project: ProjectRef, log: (m: string) => void): Promise<void> {
  const where = project.root || '.';
  if (!fs.existsSync(path.join(project.absRoot, 'poetry.lock'))) {
    throw new StigmerError(`${where} has no poetry.lock: run "poetry lock" in ${where} and commit poetry.lock (build-binary installs exactly what it pins).`);
  }
  log('poetry check --lock');
  const check = await run('poetry', ['check', '--lock', '--no-interaction'], { cwd: project.absRoot });
  if (check.exitCode !== 0) {
    const said = `${check.stdout}\n${check.stderr}`;
    if (/poetry\.lock|lock file/i.test(said)) {
      throw new StigmerError(`${where}/poetry.lock does not match pyproject.toml: run "poetry lock" in ${where} and commit poetry.lock.`);
    }
    throw new StigmerError(`poetry check failed in ${where}: ${lastLines(said, 1)}`);
  }
  const major = poetryMajorVersion(runSync('poetry', ['--version'], project.absRoot));
  const sync = major !== undefined && major < 2 ? ['install', '--sync'] : ['sync'];
  log(`poetry ${sync.join(' ')}`);
  await runChecked('poetry', [...sync, '--no-interaction'], `poetry ${sync.join(' ')}`, { cwd: project.absRoot });
}

const heldLocks = new AsyncLocalStorage<ReadonlySet<string>>();

/**
 * Runs `body` holding the lock of the uv environment that pins the service (the .venv beside its uv.lock: the
 * uv workspace's root for a member). uv's sync is exact: syncing member B uninstalls what only A needs, so a
 * build takes this lock from its sync to the end of PyInstaller, and a parallel build of another member waits.
 * Taken again inside `body` (the sync itself), it is not waited for. Services without a uv.lock (or uv) run `body` as is.
 */
export async function withUvEnvironmentLock<T>(project: ProjectRef, metadata: PythonProjectMetadata, body: () => Promise<T>): Promise<T> {
  if (metadata.uvLock === undefined || !findOnPath('uv')) return body();
  const lockFolder = path.dirname(path.resolve(project.absRoot, metadata.uvLock));
  const name = createHash('sha256').update(path.relative(project.workspaceRoot, lockFolder)).digest('hex').slice(0, 16);
  const lockDir = path.join(project.workspaceRoot, '.stigmer', 'locks', `uv-env-${name}`);
  const held = heldLocks.getStore() ?? new Set<string>();
  if (held.has(lockDir)) return body();
  return withFileLock(lockDir, () => heldLocks.run(new Set([...held, lockDir]), body));
}

/** uv's environment from uv.lock with --locked: uv fails instead of rewriting a stale lock. */
async function syncUv(project: ProjectRef, metadata: PythonProjectMetadata, log: (m: string) => void): Promise<void> {
  const where = project.root || '.';
  const lock = joinPath(project.root, metadata.uvLock ?? 'uv.lock') || 'uv.lock';
  log('uv sync --locked');
  const result = await run('uv', ['sync', '--locked'], { cwd: project.absRoot });
  if (result.exitCode !== 0) {
    const said = `${result.stdout}\n${result.stderr}`;
    if (/--locked|lockfile/i.test(said)) {
      throw new StigmerError(`${lock} does not match pyproject.toml (or is missing): run "uv lock" in ${where} and commit uv.lock.`);
    }
    throw new StigmerError(`uv sync --locked failed in ${where}: ${lastLines(said, 1)}`);
  }
}

/**
 * Creates (or reuses) <workspace>/.stigmer/venvs/<project> with python3 -m venv, and installs exactly what the
 * service's lock pins (see managed-install.ts); a service with no lock gets its ranges resolved, and is told so
 * once. It is reused while its fingerprint (dependency files of the service and its local libraries, base
 * Python, pins, stigmer version) is unchanged; the stamp is written last, so an interrupted install is redone.
 */
async function ensureManagedVenv(project: ProjectRef, metadata: PythonProjectMetadata, venvDir: string, log: (m: string) => void): Promise<{ python: string; probed?: ProbeOutcome }> {
  const base = basePython();
  const baseVersion = await run(base, ['-c', 'import sys, platform; print(sys.version, platform.machine())']).catch(() => {
    throw new StigmerError(`${base} was not found: install Python 3 (3.8 to 3.14), or set the build-binary option "python" to an interpreter that has PyInstaller.`);
  });
  if (baseVersion.exitCode !== 0) throw new StigmerError(`${base} does not run (${baseVersion.stderr.trim().split('\n').pop()}): repair the Python installation.`);
  const source = pinSourceOf(metadata, (file) => diskFiles(project.absRoot).read(file));
  if (source === 'poetry.lock') await readPoetryLock(project, metadata);
  if (source === 'unpinned') {
    const notice = unpinnedNotice(project, metadata);
    if (notice) logger.warn(`stigmer: ${notice}`);
  }
  const installArgs = source === 'unpinned' || source === 'requirements' ? managedInstallArgs(metadata) : [`locked by ${source}`, `uv ${MANAGED_UV_VERSION}`, `pyinstaller ${PYINSTALLER_VERSION}`];
  const fingerprint = venvFingerprint(project, metadata, [baseVersion.stdout.trim(), ...installArgs]);
  const python = process.platform === 'win32' ? path.join(venvDir, 'Scripts', 'python.exe') : path.join(venvDir, 'bin', 'python');
  const stampFile = path.join(venvDir, '.stigmer-stamp');
  // The probe that proves the environment alive (PyInstaller imports) also gives the versions the build reports.
  const upToDate = async (): Promise<ProbeOutcome | undefined> => {
    const stamp = await fs.readFile(stampFile, 'utf8').catch(() => '');
    if (stamp !== fingerprint || !(await fs.pathExists(python))) return undefined;
    const probed = await probeInterpreter(python, project.workspaceRoot);
    if (probed.ran && probed.facts.pyinstaller) return probed;
    log('the managed environment is damaged: recreating it');
    return undefined;
  };
  const reuse = (probed: ProbeOutcome) => {
    log(`reusing ${path.relative(project.workspaceRoot, venvDir)}`);
    return { python, probed };
  };
  const current = await upToDate();
  if (current) return reuse(current);
  // One install at a time per workspace: services that share a local library would otherwise race on
  // the *.egg-info pip writes into that library's sources.
  return withFileLock(path.join(path.dirname(venvDir), '.install-lock'), async () => {
    // Checked again under the lock: a parallel build of the same service may have made it while we waited.
    const madeMeanwhile = await upToDate();
    if (madeMeanwhile) return reuse(madeMeanwhile);
    log(`creating ${path.relative(project.workspaceRoot, venvDir)} (python3 -m venv, ${source === 'unpinned' || source === 'requirements' ? 'pip install' : `install from ${source}`})`);
    await fs.remove(venvDir);
    await fs.remove(probeStampFile(project.workspaceRoot, python));
    await fs.ensureDir(path.dirname(venvDir));
    await runChecked(base, ['-m', 'venv', venvDir], 'creating the managed virtual environment');
    if (source === 'poetry.lock' || source === 'uv.lock') {
      await installLocked({ project, metadata, source, basePython: base, python, venvDir, pyinstallerPin: PYINSTALLER_VERSION, log });
    } else if (source === 'requirements') {
      await installPinnedRequirements(project, metadata, python, installArgs, log);
    } else {
      await runChecked(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', ...installArgs], `pip install into ${path.relative(project.workspaceRoot, venvDir)}`, {
        cwd: project.absRoot,
        env: { ...process.env, PIP_NO_INPUT: '1' },
      });
    }
    await fs.writeFile(stampFile, fingerprint);
    return { python };
  });
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
