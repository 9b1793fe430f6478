// Bench rows for a Go service (the e2e fixture: a workspace library through `replace`, two modules from the
// Go module proxy, an embedded file), five platforms: the build after a library edit by stigmer and by plain
// `go build` with the same flags, one platform after another (the plugin's overhead); an Nx cache hit; sizes;
// and, in the full bench, @nx-go/nx-go's build where it installs: its time and whether its key follows the edit.
const path = require('node:path');
const fs = require('fs-extra');
const { median, mb, ratio, goal, timingRow, printTable, nxRunDuration } = require('./report');

const PLATFORMS = ['linux-amd64', 'linux-arm64', 'darwin-amd64', 'darwin-arm64', 'windows-amd64'];
const LIB = 'libs/greet/greet.go';

function benchGo(ws, { runs, quick }) {
  fs.copySync(path.join(__dirname, '..', 'e2e', 'fixtures', 'go'), ws.root);
  ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'api']);
  const original = ws.read(LIB);
  let edits = 0;
  // A new library text each time: go compiles the library and the service again for every platform (its cache
  // holds the standard library and the proxy modules, as on any machine that built once), and Nx misses.
  const editLibrary = () => ws.write(LIB, `${original}\n// bench edit ${Date.now()}-${edits++}\n`);
  const dist = ws.path('apps/api/dist');
  // Warm-up: Go's cache gets the standard library of the five platforms, once.
  ws.mustNx(['run', 'api:build-binary']);
  const rows = { stigmer: [], task: [], plain: [], hit: [] };
  const ldflags = '-ldflags=-s -w -buildid= -X main.version=0.0.0';
  for (let i = 0; i < runs; i++) {
    editLibrary();
    const build = ws.mustNx(['run', 'api:build-binary']);
    if (build.output.includes('[local cache]')) throw new Error('expected the library edit to rebuild api');
    rows.stigmer.push(build.ms);
    rows.task.push(nxRunDuration(build.output));
    editLibrary();
    const started = Date.now();
    for (const platform of PLATFORMS) {
      const [goos, goarch] = platform.split('-');
      ws.mustRun('go', ['-C', 'apps/api', 'build', '-trimpath', '-buildvcs=false', ldflags, '-o', ws.path('plain-dist', `api-${platform}`), './cmd/api'], {
        GOOS: goos, GOARCH: goarch, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly',
      });
    }
    rows.plain.push(Date.now() - started);
    fs.removeSync(dist);
    ws.write(LIB, original);
    const hit = ws.mustNx(['run', 'api:build-binary']);
    if (!/local cache|existing outputs match the cache/.test(hit.output)) throw new Error('expected a cache hit');
    rows.hit.push(hit.ms);
  }
  const plain = median(rows.plain);
  const overhead = ratio(median(rows.task), plain);
  const sizes = fs.readdirSync(dist).filter((f) => !/\.(sha256|json)$/.test(f)).map((f) => `${f} ${mb(fs.statSync(path.join(dist, f)).size)}`);
  printTable(['Go: api (replace\'d library, uuid, pkg/errors, embed), 5 platforms', 'median', 'min', 'max', 'ratio to plain go build'], [
    timingRow('stigmer, after a library edit (nx run api:build-binary)', rows.stigmer, plain),
    timingRow('stigmer, Nx task time', rows.task, plain),
    timingRow('plain go build, same flags, platforms one after another', rows.plain, plain),
    timingRow('Nx cache hit (dist/ deleted)', rows.hit, plain),
    ['plugin overhead, Nx task time / plain go build', '', '', '', `${overhead} (${goal(overhead, 1.05)})`],
    ['sizes', sizes.join(', ')],
    ...(quick ? [['@nx-go/nx-go build', 'full bench only']] : [nxGoRow(ws, editLibrary, original)]),
  ], { left: [1] });
  ws.write(LIB, original);
  fs.removeSync(ws.path('plain-dist'));
}

/** @nx-go/nx-go's inferred build target on the same service: time, and whether its key follows the library. */
function nxGoRow(ws, editLibrary, original) {
  const name = '@nx-go/nx-go build';
  const nxJsonPath = ws.path('nx.json');
  const nxJson = fs.readJsonSync(nxJsonPath);
  try {
    const installed = ws.run('npm', ['install', '--save-dev', '--no-audit', '--no-fund', '--prefer-offline', '@nx-go/nx-go@4']);
    if (installed.code !== 0) return [name, 'does not install here', '', '', installed.output.trim().split('\n').pop()];
    fs.writeJsonSync(nxJsonPath, { ...nxJson, plugins: [...nxJson.plugins, '@nx-go/nx-go'] }, { spaces: 2 });
    // Its build runs `go build` on the project root unless told the main package (the service's is in cmd/api).
    const nxGo = ['run', 'api:build', '--main=./cmd/api'];
    const first = ws.run(ws.path('node_modules', '.bin', 'nx'), [...nxGo, '--skip-nx-cache']);
    if (first.code !== 0) return [name, 'does not build here', '', '', (first.output.match(/^.*(Error|error).*$/m) ?? [first.output.trim().split('\n').pop()])[0].slice(0, 160)];
    editLibrary();
    ws.run(ws.path('node_modules', '.bin', 'nx'), nxGo);
    editLibrary();
    const afterEdit = ws.run(ws.path('node_modules', '.bin', 'nx'), nxGo);
    const follows = !/local cache|existing outputs match the cache/.test(afterEdit.output);
    return [name, `${(first.ms / 1000).toFixed(2)} s (host only)`, '', '', follows ? 'key follows the library edit' : 'cache HIT after the library edit: its key misses the replace\'d library'];
  } finally {
    fs.writeJsonSync(nxJsonPath, nxJson, { spaces: 2 });
    ws.write(LIB, original);
  }
}

module.exports = { benchGo };
