import { hostPlatform, parseSeaSpec, seaBinaryName } from './sea-spec';
import { nodeRuntime } from './index';

describe('parseSeaSpec', () => {
  it('reads a spec and refuses bad ones with the fix', () => {
    expect(parseSeaSpec('{"name":"greeter","entry":"src/main.ts"}', 'greeter.sea.json')).toEqual({ name: 'greeter', entry: 'src/main.ts' });
    expect(() => parseSeaSpec('{nope', 'x.sea.json')).toThrow(/x\.sea\.json is not valid JSON .*: fix it and run again/);
    expect(() => parseSeaSpec('{"name":"a b","entry":"m.ts"}', 'x.sea.json')).toThrow(/needs a "name"/);
    expect(() => parseSeaSpec('{"name":"a"}', 'x.sea.json')).toThrow(/needs an "entry"/);
    expect(() => parseSeaSpec('{"name":"a","entry":"m.ts","platforms":["solaris-sparc"]}', 'x.sea.json')).toThrow(/unknown platform 'solaris-sparc': use host or one of linux-x64/);
    expect(() => parseSeaSpec('{"name":"a","entry":"m.ts","nodeVersion":"20"}', 'x.sea.json')).toThrow(/give an exact version such as 20\.20\.2/);
  });
});

describe('node runtime spec files', () => {
  it('names the host binary plainly and the others by platform, host first', () => {
    expect(seaBinaryName({ name: 'g' }, hostPlatform())).toBe(process.platform === 'win32' ? 'g.exe' : 'g');
    expect(seaBinaryName({ name: 'g' }, 'win-x64')).toBe(hostPlatform() === 'win-x64' ? 'g.exe' : 'g-win-x64.exe');
    const info = nodeRuntime.readSpec('apps/g/g.sea.json', JSON.stringify({ name: 'g', entry: 'src/main.ts', platforms: ['win-x64', 'host'] }));
    expect(info?.binaryFiles[0]).toBe(seaBinaryName({ name: 'g' }, hostPlatform()));
    expect(info?.binaryFiles).toContain(seaBinaryName({ name: 'g' }, 'win-x64'));
  });

  it('ignores files that are not its specs', () => {
    expect(nodeRuntime.readSpec('apps/g/package.json', '{}')).toBeUndefined();
    expect(nodeRuntime.readSpec('apps/g/g.sea.json', '{broken')).toBeUndefined();
  });

  it('keys builds on the Node version, platform and esbuild version, not on the whole lock file', () => {
    const inputs = nodeRuntime.inputs('apps/g', (p) => p === 'package-lock.json', {});
    expect(inputs.toolchainCommand).toMatch(/^node -e ".*process\.version, process\.platform, process\.arch, 'esbuild \d+\.\d+\.\d+'/);
    expect(inputs.extraFiles).toEqual([]);
  });
});
