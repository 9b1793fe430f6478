import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Metafile } from 'esbuild';
import { StigmerError } from '../../utils/errors';
import { importSpecifiers } from './workspace-imports';
import { sourceTokens, TokenType } from './source-tokens';

/**
 * Files some packages load from disk at run time, which a single executable does not have. pino and
 * thread-stream start worker threads from `join(__dirname, 'lib/worker.js')` and resolve transport
 * targets (pino-pretty, pino/file, ...) with require.resolve; both first look the path up in
 * `globalThis.__bundlerPathsOverrides`, under the keys used here.
 */
export interface WorkerFile {
  /** Key in __bundlerPathsOverrides. */
  key: string;
  /** Absolute path of the file esbuild bundles into the worker's own file. */
  entry: string;
}

/** The npm package a file belongs to (the last node_modules/<name> in its path). */
export function packageOf(file: string | undefined): string | undefined {
  const parts = (file ?? '').replace(/\\/g, '/').split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return undefined;
  return parts[at + 1].startsWith('@') ? parts.slice(at + 1, at + 3).join('/') : parts[at + 1];
}

/** The folder of an installed package, from one of its files that went into the bundle. */
function packageDir(file: string, name: string): string {
  const normalized = file.replace(/\\/g, '/');
  const marker = `node_modules/${name}/`;
  return normalized.slice(0, normalized.lastIndexOf(marker) + marker.length - 1);
}

/** A string literal that names a pino transport package or pino's file transport. */
const TRANSPORT_NAME = /^(pino\/file|(@[a-z0-9][\w.-]*\/)?pino-[a-z0-9][\w.-]*)$/;
/** pino-* packages that are libraries of pino itself, never transport targets. */
const NOT_TRANSPORTS = new Set(['pino-std-serializers', 'pino-abstract-transport']);

/**
 * The worker files a bundle needs, from esbuild's metafile: thread-stream's and pino's workers when those
 * packages went in, and every transport target the service's own sources name in a string literal
 * (`target: 'pino-pretty'`). A named transport that is not installed is refused here, not at run time.
 */
export function workerFiles(metafile: Metafile, workingDir: string, specFile: string, allowed: string[] = []): WorkerFile[] {
  // Virtual inputs ("(disabled):...", "<define:...>") are not files.
  const inputs = Object.keys(metafile.inputs)
    .filter((input) => !/^[(<]/.test(input))
    .map((input) => path.resolve(workingDir, input))
    .filter((input) => fs.existsSync(input));
  refuseFileWorkers(inputs, workingDir, specFile, allowed);
  const files: WorkerFile[] = [];
  const threadStream = inputs.find((f) => packageOf(f) === 'thread-stream');
  const pino = inputs.find((f) => packageOf(f) === 'pino');
  if (threadStream) files.push({ key: 'thread-stream-worker', entry: path.join(packageDir(threadStream, 'thread-stream'), 'lib', 'worker.js') });
  if (!pino) return files.filter((f) => fs.existsSync(f.entry));
  const pinoDir = packageDir(pino, 'pino');
  files.push({ key: 'pino-worker', entry: path.join(pinoDir, 'lib', 'worker.js') }, { key: 'pino/file', entry: path.join(pinoDir, 'file.js') });
  const named = new Map<string, string>();
  for (const source of inputs.filter((f) => !packageOf(f) && /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/.test(f))) {
    for (const name of transportNames(fs.readFileSync(source, 'utf8'), source)) if (!named.has(name)) named.set(name, source);
  }
  for (const [name, source] of named) {
    if (name === 'pino/file') continue;
    let entry: string;
    try {
      entry = require.resolve(name, { paths: [path.dirname(source)] });
    } catch {
      throw new StigmerError(`${path.relative(workingDir, source)} names the pino transport '${name}', which is not installed, so the binary could not start it: npm install ${name} (or fix the target's name in the source).`);
    }
    files.push({ key: name, entry });
  }
  const missing = files.find((f) => !fs.existsSync(f.entry));
  if (missing) throw new StigmerError(`${missing.key} loads ${path.relative(workingDir, missing.entry)} at run time, but the installed package has no such file: reinstall it (npm ci), or mark the package "external" in ${specFile}.`);
  return files;
}

/** Packages whose workers from files stigmer supports (see workerFiles). */
const SUPPORTED_WORKERS = new Set(['thread-stream', 'pino']);

/**
 * Refuses a bundle in which code starts a worker thread from a file next to it (`new Worker(join(__dirname,
 * ...))`, `new Worker(new URL('./w.js', import.meta.url))`, `new Worker('./w.js')`): the single executable
 * has no such file, so the binary would fail when that code runs. Packages listed in the spec's
 * "allowFileWorkers" are let through (their worker code path is not used by the service).
 */
function refuseFileWorkers(inputs: string[], workingDir: string, specFile: string, allowed: string[]): void {
  for (const input of inputs) {
    const owner = packageOf(input);
    if ((owner && (SUPPORTED_WORKERS.has(owner) || allowed.includes(owner))) || !/\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/.test(input)) continue;
    const content = fs.readFileSync(input, 'utf8');
    // A plain substring test first: most files never mention workers, and tokenizing them all is wasted time.
    if (!content.includes('Worker(') && !content.includes('Worker (')) continue;
    let found: string | undefined;
    try {
      found = fileWorkerCall(content, input);
    } catch {
      continue;
    }
    if (!found) continue;
    const where = path.relative(workingDir, input);
    throw new StigmerError(
      owner
        ? `the package ${owner} starts a worker thread from a file (${found} in ${where}), which a single executable does not have: add "${owner}" to "allowFileWorkers" in ${specFile} if the service never uses that code path, or use an alternative that runs in-process.`
        : `${where} starts a worker thread from a file (${found}), which a single executable does not have: start it from code (new Worker(code, { eval: true })), or ship the worker as an asset in ${specFile} and write it to a temporary file first.`,
    );
  }
}

/** The text of the first `new Worker(...)` whose argument points at a file beside the code, if any. */
export function fileWorkerCall(content: string, fileName: string): string | undefined {
  const tokens = sourceTokens(content, fileName);
  const text = (i: number) => content.slice(tokens[i].start, tokens[i].end);
  for (let i = 0; i < tokens.length - 1; i++) {
    if (tokens[i].type !== TokenType.name || text(i) !== 'Worker' || tokens[i + 1].type !== TokenType.parenL) continue;
    const isNew = tokens[i - 1]?.type === TokenType._new || (tokens[i - 1]?.type === TokenType.dot && tokens[i - 3]?.type === TokenType._new);
    if (!isNew) continue;
    let depth = 0;
    let end = i + 1;
    for (; end < tokens.length; end++) {
      if (tokens[end].type === TokenType.parenL) depth++;
      if (tokens[end].type === TokenType.parenR && --depth === 0) break;
      // Only the first argument (the file); options come after the first top-level comma.
      if (depth === 1 && tokens[end].type === TokenType.comma) break;
    }
    for (let j = i + 2; j < end; j++) {
      const word = text(j);
      const beside =
        (tokens[j].type === TokenType.name && (word === '__dirname' || word === '__filename')) ||
        (tokens[j].type === TokenType._import && tokens[j + 1]?.type === TokenType.dot && text(j + 2) === 'meta') ||
        (tokens[j].type === TokenType.string && /\.(c|m)?[jt]s$/.test(word.slice(1, -1)));
      if (beside) return content.slice(tokens[tokens[i - 1].type === TokenType._new ? i - 1 : i - 3].start, tokens[Math.min(end, tokens.length - 1)].end).replace(/\s+/g, ' ').slice(0, 80);
    }
  }
  return undefined;
}

/** String literals of a source that name pino transports (tokens, so comments and code are not mistaken). */
export function transportNames(content: string, fileName: string): string[] {
  const tokens = sourceTokens(content, fileName);
  const imported = new Set(importSpecifiers(content, fileName));
  const names = new Set<string>();
  for (const token of tokens) {
    if (token.type !== TokenType.string) continue;
    const value = content.slice(token.start + 1, token.end - 1);
    if (TRANSPORT_NAME.test(value) && !NOT_TRANSPORTS.has(value) && !imported.has(value)) names.add(value);
  }
  return [...names];
}

/** SEA asset key of a worker file. */
export function workerAssetKey(file: string): string {
  return `stigmer/workers/${file}`;
}

/**
 * Code run first in the binary: writes the embedded worker files into a private folder (mkdtemp, mode
 * 0700, removed at exit) and points pino and thread-stream at them. Only in the single executable: run as
 * a plain script, the packages find their files where they are.
 */
export function workerBootstrap(binaryName: string, files: Record<string, string>): string {
  return `;(() => {
  let sea;
  try { sea = require('node:sea'); } catch { return; }
  if (!sea.isSea || !sea.isSea()) return;
  const fs = require('node:fs');
  const path = require('node:path');
  const os = require('node:os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), ${JSON.stringify(`${binaryName}-workers-`)}));
  process.once('exit', () => { try { fs.rmSync(dir, { recursive: true, force: true }); } catch {} });
  const overrides = {};
  for (const [key, asset] of Object.entries(${JSON.stringify(files)})) {
    const file = path.join(dir, asset.split('/').pop());
    fs.writeFileSync(file, Buffer.from(sea.getAsset(asset)), { mode: 0o600 });
    overrides[key] = file;
  }
  globalThis.__bundlerPathsOverrides = Object.assign({}, globalThis.__bundlerPathsOverrides, overrides);
})();
`;
}
