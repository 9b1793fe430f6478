import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { StigmerError } from '../../utils/errors';
import { lastLines, run } from '../../utils/process';
import type { ReportRequest } from '../types';
import type { ReportItem, RuntimeReport } from '../../report/types';
import { goEnv } from './build';
import { GoBinarySpec, linkVariables, parseGoSpec } from './go-spec';

export const GO_RUNTIME_PACKAGE = 'Go runtime and standard library';
/** Bytes of the data sections that no symbol names: type descriptors, string contents, static tables. */
export const GO_UNNAMED_DATA_PACKAGE = 'Go data without symbols (type descriptors, strings)';

/** A module inside the binary, as `go version -m` lists it. */
export interface GoModule {
  path: string;
  version?: string;
  /** The main module, or a dependency replaced by a local folder: the service's own code. */
  local: boolean;
}

/** What `go version -m` reads from a binary's build info (present in a stripped binary too). */
export interface GoBuildInfo {
  goVersion: string;
  modules: GoModule[];
  settings: Record<string, string>;
}

export function parseGoVersionM(output: string): GoBuildInfo {
  const info: GoBuildInfo = { goVersion: output.match(/^\S.*?:\s+go(\S+)/m)?.[1] ?? '', modules: [], settings: {} };
  for (const line of output.split('\n')) {
    const [, kind, ...rest] = line.split('\t');
    if (kind === 'mod') info.modules.push({ path: rest[0], version: rest[1] === '(devel)' ? undefined : rest[1], local: true });
    else if (kind === 'dep') info.modules.push({ path: rest[0], version: rest[1], local: false });
    else if (kind === '=>' && info.modules.length) {
      const last = info.modules[info.modules.length - 1];
      // A replacement by a folder has no version: local code (a workspace library); by a module, that module's version.
      if (rest[1] === '(devel)' || rest[1] === undefined || rest[1] === '') last.local = true;
      else last.version = rest[1];
    } else if (kind === 'build') {
      const at = rest[0].indexOf('=');
      if (at > 0) info.settings[rest[0].slice(0, at)] = rest[0].slice(at + 1);
    }
  }
  return info;
}

export interface GoSymbol {
  address: number;
  size: number;
  code: string;
  name: string;
}

/** `go tool nm -size` lines: "  4b2aa0       1012 T github.com/google/uuid.Parse"; undefined symbols (no address) skipped. */
export function parseGoNm(output: string): GoSymbol[] {
  const symbols: GoSymbol[] = [];
  for (const line of output.split('\n')) {
    const m = line.match(/^\s*([0-9a-f]+)\s+(\d+)\s+(\S)\s+(.+)$/);
    if (m && m[3] !== 'U') symbols.push({ address: parseInt(m[1], 16), size: Number(m[2]), code: m[3], name: m[4] });
  }
  return symbols;
}

/** Which module a symbol is code or data of: the longest module path it starts with; else the standard library. */
export function moduleOf(name: string, modules: GoModule[]): GoModule | undefined {
  const bare = name.replace(/^(type:\.(eq|hash)\.|type:|go:itab\.)/, '').replace(/^[*[\]0-9]+/, '');
  // The main package's symbols are named main.*, not by its import path: the main module (go version -m's first).
  if (bare.startsWith('main.')) return modules[0];
  let best: GoModule | undefined;
  for (const module of modules) {
    if ((bare.startsWith(`${module.path}.`) || bare.startsWith(`${module.path}/`)) && (!best || module.path.length > best.path.length)) best = module;
  }
  return best;
}

/**
 * Report items of a Go binary from the symbol table of an unstripped copy linked from the same build: every
 * symbol in the file (not .bss/.noptrbss, which take no bytes in it) by module, a function with the alignment
 * padding after it; the function tables (pclntab: each function's name, line and stack tables) shared among the
 * packages in proportion to their code; the bytes of the data sections that carry no symbol as one package.
 */
export function goReportItems(symbols: GoSymbol[], info: GoBuildInfo): ReportItem[] {
  const marker = (name: string) => {
    const found = symbols.find((s) => s.name === name);
    if (!found) throw new StigmerError(`the binary's symbol table has no ${name}: not a binary of Go's own linker?`);
    return found.address;
  };
  const region = (start: string, end: string) => ({ start: marker(start), end: marker(end) });
  const bss = region('runtime.bss', 'runtime.end');
  const text = region('runtime.text', 'runtime.etext');
  const pclntab = region('runtime.pclntab', 'runtime.epclntab');
  const unnamed = { rodata: region('runtime.rodata', 'runtime.erodata'), noptrdata: region('runtime.noptrdata', 'runtime.enoptrdata'), data: region('runtime.data', 'runtime.edata') };
  const within = (address: number, r: { start: number; end: number }) => address >= r.start && address < r.end;
  const inFile = symbols.filter((s) => s.size > 0 && !within(s.address, bss)).sort((a, b) => a.address - b.address || b.size - a.size);
  const named = { rodata: 0, noptrdata: 0, data: 0 };
  const packages = new Map<string, { kind: ReportItem['packageKind']; version?: string; code: number }>();
  const items: ReportItem[] = [];
  let covered = 0; // end address of the last symbol counted: symbols that overlap it are counted once
  inFile.forEach((symbol, i) => {
    const start = Math.max(symbol.address, covered);
    let end = symbol.address + symbol.size;
    // A function owns the alignment padding up to the next one.
    if (within(symbol.address, text)) end = Math.max(end, Math.min(inFile[i + 1]?.address ?? text.end, text.end));
    if (end <= start) return;
    covered = end;
    // go:func.* (stack maps) and runtime.findfunctab lie inside the function tables: counted with them below.
    if (within(symbol.address, pclntab)) return;
    for (const key of Object.keys(named) as Array<keyof typeof named>) if (within(symbol.address, unnamed[key])) named[key] += end - start;
    const module = symbol.name.startsWith('go:') && !symbol.name.startsWith('go:itab.') ? undefined : moduleOf(symbol.name, info.modules);
    const pkg = module ? (module.local ? `${module.path} (service)` : module.path) : GO_RUNTIME_PACKAGE;
    const entry = packages.get(pkg) ?? { kind: module ? (module.local ? 'service' : 'go-module') : 'runtime', version: module ? module.version : info.goVersion, code: 0 };
    packages.set(pkg, entry);
    const isCode = symbol.code === 'T' || symbol.code === 't';
    if (isCode) entry.code += end - start;
    items.push({ path: symbol.name, size: end - start, kind: isCode ? 'code' : 'data', package: pkg, packageKind: entry.kind, version: entry.version ?? null });
  });
  // The function tables, shared by code size: a function's pc-value tables grow with its code.
  const tables = pclntab.end - pclntab.start;
  const code = [...packages.values()].reduce((sum, p) => sum + p.code, 0);
  if (tables > 0 && code > 0) {
    let left = tables;
    const withCode = [...packages.entries()].filter(([, p]) => p.code > 0).sort((a, b) => b[1].code - a[1].code);
    withCode.forEach(([pkg, p], i) => {
      const share = i === withCode.length - 1 ? left : Math.round((tables * p.code) / code);
      left -= share;
      items.push({ path: 'function tables (pclntab), its share by code size', size: share, kind: 'function tables', package: pkg, packageKind: p.kind, version: p.version ?? null });
    });
  }
  for (const key of Object.keys(named) as Array<keyof typeof named>) {
    const size = unnamed[key].end - unnamed[key].start - named[key];
    if (size > 0) items.push({ path: `.${key}: bytes no symbol names`, size, kind: 'data', package: GO_UNNAMED_DATA_PACKAGE, packageKind: 'runtime', version: info.goVersion });
  }
  return items;
}

/**
 * The flags of the build, with the symbol table kept: the same compile (from go's build cache) and the same
 * layout, so every symbol's size is its size in the stripped binary.
 */
export function symbolLinkArgs(spec: GoBinarySpec, version: string, output: string): string[] {
  const ldflags = ['-buildid=', ...linkVariables(spec, version)].join(' ');
  return ['build', '-trimpath', '-buildvcs=false', `-ldflags=${ldflags}`, '-o', output, spec.main];
}

/**
 * Go: by module, from the symbol table. The binary is stripped (-s -w), so the report links it a second time with
 * its symbols into a temporary folder (go's build cache has every package compiled: the link alone, under a
 * second) and reads them with `go tool nm`; `go version -m` on the binary itself names its modules.
 */
export async function goReport({ project, spec: specInfo, binary, build }: ReportRequest): Promise<RuntimeReport> {
  const spec = parseGoSpec(await fs.readFile(path.join(project.absRoot, specInfo.specFile), 'utf8'), specInfo.specFile);
  const go = async (args: string[], env?: Record<string, string>) => {
    const result = await run('go', args, { cwd: project.absRoot, env: goEnv(env) });
    if (result.exitCode !== 0) throw new StigmerError(`go ${args[0]} ${args[1] ?? ''} failed: ${lastLines(result.stderr || result.stdout, 1)}`);
    return result.stdout;
  };
  const info = parseGoVersionM(await go(['version', '-m', binary.path]));
  const temp = await fs.mkdtemp(path.join(os.tmpdir(), 'stigmer-go-symbols-'));
  try {
    const linked = path.join(temp, path.basename(binary.path));
    const { GOOS, GOARCH, CGO_ENABLED } = info.settings;
    await go(symbolLinkArgs(spec, build.version, linked), { GOOS, GOARCH, CGO_ENABLED: CGO_ENABLED ?? '0' });
    const symbols = parseGoNm(await go(['tool', 'nm', '-size', linked]));
    const { size } = await fs.stat(binary.path);
    return {
      items: goReportItems(symbols, info),
      measuredSize: size,
      basis: 'the executable',
      overheadDescription: 'executable headers, the build info and section alignment',
    };
  } finally {
    await fs.remove(temp);
  }
}
