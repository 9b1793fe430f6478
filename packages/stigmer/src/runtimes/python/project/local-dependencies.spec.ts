import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { treeFiles } from '../../../utils/workspace-files';
import { findUvWorkspace } from './local-dependencies';

function workspaceWith(files: Record<string, string>) {
  const tree = createTreeWithEmptyWorkspace();
  for (const [file, content] of Object.entries(files)) tree.write(file, content);
  return treeFiles(tree);
}

const project = (name: string) => `[project]\nname = "${name}"\nversion = "0.1.0"\n`;

describe('findUvWorkspace', () => {
  it('finds the nearest workspace root above a folder and its members by declared, normalised name', () => {
    const files = workspaceWith({
      'pyproject.toml': '[tool.uv.workspace]\nmembers = ["apps/*", "libs/*"]\nexclude = ["libs/old-*"]\n',
      'apps/svc/pyproject.toml': project('svc'),
      'libs/graphton/pyproject.toml': project('Graph_Ton'),
      'libs/old-graphton/pyproject.toml': project('old'),
      'libs/notes/README.md': 'no pyproject here',
      'other/lib/pyproject.toml': project('outside'),
    });
    const found = findUvWorkspace(files, 'apps/svc');
    expect(found?.root).toBe('');
    expect(Object.fromEntries(found?.members ?? [])).toEqual({ svc: 'apps/svc', 'graph-ton': 'libs/graphton' });
  });

  it('takes the nearest root (a nested uv workspace), counts a root that declares a project, and matches ** and [..]', () => {
    const files = workspaceWith({
      'pyproject.toml': '[tool.uv.workspace]\nmembers = ["*"]\n',
      'py/pyproject.toml': `${project('py-root')}\n[tool.uv.workspace]\nmembers = ["services/svc-[ab]", "libs/**/core"]\n`,
      'py/services/svc-a/pyproject.toml': project('svc-a'),
      'py/services/svc-c/pyproject.toml': project('svc-c'),
      'py/libs/deep/er/core/pyproject.toml': project('deep.core'),
    });
    const found = findUvWorkspace(files, 'py/services/svc-a');
    expect(found?.root).toBe('py');
    expect(Object.fromEntries(found?.members ?? [])).toEqual({ 'py-root': 'py', 'svc-a': 'py/services/svc-a', 'deep-core': 'py/libs/deep/er/core' });
  });

  it('is undefined without a [tool.uv.workspace] at or above the folder', () => {
    const files = workspaceWith({ 'pyproject.toml': '[tool.uv]\npackage = false\n', 'apps/svc/pyproject.toml': project('svc') });
    expect(findUvWorkspace(files, 'apps/svc')).toBeUndefined();
  });
});
