import { bunCompileArgs, BUN_VERSION } from './bun';
import { supportsBuildSea } from './sea';
import { parseSeaSpec } from './sea-spec';
import { stripPlan } from './strip';
import { nodeRuntime } from './index';

const GNU_STRIP_HELP = 'Usage: strip <option(s)> in-file(s)\nstrip: supported targets: elf64-x86-64 elf32-i386 elf32-x86-64 pei-x86-64 elf64-little elf64-big\n';

describe('stripPlan', () => {
  it('strips Linux runtimes of an architecture the strip program rewrites', () => {
    expect(stripPlan('linux-x64', '/usr/bin/strip', GNU_STRIP_HELP)).toEqual({ strip: true, program: '/usr/bin/strip' });
  });

  it('skips with a reason: another ELF architecture, no strip, Windows and macOS runtimes', () => {
    expect(stripPlan('linux-arm64', '/usr/bin/strip', GNU_STRIP_HELP)).toEqual({ strip: false, reason: expect.stringMatching(/cannot rewrite elf64-littleaarch64/) });
    expect(stripPlan('linux-arm64', '/usr/bin/strip', GNU_STRIP_HELP.replace('elf64-little ', 'elf64-littleaarch64 elf64-little '))).toMatchObject({ strip: true });
    expect(stripPlan('linux-x64', undefined, undefined)).toEqual({ strip: false, reason: expect.stringMatching(/no strip on PATH/) });
    expect(stripPlan('win-x64', '/usr/bin/strip', GNU_STRIP_HELP)).toEqual({ strip: false, reason: expect.stringMatching(/\.pdb/) });
    expect(stripPlan('darwin-arm64', '/usr/bin/strip', GNU_STRIP_HELP)).toEqual({ strip: false, reason: expect.stringMatching(/Mach-O/) });
  });
});

describe('supportsBuildSea', () => {
  it('is true from Node 25.5 on', () => {
    expect(['20.20.2', '24.11.0', '25.4.9'].map(supportsBuildSea)).toEqual([false, false, false]);
    expect(['25.5.0', '25.10.1', '26.12.1'].map(supportsBuildSea)).toEqual([true, true, true]);
  });
});

describe('bun engine', () => {
  it('compiles minified bytecode for the target, offline from the target package when it is not the host', () => {
    const host = { bundle: 'b.cjs', output: 'out/g', platform: 'linux-x64' as const, hostBun: '/bun/linux/bun', targetBun: '/bun/linux/bun' };
    expect(bunCompileArgs(host)).toEqual(expect.arrayContaining(['build', 'b.cjs', '--compile', '--minify', '--bytecode', '--format=cjs', '--target=bun-linux-x64', '--outfile', 'out/g']));
    expect(bunCompileArgs(host).some((a) => a.startsWith('--compile-executable-path'))).toBe(false);
    const win = bunCompileArgs({ ...host, platform: 'win-x64', targetBun: '/bun/win/bun.exe', output: 'out/g.exe' });
    expect(win).toEqual(expect.arrayContaining(['--target=bun-windows-x64', '--compile-executable-path=/bun/win/bun.exe']));
    expect(bunCompileArgs({ ...host, platform: 'darwin-arm64' })).toContain('--target=bun-darwin-arm64');
  });

  it('is chosen in the spec, and refuses what it cannot honour', () => {
    expect(parseSeaSpec('{"name":"g","entry":"m.ts","engine":"bun"}', 'g.sea.json').engine).toBe('bun');
    expect(() => parseSeaSpec('{"name":"g","entry":"m.ts","engine":"deno"}', 'g.sea.json')).toThrow(/engine 'deno': use "node" \(the default\) or "bun"/);
    expect(() => parseSeaSpec('{"name":"g","entry":"m.ts","strip":"no"}', 'g.sea.json')).toThrow(/"strip": "no": use true or false/);
    expect(() => parseSeaSpec('{"name":"g","entry":"m.ts","engine":"bun","nodeVersion":"26.12.1"}', 'g.sea.json')).toThrow(/both "engine": "bun" and "nodeVersion"/);
  });

  it('keys every Node service on the pinned Bun version', () => {
    expect(BUN_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(nodeRuntime.inputs('apps/g', () => false, {}).toolchainCommand).toContain(`'bun ${BUN_VERSION}'`);
  });
});
