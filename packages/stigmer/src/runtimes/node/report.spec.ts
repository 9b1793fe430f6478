import type { Metafile } from 'esbuild';
import { bundleItems, npmPackageOf } from './report';

describe('node size report', () => {
  it('names the npm package of a bundled input, scoped and nested ones too', () => {
    expect(npmPackageOf('node_modules/fastify/lib/route.js')).toBe('fastify');
    expect(npmPackageOf('node_modules/@fastify/cors/index.js')).toBe('@fastify/cors');
    expect(npmPackageOf('node_modules/a/node_modules/b/x.js')).toBe('b');
    expect(npmPackageOf('apps/gateway/src/main.ts')).toBeUndefined();
  });

  it("takes esbuild's bytes per input, by package, and names the bundle's own wrappers", () => {
    const metafile = {
      inputs: {},
      outputs: {
        'dist/x.cjs': {
          entryPoint: 'apps/gw/src/main.ts',
          bytes: 1000,
          imports: [],
          exports: [],
          inputs: {
            'apps/gw/src/main.ts': { bytesInOutput: 100 },
            'libs/shared/src/index.ts': { bytesInOutput: 50 },
            'node_modules/@fastify/cors/index.js': { bytesInOutput: 300 },
            'node_modules/ms/index.js': { bytesInOutput: 0 },
          },
        },
      },
    } as unknown as Metafile;
    const items = bundleItems(metafile, '/nowhere', 500);
    expect(items.map((i) => [i.package, i.size, i.packageKind])).toEqual([
      ['apps/gw (workspace)', 100, 'service'],
      ['libs/shared (workspace)', 50, 'service'],
      ['@fastify/cors', 300, 'npm'],
      ['esbuild module wrappers', 50, 'service'],
    ]);
  });
});
