import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';

export const REPO_ROOT = path.join(__dirname, '..', '..', '..');

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for assertions on what a user sees. */
  output: string;
  ms: number;
}

/** Runs a program with an argument array (never a shell). */
export function exec(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): CommandResult {
  const started = Date.now();
  const result: SpawnSyncReturns<string> = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', FORCE_COLOR: '0', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, output: `${result.stdout}\n${result.stderr}`, ms: Date.now() - started };
}

/** The tarball `npm run package` wrote: what users install. */
export function pluginTarball(): string {
  const dist = path.join(REPO_ROOT, 'dist');
  const tarball = fs.existsSync(dist) ? fs.readdirSync(dist).find((f) => /^stigmer-.*\.tgz$/.test(f)) : undefined;
  if (!tarball) throw new Error('dist/stigmer-<version>.tgz is missing: run `npm run package` first (npm run test:e2e does).');
  return path.join(dist, tarball);
}

export class Workspace {
  private constructor(readonly root: string) {}

  /**
   * A fresh Nx workspace in a temporary folder, a git repository with one commit, with nx and the packed
   * plugin installed from the tarball, as a user would have it after `npm i -D stigmer`.
   */
  static create(name: string): Workspace {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `stigmer-e2e-${name}-`));
    const nxVersion = require(path.join(REPO_ROOT, 'package.json')).devDependencies.nx as string;
    fs.writeJsonSync(path.join(root, 'package.json'), { name: `e2e-${name}`, version: '0.0.0', private: true }, { spaces: 2 });
    fs.writeJsonSync(path.join(root, 'nx.json'), { $schema: './node_modules/nx/schemas/nx-schema.json' }, { spaces: 2 });
    fs.writeFileSync(path.join(root, '.gitignore'), 'node_modules\n.nx/cache\n.nx/workspace-data\n');
    const workspace = new Workspace(root);
    workspace.mustRun('npm', ['install', '--save-dev', '--no-audit', '--no-fund', '--prefer-offline', `nx@${nxVersion}`, pluginTarball()]);
    workspace.mustRun('git', ['init', '-q']);
    workspace.commit('workspace');
    return workspace;
  }

  path(...parts: string[]): string {
    return path.join(this.root, ...parts);
  }

  run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): CommandResult {
    return exec(command, args, this.root, env);
  }

  /** Runs a command that must succeed; a failure shows its output. */
  mustRun(command: string, args: string[], env: NodeJS.ProcessEnv = {}): CommandResult {
    const result = this.run(command, args, env);
    if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}:\n${result.output.slice(-4000)}`);
    return result;
  }

  nx(args: string[], env: NodeJS.ProcessEnv = {}): CommandResult {
    return this.run(this.path('node_modules', '.bin', 'nx'), args, env);
  }

  mustNx(args: string[], env: NodeJS.ProcessEnv = {}): CommandResult {
    return this.mustRun(this.path('node_modules', '.bin', 'nx'), args, env);
  }

  commit(message: string): void {
    this.mustRun('git', ['add', '-A']);
    this.mustRun('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@example.invalid', 'commit', '-q', '--allow-empty', '-m', message]);
  }

  /** Copies the repository's example Python service and its local library into the workspace, without any stigmer file. */
  addExamplePythonService(): void {
    fs.copySync(path.join(REPO_ROOT, 'examples', 'libs', 'graphton'), this.path('services', 'libs', 'graphton'), { filter: notGenerated });
    fs.copySync(path.join(REPO_ROOT, 'examples', 'agent-runner'), this.path('services', 'agent-runner'), { filter: notGenerated });
    // Back to the service as it was before stigmer: no spec, no ignore file, no PyInstaller declared.
    fs.removeSync(this.path('services', 'agent-runner', 'agent-runner.spec'));
    fs.removeSync(this.path('services', 'agent-runner', '.gitignore'));
    const pyproject = this.path('services', 'agent-runner', 'pyproject.toml');
    fs.writeFileSync(pyproject, fs.readFileSync(pyproject, 'utf8').replace(/^pyinstaller = .*\n/m, ''));
    for (const project of ['services/agent-runner/project.json', 'services/libs/graphton/project.json']) {
      const file = this.path(project);
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/"\$schema": "[^"]*",\n\s*/, ''));
    }
  }

  read(relative: string): string {
    return fs.readFileSync(this.path(relative), 'utf8');
  }

  write(relative: string, content: string): void {
    fs.outputFileSync(this.path(relative), content);
  }

  remove(): void {
    if (!process.env.STIGMER_E2E_KEEP) fs.removeSync(this.root);
  }
}

function notGenerated(source: string): boolean {
  return !/(^|[\\/])(dist|build|\.venv|__pycache__|[^\\/]+\.egg-info)([\\/]|$)/.test(source);
}
