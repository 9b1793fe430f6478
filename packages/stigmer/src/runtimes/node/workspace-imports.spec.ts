import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { aliasTargets, importSpecifiers, resolutionFiles, TsconfigResolver } from './workspace-imports';
import { transportNames, workerBootstrap } from './worker-files';
import { diagnoseNodeRun } from './diagnose';
import { nodeModulesAbove } from './index';

describe('importSpecifiers', () => {
  it('finds static imports, re-exports, dynamic imports and requires, not comments, strings or builtins', () => {
    const source = `import ms from 'ms';\nimport { greet } from "../../libs/greeting/src/index";\nexport * from './local';\nimport './side-effect';\nconst x = require('@org/lib/sub');\nconst y = await import('./lazy');\n// import gone from 'commented';\n/* require('also-gone') */\nimport fs from 'node:fs';\nimport path from 'path';\nconst s = "import 'in-a-string'";\nconst r = /require('in-a-regex')/;\nobj.require('not-a-require');\n`;
    expect(importSpecifiers(source, 'main.js').sort()).toEqual(['../../libs/greeting/src/index', './lazy', './local', './side-effect', '@org/lib/sub', 'ms'].sort());
  });

  it('reads TypeScript: type imports, import = require, generics and casts', () => {
    const source = `import type { A } from '@acme/types';\nimport x = require('legacy');\nfunction f<T>(a: T): T { return a as any; }\nenum E { A = 1 }\nconst t = \`\${await import('dyn')}\`;\n`;
    expect(importSpecifiers(source, 'main.ts').sort()).toEqual(['@acme/types', 'dyn', 'legacy']);
  });
});

describe('tsconfig resolution', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-ts-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
  const write = (file: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  };

  it('takes paths from the extends chain, relative to baseUrl, exact before the longest * prefix', () => {
    write('tsconfig.base.json', '{ "compilerOptions": { "baseUrl": ".", "paths": { "@acme/shared": ["libs/shared/src/index.ts"], "@acme/*": ["libs/*/src"], "@acme/util/*": ["libs/util/src/*"] } } }');
    write('apps/gw/tsconfig.json', '{ "extends": "../../tsconfig.base.json" }');
    const resolution = new TsconfigResolver(root).forFile('apps/gw/src/main.ts');
    expect(resolution?.files).toEqual(['apps/gw/tsconfig.json', 'tsconfig.base.json']);
    expect(aliasTargets('@acme/shared', resolution)).toEqual(['libs/shared/src/index.ts']);
    expect(aliasTargets('@acme/util/x', resolution)).toEqual(['libs/util/src/x']);
    expect(aliasTargets('@acme/other', resolution)).toEqual(['libs/other/src']);
    expect(aliasTargets('fastify', resolution)).toEqual(['fastify']);
    expect(resolutionFiles(root, 'apps/gw')).toEqual(['tsconfig.base.json']);
  });

  it('resolves paths from the declaring file when there is no baseUrl, and a child overrides its parent', () => {
    write('tsconfig.json', '{ "compilerOptions": { "paths": { "@a": ["./libs/a"] } } }');
    write('apps/x/tsconfig.json', '{ "extends": "../../tsconfig.json", "compilerOptions": { "paths": { "@b": ["../../libs/b"] } } }');
    expect(aliasTargets('@a', new TsconfigResolver(root).forFile('src/main.ts'))).toEqual(['libs/a']);
    const child = new TsconfigResolver(root).forFile('apps/x/main.ts');
    expect(aliasTargets('@b', child)).toEqual(['libs/b']);
    expect(aliasTargets('@a', child)).toEqual([]);
  });
});

describe('pino worker files', () => {
  it('finds transport targets named in string literals, not imports or comments', () => {
    const source = `import pino from 'pino';\n// target: 'pino-commented'\nconst l = pino({ transport: { targets: [{ target: 'pino-pretty' }, { target: 'pino/file', options: { destination: 1 } }, { target: '@acme/pino-loki' }] } });\nimport 'pino-std-serializers';\n`;
    expect(transportNames(source, 'main.ts').sort()).toEqual(['@acme/pino-loki', 'pino-pretty', 'pino/file']);
  });

  it('writes the overrides pino and thread-stream read, only inside a single executable', () => {
    const code = workerBootstrap('gw', { 'thread-stream-worker': 'stigmer/workers/thread-stream-worker.cjs' });
    expect(code).toContain('globalThis.__bundlerPathsOverrides');
    expect(code).toContain('sea.isSea()');
    // As a plain script (not a SEA) it leaves everything as it is.
    delete (globalThis as { __bundlerPathsOverrides?: unknown }).__bundlerPathsOverrides;
    new Function('require', code)(require);
    expect((globalThis as { __bundlerPathsOverrides?: unknown }).__bundlerPathsOverrides).toBeUndefined();
  });
});

describe('diagnoseNodeRun', () => {
  it('names the package and the right fix', () => {
    expect(diagnoseNodeRun("Error: Cannot find module 'left-pad/lib'\nRequire stack:", 'gw.sea.json')).toMatch(/could not load the package 'left-pad' at run time: .*marked "external" in gw\.sea\.json.*remove it from "external"/);
    expect(diagnoseNodeRun("Error: Cannot find module '/tmp/x/node_modules/thread-stream/lib/worker.js'", 'gw.sea.json')).toMatch(/^thread-stream starts a worker thread from .*lib\/worker\.js, a file the single executable does not have/);
    expect(diagnoseNodeRun('Error: unable to determine transport target for "pino-pretty"', 'gw.sea.json')).toMatch(/pino could not find its transport target 'pino-pretty' at run time: .*install it/);
    expect(diagnoseNodeRun('all good', 'gw.sea.json')).toBeUndefined();
  });
});

describe('nodeModulesAbove', () => {
  it('finds a node_modules folder Node would resolve from', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-nm-'));
    fs.mkdirSync(path.join(root, 'node_modules'));
    fs.mkdirSync(path.join(root, 'a', 'b'), { recursive: true });
    expect(nodeModulesAbove(path.join(root, 'a', 'b'))).toBe(path.join(root, 'node_modules'));
    fs.rmSync(root, { recursive: true, force: true });
  });
});

describe('fileWorkerCall', () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { fileWorkerCall } = require('./worker-files');
  it('finds workers started from a file beside the code, not from code or a computed path', () => {
    expect(fileWorkerCall("const w = new Worker(path.join(__dirname, 'lib', 'worker.js'));", 'a.js')).toMatch(/^new Worker\(path\.join\(__dirname/);
    expect(fileWorkerCall("new worker_threads.Worker(new URL('./w.mjs', import.meta.url), { workerData: 1 });", 'a.mjs')).toMatch(/^new worker_threads\.Worker/);
    expect(fileWorkerCall("new Worker('./task.js')", 'a.ts')).toBeDefined();
    expect(fileWorkerCall("new Worker(code, { eval: true, argv: [__dirname] })", 'a.ts')).toBeUndefined();
    expect(fileWorkerCall("new Worker(fileFromTemp)", 'a.ts')).toBeUndefined();
    expect(fileWorkerCall("// new Worker(__dirname + '/w.js')\nconst s = 'new Worker(__dirname)';", 'a.ts')).toBeUndefined();
  });
});

describe('workerFiles', () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { workerFiles } = require('./worker-files');
  let root: string;
  const write = (file: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  };
  const metafile = (...inputs: string[]) => ({ inputs: Object.fromEntries(inputs.map((i) => [i, { bytes: 1, imports: [] }])), outputs: {} });

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-workers-'));
    write('node_modules/pino/pino.js', '');
    write('node_modules/pino/lib/worker.js', '');
    write('node_modules/pino/file.js', '');
    write('node_modules/thread-stream/index.js', "new Worker(join(__dirname, 'lib', 'worker.js'))");
    write('node_modules/thread-stream/lib/worker.js', '');
    write('node_modules/pino-pretty/package.json', '{"name":"pino-pretty","main":"index.js"}');
    write('node_modules/pino-pretty/index.js', '');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('lists the workers of pino and thread-stream and the transports the sources name', () => {
    write('apps/gw/src/main.ts', "import pino from 'pino';\npino({ transport: { target: 'pino-pretty' } });\n");
    const files = workerFiles(metafile('apps/gw/src/main.ts', 'node_modules/pino/pino.js', 'node_modules/thread-stream/index.js'), root, 'gw.sea.json');
    expect(Object.fromEntries(files.map((f: { key: string; entry: string }) => [f.key, path.relative(root, f.entry)]))).toEqual({
      'thread-stream-worker': 'node_modules/thread-stream/lib/worker.js',
      'pino-worker': 'node_modules/pino/lib/worker.js',
      'pino/file': 'node_modules/pino/file.js',
      'pino-pretty': 'node_modules/pino-pretty/index.js',
    });
    expect(workerFiles(metafile('apps/gw/src/main.ts'), root, 'gw.sea.json')).toEqual([]);
  });

  it('refuses a transport that is not installed and a package that starts a worker from a file', () => {
    write('apps/gw/src/main.ts', "import pino from 'pino';\npino({ transport: { target: 'pino-elsewhere' } });\n");
    expect(() => workerFiles(metafile('apps/gw/src/main.ts', 'node_modules/pino/pino.js'), root, 'gw.sea.json')).toThrow(
      "apps/gw/src/main.ts names the pino transport 'pino-elsewhere', which is not installed, so the binary could not start it: npm install pino-elsewhere (or fix the target's name in the source).",
    );
    write('node_modules/pool/index.js', "const { Worker } = require('worker_threads');\nmodule.exports = () => new Worker(__dirname + '/task.js');\n");
    expect(() => workerFiles(metafile('node_modules/pool/index.js'), root, 'gw.sea.json')).toThrow(/^the package pool starts a worker thread from a file \(new Worker\(__dirname \+ '\/task\.js'\)/);
    expect(workerFiles(metafile('node_modules/pool/index.js'), root, 'gw.sea.json', ['pool'])).toEqual([]);
  });
});
