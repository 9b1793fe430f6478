import { normalizeDistName } from './project-metadata';
import { parseToml, TomlTable } from './toml';

/** What a lock pins, as pip requirement lines: installed with --no-deps, never re-resolved. */
export interface LockedRequirements {
  /** `name==version ; markers --hash=sha256:...` lines of the runtime (main) group. */
  lines: string[];
  /** Every line carries hashes: install with --require-hashes. */
  hashed: boolean;
  /** `name==version` of every registry package of the lock, dev included: constraints for PyInstaller's install. */
  constraints: string[];
  /** PyInstaller's version when the lock has it (the dev dependency the generator adds). */
  pyinstaller?: string;
  /** Runtime dependencies (`mainNames`) the lock has no runtime package for: the lock is stale. */
  missing: string[];
}

interface PoetryLockPackage {
  name: string;
  version: string;
  groups?: string[];
  category?: string;
  markers?: string | Record<string, string>;
  files?: { file?: string; hash?: string }[];
  source?: { type?: string; url?: string; reference?: string; resolved_reference?: string };
  dependencies?: Record<string, string | TomlTable | TomlTable[]>;
}

/**
 * The runtime packages of a poetry.lock as pinned requirement lines. Poetry 2 locks (lock-version 2.1) say
 * per package which groups need it (`groups`) and under which markers; Poetry < 1.5 said `category`. Locks
 * with neither (Poetry 1.5 to 1.8) are walked from the service's runtime dependencies (`mainNames`).
 * Local path packages (source type directory) are left out: they are installed editable, from the sources.
 */
export function poetryLockRequirements(lockText: string, mainNames: string[] = []): LockedRequirements {
  const doc = parseToml(lockText, 'poetry.lock');
  const packages = ((doc.package ?? []) as PoetryLockPackage[]).filter((p) => p.name && p.version);
  const legacyFiles = (doc.metadata?.files ?? {}) as Record<string, { file?: string; hash?: string }[]>;
  const byName = new Map(packages.map((p) => [normalizeDistName(p.name), p]));
  const runtime = packages.some((p) => p.groups || p.category)
    ? packages.filter((p) => (p.groups ? p.groups.includes('main') : p.category === 'main'))
    : reachableFrom(mainNames, byName);
  const lines: string[] = [];
  let hashed = true;
  for (const pkg of runtime) {
    const source = pkg.source?.type;
    if (source === 'directory') continue;
    const markers = typeof pkg.markers === 'string' ? pkg.markers : pkg.markers?.main;
    const files = pkg.files ?? legacyFiles[pkg.name] ?? [];
    const hashes = files.map((f) => f.hash).filter((h): h is string => !!h && /^sha256:[0-9a-f]+$/.test(h));
    let requirement: string;
    if (source === 'git') requirement = `${pkg.name} @ git+${pkg.source?.url}@${pkg.source?.resolved_reference ?? pkg.source?.reference}`;
    else if (source === 'url' || source === 'file') requirement = `${pkg.name} @ ${pkg.source?.url}`;
    else requirement = `${pkg.name}==${pkg.version}`;
    if (markers) requirement += ` ; ${markers}`;
    if (hashes.length === 0 || source === 'git') hashed = false;
    lines.push([requirement, ...(source === 'git' ? [] : hashes.map((h) => `--hash=${h}`))].join(' '));
  }
  const registry = packages.filter((p) => !p.source?.type || p.source.type === 'legacy');
  return {
    lines,
    hashed: hashed && lines.length > 0,
    constraints: registry.map((p) => `${p.name}==${p.version}`),
    pyinstaller: byName.get('pyinstaller')?.version,
    // In the runtime packages, not just anywhere: a dev tool's dependency does not lock a runtime one.
    missing: mainNames.filter((name) => !runtime.some((p) => normalizeDistName(p.name) === normalizeDistName(name))),
  };
}

/** Packages reachable from the runtime dependencies through the lock's dependency tables. */
function reachableFrom(mainNames: string[], byName: Map<string, PoetryLockPackage>): PoetryLockPackage[] {
  const seen = new Set<string>();
  const queue = mainNames.map(normalizeDistName);
  while (queue.length) {
    const name = queue.shift() as string;
    const pkg = byName.get(name);
    if (!pkg || seen.has(name)) continue;
    seen.add(name);
    for (const [dependency, spec] of Object.entries(pkg.dependencies ?? {})) {
      const specs = Array.isArray(spec) ? spec : [spec];
      // Optional dependencies come in only through an extra, which then names them itself.
      if (specs.every((s) => typeof s === 'object' && s.optional === true)) continue;
      queue.push(normalizeDistName(dependency));
    }
  }
  return [...byName.entries()].filter(([name]) => seen.has(name)).map(([, pkg]) => pkg);
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
