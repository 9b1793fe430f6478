import { addProjectConfiguration, logger, Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { binarySpecGenerator } from './generator';

// `uv init --app api` / `poetry new`: a folder with only a pyproject.toml. The devkit's getProjects(tree) does
// not see it, the inference plugin does; the generator must find it the way the plugin names it.
describe('binarySpecGenerator on a pyproject-only project', () => {
  let tree: Tree;
  beforeAll(() => {
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });
  afterAll(() => jest.restoreAllMocks());

  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
    tree.write(
      'services/api/pyproject.toml',
      '[project]\nname = "api"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["uvicorn>=0.30"]\n\n[tool.uv]\npackage = false\n',
    );
    tree.write('services/api/main.py', 'import uvicorn\nuvicorn.run("api.app:app")\n');
    tree.write('services/api/api/__init__.py', '');
    tree.write('services/api/api/app.py', 'app = None\n');
  });

  it('finds it by its declared name and writes its spec and .gitignore in its folder', async () => {
    await binarySpecGenerator(tree, { project: 'api', skipFormat: true });
    expect(tree.read('services/api/api.spec', 'utf-8')).toContain('name="api",');
    // the package api/ shares the binary's name: it stays visible to git and Nx
    expect(tree.read('services/api/.gitignore', 'utf-8')).toBe('# stigmer: binaries and build work files\ndist/\nbuild/\n');
  });

  it('finds it by a differently spelt name or by its folder name', async () => {
    tree.write('libs/My_Tools/pyproject.toml', '[tool.poetry]\nname = "my-tools"\nversion = "1.0.0"\n');
    tree.write('libs/My_Tools/main.py', 'print(1)\n');
    await binarySpecGenerator(tree, { project: 'My_Tools', skipFormat: true });
    expect(tree.exists('libs/My_Tools/my-tools.spec')).toBe(true);
    tree.write('apps/folder-name/pyproject.toml', '[project]\nversion = "1.0.0"\n');
    tree.write('apps/folder-name/main.py', 'print(1)\n');
    await binarySpecGenerator(tree, { project: 'folder-name', skipFormat: true });
    expect(tree.exists('apps/folder-name/folder-name.spec')).toBe(true);
  });

  it('prefers a project.json project of that name', async () => {
    addProjectConfiguration(tree, 'api', { root: 'apps/api-json', targets: {} });
    tree.write('apps/api-json/main.py', 'print(1)\n');
    await binarySpecGenerator(tree, { project: 'api', skipFormat: true });
    expect(tree.exists('apps/api-json/api.spec')).toBe(true);
    expect(tree.exists('services/api/api.spec')).toBe(false);
  });

  it('ignores pyproject.toml files in virtual environments, node_modules and tool-only files', async () => {
    tree.write('services/api/.venv/lib/python3.12/site-packages/tool/pyproject.toml', '[project]\nname = "tool"\n');
    tree.write('venvs/v/pyvenv.cfg', 'home = /usr/bin\n');
    tree.write('venvs/v/src/tool2/pyproject.toml', '[project]\nname = "tool2"\n');
    tree.write('node_modules/pkg/pyproject.toml', '[project]\nname = "tool3"\n');
    tree.write('config/pyproject.toml', '[tool.ruff]\nline-length = 100\n');
    for (const name of ['tool', 'tool2', 'tool3', 'config']) {
      await expect(binarySpecGenerator(tree, { project: name, skipFormat: true })).rejects.toThrow(`project '${name}' does not exist`);
    }
  });

  it('fails in one line naming close candidates when nothing matches', async () => {
    addProjectConfiguration(tree, 'apis-gateway', { root: 'apps/gw', targets: {} });
    const error = await binarySpecGenerator(tree, { project: 'apii', skipFormat: true }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toBe(
      `project 'apii' does not exist: no project.json, package.json or pyproject.toml declares it (did you mean 'api'?): check the name with "nx show projects".`,
    );
  });

  it('says that Nx sees package.json projects only through npm workspaces, with the fix, when a package.json declares the name', async () => {
    // `npm init` workspace without "workspaces": Nx does not list services/greeter, though its package.json names it.
    tree.write('services/greeter/package.json', JSON.stringify({ name: '@acme/greeter', version: '1.0.0', main: 'src/main.js' }));
    tree.write('services/greeter/src/main.js', 'console.log("hi");\n');
    tree.write('node_modules/greeter/package.json', JSON.stringify({ name: 'greeter' }));
    const error = await binarySpecGenerator(tree, { project: 'greeter', skipFormat: true }).catch((e: Error) => e);
    const message = (error as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toContain(`services/greeter/package.json declares 'greeter', but Nx sees package.json projects only through the workspaces of the root package.json`);
    expect(message).toContain(`add "workspaces": ["services/*"] to package.json`);
    expect(message).not.toContain('no project.json, package.json or pyproject.toml declares it');
  });

  it('says which folders are meant when a name is declared twice', async () => {
    tree.write('other/api/pyproject.toml', '[project]\nname = "api"\n');
    const error = await binarySpecGenerator(tree, { project: 'api', skipFormat: true }).catch((e: Error) => e);
    expect((error as Error).message).toContain('other/api');
  });

  it('finds a folder whose declared name a project.json project has by its path, as the plugin names it', async () => {
    addProjectConfiguration(tree, 'api', { root: 'apps/api-json', targets: {} });
    tree.write('apps/api-json/main.py', 'print(1)\n');
    await binarySpecGenerator(tree, { project: 'services/api', skipFormat: true });
    expect(tree.read('services/api/services-api.spec', 'utf-8')).toContain('name="services-api",');
  });
});
