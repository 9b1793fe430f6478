import * as fs from 'node:fs';
import * as path from 'node:path';
import { StigmerError } from '../../utils/errors';
import { lastLines, run } from '../../utils/process';
import type { Progress } from '../../utils/progress';

/** Python helper scripts shipped with the plugin (packages/stigmer/python). */
export function helperScript(name: string): string {
  return path.join(__dirname, '..', '..', '..', 'python', name);
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
  const args = [
    helperScript('run_pyinstaller.py'),
    path.join(request.workPath, '.stigmer-archive-cache'),
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
  const result = await run(request.python, args, {
    cwd: request.cwd,
    timeoutMs: request.timeoutMs,
    // Fixed hash seed: the same sources give the same bytes (PyInstaller's reproducible-build advice).
    env: { ...process.env, PYTHONHASHSEED: '0', PYTHONDONTWRITEBYTECODE: '1' },
    onLine: (line) => {
      if (request.verbose) console.log(line);
      const missing = /ERROR: Hidden import '([^']+)' not found/.exec(line);
      if (missing) missingHiddenImports.push(missing[1]);
      if (!bundling && /Building (PYZ|PKG|EXE)|checking PYZ/.test(line)) {
        bundling = true;
        progress.phase('bundle');
      }
    },
  });
  if (result.timedOut) {
    throw new StigmerError(`PyInstaller did not finish within the timeout of ${Math.round((request.timeoutMs ?? 0) / 1000)}s: raise the "timeout" option or look for a hang in the spec.`);
  }
  if (result.exitCode !== 0) {
    if (!request.verbose) console.error(lastLines(result.stdout + '\n' + result.stderr, 30, '\n'));
    throw new StigmerError(`PyInstaller failed on ${path.basename(request.specPath)}: ${pyInstallerError(result.stdout + '\n' + result.stderr)}`);
  }
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

/** The line of PyInstaller's output that says what went wrong, with a hint where we know the fix. */
export function pyInstallerError(output: string): string {
  const lines = output.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const errorLine =
    [...lines].reverse().find((l) => /^(\w+\.)*\w*(Error|Exception)\b.*:/.test(l) || /^\d*\s*ERROR:/.test(l)) ?? lastLines(output, 1);
  const message = errorLine.replace(/^\d+\s+/, '');
  if (/SyntaxError|IndentationError|NameError/.test(message)) {
    const where = [...lines].reverse().find((l) => /File ".*\.spec", line \d+/.test(l));
    return `${message}${where ? ` (${where.replace(/^File /, '')})` : ''}: fix the spec and run again.`;
  }
  if (/Unable to find|script .* does not exist|not found/i.test(message)) return `${message}: check the paths in the spec.`;
  return `${message}: see PyInstaller's output above for details.`;
}
