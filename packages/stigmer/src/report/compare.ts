import { formatSize } from '../utils/progress';
import type { BinaryReport } from './types';

export type ChangeStatus = 'new' | 'gone' | 'grew' | 'shrank' | 'same';

export interface PackageChange {
  name: string;
  status: ChangeStatus;
  before: number;
  after: number;
  delta: number;
  /** Files of the package that appeared, vanished or changed size, largest change first (at most 10). */
  files: Array<{ path: string; before: number; after: number; delta: number }>;
}

export interface ReportComparison {
  before: { name: string; version: string; size: number; source: string };
  after: { name: string; version: string; size: number; source: string };
  delta: number;
  /** Biggest change first; unchanged packages last. */
  changes: PackageChange[];
}

/** What grew, shrank, appeared or vanished between two reports, by package, biggest change first. */
export function compareReports(before: BinaryReport, after: BinaryReport, sources: { before: string; after: string }): ReportComparison {
  const old = new Map(before.packages.map((p) => [p.name, p]));
  const cur = new Map(after.packages.map((p) => [p.name, p]));
  const names = [...new Set([...old.keys(), ...cur.keys()])];
  const changes = names.map((name): PackageChange => {
    const a = old.get(name);
    const b = cur.get(name);
    const beforeSize = a?.size ?? 0;
    const afterSize = b?.size ?? 0;
    const status: ChangeStatus = !a ? 'new' : !b ? 'gone' : afterSize > beforeSize ? 'grew' : afterSize < beforeSize ? 'shrank' : 'same';
    const oldFiles = new Map((a?.files ?? []).map((f) => [f.path, f.size]));
    const newFiles = new Map((b?.files ?? []).map((f) => [f.path, f.size]));
    const files = [...new Set([...oldFiles.keys(), ...newFiles.keys()])]
      .map((file) => ({ path: file, before: oldFiles.get(file) ?? 0, after: newFiles.get(file) ?? 0, delta: (newFiles.get(file) ?? 0) - (oldFiles.get(file) ?? 0) }))
      .filter((f) => f.delta !== 0 || !oldFiles.has(f.path) || !newFiles.has(f.path))
      .sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || x.path.localeCompare(y.path))
      .slice(0, 10);
    return { name, status, before: beforeSize, after: afterSize, delta: afterSize - beforeSize, files };
  });
  changes.sort((x, y) => Number(x.status === 'same') - Number(y.status === 'same') || Math.abs(y.delta) - Math.abs(x.delta) || y.after - x.after || x.name.localeCompare(y.name));
  return {
    before: { name: before.name, version: before.version, size: before.fileSize, source: sources.before },
    after: { name: after.name, version: after.version, size: after.fileSize, source: sources.after },
    delta: after.fileSize - before.fileSize,
    changes,
  };
}

/** "+1.2 MB", "-3.4 KB", "+12 B" (a change of a few bytes is no "+0.0 KB"). */
export function signedSize(bytes: number): string {
  const size = Math.abs(bytes);
  return bytes === 0 ? '0' : `${bytes > 0 ? '+' : '-'}${size < 1024 ? `${size} B` : formatSize(size)}`;
}

/** The terminal table: one row per changed package (unchanged ones counted at the end). */
export function formatComparison(comparison: ReportComparison): string {
  const rows = comparison.changes.filter((c) => c.status !== 'same');
  const same = comparison.changes.length - rows.length;
  const header = ['package', 'change', 'before', 'after', ''];
  const body = rows.map((c) => [c.name, signedSize(c.delta), c.before ? formatSize(c.before) : '-', c.after ? formatSize(c.after) : '-', c.status]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 || i === 4 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd();
  const { before, after } = comparison;
  return [
    `${after.name}: ${formatSize(before.size)} (${before.version}, ${before.source}) -> ${formatSize(after.size)} (${after.version}, ${after.source}): ${signedSize(comparison.delta)}`,
    ...(rows.length ? [line(header), ...body.map(line)] : ['no package changed size']),
    `${same} package${same === 1 ? '' : 's'} unchanged`,
  ].join('\n');
}
