import { logger } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { treeFiles } from '../../utils/workspace-files';
import { binarySpecGenerator } from '../../generators/binary-spec/generator';
import { nodeRuntime } from './index';
import { proposeNodeSmokeRun } from './smoke';

describe('proposed smoke run of a Node service', () => {
  beforeAll(() => {
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });
  afterAll(() => jest.restoreAllMocks());

  function treeWith(files: Record<string, string>) {
    const tree = createTreeWithEmptyWorkspace();
    for (const [file, content] of Object.entries(files)) tree.write(file, content);
    return tree;
  }

  it('proposes --self-check, else --version with package.json version, else --help, from the entry or its own modules', () => {
    const selfCheck = treeWith({ 'apps/a/src/main.ts': "import { check } from './check';\nif (process.argv.includes('--version')) console.log('1');\n", 'apps/a/src/check.ts': 'export const flag = "--self-check";\n' });
    expect(proposeNodeSmokeRun(treeFiles(selfCheck), 'apps/a', 'src/main.ts', '1.0.0')).toEqual({ args: ['--self-check'] });
    const version = treeWith({ 'apps/a/src/main.ts': "if (process.argv[2] === '--version') console.log('a 1.2.0');\n" });
    expect(proposeNodeSmokeRun(treeFiles(version), 'apps/a', 'src/main.ts', '1.2.0')).toEqual({ args: ['--version'], expectedOutput: '1\\.2\\.0' });
    // A version the sources do not print as written (read from package.json at run time, or another one): any version.
    expect(proposeNodeSmokeRun(treeFiles(version), 'apps/a', 'src/main.ts', '1.0.0')).toEqual({ args: ['--version'], expectedOutput: '[0-9]+\\.[0-9]+' });
    const help = treeWith({ 'apps/a/main.js': "if (process.argv.includes(`--help`)) console.log('usage');\n" });
    expect(proposeNodeSmokeRun(treeFiles(help), 'apps/a', 'main.js')).toEqual({ args: ['--help'] });
    const commander = treeWith({ 'apps/a/src/main.ts': "import { program } from 'commander';\nprogram.parse();\n" });
    expect(proposeNodeSmokeRun(treeFiles(commander), 'apps/a', 'src/main.ts')).toEqual({ args: ['--help'], expectedOutput: '[Uu]sage' });
  });

  it('proposes nothing for a service that handles no such flag, and does not read tests or node_modules', () => {
    const tree = treeWith({
      'apps/a/src/main.ts': "console.log('serving');\n",
      'apps/a/src/main.spec.ts': "it('--version', () => undefined);\n",
      'apps/a/node_modules/x/index.js': "if (a === '--version') {}\n",
    });
    expect(proposeNodeSmokeRun(treeFiles(tree), 'apps/a', 'src/main.ts', '1.0.0')).toBeUndefined();
  });

  it('binary-spec writes the proposal into the .sea.json, and the inferred test-binary target uses it', async () => {
    const tree = treeWith({
      'apps/greeter/package.json': JSON.stringify({ name: 'greeter', version: '2.1.0' }),
      'apps/greeter/project.json': JSON.stringify({ name: 'greeter', root: 'apps/greeter' }),
      'apps/greeter/src/main.ts': "if (process.argv[2] === '--version') console.log('greeter 2.1.0');\n",
    });
    await binarySpecGenerator(tree, { project: 'greeter', runtime: 'node', skipFormat: true });
    const content = tree.read('apps/greeter/greeter.sea.json', 'utf-8') as string;
    expect(JSON.parse(content).smoke).toEqual({ args: ['--version'], expectedOutput: '2\\.1\\.0' });
    expect(nodeRuntime.readSpec('apps/greeter/greeter.sea.json', content)?.smoke).toEqual({ args: ['--version'], expectedOutput: '2\\.1\\.0' });
    expect(nodeRuntime.readSpec('apps/greeter/greeter.sea.json', JSON.stringify({ name: 'g', entry: 'm.ts', smoke: { args: 'no' } }))?.smoke).toBeUndefined();
  });
});
