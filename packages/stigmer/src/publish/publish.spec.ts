import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { writeSideFiles } from '../utils/artifacts';
import { generateKeyPair, verifyData } from './minisign';
import { channelVersion, DistArtifact, promoteRelease, publishRelease, PublishContext, readDistArtifacts } from './publish';
import { parseIndex } from './service-index';
import { openStore, PublishStore } from './store';

// A real S3-compatible server (versitygw, scripts/s3-server.js) and a real folder: the same cases for both.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { testS3Server } = require('../../../../scripts/s3-server.js');

jest.setTimeout(120_000);

interface Server {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** Stops a private server; a no-op on CI's shared one. */
  stop: () => void;
}

let server: Server;
let scratch: string;
const key = generateKeyPair();
const logs: string[] = [];

beforeAll(async () => {
  server = await testS3Server();
  process.env.AWS_ACCESS_KEY_ID = server.accessKey;
  process.env.AWS_SECRET_ACCESS_KEY = server.secretKey;
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-publish-'));
});
afterAll(() => {
  fs.removeSync(scratch);
  // A private server (no CI server running) would outlive the jest worker, which exits without 'exit' handlers.
  server?.stop();
});

function plainClient(): S3Client {
  return new S3Client({ endpoint: server.endpoint, region: server.region, forcePathStyle: true, credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey } });
}

const opened: PublishStore[] = [];
afterAll(() => opened.forEach((store) => store.close()));

let bucketCount = 0;
async function newS3Store(): Promise<PublishStore> {
  const bucket = `stigmer-unit-${process.pid}-${Date.now()}-${bucketCount++}`;
  await plainClient().send(new CreateBucketCommand({ Bucket: bucket }));
  const store = openStore(`s3://${bucket}/bin`, scratch, { endpoint: server.endpoint });
  opened.push(store);
  return store;
}

async function newFolderStore(): Promise<PublishStore> {
  return openStore(`file://${fs.mkdtempSync(path.join(scratch, 'store-'))}`, scratch);
}

/** A dist/ folder as build-binary leaves it: binaries with their .sha256 and .manifest.json. */
async function distOf(version: string, platforms: [string, string][], content = 'binary'): Promise<DistArtifact[]> {
  const dist = fs.mkdtempSync(path.join(scratch, 'dist-'));
  const files: string[] = [];
  for (const [osName, arch] of platforms) {
    const file = `svc-${osName}-${arch}`;
    fs.writeFileSync(path.join(dist, file), `${content} ${osName} ${arch} ${version}`);
    await writeSideFiles(path.join(dist, file), { name: 'svc', version, os: osName, arch, runtime: 'test', layout: 'onefile', runtimeVersions: {}, builtBy: 'test' });
    files.push(file);
  }
  return readDistArtifacts(dist, files, 'build-binary');
}

function context(store: PublishStore): PublishContext {
  return { store, key, expiresDays: 30, log: (line) => logs.push(line) };
}

async function readIndex(store: PublishStore) {
  const text = (await store.readText('svc/index.json'))!;
  const signature = (await store.readText('svc/index.json.minisig'))!;
  const index = parseIndex(text, 'index');
  // The stored signature is the current index's, with `name serial` as its trusted comment.
  expect(verifyData(Buffer.from(text), signature, key)).toBe(`svc ${index.serial}`);
  return index;
}

describe.each([
  ['an S3-compatible store (versitygw)', newS3Store],
  ['a folder store', newFolderStore],
])('publish into %s', (_kind, newStore) => {
  it('publishes, publishes to beta, promotes; names platforms the Go way; signs manifests', async () => {
    const store = await newStore();
    await publishRelease(context(store), { name: 'svc', channel: 'latest', artifacts: await distOf('1.0.0', [['linux', 'x64'], ['win32', 'x64']]) });
    const beta = await distOf('1.1.0', [['linux', 'x64'], ['darwin', 'arm64']]);
    await publishRelease(context(store), { name: 'svc', channel: 'beta', artifacts: beta });
    let index = await readIndex(store);
    expect(index.channels).toEqual({ latest: '1.0.0', beta: '1.1.0' });
    expect(Object.keys(index.versions['1.0.0'].platforms).sort()).toEqual(['linux-amd64', 'windows-amd64']);
    expect(index.versions['1.0.0'].platforms['windows-amd64'].file).toBe('1.0.0/svc-windows-amd64.exe');
    expect(index.versions['1.1.0'].platforms['darwin-arm64']).toEqual({
      file: '1.1.0/svc-darwin-arm64',
      size: beta[1].manifest.size,
      sha256: beta[1].manifest.sha256,
      layout: 'onefile',
      entrypoint: null,
    });
    expect(index.serial).toBe(2);
    expect(index.keys).toHaveLength(1);
    expect(Date.parse(index.expires) - Date.now()).toBeGreaterThan(29 * 86_400_000);

    await promoteRelease(context(store), { name: 'svc', version: '1.1.0', channel: 'latest' });
    index = await readIndex(store);
    expect(index.channels).toEqual({ latest: '1.1.0', beta: '1.1.0' });
    expect(index.serial).toBe(3);
    expect(await channelVersion(store, 'svc', 'latest')).toBe('1.1.0');

    const manifest = (await store.readText('svc/1.1.0/svc-darwin-arm64.manifest.json'))!;
    expect(JSON.parse(manifest)).toMatchObject({ os: 'darwin', arch: 'arm64', platform: 'darwin-arm64', file: 'svc-darwin-arm64' });
    expect(verifyData(Buffer.from(manifest), (await store.readText('svc/1.1.0/svc-darwin-arm64.manifest.json.minisig'))!, key)).toBe('svc 1.1.0 darwin-arm64');
    expect(await store.readText('svc/1.0.0/svc-windows-amd64.exe.sha256')).toBe(`${index.versions['1.0.0'].platforms['windows-amd64'].sha256}  svc-windows-amd64.exe\n`);
  });

  it('publishing the same bytes again is a no-op; other bytes are refused in one line and the stored object is untouched', async () => {
    const store = await newStore();
    const first = await distOf('2.0.0', [['linux', 'x64']]);
    await publishRelease(context(store), { name: 'svc', channel: 'latest', artifacts: first });
    await publishRelease(context(store), { name: 'svc', channel: 'latest', artifacts: await distOf('2.0.0', [['linux', 'x64']]) });
    expect(logs.at(-2)).toMatch(/already published with the same sha256/);
    const changed = await distOf('2.0.0', [['linux', 'x64']], 'changed');
    const refusal = publishRelease(context(store), { name: 'svc', channel: 'latest', artifacts: changed });
    await expect(refusal).rejects.toThrow(new RegExp(`published with sha256 ${first[0].manifest.sha256}; refusing other bytes \\(sha256 ${changed[0].manifest.sha256}\\)`));
    expect(await store.readText('svc/2.0.0/svc-linux-amd64')).toBe('binary linux x64 2.0.0');
    expect((await readIndex(store)).serial).toBe(2);
  });

  it('--report: the report goes beside the binaries and into the index outside "platforms"; same bytes a no-op, other bytes or another build refused', async () => {
    const store = await newStore();
    const artifacts = await distOf('5.0.0', [['linux', 'x64']]);
    const dist = path.dirname(artifacts[0].binary);
    const report = path.join(dist, 'svc.report.json');
    const writeReport = (extra: object) => fs.writeJsonSync(report, { schema: 1, name: 'svc', binary: 'svc-linux-x64', version: '5.0.0', fileSize: artifacts[0].manifest.size, packages: [], ...extra });
    writeReport({});
    const text = fs.readFileSync(report, 'utf8');
    await publishRelease(context(store), { name: 'svc', channel: 'latest', artifacts, report });
    expect(await store.readText('svc/5.0.0/svc.report.json')).toBe(text);
    let index = await readIndex(store);
    expect(Object.keys(index.versions['5.0.0'].platforms)).toEqual(['linux-amd64']);
    expect(index.versions['5.0.0'].report).toEqual({ file: '5.0.0/svc.report.json', size: text.length, sha256: createHash('sha256').update(text).digest('hex'), platform: 'linux-amd64' });
    await publishRelease(context(store), { name: 'svc', channel: 'latest', artifacts, report });
    expect(logs.at(-2)).toMatch(/svc\/5\.0\.0\/svc\.report\.json: [\d.]+ KB, already published with the same sha256/);
    // A publish without --report keeps the report a former one listed.
    await publishRelease(context(store), { name: 'svc', channel: 'latest', artifacts });
    index = await readIndex(store);
    expect(index.versions['5.0.0'].report?.file).toBe('5.0.0/svc.report.json');
    writeReport({ packages: [{ name: 'more', size: 1, files: [] }] });
    await expect(publishRelease(context(store), { name: 'svc', channel: 'latest', artifacts, report })).rejects.toThrow(
      /svc\/5\.0\.0\/svc\.report\.json is published with sha256 [0-9a-f]{64}; refusing other bytes .*; a version has one report: publish it \(--report\) from one job only\./,
    );
    expect(await store.readText('svc/5.0.0/svc.report.json')).toBe(text);
    writeReport({ binary: 'svc-win32-x64.exe' });
    await expect(publishRelease(context(store), { name: 'svc', channel: 'latest', artifacts, report })).rejects.toThrow(
      /svc\.report\.json describes svc-win32-x64\.exe, which this publish does not include \(svc-linux-x64\): publish the report from the job that publishes svc-win32-x64\.exe, or drop --report\./,
    );
    writeReport({ fileSize: 1 });
    await expect(publishRelease(context(store), { name: 'svc', channel: 'latest', artifacts, report })).rejects.toThrow(/svc\.report\.json describes another build than dist\/svc-linux-x64 \(svc 5\.0\.0, 1 bytes\): run build-binary again\./);
    fs.removeSync(report);
    await expect(publishRelease(context(store), { name: 'svc', channel: 'latest', artifacts, report })).rejects.toThrow(/svc\.report\.json does not exist, and --report asks to publish it: run build-binary first/);
    expect((await readIndex(store)).serial).toBe(3);
  });

  it('parallel publishers of different platforms of one version all end up in the index', async () => {
    const store = await newStore();
    const platforms: [string, string][] = [['linux', 'x64'], ['linux', 'arm64'], ['darwin', 'x64'], ['darwin', 'arm64'], ['win32', 'x64']];
    for (let round = 0; round < 3; round++) {
      const version = `3.0.${round}`;
      const dists = await Promise.all(platforms.map((p) => distOf(version, [p])));
      await Promise.all(dists.map((artifacts) => publishRelease(context(store), { name: 'svc', channel: 'latest', artifacts })));
      const index = await readIndex(store);
      expect(Object.keys(index.versions[version].platforms)).toHaveLength(5);
      expect(index.serial).toBe(5 * (round + 1));
    }
  });

  it('a publish stopped before its index leaves no version; the next one completes it', async () => {
    const store = await newStore();
    const artifacts = await distOf('4.0.0', [['linux', 'x64']]);
    const failing: PublishStore = {
      location: store.location,
      putImmutable: store.putImmutable.bind(store),
      readText: store.readText.bind(store),
      updateIndex: async () => Promise.reject(new Error('killed')),
      close: () => undefined,
    };
    await expect(publishRelease(context(failing), { name: 'svc', channel: 'latest', artifacts })).rejects.toThrow('killed');
    expect(await store.readText('svc/4.0.0/svc-linux-amd64')).toBeDefined();
    expect(await store.readText('svc/index.json')).toBeUndefined();
    await publishRelease(context(store), { name: 'svc', channel: 'latest', artifacts });
    expect((await readIndex(store)).versions['4.0.0'].platforms['linux-amd64'].sha256).toBe(artifacts[0].manifest.sha256);
  });

  it('a store with no index yet: nothing to promote, no current version', async () => {
    const store = await newStore();
    expect(await channelVersion(store, 'svc', 'latest')).toBeUndefined();
    await expect(promoteRelease(context(store), { name: 'svc', version: '1.0.0', channel: 'latest' })).rejects.toThrow('svc has no index in this store yet: publish a version before promoting one.');
  });
});

describe('S3 store faults, one line each', () => {
  it('missing credentials', async () => {
    const saved = { ...process.env };
    try {
      for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE', 'AWS_SESSION_TOKEN']) delete process.env[name];
      process.env.AWS_CONFIG_FILE = path.join(scratch, 'none');
      process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(scratch, 'none');
      process.env.AWS_EC2_METADATA_DISABLED = 'true';
      const store = openStore('s3://bucket/bin', scratch, { endpoint: server.endpoint });
      opened.push(store);
      await expect(store.readText('svc/index.json')).rejects.toThrow(/^no AWS credentials to read s3:\/\/bucket\/bin at http:\/\/127\.0\.0\.1:\d+: set AWS_ACCESS_KEY_ID/);
    } finally {
      process.env = saved;
    }
  });

  it('a wrong S3 secret', async () => {
    const saved = process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
    try {
      const store = openStore('s3://bucket/bin', scratch, { endpoint: server.endpoint });
      opened.push(store);
      await expect(store.readText('svc/index.json')).rejects.toThrow(/refused the credentials \(SignatureDoesNotMatch\): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = saved;
    }
  });

  it('an unreachable endpoint', async () => {
    const store = openStore('s3://bucket/bin', scratch, { endpoint: 'http://127.0.0.1:9' });
    opened.push(store);
    await expect(store.readText('svc/index.json')).rejects.toThrow(/^cannot reach the store s3:\/\/bucket\/bin at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\): check the "endpoint" option/);
  });

  it('an index written by a newer stigmer is left alone', async () => {
    const store = await newS3Store();
    const bucket = store.location.replace(/^s3:\/\/([^/]+).*$/, '$1');
    await plainClient().send(new PutObjectCommand({ Bucket: bucket, Key: 'bin/svc/index.json', Body: '{"schema":2}' }));
    await expect(publishRelease(context(store), { name: 'svc', channel: 'latest', artifacts: await distOf('1.0.0', [['linux', 'x64']]) })).rejects.toThrow(/has schema 2, newer than this stigmer writes/);
    const kept = await plainClient().send(new GetObjectCommand({ Bucket: bucket, Key: 'bin/svc/index.json' }));
    expect(await kept.Body!.transformToString()).toBe('{"schema":2}');
  });
});
