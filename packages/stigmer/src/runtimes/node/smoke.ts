import { joinPath, WorkspaceFiles } from '../../utils/workspace-files';

export interface NodeSmokeProposal {
  args: string[];
  expectedOutput?: string;
}

const SOURCE = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;
const NOT_SOURCES = /(^|\/)(node_modules|dist|build|coverage|test|tests|__tests__)(\/|$)|\.(spec|test)\.[cm]?[jt]sx?$/;
/** Enough for a service's own code; a huge folder is not read in full by a generator. */
const MAX_FILES = 300;

/**
 * A smoke run that proves more than start-up, when the service's own code (the entry first, then its other
 * source files) handles --self-check, --version or --help, the way Python specs propose one. The spec
 * carries it as "smoke", which test-binary uses unless project.json options override it.
 */
export function proposeNodeSmokeRun(files: WorkspaceFiles, projectRoot: string, entry: string, version?: string): NodeSmokeProposal | undefined {
  const sources = [joinPath(projectRoot, entry), ...sourceFiles(files, projectRoot)].map((file) => files.read(file) ?? '');
  const handles = (flag: string) => sources.some((text) => text.includes(`'${flag}'`) || text.includes(`"${flag}"`) || text.includes(`\`${flag}\``));
  if (handles('--self-check')) return { args: ['--self-check'] };
  if (handles('--version')) {
    // package.json's version only where the sources print it as written (a version read at run time, or one that
    // nx release bumps later, would make the proposal fail a good binary): else any version number.
    const literal = version && sources.some((text) => text.includes(version));
    return { args: ['--version'], expectedOutput: literal ? version.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : '[0-9]+\\.[0-9]+' };
  }
  if (handles('--help')) return { args: ['--help'] };
  // commander and yargs answer --help themselves with a usage text.
  if (sources.some((text) => /(from|require\()\s*['"](commander|yargs)(\/[^'"]*)?['"]/.test(text))) return { args: ['--help'], expectedOutput: '[Uu]sage' };
  return undefined;
}

function sourceFiles(files: WorkspaceFiles, dir: string, found: string[] = []): string[] {
  for (const entry of files.list(dir)) {
    if (found.length >= MAX_FILES) break;
    const child = joinPath(dir, entry.name);
    if (entry.name.startsWith('.') || NOT_SOURCES.test(child.slice(dir.length ? dir.length + 1 : 0) + (entry.isDir ? '/' : ''))) continue;
    if (entry.isDir) sourceFiles(files, child, found);
    else if (SOURCE.test(entry.name)) found.push(child);
  }
  return found;
}

/** The spec's "smoke" field, when well formed (a hand edit that breaks it proposes nothing). */
export function smokeOfSpec(value: unknown): NodeSmokeProposal | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const { args, expectedOutput } = value as { args?: unknown; expectedOutput?: unknown };
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) return undefined;
  return { args, ...(typeof expectedOutput === 'string' ? { expectedOutput } : {}) };
}
