import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { compareReports, formatComparison } from './compare';
import { renderComparisonHtml, renderReportHtml } from './html';
import { assembleReport, largestPackages, readReport, ReportHeader, writeReport } from './report';
import type { ReportItem } from './types';

const header: ReportHeader = { name: 'svc', binary: 'svc', runtime: 'python', version: '1.0.0', os: 'linux', arch: 'x64', layout: 'onefile', fileSize: 1000, builtBy: 'stigmer 0.1.0' };

function item(pkg: string, file: string, size: number, kind: ReportItem['packageKind'] = 'distribution'): ReportItem {
  return { path: file, size, uncompressedSize: size * 2, kind: 'module', package: pkg, packageKind: kind };
}

describe('size report', () => {
  const items = [item('runtime', 'libpython', 500, 'runtime'), item('yaml', 'yaml.reader', 100), item('yaml', 'yaml', 150), item('jwt', 'jwt', 50)];

  it('groups items by package, largest first (files too), and names the rest overhead', () => {
    const report = assembleReport(header, { items, measuredSize: 1000, basis: 'the executable', overheadDescription: 'tables' });
    expect(report.packages.map((p) => [p.name, p.size, p.uncompressedSize])).toEqual([['runtime', 500, 1000], ['yaml', 250, 500], ['jwt', 50, 100]]);
    expect(report.packages[1].files.map((f) => f.path)).toEqual(['yaml', 'yaml.reader']);
    expect(report.itemsSize).toBe(800);
    expect(report.overhead).toEqual({ size: 200, description: 'tables' });
    expect(largestPackages(report, 2)).toBe('runtime 0.5 KB, yaml 0.2 KB');
  });

  it('compares two reports: new, gone, grew, shrank, biggest change first, unchanged last', () => {
    const before = assembleReport(header, { items, measuredSize: 1000, basis: 'x', overheadDescription: 'x' });
    const after = assembleReport({ ...header, version: '1.1.0', fileSize: 5000 }, {
      items: [item('runtime', 'libpython', 500, 'runtime'), item('yaml', 'yaml', 100), item('httpx', 'httpx', 3000), item('jwt', 'jwt', 60)],
      measuredSize: 5000,
      basis: 'x',
      overheadDescription: 'x',
    });
    const comparison = compareReports(before, after, { before: 'old.json', after: 'new.json' });
    expect(comparison.changes.map((c) => [c.name, c.status, c.delta])).toEqual([['httpx', 'new', 3000], ['yaml', 'shrank', -150], ['jwt', 'grew', 10], ['runtime', 'same', 0]]);
    expect(comparison.changes[1].files).toEqual([{ path: 'yaml.reader', before: 100, after: 0, delta: -100 }, { path: 'yaml', before: 150, after: 100, delta: -50 }]);
    const table = formatComparison(comparison);
    expect(table.split('\n')[0]).toBe('svc: 1.0 KB (1.0.0, old.json) -> 4.9 KB (1.1.0, new.json): +3.9 KB');
    expect(table).toMatch(/^httpx\s+\+2\.9 KB\s+-\s+2\.9 KB\s+new$/m);
    expect(table).toMatch(/^jwt\s+\+10 B\s+0\.0 KB\s+0\.1 KB\s+grew$/m);
    expect(table).toMatch(/1 package unchanged$/);
    expect(renderComparisonHtml(comparison)).toContain('<tr class="new" data-package="httpx">');
  });

  it('writes a self-contained page: the data escaped inside a script, d3-hierarchy inlined, no address to load', async () => {
    const hostile = assembleReport(header, { items: [item('</script><img src=x>', 'a', 10)], measuredSize: 10, basis: 'x', overheadDescription: 'x' });
    const html = renderReportHtml(hostile);
    expect(html).not.toContain('</script><img');
    expect(html).toContain('d3.treemap'.slice(0, 2));
    expect(html).toMatch(/function\(n,r\)\{"object"==typeof exports/);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stigmer-report-'));
    try {
      const files = await writeReport(dir, hostile);
      expect((await readReport(files.json)).packages[0].name).toBe('</script><img src=x>');
      await fs.writeJson(path.join(dir, 'other.json'), { hello: 1 });
      await expect(readReport(path.join(dir, 'other.json'))).rejects.toThrow(/is not a stigmer binary report/);
      await expect(readReport(path.join(dir, 'missing.json'))).rejects.toThrow(/does not exist: give the path/);
    } finally {
      await fs.remove(dir);
    }
  });
});
