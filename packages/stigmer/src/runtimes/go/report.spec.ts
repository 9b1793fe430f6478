import { GO_RUNTIME_PACKAGE, GO_UNNAMED_DATA_PACKAGE, goReportItems, moduleOf, parseGoNm, parseGoVersionM } from './report';

// `go version -m` of a -trimpath build whose dependency example.com/greet is replaced by a local folder.
const versionM = [
  'dist/api: go1.26.8',
  '\tpath\texample.com/api/cmd/api',
  '\tmod\texample.com/api\t(devel)\t',
  '\tdep\texample.com/greet\tv0.0.0-00010101000000-000000000000',
  '\t=>\t../../libs/greet\t(devel)\t',
  '\tdep\tgithub.com/google/uuid\tv1.6.0\th1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=',
  '\tdep\tgopkg.in/yaml.v3\tv3.0.1\th1:x',
  '\tbuild\tCGO_ENABLED=0',
  '\tbuild\tGOARCH=amd64',
  '\tbuild\tGOOS=linux',
].join('\n');

describe('Go size report', () => {
  const info = parseGoVersionM(versionM);

  it('reads the modules and the build settings of `go version -m`', () => {
    expect(info.goVersion).toBe('1.26.8');
    expect(info.modules).toEqual([
      { path: 'example.com/api', version: undefined, local: true },
      { path: 'example.com/greet', version: 'v0.0.0-00010101000000-000000000000', local: true },
      { path: 'github.com/google/uuid', version: 'v1.6.0', local: false },
      { path: 'gopkg.in/yaml.v3', version: 'v3.0.1', local: false },
    ]);
    expect(info.settings).toMatchObject({ GOOS: 'linux', GOARCH: 'amd64', CGO_ENABLED: '0' });
  });

  it('maps a symbol to its module by the longest module path, main.* to the main module, the rest to the standard library', () => {
    const of = (name: string) => moduleOf(name, info.modules)?.path;
    expect(of('github.com/google/uuid.(*UUID).String')).toBe('github.com/google/uuid');
    expect(of('gopkg.in/yaml.v3.(*parser).parse')).toBe('gopkg.in/yaml.v3');
    expect(of('type:.eq.github.com/google/uuid.UUID')).toBe('github.com/google/uuid');
    expect(of('go:itab.*github.com/google/uuid.x,error')).toBe('github.com/google/uuid');
    expect(of('main.main')).toBe('example.com/api');
    expect(of('example.com/greet.Greeting')).toBe('example.com/greet');
    expect(of('fmt.(*pp).doPrintf')).toBeUndefined();
    expect(of('sync/atomic.(*Pointer[github.com/google/uuid.UUID]).Load')).toBeUndefined();
  });

  it('counts file bytes only, pads functions, shares the function tables by code and names unnamed data', () => {
    // text 0x1000-0x1100, rodata 0x2000-0x2100, pclntab 0x3000-0x3100 (go:func.* inside), data 0x4000-0x4040, bss after.
    const nm = [
      '    1000         0 T runtime.text',
      '    1000        96 T runtime.main',
      '    1060        60 T github.com/google/uuid.Parse',
      '    10a0        32 T main.main',
      '    10c0        40 T fmt.Println',
      '    1100         0 T runtime.etext',
      '    2000         0 R runtime.rodata',
      '    2000        64 R github.com/google/uuid.table',
      '    2100         0 R runtime.erodata',
      '    3000         0 R runtime.pclntab',
      '    3080       100 R go:func.*',
      '    3100         0 R runtime.epclntab',
      '    4000         0 D runtime.noptrdata',
      '    4000         0 D runtime.enoptrdata',
      '    4000         0 D runtime.data',
      '    4000        16 D runtime.sched',
      '    4040         0 D runtime.edata',
      '    5000         0 B runtime.bss',
      '    5000   1048576 D crypto/internal/fips140/drbg.memory',
      '  2000000         0 B runtime.end',
      '                  U malloc',
    ].join('\n');
    const items = goReportItems(parseGoNm(nm), info);
    const byPackage = (name: string) => items.filter((i) => i.package === name).reduce((sum, i) => sum + i.size, 0);
    // uuid: its function padded to the next (0x40) and its table; no bss symbol counted.
    expect(items.find((i) => i.path === 'github.com/google/uuid.Parse')?.size).toBe(0x40);
    expect(items.some((i) => i.path.includes('drbg'))).toBe(false);
    expect(items.some((i) => i.path === 'go:func.*')).toBe(false);
    const code = { runtime: 0x60 + 0x40, uuid: 0x40, main: 0x20 };
    const total = code.runtime + code.uuid + code.main;
    expect(byPackage('github.com/google/uuid')).toBe(0x40 + 64 + Math.round((0x100 * code.uuid) / total));
    expect(byPackage('example.com/api (service)')).toBe(0x20 + 0x100 - Math.round((0x100 * code.runtime) / total) - Math.round((0x100 * code.uuid) / total));
    expect(byPackage(GO_RUNTIME_PACKAGE)).toBe(code.runtime + 16 + Math.round((0x100 * code.runtime) / total));
    expect(byPackage(GO_UNNAMED_DATA_PACKAGE)).toBe(0x100 - 64 + 0x40 - 16);
    // Every byte of the sections, once: text, rodata, pclntab, data.
    expect(items.reduce((sum, i) => sum + i.size, 0)).toBe(0x100 + 0x100 + 0x100 + 0x40);
    expect(items.find((i) => i.package === 'github.com/google/uuid')).toMatchObject({ packageKind: 'go-module', version: 'v1.6.0' });
  });

  it('says so when the symbol table lacks the linker markers', () => {
    expect(() => goReportItems(parseGoNm('    1000   10 T main.main'), info)).toThrow(/no runtime\.bss: not a binary of Go's own linker/);
  });
});
