import { normalizeDistName } from '../project/project-metadata';
import { parseToml, TomlTable } from '../project/toml';

/** A named package source (a private index) that a lock takes packages from. */
export interface LockedIndex {
  /** The source's name in the lock's project (Poetry's `reference`, uv's `[[tool.uv.index]]` name). */
  name: string;
  url: string;
}

/** One package of a lock, as a pip requirement: installed with --no-deps, never re-resolved. */
export interface LockedRequirement {
  name: string;
  /** `name==version ; markers` or `name @ git+url@commit#subdirectory=sub`, without hashes. */
  requirement: string;
  /** `sha256:...` of the lock's files; empty when the lock has none (git, or a lock written without them). */
  hashes: string[];
  /** The named source the lock takes it from: installed from there only. Undefined: the default index. */
  index?: LockedIndex;
}

/** What a lock pins for the runtime. */
export interface LockedRequirements {
  requirements: LockedRequirement[];
  /** `name==version` of every registry package of the lock, dev included: constraints for PyInstaller's install. */
  constraints: string[];
  /** PyInstaller's version when the lock has it (the dev dependency the generator adds). */
  pyinstaller?: string;
  /** Runtime dependencies (`mainNames`) the lock has no runtime package for: the lock is stale. */
  missing: string[];
  /** Runtime packages locked at two versions with nothing (no markers) to say which one applies. */
  ambiguous: string[];
}

interface PoetryLockPackage {
  name: string;
  version: string;
  optional?: boolean;
  groups?: string[];
  category?: string;
  markers?: string | Record<string, string>;
  files?: { file?: string; hash?: string }[];
  source?: { type?: string; url?: string; reference?: string; resolved_reference?: string; subdirectory?: string };
  dependencies?: Record<string, string | TomlTable | TomlTable[]>;
}

/**
 * The runtime packages of a poetry.lock as pinned requirements. Poetry 2 locks (lock-version 2.1) say per
 * package which groups need it (`groups`) and under which markers; Poetry < 1.5 said `category`. Locks with
 * neither (Poetry 1.5 to 1.8) are walked from the service's runtime dependencies (`mainNames`).
 * Left out: local path packages (source type directory: installed editable, from the sources) and optional
 * packages (`optional = true`: only an extra of the service brings them, and a build asks for none).
 * A package from a named source (type legacy) keeps that source, so that it is never looked up elsewhere.
 */
export function poetryLockRequirements(lockText: string, mainNames: string[] = []): LockedRequirements {
  const doc = parseToml(lockText, 'poetry.lock');
  const packages = ((doc.package ?? []) as PoetryLockPackage[]).filter((p) => p.name && p.version);
  const legacyFiles = (doc.metadata?.files ?? {}) as Record<string, { file?: string; hash?: string }[]>;
  const byName = new Map<string, PoetryLockPackage[]>();
  for (const pkg of packages) byName.set(normalizeDistName(pkg.name), [...(byName.get(normalizeDistName(pkg.name)) ?? []), pkg]);
  const runtime = (
    packages.some((p) => p.groups || p.category) ? packages.filter((p) => (p.groups ? p.groups.includes('main') : p.category === 'main')) : reachableFrom(mainNames, byName)
  ).filter((p) => p.optional !== true);
  const requirements: LockedRequirement[] = [];
  const ambiguous = new Set<string>();
  for (const pkg of runtime) {
    const source = pkg.source?.type;
    if (source === 'directory') continue;
    const markers = typeof pkg.markers === 'string' ? pkg.markers : pkg.markers?.main;
    // Two versions of one package: only their markers say which applies; without them both would be pinned.
    if (!markers && runtime.some((other) => other !== pkg && normalizeDistName(other.name) === normalizeDistName(pkg.name))) ambiguous.add(pkg.name);
    const files = pkg.files ?? legacyFiles[pkg.name] ?? [];
    const hashes = files.map((f) => f.hash).filter((h): h is string => !!h && /^sha256:[0-9a-f]+$/.test(h));
    let requirement: string;
    if (source === 'git') {
      const subdirectory = pkg.source?.subdirectory ? `#subdirectory=${pkg.source.subdirectory}` : '';
      requirement = `${pkg.name} @ git+${pkg.source?.url}@${pkg.source?.resolved_reference ?? pkg.source?.reference}${subdirectory}`;
    } else if (source === 'url' || source === 'file') requirement = `${pkg.name} @ ${pkg.source?.url}`;
    else requirement = `${pkg.name}==${pkg.version}`;
    if (markers) requirement += ` ; ${markers}`;
    const index = source === 'legacy' && pkg.source?.url ? { name: pkg.source.reference ?? '', url: pkg.source.url } : undefined;
    requirements.push({ name: pkg.name, requirement, hashes: source === 'git' ? [] : hashes, ...(index ? { index } : {}) });
  }
  const registry = packages.filter((p) => !p.source?.type || p.source.type === 'legacy');
  return {
    requirements,
    // With their markers: a package locked at two versions (by Python version) constrains each where it applies.
    constraints: [...new Set(registry.map((p) => `${p.name}==${p.version}${anyGroupMarkers(p) ? ` ; ${anyGroupMarkers(p)}` : ''}`))],
    pyinstaller: byName.get('pyinstaller')?.[0]?.version,
    // In the runtime packages, not just anywhere: a dev tool's dependency does not lock a runtime one.
    missing: mainNames.filter((name) => !runtime.some((p) => normalizeDistName(p.name) === normalizeDistName(name))),
    ambiguous: [...ambiguous],
  };
}

/** The markers under which any group needs the package (Poetry 2 writes one per group when they differ). */
function anyGroupMarkers(pkg: PoetryLockPackage): string | undefined {
  if (typeof pkg.markers === 'string') return pkg.markers || undefined;
  const markers = Object.values(pkg.markers ?? {}).filter(Boolean);
  return markers.length > 1 ? markers.map((m) => `(${m})`).join(' or ') : markers[0];
}

/** Packages reachable from the runtime dependencies through the lock's dependency tables. */
function reachableFrom(mainNames: string[], byName: Map<string, PoetryLockPackage[]>): PoetryLockPackage[] {
  const seen = new Set<string>();
  const queue = mainNames.map(normalizeDistName);
  while (queue.length) {
    const name = queue.shift() as string;
    const versions = byName.get(name);
    if (!versions || seen.has(name)) continue;
    seen.add(name);
    for (const pkg of versions) {
      for (const [dependency, spec] of Object.entries(pkg.dependencies ?? {})) {
        const specs = Array.isArray(spec) ? spec : [spec];
        // Optional dependencies come in only through an extra, which then names them itself.
        if (specs.every((s) => typeof s === 'object' && s.optional === true)) continue;
        queue.push(normalizeDistName(dependency));
      }
    }
  }
  return [...byName.entries()].filter(([name]) => seen.has(name)).flatMap(([, versions]) => versions);
}

/**
 * The lines of `uv export --format requirements-txt` as locked requirements. uv already applies markers,
 * extras and subdirectories; what its lines lack is the index: a package that uv.lock takes from a named
 * `[[tool.uv.index]]` (`indexes`, name -> url) gets that index back, from the lock's `source = { registry }`.
 */
export function uvExportRequirements(exported: string, uvLockText: string, indexes: Record<string, string>): LockedRequirement[] {
  const registryOf = new Map<string, string>();
  const lock = parseToml(uvLockText, 'uv.lock');
  for (const pkg of (lock.package ?? []) as { name?: string; version?: string; source?: { registry?: string } }[]) {
    if (pkg.name && pkg.source?.registry) registryOf.set(`${normalizeDistName(pkg.name)}==${pkg.version}`, pkg.source.registry);
  }
  const byUrl = new Map(Object.entries(indexes).map(([name, url]) => [comparableUrl(url), name]));
  return joinContinuations(exported).map((line) => {
    const hashes = [...line.matchAll(/--hash[= ](\S+)/g)].map((m) => m[1]);
    const requirement = line.replace(/\s*--hash[= ]\S+/g, '').trim();
    const name = /^[A-Za-z0-9][A-Za-z0-9._-]*/.exec(requirement)?.[0] ?? requirement;
    const version = /^[^\s;@=]+\s*==\s*([^\s;]+)/.exec(requirement)?.[1];
    const registry = version ? registryOf.get(`${normalizeDistName(name)}==${version}`) : undefined;
    const indexName = registry ? byUrl.get(comparableUrl(registry)) : undefined;
    return { name, requirement, hashes, ...(indexName !== undefined && registry ? { index: { name: indexName, url: registry } } : {}) };
  });
}

function comparableUrl(url: string): string {
  return url.replace(/\/+$/, '').toLowerCase();
}

/** requirements.txt text with `\` continuations joined, comments and blank lines dropped. */
export function joinContinuations(text: string): string[] {
  return text
    .replace(/\\\r?\n\s*/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
}

/**
 * The index URL to install a named source's packages from, with the credentials of Poetry's or uv's usual
 * environment variables (POETRY_HTTP_BASIC_<NAME>_USERNAME/PASSWORD, UV_INDEX_<NAME>_USERNAME/PASSWORD)
 * when the URL carries none. Without them uv's own netrc and keyring lookups still apply.
 */
export function indexUrlWithCredentials(index: LockedIndex, env: NodeJS.ProcessEnv = process.env): string {
  const key = index.name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  const username = env[`UV_INDEX_${key}_USERNAME`] ?? env[`POETRY_HTTP_BASIC_${key}_USERNAME`];
  const password = env[`UV_INDEX_${key}_PASSWORD`] ?? env[`POETRY_HTTP_BASIC_${key}_PASSWORD`];
  let url: URL;
  try {
    url = new URL(index.url);
  } catch {
    return index.url;
  }
  if (url.username || (username === undefined && password === undefined)) return index.url;
  url.username = username ?? '';
  url.password = password ?? '';
  return url.toString();
}

/** Names of the packages that `pip check` says are required but not installed. */
export function notInstalledDependencies(pipCheckOutput: string): string[] {
  return [...new Set([...pipCheckOutput.matchAll(/ requires ([A-Za-z0-9][A-Za-z0-9._-]*), which is not installed/g)].map((m) => m[1]))];
}

/** `name==version` (with optional extras, markers and hashes): one pinned requirement line. */
const PINNED_LINE = /^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?\s*===?\s*[^\s;,<>!~=*]+\s*(;[^#]*)?(\s+--hash[= ]\S+)*\s*$/;

/**
 * True when every requirement of a requirements file pins one version with ==: such a file is a lock and is
 * installed as it is. Option lines (--hash continuations, -c, --index-url) are allowed; `-r` includes and
 * `-e`/path lines are not judged here (a file with them is not called pinned).
 */
export function isFullyPinnedRequirements(text: string): boolean {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
  const requirements = logical.filter((line) => !/^--?(hash|index-url|extra-index-url|find-links|trusted-host|only-binary|no-binary|prefer-binary|require-hashes|i|f)\b/.test(line));
  return requirements.length > 0 && requirements.every((line) => PINNED_LINE.test(line));
}
