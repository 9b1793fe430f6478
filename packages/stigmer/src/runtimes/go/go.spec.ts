import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CreateDependenciesContext } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { diskFiles, treeFiles } from '../../utils/workspace-files';
import { explainGoFailure, goBuildArgs } from './build';
import { findMainPackage } from './generate';
import { goImports, importsC, parseGoMod, parseGoSum, parseGoWorkUses } from './go-files';
import { checkPlatforms, goBinaryName, hostGoPlatform, manifestTarget, parseGoSpec } from './go-spec';
import { goDependencies } from './graph-edges';
import { goRuntime } from './index';
import { compareWithGoSum, parseBuildInfoModules, readExecutableHeader } from './verify';

describe('Go files', () => {
  it('reads go.mod: module, toolchain, requires in both forms, local replaces only', () => {
    const mod = parseGoMod(`module example.com/api // the service

go 1.22
toolchain go1.26.8

require github.com/google/uuid v1.6.0
require (
\texample.com/greet v0.0.0-00010101000000-000000000000
\tgithub.com/pkg/errors v0.9.1 // indirect
)

replace example.com/greet => ../../libs/greet
replace (
\tgithub.com/pkg/errors v0.9.1 => github.com/pkg/errors v0.9.0
\texample.com/quoted => "../quoted lib"
)
`);
    expect(mod.module).toBe('example.com/api');
    expect(mod.toolchain).toBe('go1.26.8');
    expect([...mod.require.keys()]).toEqual(['github.com/google/uuid', 'example.com/greet', 'github.com/pkg/errors']);
    expect(Object.fromEntries(mod.localReplace)).toEqual({ 'example.com/greet': '../../libs/greet', 'example.com/quoted': '../quoted lib' });
  });

  it('reads go.work uses, go.sum zip hashes, imports (grouped, aliased, blank) and import "C"', () => {
    expect(parseGoWorkUses('go 1.22\nuse ./apps/api\nuse (\n\t./libs/greet\n\t../outside // note\n)\n')).toEqual(['./apps/api', './libs/greet', '../outside']);
    const sums = parseGoSum('a.io/x v1.0.0 h1:AAA=\na.io/x v1.0.0/go.mod h1:BBB=\n');
    expect(Object.fromEntries(sums)).toEqual({ 'a.io/x v1.0.0': 'h1:AAA=' });
    const source = 'package main\n\nimport "fmt"\nimport (\n\tg "example.com/greet/sub"\n\t_ "embed"\n\t/* "not.this/one" */\n)\n';
    expect(goImports(source)).toEqual(['fmt', 'example.com/greet/sub', 'embed']);
    expect(importsC('package x\n// #include <stdlib.h>\nimport "C"\n')).toBe(true);
    expect(importsC('package x\nimport "fmt" // "C"\n')).toBe(false);
  });
});

describe('Go spec', () => {
  it('puts the host first, names files the Node runtime\'s way and refuses an unknown platform or cgo for other platforms', () => {
    const host = hostGoPlatform();
    const spec = parseGoSpec(JSON.stringify({ name: 'api', main: '.', platforms: ['windows-amd64', 'host'] }), 'api.go-binary.json');
    expect(checkPlatforms(spec, 'api.go-binary.json')).toEqual([host, ...(host === 'windows-amd64' ? [] : ['windows-amd64'])]);
    expect(goBinaryName('api', host)).toBe(`api${host.startsWith('windows') ? '.exe' : ''}`);
    expect(goBinaryName('api', 'plan9-x')).toBe('api-plan9-x');
    expect(manifestTarget('windows-amd64')).toEqual({ os: 'win32', arch: 'x64' });
    expect(manifestTarget('darwin-arm64')).toEqual({ os: 'darwin', arch: 'arm64' });
    expect(() => checkPlatforms({ ...spec, platforms: ['plan9-mips'] }, 'api.go-binary.json')).toThrow(/api\.go-binary\.json names an unknown platform 'plan9-mips': use host or one of linux-amd64/);
    expect(() => checkPlatforms({ ...spec, cgo: true }, 'api.go-binary.json')).toThrow(/"cgo": true.*set "platforms": \["host"\]/);
    expect(() => parseGoSpec('{"name":"api"}', 'api.go-binary.json')).toThrow(/needs a "main"/);
    // The plugin never throws on a typo: the build says it in one line.
    expect(goRuntime.readSpec('apps/api/api.go-binary.json', JSON.stringify({ name: 'api', main: '.', platforms: ['plan9-mips'] }))?.binaryFiles).toEqual([goBinaryName('api', host)]);
  });

  it('builds with the reproducible flags and the link-time variables', () => {
    const args = goBuildArgs({ name: 'api', main: './cmd/api', variables: { 'main.version': '{version}', 'example.com/api/internal/build.Channel': 'stable' } }, '1.4.0', '/out/api');
    expect(args).toEqual(['build', '-trimpath', '-buildvcs=false', '-ldflags=-s -w -buildid= -X main.version=1.4.0 -X example.com/api/internal/build.Channel=stable', '-o', '/out/api', './cmd/api']);
  });

  it('turns go\'s failures into one line with the fix', () => {
    expect(explainGoFailure('cmd/api/main.go:9:2: missing go.sum entry for module providing package github.com/pkg/errors (imported by example.com/api/cmd/api); to add:\n\tgo get example.com/api/cmd/api', 'api.go-binary.json')).toMatch(/^go\.sum has no entry for github\.com\/pkg\/errors.*run go mod tidy/);
    expect(explainGoFailure('main.go:5:2: no required module provides package github.com/x/y; to add it:\n\tgo get github.com/x/y', 's')).toMatch(/no module in go\.mod provides github\.com\/x\/y.*go mod tidy/);
    expect(explainGoFailure('go: go.mod requires go >= 1.99.0 (running go 1.26.8; GOTOOLCHAIN=local)', 's')).toMatch(/asks for Go 1\.99\.0 .*GOTOOLCHAIN=auto/);
  });
});

describe('Go main package detection', () => {
  it('takes the module root, cmd/<name>/, or the only command; several need --entry', () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('apps/a/main.go', 'package main\nfunc main() {}\n');
    tree.write('apps/b/cmd/b/main.go', 'package main\nfunc main() {}\n');
    tree.write('apps/b/cmd/tool/main.go', 'package main\nfunc main() {}\n');
    tree.write('apps/b/cmd/lib/lib.go', 'package lib\n');
    tree.write('apps/c/cmd/server/main.go', 'package main\nfunc main() {}\n');
    tree.write('apps/c/cmd/server/main_test.go', 'package main\n');
    const files = treeFiles(tree);
    expect(findMainPackage(files, 'apps/a', 'a')).toBe('.');
    expect(findMainPackage(files, 'apps/b', 'b')).toBe('./cmd/b');
    expect(findMainPackage(files, 'apps/c', 'c')).toBe('./cmd/server');
    expect(() => findMainPackage(files, 'apps/b', 'other')).toThrow(/several main packages \(cmd\/b, cmd\/tool\): pass --entry/);
    tree.write('apps/d/x_test.go', 'package main\n');
    expect(() => findMainPackage(files, 'apps/d', 'd')).toThrow(/no main package in apps\/d/);
  });
});

describe('Go graph edges (files only)', () => {
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-go-edges-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
  const write = (file: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  };

  it('follows replace => ../path, workspace requires and imports through go.work, never test files', () => {
    const projects: Record<string, string> = { api: 'apps/api', worker: 'apps/worker', greet: 'libs/greet', shared: 'libs/shared', testkit: 'libs/testkit' };
    write('go.work', 'go 1.22\nuse (\n\t./apps/worker\n\t./libs/shared\n\t./libs/testkit\n)\n');
    write('libs/greet/go.mod', 'module example.com/greet\n');
    write('libs/shared/go.mod', 'module example.com/shared\n');
    write('libs/testkit/go.mod', 'module example.com/testkit\n');
    write('apps/api/go.mod', 'module example.com/api\nrequire example.com/greet v0.0.0\nreplace example.com/greet => ../../libs/greet\n');
    write('apps/worker/go.mod', 'module example.com/worker\n');
    write('apps/worker/main.go', 'package main\nimport (\n\t"fmt"\n\t"example.com/shared/log"\n)\n');
    write('apps/worker/main_test.go', 'package main\nimport "example.com/testkit"\n');
    const changed: Record<string, string[]> = { api: ['apps/api/go.mod'], worker: ['apps/worker/go.mod', 'apps/worker/main.go', 'apps/worker/main_test.go'] };
    const byRoot = new Map(Object.entries(projects).map(([name, r]) => [r, name]));
    const edges = goDependencies({
      nx: {} as CreateDependenciesContext,
      files: diskFiles(root),
      changedFiles: changed,
      projectRoots: [...byRoot.keys()],
      owningProject: (p) => [...byRoot.entries()].find(([r]) => p === r || p.startsWith(`${r}/`))?.[1],
      warnOnce: () => undefined,
    });
    expect(edges.map((e) => `${e.source}->${e.target} (${'sourceFile' in e ? e.sourceFile : ''})`).sort()).toEqual([
      'api->greet (apps/api/go.mod)',
      'worker->shared (apps/worker/main.go)',
    ]);
  });
});

describe('test-binary checks of a Go binary', () => {
  it('compares go version -m with go.sum: versions and hashes, local modules skipped', () => {
    const output = [
      '/tmp/api: go1.26.8',
      '\tpath\texample.com/api/cmd/api',
      '\tmod\texample.com/api\t(devel)\t',
      '\tdep\texample.com/greet\tv0.0.0-00010101000000-000000000000',
      '\t=>\t../../libs/greet\t(devel)\t',
      '\tdep\tgithub.com/google/uuid\tv1.6.0\th1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=',
      '\tdep\tgithub.com/pkg/errors\tv0.9.1\th1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=',
      '\tbuild\tCGO_ENABLED=0',
    ].join('\n');
    const modules = parseBuildInfoModules(output);
    expect(modules).toHaveLength(3);
    const sums = parseGoSum('github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\ngithub.com/pkg/errors v0.9.1 h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=\n');
    expect(compareWithGoSum(modules, sums)).toEqual([]);
    sums.delete('github.com/pkg/errors v0.9.1');
    sums.set('github.com/google/uuid v1.6.0', 'h1:other=');
    expect(compareWithGoSum(modules, sums)).toEqual([
      'github.com/google/uuid v1.6.0 has hash h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=, go.sum pins h1:other=',
      'github.com/pkg/errors v0.9.1 is not in go.sum',
    ]);
  });

  it('reads the format and architecture of ELF, Mach-O and PE headers', () => {
    const elf = Buffer.alloc(64);
    elf.writeUInt32BE(0x7f454c46, 0);
    elf[5] = 1;
    elf.writeUInt16LE(0xb7, 18);
    expect(readExecutableHeader(elf)).toEqual({ format: 'ELF', arch: 'arm64' });
    const macho = Buffer.alloc(64);
    macho.writeUInt32LE(0xfeedfacf, 0);
    macho.writeUInt32LE(0x01000007, 4);
    expect(readExecutableHeader(macho)).toEqual({ format: 'Mach-O', arch: 'x64' });
    const pe = Buffer.alloc(256);
    pe.write('MZ', 0, 'latin1');
    pe.writeUInt32LE(0x80, 0x3c);
    pe.write('PE\0\0', 0x80, 'latin1');
    pe.writeUInt16LE(0x8664, 0x84);
    expect(readExecutableHeader(pe)).toEqual({ format: 'PE', arch: 'x64' });
    expect(readExecutableHeader(Buffer.from('#!/bin/sh\n'))).toBeUndefined();
  });
});

describe('Go modules as projects', () => {
  it('makes a project of every go.mod folder with no project.json, skipping vendor/testdata/hidden folders and renaming clashes', () => {
    const tree = createTreeWithEmptyWorkspace();
    for (const file of ['libs/greet/go.mod', 'tools/greet/go.mod', 'apps/api/go.mod', 'apps/api/vendor/x/go.mod', 'apps/api/testdata/m/go.mod', '.cache/m/go.mod', 'libs/web/go.mod']) tree.write(file, 'module example.com/m\n');
    tree.write('apps/api/project.json', '{"name":"api"}');
    const files = treeFiles(tree);
    const detection = goRuntime.projectDetection!;
    const goMods = detection.treeProjectFiles(files);
    expect(goMods.sort()).toEqual(['apps/api/go.mod', 'libs/greet/go.mod', 'libs/web/go.mod', 'tools/greet/go.mod']);
    expect(detection.projects(goMods, files, () => new Set(['web'])).sort((a, b) => a.root.localeCompare(b.root))).toEqual([
      { name: 'libs/greet', root: 'libs/greet' },
      { name: 'libs/web', root: 'libs/web' },
      { name: 'tools/greet', root: 'tools/greet' },
    ]);
  });
});
