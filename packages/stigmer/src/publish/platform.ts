import { StigmerError } from '../utils/errors';

/**
 * The distribution contract names platforms `<os>-<arch>` with Go's names (linux-amd64, darwin-arm64,
 * windows-amd64: GoReleaser's and most release pages'). Manifests written by Node-based builders say
 * linux/darwin/win32 and x64/arm64: they are mapped here, never published under their own words.
 */
const OS_NAMES: Record<string, string> = { linux: 'linux', darwin: 'darwin', win32: 'windows', win: 'windows', windows: 'windows' };
const ARCH_NAMES: Record<string, string> = { x64: 'amd64', amd64: 'amd64', arm64: 'arm64', aarch64: 'arm64' };

export function platformName(os: string, arch: string, what = 'a manifest'): string {
  const contractOs = OS_NAMES[os];
  const contractArch = ARCH_NAMES[arch];
  if (!contractOs || !contractArch) {
    throw new StigmerError(`${what} names platform ${os}/${arch}, which stigmer does not publish: build for linux, darwin or windows on x64 or arm64.`);
  }
  return `${contractOs}-${contractArch}`;
}

/** The file's name in the store: `<name>-<platform>`, with .exe for Windows and .tar.gz for a one-folder archive. */
export function storedFileName(name: string, platform: string, layout: 'onefile' | 'onedir'): string {
  if (layout === 'onedir') return `${name}-${platform}.tar.gz`;
  return `${name}-${platform}${platform.startsWith('windows-') ? '.exe' : ''}`;
}
