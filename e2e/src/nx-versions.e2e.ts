import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { CommandResult, exec, REPO_ROOT, Workspace } from './helpers/workspace';

// The shared helper's class, to lay out a workspace with another Nx than Workspace.create installs.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { Workspace: WorkspaceClass } = require('../../scripts/test-workspace.js') as { Workspace: new (root: string) => Workspace };

// The rest of the e2e suite runs on the Nx of the repository's package.json (the newest claimed). This file proves
// the oldest Nx that packages/stigmer/package.json claims: a real workspace with that Nx and @nx/devkit, the packed
// plugin, and the example service built and tested through the inferred targets.
const OLDEST_NX = '21.6.4';

describe(`Nx ${OLDEST_NX}, the oldest Nx claimed (e2e)`, () => {
  let root: string;
  afterAll(() => root && fs.removeSync(root));

  function must(command: string, args: string[]): CommandResult {
    const result = exec(command, args, root);
    if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}:\n${result.output.slice(-3000)}`);
    return result;
  }
  const nx = (args: string[]) => must(process.execPath, [path.join(root, 'node_modules', 'nx', 'bin', 'nx.js'), ...args]);

  it('the peer range starts at this Nx', () => {
    const { peerDependencies } = fs.readJsonSync(path.join(REPO_ROOT, 'packages', 'stigmer', 'package.json'));
    expect(peerDependencies.nx).toMatch(new RegExp(`^>=${OLDEST_NX.split('.').slice(0, 2).join('\\.')} `));
    expect(peerDependencies['@nx/devkit']).toBe(peerDependencies.nx);
  });

  it('infers the targets, builds the example service and passes test-binary', () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), `stigmer-nx${OLDEST_NX}-`));
    fs.writeJsonSync(path.join(root, 'package.json'), { name: 'ws-oldest-nx', version: '0.0.0', private: true });
    fs.writeJsonSync(path.join(root, 'nx.json'), {});
    fs.writeFileSync(path.join(root, '.gitignore'), 'node_modules\n.nx/cache\n.nx/workspace-data\n');
    const tarball = fs.readdirSync(path.join(REPO_ROOT, 'dist')).find((f) => /^stigmer-.*\.tgz$/.test(f));
    if (!tarball) throw new Error('dist/stigmer-<version>.tgz is missing: run `npm run package` first.');
    must('npm', ['install', '--save-dev', '--no-audit', '--no-fund', '--prefer-offline', `nx@${OLDEST_NX}`, `@nx/devkit@${OLDEST_NX}`, path.join(REPO_ROOT, 'dist', tarball)]);
    expect(fs.readJsonSync(path.join(root, 'node_modules', 'nx', 'package.json')).version).toBe(OLDEST_NX);
    must('git', ['init', '-q']);
    new WorkspaceClass(root).addExamplePythonService();
    nx(['g', 'stigmer:init']);
    nx(['g', 'stigmer:binary-spec', '--project', 'agent-runner']);
    const project = JSON.parse(nx(['show', 'project', 'agent-runner', '--json']).stdout);
    expect(Object.keys(project.targets)).toEqual(expect.arrayContaining(['build-binary', 'test-binary', 'clean-binary']));
    nx(['run', 'agent-runner:build-binary']);
    expect(nx(['run', 'agent-runner:test-binary']).output).toMatch(/agent-runner passed \d+ checks/);
    expect(must(path.join(root, 'services', 'agent-runner', 'dist', 'agent-runner'), ['--version']).stdout.trim()).toBe('agent-runner 0.3.1');
  });
});
