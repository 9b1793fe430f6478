import * as os from 'node:os';
import * as path from 'node:path';
import { logger } from '@nx/devkit';
import * as fs from 'fs-extra';
import { binaryFileName, resolveSpec, RuntimeId } from '../runtimes';
import type { BinaryRuntime, CheckResult, ProjectRef, SpecInfo } from '../runtimes/types';
import { sha256File, sideFiles } from '../utils/artifacts';
import { StigmerError } from '../utils/errors';
import { unpackArchive } from '../utils/folder-archive';
import { lastLines, run } from '../utils/process';
import { formatSize } from '../utils/progress';
import { distDir } from './build';
import { largestPackages, readReport, reportFiles } from '../report/report';

export interface TestBinaryOptions {
  spec?: string;
  runtime?: RuntimeId;
  sizeBudgetMb?: number;
  smoke?: boolean;
  args?: string[];
  expectedExitCode?: number;
  expectedOutput?: string;
  timeout?: number;
  env?: Record<string, string>;
  checkGitIgnore?: boolean;
  [runtimeOption: string]: unknown;
}

/**
 * Proves a binary is fit to ship: it exists and runs, fits its size budget, matches its checksum, holds every
 * declared dependency, passes the smoke run, and git ignores it. Prints one line per check.
 */
export async function testBinary(project: ProjectRef, options: TestBinaryOptions): Promise<CheckResult[]> {
  const { runtime, spec } = resolveSpec(project, options);
  const binaryPath = path.join(distDir(project), binaryFileName(spec));
  const relative = path.relative(project.workspaceRoot, binaryPath);
  const checks: CheckResult[] = [];
  const stat = await fs.stat(binaryPath).catch(() => undefined);
  if (!stat?.isFile()) {
    throw new StigmerError(`${relative} does not exist: run nx run ${project.name}:build-binary first.`);
  }
  const runnable = await fs.mkdtemp(path.join(os.tmpdir(), 'stigmer-smoke-'));
  try {
    // Every check runs on a copy in an empty folder outside the workspace (an onedir archive unpacked there, as a
    // daemon would), so that nothing of the workspace (node_modules, site-packages, sources) is within reach.
    const placed = await placeRunnable(binaryPath, relative, spec, runnable);
    checks.push(placed.check);
    const budget = options.sizeBudgetMb ?? (await runtime.defaultSizeBudgetMb?.({ project, spec, binaryPath, options })) ?? 100;
    checks.push({
      name: 'size',
      ok: stat.size <= budget * 1024 * 1024,
      detail: stat.size <= budget * 1024 * 1024
        ? `${formatSize(stat.size)} (budget ${budget} MB)`
        : `${relative} is ${formatSize(stat.size)}, over its ${budget} MB budget${await largestInReport(project, spec)}: add large unused packages to the spec's excludes, or raise sizeBudgetMb.`,
    });
    checks.push(await checksumCheck(binaryPath, relative, project.name));
    if (placed.executable) {
      const executable = placed.executable;
      checks.push(...(await runtime.verify({ project, spec, binaryPath: executable, options })));
      if (options.smoke !== false) checks.push(await smokeRun(executable, runnable, placed.shown, runtime, (output) => runtime.diagnose?.(output, spec), options));
    }
  } finally {
    await fs.remove(runnable);
  }
  if (options.checkGitIgnore !== false) checks.push(...(await gitIgnoreChecks(project, [binaryPath, ...runtime.workFiles(project, spec).slice(0, 1)])));
  for (const check of checks) logCheck(check);
  const failed = checks.filter((c) => !c.ok);
  if (failed.length) {
    throw new StigmerError(`${failed.length} check${failed.length > 1 ? 's' : ''} failed; first: ${failed[0].detail}`);
  }
  const notChecked = checks.filter((c) => c.notChecked).length;
  logger.info(`[stigmer] ${relative} passed ${checks.length - notChecked} checks${notChecked ? `; ${notChecked} not checked (see ○ above)` : ''}`);
  return checks;
}

/** ", largest packages: a 12.1 MB, b 8.0 MB, ..." from the binary's size report, when build-binary wrote one. */
async function largestInReport(project: ProjectRef, spec: SpecInfo): Promise<string> {
  const report = await readReport(reportFiles(distDir(project), spec.binaryName).json).catch(() => undefined);
  return report?.packages.length ? `; largest packages: ${largestPackages(report, 5)} (see ${spec.binaryName}.report.html)` : '';
}

/** One line per check: ✔ passed, ✘ failed, ○ could not be checked here (never shown as a pass). */
export function checkLine(check: CheckResult): string {
  if (check.notChecked) return `  ○ ${check.name}: not checked: ${check.detail}`;
  return `  ${check.ok ? '✔' : '✘'} ${check.name}: ${check.detail}`;
}

function logCheck(check: CheckResult): void {
  (check.notChecked ? logger.warn : check.ok ? logger.info : logger.error)(checkLine(check));
}

/**
 * Puts a runnable copy of the binary into `folder` and checks it can be executed: the binary itself, or the
 * entrypoint (named by its manifest) of an onedir archive unpacked there.
 */
async function placeRunnable(binaryPath: string, relative: string, spec: SpecInfo, folder: string): Promise<{ check: CheckResult; executable?: string; shown: string }> {
  let executable = path.join(folder, path.basename(binaryPath));
  let shown = relative;
  if (spec.layout === 'onedir') {
    const manifest = await fs.readJson(sideFiles(binaryPath).manifest).catch(() => undefined);
    const entrypoint: string = manifest?.entrypoint ?? `${spec.binaryName}/${spec.binaryName}${process.platform === 'win32' ? '.exe' : ''}`;
    try {
      await unpackArchive(binaryPath, folder);
    } catch (error) {
      return { check: { name: 'executable', ok: false, detail: (error as Error).message }, shown };
    }
    executable = path.join(folder, ...entrypoint.split('/'));
    shown = `${entrypoint} in ${relative}`;
    if (!(await fs.pathExists(executable))) {
      return { check: { name: 'executable', ok: false, detail: `${relative} holds no ${entrypoint} (the entrypoint of its manifest): rebuild it with build-binary.` }, shown };
    }
  } else {
    await fs.copyFile(binaryPath, executable);
  }
  try {
    await fs.access(executable, fs.constants.X_OK);
  } catch {
    return { check: { name: 'executable', ok: false, detail: `${shown} has no execute permission: rebuild it, or chmod +x it if a cache restored it without the bit.` }, shown };
  }
  return { check: { name: 'executable', ok: true, detail: shown }, executable, shown };
}

async function checksumCheck(binaryPath: string, relative: string, projectName: string): Promise<CheckResult> {
  const recorded = (await fs.readFile(sideFiles(binaryPath).checksum, 'utf8').catch(() => '')).split(/\s+/)[0];
  const actual = await sha256File(binaryPath);
  if (!recorded) return { name: 'checksum', ok: false, detail: `${relative}.sha256 is missing: rebuild with nx run ${projectName}:build-binary.` };
  return recorded === actual
    ? { name: 'checksum', ok: true, detail: `sha256 ${actual.slice(0, 12)}… matches ${path.basename(relative)}.sha256` }
    : { name: 'checksum', ok: false, detail: `${relative} does not match its .sha256 (changed after the build): rebuild with nx run ${projectName}:build-binary.` };
}

/**
 * Runs a copy of the binary in an empty temporary folder outside the workspace, with HOME there and no
 * NODE_PATH/PYTHONPATH, so that nothing of the workspace (node_modules, site-packages, sources) is within
 * reach: a binary that still needs one of them fails here, not on a user's machine.
 */
async function smokeRun(executable: string, folder: string, relative: string, runtime: BinaryRuntime, diagnose: (output: string) => string | undefined, options: TestBinaryOptions): Promise<CheckResult> {
  const args = options.args ?? [];
  const timeout = options.timeout ?? 60;
  const expectedExitCode = options.expectedExitCode ?? 0;
  const command = [relative, ...args].join(' ');
  // Only the binary's own runtime knows what in reach of the folder would let it pass by accident.
  const isolation = runtime.smokeIsolationProblem?.(folder);
  if (isolation) return { name: 'smoke run', ok: false, detail: isolation };
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of runtime.smokeEnvRemoved ?? []) delete env[name];
  const result = await run(executable, args, { cwd: folder, env: { ...env, HOME: folder, USERPROFILE: folder, ...(options.env ?? {}) }, timeoutMs: timeout * 1000 });
  const output = `${result.stdout}\n${result.stderr}`;
  const moduleHint = diagnose(output);
  if (result.timedOut) {
    return { name: 'smoke run', ok: false, detail: `"${command}" did not exit within ${timeout}s: set test-binary "args" to a command that exits (e.g. ["--version"]), raise "timeout", or set "smoke": false.` };
  }
  if (moduleHint) return { name: 'smoke run', ok: false, detail: moduleHint };
  if (result.exitCode !== expectedExitCode) {
    return { name: 'smoke run', ok: false, detail: `"${command}" exited ${result.exitCode ?? result.signal}, expected ${expectedExitCode}: ${lastLines(output, 1) || 'no output'}` };
  }
  if (options.expectedOutput && !new RegExp(options.expectedOutput).test(output)) {
    return { name: 'smoke run', ok: false, detail: `"${command}" printed no match for /${options.expectedOutput}/: it printed ${JSON.stringify(lastLines(output, 2).slice(0, 200))}.` };
  }
  const proved = options.args?.length || options.expectedOutput ? '' : ' (no smoke "args" or "expectedOutput" configured: this proves only that it starts and exits; set them to a command that does real work)';
  return { name: 'smoke run', ok: true, detail: `"${command}" exited ${expectedExitCode}${options.expectedOutput ? ` and matched /${options.expectedOutput}/` : ''} from a copy in an empty folder${proved}` };
}

/** git must ignore the outputs, or the next commit ships a 60 MB binary. Not checked outside a git repository. */
export async function gitIgnoreChecks(project: ProjectRef, paths: string[]): Promise<CheckResult[]> {
  const inRepo = await run('git', ['rev-parse', '--is-inside-work-tree'], { cwd: project.workspaceRoot }).catch(() => undefined);
  if (inRepo?.exitCode !== 0) {
    const why = inRepo ? 'the workspace is not inside a git repository' : 'git is not installed';
    return [{ name: 'git ignore', ok: true, notChecked: true, detail: `${why}, so nothing shows that git ignores ${gitPaths(project.workspaceRoot, paths.slice(0, 1))[0]}: once it is a repository, make sure its .gitignore ignores dist/ and build/.` }];
  }
  // --stdin -z: NUL-separated and never quoted (git quotes names with quotes or non-ASCII otherwise).
  const input = gitPaths(project.workspaceRoot, paths).map((rel) => `${rel}\0`).join('');
  const result = await run('git', ['check-ignore', '--stdin', '-z', '--no-index'], { cwd: project.workspaceRoot, input });
  return gitIgnoreVerdicts(project, paths, result.stdout);
}

/** Paths relative to the workspace in git's form (forward slashes, also on Windows). */
export function gitPaths(workspaceRoot: string, paths: string[], p: path.PlatformPath = path): string[] {
  return paths.map((file) => p.relative(workspaceRoot, file).split(p.sep).join('/'));
}

/**
 * One check per path from `git check-ignore -z` output; pure, with the path module as a parameter, so that
 * Windows paths (back slashes, drive letters) are tested on any machine.
 */
export function gitIgnoreVerdicts(project: ProjectRef, paths: string[], checkIgnoreOutput: string, p: path.PlatformPath = path): CheckResult[] {
  const ignored = new Set(checkIgnoreOutput.split('\0').map((line) => line.trim().replace(/\\/g, '/')).filter(Boolean));
  const gitignore = p.join(project.root, '.gitignore');
  const asked = gitPaths(project.workspaceRoot, paths, p);
  return paths.map((file, i) => {
    const rel = asked[i];
    const entry = `${p.relative(project.absRoot, file).split(p.sep)[0]}/`;
    return ignored.has(rel)
      ? { name: 'git ignore', ok: true, detail: `${rel} is ignored` }
      : { name: 'git ignore', ok: false, detail: `${rel} is not ignored by git: add '${entry}' to ${gitignore} (nx g stigmer:binary-spec does it).` };
  });
}
