import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import * as tar from 'tar';
import { StigmerError } from '../../utils/errors';
import { withFileLock } from '../../utils/lock';
import { runChecked } from '../../utils/process';
import type { NodePlatform } from './sea-spec';

/**
 * A Node runtime executable for a platform and version: the Node that runs Nx when it matches, else the
 * npm registry's node-<os>-<arch> package of that exact version, fetched once into
 * <workspace>/.stigmer/node-runtimes (npm verifies the package's integrity from the registry).
 */
export async function nodeRuntimeFor(platform: NodePlatform, version: string, workspaceRoot: string, hostPlatform: NodePlatform): Promise<string> {
  if (platform === hostPlatform && version === process.versions.node) return process.execPath;
  const dir = path.join(workspaceRoot, '.stigmer', 'node-runtimes', `${platform}-${version}`);
  const executable = path.join(dir, 'package', 'bin', platform.startsWith('win') ? 'node.exe' : 'node');
  await fetchNpmPackage(`node-${platform}@${version}`, dir, executable, 'pick another nodeVersion');
  return executable;
}

/**
 * Fetches an npm package (name@version) once into `dir` (unpacked, as `dir/package/...`), unless `file`
 * is there already; npm verifies its integrity from the registry. Node runtimes and Bun come this way.
 */
export async function fetchNpmPackage(packageName: string, dir: string, file: string, fix: string): Promise<void> {
  if (await fs.pathExists(file)) return;
  await withFileLock(`${dir}.lock`, async () => {
    if (await fs.pathExists(file)) return;
    const download = await fs.mkdtemp(path.join(os.tmpdir(), 'stigmer-npm-'));
    try {
      // `npm`, not `npm.cmd`: run() spawns through cross-spawn, which finds the Windows shim itself.
      const packed = await runChecked('npm', ['pack', packageName, '--silent', '--pack-destination', download], `downloading ${packageName} from the npm registry`).catch((error) => {
        throw new StigmerError(`cannot fetch ${packageName} from the npm registry (${(error as Error).message}): check the version and the registry access.`);
      });
      const tarball = path.join(download, packed.stdout.trim().split(/\r?\n/).pop() as string);
      const staging = `${dir}.partial-${process.pid}`;
      await fs.remove(staging);
      await fs.ensureDir(staging);
      await unpackTarball(tarball, staging);
      await fs.remove(dir);
      await fs.move(staging, dir);
    } finally {
      await fs.remove(download);
    }
  });
  if (!(await fs.pathExists(file))) throw new StigmerError(`the npm package ${packageName} holds no ${path.relative(dir, file)}: ${fix}.`);
}

/** Unpacks a .tgz with the `tar` npm package: no `tar` program needed on PATH (Windows has none before 10). */
export async function unpackTarball(tarball: string, destination: string): Promise<void> {
  await fs.ensureDir(destination);
  try {
    await tar.x({ file: tarball, cwd: destination, strict: true });
  } catch (error) {
    throw new StigmerError(`cannot unpack ${path.basename(tarball)} (${(error as Error).message}): remove it and build again to download it anew.`);
  }
}
