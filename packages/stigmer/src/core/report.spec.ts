import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { generateKeyPair } from '../publish/minisign';
import { publishRelease, readDistArtifacts } from '../publish/publish';
import { openStore } from '../publish/store';
import { assembleReport, writeReport } from '../report/report';
import { writeSideFiles } from '../utils/artifacts';
import { binaryReport, namesPublishedVersion, publishSettings } from './report';

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
    await expect(binaryReport(project(), { compare: 'missing.json' })).rejects.toThrow('missing.json does not exist: give the path of a .report.json');
    await expect(binaryReport(project(), { compare: 'old/dist' })).rejects.toThrow('old/dist does not exist: give the path of a .report.json');
    await expect(binaryReport(project(), { compare: '1.2.0' })).rejects.toThrow(
      '--compare 1.2.0 is no file here, and no store is configured to read a published 1.2.0 from: set "publish": { "store": "s3://bucket/prefix" } in the stigmer plugin options of nx.json (the store nx run gw:publish-binary uses), or pass --store.',
    );
  });

  it('tells a path from a published version or channel', () => {
    for (const published of ['1.2.0', 'v1.2.0', 'latest', 'beta', '2.0.0-rc.1', '1.0.0+build.5']) expect(namesPublishedVersion(published)).toBe(true);
    for (const file of ['old/dist', './old', 'gw.report.json', '../x', '/abs/path', 'dist\\old', '.hidden']) expect(namesPublishedVersion(file)).toBe(false);
  });

  it("reads the store from the project's publish-binary target (or a renamed one), never from nx-release-publish first", () => {
    const publish = { executor: 'stigmer:publish-binary', options: { store: 's3://b/bin', endpoint: 'http://127.0.0.1:1', region: 'eu-west-1', channel: 'beta' } };
    const release = { executor: 'stigmer:publish-binary', options: { store: 's3://other/bin' } };
    expect(publishSettings({ 'nx-release-publish': release, 'publish-binary': publish })).toEqual({ target: 'publish-binary', store: 's3://b/bin', endpoint: 'http://127.0.0.1:1', region: 'eu-west-1' });
    expect(publishSettings({ 'nx-release-publish': release, ship: publish })).toMatchObject({ target: 'ship', store: 's3://b/bin' });
    expect(publishSettings({ 'build-binary': { executor: 'stigmer:build-binary', options: { store: 'x' } } })).toEqual({ target: undefined, store: undefined, endpoint: undefined, region: undefined });
  });

  describe('--compare <published version or channel>', () => {
    const key = generateKeyPair();
    const storeDir = () => path.join(root, 'store');

    /** Publishes gw `version` (one linux binary) into the folder store, with its report when one is given. */
    async function publish(version: string, channel: string, items?: Array<[string, number]>) {
      const dist = path.join(root, `dist-${version}`);
      await fs.outputFile(path.join(dist, 'gw'), `binary ${version}`);
      await writeSideFiles(path.join(dist, 'gw'), { name: 'gw', version, os: 'linux', arch: 'x64', runtime: 'node', layout: 'onefile', runtimeVersions: {}, builtBy: 'test' });
      let report: string | undefined;
      if (items) {
        const built = report_(items, { version, fileSize: (await fs.stat(path.join(dist, 'gw'))).size });
        report = (await writeReport(dist, built)).json;
      }
      const store = openStore(`file://${storeDir()}`, root);
      await publishRelease({ store, key, expiresDays: 30, log: () => undefined }, { name: 'gw', channel, artifacts: await readDistArtifacts(dist, ['gw'], 'build'), report });
    }
    const report_ = (items: Array<[string, number]>, header: { version: string; fileSize: number }) =>
      assembleReport(
        { name: 'gw', binary: 'gw', runtime: 'node', version: header.version, os: 'linux', arch: 'x64', layout: 'onefile', fileSize: header.fileSize, builtBy: 'stigmer' },
        { items: items.map(([pkg, size]) => ({ path: `${pkg}/index.js`, size, kind: 'js', package: pkg, packageKind: 'npm' })), measuredSize: 10_000, basis: 'the executable', overheadDescription: 'x' },
      );

    beforeEach(async () => {
      await writeReport(path.join(root, 'apps/gw/dist'), report([['fastify', 5000], ['lodash', 3000]]));
    });

    it('compares with a version, or the version a channel points at, read from the store publish-binary uses', async () => {
      await publish('1.0.0', 'latest', [['fastify', 4000]]);
      await publish('1.1.0', 'beta', [['fastify', 5000], ['ms', 100]]);
      const byVersion = await binaryReport(project(), { compare: '1.0.0' }, { target: 'publish-binary', store: 'store' });
      expect(byVersion?.before).toMatchObject({ version: '1.0.0', source: `gw 1.0.0 in ${storeDir()}` });
      expect(byVersion?.changes.slice(0, 2)).toMatchObject([
        { name: 'lodash', status: 'new', before: 0, after: 3000 },
        { name: 'fastify', status: 'grew', delta: 1000 },
      ]);
      // --store overrides the publish target's store.
      const byChannel = await binaryReport(project(), { compare: 'beta', store: `file://${storeDir()}` }, { store: 'elsewhere' });
      expect(byChannel?.before).toMatchObject({ version: '1.1.0', source: `gw 1.1.0 (beta) in ${storeDir()}` });
      expect(byChannel?.changes.find((c) => c.name === 'ms')).toMatchObject({ status: 'gone', before: 100 });
    });

    it('says in one line: nothing published, version not published, published without its report, report changed in the store', async () => {
      const settings = { target: 'publish-binary', store: 'store' };
      await expect(binaryReport(project(), { compare: '1.0.0' }, settings)).rejects.toThrow(
        `--compare 1.0.0: nothing of gw is published in ${storeDir()} (no gw/index.json): publish a version with nx run gw:publish-binary --report first, or give the path of a .report.json.`,
      );
      await publish('1.0.0', 'latest', [['fastify', 4000]]);
      await publish('1.1.0', 'beta');
      await expect(binaryReport(project(), { compare: '0.9.0' }, settings)).rejects.toThrow(
        `--compare 0.9.0: gw 0.9.0 is not published in ${storeDir()} (versions: 1.0.0, 1.1.0; channels: latest -> 1.0.0, beta -> 1.1.0): give a published version, a channel, or the path of a .report.json.`,
      );
      await expect(binaryReport(project(), { compare: 'beta' }, settings)).rejects.toThrow(
        '--compare beta: gw 1.1.0 was published without its size report: publish versions with nx run gw:publish-binary --report (or "report": true in its options) to compare with them later; for this one, give the path of its .report.json.',
      );
      const stored = path.join(storeDir(), 'gw/1.0.0/gw.report.json');
      await fs.chmod(stored, 0o644);
      await fs.appendFile(stored, ' ');
      await expect(binaryReport(project(), { compare: 'latest' }, settings)).rejects.toThrow(/gw\/1\.0\.0\/gw\.report\.json has sha256 [0-9a-f]{64}, not [0-9a-f]{64} as gw\/index\.json says/);
    });
  });
});
