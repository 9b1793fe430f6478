import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { assembleReport, writeReport } from '../report/report';
import { binaryReport } from './report';

describe('binary-report', () => {
  let root: string;
  const project = () => ({ name: 'gw', root: 'apps/gw', absRoot: path.join(root, 'apps/gw'), workspaceRoot: root });
  const report = (items: Array<[string, number]>) =>
    assembleReport(
      { name: 'gw', binary: 'gw', runtime: 'node', version: '1.0.0', os: 'linux', arch: 'x64', layout: 'onefile', fileSize: 10_000, builtBy: 'stigmer' },
      { items: items.map(([pkg, size]) => ({ path: `${pkg}/index.js`, size, kind: 'js', package: pkg, packageKind: 'npm' })), measuredSize: 10_000, basis: 'the executable', overheadDescription: 'x' },
    );

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'stigmer-binary-report-'));
    await fs.outputJson(path.join(root, 'apps/gw/gw.sea.json'), { name: 'gw', entry: 'main.ts' });
  });
  afterEach(() => fs.remove(root));

  it('compares with a folder holding the older report, and writes the page where --html says', async () => {
    await writeReport(path.join(root, 'apps/gw/dist'), report([['fastify', 5000], ['lodash', 3000]]));
    await writeReport(path.join(root, 'old'), report([['fastify', 5000]]));
    const comparison = await binaryReport(project(), { compare: 'old', html: 'out/compare.html' });
    expect(comparison?.changes[0]).toMatchObject({ name: 'lodash', status: 'new', delta: 3000 });
    expect(await fs.readFile(path.join(root, 'out/compare.html'), 'utf8')).toContain('data-package="lodash"');
  });

  it('says in one line what to give: no build yet, a folder without the report, a published version', async () => {
    await expect(binaryReport(project(), { compare: 'old' })).rejects.toThrow('apps/gw/dist/gw.report.json does not exist: run nx run gw:build-binary first');
    await writeReport(path.join(root, 'apps/gw/dist'), report([['fastify', 5000]]));
    await fs.ensureDir(path.join(root, 'empty'));
    await expect(binaryReport(project(), { compare: 'empty' })).rejects.toThrow('empty holds no gw.report.json: give a .report.json, or a folder with the report of gw in it.');
    await expect(binaryReport(project(), { compare: '1.2.0' })).rejects.toThrow(/comparing with a published version needs publish-binary.*give the path of that version's gw\.report\.json/);
    await expect(binaryReport(project(), { compare: 'missing.json' })).rejects.toThrow('missing.json does not exist: give the path of a .report.json');
  });
});
