import { findOnPath, runChecked, runSync } from '../../utils/process';
import type { NodePlatform } from './sea-spec';

/** What happens to the copied runtime's symbols before the blob goes in: stripped by a program, or kept, and why. */
export type StripPlan = { strip: true; program: string } | { strip: false; reason: string };

/** The BFD target binutils' strip must support to rewrite a Linux runtime of this architecture. */
const ELF_TARGETS: Partial<Record<NodePlatform, string>> = { 'linux-x64': 'elf64-x86-64', 'linux-arm64': 'elf64-littleaarch64' };

/**
 * Decides whether the copy of a target's Node runtime can be stripped. Only Linux runtimes carry their
 * symbol tables inside (about 12 MB of Node 20's 99 MB); the Windows node.exe keeps its symbols in a
 * separate .pdb and the macOS node has no debug info in the Mach-O, and GNU strip cannot rewrite Mach-O.
 * `stripHelp` is the output of `strip --help`, whose "supported targets" line says which ELF it rewrites.
 */
export function stripPlan(platform: NodePlatform, program: string | undefined, stripHelp: string | undefined): StripPlan {
  if (platform.startsWith('win')) return { strip: false, reason: 'the Windows node.exe keeps its symbols in a separate .pdb: nothing to strip' };
  if (platform.startsWith('darwin')) return { strip: false, reason: 'the macOS node carries no debug info in its Mach-O, and GNU strip cannot rewrite Mach-O' };
  if (!program) return { strip: false, reason: 'no strip on PATH (install binutils for a binary about 12 MB smaller)' };
  const target = ELF_TARGETS[platform] as string;
  const supported = /supported targets:(.*)/.exec(stripHelp ?? '')?.[1].split(/\s+/) ?? [];
  if (!supported.includes(target)) return { strip: false, reason: `${program} cannot rewrite ${target} (a binutils for that architecture, e.g. binutils-multiarch, can)` };
  return { strip: true, program };
}

/** The plan for this machine's strip. */
export function localStripPlan(platform: NodePlatform): StripPlan {
  const program = findOnPath('strip');
  return stripPlan(platform, program, program ? runSync(program, ['--help']) : undefined);
}

/**
 * Strips the copied runtime in place, before injection (never after: strip rewrites the section layout the
 * injected blob lives in). Returns what was done, for --verbose.
 */
export async function stripRuntimeCopy(file: string, platform: NodePlatform): Promise<string> {
  const plan = localStripPlan(platform);
  if (!plan.strip) return `runtime not stripped: ${plan.reason}`;
  await runChecked(plan.program, [file], `stripping the copied Node runtime (${plan.program})`);
  return `runtime stripped with ${plan.program}`;
}
