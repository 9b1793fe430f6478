// Bench rows for the Python binary's size and start-up (issue 11), on the example agent-runner in the bench's
// workspace, each a ratio within this run: the one-file binary of today's generated spec (STRIP on) against
// the same spec with STRIP = False (the spec before issue 11; goal <= 0.6); start-up of the one-file binary
// and of the one-folder layout (unpacked from its .tar.gz) against `python main.py` with the service's own
// Python (goals <= 2.5 and <= 1.3), in wall time and, beside it, in CPU time (which the machine's load moves
// less); and the build time of each layout. In the quick bench too (75-85 s here).
// The full bench adds one row per PyInstaller option measured for start-up (issue 20; docs/python.md,
// "Start-up"): PyInstaller's own inspect run-time hook (the spec before issue 20), noarchive=True,
// optimize=1 and 2, an uncompressed one-file archive, and a program that only prints (the bootloader and
// Python's own start), each built by PyInstaller by hand from a copy of the generated spec.
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
    const version = /^version = "([^"]+)"/m.exec(ws.read(`${service}/pyproject.toml`))[1];
    const options = quick ? [] : buildOptionVariants(ws, { service, generated, python, kept, version });

    // Start-up, interleaved so that noise hits all alike; each must print the version. One warm-up each.
    // Python may write its bytecode cache (this machine sets PYTHONDONTWRITEBYTECODE), as on a developer's
    // machine: python main.py does not recompile the service's sources at every start, and the binaries hold
    // compiled code.
    // The service's Python measures each run: its wall time, and the CPU time (user + system) of the whole
    // process tree, which the load of a shared machine moves much less than wall time.
    const timed = (program, args) => {
      const run = exec(python, ['-c', MEASURE, program, ...args, '--version'], ws.path(service), { PYTHONDONTWRITEBYTECODE: '' });
      const times = /^stigmer-bench-time ([\d.]+) ([\d.]+)$/m.exec(run.stderr);
      if (run.code !== 0 || !run.stdout.includes(version) || !times) throw new Error(`${program} --version did not print ${version}: ${run.output}`);
      return { wall: Number(times[1]), cpu: Number(times[2]) };
    };
    // The order rotates, so that each program follows each other one (the one-file binary leaves 18 MB of
    // written-then-deleted files behind it) equally often.
    const startup = { onefile: [], unstripped: [], onedir: [], python: [] };
    const cpu = { onefile: [], unstripped: [], onedir: [], python: [] };
    const programs = [['onefile', onefile, []], ['unstripped', unstrippedCopy, []], ['onedir', onedir, []], ['python', python, ['main.py']]];
    for (const option of options) {
      startup[option.kind] = [];
      cpu[option.kind] = [];
      programs.push([option.kind, option.program, []]);
    }
    for (const [, program, args] of programs) timed(program, args);
    for (let i = 0; i < (quick ? 20 : 30); i++) {
      for (let j = 0; j < programs.length; j++) {
        const [kind, program, args] = programs[(i + j) % programs.length];
        const run = timed(program, args);
        startup[kind].push(run.wall);
        cpu[kind].push(run.cpu);
      }
    }
    // Each ratio is the median of the rounds' ratios (a program against python main.py of the same round): paired
    // runs, so that a load that comes and goes moves both sides of a ratio alike.
    const paired = (times, kind) => median(times[kind].map((value, i) => value / times.python[i])).toFixed(2);
    const startupRow = (name, kind) => [...timingRow(name, startup[kind]), paired(startup, kind)];
    const cpuCells = (kind) => [s(median(cpu[kind])), paired(cpu, kind)];

    console.log(`\nPython layouts: examples/agent-runner, start-up over ${startup.python.length} interleaved rounds, each ratio the median of the rounds' ratios (these rows took ${s(Date.now() - started)})`);
    const sizeRatio = ratio(stripped, unstripped);
    const archiveSize = fs.statSync(archive).size;
    printTable(['Python size (agent-runner)', 'size', 'ratio', 'goal'], [
      ['one-file, generated spec (STRIP on) / STRIP = False (the spec before issue 11)', `${mb(stripped)} / ${mb(unstripped)}`, sizeRatio, goal(sizeRatio, 0.6)],
      ['one-folder .tar.gz (what ships) / one-file', mb(archiveSize), ratio(archiveSize, stripped), ''],
      [`one-folder unpacked (${onedirPasses ? 'passes test-binary' : 'FAILS test-binary'})`, mb(folderSize(path.join(unpacked, 'agent-runner'))), '', ''],
    ]);
    const onefileRow = startupRow('one-file binary / python main.py', 'onefile');
    const onedirRow = startupRow(`one-folder, unpacked ${manifest.entrypoint} / python main.py`, 'onedir');
    printTable(['start-up (--version)', 'median', 'min', 'max', 'ratio to python main.py', 'goal', 'CPU time, median', 'CPU ratio'], [
      [...onefileRow, goal(onefileRow[4], 2.5), ...cpuCells('onefile')],
      [...onedirRow, goal(onedirRow[4], 1.3), ...cpuCells('onedir')],
      [...startupRow('one-file binary, STRIP = False / python main.py', 'unstripped'), '', ...cpuCells('unstripped')],
      ...options.map((option) => [...startupRow(`${option.label} / python main.py`, option.kind), '', ...cpuCells(option.kind)]),
      [...startupRow('python main.py (the service\'s own Python)', 'python'), '', ...cpuCells('python')],
    ]);
    if (options.length) {
      printTable(['option variant (built by hand from the generated spec)', 'what ships'], options.map((option) => [option.label, mb(option.size)]));
    }
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

/** Runs argv[1:], then prints its wall time and its process tree's CPU time (ms) on stderr; exits with its code. */
const MEASURE = [
  'import resource, subprocess, sys, time',
  'start = time.perf_counter()',
  'code = subprocess.run(sys.argv[1:]).returncode',
  'wall = time.perf_counter() - start',
  'usage = resource.getrusage(resource.RUSAGE_CHILDREN)',
  'print(f"stigmer-bench-time {wall * 1000:.1f} {(usage.ru_utime + usage.ru_stime) * 1000:.1f}", file=sys.stderr)',
  'sys.exit(code)',
].join('\n');

/** `text` with `from` replaced; throws when it is not there, so a changed spec cannot measure the same build twice. */
function edit(text, from, to) {
  if (!text.includes(from)) throw new Error(`the generated spec has no ${JSON.stringify(from)}: update bench/python-layout.js`);
  return text.replace(from, to);
}

/**
 * The start-up variants of the full bench: copies of the generated spec with one PyInstaller option changed,
 * each built by PyInstaller by hand (the plugin is not what is measured) into `kept`.
 */
function buildOptionVariants(ws, { service, generated, python, kept, version }) {
  const onedir = (text) => edit(text, '\nLAYOUT = "onefile"\n', '\nLAYOUT = "onedir"\n');
  const pyinstallerInspectHook = (text) => edit(text, 'a.scripts = stigmer_spec.lazy_inspect_hook(a.scripts)\n', '');
  const noarchive = (text) => edit(text, 'noarchive=False,', 'noarchive=True,');
  const optimize = (level) => (text) => edit(text, 'optimize=0,', `optimize=${level},`);
  // Every typecode of the one-file archive stored as is: nothing to inflate at start, a bigger file.
  const uncompressed = (text) => edit(text, '        runtime_tmpdir=None,\n', `        runtime_tmpdir=None,\n        cdict={${['EXTENSION', 'DATA', 'BINARY', 'EXECUTABLE', 'PYSOURCE', 'PYMODULE', 'SPLASH', 'PYZ', 'SYMLINK'].map((t) => `"${t}": False`).join(', ')}},\n`);
  // The same runtime, a program that only prints: what the bootloader and Python's own start cost.
  const printOnly = (text) => edit(edit(text, 'ENTRY = "main.py"', 'ENTRY = "bench_print_only.py"'), '# The service\'s own and local packages', 'distributions = []\nhiddenimports = []\n# The service\'s own and local packages').replace(/^for package in \[[^\]]*\]:/m, 'for package in []:');
  const variants = [
    ['onefile-pyi-inspect', "one-file, PyInstaller's own inspect hook (the spec before issue 20)", [pyinstallerInspectHook]],
    ['onedir-pyi-inspect', "one-folder, PyInstaller's own inspect hook (the spec before issue 20)", [onedir, pyinstallerInspectHook]],
    ['onefile-noarchive', 'one-file, noarchive=True', [noarchive]],
    ['onedir-noarchive', 'one-folder, noarchive=True', [onedir, noarchive]],
    ['onedir-optimize1', 'one-folder, optimize=1 (no asserts)', [onedir, optimize(1)]],
    ['onedir-optimize2', 'one-folder, optimize=2 (no asserts, no docstrings)', [onedir, optimize(2)]],
    ['onefile-uncompressed', 'one-file, archive not compressed (cdict)', [uncompressed]],
    ['onefile-print-only', 'one-file, a program that only prints (bootloader + Python start)', [printOnly]],
    ['onedir-print-only', 'one-folder, a program that only prints (bootloader + Python start)', [onedir, printOnly]],
  ];
  const printScript = `${service}/bench_print_only.py`;
  ws.write(printScript, `print(${JSON.stringify(`agent-runner ${version}`)})\n`);
  const built = [];
  try {
    for (const [kind, label, edits] of variants) {
      const spec = `${service}/bench-${kind}.spec`;
      ws.write(spec, edits.reduce((text, change) => change(text), generated));
      try {
        const dist = path.join(kept, kind);
        ws.mustRun(python, ['-m', 'PyInstaller', '--noconfirm', '--distpath', dist, '--workpath', path.join(kept, `${kind}-build`), ws.path(spec)], { PYTHONPATH: ws.path('node_modules', 'stigmer', 'python') });
        const output = path.join(dist, 'agent-runner');
        const isOnedir = kind.startsWith('onedir');
        built.push({ kind, label, program: isOnedir ? path.join(output, 'agent-runner') : output, size: isOnedir ? folderSize(output) : fs.statSync(output).size });
      } finally {
        fs.removeSync(ws.path(spec));
      }
    }
  } finally {
    fs.removeSync(ws.path(printScript));
  }
  return built;
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
