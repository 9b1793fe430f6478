import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { StigmerError } from './errors';

/** What a daemon needs to pick and verify a binary, written beside it as `<binary>.manifest.json`. */
export interface BinaryManifest {
  name: string;
  version: string;
  os: string;
  arch: string;
  size: number;
  sha256: string;
  runtime: string;
  /** 'onefile': the file is the executable. 'onedir': the file is a .tar.gz; unpack it and run `entrypoint`. */
  layout: 'onefile' | 'onedir';
  /** Posix path inside the archive of the executable to run (onedir only). */
  entrypoint?: string;
  /** Versions of the tools that made the binary, e.g. { python: '3.11.7', pyinstaller: '6.22.3' }. */
  runtimeVersions: Record<string, string>;
  builtBy: string;
}

/** Side files of a binary, in the order they are written. */
export function sideFiles(binaryPath: string): { checksum: string; manifest: string } {
  return { checksum: `${binaryPath}.sha256`, manifest: `${binaryPath}.manifest.json` };
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes `<binary>.sha256` (sha256sum format) and `<binary>.manifest.json` beside the binary. */
export async function writeSideFiles(
  binaryPath: string,
  fields: Omit<BinaryManifest, 'size' | 'sha256' | 'name'> & { name?: string },
): Promise<BinaryManifest> {
  const sha256 = await sha256File(binaryPath);
  const { size } = await fs.stat(binaryPath);
  const manifest: BinaryManifest = { name: fields.name ?? path.basename(binaryPath), ...fields, size, sha256 };
  const files = sideFiles(binaryPath);
  await fs.writeFile(files.checksum, `${sha256}  ${path.basename(binaryPath)}\n`);
  await fs.writeJson(files.manifest, manifest, { spaces: 2 });
  return manifest;
}

/**
 * A private folder beside the final outputs, on the same file system so that moving a finished binary into
 * place is one rename. Nothing in it is ever mistaken for a result; it is removed on every exit path.
 */
export async function createStagingDir(outputDir: string): Promise<string> {
  const dir = path.join(outputDir, `.stigmer-staging-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await fs.ensureDir(dir);
  } catch (error) {
    throw new StigmerError(`cannot write into ${outputDir} (${(error as NodeJS.ErrnoException).code ?? error}): ${OUTPUT_FIXES[(error as NodeJS.ErrnoException).code ?? ''] ?? 'make it a writable folder'}.`);
  }
  return dir;
}

const OUTPUT_FIXES: Record<string, string> = {
  ENOTDIR: 'a file stands where the output folder should be: move it away',
  EEXIST: 'a file stands where the output folder should be: move it away',
  EACCES: 'give the build write permission on it',
  EPERM: 'give the build write permission on it',
  EROFS: 'the file system is read-only: build in a writable checkout',
  ENOSPC: 'the disk is full: free some space',
};

/**
 * Moves the binary and its side files from the staging folder into the output folder. The side files go
 * first and the binary last, so an interruption never leaves a new binary with an old checksum.
 */
export async function promoteFromStaging(stagingBinary: string, finalBinary: string): Promise<void> {
  const staged = sideFiles(stagingBinary);
  const final = sideFiles(finalBinary);
  await fs.move(staged.checksum, final.checksum, { overwrite: true });
  await fs.move(staged.manifest, final.manifest, { overwrite: true });
  await fs.move(stagingBinary, finalBinary, { overwrite: true });
}

/** Removes the binary and its side files; returns the paths that existed. */
export async function removeBinary(binaryPath: string): Promise<string[]> {
  const removed: string[] = [];
  for (const file of [binaryPath, ...Object.values(sideFiles(binaryPath))]) {
    if (await fs.pathExists(file)) {
      await fs.remove(file);
      removed.push(file);
    }
  }
  return removed;
}

/** The OS and arch names of Node (linux/darwin/win32, x64/arm64) as the manifest reports them. */
export function hostTarget(): { os: string; arch: string } {
  return { os: process.platform, arch: process.arch };
}
