import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { run } from '../../../utils/process';
import { STIGMER_VERSION } from '../../../utils/version';

/** What one run of the build's interpreter says about itself. */
export interface InterpreterFacts {
  python: string;
  /** PyInstaller's version; undefined when it cannot be imported. */
  pyinstaller?: string;
  /** Where its distributions are installed (purelib and platlib). */
  sitePackages: string[];
}

/** One process for every fact the build needs (PyInstaller is imported once, not once per check). */
const PROBE = [
  'import json, sys, sysconfig',
  'try:',
  '    import PyInstaller',
  '    pyinstaller = PyInstaller.__version__',
  'except Exception:',
  '    pyinstaller = None',
  'paths = sysconfig.get_paths()',
  'print(json.dumps({"python": sys.version.split()[0], "pyinstaller": pyinstaller, "sitePackages": sorted({paths["purelib"], paths["platlib"]})}))',
].join('\n');

export type ProbeOutcome = { ran: false } | { ran: true; facts: InterpreterFacts; fromStamp: boolean };

/**
 * What stands behind a virtual environment's facts, as one digest: the interpreter file the venv runs (resolved
 * through its symlink: size, mtime, inode), its pyvenv.cfg, and for each site-packages folder its mtime and the
 * sorted names in it (every install, upgrade or removal of a distribution adds, renames or removes a
 * `<name>-<version>.dist-info` there). Undefined for an interpreter that is not in a venv: a bare name, a pyenv
 * shim or a system Python can change behind the same path, so it is probed every time.
 */
export async function venvState(python: string, sitePackages: string[]): Promise<string | undefined> {
  if (!path.isAbsolute(python)) return undefined;
  const venv = path.dirname(path.dirname(python));
  const config = await fs.readFile(path.join(venv, 'pyvenv.cfg'), 'utf8').catch(() => undefined);
  if (config === undefined) return undefined;
  const hash = createHash('sha256').update(`stigmer ${STIGMER_VERSION}\n${PROBE}\n${python}\n${config}\n`);
  try {
    const real = await fs.realpath(python);
    const interpreter = await fs.stat(real);
    hash.update(`${real} ${interpreter.size} ${interpreter.mtimeMs} ${interpreter.ino}\n`);
    for (const folder of sitePackages) {
      const stat = await fs.stat(folder);
      hash.update(`${folder} ${stat.mtimeMs}\n${(await fs.readdir(folder)).sort().join('\n')}\n`);
    }
  } catch {
    return undefined;
  }
  return hash.digest('hex');
}

/** Where the facts last probed for an interpreter are kept, with the state they were probed in. */
export function probeStampFile(workspaceRoot: string, python: string): string {
  return path.join(workspaceRoot, '.stigmer', 'probes', `${createHash('sha256').update(python).digest('hex').slice(0, 16)}.json`);
}

/**
 * The interpreter's facts. A venv interpreter whose state (venvState) is what it was when PyInstaller was last
 * found in it is not run again: its facts are read from the stamp. Anything else runs the probe, and a probe that
 * found PyInstaller in a venv writes the stamp.
 */
export async function probeInterpreter(python: string, workspaceRoot: string): Promise<ProbeOutcome> {
  const stampFile = probeStampFile(workspaceRoot, python);
  const stamp = (await fs.readJson(stampFile).catch(() => undefined)) as { state?: string; facts?: InterpreterFacts } | undefined;
  if (stamp?.state && stamp.facts?.pyinstaller && Array.isArray(stamp.facts.sitePackages)) {
    if ((await venvState(python, stamp.facts.sitePackages)) === stamp.state) return { ran: true, facts: stamp.facts, fromStamp: true };
  }
  // No bytecode written by the probe: it would change the state it is about to record.
  const result = await run(python, ['-c', PROBE], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } }).catch(() => undefined);
  const line = result?.exitCode === 0 ? result.stdout.trim().split(/\r?\n/).pop() : undefined;
  let parsed: { python?: string; pyinstaller?: string | null; sitePackages?: string[] } | undefined;
  try {
    parsed = line ? JSON.parse(line) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed?.python) return { ran: false };
  const facts: InterpreterFacts = { python: parsed.python, sitePackages: parsed.sitePackages ?? [], ...(parsed.pyinstaller ? { pyinstaller: parsed.pyinstaller } : {}) };
  const state = facts.pyinstaller ? await venvState(python, facts.sitePackages) : undefined;
  if (state) {
    await fs.outputJson(stampFile, { state, facts }).catch(() => undefined);
  } else {
    await fs.remove(stampFile).catch(() => undefined);
  }
  return { ran: true, facts, fromStamp: false };
}
