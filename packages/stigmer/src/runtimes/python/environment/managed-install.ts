import * as path from 'node:path';
import * as fs from 'fs-extra';
import { logger } from '@nx/devkit';
import { StigmerError } from '../../../utils/errors';
import { run, runChecked } from '../../../utils/process';
import type { ProjectRef } from '../../types';
import { indexUrlWithCredentials, isFullyPinnedRequirements, LockedIndex, LockedRequirement, notInstalledDependencies, poetryLockRequirements, uvExportRequirements } from './locked-requirements';
import { readPipConfig, uvEnvironmentFor } from './pip-config';
import { PythonProjectMetadata } from '../project/project-metadata';
import { parseToml } from '../project/toml';

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
 * Installs what the lock pins, exactly: the runtime packages with --no-deps through a pinned uv, each from the
 * source the lock names (a private index only, never the default one), with --require-hashes for every package
 * the lock has hashes for; then PyInstaller and the local libraries (editable) with pip, constrained to the
 * locked versions so that PyInstaller's own dependencies cannot move a locked package.
 */
export async function installLocked(context: ManagedInstallContext): Promise<void> {
  const { project, metadata, source, python, venvDir, log } = context;
  const workDir = path.join(venvDir, '.stigmer-install');
  await fs.ensureDir(workDir);
  const uv = await ensureManagedUv(project.workspaceRoot, context.basePython, log);
  const uvEnv = { ...process.env, ...uvEnvironmentFor(await readPipConfig(context.basePython, project.absRoot)) };
  let requirements: LockedRequirement[];
  let constraints: string[];
  let pyinstaller: string | undefined;
  if (source === 'poetry.lock') {
    ({ requirements, constraints, pyinstaller } = await readPoetryLock(project, metadata));
  } else {
    // uv reads its own lock (markers, groups, extras, workspaces); --frozen: it never touches uv.lock or the network.
    const exportArgs = ['export', '--frozen', '--no-emit-project', '--no-emit-local', '--no-header', '--no-annotate', '--format', 'requirements-txt'];
    const runtime = await runChecked(uv, [...exportArgs, '--no-dev'], 'uv export (runtime packages of uv.lock)', { cwd: project.absRoot, env: uvEnv });
    const all = await runChecked(uv, [...exportArgs, '--all-groups', '--no-hashes'], 'uv export (all packages of uv.lock)', { cwd: project.absRoot, env: uvEnv });
    const lockPath = path.join(project.absRoot, metadata.uvLock ?? 'uv.lock');
    requirements = uvExportRequirements(runtime.stdout, await fs.readFile(lockPath, 'utf8'), await uvIndexes([project.absRoot, path.dirname(lockPath)]));
    constraints = all.stdout
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => /^[A-Za-z0-9][A-Za-z0-9._-]*==/.test(line));
    pyinstaller = constraints.map((line) => /^pyinstaller==([^\s;]+)/i.exec(line)?.[1]).find(Boolean);
  }
  const constraintsFile = path.join(workDir, 'constraints.txt');
  await fs.writeFile(constraintsFile, constraints.filter((line) => !/^pyinstaller==/i.test(line)).join('\n') + '\n');
  const where = path.relative(project.workspaceRoot, venvDir);
  const unhashed = requirements.filter((r) => r.hashes.length === 0);
  if (requirements.length) {
    const checked = unhashed.length === 0 ? ', hashes checked' : unhashed.length < requirements.length ? `, hashes checked but for ${unhashed.map((r) => r.name).join(', ')}` : '';
    log(`installing the ${requirements.length} packages ${source} pins (uv ${MANAGED_UV_VERSION}, --no-deps${checked})`);
    if (unhashed.length) log(`no hash in ${source} for ${unhashed.map((r) => r.name).join(', ')}: installed without a hash check`);
  }
  for (const [n, batch] of installBatches(requirements).entries()) {
    const file = path.join(workDir, `locked-${n}.txt`);
    await fs.writeFile(file, batch.requirements.map((r) => [r.requirement, ...r.hashes.map((h) => `--hash=${h}`)].join(' ')).join('\n') + '\n');
    const hashes = batch.hashed ? ['--require-hashes'] : [];
    if (batch.index) log(`from the source "${batch.index.name}" only: ${batch.requirements.map((r) => r.name).join(', ')}`);
    await runChecked(
      uv,
      // A named source's packages: its index alone, no configuration file may add another.
      ['pip', 'install', '--python', python, '--no-deps', ...hashes, ...(batch.index ? ['--no-config'] : []), '-r', file],
      `installing ${source} into ${where}${batch.index ? ` from the source "${batch.index.name}"` : ''}`,
      { cwd: project.absRoot, env: batch.index ? indexOnlyEnvironment(uvEnv, batch.index) : uvEnv },
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

interface InstallBatch {
  index?: LockedIndex;
  hashed: boolean;
  requirements: LockedRequirement[];
}

/**
 * One uv call per (source, hashed or not): --require-hashes applies to every line of a call, so a line the lock
 * has no hash for (a git dependency) goes into a call of its own instead of switching the check off for all.
 */
export function installBatches(requirements: LockedRequirement[]): InstallBatch[] {
  const batches = new Map<string, InstallBatch>();
  for (const requirement of requirements) {
    const hashed = requirement.hashes.length > 0;
    const key = `${requirement.index?.url ?? ''} ${requirement.index?.name ?? ''} ${hashed}`;
    const batch = batches.get(key) ?? { ...(requirement.index ? { index: requirement.index } : {}), hashed, requirements: [] };
    batch.requirements.push(requirement);
    batches.set(key, batch);
  }
  return [...batches.values()];
}

/** uv's environment for a named source: that index as the only one, with its credentials; no find-links. */
export function indexOnlyEnvironment(env: NodeJS.ProcessEnv, index: LockedIndex): NodeJS.ProcessEnv {
  const only: NodeJS.ProcessEnv = { ...env, UV_DEFAULT_INDEX: indexUrlWithCredentials(index, env) };
  for (const name of ['UV_INDEX', 'UV_INDEX_URL', 'UV_EXTRA_INDEX_URL', 'UV_FIND_LINKS', 'PIP_FIND_LINKS', 'PIP_EXTRA_INDEX_URL']) delete only[name];
  return only;
}

/** The named `[[tool.uv.index]]` entries of the pyproject.toml files in `folders`: name -> url. */
async function uvIndexes(folders: string[]): Promise<Record<string, string>> {
  const indexes: Record<string, string> = {};
  for (const folder of new Set(folders)) {
    const text = await fs.readFile(path.join(folder, 'pyproject.toml'), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    for (const index of (parseToml(text, path.join(folder, 'pyproject.toml')).tool?.uv?.index ?? []) as { name?: string; url?: string }[]) {
      if (index.name && index.url) indexes[index.name] = index.url;
    }
  }
  return indexes;
}

/**
 * A requirements file that pins every line with == is a lock only when it pins every package installed: it is
 * installed with --no-deps, then `pip check` names what its packages need and it lacks. Then it is not a lock:
 * the build says so once, and installs with resolution, as for a service without a lock.
 */
export async function installPinnedRequirements(project: ProjectRef, metadata: PythonProjectMetadata, python: string, installArgs: string[], log: (message: string) => void): Promise<void> {
  const pip = (args: string[], what: string) =>
    runChecked(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', ...args], what, { cwd: project.absRoot, env: { ...process.env, PIP_NO_INPUT: '1' } });
  const files = metadata.requirementFiles;
  log(`installing what ${files.join(', ')} pins (pip, --no-deps)`);
  await pip(['--no-deps', ...files.flatMap((file) => ['-r', file])], `pip install --no-deps ${files.join(' ')}`);
  const check = await run(python, ['-m', 'pip', 'check', '--disable-pip-version-check'], { cwd: project.absRoot });
  const missing = notInstalledDependencies(`${check.stdout}\n${check.stderr}`);
  if (missing.length) {
    const where = project.root || '.';
    logger.warn(
      `stigmer: ${where}/${files.join(', ')} pins only some of the packages ${project.name} installs (not ${missing.join(', ')}), so it is not a lock: this build resolves the rest anew; pin every package with "pip freeze > requirements.txt" from a working environment (or lock with uv or Poetry).`,
    );
  }
  await pip(installArgs, `pip install into ${path.relative(project.workspaceRoot, path.dirname(path.dirname(python)))}`);
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
  if (locked.ambiguous.length) {
    const where = project.root || '.';
    throw new StigmerError(`${where}/poetry.lock pins ${locked.ambiguous.join(', ')} at two versions without the markers that choose one: run "poetry lock" with Poetry 2 in ${where} (its locks keep them) and commit poetry.lock.`);
  }
  return locked;
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
