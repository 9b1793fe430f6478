import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { StigmerError } from '../../utils/errors';
import { lastLines, run } from '../../utils/process';
import type { BuildRequest, BuiltBinary } from '../types';
import { importsC } from './go-files';
import { checkPlatforms, GoBinarySpec, goBinaryName, hostGoPlatform, linkVariables, manifestTarget } from './go-spec';

/**
 * The environment of every go command stigmer runs: the user's (GOTOOLCHAIN, GOPROXY, GOFLAGS' other
 * settings are theirs), with -mod=readonly so that go never writes go.mod or go.sum.
 */
export function goEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, GOFLAGS: '-mod=readonly', ...extra };
}

/** The Go version that really builds in a module's folder: `go env GOVERSION` follows the toolchain line and GOTOOLCHAIN. */
export async function goVersionIn(moduleDir: string, specFile: string): Promise<string> {
  const result = await run('go', ['env', 'GOVERSION'], { cwd: moduleDir, env: goEnv() }).catch((error) => {
    throw new StigmerError(`${(error as Error).message.replace(/\.$/, '')} (the Go toolchain builds ${specFile}; see go.dev/doc/install).`);
  });
  if (result.exitCode !== 0) throw new StigmerError(`go cannot build in ${moduleDir}: ${explainGoFailure(`${result.stdout}\n${result.stderr}`, specFile)}`);
  return result.stdout.trim();
}

/** The flags of every build: nothing of the machine or the checkout (paths, VCS stamps, build ids) goes into the file. */
export function goBuildArgs(spec: GoBinarySpec, version: string, output: string): string[] {
  const ldflags = ['-s', '-w', '-buildid=', ...linkVariables(spec, version)].join(' ');
  return ['build', '-trimpath', '-buildvcs=false', `-ldflags=${ldflags}`, '-o', output, spec.main];
}

/** A version usable in -ldflags -X (go splits the flag on spaces; quotes would need escaping). */
export function checkVersion(version: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(version)) throw new StigmerError(`version '${version}' has characters a Go link-time variable cannot carry: use letters, digits and . _ + - (e.g. 1.4.0).`);
  return version;
}

/**
 * Go's failure as one line with the fix: a module missing from go.mod or go.sum (the build never writes them),
 * cgo needed without the spec's opt-in, or the tail of go's own output.
 */
export function explainGoFailure(output: string, specFile: string): string {
  const missingSum = output.match(/missing go\.sum entry for module providing package (\S+)/) ?? output.match(/missing go\.sum entry for (?:go\.mod file; to add it|module)\S*\s*(\S*)/);
  if (missingSum) return `go.sum has no entry for ${missingSum[1] || 'a module the build needs'}, and the build never writes go.mod or go.sum: run go mod tidy in the module and commit go.mod and go.sum.`;
  const notRequired = output.match(/no required module provides package (\S+?);/);
  if (notRequired) return `no module in go.mod provides ${notRequired[1]}, and the build never writes go.mod or go.sum: run go mod tidy in the module and commit go.mod and go.sum.`;
  if (/updates to go\.mod needed|go: updates to go\.sum needed|inconsistent vendoring/.test(output)) return 'go.mod or go.sum is out of date, and the build never writes them: run go mod tidy in the module and commit go.mod and go.sum.';
  const toolchain = output.match(/go\.mod requires go >= (\S+) \(running go \S+; GOTOOLCHAIN=local\)/);
  if (toolchain) return `go.mod asks for Go ${toolchain[1]} and GOTOOLCHAIN=local forbids fetching it: install that Go, or set GOTOOLCHAIN=auto to let go fetch it from the module proxy.`;
  if (/build constraints exclude all Go files/.test(output)) return `${lastLines(output, 1)} (a package that needs cgo is built with CGO_ENABLED=0): drop the cgo dependency, or set "cgo": true in ${specFile} to build it for this machine only.`;
  return lastLines(output, 2) || 'go build failed with no output';
}

/** The first non-test Go file of the packages the build compiles from local sources that imports "C". */
async function cgoFile(dirs: string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name.startsWith('.') || entry.name.startsWith('_') || ['testdata', 'vendor', 'dist', 'build', 'node_modules'].includes(entry.name)) continue;
        const found = await cgoFile([file]);
        if (found) return found;
      } else if (entry.name.endsWith('.go') && !entry.name.endsWith('_test.go') && importsC(await fs.readFile(file, 'utf8'))) {
        return file;
      }
    }
  }
  return undefined;
}

/** Runs `work` for each item with at most `limit` running at once; the first failure is thrown once all have settled. */
async function inParallel<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < items.length && failure === undefined) {
      const i = next++;
      try {
        results[i] = await work(items[i]);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure !== undefined) throw failure;
  return results;
}

export interface GoBuildResult {
  binaries: BuiltBinary[];
  goVersion: string;
}

/** Builds every platform of the spec into the staging folder, in parallel within the machine's cores. */
export async function buildGoBinaries(request: BuildRequest, spec: GoBinarySpec, version: string, localModuleDirs: string[]): Promise<GoBuildResult> {
  const { project, progress } = request;
  const specFile = request.spec.specFile;
  const platforms = checkPlatforms(spec, specFile);
  if (!(await fs.pathExists(path.join(project.absRoot, 'go.mod')))) throw new StigmerError(`${path.join(project.root, specFile)} has no go.mod beside it: put the spec in the module's root folder (where go.mod is).`);
  // The version probe runs beside the builds: it costs a go start-up, and the builds fail on a bad toolchain anyway.
  const goVersion = goVersionIn(project.absRoot, specFile);
  goVersion.catch(() => undefined);
  if (!spec.cgo) {
    const cgo = await cgoFile([project.absRoot, ...localModuleDirs]);
    if (cgo) {
      throw new StigmerError(`${path.relative(project.workspaceRoot, cgo)} imports "C" (cgo), and stigmer builds with CGO_ENABLED=0 so that one machine makes every platform: remove the cgo code, or set "cgo": true and "platforms": ["host"] in ${specFile}.`);
    }
  }
  const host = hostGoPlatform();
  progress.phase(`go build (${platforms.join(', ')})`);
  const binaries = await inParallel(platforms, availableParallelism(), async (platform) => {
    const [goos, goarch] = platform.split('-');
    const output = path.join(request.stagingDir, goBinaryName(spec.name, platform));
    const env = goEnv({ GOOS: goos, GOARCH: goarch, CGO_ENABLED: spec.cgo && platform === host ? '1' : '0' });
    const result = await run('go', goBuildArgs(spec, version, output), { cwd: project.absRoot, env, timeoutMs: request.timeoutMs });
    if (result.exitCode !== 0) {
      const why = result.timedOut ? 'timed out' : explainGoFailure(`${result.stdout}\n${result.stderr}`, specFile);
      throw new StigmerError(`go build of ${spec.name} for ${platform} failed: ${why}`);
    }
    return { path: output, ...manifestTarget(platform) };
  });
  return { binaries, goVersion: await goVersion };
}
