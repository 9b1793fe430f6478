import { logger, Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { workspaceSourceFiles } from '../runtimes';
import { addMissingIgnoreEntries, isIgnored, sourcesHiddenBy } from './gitignore';

// What the generators pass: every runtime's source patterns and dependency folders.
const sources = workspaceSourceFiles();

const ENTRIES = [
  { entry: 'dist/', sample: 'dist/agent-runner' },
  { entry: 'build/', sample: 'build/agent-runner' },
  { entry: '/agent-runner', sample: 'agent-runner' },
];
const OUTPUT_ENTRIES = ENTRIES.slice(0, 2);

describe('isIgnored', () => {
  let tree: Tree;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
  });

  it('is false without any .gitignore', () => {
    expect(isIgnored(tree, 'apps/x/dist/x')).toBe(false);
  });

  it('applies the root .gitignore to nested paths', () => {
    tree.write('.gitignore', 'node_modules\ndist/\n/build\n');
    expect(isIgnored(tree, 'apps/x/dist/x')).toBe(true);
    expect(isIgnored(tree, 'dist/x')).toBe(true);
    // anchored to the root: apps/x/build is not ignored
    expect(isIgnored(tree, 'build/x')).toBe(true);
    expect(isIgnored(tree, 'apps/x/build/x')).toBe(false);
    expect(isIgnored(tree, 'apps/x/main.py')).toBe(false);
  });

  it("applies a folder's .gitignore relative to that folder", () => {
    tree.write('apps/x/.gitignore', '/build\n*.log\n');
    expect(isIgnored(tree, 'apps/x/build/x')).toBe(true);
    expect(isIgnored(tree, 'apps/x/sub/y.log')).toBe(true);
    expect(isIgnored(tree, 'apps/y/build/x')).toBe(false);
    expect(isIgnored(tree, 'build/x')).toBe(false);
  });

  it('honours negations inside one file', () => {
    tree.write('.gitignore', '*.spec\n!keep.spec\n');
    expect(isIgnored(tree, 'apps/x/other.spec')).toBe(true);
    expect(isIgnored(tree, 'apps/x/keep.spec')).toBe(false);
  });

  // Regression (found in review): git lets a deeper .gitignore re-include what a higher one ignores (`git check-ignore` confirms that
  // apps/x/dist/bin is NOT ignored with "dist/" at the root and "!dist/" in apps/x/.gitignore), but isIgnored
  // returns true as soon as any higher .gitignore matches, so the deeper negation is never seen.
  it("lets a deeper .gitignore's negation win over a higher one", () => {
    tree.write('.gitignore', 'dist/\n');
    tree.write('apps/x/.gitignore', '!dist/\n');
    expect(isIgnored(tree, 'apps/x/dist/bin')).toBe(false);
  });
});

describe('addMissingIgnoreEntries', () => {
  let tree: Tree;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
  });

  it('adds no entry that the root .gitignore already covers', () => {
    tree.write('.gitignore', 'node_modules\ndist/\n');
    const added = addMissingIgnoreEntries(tree, 'apps/agent-runner', ENTRIES, { sources });
    expect(added).toEqual(['build/', '/agent-runner']);
    const written = tree.read('apps/agent-runner/.gitignore', 'utf-8') as string;
    expect(written).toBe('# stigmer: binaries and build work files\nbuild/\n/agent-runner\n');
    expect(written.split('\n')).not.toContain('dist/');
    expect(tree.read('.gitignore', 'utf-8')).toBe('node_modules\ndist/\n');
  });

  it('writes nothing when everything is ignored already', () => {
    tree.write('.gitignore', 'dist/\nbuild/\napps/agent-runner/agent-runner\n');
    expect(addMissingIgnoreEntries(tree, 'apps/agent-runner', ENTRIES, { sources })).toEqual([]);
    expect(tree.exists('apps/agent-runner/.gitignore')).toBe(false);
  });

  it('makes the entries effective', () => {
    addMissingIgnoreEntries(tree, 'apps/agent-runner', ENTRIES, { sources });
    expect(isIgnored(tree, 'apps/agent-runner/dist/agent-runner')).toBe(true);
    expect(isIgnored(tree, 'apps/agent-runner/build/agent-runner/x')).toBe(true);
    expect(isIgnored(tree, 'apps/agent-runner/agent-runner')).toBe(true);
    expect(isIgnored(tree, 'apps/agent-runner/pkg/agent-runner')).toBe(false);
  });

  it("appends to the folder's existing .gitignore, keeping its content", () => {
    tree.write('apps/agent-runner/.gitignore', '# mine\n__pycache__/\n.env\n');
    addMissingIgnoreEntries(tree, 'apps/agent-runner', ENTRIES, { sources });
    expect(tree.read('apps/agent-runner/.gitignore', 'utf-8')).toBe(
      '# mine\n__pycache__/\n.env\n# stigmer: binaries and build work files\ndist/\nbuild/\n/agent-runner\n',
    );
  });

  it('adds a line break to a file without a final newline instead of joining lines', () => {
    tree.write('apps/agent-runner/.gitignore', '.env\n*.log');
    addMissingIgnoreEntries(tree, 'apps/agent-runner', ENTRIES, { sources });
    const text = tree.read('apps/agent-runner/.gitignore', 'utf-8') as string;
    expect(text.startsWith('.env\n*.log\n# stigmer')).toBe(true);
    expect(text.endsWith('/agent-runner\n')).toBe(true);
    expect(isIgnored(tree, 'apps/agent-runner/x.log')).toBe(true);
  });

  it('keeps CRLF line endings, without a final newline too', () => {
    tree.write('apps/agent-runner/.gitignore', '.env\r\n*.log');
    addMissingIgnoreEntries(tree, 'apps/agent-runner', ENTRIES, { sources });
    const text = tree.read('apps/agent-runner/.gitignore', 'utf-8') as string;
    expect(text).toBe('.env\r\n*.log\r\n# stigmer: binaries and build work files\r\ndist/\r\nbuild/\r\n/agent-runner\r\n');
    expect(/(^|[^\r])\n/.test(text)).toBe(false);
  });

  it('adds nothing the second time', () => {
    tree.write('apps/agent-runner/.gitignore', '.env\r\n');
    expect(addMissingIgnoreEntries(tree, 'apps/agent-runner', ENTRIES, { sources })).toHaveLength(3);
    const first = tree.read('apps/agent-runner/.gitignore', 'utf-8');
    expect(addMissingIgnoreEntries(tree, 'apps/agent-runner', ENTRIES, { sources })).toEqual([]);
    expect(tree.read('apps/agent-runner/.gitignore', 'utf-8')).toBe(first);
  });

  it('writes no second stigmer header when entries are added later', () => {
    addMissingIgnoreEntries(tree, 'apps/agent-runner', ENTRIES.slice(0, 1), { sources });
    addMissingIgnoreEntries(tree, 'apps/agent-runner', ENTRIES, { sources });
    const text = tree.read('apps/agent-runner/.gitignore', 'utf-8') as string;
    expect(text.match(/# stigmer/g)).toHaveLength(1);
    expect(text).toBe('# stigmer: binaries and build work files\ndist/\nbuild/\n/agent-runner\n');
  });

  it('writes the workspace root .gitignore for folder ""', () => {
    tree.write('.gitignore', 'node_modules');
    expect(addMissingIgnoreEntries(tree, '', [{ entry: '.stigmer/', sample: '.stigmer/venvs' }], { sources })).toEqual(['.stigmer/']);
    expect(tree.read('.gitignore', 'utf-8')).toBe('node_modules\n# stigmer: binaries and build work files\n.stigmer/\n');
  });
});

describe('ignore entries never hide a source', () => {
  let tree: Tree;
  let warn: jest.SpyInstance;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
    warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('skips an entry that would hide a package folder of the same name, and warns once with the file', () => {
    // binary api, package api/: "/api" would hide api/app.py from git and from Nx's file map
    tree.write('services/api/api/app.py', 'app = None\n');
    tree.write('services/api/api/__init__.py', '');
    const added = addMissingIgnoreEntries(tree, 'services/api', [...OUTPUT_ENTRIES.map((e) => ({ ...e, sample: e.sample.replace('agent-runner', 'api') })), { entry: '/api', sample: 'api' }], { sources });
    expect(added).toEqual(['dist/', 'build/']);
    expect(tree.read('services/api/.gitignore', 'utf-8')).toBe('# stigmer: binaries and build work files\ndist/\nbuild/\n');
    expect(isIgnored(tree, 'services/api/api/app.py')).toBe(false);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/not adding '\/api' to services\/api\/\.gitignore: it would hide services\/api\/api\/__init__\.py, services\/api\/api\/app\.py/);
  });

  it('does not ignore build/ when the service has a package named build', () => {
    tree.write('services/tool/build/__init__.py', '');
    expect(addMissingIgnoreEntries(tree, 'services/tool', OUTPUT_ENTRIES, { sources })).toEqual(['dist/']);
    expect(isIgnored(tree, 'services/tool/build/__init__.py')).toBe(false);
    expect(warn.mock.calls[0][0]).toContain("not adding 'build/'");
  });

  it('does not ignore a folder holding a file git tracks, whatever its kind', () => {
    tree.write('services/tool/dist/README.txt', 'kept on purpose\n');
    const tracked = new Set(['services/tool/dist/README.txt', 'services/tool/main.py']);
    expect(addMissingIgnoreEntries(tree, 'services/tool', OUTPUT_ENTRIES, { sources, tracked })).toEqual(['build/']);
    // untracked, it is an old output: ignoring it is right
    expect(addMissingIgnoreEntries(tree, 'services/other', OUTPUT_ENTRIES, { sources, tracked })).toEqual(['dist/', 'build/']);
  });

  it('ignores old build outputs that are no sources (a previous hand-made PyInstaller build)', () => {
    tree.write('services/tool/build/tool/base_library.zip', 'zip');
    tree.write('services/tool/build/tool/warn-tool.txt', 'warnings');
    tree.write('services/tool/dist/tool', 'ELF');
    expect(addMissingIgnoreEntries(tree, 'services/tool', OUTPUT_ENTRIES, { sources })).toEqual(['dist/', 'build/']);
    expect(warn).not.toHaveBeenCalled();
  });

  it('counts sources that a .gitignore already ignores as no sources', () => {
    tree.write('.gitignore', 'generated/\n');
    tree.write('services/tool/generated/build/x.py', '');
    expect(sourcesHiddenBy(tree, 'services/tool', 'build/', new Set(), sources)).toEqual([]);
    tree.write('services/tool/pkg/build/y.py', '');
    expect(sourcesHiddenBy(tree, 'services/tool', 'build/', new Set(), sources)).toEqual(['services/tool/pkg/build/y.py']);
  });

  it("counts the sources the runtimes declare, and none inside a dependency folder they name", () => {
    tree.write('services/tool/cmd/build/main.go', 'package main\n');
    tree.write('services/tool/node_modules/dep/build/index.js', '');
    expect(sourcesHiddenBy(tree, 'services/tool', 'build/', new Set(), sources)).toEqual(['services/tool/cmd/build/main.go']);
    // The data decides: without the runtimes' patterns a .go file is no source, without their folders node_modules is searched.
    expect(sourcesHiddenBy(tree, 'services/tool', 'build/', new Set(), { patterns: [], dependencyFolders: [] })).toEqual([]);
    expect(sourcesHiddenBy(tree, 'services/tool', 'build/', new Set(), { ...sources, dependencyFolders: [] })).toEqual([
      'services/tool/cmd/build/main.go',
      'services/tool/node_modules/dep/build/index.js',
    ]);
  });

  it('keeps bytes and CRLF of an existing .gitignore when it skips an entry', () => {
    tree.write('services/tool/.gitignore', '.env\r\n*.log');
    tree.write('services/tool/build/__init__.py', '');
    expect(addMissingIgnoreEntries(tree, 'services/tool', OUTPUT_ENTRIES, { sources })).toEqual(['dist/']);
    expect(tree.read('services/tool/.gitignore', 'utf-8')).toBe('.env\r\n*.log\r\n# stigmer: binaries and build work files\r\ndist/\r\n');
  });
});
