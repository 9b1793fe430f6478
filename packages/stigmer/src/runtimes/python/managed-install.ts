import * as path from 'node:path';
import * as fs from 'fs-extra';
import { StigmerError } from '../../utils/errors';
import { run, runChecked } from '../../utils/process';
import type { ProjectRef } from '../types';
import { isFullyPinnedRequirements, poetryLockRequirements } from './locked-requirements';
import { readPipConfig, uvEnvironmentFor } from './pip-config';
import { PythonProjectMetadata } from './project-metadata';

/** The uv that managed environments install locks with (a PyPI package, bootstrapped into .stigmer/tools). */
export const MANAGED_UV_VERSION = '0.13.9';

/** Where a managed environment takes its versions from. */
export type PinSource = 'poetry.lock' | 'uv.lock' | 'requirements' | 'unpinned';

/**
 * poetry.lock or uv.lock beside the service (or its uv workspace's uv.lock), else requirement files that pin every line with ==; else nothing
 * pins the versions and the ranges of pyproject.toml / requirements are resolved at build time.
 */
export function pinSourceOf(metadata: PythonProjectMetadata, read: (file: string) => string | undefined): PinSource {
  if (read('poetry.lock') !== undefined && metadata.style === 'poetry') return 'poetry.lock';
  if (metadata.uvLock !== undefined || read('uv.lock') !== undefined) return 'uv.lock';
  const registryFromPyproject = metadata.dependencies.some((d) => d.declaredIn === 'pyproject.toml' && !d.localPath);
  if (metadata.requirementFiles.length && !registryFromPyproject && metadata.requirementFiles.every((file) => isFullyPinnedRequirements(read(file) ?? ''))) {
    return 'requirements';
  }
  return 'unpinned';
}

/** The one line an unpinned build prints: what is not pinned and how to pin it. */
export function unpinnedNotice(project: ProjectRef, metadata: PythonProjectMetadata): string | undefined {
  const registry = metadata.dependencies.filter((d) => !d.localPath);
  if (registry.length === 0) return undefined;
  const how =
    metadata.style === 'poetry'
      ? '"poetry lock"'
      : metadata.style === 'uv' || metadata.style === 'pep621'
        ? '"uv lock"'
        : '"pip freeze > requirements.txt" (every line name==version)';
  return `${project.name}'s dependency versions are not pinned (no poetry.lock, uv.lock or fully pinned requirements.txt): this build resolves the ranges anew; pin them with ${how} in ${project.root || '.'}.`;
}

export interface ManagedInstallContext {
  project: ProjectRef;
  metadata: PythonProjectMetadata;
  source: PinSource;
  /** The base interpreter (python3) that created the environment; it also bootstraps uv. */
  basePython: string;
  /** The managed environment's interpreter. */
  python: string;
  venvDir: string;
  pyinstallerPin: string;
  log: (message: string) => void;
}

/**
 * Installs what the lock pins, exactly: the runtime packages with --no-deps (and --require-hashes where the lock
 * has hashes) through a pinned uv, then PyInstaller and the local libraries (editable) with pip, constrained to
 * the locked versions so that PyInstaller's own dependencies cannot move a locked package.
 */
export async function installLocked(context: ManagedInstallContext): Promise<void> {
  const { project, metadata, source, python, venvDir, log } = context;
  const workDir = path.join(venvDir, '.stigmer-install');
  await fs.ensureDir(workDir);
  const uv = await ensureManagedUv(project.workspaceRoot, context.basePython, log);
  const uvEnv = { ...process.env, ...uvEnvironmentFor(await readPipConfig(context.basePython, project.absRoot)) };
  let lines: string[];
  let hashed: boolean;
  let constraints: string[];
  let pyinstaller: string | undefined;
  if (source === 'poetry.lock') {
    const locked = await readPoetryLock(project, metadata);
    ({ lines, hashed, constraints, pyinstaller } = locked);
  } else {
    // uv reads its own lock (markers, groups, workspaces); --frozen: it never touches uv.lock or the network.
    const exportArgs = ['export', '--frozen', '--no-emit-project', '--no-emit-local', '--no-header', '--no-annotate', '--format', 'requirements-txt'];
    const runtime = await runChecked(uv, [...exportArgs, '--no-dev'], 'uv export (runtime packages of uv.lock)', { cwd: project.absRoot, env: uvEnv });
    const all = await runChecked(uv, [...exportArgs, '--all-groups', '--no-hashes'], 'uv export (all packages of uv.lock)', { cwd: project.absRoot, env: uvEnv });
    lines = joinContinuations(runtime.stdout);
    hashed = lines.length > 0 && lines.every((line) => line.includes('--hash='));
    constraints = joinContinuations(all.stdout).filter((line) => /^[A-Za-z0-9][A-Za-z0-9._-]*==/.test(line));
    pyinstaller = constraints.map((line) => /^pyinstaller==([^\s;]+)/i.exec(line)?.[1]).find(Boolean);
  }
  const lockedFile = path.join(workDir, 'locked.txt');
  const constraintsFile = path.join(workDir, 'constraints.txt');
  await fs.writeFile(lockedFile, lines.join('\n') + '\n');
  await fs.writeFile(constraintsFile, constraints.filter((line) => !/^pyinstaller==/i.test(line)).join('\n') + '\n');
  const where = path.relative(project.workspaceRoot, venvDir);
  if (lines.length) {
    log(`installing the ${lines.length} packages ${source} pins (uv ${MANAGED_UV_VERSION}, --no-deps${hashed ? ', hashes checked' : ''})`);
    await runChecked(
      uv,
      ['pip', 'install', '--python', python, '--no-deps', ...(hashed ? ['--require-hashes'] : []), '-r', lockedFile],
      `installing ${source} into ${where}`,
      { cwd: project.absRoot, env: uvEnv },
    );
  }
  const locals = metadata.dependencies.filter((d) => d.declaredIn === 'pyproject.toml' && d.localPath).map((d) => d.localPath as string);
  await runChecked(
    python,
    [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      '-c',
      constraintsFile,
      `pyinstaller==${pyinstaller ?? context.pyinstallerPin}`,
      ...locals.flatMap((local) => ['-e', local]),
      ...(locals.length ? ['--config-settings', 'editable_mode=compat'] : []),
    ],
    `pip install pyinstaller${locals.length ? ' and the local libraries' : ''} into ${where}`,
    { cwd: project.absRoot, env: { ...process.env, PIP_NO_INPUT: '1' } },
  );
}

/**
 * poetry.lock's runtime packages. Without Poetry the lock's content-hash cannot be checked; a declared
 * dependency the lock lacks shows it is stale, and that is an error before anything is installed.
 */
export async function readPoetryLock(project: ProjectRef, metadata: PythonProjectMetadata) {
  const mainNames = metadata.dependencies.filter((d) => d.declaredIn === 'pyproject.toml' && !d.localPath).map((d) => d.name);
  const locked = poetryLockRequirements(await fs.readFile(path.join(project.absRoot, 'poetry.lock'), 'utf8'), mainNames);
  if (locked.missing.length) {
    const where = project.root || '.';
    throw new StigmerError(`${where}/poetry.lock does not match pyproject.toml (no ${locked.missing.join(', ')} in it): run "poetry lock" in ${where} and commit poetry.lock.`);
  }
  return locked;
}

/** requirements.txt text with `\` continuations joined, comments and blank lines dropped. */
function joinContinuations(text: string): string[] {
  return text
    .replace(/\\\r?\n\s*/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
}

/**
 * <workspace>/.stigmer/tools/uv-<version>/bin/uv, installed once with the base python's pip (so pip's index and
 * certificates apply). The caller holds the workspace's install lock.
 */
export async function ensureManagedUv(workspaceRoot: string, basePython: string, log: (message: string) => void): Promise<string> {
  const dir = path.join(workspaceRoot, '.stigmer', 'tools', `uv-${MANAGED_UV_VERSION}`);
  const uv = path.join(dir, 'bin', process.platform === 'win32' ? 'uv.exe' : 'uv');
  const probe = await run(uv, ['--version']).catch(() => undefined);
  if (probe?.exitCode === 0 && probe.stdout.includes(MANAGED_UV_VERSION)) return uv;
  log(`installing uv ${MANAGED_UV_VERSION} into ${path.relative(workspaceRoot, dir)} (once per workspace)`);
  const staging = `${dir}.partial`;
  await fs.remove(staging);
  await runChecked(basePython, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--no-deps', '--target', staging, `uv==${MANAGED_UV_VERSION}`], `installing uv ${MANAGED_UV_VERSION}`, {
    env: { ...process.env, PIP_NO_INPUT: '1' },
  });
  await fs.remove(dir);
  await fs.move(staging, dir);
  if (!(await fs.pathExists(uv))) throw new StigmerError(`uv ${MANAGED_UV_VERSION} installed no ${uv}: remove ${dir} and run again.`);
  return uv;
}
