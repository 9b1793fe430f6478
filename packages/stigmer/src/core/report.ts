import * as path from 'node:path';
import { logger } from '@nx/devkit';
import * as fs from 'fs-extra';
import { resolveSpec, RuntimeId } from '../runtimes';
import type { ProjectRef } from '../runtimes/types';
import { compareReports, formatComparison, ReportComparison } from '../report/compare';
import { renderComparisonHtml } from '../report/html';
import { readReport, reportFiles } from '../report/report';
import { StigmerError } from '../utils/errors';
import { formatSize } from '../utils/progress';
import { distDir } from './build';

export interface BinaryReportOptions {
  spec?: string;
  runtime?: RuntimeId;
  /** A .report.json, or a folder holding <name>.report.json (an older dist/): the build to compare with. */
  compare?: string;
  /** Also write the comparison as a page: true for dist/<name>.compare.html, or a path. */
  html?: boolean | string;
}

/**
 * Prints what is inside the binary build-binary made (the largest packages), or with `compare` what grew,
 * shrank, appeared or vanished since another build, by package, biggest change first.
 */
export async function binaryReport(project: ProjectRef, options: BinaryReportOptions): Promise<ReportComparison | undefined> {
  const { spec } = resolveSpec(project, options);
  const current = reportFiles(distDir(project), spec.binaryName);
  const relative = (file: string) => path.relative(project.workspaceRoot, file) || file;
  if (!(await fs.pathExists(current.json))) {
    throw new StigmerError(`${relative(current.json)} does not exist: run nx run ${project.name}:build-binary first (its runtime writes the report beside the binary).`);
  }
  const after = await readReport(current.json);
  if (!options.compare) {
    logger.info(`${after.name} ${after.version}: ${formatSize(after.fileSize)}, ${after.packages.length} packages, overhead ${formatSize(after.overhead.size)} (${after.overhead.description})`);
    for (const pkg of after.packages.slice(0, 15)) logger.info(`  ${formatSize(pkg.size).padStart(9)}  ${pkg.name}${pkg.version ? ` ${pkg.version}` : ''}`);
    logger.info(`the page: ${relative(current.html)}`);
    return undefined;
  }
  const beforeFile = await resolveComparedReport(options.compare, project, spec.binaryName);
  const before = await readReport(beforeFile, relative(beforeFile));
  const comparison = compareReports(before, after, { before: relative(beforeFile), after: relative(current.json) });
  logger.info(formatComparison(comparison));
  if (options.html) {
    const page = typeof options.html === 'string' ? path.resolve(project.workspaceRoot, options.html) : path.join(distDir(project), `${spec.binaryName}.compare.html`);
    await fs.outputFile(page, renderComparisonHtml(comparison));
    logger.info(`the page: ${relative(page)}`);
  }
  return comparison;
}

/** The report to compare with: a .report.json, or a folder holding <name>.report.json; relative to the workspace. */
async function resolveComparedReport(compare: string, project: ProjectRef, binaryName: string): Promise<string> {
  const candidate = path.resolve(project.workspaceRoot, compare);
  const stat = await fs.stat(candidate).catch(() => undefined);
  if (stat?.isDirectory()) {
    const inside = reportFiles(candidate, binaryName).json;
    if (await fs.pathExists(inside)) return inside;
    throw new StigmerError(`${compare} holds no ${path.basename(inside)}: give a .report.json, or a folder with the report of ${binaryName} in it.`);
  }
  if (!stat && /^v?\d+\.\d+/.test(compare)) {
    throw new StigmerError(`--compare ${compare}: comparing with a published version needs publish-binary, which this version of stigmer does not have: give the path of that version's ${binaryName}.report.json.`);
  }
  return candidate;
}
