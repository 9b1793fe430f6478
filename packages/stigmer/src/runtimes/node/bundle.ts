import * as path from 'node:path';
import * as esbuild from 'esbuild';
import * as fs from 'fs-extra';
import { StigmerError } from '../../utils/errors';

export interface BundleRequest {
  entry: string;
  outfile: string;
  external: string[];
  nodeVersion: string;
  specFile: string;
  workspaceRoot: string;
}

/** Packages that find a native addon by name at run time, where the bundler cannot see it. */
const ADDON_LOADERS = /^(bindings|node-gyp-build|node-gyp-build-optional-packages|@mapbox\/node-pre-gyp|node-pre-gyp|prebuild-install)$/;

/** The npm package a file belongs to (the last node_modules/<name> in its path). */
function packageOf(file: string | undefined): string | undefined {
  const matches = [...(file ?? '').replace(/\\/g, '/').matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)];
  return matches.length ? matches[matches.length - 1][1] : undefined;
}

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

/** Bundles the entry and its npm and workspace imports into one CommonJS file with esbuild's API. */
export async function bundleEntry(request: BundleRequest): Promise<string> {
  if (!(await fs.pathExists(request.entry))) {
    throw new StigmerError(`entry ${path.relative(request.workspaceRoot, request.entry)} of ${request.specFile} does not exist: fix "entry" in the spec.`);
  }
  try {
    await esbuild.build({
      entryPoints: [request.entry],
      outfile: request.outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: `node${request.nodeVersion.split('.')[0]}`,
      external: request.external,
      plugins: [nativeAddonGuard(request.specFile)],
      logLevel: 'silent',
      legalComments: 'none',
    });
  } catch (error) {
    const first = (error as esbuild.BuildFailure).errors?.[0];
    if (!first) throw error;
    const where = first.location ? ` (${first.location.file}:${first.location.line})` : '';
    throw new StigmerError(first.text.includes('native addon') ? first.text : `esbuild could not bundle ${path.relative(request.workspaceRoot, request.entry)}: ${first.text}${where}: fix the import or add the package to "external" in ${request.specFile}.`);
  }
  return esbuild.version;
}
