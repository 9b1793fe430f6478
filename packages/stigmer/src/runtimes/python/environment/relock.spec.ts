import { poetryMajorVersion, relockAfterEdit, relockCommand } from './relock';

describe('relockCommand', () => {
  it('keeps locked versions: plain `poetry lock` on Poetry 2, --no-update on Poetry 1', () => {
    expect(relockCommand('poetry.lock', 2)).toEqual(['poetry', 'lock']);
    expect(relockCommand('poetry.lock', 1)).toEqual(['poetry', 'lock', '--no-update']);
    expect(relockCommand('poetry.lock')).toEqual(['poetry', 'lock']);
    expect(relockCommand('uv.lock')).toEqual(['uv', 'lock']);
  });

  it("reads Poetry's major version", () => {
    expect(poetryMajorVersion('Poetry (version 2.5.1)')).toBe(2);
    expect(poetryMajorVersion('Poetry (version 1.8.5)')).toBe(1);
    expect(poetryMajorVersion(undefined)).toBeUndefined();
  });
});

describe('relockAfterEdit', () => {
  const { createTreeWithEmptyWorkspace } = require('@nx/devkit/testing');
  const { logger } = require('@nx/devkit');
  const ref = (root: string) => ({ name: 'api', root, absRoot: `/nowhere/${root}`, workspaceRoot: '/nowhere' });

  /** What the re-lock callback warns when neither Poetry nor uv is on PATH. */
  async function warningsWithNoToolOnPath(relock: () => unknown): Promise<string[]> {
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await relock();
      return warn.mock.calls.map((call: unknown[]) => String(call[0]));
    } finally {
      process.env.PATH = path;
      warn.mockRestore();
    }
  }

  it('has nothing to do for a service without poetry.lock or uv.lock', () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('apps/api/pyproject.toml', '[project]\nname = "api"\n');
    expect(relockAfterEdit(tree, ref('apps/api'))).toBeUndefined();
  });

  it('prints the exact command when the tool is not on PATH', async () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('apps/api/uv.lock', 'version = 1\n');
    const said = await warningsWithNoToolOnPath(() => relockAfterEdit(tree, ref('apps/api'))?.());
    expect(said).toEqual([expect.stringMatching(/apps\/api\/uv\.lock is stale now: run "uv lock" in apps\/api \(uv is not on PATH\)/)]);
  });

  it("re-locks a uv workspace member's lock: the workspace root's uv.lock, with uv lock in the service folder", async () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('pyproject.toml', '[tool.uv.workspace]\nmembers = ["apps/*"]\n');
    tree.write('uv.lock', 'version = 1\n');
    tree.write('apps/api/pyproject.toml', '[project]\nname = "api"\n');
    const said = await warningsWithNoToolOnPath(() => relockAfterEdit(tree, ref('apps/api'))?.());
    expect(said).toEqual([expect.stringMatching(/stigmer: uv\.lock is stale now: run "uv lock" in apps\/api \(uv is not on PATH\)/)]);
  });
});
