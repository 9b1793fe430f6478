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
