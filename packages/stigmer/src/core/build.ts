import * as path from 'node:path';
import { logger } from '@nx/devkit';
import * as fs from 'fs-extra';
import { resolveSpec, RuntimeId } from '../runtimes';
import type { BinaryRuntime, BuildOutput, ProjectRef, SpecInfo } from '../runtimes/types';
import { assembleReport, reportFiles, writeReport } from '../report/report';
import { createStagingDir, promoteFromStaging, removeBinary, writeSideFiles } from '../utils/artifacts';
import { StigmerError } from '../utils/errors';
import { killLiveChildren } from '../utils/process';
import { formatSeconds, formatSize, Progress } from '../utils/progress';
import { STIGMER_VERSION } from '../utils/version';

export interface BuildBinaryOptions {
  spec?: string;
  runtime?: RuntimeId;
  clean?: boolean;
  timeout?: number;
  [runtimeOption: string]: unknown;
}

/** The folder binaries go to: dist/ beside the service's sources. */
export function distDir(project: ProjectRef): string {
  return path.join(project.absRoot, 'dist');
}

/**
 * Builds a binary into a private staging folder, writes its checksum and manifest, and only then moves
 * them into dist/. A failure or an interruption leaves dist/ as it was: the last good binary, never half
 * of a new one.
 */
export async function buildBinary(project: ProjectRef, options: BuildBinaryOptions): Promise<string> {
  const { runtime, spec } = resolveSpec(project, options);
  const progress = new Progress('stigmer');
  logger.info(`[stigmer] building ${project.name} with ${runtime.displayName} from ${path.join(project.root, spec.specFile)}`);
  const outputDir = distDir(project);
  const staging = await createStagingDir(outputDir);
  // After a failure or an interruption the builder's work files may be half-written: the next build
  // starts clean rather than trusting them.
  const discardWorkFiles = () => runtime.workFiles(project, spec).forEach((file) => fs.removeSync(file));
  const stop = (signal: NodeJS.Signals) => {
    killLiveChildren('SIGKILL');
    fs.removeSync(staging);
    discardWorkFiles();
    removeIfEmpty(outputDir);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (options.clean) {
      progress.phase('clean');
      for (const file of runtime.workFiles(project, spec)) await fs.remove(file);
    }
    const output = await runtime.build({
      project,
      spec,
      stagingDir: staging,
      clean: options.clean === true,
      options,
      progress,
      timeoutMs: options.timeout ? options.timeout * 1000 : undefined,
    });
    progress.phase('verify');
    const sizes: number[] = [];
    for (const binary of output.binaries) {
      const { size } = await fs.stat(binary.path);
      if (size === 0) throw new StigmerError(`${runtime.displayName} wrote an empty ${path.basename(binary.path)}: see its output above.`);
      const layout = binary.layout ?? 'onefile';
      // An archive is not run itself: its entrypoint inside keeps the mode the builder gave it.
      if (layout === 'onefile') await fs.chmod(binary.path, 0o755);
      await writeSideFiles(binary.path, {
        name: spec.binaryName,
        version: output.version,
        os: binary.os,
        arch: binary.arch,
        runtime: runtime.id,
        layout,
        ...(binary.entrypoint ? { entrypoint: binary.entrypoint } : {}),
        runtimeVersions: output.runtimeVersions,
        builtBy: `stigmer ${STIGMER_VERSION}`,
      });
      sizes.push(size);
    }
    if (runtime.report) progress.phase('report');
    const report = await buildReport(runtime, project, spec, output, options, staging);
    // Every binary and its side files are complete: only now do they replace what dist/ held.
    const finalReport = reportFiles(outputDir, spec.binaryName);
    if (report) {
      await fs.move(report.json, finalReport.json, { overwrite: true });
      await fs.move(report.html, finalReport.html, { overwrite: true });
    } else {
      // A report of the previous binary would describe what this one is not.
      await fs.remove(finalReport.json);
      await fs.remove(finalReport.html);
    }
    const finalPaths = output.binaries.map((binary) => path.join(outputDir, path.basename(binary.path)));
    for (const [i, binary] of output.binaries.entries()) await promoteFromStaging(binary.path, finalPaths[i]);
    // After a switch of layout, dist/ holds only what this spec builds: never an old binary beside the new one.
    for (const file of spec.supersededFiles ?? []) await removeBinary(path.join(outputDir, file));
    progress.end();
    finalPaths.forEach((finalPath, i) => {
      const last = i === finalPaths.length - 1 ? `, built in ${formatSeconds(progress.totalMs)}` : '';
      logger.info(`[stigmer] ${path.relative(project.workspaceRoot, finalPath)}: ${formatSize(sizes[i])}${last}`);
    });
    return finalPaths[0];
  } catch (error) {
    discardWorkFiles();
    throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await fs.remove(staging);
    removeIfEmpty(outputDir);
  }
}

/**
 * dist/<name>.report.json and .report.html for the binary of this machine, into the staging folder; undefined when
 * the runtime makes none. A report that fails is a warning: it never costs the user a binary that works.
 */
async function buildReport(runtime: BinaryRuntime, project: ProjectRef, spec: SpecInfo, output: BuildOutput, options: BuildBinaryOptions, staging: string): Promise<{ json: string; html: string } | undefined> {
  const binary = output.binaries[0];
  if (!runtime.report || !binary) return undefined;
  try {
    const measured = await runtime.report({ project, spec, binary, build: output, options });
    const { size } = await fs.stat(binary.path);
    const report = assembleReport(
      { name: spec.binaryName, binary: path.basename(binary.path), runtime: runtime.id, version: output.version, os: binary.os, arch: binary.arch, layout: binary.layout ?? 'onefile', fileSize: size, builtBy: `stigmer ${STIGMER_VERSION}` },
      measured,
    );
    return await writeReport(staging, report);
  } catch (error) {
    logger.warn(`[stigmer] no size report for ${spec.binaryName}: ${(error as Error).message.split('\n')[0]} (the binary is fine; run with STIGMER_DEBUG=1 for details).`);
    if (process.env.STIGMER_DEBUG) logger.warn((error as Error).stack ?? '');
    return undefined;
  }
}

export function removeIfEmpty(dir: string): void {
  try {
    if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
  } catch {
    // absent or not empty
  }
}
