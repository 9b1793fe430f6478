import * as path from 'node:path';
import type { Metafile } from 'esbuild';
import * as fs from 'fs-extra';
import { StigmerError } from '../../utils/errors';
import type { ReportRequest } from '../types';
import { workerAssetKey } from './worker-files';
import type { ReportItem, RuntimeReport } from '../../report/types';

/** What a Node build hands its report (BuildOutput.reportInput), measured for the binary of this machine. */
export interface NodeReportInput {
  engine: 'node' | 'bun';
  /** e.g. "20.20.2" or Bun's version. */
  runtimeVersion: string;
  metafile: Metafile;
  /** Size of the bundle file that went into the binary (esbuild's output plus the worker bootstrap). */
  bundleSize: number;
  /** Embedded asset key -> its size. */
  assets: Record<string, number>;
  /** Size of the runtime copy (after strip) that became the binary. */
  runtimeSize?: number;
  /** Size of the single-executable blob (bundle, assets, code cache), when postject injected it. */
  blobSize?: number;
}

/** "node_modules/@fastify/cors/index.js" -> "@fastify/cors"; the last node_modules wins (nested copies). */
export function npmPackageOf(input: string): string | undefined {
  const parts = input.replace(/\\/g, '/').split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return undefined;
  return parts[at + 1].startsWith('@') ? parts.slice(at + 1, at + 3).join('/') : parts[at + 1];
}

/** The package folder of a bundled input in node_modules ("…/node_modules/@a/b"), for its version. */
function packageFolder(input: string, pkg: string): string {
  const normalized = input.replace(/\\/g, '/');
  return normalized.slice(0, normalized.lastIndexOf(`node_modules/${pkg}`) + `node_modules/${pkg}`.length);
}

/** Bundled inputs (esbuild's metafile: bytes each input put into the bundle) as report items, by npm package or workspace folder. */
export function bundleItems(metafile: Metafile, workspaceRoot: string, bundleSize: number): ReportItem[] {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint) ?? Object.values(metafile.outputs)[0];
  if (!output) throw new StigmerError('esbuild wrote no output into its metafile');
  const versions = new Map<string, string | undefined>();
  const items: ReportItem[] = [];
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    if (!bytesInOutput) continue;
    const pkg = npmPackageOf(input);
    if (pkg) {
      const folder = packageFolder(input, pkg);
      if (!versions.has(folder)) versions.set(folder, fs.readJsonSync(path.join(workspaceRoot, folder, 'package.json'), { throws: false })?.version);
      items.push({ path: input, size: bytesInOutput, kind: 'js', package: pkg, packageKind: 'npm', version: versions.get(folder) });
    } else {
      // Workspace code: by its first two folders (apps/gateway, libs/shared), what Nx workspaces are made of.
      const folders = input.replace(/\\/g, '/').split('/');
      items.push({ path: input, size: bytesInOutput, kind: 'js', package: `${folders.slice(0, Math.min(2, folders.length - 1)).join('/') || input} (workspace)`, packageKind: 'service' });
    }
  }
  const glue = bundleSize - items.reduce((sum, i) => sum + i.size, 0);
  if (glue > 0) items.push({ path: 'module wrappers and helpers', size: glue, kind: 'js', package: 'esbuild module wrappers', packageKind: 'service' });
  return items;
}

export async function nodeReport({ binary, build, project }: ReportRequest): Promise<RuntimeReport> {
  const input = build.reportInput as NodeReportInput | undefined;
  if (!input) throw new StigmerError('the build recorded nothing to report');
  const { size } = await fs.stat(binary.path);
  const runtimeName = `${input.engine === 'bun' ? 'Bun' : 'Node'} ${input.runtimeVersion} runtime`;
  const items: ReportItem[] = [];
  if (input.runtimeSize) items.push({ path: input.engine, size: input.runtimeSize, kind: 'runtime', package: runtimeName, packageKind: 'runtime' });
  items.push(...bundleItems(input.metafile, project.workspaceRoot, input.bundleSize));
  for (const [key, assetSize] of Object.entries(input.assets)) {
    // Worker files (pino transports) are bundles of their own, embedded as assets by stigmer: apart from the spec's assets.
    const worker = key.startsWith(workerAssetKey(''));
    items.push({ path: key, size: assetSize, kind: worker ? 'js' : 'asset', package: worker ? 'worker files (bundled transports)' : 'assets', packageKind: 'asset' });
  }
  if (input.blobSize) {
    // The blob is the bundle, the assets, a small header and V8's code cache of the bundle.
    const assetsSize = Object.values(input.assets).reduce((sum, s) => sum + s, 0);
    const codeCache = input.blobSize - input.bundleSize - assetsSize;
    if (codeCache > 0) items.push({ path: 'code cache and blob header', size: codeCache, kind: 'code cache', package: 'V8 code cache', packageKind: 'runtime' });
  }
  return {
    items,
    measuredSize: size,
    basis: 'the executable',
    overheadDescription:
      input.engine === 'bun'
        ? "Bun's compiled form of the bundle (minified, with bytecode) beyond esbuild's sizes, and the executable's section padding"
        : input.blobSize
          ? 'ELF/PE section headers and alignment of the injected blob'
          : "the blob's header and V8 code cache (node --build-sea does not say their size), section headers and alignment",
  };
}
