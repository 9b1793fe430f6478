import { logger } from '@nx/devkit';
import { resolveSpec, RuntimeId } from '../runtimes';
import type { ProjectRef } from '../runtimes/types';
import { channelVersion, promoteRelease, publishRelease, PublishContext, readDistArtifacts } from '../publish/publish';
import { loadSigningKey } from '../publish/signing-key';
import { openStore } from '../publish/store';
import { reportFiles } from '../report/report';
import { StigmerError } from '../utils/errors';
import { distDir } from './build';

export interface PublishBinaryOptions {
  spec?: string;
  runtime?: RuntimeId;
  store?: string;
  endpoint?: string;
  region?: string;
  channel?: string;
  promote?: string;
  version?: string;
  platforms?: string[];
  expiresDays?: number;
  publicKey?: string;
  signingKeyFile?: string;
  dryRun?: boolean;
  /** Also publish dist/<name>.report.json into the version's folder (for binary-report --compare <version>). */
  report?: boolean;
  firstRelease?: boolean;
  /** nx release publish: { [project]: { newVersion, currentVersion, ... } }. */
  nxReleaseVersionData?: Record<string, { newVersion?: string | null }>;
}

/**
 * publish-binary (and nx-release-publish): publishes every binary build-binary made for the spec, or with
 * `promote`, moves a channel to a published version. It reads dist/'s manifests only, so every runtime
 * publishes the same way.
 */
export async function publishBinary(project: ProjectRef, options: PublishBinaryOptions): Promise<void> {
  const { spec } = resolveSpec(project, options);
  const name = spec.binaryName;
  const channel = options.channel ?? 'latest';
  const expectedVersion = options.version ?? options.nxReleaseVersionData?.[project.name]?.newVersion ?? undefined;
  const store = openStore(options.store ?? '', project.workspaceRoot, { endpoint: options.endpoint, region: options.region });
  const log = (line: string) => logger.info(`[publish] ${line}`);
  try {
    if (options.dryRun) {
      const artifacts = options.promote ? [] : await readDistArtifacts(distDir(project), spec.binaryFiles, `nx run ${project.name}:build-binary`);
      const current = await channelVersion(store, name, channel);
      log(
        options.promote
          ? `dry run: would move ${name} channel ${channel} (now ${current ?? 'unset'}) to ${options.promote} in ${store.location}`
          : `dry run: would publish ${name} ${artifacts[0]?.manifest.version} (${artifacts.map((a) => a.platform).join(', ')}${options.report ? ', with its report' : ''}) to ${store.location}, channel ${channel} (now ${current ?? 'unset'})`,
      );
      return;
    }
    const context: PublishContext = { store, key: loadSigningKey(project.workspaceRoot, options), expiresDays: options.expiresDays ?? 30, log };
    if (options.promote) {
      await promoteRelease(context, { name, version: options.promote, channel });
      return;
    }
    if (options.version === '') throw new StigmerError('--version is empty: give the version the binaries were built as, or drop it.');
    const built = await readDistArtifacts(distDir(project), spec.binaryFiles, `nx run ${project.name}:build-binary`);
    const artifacts = options.platforms?.length ? built.filter((a) => options.platforms!.includes(a.platform)) : built;
    const missing = (options.platforms ?? []).filter((p) => !built.some((a) => a.platform === p));
    if (missing.length) {
      throw new StigmerError(`${name} has no binary for ${missing.join(', ')} in dist/ (built: ${built.map((a) => a.platform).join(', ')}): add the platform to the spec and build it, or fix --platforms.`);
    }
    const report = options.report ? reportFiles(distDir(project), name).json : undefined;
    await publishRelease(context, { name, version: expectedVersion, channel, artifacts, report });
  } finally {
    store.close();
  }
}
