// Bench rows for the Python binary's size and start-up (issue 11), on the example agent-runner in the bench's
// workspace, each a ratio within this run: the one-file binary of today's generated spec (STRIP on) against
// the same spec with STRIP = False (the spec before issue 11; goal <= 0.6); start-up of the one-file binary
// and of the one-folder layout (unpacked from its .tar.gz) against `python main.py` with the service's own
// Python (goals <= 2.5 and <= 1.3); and the build time of each layout. In the quick bench too (75-85 s here).
const os = require('node:os');
const path = require('node:path');
const fs = require('fs-extra');
const tar = require('tar');
const { exec } = require('../scripts/test-workspace');
const { median, s, mb, ratio, goal, timingRow, printTable } = require('./report');

const STRIP_LINE = /^STRIP = .*$/m;

/**
 * `ws` holds agent-runner, built by its generated one-file spec (dist/agent-runner); `onefileBuilds` are the
 * clean builds (ms) of that spec measured by run.js. Returns the build rows for the engines table.
 */
function benchPythonLayout(ws, { runs, quick, onefileBuilds }) {
  const service = 'services/agent-runner';
  const specPath = `${service}/agent-runner.spec`;
  const generated = ws.read(specPath);
  if (!STRIP_LINE.test(generated) || !/^LAYOUT = /m.test(generated)) {
    throw new Error(`${specPath} has no LAYOUT or STRIP line: the bench needs a stigmer that writes them (npm run package).`);
  }
  const python = ws.path('.stigmer', 'venvs', 'agent-runner', 'bin', 'python');
  const dist = ws.path(service, 'dist');
  const started = Date.now();
  const kept = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-bench-layout-'));
  try {
    const onefile = path.join(kept, 'onefile', 'agent-runner');
    fs.copySync(path.join(dist, 'agent-runner'), onefile);
    const stripped = fs.statSync(onefile).size;

    // The spec before issue 11: the same spec with strip off.
    ws.write(specPath, generated.replace(STRIP_LINE, 'STRIP = False'));
    ws.mustNx(['run', 'agent-runner:build-binary', '--skip-nx-cache']);
    const unstrippedCopy = path.join(kept, 'onefile-unstripped', 'agent-runner');
    fs.copySync(path.join(dist, 'agent-runner'), unstrippedCopy);
    const unstripped = fs.statSync(unstrippedCopy).size;
    ws.write(specPath, generated);

    // One folder, through the generator option; built clean like run.js's one-file builds.
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'agent-runner', '--layout', 'onedir']);
    const onedirBuilds = [];
    for (let i = 0; i < runs; i++) onedirBuilds.push(ws.mustNx(['run', 'agent-runner:build-binary', '--clean', '--skip-nx-cache']).ms);
    const archive = path.join(dist, 'agent-runner.tar.gz');
    const manifest = fs.readJsonSync(`${archive}.manifest.json`);
    if (manifest.layout !== 'onedir' || !manifest.entrypoint) throw new Error(`${archive}.manifest.json says no onedir entrypoint: ${JSON.stringify(manifest)}`);
    // What a daemon does: unpack the archive, run the manifest's entrypoint.
    const unpacked = path.join(kept, 'onedir');
    fs.ensureDirSync(unpacked);
    tar.x({ file: archive, cwd: unpacked, sync: true });
    const onedir = path.join(unpacked, ...manifest.entrypoint.split('/'));
    const testBinary = ws.nx(['run', 'agent-runner:test-binary']);
    const onedirPasses = testBinary.code === 0;

    // Start-up, interleaved so that noise hits all alike; each must print the version. One warm-up each.
    const version = /^version = "([^"]+)"/m.exec(ws.read(`${service}/pyproject.toml`))[1];
    // Python may write its bytecode cache (this machine sets PYTHONDONTWRITEBYTECODE), as on a developer's
    // machine: python main.py does not recompile the service's sources at every start, and the binaries hold
    // compiled code.
    const timed = (program, args) => {
      const run = exec(program, [...args, '--version'], ws.path(service), { PYTHONDONTWRITEBYTECODE: '' });
      if (run.code !== 0 || !run.stdout.includes(version)) throw new Error(`${program} --version did not print ${version}: ${run.output}`);
      return run.ms;
    };
    // The order rotates, so that each program follows each other one (the one-file binary leaves 18 MB of
    // written-then-deleted files behind it) equally often.
    const startup = { onefile: [], unstripped: [], onedir: [], python: [] };
    const programs = [['onefile', onefile, []], ['unstripped', unstrippedCopy, []], ['onedir', onedir, []], ['python', python, ['main.py']]];
    for (const [, program, args] of programs) timed(program, args);
    for (let i = 0; i < (quick ? 8 : 16); i++) {
      for (let j = 0; j < programs.length; j++) {
        const [kind, program, args] = programs[(i + j) % programs.length];
        startup[kind].push(timed(program, args));
      }
    }
    const pythonStart = median(startup.python);

    console.log(`\nPython layouts: examples/agent-runner, start-up median of ${startup.python.length} interleaved runs (these rows took ${s(Date.now() - started)})`);
    const sizeRatio = ratio(stripped, unstripped);
    const archiveSize = fs.statSync(archive).size;
    printTable(['Python size (agent-runner)', 'size', 'ratio', 'goal'], [
      ['one-file, generated spec (STRIP on) / STRIP = False (the spec before issue 11)', `${mb(stripped)} / ${mb(unstripped)}`, sizeRatio, goal(sizeRatio, 0.6)],
      ['one-folder .tar.gz (what ships) / one-file', mb(archiveSize), ratio(archiveSize, stripped), ''],
      [`one-folder unpacked (${onedirPasses ? 'passes test-binary' : 'FAILS test-binary'})`, mb(folderSize(path.join(unpacked, 'agent-runner'))), '', ''],
    ]);
    const onefileRow = timingRow('one-file binary / python main.py', startup.onefile, pythonStart);
    const onedirRow = timingRow(`one-folder, unpacked ${manifest.entrypoint} / python main.py`, startup.onedir, pythonStart);
    printTable(['start-up (--version)', 'median', 'min', 'max', 'ratio to python main.py', 'goal'], [
      [...onefileRow, goal(onefileRow[4], 2.5)],
      [...onedirRow, goal(onedirRow[4], 1.3)],
      timingRow('one-file binary, STRIP = False / python main.py', startup.unstripped, pythonStart),
      timingRow('python main.py (the service\'s own Python)', startup.python, pythonStart),
    ]);
    if (!onedirPasses) console.log(`\none-folder test-binary failed:\n${testBinary.output.slice(-2000)}`);
    return [
      { engine: 'PyInstaller one-file', service: 'agent-runner', builds: onefileBuilds, size: `${mb(stripped)}`, startup: `${onefileRow[4]}× python main.py` },
      { engine: 'PyInstaller one-folder (.tar.gz)', service: 'agent-runner', builds: onedirBuilds, size: `${mb(archiveSize)} (.tar.gz)`, startup: `${onedirRow[4]}× python main.py` },
    ];
  } finally {
    // Back to the one-file spec the rest of the bench reads.
    ws.write(specPath, generated);
    fs.removeSync(kept);
  }
}

/** Bytes of the regular files under `dir`. */
function folderSize(dir) {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) total += folderSize(file);
    else if (entry.isFile()) total += fs.statSync(file).size;
  }
  return total;
}

module.exports = { benchPythonLayout };
