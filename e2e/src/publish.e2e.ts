import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CommandResult, REPO_ROOT, Workspace } from './helpers/workspace';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { testS3Server } = require('../../scripts/s3-server.js');

/**
 * publish-binary end to end: a Python service and a Node service (two platforms) built once, published into a
 * real S3-compatible server (versitygw on loopback) and into a folder, read back with a plain S3 client, verified
 * with the real minisign, released with `nx release patch`, and the faults of the distribution contract.
 */
describe('publish binaries into a store (e2e)', () => {
  let ws: Workspace;
  let server: { endpoint: string; accessKey: string; secretKey: string; region: string; stop(): void };
  let s3: S3Client;
  let bucket: string;
  let folderStore: string;
  let scratch: string;
  let env: Record<string, string>;
  const stores = () => [
    { kind: 's3', location: `s3://${bucket}/bin` },
    { kind: 'folder', location: `file://${folderStore}` },
  ];

  beforeAll(async () => {
    server = await testS3Server();
    s3 = new S3Client({ endpoint: server.endpoint, region: server.region, forcePathStyle: true, credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey } });
    bucket = `stigmer-e2e-publish-${process.pid}-${Date.now()}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-publish-e2e-'));
    folderStore = path.join(scratch, 'folder-store');
    env = { AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: server.secretKey, AWS_REGION: server.region, STIGMER_SIGNING_KEY_FILE: path.join(scratch, 'signing.key') };

    ws = Workspace.create('publish');
    // A Node service with a workspace library, built for this machine and Windows.
    fs.copySync(path.join(REPO_ROOT, 'e2e', 'fixtures', 'node'), ws.root);
    ws.write('apps/greeter/package.json', JSON.stringify({ name: 'greeter', version: '1.0.0', private: true, main: 'src/main.ts' }));
    ws.mustRun('npm', ['install', '--save', '--no-audit', '--no-fund', '--prefer-offline', 'ms@2.1.3']);
    // A Python service with no dependencies (a managed environment; PyInstaller from the index).
    ws.write('services/pysvc/pyproject.toml', PYPROJECT);
    ws.write('services/pysvc/main.py', 'import sys\nprint("pysvc says hello")\n');
    ws.mustNx(['g', 'stigmer:init']);
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'greeter']);
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'pysvc', '--entry', 'main.py']);
    const seaSpec = ws.path('apps/greeter/greeter.sea.json');
    fs.writeJsonSync(seaSpec, { ...fs.readJsonSync(seaSpec), assets: { 'greeting.txt': 'assets/greeting.txt' }, platforms: ['host', 'win-x64'] }, { spaces: 2 });
    // The key pair: public key into the workspace, secret outside; the store into nx.json.
    const keygen = ws.mustNx(['g', 'stigmer:signing-key', '--store', `s3://${bucket}/bin`, '--secretKeyFile', env.STIGMER_SIGNING_KEY_FILE]);
    expect(keygen.output).toContain(`secret key in ${env.STIGMER_SIGNING_KEY_FILE} (never commit it)`);
    expect(keygen.output).toContain('gh secret set STIGMER_SIGNING_KEY <');
    expect(keygen.output).not.toContain(fs.readFileSync(env.STIGMER_SIGNING_KEY_FILE, 'utf8').split('\n')[1]);
    expect(fs.statSync(env.STIGMER_SIGNING_KEY_FILE).mode & 0o777).toBe(0o600);
    const nxJson = fs.readJsonSync(ws.path('nx.json'));
    const plugin = nxJson.plugins.find((p: { plugin: string }) => p.plugin === 'stigmer');
    plugin.options.publish.endpoint = server.endpoint;
    nxJson.release = {
      projects: ['pysvc'],
      projectsRelationship: 'independent',
      version: { versionActions: 'stigmer/release', currentVersionResolver: 'registry' },
      changelog: { workspaceChangelog: false, projectChangelogs: false },
      git: { commit: true, tag: true },
    };
    fs.writeJsonSync(ws.path('nx.json'), nxJson, { spaces: 2 });
    ws.commit('services');
  }, 10 * 60 * 1000);

  afterAll(() => {
    s3?.destroy();
    server?.stop();
    ws?.remove();
    if (scratch) fs.removeSync(scratch);
  });

  const nx = (args: string[], extra: Record<string, string> = {}) => ws.nx(args, { ...env, ...extra });
  const mustNx = (args: string[], extra: Record<string, string> = {}) => ws.mustNx(args, { ...env, ...extra });

  async function readObject(location: string, key: string): Promise<Buffer | undefined> {
    if (location.startsWith('file://')) {
      const file = path.join(location.slice('file://'.length), key);
      return fs.existsSync(file) ? fs.readFileSync(file) : undefined;
    }
    const [, b, prefix] = location.match(/^s3:\/\/([^/]+)\/(.*)$/)!;
    try {
      const result = await s3.send(new GetObjectCommand({ Bucket: b, Key: `${prefix}/${key}` }));
      return Buffer.from(await result.Body!.transformToByteArray());
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw error;
    }
  }

  async function readIndex(location: string, name: string) {
    const text = await readObject(location, `${name}/index.json`);
    return text && JSON.parse(text.toString('utf8'));
  }

  /** `minisign -V` (the real tool) on a stored file and its .minisig; returns the trusted comment. */
  async function minisignVerify(location: string, key: string): Promise<string> {
    const dir = fs.mkdtempSync(path.join(scratch, 'verify-'));
    fs.writeFileSync(path.join(dir, 'file'), (await readObject(location, key))!);
    fs.writeFileSync(path.join(dir, 'file.minisig'), (await readObject(location, `${key}.minisig`))!);
    const result = spawnSync('minisign', ['-V', '-p', ws.path('stigmer-signing.pub'), '-m', path.join(dir, 'file')], { encoding: 'utf8' });
    expect(result.error).toBeUndefined();
    expect(`${result.stdout}${result.stderr}`).toMatch(/Signature and comment signature verified/);
    expect(result.status).toBe(0);
    return (result.stdout + result.stderr).match(/Trusted comment: (.*)/)![1];
  }

  const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

  it('publishes 1.0.0 of both services (every platform) into S3 and into a folder', () => {
    const s3Publish = mustNx(['run-many', '-t', 'publish-binary', '--projects', 'greeter,pysvc', '--output-style=static']);
    expect(s3Publish.output).toMatch(/\[publish\] +greeter\/1\.0\.0\/greeter-linux-amd64: [\d.]+ MB in [\d.]+s \([\d.]+ MB\/s\)/);
    expect(s3Publish.output).toMatch(/greeter\/1\.0\.0\/greeter-windows-amd64\.exe: /);
    expect(s3Publish.output).toMatch(/pysvc\/index\.json: serial 1, latest -> 1\.0\.0/);
    mustNx(['run-many', '-t', 'publish-binary', '--projects', 'greeter,pysvc', '--store', `file://${folderStore}`]);
  });

  it('publishes 1.1.0 to beta, then promotes it to latest without building', async () => {
    ws.write('services/pysvc/pyproject.toml', PYPROJECT.replace('version = "1.0.0"', 'version = "1.1.0"'));
    ws.write('apps/greeter/package.json', JSON.stringify({ name: 'greeter', version: '1.1.0', private: true, main: 'src/main.ts' }));
    ws.commit('1.1.0');
    for (const store of stores()) mustNx(['run-many', '-t', 'publish-binary', '--projects', 'greeter,pysvc', '--channel', 'beta', '--store', store.location]);
    for (const store of stores()) {
      expect((await readIndex(store.location, 'pysvc')).channels).toEqual({ latest: '1.0.0', beta: '1.1.0' });
      // Promotion runs no build and no test (their tasks are excluded) and uploads nothing.
      const promoted = mustNx(['run', 'pysvc:publish-binary', '--promote', '1.1.0', '--channel', 'latest', '--store', store.location, '--exclude-task-dependencies']);
      expect(promoted.output).toMatch(/pysvc\/index\.json: serial 3, latest -> 1\.1\.0 \(promoted\)/);
      expect(promoted.output).not.toMatch(/MB in/);
      mustNx(['run', 'greeter:publish-binary', '--promote', '1.1.0', '--store', store.location, '--exclude-task-dependencies']);
      expect((await readIndex(store.location, 'pysvc')).channels).toEqual({ latest: '1.1.0', beta: '1.1.0' });
    }
  });

  it('the index, read with a plain S3 client (and from the folder), matches every stored file and the built ones', async () => {
    for (const store of stores()) {
      for (const [name, dist, files] of [
        ['greeter', 'apps/greeter/dist', { 'linux-amd64': 'greeter', 'windows-amd64': 'greeter-win-x64.exe' }],
        ['pysvc', 'services/pysvc/dist', { 'linux-amd64': 'pysvc' }],
      ] as const) {
        const index = await readIndex(store.location, name);
        expect(index).toMatchObject({ schema: 1, name, serial: 3, channels: { latest: '1.1.0', beta: '1.1.0' } });
        expect(Object.keys(index.versions)).toEqual(['1.0.0', '1.1.0']);
        expect(Object.keys(index.versions['1.1.0'].platforms).sort()).toEqual(Object.keys(files).sort());
        for (const version of ['1.0.0', '1.1.0']) {
          for (const [platform, entry] of Object.entries<{ file: string; size: number; sha256: string; layout: string; entrypoint: null }>(index.versions[version].platforms)) {
            const stored = (await readObject(store.location, `${name}/${entry.file}`))!;
            expect(stored.length).toBe(entry.size);
            expect(sha256(stored)).toBe(entry.sha256);
            expect(entry).toMatchObject({ layout: 'onefile', entrypoint: null });
            expect((await readObject(store.location, `${name}/${entry.file}.sha256`))!.toString()).toBe(`${entry.sha256}  ${path.basename(entry.file)}\n`);
            if (version === '1.1.0') expect(sha256(fs.readFileSync(ws.path(dist, (files as Record<string, string>)[platform])))).toBe(entry.sha256);
          }
        }
      }
    }
  });

  it('the real minisign verifies the index and every manifest, with `name serial` / `name version platform` trusted', async () => {
    for (const store of stores()) {
      expect(await minisignVerify(store.location, 'greeter/index.json')).toBe('greeter 3');
      expect(await minisignVerify(store.location, 'greeter/1.1.0/greeter-windows-amd64.exe.manifest.json')).toBe('greeter 1.1.0 windows-amd64');
      expect(await minisignVerify(store.location, 'pysvc/1.0.0/pysvc-linux-amd64.manifest.json')).toBe('pysvc 1.0.0 linux-amd64');
      const manifest = JSON.parse((await readObject(store.location, 'greeter/1.1.0/greeter-windows-amd64.exe.manifest.json'))!.toString());
      // Go's platform words in what is published, never win32/x64.
      expect(manifest).toMatchObject({ name: 'greeter', version: '1.1.0', os: 'windows', arch: 'amd64', platform: 'windows-amd64' });
    }
  });

  it('nx release patch bumps the Python service (comments kept) from the store\'s version and publishes 1.1.1', async () => {
    const release = mustNx(['release', 'patch', '--yes']);
    expect(release.output).toMatch(/channel "latest" of s3:\/\/[^ ]+\/bin\/pysvc\/index\.json/);
    expect(ws.read('services/pysvc/pyproject.toml')).toBe(PYPROJECT.replace('version = "1.0.0"', 'version = "1.1.1"'));
    const index = await readIndex(`s3://${bucket}/bin`, 'pysvc');
    expect(index.channels.latest).toBe('1.1.1');
    expect(index.versions['1.1.1'].platforms['linux-amd64'].sha256).toBe(sha256(fs.readFileSync(ws.path('services/pysvc/dist/pysvc'))));
    expect(JSON.parse(fs.readFileSync(ws.path('services/pysvc/dist/pysvc.manifest.json'), 'utf8')).version).toBe('1.1.1');
    expect(ws.run('git', ['tag']).stdout).toContain('1.1.1');
  });

  it('--report publishes greeter 1.1.0\'s size report (binaries: no-op); a dependency added since shows in binary-report --compare 1.1.0 / latest as new, with its size', async () => {
    // S3: the store of nx.json's "publish" options, as publish-binary reads it; the folder: by --store.
    const published = mustNx(['run', 'greeter:publish-binary', '--report', '--exclude-task-dependencies']);
    expect(published.output).toMatch(/greeter\/1\.1\.0\/greeter-linux-amd64: [\d.]+ MB, already published with the same sha256/);
    expect(published.output).toMatch(/greeter\/1\.1\.0\/greeter\.report\.json: [\d.]+ KB in /);
    mustNx(['run', 'greeter:publish-binary', '--report', '--store', `file://${folderStore}`, '--exclude-task-dependencies']);
    const builtReport = fs.readFileSync(ws.path('apps/greeter/dist/greeter.report.json'));
    for (const store of stores()) {
      expect((await readObject(store.location, 'greeter/1.1.0/greeter.report.json'))!.equals(builtReport)).toBe(true);
      const version = (await readIndex(store.location, 'greeter')).versions['1.1.0'];
      // Listed beside the platforms, never as one: the index still names exactly the two binaries.
      expect(Object.keys(version.platforms).sort()).toEqual(['linux-amd64', 'windows-amd64']);
      expect(version.report).toEqual({ file: '1.1.0/greeter.report.json', size: builtReport.length, sha256: sha256(builtReport), platform: 'linux-amd64' });
    }

    const main = 'apps/greeter/src/main.ts';
    const saved = Object.fromEntries(['apps/greeter/src/main.ts', 'package.json', 'package-lock.json'].map((file) => [file, ws.read(file)]));
    ws.mustRun('npm', ['install', '--save', '--no-audit', '--no-fund', '--prefer-offline', 'lodash@4.17.21']);
    ws.write(main, `import lodash from 'lodash';\n${saved[main]}\nif (process.argv.includes('--kebab')) console.log(lodash.kebabCase('Size Report'));\n`);
    try {
      const s3Compare = mustNx(['run', 'greeter:binary-report', '--compare', '1.1.0']);
      const lodash = fs.readJsonSync(ws.path('apps/greeter/dist/greeter.report.json')).packages.find((p: { name: string }) => p.name === 'lodash');
      expect(lodash.size).toBeGreaterThan(100_000);
      const kb = `${(lodash.size / 1024).toFixed(1)} KB`.replace('.', '\\.');
      const newRow = new RegExp(`^lodash\\s+\\+${kb}\\s+-\\s+${kb}\\s+new$`, 'm');
      expect(s3Compare.output).toMatch(newRow);
      expect(s3Compare.output).toMatch(new RegExp(`greeter: [\\d.]+ MB \\(1\\.1\\.0, greeter 1\\.1\\.0 in s3://${bucket}/bin\\) -> [\\d.]+ MB \\(1\\.1\\.0, apps/greeter/dist/greeter\\.report\\.json\\)`));
      const folderCompare = mustNx(['run', 'greeter:binary-report', '--compare', 'latest', '--store', `file://${folderStore}`]);
      expect(folderCompare.output).toMatch(newRow);
      expect(folderCompare.output).toContain(`greeter 1.1.0 (latest) in ${folderStore}`);
      // 1.0.0 was published without its report: one line saying how to publish it.
      const old = nx(['run', 'greeter:binary-report', '--compare', '1.0.0']);
      expect(old.code).not.toBe(0);
      expect(old.output).toMatch(/stigmer binary-report: --compare 1\.0\.0: greeter 1\.0\.0 was published without its size report: publish versions with nx run greeter:publish-binary --report/);
    } finally {
      for (const [file, text] of Object.entries(saved)) ws.write(file, text);
    }
    // The 1.1.0 binary again (from the cache), for the cases below.
    mustNx(['run', 'greeter:build-binary']);
    expect(sha256(fs.readFileSync(ws.path('apps/greeter/dist/greeter')))).toBe((await readIndex(`s3://${bucket}/bin`, 'greeter')).versions['1.1.0'].platforms['linux-amd64'].sha256);
  });

  describe('faults', () => {
    /** A one-line failure: non-zero exit and the line. */
    function expectOneLine(result: CommandResult, line: RegExp): void {
      expect(result.code).not.toBe(0);
      expect(result.output).toMatch(line);
    }

    /** Starts an nx command in its own process group; resolves with its exit code and output. */
    function start(args: string[], extra: Record<string, string> = {}, onLine?: (text: string, kill: () => void) => void) {
      const child = spawn(ws.path('node_modules', '.bin', 'nx'), args, {
        cwd: ws.root,
        detached: true,
        env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', FORCE_COLOR: '0', ...env, ...extra },
      });
      let output = '';
      let killed = false;
      const kill = () => {
        if (killed) return;
        killed = true;
        process.kill(-child.pid!, 'SIGKILL');
      };
      for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => {
        output += chunk;
        onLine?.(output, kill);
      });
      // 'exit', not 'close': a process Nx started in another group may keep the pipes open after a kill.
      return new Promise<{ code: number | null; output: string }>((resolve) => child.on('exit', (code, signal) => setTimeout(() => resolve({ code: code ?? (signal ? 128 : null), output }), 200)));
    }

    it.each(['s3', 'folder'])('%s: two publishers of different platforms of one version at the same moment both end up in the index (3 rounds)', async (kind) => {
      for (let round = 0; round < 3; round++) {
        const location = kind === 's3' ? `s3://${bucket}/race-${round}` : `file://${path.join(scratch, `race-${round}`)}`;
        const publishers = ['linux-amd64', 'windows-amd64'].map((platform) =>
          start(['run', 'greeter:publish-binary', `--platforms=${platform}`, '--store', location, '--exclude-task-dependencies']),
        );
        const results = await Promise.all(publishers);
        for (const result of results) expect(result.code).toBe(0);
        const index = await readIndex(location, 'greeter');
        expect(Object.keys(index.versions['1.1.0'].platforms).sort()).toEqual(['linux-amd64', 'windows-amd64']);
        expect(index.serial).toBe(2);
        expect(await minisignVerify(location, 'greeter/index.json')).toBe('greeter 2');
      }
    });

    it.each(['s3', 'folder'])('%s: a publish killed between its files and its index leaves no version; the next one completes it', async (kind) => {
      const location = kind === 's3' ? `s3://${bucket}/killed` : `file://${path.join(scratch, 'killed')}`;
      const killed = await start(['run', 'pysvc:publish-binary', '--store', location, '--exclude-task-dependencies'], { STIGMER_TEST_PAUSE_BEFORE_INDEX: '60' }, (output, kill) => {
        if (output.includes('pausing 60s before the index')) kill();
      });
      expect(killed.code).not.toBe(0);
      expect(killed.output).toContain('pausing 60s before the index');
      expect(await readObject(location, 'pysvc/1.1.1/pysvc-linux-amd64')).toBeDefined();
      expect(await readObject(location, 'pysvc/index.json')).toBeUndefined();
      const next = mustNx(['run', 'pysvc:publish-binary', '--store', location, '--exclude-task-dependencies']);
      expect(next.output).toMatch(/pysvc-linux-amd64: [\d.]+ MB, already published with the same sha256/);
      expect((await readIndex(location, 'pysvc')).versions['1.1.1'].platforms['linux-amd64'].size).toBe(fs.statSync(ws.path('services/pysvc/dist/pysvc')).size);
    });

    it.each(['s3', 'folder'])('%s: other bytes under a published version are refused in one line naming both sha256; the stored object is untouched', async (kind) => {
      const location = kind === 's3' ? `s3://${bucket}/bin` : `file://${folderStore}`;
      const published = (await readIndex(location, 'greeter')).versions['1.1.0'].platforms['linux-amd64'].sha256;
      const main = 'apps/greeter/src/main.ts';
      const original = ws.read(main);
      // A code change that keeps the version (a comment would not do: esbuild drops it and the build is reproducible).
      ws.write(main, `${original}\nif (process.env.STIGMER_E2E_NEVER_SET) console.log('a change that keeps the version');\n`);
      try {
        const result = nx(['run', 'greeter:publish-binary', '--store', location]);
        const rebuilt = sha256(fs.readFileSync(ws.path('apps/greeter/dist/greeter')));
        expect(rebuilt).not.toBe(published);
        expectOneLine(result, new RegExp(`greeter/1\\.1\\.0/greeter-linux-amd64 is published with sha256 ${published}; refusing other bytes \\(sha256 ${rebuilt}\\): a published version never changes`));
        expect(sha256((await readObject(location, 'greeter/1.1.0/greeter-linux-amd64'))!)).toBe(published);
      } finally {
        ws.write(main, original);
      }
    });

    it('a store with no index yet: promotion is refused in one line', () => {
      for (const store of [`s3://${bucket}/empty`, `file://${path.join(scratch, 'empty')}`]) {
        expectOneLine(nx(['run', 'pysvc:publish-binary', '--promote', '1.0.0', '--store', store, '--exclude-task-dependencies']), /stigmer publish-binary: pysvc has no index in this store yet: publish a version before promoting one\./);
      }
    });

    it('a wrong secret key, missing credentials, an unreachable endpoint: one line each, nothing written', async () => {
      const other = path.join(scratch, 'other.key');
      const otherKey = spawnSync('minisign', ['-G', '-W', '-p', path.join(scratch, 'other.pub'), '-s', other], { encoding: 'utf8' });
      expect(otherKey.status).toBe(0);
      const publish = ['run', 'pysvc:publish-binary', '--store', `s3://${bucket}/faults`, '--exclude-task-dependencies'];
      expectOneLine(nx(publish, { STIGMER_SIGNING_KEY_FILE: other }), /stigmer publish-binary: wrong secret key: the secret key file .*other\.key \(key id [0-9A-F]{16}\) is not the pair of stigmer-signing\.pub \(key id [0-9A-F]{16}\)/);
      expectOneLine(
        nx(publish, { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '', AWS_CONFIG_FILE: path.join(scratch, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(scratch, 'none'), AWS_EC2_METADATA_DISABLED: 'true' }),
        /stigmer publish-binary: no AWS credentials to read s3:\/\/.*\/faults at http:\/\/127\.0\.0\.1:\d+: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
      );
      expectOneLine(nx([...publish, '--endpoint', 'http://127.0.0.1:9']), /stigmer publish-binary: cannot reach the store s3:\/\/.*\/faults at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/);
      expect(await readObject(`s3://${bucket}/faults`, 'pysvc/1.1.1/pysvc-linux-amd64')).toBeUndefined();
    });
  });
});

const PYPROJECT = `# pysvc: the smallest Python service (the comments must survive nx release)
[project]
name = "pysvc"
version = "1.0.0"   # set by nx release
description = "published by stigmer"
requires-python = ">=3.9"
dependencies = []
`;
