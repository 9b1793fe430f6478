import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { readNxJson, Tree, updateNxJson } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import * as fs from 'fs-extra';
import { parse } from 'yaml';
import { CiWorkflowOptions, ciWorkflowGenerator } from './generator';

// The pinned actionlint that `node scripts/test-tools.js` (scripts/test-tools-go.js) installs.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { goToolPath } = require('../../../../../scripts/test-tools-go.js');
const ACTIONLINT: string = goToolPath('actionlint');

/** shellcheck on PATH (`node scripts/test-tools.js` installs it): without it actionlint skips run: scripts silently. */
function shellcheckPath(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, process.platform === 'win32' ? 'shellcheck.exe' : 'shellcheck');
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  throw new Error('shellcheck is not on PATH, so actionlint would skip its check of the run: scripts: run `node scripts/test-tools.js` (it installs the Debian package shellcheck).');
}

describe('ciWorkflowGenerator', () => {
  let tree: Tree;
  let tmp: string;
  const file = '.github/workflows/stigmer-binaries.yml';

  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-ci-workflow-'));
  });
  afterEach(() => fs.removeSync(tmp));

  function text(): string {
    return tree.read(file, 'utf-8') ?? '';
  }
  function workflow(): any {
    return parse(text());
  }
  function allSteps(wf: any): any[] {
    return Object.values(wf.jobs).flatMap((job: any) => job.steps);
  }

  /** Runs the real actionlint on the generated file, as it would sit in a repository. */
  function actionlint(content: string): { code: number | null; output: string } {
    if (!fs.existsSync(ACTIONLINT)) throw new Error(`actionlint is missing at ${ACTIONLINT}: run \`node scripts/test-tools.js\` first.`);
    const workflows = path.join(tmp, 'repo', '.github', 'workflows');
    fs.mkdirpSync(workflows);
    fs.writeFileSync(path.join(workflows, 'stigmer-binaries.yml'), content);
    const result = spawnSync(ACTIONLINT, ['-no-color', `-shellcheck=${shellcheckPath()}`, '.github/workflows/stigmer-binaries.yml'], { cwd: path.join(tmp, 'repo'), encoding: 'utf8' });
    if (result.error) throw result.error;
    return { code: result.status, output: `${result.stdout}${result.stderr}` };
  }

  const combinations: Array<[string, CiWorkflowOptions]> = [
    ['defaults', {}],
    ['remote cache', { remoteCache: true }],
    ['one platform, other versions', { platforms: ['windows-x64'], nodeVersion: '22', pythonVersion: '3.12' }],
    ['remote cache on two platforms, another branch', { platforms: ['linux-x64', 'macos-arm64'], remoteCache: true, mainBranch: 'release/2.x' }],
    ['publish on tags', { publish: true }],
  ];

  it.each(combinations)('passes actionlint: %s', async (_label, options) => {
    await ciWorkflowGenerator(tree, options);
    const lint = actionlint(text());
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
  });

  /** A workspace with a Go service, a Python service, or both: the runtimes' setup steps the build jobs get. */
  const workspaces: Array<[string, (tree: Tree) => void]> = [
    ['a Go service', (t) => t.write('services/api/go.mod', 'module example.com/api\n\ngo 1.22\n')],
    ['a Python service', (t) => t.write('services/agent/pyproject.toml', '[project]\nname = "agent"\nversion = "0.1.0"\n')],
    [
      'Go and Python services',
      (t) => {
        t.write('services/api/go.mod', 'module example.com/api\n\ngo 1.22\n');
        t.write('services/agent/pyproject.toml', '[project]\nname = "agent"\nversion = "0.1.0"\n');
      },
    ],
  ];

  it.each(workspaces)('passes actionlint with %s, publish jobs included', async (_label, populate) => {
    populate(tree);
    await ciWorkflowGenerator(tree, { publish: true, pythonVersion: '3.12' });
    const lint = actionlint(text());
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
  });

  it('sets up Go from the service\'s go.mod in the build jobs, and no Python where there is none', async () => {
    workspaces[0][1](tree);
    await ciWorkflowGenerator(tree, { publish: true });
    const wf = workflow();
    for (const job of ['binaries', 'publish']) {
      expect(wf.jobs[job].steps.filter((step: any) => String(step.uses).startsWith('actions/setup-go@'))).toEqual([
        { uses: 'actions/setup-go@v5', with: { 'go-version-file': 'services/api/go.mod', 'cache-dependency-path': '**/go.sum' } },
      ]);
    }
    // The jobs that only ask Nx which projects to build need Node alone.
    for (const job of ['affected', 'publishable']) expect(JSON.stringify(wf.jobs[job].steps)).not.toContain('setup-go');
    expect(text()).not.toContain('setup-python');
  });

  it("takes the Go version from a service's go.mod (a module with a Go spec) rather than a library's", async () => {
    tree.write('libs/aaa/go.mod', 'module example.com/aaa\n\ngo 1.21\n');
    tree.write('services/api/go.mod', 'module example.com/api\n\ngo 1.22\n');
    tree.write('services/api/api.go-binary.json', '{ "name": "api" }\n');
    await ciWorkflowGenerator(tree);
    const setupGo = workflow().jobs.binaries.steps.filter((step: any) => String(step.uses).startsWith('actions/setup-go@'));
    expect(setupGo.map((step: any) => step.with['go-version-file'])).toEqual(['services/api/go.mod']);
  });

  it('sets up Python with --pythonVersion only where the workspace has a Python project', async () => {
    await ciWorkflowGenerator(tree, { pythonVersion: '3.12' });
    expect(text()).not.toContain('setup-python');
    expect(text()).not.toContain('setup-go');
    workspaces[1][1](tree);
    await ciWorkflowGenerator(tree, { pythonVersion: '3.12', force: true });
    const setupPython = workflow().jobs.binaries.steps.filter((step: any) => String(step.uses).startsWith('actions/setup-python@'));
    expect(setupPython).toEqual([{ uses: 'actions/setup-python@v5', with: { 'python-version': '3.12' } }]);
    expect(text()).not.toContain('setup-go');
    await expect(ciWorkflowGenerator(tree, { pythonVersion: '${{ github.head_ref }}', force: true })).rejects.toThrow('--pythonVersion must be a plain value');
  });

  it('actionlint does catch a broken workflow (the check above can fail)', async () => {
    await ciWorkflowGenerator(tree);
    const lint = actionlint(text().replace('${{ matrix.runner }}', '${{ matrix.runnr }}'));
    expect(lint.code).not.toBe(0);
    expect(lint.output).toContain('runnr');
  });

  it("actionlint runs shellcheck on the run: scripts (a shell mistake fails)", async () => {
    await ciWorkflowGenerator(tree);
    const broken = text().replace(/^(\s+)run: (.*)$/m, '$1run: cd $UNQUOTED_DIR && $2');
    expect(broken).not.toBe(text());
    const lint = actionlint(broken);
    expect(lint.code).not.toBe(0);
    expect(lint.output).toMatch(/shellcheck reported issue .*SC2086/);
  });

  it.each(combinations)('puts no ${{ }} expression in any run: line (%s)', async (_label, options) => {
    await ciWorkflowGenerator(tree, options);
    const runs = allSteps(workflow())
      .map((step) => step.run)
      .filter(Boolean);
    expect(runs.length).toBeGreaterThan(2);
    for (const run of runs) expect(run).not.toContain('${{');
  });

  it('hands a project name full of shell metacharacters to nx as one argument, and runs nothing of it', async () => {
    await ciWorkflowGenerator(tree, { remoteCache: true });
    const wf = workflow();
    expect(wf.defaults.run.shell).toBe('bash');
    // A fake npx that records its arguments: what is under test here is the shell quoting, not nx.
    const bin = path.join(tmp, 'bin');
    fs.mkdirpSync(bin);
    const calls = path.join(tmp, 'calls.jsonl');
    fs.writeFileSync(
      path.join(bin, 'npx'),
      `#!${process.execPath}\nrequire('fs').appendFileSync(${JSON.stringify(calls)}, JSON.stringify(process.argv.slice(2)) + '\\n');\n` +
        `if (process.argv[3] === 'show') process.stdout.write(JSON.stringify({ root: 'apps/evil' }));\n`,
      { mode: 0o755 },
    );
    const pwned = path.join(tmp, 'pwned');
    const project = `svc"; touch ${pwned}; echo "$(touch ${pwned})\`touch ${pwned}\`'`;
    const matrixSteps = wf.jobs.binaries.steps.filter((step: any) => step.run && step.run !== 'npm ci');
    expect(matrixSteps.length).toBe(2);
    for (const step of matrixSteps) {
      // What the runner does: expressions in env: are evaluated to plain values, then bash runs the script.
      const env: Record<string, string> = {};
      for (const [name, value] of Object.entries<string>(step.env ?? {})) env[name] = value === '${{ matrix.project }}' ? project : 'x';
      // The command line GitHub uses for `shell: bash`.
      const result = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run], {
        encoding: 'utf8',
        env: { PATH: `${bin}:${process.env.PATH}`, HOME: tmp, GITHUB_ENV: path.join(tmp, 'github-env'), GITHUB_OUTPUT: path.join(tmp, 'github-output'), ...env },
      });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    }
    expect(fs.existsSync(pwned)).toBe(false);
    const recorded = fs.readFileSync(calls, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(recorded).toEqual([
      ['nx', 'run', `${project}:test-binary`],
      ['nx', 'show', 'project', project, '--json'],
    ]);
    expect(fs.readFileSync(path.join(tmp, 'github-env'), 'utf8')).toBe('PROJECT_ROOT=apps/evil\n');
  });

  it('gives the token only to the build step, and only when asked', async () => {
    await ciWorkflowGenerator(tree);
    expect(text()).not.toContain('secrets.');
    await ciWorkflowGenerator(tree, { remoteCache: true, force: true });
    const withToken = allSteps(workflow()).filter((step) => JSON.stringify(step).includes('secrets.'));
    expect(withToken.map((step) => step.name)).toEqual(['Build and test the binary']);
  });

  it('--publish: on a tag, one publish job per project and platform; secrets only through env: of the publish step', async () => {
    await ciWorkflowGenerator(tree, { publish: true, platforms: ['linux-x64', 'windows-x64'] });
    const wf = workflow();
    expect(wf.on.push.tags).toEqual(['v*', '*@*']);
    expect(wf.jobs.affected.if).toBe("github.ref_type != 'tag'");
    expect(wf.jobs.publish.strategy.matrix.platform).toEqual(['linux-x64', 'windows-x64']);
    const withSecrets = allSteps(wf).filter((step) => JSON.stringify(step).includes('secrets.'));
    expect(withSecrets.map((step) => step.name)).toEqual(['Build, test and publish the binary']);
    expect(withSecrets[0].env.STIGMER_SIGNING_KEY).toBe('${{ secrets.STIGMER_SIGNING_KEY }}');
    // The tag reaches the shell as GITHUB_REF_NAME: nx release's <project>@<version> publishes that project, checked against that version.
    const bin = path.join(tmp, 'bin');
    fs.mkdirpSync(bin);
    const calls = path.join(tmp, 'calls.jsonl');
    fs.writeFileSync(path.join(bin, 'npx'), `#!${process.execPath}\nrequire('fs').appendFileSync(${JSON.stringify(calls)}, JSON.stringify(process.argv.slice(2)) + '\\n');\n`, { mode: 0o755 });
    const pwned = path.join(tmp, 'pwned');
    const tag = `svc$(touch ${pwned})@1.2.0`;
    const bash = (script: string, env: Record<string, string>) =>
      spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}`, HOME: tmp, GITHUB_OUTPUT: path.join(tmp, 'out'), GITHUB_REF_NAME: tag, ...env } });
    expect(bash(wf.jobs.publishable.steps.at(-1).run, {}).status).toBe(0);
    expect(fs.readFileSync(path.join(tmp, 'out'), 'utf8')).toBe(`projects=${JSON.stringify([`svc$(touch ${pwned})`])}\n`);
    expect(bash(withSecrets[0].run, { PROJECT: `svc$(touch ${pwned})` }).status).toBe(0);
    expect(fs.existsSync(pwned)).toBe(false);
    expect(fs.readFileSync(calls, 'utf8').trim().split('\n').map((line) => JSON.parse(line))).toEqual([['nx', 'run', `svc$(touch ${pwned}):publish-binary`, '--version=1.2.0']]);
  });

  it('refuses a GitHub expression where a plain value belongs', async () => {
    await expect(ciWorkflowGenerator(tree, { mainBranch: '${{ github.event.issue.title }}' })).rejects.toThrow('--mainBranch must be a plain value');
  });

  it('trims the platforms and follows nx.json defaultBase', async () => {
    updateNxJson(tree, { ...readNxJson(tree), defaultBase: 'trunk' });
    await ciWorkflowGenerator(tree, { platforms: ['linux-x64', 'macos-arm64'] });
    const wf = workflow();
    expect(wf.on.push.branches).toEqual(['trunk']);
    expect(wf.jobs.binaries.strategy.matrix.platform).toEqual(['linux-x64', 'macos-arm64']);
    expect(wf.jobs.binaries.strategy.matrix.include.map((entry: any) => entry.platform)).toEqual(['linux-x64', 'macos-arm64']);
  });

  it('is idempotent and never overwrites an edited workflow without force', async () => {
    await ciWorkflowGenerator(tree);
    const first = tree.read(file, 'utf-8');
    await ciWorkflowGenerator(tree);
    expect(tree.read(file, 'utf-8')).toBe(first);
    tree.write(file, `${first}# my edit\n`);
    await ciWorkflowGenerator(tree, { platforms: ['linux-x64'] });
    expect(tree.read(file, 'utf-8')).toContain('# my edit');
    await ciWorkflowGenerator(tree, { platforms: ['linux-x64'], force: true });
    expect(tree.read(file, 'utf-8')).not.toContain('# my edit');
  });
});
