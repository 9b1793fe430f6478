import { StigmerError } from '../../utils/errors';
import { parseNamedJsonSpec } from '../../utils/json-spec';

/** The platforms a Node single executable can be built for, as npm's node-<os>-<arch> packages name them. */
export const NODE_PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win-x64'] as const;
export type NodePlatform = (typeof NODE_PLATFORMS)[number];

/**
 * `<name>.sea.json`: what a Node service's binary is made of.
 *   { "name": "greeter", "entry": "src/main.ts", "assets": { "greeting.txt": "assets/greeting.txt" },
 *     "platforms": ["host", "win-x64"], "nodeVersion": "20.20.2", "external": [] }
 */
export interface SeaSpec {
  name: string;
  /** Entry file (TypeScript or JavaScript, ESM or CommonJS), relative to the spec's folder. */
  entry: string;
  /** Asset key -> file (relative to the spec's folder), readable in the binary with node:sea getAsset(key). */
  assets?: Record<string, string>;
  /** Platforms the binary is built for; "host" is the machine that builds. Default ["host"]. */
  platforms?: ('host' | NodePlatform)[];
  /** Node version of the binary. Default: the Node that runs Nx. */
  nodeVersion?: string;
  /** Packages left out of the bundle (they must then be shipped as assets and loaded by the program). */
  external?: string[];
  /**
   * Packages that start a worker thread from a file beside their code on a path the service never takes:
   * the build lets them through instead of refusing them (pino and thread-stream are supported as they are).
   */
  allowFileWorkers?: string[];
  /**
   * What makes the executable from the bundle: "node" (default), Node's single executable; or "bun",
   * `bun build --compile` with the pinned Bun (faster start-up and build; no node:sea assets).
   */
  engine?: SeaEngine;
  /**
   * Strip the copied Node runtime's symbol table before injection (Linux targets; default true). false keeps
   * the symbols native stack traces, perf and gdb use.
   */
  strip?: boolean;
  /**
   * The smoke run test-binary makes (arguments, expected output as a regular expression), proposed by the
   * generator when the service handles --self-check, --version or --help; project.json options override it.
   */
  smoke?: { args: string[]; expectedOutput?: string };
}

export const SEA_ENGINES = ['node', 'bun'] as const;
export type SeaEngine = (typeof SEA_ENGINES)[number];

export function hostPlatform(): NodePlatform {
  const os = process.platform === 'win32' ? 'win' : process.platform;
  return `${os}-${process.arch}` as NodePlatform;
}

/** Parses and checks a spec; errors name the file and the fix. */
export function parseSeaSpec(content: string, specFile: string): SeaSpec {
  const spec = parseNamedJsonSpec<SeaSpec>(content, specFile);
  if (typeof spec.entry !== 'string' || !spec.entry) throw new StigmerError(`${specFile} needs an "entry": the service's main file, relative to the spec.`);
  for (const platform of spec.platforms ?? []) {
    if (platform !== 'host' && !NODE_PLATFORMS.includes(platform)) {
      throw new StigmerError(`${specFile} names an unknown platform '${platform}': use host or one of ${NODE_PLATFORMS.join(', ')}.`);
    }
  }
  if (spec.nodeVersion !== undefined && !/^\d+\.\d+\.\d+$/.test(spec.nodeVersion)) {
    throw new StigmerError(`${specFile} has nodeVersion '${spec.nodeVersion}': give an exact version such as 20.20.2.`);
  }
  if (spec.engine !== undefined && !SEA_ENGINES.includes(spec.engine)) {
    throw new StigmerError(`${specFile} has engine '${spec.engine}': use "node" (the default) or "bun".`);
  }
  if (spec.strip !== undefined && typeof spec.strip !== 'boolean') throw new StigmerError(`${specFile} has "strip": ${JSON.stringify(spec.strip)}: use true or false.`);
  if (spec.engine === 'bun' && spec.nodeVersion !== undefined) {
    throw new StigmerError(`${specFile} sets both "engine": "bun" and "nodeVersion": a Bun executable has no Node runtime; remove one of them.`);
  }
  return spec;
}

/** File name of the binary for a platform: the host's is plain <name>, others carry their platform. */
export function seaBinaryName(spec: Pick<SeaSpec, 'name'>, platform: NodePlatform): string {
  const base = platform === hostPlatform() ? spec.name : `${spec.name}-${platform}`;
  return base + (platform.startsWith('win') ? '.exe' : '');
}
