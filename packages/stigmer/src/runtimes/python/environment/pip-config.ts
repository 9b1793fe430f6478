import { run } from '../../../utils/process';

/** The part of pip's configuration that decides where packages come from and how TLS is checked. */
export interface PipIndexConfig {
  indexUrl?: string;
  extraIndexUrls: string[];
  findLinks: string[];
  cert?: string;
  clientCert?: string;
  trustedHosts: string[];
}

const KEYS = ['index-url', 'extra-index-url', 'find-links', 'cert', 'client-cert', 'trusted-host'] as const;

/**
 * Reads the lines of `pip config list` (`global.index-url='https://…'`, `:env:.cert='/etc/…'`). pip's own
 * precedence: environment (PIP_*) over the install section over global.
 */
export function parsePipConfigList(output: string): PipIndexConfig {
  const rank: Record<string, number> = { ':env:': 3, install: 2, global: 1 };
  const best = new Map<string, { rank: number; value: string }>();
  for (const line of output.split(/\r?\n/)) {
    const match = /^([^.\s]+|:env:)\.([a-z-]+)=(.*)$/.exec(line.trim());
    if (!match || !(match[1] in rank) || !(KEYS as readonly string[]).includes(match[2])) continue;
    // pip prints Python reprs: quoted, with a value's new lines written as \n.
    const value = match[3].replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1').replace(/\\n/g, ' ');
    const current = best.get(match[2]);
    if (!current || rank[match[1]] > current.rank) best.set(match[2], { rank: rank[match[1]], value });
  }
  const list = (key: string) => (best.get(key)?.value ?? '').split(/\s+/).filter(Boolean);
  return {
    indexUrl: best.get('index-url')?.value || undefined,
    extraIndexUrls: list('extra-index-url'),
    findLinks: list('find-links'),
    cert: best.get('cert')?.value || undefined,
    clientCert: best.get('client-cert')?.value || undefined,
    trustedHosts: list('trusted-host'),
  };
}

/**
 * uv's environment variables for pip's configuration, so that uv driven by stigmer fetches from the index pip
 * would use. A variable the user already set (UV_*, SSL_CERT_FILE) wins: it is left out.
 */
export function uvEnvironmentFor(config: PipIndexConfig, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const wanted: Record<string, string | undefined> = {
    UV_DEFAULT_INDEX: config.indexUrl,
    UV_INDEX: config.extraIndexUrls.join(' ') || undefined,
    UV_FIND_LINKS: config.findLinks.join(',') || undefined,
    SSL_CERT_FILE: config.cert,
    SSL_CLIENT_CERT: config.clientCert,
    UV_INSECURE_HOST: config.trustedHosts.join(' ') || undefined,
  };
  const uvIndexSet = ['UV_DEFAULT_INDEX', 'UV_INDEX_URL', 'UV_INDEX', 'UV_EXTRA_INDEX_URL'].some((name) => env[name]);
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(wanted)) {
    if (value === undefined || env[name]) continue;
    // The user configured uv's indexes: pip's must not be mixed in.
    if (uvIndexSet && (name === 'UV_DEFAULT_INDEX' || name === 'UV_INDEX')) continue;
    result[name] = value;
  }
  return result;
}

/** pip's configuration as the given interpreter's pip sees it (empty when pip cannot say). */
export async function readPipConfig(python: string, cwd?: string): Promise<PipIndexConfig> {
  const result = await run(python, ['-m', 'pip', 'config', 'list'], { cwd }).catch(() => undefined);
  return parsePipConfigList(result?.exitCode === 0 ? result.stdout : '');
}
