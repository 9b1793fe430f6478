/*
 * The toolchain part of a Python service's cache key, run by Nx as a runtime input:
 *   node <plugin>/dist/runtimes/python/environment/toolchain-key.js <projectRoot> [variant...]
 * where a variant is the python option, or {"python", "environment"} as JSON: the build target's options and
 * each of its configurations'. For each it resolves the interpreter the way build-binary does (environment
 * and python options, Poetry's environment or the one Poetry would create, uv's, base python3) and prints its
 * version, platform and machine with the stigmer version; for an explicit interpreter also a digest of the
 * distributions installed in it, since the build installs nothing there. A binary built by 3.12 is then never
 * restored for 3.11, whichever environment kind builds it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findOnPath } from '../../../utils/process';
import { satisfiesPythonConstraint } from '../project/pep440';
import { STIGMER_VERSION } from '../../../utils/version';
import { diskFiles } from '../../../utils/workspace-files';
import { readPythonProject } from '../project/project-metadata';

// The comment names the probe in a process list (and lets a test's wrapper interpreter recognise it).
const PROBE = 'import platform, sys; print(sys.version.split()[0], sys.platform, platform.machine())  # stigmer cache key';
/** For an interpreter stigmer does not install into: its distributions, as `pip list --format=freeze` names them, digested. */
const PACKAGES_PROBE = [
  'import hashlib, importlib.metadata as m, platform, sys',
  'installed = sorted({"%s==%s" % (d.metadata["Name"], d.version) for d in m.distributions() if d.metadata["Name"]})',
  'print(sys.version.split()[0], sys.platform, platform.machine(), "packages", hashlib.sha256("\\n".join(installed).encode()).hexdigest()[:16])  # stigmer cache key',
].join('\n');

/** What decides the interpreter of one build: the python and environment options of the target (or a configuration). */
export interface KeyVariant {
  python?: string;
  environment?: string;
}

function output(command: string, args: string[], cwd: string): string | undefined {
  const result = spawnSync(command, args, { cwd, env: process.env, encoding: 'utf8', shell: false, windowsHide: true, timeout: 60_000 });
  const text = result.status === 0 ? result.stdout.trim().split(/\r?\n/).pop()?.trim() : undefined;
  return text || undefined;
}

function basePython(): string {
  return process.platform === 'win32' ? 'python' : 'python3';
}

function venvPython(venv: string): string {
  return process.platform === 'win32' ? path.join(venv, 'Scripts', 'python.exe') : path.join(venv, 'bin', 'python');
}

/**
 * The `python` option as a command to spawn: a path with a folder in it is relative to the workspace root (as Nx
 * options are), made absolute so that the build, its probes and the cache key all run the same file whatever
 * their working folder; a bare name (python3.12) stays a PATH lookup.
 */
export function pythonOptionCommand(option: string, workspaceRoot: string): string {
  return /[\\/]/.test(option) ? path.resolve(workspaceRoot, option) : option;
}

/**
 * The folder of the uv.lock that pins the service, as build-binary finds it: beside the service, or at the root
 * of the uv workspace it is a member of (searched up to the Nx workspace root); undefined when none.
 */
function uvLockFolder(projectDir: string, workspaceRoot: string): string | undefined {
  const relative = path.relative(workspaceRoot, projectDir);
  const inside = !relative.startsWith('..') && !path.isAbsolute(relative);
  try {
    const location = { files: diskFiles(inside ? workspaceRoot : projectDir), projectRoot: inside ? relative.split(path.sep).join('/') : '' };
    const service = diskFiles(projectDir);
    const lock = readPythonProject((file) => service.read(file), location).uvLock;
    return lock === undefined ? undefined : path.dirname(path.join(projectDir, lock));
  } catch {
    return fs.existsSync(path.join(projectDir, 'uv.lock')) ? projectDir : undefined; // an unreadable pyproject.toml: the build says what is wrong
  }
}

/**
 * The interpreter Poetry would create the service's environment from, when it has none yet (what `poetry
 * install` does): Poetry's own interpreter with virtualenvs.use-poetry-python, else the active python3/python on
 * PATH when it satisfies the service's python constraint, else the newest python3.N on PATH that does.
 */
function poetryCreationPython(projectDir: string): string {
  if (output('poetry', ['config', 'virtualenvs.use-poetry-python', '--no-interaction'], projectDir) === 'true') {
    const script = findOnPath('poetry');
    const shebang = script ? /^#!\s*(\S+)/.exec(fs.readFileSync(script, 'utf8').slice(0, 500)) : null;
    if (shebang) return shebang[1];
  }
  let constraint: string | undefined;
  try {
    constraint = readPythonProject((file) => diskFiles(projectDir).read(file), { files: diskFiles(projectDir), projectRoot: '' }).pythonConstraint;
  } catch {
    constraint = undefined; // an unreadable pyproject.toml: the build says what is wrong
  }
  const version = (python: string) => output(python, ['-c', 'import sys; print(sys.version.split()[0])'], projectDir);
  for (const active of [basePython(), 'python']) {
    const found = findOnPath(active) ? version(active) : undefined;
    if (found) {
      if (satisfiesPythonConstraint(found, constraint)) return active;
      break;
    }
  }
  for (let minor = 20; minor >= 8; minor -= 1) {
    const candidate = `python3.${minor}`;
    const found = findOnPath(candidate) ? version(candidate) : undefined;
    if (found && satisfiesPythonConstraint(found, constraint)) return candidate;
  }
  return basePython();
}

/** The interpreter build-binary would use for the service in `projectDir`, and the kind that chose it. */
export function resolveKeyInterpreter(projectDir: string, variant?: string | KeyVariant, workspaceRoot = process.cwd()): { kind: string; python: string } {
  const { python: pythonOption, environment = 'auto' } = typeof variant === 'string' ? { python: variant } : (variant ?? {});
  // Nx runs this script from the workspace root (the default), the folder a relative python option is relative to.
  if (environment === 'interpreter' || (environment === 'auto' && pythonOption)) {
    return { kind: 'interpreter', python: pythonOptionCommand(pythonOption ?? basePython(), workspaceRoot) };
  }
  const has = (file: string) => fs.existsSync(path.join(projectDir, file));
  if (environment === 'managed') return { kind: 'managed', python: basePython() };
  if (environment === 'poetry' || (environment === 'auto' && has('poetry.lock') && findOnPath('poetry'))) {
    // Poetry's environment lives outside the workspace; without one yet, the one Poetry would create.
    return { kind: 'poetry', python: output('poetry', ['env', 'info', '--executable', '--no-interaction'], projectDir) ?? poetryCreationPython(projectDir) };
  }
  const uvFolder = findOnPath('uv') ? (uvLockFolder(projectDir, workspaceRoot) ?? (environment === 'uv' ? projectDir : undefined)) : undefined;
  if (uvFolder) {
    // uv's project environment is beside the lock: the uv workspace's root for a member.
    const local = venvPython(path.join(uvFolder, '.venv'));
    if (!process.env.UV_PROJECT_ENVIRONMENT && fs.existsSync(local)) return { kind: 'uv', python: local };
    return { kind: 'uv', python: output('uv', ['python', 'find'], projectDir) ?? basePython() };
  }
  return { kind: 'managed', python: basePython() };
}

/** One line for every variant (the target's options, then each configuration's), so that none can give a stale hit. */
export function toolchainKey(projectDir: string, variants?: string | KeyVariant | Array<string | KeyVariant>): string {
  const list = Array.isArray(variants) ? (variants.length ? variants : [undefined]) : [variants];
  const seen = new Map<string, string>();
  for (const variant of list) {
    const { kind, python } = resolveKeyInterpreter(projectDir, variant);
    const id = `${kind} ${python}`;
    if (seen.has(id)) continue;
    const probed = output(python, ['-c', kind === 'interpreter' ? PACKAGES_PROBE : PROBE], projectDir) ?? `no ${python}`;
    seen.set(id, `${probed} ${kind}`);
  }
  return `${[...seen.values()].join('; ')} stigmer ${STIGMER_VERSION}`;
}

/** A word for the shell Nx runs the command with: POSIX single quotes (each ' as '\''); double quotes for cmd.exe. */
export function shellQuote(word: string, platform: NodeJS.Platform = process.platform): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word) || (platform === 'win32' && /^[A-Za-z0-9_./:\\-]+$/.test(word))) return word;
  return platform === 'win32' ? `"${word.replace(/"/g, '""')}"` : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command-line word of a variant: the bare python option when that is all it sets (JSON otherwise, `{}` for none). */
function variantWord(variant: KeyVariant): string {
  if (!variant.environment && variant.python) return variant.python;
  return JSON.stringify({ ...(variant.python ? { python: variant.python } : {}), ...(variant.environment ? { environment: variant.environment } : {}) });
}

/** The command Nx runs for the key: node, this script and its arguments, each quoted for the shell. */
export function toolchainKeyCommand(projectRoot: string, variants?: string | KeyVariant[]): string {
  const list = typeof variants === 'string' ? [{ python: variants }] : (variants ?? []);
  const unique = [...new Set(list.map(variantWord))];
  // The plain case (no option anywhere) stays `node toolchain-key.js <root>`.
  const words = unique.length === 1 && unique[0] === '{}' ? [] : unique;
  return ['node', path.join(__dirname, 'toolchain-key.js'), projectRoot || '.', ...words].map((word) => shellQuote(word)).join(' ');
}

if (require.main === module) {
  const [projectRoot = '.', ...words] = process.argv.slice(2);
  const variants = words.map((word) => (word.startsWith('{') ? (JSON.parse(word) as KeyVariant) : word));
  process.stdout.write(`${toolchainKey(path.resolve(projectRoot), variants)}\n`);
}
