import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';

/** The ELF section names of a file, as binutils' readelf lists them. */
export function sectionNames(file: string): string[] {
  const result = spawnSync('readelf', ['-S', '-W', file], { encoding: 'utf8' });
  if (result.error || result.status !== 0) throw new Error(`readelf -S ${file} failed (install binutils): ${result.error?.message ?? result.stderr}`);
  return [...result.stdout.matchAll(/^\s*\[\s*\d+\]\s+(\S+)/gm)].map((match) => match[1]);
}

/** Sections that `strip` removes: the symbol table and DWARF debug info. */
export function symbolSections(file: string): string[] {
  return sectionNames(file).filter((name) => name === '.symtab' || name.startsWith('.debug_'));
}

/** An empty temporary folder (removed by the caller). */
export function emptyFolder(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `stigmer-${prefix}-`));
}

/**
 * Runs a program in `cwd` with an empty environment but PATH=/usr/bin:/bin and HOME=cwd, as a daemon on
 * another machine would: nothing of the workspace, the build's Python or the test's environment is reachable.
 */
export function isolatedRun(program: string, args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(program, args, { cwd, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: cwd }, timeout: 60000 });
  if (result.error) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

// Extracts the entries of a PyInstaller executable's archive whose names match a pattern (the PKG appended to
// the executable, read by PyInstaller's own reader, as packages/stigmer/python/list_archive.py does).
const EXTRACT_MEMBERS = `
import json, os, re, sys
from PyInstaller.archive.readers import CArchiveReader
archive = CArchiveReader(sys.argv[1])
pattern = re.compile(sys.argv[2])
written = []
for name in archive.toc:
    if pattern.fullmatch(name):
        target = os.path.join(sys.argv[3], os.path.basename(name))
        with open(target, "wb") as out:
            out.write(archive.extract(name))
        written.append(target)
print(json.dumps(written))
`;

/** Writes the archive members of a PyInstaller executable matching `pattern` into `folder`; returns their paths. */
export function extractPyInstallerMembers(python: string, executable: string, pattern: string, folder: string): string[] {
  const result = spawnSync(python, ['-c', EXTRACT_MEMBERS, executable, pattern, folder], { encoding: 'utf8' });
  if (result.error || result.status !== 0) throw new Error(`reading the archive of ${executable} with ${python} failed: ${result.error?.message ?? result.stderr}`);
  return JSON.parse(result.stdout);
}

/** The shared libpython of an interpreter (what PyInstaller bundles), from its own sysconfig. */
export function libpythonOf(python: string): string {
  const code = "import os, sysconfig; print(os.path.join(sysconfig.get_config_var('LIBDIR'), sysconfig.get_config_var('INSTSONAME')))";
  const result = spawnSync(python, ['-c', code], { encoding: 'utf8' });
  if (result.error || result.status !== 0) throw new Error(`${python} could not name its libpython: ${result.error?.message ?? result.stderr}`);
  return fs.realpathSync(result.stdout.trim());
}
