import * as path from 'node:path';
import { logger, TargetConfiguration } from '@nx/devkit';
import * as fs from 'fs-extra';
import { RELEASE_PUBLISH_TARGET } from '../plugins/targets';
import { resolveSpec, RuntimeId } from '../runtimes';
import type { ProjectRef } from '../runtimes/types';
import { compareReports, formatComparison, ReportComparison } from '../report/compare';
import { renderComparisonHtml } from '../report/html';
import { readPublishedReport } from '../publish/published-report';
import { openStore } from '../publish/store';
import { parseReport, readReport, reportFiles } from '../report/report';
import type { BinaryReport } from '../report/types';
import { StigmerError } from '../utils/errors';
import { formatSize } from '../utils/progress';
import { distDir } from './build';

export interface BinaryReportOptions {
  spec?: string;
  runtime?: RuntimeId;
  /**
   * The build to compare with: a .report.json, a folder holding <name>.report.json (an older dist/), or a
   * version or channel published with its report (publish-binary --report).
   */
  compare?: string;
  /** Also write the comparison as a page: true for dist/<name>.compare.html, or a path. */
  html?: boolean | string;
  /** Where published versions are read; default: the project's publish-binary target's store, endpoint, region. */
  store?: string;
  endpoint?: string;
  region?: string;
}

/** The store settings of the project's publish target (plugin "publish" options, targetDefaults, project.json merged by Nx). */
export interface PublishSettings {
  /** The publish target's name, for hints (publish-binary unless renamed). */
  target?: string;
  store?: string;
  endpoint?: string;
  region?: string;
}

/**
 * Prints what is inside the binary build-binary made (the largest packages), or with `compare` what grew,
 * shrank, appeared or vanished since another build, by package, biggest change first.
 */
export async function binaryReport(project: ProjectRef, options: BinaryReportOptions, publish: PublishSettings = {}): Promise<ReportComparison | undefined> {
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
  const before = await loadComparedReport(options.compare, project, spec.binaryName, { ...publish, ...definedOnly({ store: options.store, endpoint: options.endpoint, region: options.region }) });
  const comparison = compareReports(before.report, after, { before: before.source, after: relative(current.json) });
  logger.info(formatComparison(comparison));
  if (options.html) {
    const page = typeof options.html === 'string' ? path.resolve(project.workspaceRoot, options.html) : path.join(distDir(project), `${spec.binaryName}.compare.html`);
    await fs.outputFile(page, renderComparisonHtml(comparison));
    logger.info(`the page: ${relative(page)}`);
  }
  return comparison;
}

/**
 * The store settings of the project's publish target, as Nx resolved its options (the plugin's "publish"
 * options, nx.json targetDefaults and project.json merged): `publish-binary`, else a renamed target of the
 * publish-binary executor.
 */
export function publishSettings(targets: Record<string, TargetConfiguration>): PublishSettings {
  const publishTargets = Object.entries(targets).filter(([, target]) => target.executor === 'stigmer:publish-binary');
  const [name, target] =
    publishTargets.find(([targetName]) => targetName === 'publish-binary') ?? publishTargets.find(([targetName]) => targetName !== RELEASE_PUBLISH_TARGET) ?? publishTargets[0] ?? [];
  const options = (target?.options ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
  return { target: name, store: text(options.store), endpoint: text(options.endpoint), region: text(options.region) };
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined && value !== '')) as Partial<T>;
}

/** What names a published version or channel rather than a file: one path segment, no .json. */
export function namesPublishedVersion(compare: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9.+_-]*$/.test(compare) && !/\.json$/i.test(compare);
}

/**
 * The report to compare with, relative to the workspace: a .report.json, a folder holding <name>.report.json,
 * else (when no such path exists) a version or channel published with its report, read from the store
 * publish-binary publishes into.
 */
async function loadComparedReport(compare: string, project: ProjectRef, binaryName: string, publish: PublishSettings): Promise<{ report: BinaryReport; source: string }> {
  const candidate = path.resolve(project.workspaceRoot, compare);
  const shown = path.relative(project.workspaceRoot, candidate) || candidate;
  const stat = await fs.stat(candidate).catch(() => undefined);
  if (stat?.isDirectory()) {
    const inside = reportFiles(candidate, binaryName).json;
    if (await fs.pathExists(inside)) return { report: await readReport(inside, path.relative(project.workspaceRoot, inside)), source: path.relative(project.workspaceRoot, inside) };
    throw new StigmerError(`${compare} holds no ${path.basename(inside)}: give a .report.json, or a folder with the report of ${binaryName} in it.`);
  }
  if (stat || !namesPublishedVersion(compare)) return { report: await readReport(candidate, shown), source: shown };
  const publishCommand = `nx run ${project.name}:${publish.target ?? 'publish-binary'}`;
  if (!publish.store) {
    throw new StigmerError(
      `--compare ${compare} is no file here, and no store is configured to read a published ${compare} from: set "publish": { "store": "s3://bucket/prefix" } in the stigmer plugin options of nx.json (the store ${publishCommand} uses), or pass --store.`,
    );
  }
  const store = openStore(publish.store, project.workspaceRoot, { endpoint: publish.endpoint, region: publish.region });
  try {
    const published = await readPublishedReport(store, binaryName, compare, publishCommand);
    return { report: parseReport(published.text, published.source), source: published.source };
  } finally {
    store.close();
  }
}
