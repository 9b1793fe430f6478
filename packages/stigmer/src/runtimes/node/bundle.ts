import * as path from 'node:path';
import * as esbuild from 'esbuild';
import * as fs from 'fs-extra';
import { StigmerError } from '../../utils/errors';
import { packageOf, workerAssetKey, workerBootstrap, workerFiles } from './worker-files';

export interface BundleRequest {
  entry: string;
  outfile: string;
  external: string[];
  nodeVersion: string;
  specFile: string;
  workspaceRoot: string;
  binaryName: string;
  allowFileWorkers?: string[];
}

export interface BundleResult {
  esbuildVersion: string;
  /** SEA asset key -> file: worker files the bundle writes out at start (see worker-files.ts). */
  assets: Record<string, string>;
  /** esbuild's metafile of the main bundle: which input put how many bytes into it (the size report reads it). */
  metafile: esbuild.Metafile;
}

/** Packages that find a native addon by name at run time, where the bundler cannot see it. */
const ADDON_LOADERS = /^(bindings|node-gyp-build|node-gyp-build-optional-packages|@mapbox\/node-pre-gyp|node-pre-gyp|prebuild-install)$/;

/**
 * Native addons cannot live in a single executable's bundle: refuse them, naming the package, unless it is
 * marked external (then the program ships and loads the .node file itself, from an asset).
 */
function nativeAddonGuard(specFile: string): esbuild.Plugin {
  const refuse = (pkg: string | undefined, what: string) => ({
    errors: [
      {
        text: `the package ${pkg ?? '(workspace code)'} loads a native addon (${what}), which cannot go into a single executable: add "${pkg ?? '<package>'}" to "external" in ${specFile} and ship its .node file as an asset, or use a pure JavaScript alternative.`,
      },
    ],
  });
  return {
    name: 'stigmer-native-addons',
    setup(build) {
      build.onResolve({ filter: /\.node$/ }, (args) => refuse(packageOf(args.importer) ?? packageOf(args.path), args.path));
      build.onResolve({ filter: ADDON_LOADERS }, (args) => refuse(packageOf(args.importer), `through ${args.path}`));
    },
  };
}

/** Bundles the entry and its npm and workspace imports into one CommonJS file with esbuild's API, plus the worker files it loads at run time. */
export async function bundleEntry(request: BundleRequest): Promise<BundleResult> {
  if (!(await fs.pathExists(request.entry))) {
    throw new StigmerError(`entry ${path.relative(request.workspaceRoot, request.entry)} of ${request.specFile} does not exist: fix "entry" in the spec.`);
  }
  const common: esbuild.BuildOptions = {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${request.nodeVersion.split('.')[0]}`,
    external: request.external,
    plugins: [nativeAddonGuard(request.specFile)],
    logLevel: 'silent',
    legalComments: 'none',
    absWorkingDir: request.workspaceRoot,
  };
  const main = await build({ ...common, entryPoints: [request.entry], outfile: request.outfile, metafile: true }, request);
  const workers = workerFiles(main.metafile as esbuild.Metafile, request.workspaceRoot, request.specFile, request.allowFileWorkers);
  const assets: Record<string, string> = {};
  if (workers.length) {
    const outdir = path.join(path.dirname(request.outfile), 'workers');
    const fileName = (key: string) => key.replace(/[^A-Za-z0-9._-]/g, '_');
    await build({ ...common, entryPoints: workers.map((w) => ({ in: w.entry, out: fileName(w.key) })), outdir, outExtension: { '.js': '.cjs' } }, request);
    const overrides: Record<string, string> = {};
    for (const worker of workers) {
      const key = workerAssetKey(`${fileName(worker.key)}.cjs`);
      assets[key] = path.join(outdir, `${fileName(worker.key)}.cjs`);
      overrides[worker.key] = key;
    }
    // Prepended as plain text: it must run before the bundle's first require of pino.
    await fs.writeFile(request.outfile, workerBootstrap(request.binaryName, overrides) + (await fs.readFile(request.outfile, 'utf8')));
  }
  return { esbuildVersion: esbuild.version, assets, metafile: main.metafile as esbuild.Metafile };
}

async function build(options: esbuild.BuildOptions, request: BundleRequest): Promise<esbuild.BuildResult> {
  try {
    return await esbuild.build(options);
  } catch (error) {
    const first = (error as esbuild.BuildFailure).errors?.[0];
    if (!first) throw error;
    const where = first.location ? ` (${first.location.file}:${first.location.line})` : '';
    throw new StigmerError(first.text.includes('native addon') ? first.text : `esbuild could not bundle ${path.relative(request.workspaceRoot, request.entry)}: ${first.text}${where}: fix the import or add the package to "external" in ${request.specFile}.`);
  }
}
