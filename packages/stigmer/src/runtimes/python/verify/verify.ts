import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { lastLines, run } from '../../../utils/process';
import { diskFiles, joinPath } from '../../../utils/workspace-files';
import type { CheckResult, ProjectRef, VerifyRequest } from '../../types';
import { resolvePythonEnvironment } from '../environment/environment';
import { findLocalPackages, LocalPackages } from '../project/local-packages';
import type { PythonDependency } from '../project/project-metadata';
import { helperScript } from '../pyinstaller/pyinstaller';
import { entryOfSpec } from '../spec-file/spec-file';

interface ArchiveContents {
  entries: string[];
  modules: string[];
}

/** What stigmer_spec.py says a distribution installs in the environment (null: not installed there). */
export type DistributionModules = Record<string, { modules: string[]; namespace: boolean } | null>;

/** One module a traced run imported: its real file and whether it came from site-packages, the stdlib or sources. */
export interface TracedModule {
  file: string;
  kind: 'site' | 'stdlib' | 'source';
}

/**
 * Every declared runtime dependency, every module of the service's own and local packages, and every module
 * the service imported in a traced run must be inside the binary. Read with PyInstaller's own archive reader,
 * from the environment that built it.
 */
export async function verifyPythonBinary(request: VerifyRequest): Promise<CheckResult[]> {
  const { project, spec, binaryPath, options } = request;
  const environment = await resolvePythonEnvironment(project, {
    python: options.python as string | undefined,
    environment: options.environment as never,
  });
  const listing = await run(environment.python, [helperScript('list_archive.py'), binaryPath]);
  if (listing.exitCode !== 0) {
    const reason = listing.stderr.trim().split(/\r?\n/).pop();
    return [{ name: 'archive', ok: false, detail: `${path.basename(binaryPath)} is not a readable PyInstaller executable (${reason}): rebuild it with build-binary.` }];
  }
  const has = inArchive(JSON.parse(listing.stdout) as ArchiveContents);
  const { metadata } = environment;
  const files = diskFiles(project.workspaceRoot);
  const checks: CheckResult[] = [];

  // The service's own packages first: an app loaded by import string ("api.app:app") is only found here.
  const own = findLocalPackages(files, project.root);
  if (own.packages.length) checks.push(packageCheck('service package', own, has, spec.specFile, project.root));
  const locals: LocalPackages[] = [];
  for (const dependency of metadata.dependencies.filter((d) => d.localPath)) {
    const local = findLocalPackages(files, joinPath(project.root, dependency.localPath as string));
    locals.push(local);
    if (!local.packages.length) {
      checks.push({ name: `local package ${dependency.name}`, ok: false, detail: `local dependency ${dependency.localPath} holds no Python package: fix the path in ${dependency.declaredIn}.` });
    } else {
      checks.push(packageCheck('local package', local, has, spec.specFile, project.root));
    }
  }

  const packaged = [...new Set(metadata.dependencies.filter((d) => !d.localPath).map((d) => d.name))];
  if (packaged.length) {
    const described = await describeDistributions(environment.python, packaged);
    const absent = metadata.dependencies.filter((d) => !d.localPath && !described[d.name]);
    const applies = absent.length ? await markersApply(environment.python, absent.map((d) => d.requirement ?? d.name)) : {};
    for (const name of packaged) {
      const declared = metadata.dependencies.find((d) => d.name === name && !d.localPath) as PythonDependency;
      const absence = described[name] ? undefined : { requirement: declared.requirement ?? name, applies: applies[declared.requirement ?? name] ?? null, conditional: declared.conditional === true, declaredIn: declared.declaredIn ?? 'pyproject.toml' };
      checks.push(dependencyCheck(name, described[name], has, spec.specFile, absence));
    }
  }

  if (options.trace !== false) {
    const specText = await fs.readFile(path.join(project.absRoot, spec.specFile), 'utf8');
    const entry = entryOfSpec(specText);
    const commands: TraceCommand[] = [];
    // The smoke command runs where the smoke run does: "smoke": false (a binary that needs a server) skips both.
    if (entry && options.smoke !== false) commands.push({ label: 'smoke', argv: entryCommand(environment.python, project, entry, (options.args as string[] | undefined) ?? []) });
    const traceCommand = options.traceCommand as string[] | undefined;
    if (traceCommand?.length) {
      commands.push({ label: 'traceCommand', argv: traceCommand[0] === 'python' ? [environment.python, ...traceCommand.slice(1)] : traceCommand });
    }
    const sourceRoots = [project.absRoot, ...locals.map((l) => path.join(project.workspaceRoot, l.importRoot))];
    const missing = new Set<string>();
    for (const command of commands) {
      const result = await traceImports(command, project, sourceRoots, options);
      // A configured command's own tools (pytest, its plugins and what they require) are not the service's.
      const tools = command.label === 'traceCommand' ? await testToolFiles(environment.python, packaged, command.argv) : new Set<string>();
      const lacking = missingFromTrace(result.modules, has, sourceRoots, tools);
      lacking.forEach((m) => missing.add(m));
      checks.push(...traceChecks(command, result, lacking, spec.specFile, project));
    }
    // What --update adds to the spec's traced-imports block.
    await fs.outputJson(path.join(project.absRoot, 'build', `${spec.binaryName}.missing-imports.json`), { modules: [...missing].sort() }, { spaces: 2 });
  }
  return checks;
}

function packageCheck(kind: string, local: LocalPackages, has: (m: string) => boolean, specFile: string, projectRoot: string): CheckResult {
  const missing = local.modules.filter((module) => !has(module));
  const packages = local.packages.join(', ');
  const where = path.posix.relative(projectRoot || '.', local.importRoot || '.') || '.';
  return {
    name: `${kind} ${packages}`,
    ok: missing.length === 0,
    detail: missing.length
      ? `module ${missing[0]}${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''} of ${kind} ${packages} is not in the binary: add "hiddenimports += collect_submodules('${missing[0].split('.')[0]}')" to ${specFile} (and '${where}' to its paths).`
      : `${local.modules.length} modules inside`,
  };
}

/**
 * A regular distribution is inside when all its top-level modules are. A namespace-package distribution
 * (langgraph, opentelemetry-*) is inside when part of it is: which of its modules the service really
 * imports is the import trace's job, not a demand for every subpackage it ships.
 */
export function dependencyCheck(name: string, described: DistributionModules[string] | undefined, has: (m: string) => boolean, specFile: string, absence?: DependencyAbsence): CheckResult {
  if (!described) {
    // Not installed: nothing of it can be looked for. That is fine only where its declaration says it may be absent.
    const marker = absence?.requirement.includes(';') ? absence.requirement.slice(absence.requirement.indexOf(';') + 1).trim() : undefined;
    const where = absence?.declaredIn ?? 'its declaration';
    if (absence?.applies === false) {
      return { name: `dependency ${name}`, ok: true, notChecked: true, detail: `not installed in the build environment, as its marker "${marker}" (${where}) says for this platform and Python, so the binary holds none of it` };
    }
    if (absence?.conditional || (marker && absence?.applies !== true)) {
      return { name: `dependency ${name}`, ok: true, notChecked: true, detail: `not installed in the build environment; ${where} declares it under a condition (optional, python or platform) that stigmer does not evaluate, so the binary holds none of it` };
    }
    return { name: `dependency ${name}`, ok: false, detail: `dependency ${name} is declared in ${where} but not installed in the build environment, so the binary cannot hold it: install it (update the lock if it lacks ${name}) and build again.` };
  }
  const inside = described.modules.filter(has);
  const missing = described.modules.filter((m) => !has(m));
  if (described.namespace) {
    return inside.length
      ? { name: `dependency ${name}`, ok: true, detail: `namespace package: ${inside.length} of ${described.modules.length} modules inside` }
      : { name: `dependency ${name}`, ok: false, detail: `dependency ${name} (import ${described.modules.slice(0, 3).join(', ')}${described.modules.length > 3 ? ', ...' : ''}) is not in the binary: add "${name}" to the distributions of ${specFile}.` };
  }
  return missing.length
    ? { name: `dependency ${name}`, ok: false, detail: `dependency ${name} (import ${missing.join(', ')}) is not in the binary: add "${name}" to the distributions of ${specFile} (or ${missing.map((m) => `'${m}'`).join(', ')} to hiddenimports).` }
    : { name: `dependency ${name}`, ok: true, detail: `import ${described.modules.join(', ')} inside` };
}

/** Why a declared distribution may be absent from the build environment. */
export interface DependencyAbsence {
  requirement: string;
  /** Whether its PEP 508 marker holds in the build environment (true without one); null when it could not be told. */
  applies: boolean | null;
  /** Declared with a condition the requirement does not carry (Poetry's optional, python, platform keys). */
  conditional: boolean;
  declaredIn: string;
}

/** Requirement -> whether its marker holds in the environment's interpreter. */
async function markersApply(python: string, requirements: string[]): Promise<Record<string, boolean | null>> {
  const result = await run(python, [helperScript('stigmer_spec.py'), 'applies', ...requirements]);
  return result.exitCode === 0 ? (JSON.parse(result.stdout) as Record<string, boolean | null>) : {};
}

/**
 * The files of the distributions a traced command brings itself (the tool that a word of it names, as a console
 * script or a `-m` module, its plugins and their requirements) less what the service's runtime needs.
 */
export async function testToolFiles(python: string, runtime: string[], argv: string[]): Promise<Set<string>> {
  const result = await run(python, [helperScript('stigmer_spec.py'), 'tooling', ...runtime, '--', ...argv]);
  if (result.exitCode !== 0) throw new Error(`stigmer_spec.py tooling failed with ${python}: ${lastLines(result.stderr, 2)}`);
  return new Set((JSON.parse(result.stdout) as { files: string[] }).files);
}

/** Distribution -> modules, from installed metadata, asked of the environment's own interpreter. */
export async function describeDistributions(python: string, names: string[]): Promise<DistributionModules> {
  const result = await run(python, [helperScript('stigmer_spec.py'), 'modules', ...names]);
  if (result.exitCode !== 0) throw new Error(`stigmer_spec.py modules failed with ${python}: ${lastLines(result.stderr, 2)}`);
  return JSON.parse(result.stdout) as DistributionModules;
}

export interface TraceCommand {
  label: 'smoke' | 'traceCommand';
  argv: string[];
}

export interface TraceResult {
  exitCode: number | null;
  timedOut: boolean;
  output: string;
  modules: Record<string, TracedModule>;
  /** The command's own (first) Python process left a record: without one the trace checked nothing. */
  topRecorded: boolean;
}

/** The service's entry, run by its own interpreter: a script, or a console-script entry `package.module:function`. */
export function entryCommand(python: string, project: ProjectRef, entry: string, args: string[]): string[] {
  const script = /^\s*([A-Za-z_][\w.]*)\s*:\s*([A-Za-z_][\w.]*)\s*$/.exec(entry);
  if (script && !entry.endsWith('.py')) {
    const [head] = script[2].split('.');
    return [python, '-c', `import sys\nfrom ${script[1]} import ${head}\nsys.exit(${script[2]}())`, ...args];
  }
  return [python, path.join(project.absRoot, entry), ...args];
}

/**
 * Every process's record in the recorder's folder (python/import_trace/sitecustomize.py): <pid>.jsonl with a
 * first line {pid, top, argv}, one {name, file, kind} line per module as it was imported, and {modules} at exit.
 * A process killed before its exit still counts with what it appended.
 */
export async function readImportRecords(folder: string): Promise<{ modules: Record<string, TracedModule>; topRecorded: boolean }> {
  const modules: Record<string, TracedModule> = {};
  let topRecorded = false;
  for (const file of (await fs.readdir(folder)).filter((f) => f.endsWith('.jsonl'))) {
    const lines = (await fs.readFile(path.join(folder, file), 'utf8')).split('\n');
    for (const line of lines) {
      let record: { top?: boolean; name?: string; file?: string; kind?: TracedModule['kind']; modules?: Record<string, TracedModule> };
      try {
        record = JSON.parse(line);
      } catch {
        continue; // an empty last line, or one cut off by a kill
      }
      if (record.top === true) topRecorded = true;
      if (record.name && record.file && record.kind) modules[record.name] = { file: record.file, kind: record.kind };
      if (record.modules) Object.assign(modules, record.modules);
    }
  }
  return { modules, topRecorded };
}

/** Runs a command with stigmer's import recorder (a sitecustomize on a private PYTHONPATH); collects every process's modules. */
async function traceImports(command: TraceCommand, project: ProjectRef, sourceRoots: string[], options: Record<string, unknown>): Promise<TraceResult> {
  const output = await fs.mkdtemp(path.join(os.tmpdir(), 'stigmer-trace-'));
  try {
    const { PYTHONHOME, PYTHONPATH, ...env } = process.env;
    void PYTHONHOME, PYTHONPATH;
    const result = await run(command.argv[0], command.argv.slice(1), {
      cwd: project.absRoot,
      env: {
        ...env,
        ...((options.env as Record<string, string> | undefined) ?? {}),
        // The service's folder and local libraries as the spec puts them on the path: a service that is not installed still imports.
        PYTHONPATH: [helperScript('import_trace'), ...sourceRoots].join(path.delimiter),
        STIGMER_IMPORT_TRACE: output,
      },
      timeoutMs: ((options.timeout as number | undefined) ?? 60) * 1000 * (command.label === 'traceCommand' ? 5 : 1),
    });
    const { modules, topRecorded } = await readImportRecords(output);
    return { exitCode: result.exitCode, timedOut: result.timedOut, output: `${result.stdout}\n${result.stderr}`, modules, topRecorded };
  } finally {
    await fs.remove(output);
  }
}

const MAX_LISTED = 15;
const TEST_FILE = /(^|\/)(tests?|testing)\/|(^|\/)(test_[^/]*|[^/]*_test|conftest)\.py$/;
/** The recorder itself (and a user's usercustomize): never the service's. */
const HARNESS = new Set(['sitecustomize', 'usercustomize']);

/**
 * The traced modules the binary lacks. The standard library is left out: PyInstaller follows its static
 * imports itself, and in a traced run most stdlib imports come from the interpreter, the test runner or the
 * recorder, not from the service (noise, not findings). Sources count when they are the service's or its
 * local libraries' (tests excluded); every installed module counts, whatever its name (a declared pandas, a
 * driver loaded by name), except the files of the traced command's own tools (`toolFiles`, from the
 * distributions it brings: pytest and what it requires).
 */
export function missingFromTrace(modules: Record<string, TracedModule>, has: (m: string) => boolean, sourceRoots: string[], toolFiles: Set<string> = new Set()): string[] {
  const under = (file: string) => sourceRoots.find((root) => file === root || file.startsWith(root + path.sep));
  return Object.entries(modules)
    .filter(([name, module]) => {
      if (HARNESS.has(name.split('.')[0]) || has(name)) return false;
      if (module.kind === 'stdlib') return false;
      if (module.kind === 'source') {
        const root = under(module.file);
        return root !== undefined && !TEST_FILE.test(path.relative(root, module.file).split(path.sep).join('/'));
      }
      return !toolFiles.has(module.file);
    })
    .map(([name]) => name)
    .sort();
}

export function traceChecks(command: TraceCommand, result: TraceResult, missing: string[], specFile: string, project: ProjectRef): CheckResult[] {
  const shown = command.argv.map((a, i) => (i === 0 ? path.basename(a) : path.isAbsolute(a) ? path.relative(project.absRoot, a) : a.replace(/\n/g, '; '))).join(' ');
  const name = `import trace (${command.label === 'smoke' ? 'smoke command' : 'traceCommand'})`;
  if (result.timedOut) {
    return [{ name, ok: false, detail: `"${shown}" did not exit in time in the service's environment, so its imports are unknown: set test-binary "args" (or "traceCommand") to a command that exits, or "trace": false.` }];
  }
  if (!result.topRecorded) {
    // Without a record of the command's own process nothing was traced: "imported 0 modules" would be a false pass.
    return [{ name, ok: false, detail: `"${shown}" left no import record, so its imports are unknown (it started no Python, or one that skips sitecustomize: -I, -S, or a PYTHONPATH of its own): make the ${command.label === 'smoke' ? 'entry' : 'traceCommand'} run the service's Python directly (["python", ...]), or set "trace": false.` }];
  }
  // One line per module, up to a screenful; --update adds them all from build/<binary>.missing-imports.json.
  const checks: CheckResult[] = missing.slice(0, MAX_LISTED).map((module) => ({
    name,
    ok: false,
    detail: `module ${module} (imported by "${shown}") is not in the binary: add    "${module}",    to the traced imports of ${specFile} (nx g stigmer:binary-spec --project ${project.name} --update adds it).`,
  }));
  if (missing.length > MAX_LISTED) {
    checks.push({ name, ok: false, detail: `${missing.length - MAX_LISTED} more modules imported by "${shown}" are not in the binary: nx g stigmer:binary-spec --project ${project.name} --update adds them all to ${specFile}.` });
  }
  if (result.exitCode !== 0) {
    checks.push({ name, ok: false, detail: `"${shown}" exited ${result.exitCode} in the service's environment, so the trace is incomplete: ${lastLines(result.output, 1) || 'no output'}` });
  }
  if (!checks.length) {
    checks.push({ name, ok: true, detail: `"${shown}" imported ${Object.keys(result.modules).length} modules; every one of the service's is inside` });
  }
  return checks;
}

/** A module is inside when the PYZ holds it, or the archive holds it as an extension module or package data. */
function inArchive(contents: ArchiveContents): (module: string) => boolean {
  const modules = new Set(contents.modules);
  const entries = contents.entries.map((entry) => entry.replace(/\\/g, '/'));
  const entryPrefixes = new Set(entries.map((entry) => entry.replace(/\.(cpython|abi3|cp\d+)[^/]*\.(so|pyd)$|\.(so|pyd)$/, '').replace(/\//g, '.')));
  return (module) => modules.has(module) || entryPrefixes.has(module) || entries.some((e) => e.startsWith(`${module.replace(/\./g, '/')}/`));
}

/** The hint for a module that is missing, or a library that strip damaged, when the binary runs. */
export function missingModuleHint(output: string, specFile: string): string | undefined {
  const damaged = /([\w.+-]+\.so[\w.]*): (ELF load command [^\n]*?)\s*$/m.exec(output);
  if (damaged) {
    return `${damaged[1]} fails to load in the binary ("${damaged[2]}"): strip damaged this library (one auditwheel patched); set STRIP = False in ${specFile} and build again.`;
  }
  const match = /ModuleNotFoundError: No module named '([^']+)'/.exec(output);
  if (!match) return undefined;
  return `the binary raised "No module named '${match[1]}'" at run time: add '${match[1]}' to hiddenimports in ${specFile} (or collect_submodules of its package) and build again.`;
}
