import * as path from 'node:path';
import * as fs from 'fs-extra';
import { findOnPath, runChecked } from '../../utils/process';
import type { NodePlatform } from './sea-spec';
import { stripRuntimeCopy } from './strip';

/** The fuse Node looks for to know a blob was injected (docs: "Single executable applications"). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** A fixed V8 hash seed for the Node run that writes the blob: same bundle, same code cache bytes. */
export const REPRODUCIBLE_SEED = '--random-seed=42';

export interface SeaRequest {
  bundle: string;
  assets: Record<string, string>;
  /** The Node executable of the target platform that becomes the binary. */
  runtime: string;
  /** A Node of the same version for this machine, which writes the blob (or the whole executable with --build-sea). */
  blobNode: string;
  /** The Node version of runtime and blobNode. */
  version: string;
  output: string;
  platform: NodePlatform;
  /** Code cache only where the blob's Node is the target's (it is platform-specific). */
  codeCache: boolean;
  workDir: string;
  /** Strip the runtime copy where the platform allows it (the spec's "strip", default true). */
  strip: boolean;
  /** Receives the tools' own output (postject, strip, node --build-sea): printed only with --verbose. */
  log: (line: string) => void;
  /** Receives the size of the (stripped) runtime copy and of the blob (postject only), for the size report. */
  onSizes?: (sizes: { runtime: number; blob?: number }) => void;
}

/** `node --build-sea` makes the executable in one step from Node 25.5 on (no postject, no LIEF in wasm). */
export function supportsBuildSea(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major > 25 || (major === 25 && minor >= 5);
}

/**
 * The Node single-executable procedure: a copy of the target's runtime, stripped where the platform
 * allows it; then `node --build-sea` (Node >= 25.5) or the blob (`node --experimental-sea-config`) injected
 * with postject's API and the NODE_SEA fuse. On macOS targets the signature is removed before and an
 * ad-hoc one added after, where `codesign` exists.
 */
export async function makeSingleExecutable(request: SeaRequest): Promise<'build-sea' | 'postject'> {
  const buildSea = supportsBuildSea(request.version);
  const config = path.join(request.workDir, `sea-config-${request.platform}.json`);
  const blob = path.join(request.workDir, `sea-${request.platform}.blob`);
  // With --build-sea the runtime copy is the input and the binary the output; with postject the copy is the binary.
  const copy = buildSea ? path.join(request.workDir, `node-runtime-${request.platform}${request.platform.startsWith('win') ? '.exe' : ''}`) : request.output;
  await fs.copy(request.runtime, copy);
  await fs.chmod(copy, 0o755);
  request.log(request.strip ? await stripRuntimeCopy(copy, request.platform) : 'runtime not stripped: "strip": false in the spec');
  const macOS = request.platform.startsWith('darwin');
  const codesign = macOS ? findOnPath('codesign') : undefined;
  if (codesign) await runChecked(codesign, ['--remove-signature', copy], 'codesign --remove-signature');
  // Reproducible blobs: Node stores `main` in the blob and in the code cache (and stack traces show it), so it
  // is given relative to the working folder (the random staging folder), and the code cache holds V8 string
  // hashes seeded at random per process unless --random-seed fixes the seed (as Node's own build does for its
  // built-in code cache). The binary still accepts its code cache.
  const seaConfig = {
    main: path.relative(request.workDir, request.bundle).split(path.sep).join('/'),
    disableExperimentalSEAWarning: true,
    useCodeCache: request.codeCache,
    useSnapshot: false,
    assets: request.assets,
  };
  try {
    if (buildSea) {
      request.onSizes?.({ runtime: (await fs.stat(copy)).size });
      await fs.writeJson(config, { ...seaConfig, executable: copy, output: request.output });
      const made = await runChecked(request.blobNode, [REPRODUCIBLE_SEED, '--build-sea', config], 'building the single executable (node --build-sea)', { cwd: request.workDir });
      logLines(request.log, made.stdout + made.stderr);
    } else {
      await fs.writeJson(config, { ...seaConfig, output: blob });
      const wrote = await runChecked(request.blobNode, [REPRODUCIBLE_SEED, '--experimental-sea-config', config], 'writing the single-executable blob (node --experimental-sea-config)', { cwd: request.workDir });
      logLines(request.log, wrote.stdout + wrote.stderr);
      const blobData = await fs.readFile(blob);
      request.onSizes?.({ runtime: (await fs.stat(copy)).size, blob: blobData.length });
      await injectWithPostject(request.output, blobData, macOS, request.log);
    }
  } finally {
    await fs.remove(config);
    await fs.remove(blob);
    if (copy !== request.output) await fs.remove(copy);
  }
  if (codesign) await runChecked(codesign, ['--sign', '-', request.output], 'codesign --sign -');
  return buildSea ? 'build-sea' : 'postject';
}

/**
 * postject prints its progress with console.log and LIEF's warnings (nine "Can't find string offset for
 * section name '.note.100'" on Linux) with console.warn, bound when inject() loads its wasm module: both go
 * to the verbose log, not to the user.
 */
async function injectWithPostject(file: string, data: Buffer, macOS: boolean, log: (line: string) => void): Promise<void> {
  const { inject } = require('postject') as { inject(file: string, name: string, data: Buffer, options: object): Promise<void> };
  const saved = { log: console.log, warn: console.warn };
  console.log = (...args: unknown[]) => log(args.join(' '));
  console.warn = (...args: unknown[]) => log(args.join(' '));
  try {
    await inject(file, 'NODE_SEA_BLOB', data, { sentinelFuse: SEA_FUSE, machoSegmentName: macOS ? 'NODE_SEA' : undefined, overwrite: true });
  } finally {
    console.log = saved.log;
    console.warn = saved.warn;
  }
}

function logLines(log: (line: string) => void, text: string): void {
  text.split(/\r?\n/).filter((line) => line.trim()).forEach(log);
}
