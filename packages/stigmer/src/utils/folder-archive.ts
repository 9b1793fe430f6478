import * as path from 'node:path';
import * as fs from 'fs-extra';
import * as tar from 'tar';
import { StigmerError } from './errors';

/** Every entry's mtime: a fixed date, so the same folder always gives the same archive bytes. */
const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');

/** Every path under `root` (folders before their contents, symlinks not followed), posix, in byte order. */
export function folderEntries(root: string, base = path.basename(root)): string[] {
  const entries = [base];
  const children = fs.readdirSync(root).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const child of children) {
    const absolute = path.join(root, child);
    const relative = `${base}/${child}`;
    if (fs.lstatSync(absolute).isDirectory()) entries.push(...folderEntries(absolute, relative));
    else entries.push(relative);
  }
  return entries;
}

/**
 * Packs `folder` into a gzipped tar whose only top-level entry is the folder itself. Reproducible: entries in
 * byte order, one fixed mtime, no owner ids or names, so the same files give the same sha256 on every build.
 */
export async function packFolder(folder: string, archive: string): Promise<void> {
  await tar.create(
    { gzip: true, file: archive, cwd: path.dirname(folder), portable: true, mtime: FIXED_MTIME, noDirRecurse: true, strict: true },
    folderEntries(folder),
  );
}

/**
 * Unpacks a .tar.gz into `destination` (which must exist); entries pointing outside it are refused by tar.
 * The whole archive is read once before anything is written: a damaged one fails with nothing unpacked
 * (and no write still under way when the caller removes the folder).
 */
export async function unpackArchive(archive: string, destination: string): Promise<void> {
  try {
    await tar.list({ file: archive, strict: true });
    await tar.extract({ file: archive, cwd: destination, strict: true, preserveOwner: false });
  } catch (error) {
    throw new StigmerError(`${path.basename(archive)} is not a readable .tar.gz (${(error as Error).message}): rebuild it with build-binary.`);
  }
}

