// Bench rows for publish-binary (issue 17), against the real S3-compatible test server (versitygw on loopback):
//   - the time to publish one version of five platforms (`nx run svc:publish-binary`, build and test excluded:
//     the five files are in dist/ with their manifests, as five CI jobs' builds would leave them);
//   - the upload throughput of one 60 MB binary through publish-binary's store (multipart, 8 MB parts, four at
//     a time, If-None-Match) against one plain SDK PutObject of the same file, as a ratio within this run.
// `node bench/publish.js [--quick]` alone, or from bench/run.js.
const { createHash, randomBytes } = require('node:crypto');
const path = require('node:path');
const fs = require('fs-extra');
const { Workspace } = require('../scripts/test-workspace');
const { testS3Server } = require('../scripts/s3-server');
const { median, s, mb, ratio, timingRow, printTable } = require('./report');

const PLATFORMS = [
  ['linux', 'x64'],
  ['linux', 'arm64'],
  ['darwin', 'x64'],
  ['darwin', 'arm64'],
  ['win32', 'x64'],
];

function sha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

async function benchPublish({ runs = 1, quick = false } = {}) {
  const server = await testS3Server();
  const { S3Client, CreateBucketCommand, PutObjectCommand } = require('@aws-sdk/client-s3');
  const client = new S3Client({ endpoint: server.endpoint, region: server.region, forcePathStyle: true, credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey } });
  const bucket = `stigmer-bench-publish-${process.pid}-${Date.now()}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const ws = Workspace.create('bench-publish');
  const env = { AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: server.secretKey, AWS_REGION: server.region, STIGMER_SIGNING_KEY_FILE: `${ws.root}-signing.key` };
  try {
    ws.write('apps/svc/package.json', JSON.stringify({ name: 'svc', version: '1.0.0', private: true }));
    ws.write('apps/svc/src/main.ts', 'console.log("svc");\n');
    ws.write('apps/svc/svc.sea.json', JSON.stringify({ name: 'svc', entry: 'src/main.ts', platforms: ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win-x64'] }));
    ws.mustNx(['g', 'stigmer:signing-key', '--store', `s3://${bucket}/bin`, '--secretKeyFile', env.STIGMER_SIGNING_KEY_FILE]);
    const nxJson = fs.readJsonSync(ws.path('nx.json'));
    nxJson.plugins.find((p) => p.plugin === 'stigmer').options.publish.endpoint = server.endpoint;
    fs.writeJsonSync(ws.path('nx.json'), nxJson, { spaces: 2 });
    const fileSize = (quick ? 20 : 60) * 1024 * 1024;
    const project = JSON.parse(ws.mustNx(['show', 'project', 'svc', '--json']).stdout);
    const files = project.targets['build-binary'].outputs.filter((o) => !/\.(sha256|manifest\.json|report\.json|report\.html)$/.test(o)).map((o) => o.replace('{projectRoot}/', 'apps/svc/'));
    const publishTimes = [];
    for (let run = 0; run < runs; run++) {
      const version = `1.0.${run}`;
      files.forEach((file, i) => {
        const [os, arch] = PLATFORMS[i];
        fs.outputFileSync(ws.path(file), randomBytes(fileSize));
        const size = fs.statSync(ws.path(file)).size;
        const manifest = { name: 'svc', version, os, arch, runtime: 'node', layout: 'onefile', runtimeVersions: {}, builtBy: 'bench', size, sha256: sha256(ws.path(file)) };
        fs.writeJsonSync(ws.path(`${file}.manifest.json`), manifest);
        fs.writeFileSync(ws.path(`${file}.sha256`), `${manifest.sha256}  ${path.basename(file)}\n`);
      });
      publishTimes.push(ws.mustNx(['run', 'svc:publish-binary', '--exclude-task-dependencies'], env).ms);
    }
    // 60 MB: publish-binary's store against one plain PutObject of the same file.
    const big = `${ws.root}-60mb`;
    fs.writeFileSync(big, randomBytes(60 * 1024 * 1024));
    const bigSha = sha256(big);
    const { openStore } = require(ws.path('node_modules', 'stigmer', 'dist', 'publish', 'store'));
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: server.secretKey });
    const store = openStore(`s3://${bucket}/throughput`, ws.root, { endpoint: server.endpoint, region: server.region });
    const times = { store: [], put: [] };
    try {
      for (let run = 0; run < Math.max(runs, quick ? 1 : 3); run++) {
        let started = Date.now();
        await store.putImmutable(`store-${run}`, { file: big, size: fs.statSync(big).size }, bigSha);
        times.store.push(Date.now() - started);
        started = Date.now();
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: `throughput/put-${run}`, Body: fs.createReadStream(big), ContentLength: fs.statSync(big).size }));
        times.put.push(Date.now() - started);
      }
    } finally {
      store.close();
      fs.removeSync(big);
    }
    const put = median(times.put);
    const mbps = (ms) => `${((60 * 1000) / ms).toFixed(0)} MB/s`;
    console.log(`\npublish-binary: versitygw on loopback, ${runs} run${runs > 1 ? 's' : ''}`);
    printTable(['measure', 'median', 'min', 'max', 'ratio'], [
      timingRow(`publish one version, 5 platforms x ${mb(fileSize)} (nx run, build excluded)`, publishTimes, median(publishTimes)),
      [`  = ${mb(5 * fileSize)} in`, s(median(publishTimes)), '', '', `${((5 * fileSize) / 1024 / 1024 / (median(publishTimes) / 1000)).toFixed(0)} MB/s incl. Nx start-up`],
      timingRow(`upload 60 MB, publish-binary's store (multipart) [${mbps(median(times.store))}]`, times.store, put),
      timingRow(`upload 60 MB, one plain SDK PutObject [${mbps(put)}]`, times.put, put),
    ]);
    return { publishMs: median(publishTimes), storeMs: median(times.store), putMs: put };
  } finally {
    client.destroy();
    server.stop();
    ws.remove();
    fs.removeSync(env.STIGMER_SIGNING_KEY_FILE);
  }
}

module.exports = { benchPublish };

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  benchPublish({ quick, runs: quick ? 1 : Number(process.env.STIGMER_BENCH_RUNS ?? 3) })
    .then(() => process.exit(0))
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
