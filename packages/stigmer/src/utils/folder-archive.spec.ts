import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { sha256File } from './artifacts';
import { folderEntries, packFolder, unpackArchive } from './folder-archive';

describe('folder archives', () => {
  let work: string;

  beforeEach(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'stigmer-archive-'));
  });

  afterEach(() => fs.remove(work));

  /** A one-folder build: the executable, a library folder and a symlink, as PyInstaller lays them out. */
  async function writeBuild(root: string): Promise<string> {
    const folder = path.join(root, 'svc');
    await fs.outputFile(path.join(folder, 'svc'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
    await fs.outputFile(path.join(folder, '_internal', 'libpython3.11.so.1.0'), 'elf');
    await fs.outputFile(path.join(folder, '_internal', 'base_library.zip'), 'zip');
    await fs.outputFile(path.join(folder, '_internal', 'Z-last', 'a.txt'), 'a');
    await fs.symlink('libpython3.11.so.1.0', path.join(folder, '_internal', 'libpython3.11.so'));
    return folder;
  }

  it('lists folders before their contents, in byte order, without following symlinks', async () => {
    const folder = await writeBuild(work);
    expect(folderEntries(folder)).toEqual([
      'svc',
      'svc/_internal',
      'svc/_internal/Z-last',
      'svc/_internal/Z-last/a.txt',
      'svc/_internal/base_library.zip',
      'svc/_internal/libpython3.11.so',
      'svc/_internal/libpython3.11.so.1.0',
      'svc/svc',
    ]);
  });

  it('gives the same bytes for the same files, whatever their times', async () => {
    const first = await writeBuild(path.join(work, 'a'));
    const second = await writeBuild(path.join(work, 'b'));
    const later = new Date('2030-01-01T00:00:00Z');
    await fs.utimes(path.join(second, 'svc'), later, later);
    await packFolder(first, path.join(work, 'a.tar.gz'));
    await packFolder(second, path.join(work, 'b.tar.gz'));
    expect(await sha256File(path.join(work, 'a.tar.gz'))).toBe(await sha256File(path.join(work, 'b.tar.gz')));

    await fs.appendFile(path.join(second, '_internal', 'base_library.zip'), '!');
    await packFolder(second, path.join(work, 'c.tar.gz'));
    expect(await sha256File(path.join(work, 'c.tar.gz'))).not.toBe(await sha256File(path.join(work, 'a.tar.gz')));
  });

  it('unpacks to the same tree, with the execute bit and the symlink', async () => {
    const folder = await writeBuild(path.join(work, 'src'));
    await packFolder(folder, path.join(work, 'svc.tar.gz'));
    const target = path.join(work, 'out');
    await fs.ensureDir(target);
    await unpackArchive(path.join(work, 'svc.tar.gz'), target);
    expect((await fs.stat(path.join(target, 'svc', 'svc'))).mode & 0o111).not.toBe(0);
    expect(await fs.readlink(path.join(target, 'svc', '_internal', 'libpython3.11.so'))).toBe('libpython3.11.so.1.0');
    expect(folderEntries(path.join(target, 'svc'))).toEqual(folderEntries(folder));
  });

  it('refuses a damaged archive in one line that says to rebuild', async () => {
    const folder = await writeBuild(work);
    const archive = path.join(work, 'svc.tar.gz');
    await packFolder(folder, archive);
    const bytes = await fs.readFile(archive);
    await fs.writeFile(archive, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await fs.ensureDir(path.join(work, 'out'));
    await expect(unpackArchive(archive, path.join(work, 'out'))).rejects.toThrow(/^svc\.tar\.gz is not a readable \.tar\.gz \(.*\): rebuild it with build-binary\.$/);
    expect(fs.readdirSync(path.join(work, 'out'))).toEqual([]);
  });
});
