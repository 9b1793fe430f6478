import * as path from 'node:path';
import * as fs from 'fs-extra';
import { StigmerError } from '../utils/errors';
import type { SourceFiles } from '../utils/gitignore';
import { goRuntime } from './go';
import { nodeRuntime } from './node';
import { pythonRuntime } from './python';
import type { BinaryRuntime, ProjectRef, RuntimeId, SpecInfo } from './types';

export * from './types';

/**
 * Every runtime stigmer knows, in the order they are tried (the generator picks the first that detects: go.mod
 * is the surest sign, a package.json the least). A new runtime is one folder and one entry here.
 */
export const RUNTIMES: readonly BinaryRuntime[] = [goRuntime, pythonRuntime, nodeRuntime];

export function getRuntime(id: RuntimeId): BinaryRuntime {
  const runtime = RUNTIMES.find((r) => r.id === id);
  if (!runtime) throw new StigmerError(`unknown runtime '${id}': use one of ${RUNTIMES.map((r) => r.id).join(', ')}.`);
  return runtime;
}

/** What every runtime counts as source files and dependency folders, for the ignore entries' check. */
export function workspaceSourceFiles(): SourceFiles {
  return {
    patterns: RUNTIMES.flatMap((runtime) => runtime.sourceFilePatterns ?? []),
    dependencyFolders: RUNTIMES.flatMap((runtime) => runtime.dependencyFolders ?? []),
  };
}

/** Glob of every runtime's spec files, for the inference plugin: e.g. "**\/{*.spec}". */
export function specFilesGlob(): string {
  return `**/{${RUNTIMES.map((r) => r.specFileGlob).join(',')}}`;
}

/** Reads a spec file with the runtime its name and content belong to. Pure: file text in, info out. */
export function readSpecFile(specFile: string, content: string): { runtime: BinaryRuntime; spec: SpecInfo } | undefined {
  for (const runtime of RUNTIMES) {
    const spec = runtime.readSpec(specFile, content);
    if (spec) return { runtime, spec };
  }
  return undefined;
}

/**
 * The spec a build uses: the `spec` option if given, else the only spec in the project folder.
 * A spec path must stay inside the project.
 */
export function resolveSpec(project: ProjectRef, options: { spec?: string; runtime?: RuntimeId }): { runtime: BinaryRuntime; spec: SpecInfo } {
  const candidates = options.spec ? [options.spec] : fs.readdirSync(project.absRoot).sort();
  if (options.spec) {
    const absolute = path.resolve(project.absRoot, options.spec);
    if (path.relative(project.absRoot, absolute).startsWith('..') || path.isAbsolute(path.relative(project.absRoot, absolute))) {
      throw new StigmerError(`spec '${options.spec}' is outside project ${project.name}: give a path inside ${project.root || '.'}.`);
    }
    if (!fs.existsSync(absolute)) throw new StigmerError(`spec file ${path.join(project.root, options.spec)} does not exist: fix the "spec" option or run nx g stigmer:binary-spec --project ${project.name}.`);
  }
  const found = candidates
    .map((file) => {
      const absolute = path.resolve(project.absRoot, file);
      if (!fs.statSync(absolute, { throwIfNoEntry: false })?.isFile()) return undefined;
      return readSpecFile(path.relative(project.absRoot, absolute).replace(/\\/g, '/'), fs.readFileSync(absolute, 'utf8'));
    })
    .filter((r): r is NonNullable<typeof r> => !!r && (!options.runtime || r.runtime.id === options.runtime));
  if (options.spec && !found.length) {
    throw new StigmerError(`${options.spec} is not a binary spec stigmer can build (${RUNTIMES.map((r) => r.specFileGlob).join(', ')}, each in its runtime's form): fix it or regenerate it with nx g stigmer:binary-spec --project ${project.name} --force.`);
  }
  if (!found.length) {
    throw new StigmerError(`project ${project.name} has no binary spec in ${project.root || '.'}: run nx g stigmer:binary-spec --project ${project.name}.`);
  }
  if (found.length > 1) {
    throw new StigmerError(`project ${project.name} has several binary specs (${found.map((f) => f.spec.specFile).join(', ')}): set the "spec" option to the one to build.`);
  }
  return found[0];
}

/** The file name of the binary for this machine. */
export function binaryFileName(spec: SpecInfo): string {
  return spec.binaryFiles[0];
}
