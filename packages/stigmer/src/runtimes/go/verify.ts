import * as path from 'node:path';
import * as fs from 'fs-extra';
import { run } from '../../utils/process';
import type { CheckResult } from '../types';
import { parseGoSum } from './go-files';
import { goEnv } from './build';

export interface BuiltModule {
  path: string;
  version: string;
  sum?: string;
  /** Where a replace directive took it from (a folder for local modules). */
  replacedBy?: { path: string; version?: string; sum?: string };
}

/** The `dep` lines of `go version -m` output, with their `=>` replacement lines. */
export function parseBuildInfoModules(output: string): BuiltModule[] {
  const modules: BuiltModule[] = [];
  for (const line of output.split(/\r?\n/)) {
    const [kind, modulePath, version, sum] = line.trim().split('\t');
    if (kind === 'dep' && modulePath) modules.push({ path: modulePath, version, sum });
    else if (kind === '=>' && modules.length) modules[modules.length - 1].replacedBy = { path: modulePath, version, sum };
  }
  return modules;
}

/**
 * Every third-party module inside the binary must be the one go.sum pins: same version, same hash. Local
 * modules (replaced by a folder) carry no sum and are skipped. `sums` is the union of the go.sum files in play.
 */
export function compareWithGoSum(modules: BuiltModule[], sums: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const module of modules) {
    if (isLocalModule(module)) continue;
    const used = module.replacedBy ?? module;
    const pinned = sums.get(`${used.path} ${used.version}`);
    if (!pinned) problems.push(`${used.path} ${used.version} is not in go.sum`);
    else if (used.sum && used.sum !== pinned) problems.push(`${used.path} ${used.version} has hash ${used.sum}, go.sum pins ${pinned}`);
  }
  return problems;
}

/** A workspace module: replaced by a folder, or taken from go.work, so built from sources with no version or sum. */
export function isLocalModule(module: BuiltModule): boolean {
  const used = module.replacedBy ?? module;
  return !used.version || used.version === '(devel)';
}

/** The check of `go version -m` against go.sum files (the module's, go.work.sum and the workspace modules'). */
export async function moduleListCheck(binaryPath: string, goSumFiles: string[], specFile: string): Promise<CheckResult> {
  const result = await run('go', ['version', '-m', binaryPath], { env: goEnv() });
  if (result.exitCode !== 0) return { name: 'go modules', ok: false, detail: `go version -m cannot read ${path.basename(binaryPath)} (${result.stderr.trim().split('\n')[0]}): rebuild it with build-binary.` };
  const modules = parseBuildInfoModules(result.stdout);
  const sums = new Map<string, string>();
  for (const file of goSumFiles) for (const [key, hash] of parseGoSum(await fs.readFile(file, 'utf8').catch(() => ''))) sums.set(key, hash);
  const problems = compareWithGoSum(modules, sums);
  if (problems.length) return { name: 'go modules', ok: false, detail: `${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}: the binary is not what go.sum pins; rebuild it (nx run <project>:build-binary --skip-nx-cache) from the committed go.mod and go.sum of ${specFile}.` };
  const third = modules.filter((m) => !isLocalModule(m));
  return { name: 'go modules', ok: true, detail: `${third.length} module${third.length === 1 ? '' : 's'} inside match go.sum${modules.length > third.length ? `, ${modules.length - third.length} local` : ''}` };
}

const ELF_MACHINES: Record<number, string> = { 0x3e: 'x64', 0xb7: 'arm64', 0x03: 'ia32', 0x28: 'arm', 0xf3: 'riscv64', 0x15: 'ppc64', 0x16: 's390x' };
const MACHO_CPUS: Record<number, string> = { 0x01000007: 'x64', 0x0100000c: 'arm64' };
const PE_MACHINES: Record<number, string> = { 0x8664: 'x64', 0xaa64: 'arm64', 0x14c: 'ia32' };

/** The executable format and architecture a file's header says (manifest names: linux/darwin/win32, x64/arm64...). */
export function readExecutableHeader(head: Buffer): { format: 'ELF' | 'Mach-O' | 'PE'; arch?: string } | undefined {
  if (head.length >= 20 && head.readUInt32BE(0) === 0x7f454c46) {
    const littleEndian = head[5] === 1;
    const machine = littleEndian ? head.readUInt16LE(18) : head.readUInt16BE(18);
    return { format: 'ELF', arch: ELF_MACHINES[machine] };
  }
  if (head.length >= 8 && head.readUInt32LE(0) === 0xfeedfacf) return { format: 'Mach-O', arch: MACHO_CPUS[head.readUInt32LE(4)] };
  if (head.length >= 0x40 && head.toString('latin1', 0, 2) === 'MZ') {
    const pe = head.readUInt32LE(0x3c);
    if (head.length >= pe + 6 && head.toString('latin1', pe, pe + 4) === 'PE\0\0') return { format: 'PE', arch: PE_MACHINES[head.readUInt16LE(pe + 4)] };
  }
  return undefined;
}

const FORMAT_OF_OS: Record<string, string> = { linux: 'ELF', freebsd: 'ELF', darwin: 'Mach-O', win32: 'PE' };

/** Each built file's header against the platform its manifest names. */
export async function headerCheck(binaryPath: string): Promise<CheckResult> {
  const file = path.basename(binaryPath);
  const manifest = await fs.readJson(`${binaryPath}.manifest.json`).catch(() => undefined);
  if (!manifest) return { name: `header ${file}`, ok: false, detail: `${file}.manifest.json is missing: rebuild with build-binary.` };
  const handle = await fs.open(binaryPath, 'r');
  const head = Buffer.alloc(4096);
  try {
    await fs.read(handle, head, 0, head.length, 0);
  } finally {
    await fs.close(handle);
  }
  const found = readExecutableHeader(head);
  const expected = { format: FORMAT_OF_OS[manifest.os], arch: manifest.arch };
  const ok = !!found && found.format === expected.format && found.arch === expected.arch;
  return {
    name: `header ${file}`,
    ok,
    detail: ok
      ? `${found!.format} ${found!.arch}, as its manifest says (${manifest.os}-${manifest.arch})`
      : `${file} is ${found ? `${found.format} ${found.arch ?? 'of an unknown architecture'}` : 'no executable'}, but its manifest says ${manifest.os}-${manifest.arch}: rebuild with build-binary.`,
  };
}
