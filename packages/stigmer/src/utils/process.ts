import { ChildProcess, spawnSync } from 'node:child_process';
import crossSpawn from 'cross-spawn';
import { StigmerError } from './errors';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with each line the process prints (stdout and stderr), for progress. */
  onLine?: (line: string) => void;
  /** Kill the process (and fail) after this many milliseconds. */
  timeoutMs?: number;
  /** Text written to stdin, then closed. */
  input?: string;
}

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Every child we start, so a SIGINT/SIGTERM of the executor can stop them before cleaning up. */
const liveChildren = new Set<ChildProcess>();

/** Children lead their own process group on POSIX, so that killing the group reaches what they start (PyInstaller's, npm's children). */
const OWN_PROCESS_GROUP = process.platform !== 'win32';

/**
 * Kills a child and every process it started: its process group on POSIX, `taskkill /T` (the tree) on Windows.
 * Synchronous, so it is safe in a signal handler that exits right after.
 */
export function killProcessTree(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return;
  if (process.platform === 'win32') {
    spawnSync('taskkill', ['/pid', String(child.pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true });
    return;
  }
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already; the child itself may still be a zombie to reap.
    child.kill(signal);
  }
}

export function killLiveChildren(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const child of liveChildren) killProcessTree(child, signal);
}

/**
 * Runs a program with an argument array (never a shell), collecting its output.
 * A missing program becomes a StigmerError naming it. cross-spawn is plain spawn on POSIX; on Windows it
 * finds `npm.cmd`-style shims through PATHEXT and quotes their arguments for cmd.exe (spawning a .cmd
 * without a shell throws EINVAL on current Node).
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = crossSpawn(command, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      shell: false,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
      detached: OWN_PROCESS_GROUP,
    });
    liveChildren.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          killProcessTree(child, 'SIGKILL');
        }, options.timeoutMs)
      : undefined;
    const lineSplitter = () => {
      let pending = '';
      return (chunk: string) => {
        if (!options.onLine) return;
        pending += chunk;
        const lines = pending.split(/\r?\n/);
        pending = lines.pop() ?? '';
        lines.forEach((line) => options.onLine?.(line));
      };
    };
    const outLines = lineSplitter();
    const errLines = lineSplitter();
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      outLines(chunk);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      errLines(chunk);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      liveChildren.delete(child);
      if (timer) clearTimeout(timer);
      if (error.code === 'ENOENT') {
        reject(new StigmerError(`'${command}' was not found: install it or put it on PATH.`));
      } else if (error.code === 'EACCES') {
        reject(new StigmerError(`'${command}' cannot be executed (permission denied): check its execute bit.`));
      } else {
        reject(error);
      }
    });
    child.on('close', (exitCode, signal) => {
      liveChildren.delete(child);
      if (timer) clearTimeout(timer);
      resolve({ exitCode, signal, stdout, stderr, timedOut });
    });
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input ?? '');
  });
}

/** Runs a program and fails with `what` and its last output lines unless it exits 0. */
export async function runChecked(
  command: string,
  args: readonly string[],
  what: string,
  options: RunOptions = {},
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.exitCode !== 0) {
    const tail = lastLines(`${result.stdout}\n${result.stderr}`, 1);
    const how = result.timedOut ? 'timed out' : result.signal ? `was killed (${result.signal})` : `exited ${result.exitCode}`;
    throw new StigmerError(`${what} failed: ${command} ${how}${tail ? `: ${tail}` : ''}`);
  }
  return result;
}

/** The last non-empty lines of some output, joined with ' | ' (or another separator). */
export function lastLines(text: string, count: number, separator = ' | '): string {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-count)
    .join(separator);
}

/** The absolute path of a program on PATH, or undefined. Reads PATH only, spawns nothing. */
export function findOnPath(program: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  const extensions = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of extensions) {
      const candidate = path.join(dir, program + ext);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (fs.statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** Synchronous variant for quick probes (version strings). */
export function runSync(command: string, args: readonly string[], cwd?: string): string | undefined {
  const result = spawnSync(command, [...args], { cwd, encoding: 'utf8', shell: false, windowsHide: true });
  return result.status === 0 ? result.stdout.trim() : undefined;
}
