import { packageOf } from './worker-files';
import { packageName } from './workspace-imports';

/**
 * Explains a failed run of a Node binary from its output: a package that was not bundled (marked external,
 * or loaded by a computed require), a worker file or a pino transport target loaded from disk at run time.
 */
export function diagnoseNodeRun(output: string, specFile: string): string | undefined {
  const transport = /unable to determine transport target for "([^"]+)"/.exec(output);
  if (transport) {
    return `pino could not find its transport target '${transport[1]}' at run time: name it in a string literal of the service's sources (target: '${transport[1]}') and install it in the workspace, so that stigmer embeds it, then rebuild.`;
  }
  const missing = /Cannot find module '([^']+)'/.exec(output);
  if (!missing) return undefined;
  const module = missing[1];
  const owner = packageOf(module);
  if (/[\\/]lib[\\/]worker\.js$/.test(module) || /worker/i.test(module)) {
    const pkg = owner ?? (/thread-stream|pino/.exec(module)?.[0] ?? 'a package');
    return `${pkg} starts a worker thread from ${module}, a file the single executable does not have: stigmer embeds the workers of pino and thread-stream; for ${pkg}, start the worker from code bundled as an asset, or use a transport-free logger setup.`;
  }
  if (module.startsWith('.') || module.startsWith('/') || /^[A-Za-z]:\\/.test(module)) {
    return `the binary tried to load the file ${module} at run time, which is not inside it: ship it as an asset in ${specFile} and read it with node:sea getAsset, or import it statically so esbuild bundles it.`;
  }
  const pkg = packageName(module);
  return `the binary could not load the package '${pkg}' at run time: it is not in the bundle (marked "external" in ${specFile}, or required by a computed name); remove it from "external" or import it statically so esbuild bundles it.`;
}
