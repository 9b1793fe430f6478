// Pinned Go test tools, built from the Go module proxy into <repo>/.tools/go-bin (gitignored).
// Meant to be called from scripts/test-tools.js (`ensureGoTools()`); runnable alone: `node scripts/test-tools-go.js`.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const REPO_ROOT = path.join(__dirname, '..');
const GO_BIN = path.join(REPO_ROOT, '.tools', 'go-bin');

/** Each tool: its binary name, the module path of its main package and the version the tests were written against. */
const GO_TOOLS = [
  { name: 'actionlint', module: 'github.com/rhysd/actionlint/cmd/actionlint', version: 'v1.7.12' },
  // The S3-compatible server of the publish and agent tests (Apache-2.0; scripts/s3-server.js starts it).
  { name: 'versitygw', module: 'github.com/versity/versitygw/cmd/versitygw', version: 'v1.8.0' },
];

/** Path of a pinned Go tool's binary (whether or not it is installed yet). */
function goToolPath(name) {
  return path.join(GO_BIN, process.platform === 'win32' ? `${name}.exe` : name);
}

/** The version a Go binary was built from, read from its embedded build info (`go version -m`). */
function installedVersion(tool) {
  const binary = goToolPath(tool.name);
  if (!fs.existsSync(binary)) return undefined;
  const info = spawnSync('go', ['version', '-m', binary], { encoding: 'utf8' });
  const line = (info.stdout ?? '').split('\n').find((l) => l.trim().startsWith('mod\t'));
  return line?.trim().split('\t')[2];
}

/** Installs every pinned Go tool that is missing or at another version; idempotent and quiet when nothing changes. */
function ensureGoTools() {
  for (const tool of GO_TOOLS) {
    if (installedVersion(tool) === tool.version) continue;
    const go = spawnSync('go', ['version'], { encoding: 'utf8' });
    if (go.error || go.status !== 0) throw new Error(`${tool.name} needs Go to be installed: no \`go\` on PATH (install Go 1.22 or newer).`);
    console.log(`test tools: go install ${tool.module}@${tool.version} -> ${path.relative(REPO_ROOT, GO_BIN)}`);
    const result = spawnSync('go', ['install', `${tool.module}@${tool.version}`], {
      stdio: 'inherit',
      env: { ...process.env, GOBIN: GO_BIN, GOFLAGS: [process.env.GOFLAGS, '-buildvcs=false'].filter(Boolean).join(' ') },
    });
    if (result.status !== 0) throw new Error(`go install ${tool.module}@${tool.version} failed (exit ${result.status}).`);
  }
}

module.exports = { GO_BIN, GO_TOOLS, goToolPath, ensureGoTools };

if (require.main === module) {
  try {
    ensureGoTools();
  } catch (error) {
    console.error(`test tools: ${error.message}`);
    process.exit(1);
  }
}
