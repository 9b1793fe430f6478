// Typed view of scripts/test-workspace.js, the workspace helper shared with the benchmarks.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const shared = require('../../../scripts/test-workspace.js');

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for assertions on what a user sees. */
  output: string;
  ms: number;
}

export interface Workspace {
  readonly root: string;
  path(...parts: string[]): string;
  run(command: string, args: string[], env?: NodeJS.ProcessEnv): CommandResult;
  mustRun(command: string, args: string[], env?: NodeJS.ProcessEnv): CommandResult;
  nx(args: string[], env?: NodeJS.ProcessEnv): CommandResult;
  mustNx(args: string[], env?: NodeJS.ProcessEnv): CommandResult;
  commit(message: string): void;
  addExamplePythonService(): void;
  read(relative: string): string;
  write(relative: string, content: string): void;
  remove(): void;
}

export const Workspace: { create(name: string): Workspace } = shared.Workspace;
export const REPO_ROOT: string = shared.REPO_ROOT;
/** Runs a program with an argument array in a folder (never a shell). */
export const exec: (command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv) => CommandResult = shared.exec;
/** The bin folder of the pinned Poetry and uv of scripts/test-tools.js (throws with the fix when missing). */
export const toolsBin: () => string = shared.toolsBin;
/** pip's index URL and certificate file on this machine, read at test time. */
export const pipIndex: () => { url: string; cert?: string } = shared.pipIndex;
/** Environment for Poetry and uv: pip's index for uv, pip's certificates for both. */
export const pythonToolsEnv: () => Record<string, string> = shared.pythonToolsEnv;
/** `poetry source add …` arguments making pip's index the project's primary Poetry source. */
export const poetrySourceArgs: () => string[] = shared.poetrySourceArgs;

/** Locked package versions of a poetry.lock or uv.lock: name -> version. */
export function lockedVersions(lock: string): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const match of lock.matchAll(/^\[\[package\]\]\r?\nname = "([^"]+)"\r?\nversion = "([^"]+)"/gm)) versions[match[1]] = match[2];
  return versions;
}
