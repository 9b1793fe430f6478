import { StigmerError } from '../utils/errors';

/**
 * A service's `index.json`, exactly as the distribution contract (DESIGN.md) fixes it. Unknown fields are kept
 * by every write here (a newer writer's additions survive an older one) and ignored otherwise.
 */
export interface PlatformEntry {
  /** Path under the service's folder: `<version>/<file>`. */
  file: string;
  size: number;
  sha256: string;
  layout: 'onefile' | 'onedir';
  /** The executable inside a onedir archive; null for onefile. */
  entrypoint: string | null;
  [field: string]: unknown;
}

export interface VersionEntry {
  /** RFC 3339: when the version first entered the index. */
  published: string;
  platforms: Record<string, PlatformEntry>;
  /**
   * The size report build-binary wrote (`<version>/<name>.report.json`), when it was published with the
   * version (publish-binary --report). Beside `platforms`, never in it: it is no binary, and the agent ignores it.
   */
  report?: ReportEntry;
  [field: string]: unknown;
}

export interface ReportEntry {
  /** Path under the service's folder: `<version>/<name>.report.json`. */
  file: string;
  size: number;
  sha256: string;
  /** The platform of the binary it describes. */
  platform: string;
}

export interface ServiceIndex {
  schema: 1;
  name: string;
  /** +1 on every write: a reader refuses a lower one than it accepted (rollback). */
  serial: number;
  /** A reader refuses an expired index (freeze). */
  expires: string;
  /** Ids of the minisign keys that signed the manifests listed here. */
  keys: string[];
  channels: Record<string, string>;
  versions: Record<string, VersionEntry>;
  [field: string]: unknown;
}

export const INDEX_SCHEMA = 1;
const DAY_MS = 24 * 60 * 60 * 1000;

export function parseIndex(text: string, where: string): ServiceIndex {
  let index: ServiceIndex;
  try {
    index = JSON.parse(text);
  } catch (error) {
    throw new StigmerError(`${where} is not valid JSON (${(error as Error).message}): restore it from the store's object history, or remove it to start a new index.`);
  }
  if (!index || typeof index !== 'object' || typeof index.schema !== 'number') throw new StigmerError(`${where} is not a stigmer index (no "schema"): point the store at another prefix.`);
  if (index.schema > INDEX_SCHEMA) throw new StigmerError(`${where} has schema ${index.schema}, newer than this stigmer writes (${INDEX_SCHEMA}): upgrade stigmer before publishing into it.`);
  return { ...index, keys: index.keys ?? [], channels: index.channels ?? {}, versions: index.versions ?? {} };
}

export function serializeIndex(index: ServiceIndex): string {
  return `${JSON.stringify(index, null, 2)}\n`;
}

export interface IndexWrite {
  /** The key id (minisign's hex) of the key that signs this write. */
  keyId: string;
  now: Date;
  expiresDays: number;
}

/** The next index after `current` (undefined: none yet): serial +1, expiry renewed, the signing key listed. */
function nextIndex(current: ServiceIndex | undefined, name: string, write: IndexWrite): ServiceIndex {
  const base: ServiceIndex = current ?? { schema: INDEX_SCHEMA, name, serial: 0, expires: '', keys: [], channels: {}, versions: {} };
  if (base.name !== name) throw new StigmerError(`the index at this place belongs to '${base.name}', not '${name}': give each service its own name or prefix.`);
  return {
    ...base,
    schema: INDEX_SCHEMA,
    serial: base.serial + 1,
    expires: rfc3339(new Date(write.now.getTime() + write.expiresDays * DAY_MS)),
    keys: base.keys.includes(write.keyId) ? base.keys : [...base.keys, write.keyId],
    channels: { ...base.channels },
    versions: { ...base.versions },
  };
}

/**
 * Adds platforms of a version, whose files are stored already, and points `channel` at it. Platforms other
 * writers added (another CI job of the same version) are kept: this runs again on every conflicting write.
 */
export function addRelease(
  current: ServiceIndex | undefined,
  release: { name: string; version: string; channel: string; platforms: Record<string, PlatformEntry>; report?: ReportEntry },
  write: IndexWrite,
): ServiceIndex {
  const index = nextIndex(current, release.name, write);
  const existing = index.versions[release.version];
  for (const [platform, entry] of Object.entries(release.platforms)) {
    const listed = existing?.platforms[platform];
    if (listed && (listed.sha256 !== entry.sha256 || listed.file !== entry.file)) {
      throw new StigmerError(
        `${release.name} ${release.version} ${platform} is in the index with sha256 ${listed.sha256}, not ${entry.sha256}: a published version never changes; publish a new version.`,
      );
    }
  }
  if (release.report && existing?.report && existing.report.sha256 !== release.report.sha256) {
    throw new StigmerError(
      `${release.name} ${release.version} has a report in the index with sha256 ${existing.report.sha256}, not ${release.report.sha256}: a published version never changes; publish a new version.`,
    );
  }
  index.versions[release.version] = {
    ...existing,
    published: existing?.published ?? rfc3339(write.now),
    platforms: { ...existing?.platforms, ...release.platforms },
    ...(release.report ? { report: release.report } : {}),
  };
  index.channels[release.channel] = release.version;
  return index;
}

/** Points `channel` at a version already in the index: promotion without rebuilding. */
export function promote(current: ServiceIndex | undefined, name: string, version: string, channel: string, write: IndexWrite): ServiceIndex {
  if (!current) throw new StigmerError(`${name} has no index in this store yet: publish a version before promoting one.`);
  if (!current.versions[version]) {
    const known = Object.keys(current.versions);
    throw new StigmerError(`${name} ${version} is not published in this store (${known.length ? `published: ${known.join(', ')}` : 'no version yet'}): publish it first, or name a published version.`);
  }
  const index = nextIndex(current, name, write);
  index.channels[channel] = version;
  return index;
}

/** RFC 3339 in UTC, to the second. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The index signature's trusted comment: the service and serial, so it cannot be moved to another index. */
export function indexTrustedComment(index: Pick<ServiceIndex, 'name' | 'serial'>): string {
  return `${index.name} ${index.serial}`;
}

/** A manifest signature's trusted comment. */
export function manifestTrustedComment(name: string, version: string, platform: string): string {
  return `${name} ${version} ${platform}`;
}
