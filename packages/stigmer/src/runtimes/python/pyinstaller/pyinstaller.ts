import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { logger } from '@nx/devkit';
import { StigmerError } from '../../../utils/errors';
import { findOnPath, lastLines, run } from '../../../utils/process';
import type { Progress } from '../../../utils/progress';

/** The PyInstaller that managed environments get; generated specs and dev dependencies follow it. */
export const PYINSTALLER_VERSION = '6.22.3';
/** Pythons that PyInstaller 6 supports: the constraint written next to the dev dependency. */
export const PYINSTALLER_PYTHON = '>=3.8,<3.15';

/** Python helper scripts shipped with the plugin (packages/stigmer/python). */
export function helperScript(name: string): string {
  return path.join(__dirname, '..', '..', '..', '..', 'python', name);
}

export interface PyInstallerRun {
  python: string;
  specPath: string;
  distPath: string;
  workPath: string;
  clean: boolean;
  cwd: string;
  progress: Progress;
  timeoutMs?: number;
  /** Print PyInstaller's own log lines as they come. */
  verbose?: boolean;
  /** Folders of the service's own and local packages: a module there that does not compile fails the build. */
  sourceRoots?: string[];
  /** A one-file build's size report, made by the driver after the build (binary_report.py) into `output`. */
  report?: { output: string; service: string; executable: string; cache: string };
}

/** PyInstaller's own cache (stripped binaries) for one project, inside its work folder. */
export function pyInstallerCacheDir(workPath: string): string {
  return path.join(workPath, '.pyinstaller-cache');
}

/**
 * Runs PyInstaller on a spec through our driver (compression cache), turning its log into phases:
 * "analyse" until it starts writing archives, then "bundle".
 */
export async function runPyInstaller(request: PyInstallerRun): Promise<void> {
  const { progress } = request;
  progress.phase('analyse');
  let bundling = false;
  const missingHiddenImports: string[] = [];
  const unstripped: string[] = [];
  // PyInstaller keeps a file that strip failed on in its binary cache as if stripped, and every later build reuses
  // it. Without strip on PATH the build gets a throwaway cache, so installing binutils fixes the next one.
  const stripMissing = process.platform !== 'win32' && !findOnPath('strip');
  const throwawayCache = stripMissing ? fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-pyinstaller-cache-')) : undefined;
  const args = [
    helperScript('run_pyinstaller.py'),
    path.join(request.workPath, '.stigmer-archive-cache'),
    ...(request.report ? ['--stigmer-report', request.report.output, request.report.service, request.report.executable, request.report.cache] : []),
    '--noconfirm',
    '--log-level',
    'INFO',
    '--distpath',
    request.distPath,
    '--workpath',
    request.workPath,
    ...(request.clean ? ['--clean'] : []),
    request.specPath,
  ];
  let result: Awaited<ReturnType<typeof run>>;
  try {
    result = await run(request.python, args, {
      cwd: request.cwd,
      timeoutMs: request.timeoutMs,
      // Fixed hash seed: the same sources give the same bytes (PyInstaller's reproducible-build advice).
      // PyInstaller's cache of stripped binaries in the work folder, not the user's ~/.cache/pyinstaller: its
      // --clean empties that whole folder, which made any other build running at the time (another Nx task,
      // workspace or CI job) fail on a stripped library that vanished ("No such file ... bincache10...").
      env: { ...process.env, PYTHONHASHSEED: '0', PYTHONDONTWRITEBYTECODE: '1', PYINSTALLER_CONFIG_DIR: throwawayCache ?? pyInstallerCacheDir(request.workPath) },
      onLine: (line) => {
        if (request.verbose) console.log(line);
        // The driver's own lines (which analysis path, a cache switched off) are for the user even when quiet.
        else if (line.startsWith('stigmer: ')) logger.info(line);
        const stripFailed = /WARNING: Failed to run strip on '([^']+)'/.exec(line);
        if (stripFailed) unstripped.push(path.basename(stripFailed[1]));
        const missing = /ERROR: Hidden import '([^']+)' not found/.exec(line);
        if (missing) missingHiddenImports.push(missing[1]);
        if (!bundling && /Building (PYZ|PKG|EXE)|checking PYZ/.test(line)) {
          bundling = true;
          progress.phase('bundle');
        }
      },
    });
  } finally {
    if (throwawayCache) fs.rmSync(throwawayCache, { recursive: true, force: true });
  }
  if (result.timedOut) {
    throw new StigmerError(`PyInstaller did not finish within the timeout of ${Math.round((request.timeoutMs ?? 0) / 1000)}s: raise the "timeout" option or look for a hang in the spec.`);
  }
  if (result.exitCode !== 0) {
    if (!request.verbose) console.error(lastLines(result.stdout + '\n' + result.stderr, 30, '\n'));
    throw new StigmerError(`PyInstaller failed on ${path.basename(request.specPath)}: ${pyInstallerError(result.stdout + '\n' + result.stderr, request.cwd)}`);
  }
  await failOnInvalidSources(request);
  if (unstripped.length) logger.warn(`[stigmer] ${unstrippedNotice(unstripped, stripMissing, path.basename(request.specPath))}`);
  // PyInstaller only warns about a hidden import it cannot find; the binary would then fail at run time.
  // Hooks of third-party packages name optional modules too: only the spec's own names are an error.
  const specText = fs.readFileSync(request.specPath, 'utf8');
  const named = missingHiddenImports.filter((module) => specText.includes(`'${module}'`) || specText.includes(`"${module}"`));
  if (named.length) {
    throw new StigmerError(
      `${path.basename(request.specPath)} names ${named.map((m) => `'${m}'`).join(', ')}, which the build environment cannot import: install the package that provides it (a declared dependency?) or remove it from hiddenimports.`,
    );
  }
}

/**
 * PyInstaller only warns about a module of the service that does not compile ("invalid module named ..."),
 * and the binary then dies at run time with "No module named ...". Such a module in the service's own or
 * local packages fails the build, naming its file and line.
 */
async function failOnInvalidSources(request: PyInstallerRun): Promise<void> {
  const name = path.basename(request.specPath).replace(/\.spec$/, '');
  const warnings = await fs.promises.readFile(path.join(request.workPath, name, `warn-${name}.txt`), 'utf8').catch(() => '');
  for (const match of warnings.matchAll(/^invalid module named (\S+)/gm)) {
    const relative = match[1].replace(/\./g, path.sep);
    const file = (request.sourceRoots ?? [])
      .flatMap((root) => [path.join(root, `${relative}.py`), path.join(root, relative, '__init__.py')])
      .find((candidate) => fs.existsSync(candidate));
    if (!file) continue;
    const compiled = await run(request.python, ['-c', 'import sys; compile(open(sys.argv[1], "rb").read(), sys.argv[1], "exec")', file]);
    const where = path.relative(request.cwd, file);
    if (compiled.exitCode === 0) continue;
    const output = `${compiled.stdout}\n${compiled.stderr}`;
    const line = /File ".*", line (\d+)/.exec(output)?.[1];
    const message = output.split(/\r?\n/).map((l) => l.trim()).filter((l) => /^\w*(Error|Exception)\b/.test(l)).pop() ?? 'it does not compile';
    throw new StigmerError(`${message} in ${where}${line ? ` line ${line}` : ''} (module ${match[1]}, which the binary would lack): fix it and run again.`);
  }
}

/** One line for a build whose spec asks to strip but whose libraries ship unstripped (bigger, slower to start). */
export function unstrippedNotice(files: string[], stripMissing: boolean, specFile: string): string {
  const which = `${files.length} librar${files.length === 1 ? 'y' : 'ies'} (${files.slice(0, 2).join(', ')}${files.length > 2 ? ', ...' : ''})`;
  const ship = files.length === 1 ? 'ships' : 'ship';
  return stripMissing
    ? `strip is not on PATH, so ${which} ${ship} unstripped, bigger and slower to start: install binutils (the package with strip), or set STRIP = False in ${specFile}.`
    : `strip failed on ${which}, which ${ship} unstripped: run with --verbose for strip's output, or set STRIP = False in ${specFile}.`;
}

/** The line of PyInstaller's output that says what went wrong, with a hint where we know the fix. */
export function pyInstallerError(output: string, cwd = '.'): string {
  const lines = output.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const errorLine =
    [...lines].reverse().find((l) => /^(\w+\.)*\w*(Error|Exception)\b.*:/.test(l) || /^\d*\s*ERROR:/.test(l)) ?? lastLines(output, 1);
  const message = errorLine.replace(/^\d+\s+/, '');
  if (/SyntaxError|IndentationError|NameError|TabError/.test(message)) {
    // The culprit is the last file named before the error: the spec, or a source PyInstaller analysed.
    const index = lines.lastIndexOf(errorLine);
    const where = lines.slice(0, index).reverse().map((l) => /^File "(.*)", line (\d+)/.exec(l)).find(Boolean);
    if (where && !where[1].endsWith('.spec')) {
      const file = path.isAbsolute(where[1]) ? path.relative(cwd, where[1]) : where[1];
      return `${message} in ${file} line ${where[2]}: fix it and run again (the spec is fine).`;
    }
    return `${message}${where ? ` ("${where[1]}", line ${where[2]})` : ''}: fix the spec and run again.`;
  }
  if (/Unable to find|script .* does not exist|not found/i.test(message)) return `${message}: check the paths in the spec.`;
  return `${message}: see PyInstaller's output above for details.`;
}
