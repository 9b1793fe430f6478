/*
 * The toolchain part of a Python service's cache key, run by Nx as a runtime input:
 *   node <plugin>/dist/runtimes/python/toolchain-key.js <projectRoot> [python]
 * It resolves the interpreter the way build-binary does (python option, Poetry's environment, uv's, base
 * python3) and prints its version, platform and machine with the stigmer version. A binary built by 3.12
 * is then never restored for 3.11, whichever environment kind builds it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findOnPath } from '../../utils/process';
import { STIGMER_VERSION } from '../../utils/version';
import { diskFiles } from '../../utils/workspace-files';
import { readPythonProject } from './project-metadata';

// The comment names the probe in a process list (and lets a test's wrapper interpreter recognise it).
const PROBE = 'import platform, sys; print(sys.version.split()[0], sys.platform, platform.machine())  # stigmer cache key';

function output(command: string, args: string[], cwd: string): string | undefined {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', shell: false, windowsHide: true, timeout: 60_000 });
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

/** The interpreter build-binary would use for the service in `projectDir`, and the kind that chose it. */
export function resolveKeyInterpreter(projectDir: string, pythonOption?: string, workspaceRoot = process.cwd()): { kind: string; python: string } {
  // Nx runs this script from the workspace root (the default), the folder a relative python option is relative to.
  if (pythonOption) return { kind: 'interpreter', python: pythonOptionCommand(pythonOption, workspaceRoot) };
  const has = (file: string) => fs.existsSync(path.join(projectDir, file));
  if (has('poetry.lock') && findOnPath('poetry')) {
    // Poetry's environment lives outside the workspace; without one yet, Poetry would create it from python3.
    return { kind: 'poetry', python: output('poetry', ['env', 'info', '--executable', '--no-interaction'], projectDir) ?? basePython() };
  }
  const uvFolder = findOnPath('uv') ? uvLockFolder(projectDir, workspaceRoot) : undefined;
  if (uvFolder) {
    // uv's project environment is beside the lock: the uv workspace's root for a member.
    const local = venvPython(path.join(uvFolder, '.venv'));
    if (!process.env.UV_PROJECT_ENVIRONMENT && fs.existsSync(local)) return { kind: 'uv', python: local };
    return { kind: 'uv', python: output('uv', ['python', 'find'], projectDir) ?? basePython() };
  }
  return { kind: 'managed', python: basePython() };
}

export function toolchainKey(projectDir: string, pythonOption?: string): string {
  const { kind, python } = resolveKeyInterpreter(projectDir, pythonOption);
  const probed = output(python, ['-c', PROBE], projectDir) ?? `no ${python}`;
  return `${probed} ${kind} stigmer ${STIGMER_VERSION}`;
}

/** A word for the shell Nx runs the command with: POSIX single quotes (each ' as '\''); double quotes for cmd.exe. */
export function shellQuote(word: string, platform: NodeJS.Platform = process.platform): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word) || (platform === 'win32' && /^[A-Za-z0-9_./:\\-]+$/.test(word))) return word;
  return platform === 'win32' ? `"${word.replace(/"/g, '""')}"` : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command Nx runs for the key: node, this script and its arguments, each quoted for the shell. */
export function toolchainKeyCommand(projectRoot: string, pythonOption?: string): string {
  const words = ['node', path.join(__dirname, 'toolchain-key.js'), projectRoot || '.', ...(pythonOption ? [pythonOption] : [])];
  return words.map((word) => shellQuote(word)).join(' ');
}

if (require.main === module) {
  const [projectRoot = '.', pythonOption] = process.argv.slice(2);
  process.stdout.write(`${toolchainKey(path.resolve(projectRoot), pythonOption)}\n`);
}
