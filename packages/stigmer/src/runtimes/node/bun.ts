import * as path from 'node:path';
import * as fs from 'fs-extra';
import { runChecked } from '../../utils/process';
import { fetchNpmPackage } from './node-runtime';
import type { NodePlatform } from './sea-spec';

/** The Bun that compiles "engine": "bun" services: pinned, part of every Node service's cache key. */
export const BUN_VERSION = '1.4.5';

/** npm's @oven/bun-<os>-<arch> package and Bun's --target name of each platform. */
const BUN_PLATFORMS: Record<NodePlatform, { packageName: string; target: string }> = {
  'linux-x64': { packageName: '@oven/bun-linux-x64', target: 'bun-linux-x64' },
  'linux-arm64': { packageName: '@oven/bun-linux-aarch64', target: 'bun-linux-arm64' },
  'darwin-x64': { packageName: '@oven/bun-darwin-x64', target: 'bun-darwin-x64' },
  'darwin-arm64': { packageName: '@oven/bun-darwin-aarch64', target: 'bun-darwin-arm64' },
  'win-x64': { packageName: '@oven/bun-windows-x64', target: 'bun-windows-x64' },
};

export function bunTarget(platform: NodePlatform): string {
  return BUN_PLATFORMS[platform].target;
}

/**
 * The Bun executable of a platform, from npm's @oven/bun-<os>-<arch> package of the pinned version, fetched
 * once into <workspace>/.stigmer/bun (the `bun` package itself only points at these through optional
 * dependencies and an install script, which npm does not always run).
 */
export async function bunExecutableFor(platform: NodePlatform, workspaceRoot: string, version = BUN_VERSION): Promise<string> {
  const { packageName } = BUN_PLATFORMS[platform];
  const dir = path.join(workspaceRoot, '.stigmer', 'bun', `${platform}-${version}`);
  const executable = path.join(dir, 'package', 'bin', platform.startsWith('win') ? 'bun.exe' : 'bun');
  await fetchNpmPackage(`${packageName}@${version}`, dir, executable, 'pick another Bun version');
  return executable;
}

export interface BunCompileRequest {
  bundle: string;
  output: string;
  platform: NodePlatform;
  /** Bun for this machine: it compiles. */
  hostBun: string;
  /** Bun of the target platform: the executable the bundle is appended to (offline, no download by Bun). */
  targetBun: string;
  workDir: string;
  log: (line: string) => void;
}

/** The arguments of `bun build --compile` for a bundle (pure, for the tests). */
export function bunCompileArgs(request: Pick<BunCompileRequest, 'bundle' | 'output' | 'platform' | 'hostBun' | 'targetBun'>): string[] {
  return [
    'build',
    request.bundle,
    '--compile',
    '--minify',
    // Bytecode is only made for CommonJS: the bundle is CommonJS already.
    '--bytecode',
    '--format=cjs',
    `--target=${bunTarget(request.platform)}`,
    // Like a Node single executable, the binary reads no .env or bunfig.toml from the folder it runs in.
    '--no-compile-autoload-dotenv',
    '--no-compile-autoload-bunfig',
    ...(request.targetBun === request.hostBun ? [] : [`--compile-executable-path=${request.targetBun}`]),
    '--outfile',
    request.output,
  ];
}

/** Compiles the esbuild bundle into one executable with Bun's own compile step. */
export async function compileWithBun(request: BunCompileRequest): Promise<void> {
  const result = await runChecked(request.hostBun, bunCompileArgs(request), `compiling with bun ${BUN_VERSION} (bun build --compile)`, {
    cwd: request.workDir,
    // Bun's caches go under the work folder, not the user's home.
    env: { ...process.env, BUN_INSTALL_CACHE_DIR: path.join(request.workDir, 'bun-cache'), DO_NOT_TRACK: '1' },
  });
  `${result.stdout}\n${result.stderr}`.split(/\r?\n/).filter((line) => line.trim()).forEach(request.log);
  await fs.remove(path.join(request.workDir, 'bun-cache'));
}
