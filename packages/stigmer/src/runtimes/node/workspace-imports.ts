import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { parseJson } from '@nx/devkit';
import { ContextualKeyword, sourceTokens, TokenType } from './source-tokens';

/** JavaScript and TypeScript sources whose imports can reach other workspace projects or npm packages. */
export const JS_SOURCE = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;

const BUILTINS = new Set(builtinModules);

/**
 * The module specifiers a source file imports, re-exports, imports dynamically or requires (string
 * literals only), from sucrase's token stream. `import type` is kept: harmless for a dependency edge.
 * Throws on a file the tokenizer cannot read.
 */
export function importSpecifiers(content: string, fileName = 'file.ts'): string[] {
  const tokens = sourceTokens(content, fileName);
  const found = new Set<string>();
  const text = (i: number) => content.slice(tokens[i].start, tokens[i].end);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i].type !== TokenType.string) continue;
    const previous = tokens[i - 1];
    const beforeParen = tokens[i - 2];
    const imported =
      // import x from 'a', export * from 'a'
      (previous?.type === TokenType.name && previous.contextualKeyword === ContextualKeyword._from) ||
      // import 'a'
      previous?.type === TokenType._import ||
      // import('a'), require('a'), import x = require('a')
      (previous?.type === TokenType.parenL &&
        tokens[i + 1]?.type === TokenType.parenR &&
        (beforeParen?.type === TokenType._import || (beforeParen?.type === TokenType.name && text(i - 2) === 'require' && tokens[i - 3]?.type !== TokenType.dot)));
    if (!imported) continue;
    const specifier = stringValue(text(i));
    if (specifier && !specifier.startsWith('node:') && !BUILTINS.has(specifier)) found.add(specifier);
  }
  return [...found];
}

function stringValue(literal: string): string | undefined {
  try {
    return JSON.parse(literal[0] === "'" ? `"${literal.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"')}"` : literal);
  } catch {
    return undefined;
  }
}

/** The package name of a bare specifier: "@org/lib/sub" -> "@org/lib", "lodash/fp" -> "lodash". */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The compiler options of one tsconfig chain that decide how esbuild resolves bare imports. */
export interface TsResolution {
  /** Workspace paths of every tsconfig file of the chain (the nearest first). */
  files: string[];
  /** Folder (workspace path) non-relative imports resolve from, when `baseUrl` is set. */
  baseUrl?: string;
  /** `paths` patterns with their targets as workspace paths. */
  paths: { pattern: string; targets: string[] }[];
}

/**
 * Reads tsconfig files the way esbuild does: the nearest tsconfig.json above a source file, then its
 * `extends` chain; `paths` resolve from `baseUrl` when set, else from the file that declares them.
 * Pure file reading, cached per folder for one graph computation.
 */
export class TsconfigResolver {
  private readonly byDir = new Map<string, TsResolution | undefined>();
  private readonly byFile = new Map<string, TsResolution>();

  constructor(private readonly workspaceRoot: string) {}

  /** The resolution that applies to a source file (workspace path), if any tsconfig.json is above it. */
  forFile(workspaceFile: string): TsResolution | undefined {
    return this.forDir(path.posix.dirname(workspaceFile));
  }

  forDir(dir: string): TsResolution | undefined {
    const key = dir === '.' ? '' : dir;
    if (this.byDir.has(key)) return this.byDir.get(key);
    const candidate = path.posix.join(key, 'tsconfig.json');
    const found = fs.existsSync(path.join(this.workspaceRoot, candidate))
      ? this.readChain(candidate, [])
      : key === ''
        ? undefined
        : this.forDir(path.posix.dirname(key) === '.' ? '' : path.posix.dirname(key));
    this.byDir.set(key, found);
    return found;
  }

  private readChain(file: string, seen: string[]): TsResolution {
    const cached = this.byFile.get(file);
    if (cached) return cached;
    const result: TsResolution = { files: [file], paths: [] };
    if (seen.includes(file)) return result;
    let config: { extends?: string | string[]; compilerOptions?: { baseUrl?: string; paths?: Record<string, string[]> } } = {};
    try {
      config = parseJson(fs.readFileSync(path.join(this.workspaceRoot, file), 'utf8'));
    } catch {
      // unreadable: no options from it (esbuild reports it at build time)
    }
    const dir = path.posix.dirname(file);
    // Later entries of an `extends` array win, the file itself wins over all of them.
    for (const parent of [config.extends ?? []].flat()) {
      const parentFile = this.extendedFile(dir, parent);
      if (!parentFile) continue;
      const inherited = this.readChain(parentFile, [...seen, file]);
      result.files.push(...inherited.files.filter((f) => !result.files.includes(f)));
      if (inherited.baseUrl !== undefined) result.baseUrl = inherited.baseUrl;
      if (inherited.paths.length) result.paths = inherited.paths;
    }
    const options = config.compilerOptions ?? {};
    if (typeof options.baseUrl === 'string') result.baseUrl = normalize(path.posix.join(dir, options.baseUrl));
    if (options.paths && typeof options.paths === 'object') {
      const from = result.baseUrl ?? dir;
      result.paths = Object.entries(options.paths).map(([pattern, targets]) => ({
        pattern,
        targets: (Array.isArray(targets) ? targets : []).map((t) => normalize(path.posix.join(from, t))),
      }));
    }
    this.byFile.set(file, result);
    return result;
  }

  private extendedFile(dir: string, parent: string): string | undefined {
    if (typeof parent !== 'string') return undefined;
    if (parent.startsWith('.') || parent.startsWith('/')) {
      const target = normalize(path.posix.join(dir, parent));
      return fs.existsSync(path.join(this.workspaceRoot, target)) ? target : fs.existsSync(path.join(this.workspaceRoot, `${target}.json`)) ? `${target}.json` : undefined;
    }
    // A shared config from npm (e.g. @tsconfig/node20): resolved from node_modules, never a workspace file.
    return undefined;
  }
}

/**
 * Where a bare specifier leads under a tsconfig resolution: the workspace paths esbuild would try,
 * best first (TypeScript's rule: an exact pattern, else the longest prefix before `*`), then baseUrl.
 */
export function aliasTargets(specifier: string, resolution: TsResolution | undefined): string[] {
  if (!resolution) return [];
  let best: { targets: string[]; prefixLength: number; star: string } | undefined;
  for (const { pattern, targets } of resolution.paths) {
    const star = pattern.indexOf('*');
    if (star < 0) {
      if (pattern === specifier) return targets;
      continue;
    }
    const prefix = pattern.slice(0, star);
    const suffix = pattern.slice(star + 1);
    if (specifier.length >= prefix.length + suffix.length && specifier.startsWith(prefix) && specifier.endsWith(suffix) && (!best || prefix.length > best.prefixLength)) {
      best = { targets, prefixLength: prefix.length, star: specifier.slice(prefix.length, specifier.length - suffix.length) };
    }
  }
  if (best) return best.targets.map((t) => t.replace('*', best!.star));
  return resolution.baseUrl !== undefined ? [normalize(path.posix.join(resolution.baseUrl, specifier))] : [];
}

const RESOLVABLE = ['', '.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs', '.json', '/index.ts', '/index.tsx', '/index.js', '/index.mjs', '/package.json'];

/** The first alias target that exists on disk (as a file, with an extension, or as a folder with an index). */
export function existingTarget(workspaceRoot: string, targets: string[]): string | undefined {
  return targets.find((t) => RESOLVABLE.some((ext) => fs.existsSync(path.join(workspaceRoot, t + ext))));
}

export interface ImportGraphContext {
  workspaceRoot: string;
  tsconfig: TsconfigResolver;
  /** The project that owns a workspace path, if any. */
  owningProject(workspacePath: string): string | undefined;
  /** Workspace project by package.json name. */
  projectByPackage(name: string): string | undefined;
  /** npm package name -> the external node of the graph, when the lock file has it. */
  externalNode(name: string): string | undefined;
}

export interface ImportTarget {
  /** A workspace project or an npm external node (npm:<name>). */
  target: string;
  specifier: string;
  /** Set when the import leads into the workspace but into no project: its files stay out of the key. */
  unowned?: string;
}

/**
 * Where each import of a source file leads: relative paths and tsconfig path aliases to the project that
 * owns the file, workspace package names to their project, other bare imports to their npm node.
 */
export function importTargets(file: string, specifiers: string[], context: ImportGraphContext): ImportTarget[] {
  const results: ImportTarget[] = [];
  for (const specifier of specifiers) {
    if (specifier.startsWith('.') || specifier.startsWith('/')) {
      const target = normalize(path.posix.join(path.posix.dirname(file), specifier));
      const project = context.owningProject(target);
      results.push(project ? { target: project, specifier } : { target: '', specifier, unowned: target });
      continue;
    }
    const alias = aliasTargets(specifier, context.tsconfig.forFile(file));
    const aliased = alias.length ? existingTarget(context.workspaceRoot, alias) : undefined;
    if (aliased) {
      const project = context.owningProject(aliased);
      results.push(project ? { target: project, specifier } : { target: '', specifier, unowned: aliased });
      continue;
    }
    const name = packageName(specifier);
    const workspaceProject = context.projectByPackage(name);
    if (workspaceProject) {
      results.push({ target: workspaceProject, specifier });
      continue;
    }
    const node = context.externalNode(name);
    if (node) results.push({ target: node, specifier });
  }
  return results;
}

function normalize(p: string): string {
  const normalized = path.posix.normalize(p.replace(/\\/g, '/')).replace(/\/+$/, '');
  return normalized === '.' ? '' : normalized;
}

/**
 * The tsconfig files outside the project that decide how a service's imports resolve (the chain of the
 * nearest tsconfig.json above its root, e.g. the workspace's tsconfig.base.json), as workspace paths.
 */
export function resolutionFiles(workspaceRoot: string, projectRoot: string): string[] {
  const resolution = new TsconfigResolver(workspaceRoot).forDir(projectRoot);
  return (resolution?.files ?? []).filter((f) => projectRoot !== '' && !f.startsWith(`${projectRoot}/`));
}
