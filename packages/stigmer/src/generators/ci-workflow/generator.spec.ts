import { readNxJson, Tree, updateNxJson } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { parse } from 'yaml';
import { ciWorkflowGenerator, RUNNERS } from './generator';

describe('ciWorkflowGenerator', () => {
  let tree: Tree;
  const file = '.github/workflows/stigmer-binaries.yml';

  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
  });

  function workflow(): any {
    return parse(tree.read(file, 'utf-8') ?? '');
  }

  it('writes valid YAML: affected projects with the nx-set-shas base, then a matrix of projects × platforms', async () => {
    await ciWorkflowGenerator(tree);
    const wf = workflow();
    expect(wf.permissions).toEqual({ actions: 'read', contents: 'read' });
    const affected = wf.jobs.affected;
    expect(affected.steps[0]).toEqual({ uses: 'actions/checkout@v4', with: { 'fetch-depth': 0 } });
    expect(affected.steps.find((s: any) => s.uses === 'nrwl/nx-set-shas@v4')).toBeDefined();
    expect(affected.steps.find((s: any) => s.id === 'affected').run).toContain('nx show projects --affected -t build-binary --base=$NX_BASE --head=$NX_HEAD --json');
    const binaries = wf.jobs.binaries;
    expect(binaries.needs).toBe('affected');
    expect(binaries.strategy.matrix.project).toBe('${{ fromJSON(needs.affected.outputs.projects) }}');
    expect(binaries.strategy.matrix.platform).toEqual(['linux-x64', 'linux-arm64', 'macos-arm64', 'windows-x64']);
    expect(binaries.strategy.matrix.include).toContainEqual({ platform: 'linux-arm64', runner: RUNNERS['linux-arm64'] });
    expect(binaries['runs-on']).toBe('${{ matrix.runner }}');
    expect(binaries.steps.map((s: any) => s.run ?? s.uses)).toEqual(
      expect.arrayContaining(['npx nx run ${{ matrix.project }}:test-binary', 'actions/upload-artifact@v4', 'actions/setup-python@v5']),
    );
    const upload = binaries.steps.find((s: any) => s.uses === 'actions/upload-artifact@v4');
    expect(upload.with.path).toBe('${{ env.PROJECT_ROOT }}/dist/*');
    expect(upload.with['if-no-files-found']).toBe('error');
  });

  it('trims the platforms, follows nx.json defaultBase and passes the remote cache settings when asked', async () => {
    updateNxJson(tree, { ...readNxJson(tree), defaultBase: 'trunk' });
    await ciWorkflowGenerator(tree, { platforms: ['linux-x64', 'macos-arm64'], remoteCache: true });
    const wf = workflow();
    expect(wf.on.push.branches).toEqual(['trunk']);
    expect(wf.jobs.binaries.strategy.matrix.platform).toEqual(['linux-x64', 'macos-arm64']);
    expect(wf.jobs.binaries.strategy.matrix.include).toHaveLength(2);
    const build = wf.jobs.binaries.steps.find((s: any) => s.name === 'Build and test the binary');
    expect(build.env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN).toBe('${{ secrets.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN }}');
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
