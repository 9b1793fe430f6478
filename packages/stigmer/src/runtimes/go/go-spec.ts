import { StigmerError } from '../../utils/errors';
import { parseNamedJsonSpec } from '../../utils/json-spec';

/** GOOS-GOARCH pairs stigmer builds: Go's first-class ports and the common others (`go tool dist list` has more). */
export const GO_PLATFORMS = [
  'linux-amd64', 'linux-arm64', 'linux-386', 'linux-arm', 'linux-riscv64', 'linux-ppc64le', 'linux-s390x',
  'darwin-amd64', 'darwin-arm64',
  'windows-amd64', 'windows-arm64', 'windows-386',
  'freebsd-amd64', 'freebsd-arm64',
] as const;
export type GoPlatform = (typeof GO_PLATFORMS)[number];

/** What the generator proposes: the five platforms of most release pages. */
export const DEFAULT_GO_PLATFORMS: GoPlatform[] = ['linux-amd64', 'linux-arm64', 'darwin-amd64', 'darwin-arm64', 'windows-amd64'];

/**
 * `<name>.go-binary.json`: what a Go service's binaries are made of.
 *   { "name": "api", "main": "./cmd/api", "platforms": ["linux-amd64", "windows-amd64"],
 *     "variables": { "main.version": "{version}" }, "version": "1.4.0", "cgo": false }
 */
export interface GoBinarySpec {
  name: string;
  /** The main package, relative to the spec's folder (the module root), in go build's form: "." or "./cmd/api". */
  main: string;
  /** GOOS-GOARCH pairs, or "host" for the machine that builds. Default ["host"]. */
  platforms?: string[];
  /** Link-time string variables (`-X`): "package.name" -> value; "{version}" in a value becomes the version. */
  variables?: Record<string, string>;
  /** The version written into the variables and the manifest when the build gets no "version" option. Default 0.0.0. */
  version?: string;
  /** true: the service needs cgo; it is then built with CGO_ENABLED=1 and for the host only. */
  cgo?: boolean;
}

export function hostGoPlatform(): string {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const arch = ({ x64: 'amd64', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch;
  return `${os}-${arch}`;
}

/** Parses a spec's JSON shape; platform names are checked by `checkPlatforms`, at build time, so a typo is one line there. */
export function parseGoSpec(content: string, specFile: string): GoBinarySpec {
  const spec = parseNamedJsonSpec<GoBinarySpec>(content, specFile);
  if (typeof spec.main !== 'string' || !spec.main) throw new StigmerError(`${specFile} needs a "main": the main package, such as "." or "./cmd/${spec.name}".`);
  if (spec.platforms !== undefined && (!Array.isArray(spec.platforms) || spec.platforms.some((p) => typeof p !== 'string'))) {
    throw new StigmerError(`${specFile} has "platforms" that is not a list of names: use e.g. ["host", "linux-arm64"].`);
  }
  for (const [name, value] of Object.entries(spec.variables ?? {})) {
    if (!/^[\w./-]+\.[A-Za-z_]\w*$/.test(name) || typeof value !== 'string') {
      throw new StigmerError(`${specFile} has a variable '${name}': use "<import path>.<name>": "<value>", such as "main.version": "{version}".`);
    }
  }
  if (spec.cgo !== undefined && typeof spec.cgo !== 'boolean') throw new StigmerError(`${specFile} has "cgo": ${JSON.stringify(spec.cgo)}: use true or false.`);
  return spec;
}

/** The spec's platforms, the host's first (test-binary runs it); unknown names are refused in one line. */
export function checkPlatforms(spec: GoBinarySpec, specFile: string): string[] {
  const host = hostGoPlatform();
  const wanted = (spec.platforms?.length ? spec.platforms : ['host']).map((p) => (p === 'host' ? host : p));
  const unknown = wanted.find((p) => !(GO_PLATFORMS as readonly string[]).includes(p));
  if (unknown) throw new StigmerError(`${specFile} names an unknown platform '${unknown}': use host or one of ${GO_PLATFORMS.join(', ')}.`);
  const list = [...new Set(wanted)].sort((a, b) => (a === host ? -1 : b === host ? 1 : 0));
  if (spec.cgo && list.some((p) => p !== host)) {
    throw new StigmerError(`${specFile} sets "cgo": true, and a cgo build is made for this machine only (${host}): set "platforms": ["host"], or build the others on their own machines.`);
  }
  return list;
}

/** Known platforms of the spec, for the inference plugin (which must never throw on a typo). */
export function knownPlatforms(spec: GoBinarySpec): string[] {
  try {
    return checkPlatforms(spec, '');
  } catch {
    const host = hostGoPlatform();
    const list = (spec.platforms?.length ? spec.platforms : ['host']).map((p) => (p === 'host' ? host : p)).filter((p) => (GO_PLATFORMS as readonly string[]).includes(p));
    return [...new Set([host, ...list])];
  }
}

/** File name of a platform's binary: the host's is plain <name>, others carry their platform (Go's names). */
export function goBinaryName(name: string, platform: string): string {
  const base = platform === hostGoPlatform() ? name : `${name}-${platform}`;
  return base + (platform.startsWith('windows') ? '.exe' : '');
}

/** The manifest's names of a platform: Node's (linux/darwin/win32, x64/arm64/ia32), as for every runtime's manifest. */
export function manifestTarget(platform: string): { os: string; arch: string } {
  const [os, arch] = platform.split('-');
  return { os: os === 'windows' ? 'win32' : os, arch: ({ amd64: 'x64', '386': 'ia32' } as Record<string, string>)[arch] ?? arch };
}

/** The -X flags of the spec's variables, "{version}" replaced. */
export function linkVariables(spec: GoBinarySpec, version: string): string[] {
  return Object.entries(spec.variables ?? {}).map(([name, value]) => `-X ${name}=${value.split('{version}').join(version)}`);
}
