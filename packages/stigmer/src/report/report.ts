import * as path from 'node:path';
import * as fs from 'fs-extra';
import { StigmerError } from '../utils/errors';
import { formatSize } from '../utils/progress';
import { renderReportHtml } from './html';
import type { BinaryReport, ReportPackage, RuntimeReport } from './types';

export * from './types';

/** The report's two files beside the binaries: dist/<name>.report.json and dist/<name>.report.html. */
export function reportFiles(dir: string, binaryName: string): { json: string; html: string } {
  return { json: path.join(dir, `${binaryName}.report.json`), html: path.join(dir, `${binaryName}.report.html`) };
}

export type ReportHeader = Omit<BinaryReport, 'schema' | 'measuredSize' | 'basis' | 'itemsSize' | 'overhead' | 'packages'>;

/** Groups a runtime's items by package, largest first (files too), and names what no item accounts for as overhead. */
export function assembleReport(header: ReportHeader, measured: RuntimeReport): BinaryReport {
  const byName = new Map<string, ReportPackage>();
  for (const item of measured.items) {
    let pkg = byName.get(item.package);
    if (!pkg) {
      pkg = { name: item.package, kind: item.packageKind, ...(item.version ? { version: item.version } : {}), size: 0, uncompressedSize: 0, files: [] };
      byName.set(item.package, pkg);
    }
    pkg.size += item.size;
    pkg.uncompressedSize += item.uncompressedSize ?? item.size;
    pkg.files.push({ path: item.path, size: item.size, ...(item.uncompressedSize !== undefined && item.uncompressedSize !== item.size ? { uncompressedSize: item.uncompressedSize } : {}), kind: item.kind });
  }
  const packages = [...byName.values()].sort((a, b) => b.size - a.size || a.name.localeCompare(b.name));
  for (const pkg of packages) pkg.files.sort((a, b) => b.size - a.size || a.path.localeCompare(b.path));
  const itemsSize = packages.reduce((sum, p) => sum + p.size, 0);
  return {
    schema: 1,
    ...header,
    measuredSize: measured.measuredSize,
    basis: measured.basis,
    itemsSize,
    overhead: { size: measured.measuredSize - itemsSize, description: measured.overheadDescription },
    packages,
  };
}

/** Writes the JSON and the self-contained HTML page. */
export async function writeReport(dir: string, report: BinaryReport): Promise<{ json: string; html: string }> {
  const files = reportFiles(dir, report.name);
  await fs.outputJson(files.json, report, { spaces: 1 });
  await fs.outputFile(files.html, renderReportHtml(report));
  return files;
}

/** Reads a report JSON, with a one-line error naming the file when it is not one. */
export async function readReport(file: string, shown = file): Promise<BinaryReport> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StigmerError(code === 'ENOENT' ? `${shown} does not exist: give the path of a .report.json that build-binary wrote (dist/<name>.report.json).` : `cannot read ${shown} (${code}): give the path of a .report.json that build-binary wrote.`);
  }
  return parseReport(text, shown);
}

/** A report's JSON text (a file's, or one read from a store), checked to be a stigmer report. */
export function parseReport(text: string, shown: string): BinaryReport {
  let data: BinaryReport;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new StigmerError(`${shown} is not JSON (${(error as Error).message.split('\n')[0]}): give the path of a .report.json that build-binary wrote.`);
  }
  if (data?.schema !== 1 || !Array.isArray(data.packages)) {
    throw new StigmerError(`${shown} is not a stigmer binary report (no "schema": 1 and "packages"): give the path of a .report.json that build-binary wrote.`);
  }
  return data;
}

/** "langchain-core 12.3 MB, grpcio 8.1 MB, ..." for the n largest packages. */
export function largestPackages(report: BinaryReport, count = 5): string {
  return report.packages.slice(0, count).map((p) => `${p.name} ${formatSize(p.size)}`).join(', ');
}
