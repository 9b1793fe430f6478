import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { BinaryManifest, sha256File, sideFiles } from '../utils/artifacts';
import { StigmerError } from '../utils/errors';
import { formatSeconds, formatSize } from '../utils/progress';
import { keyIdHex, MinisignSecretKey, signData } from './minisign';
import { platformName, storedFileName } from './platform';
import { addRelease, indexTrustedComment, IndexWrite, manifestTrustedComment, parseIndex, PlatformEntry, promote, ReportEntry, serializeIndex, ServiceIndex } from './service-index';
import { PublishStore, UploadProgress } from './store';

/** A binary build-binary left in dist/, with the manifest it wrote beside it. */
export interface DistArtifact {
  binary: string;
  manifest: BinaryManifest;
  /** `<os>-<arch>` in Go's names. */
  platform: string;
}

/**
 * The binaries of a spec as build-binary left them: each file with its .sha256 and .manifest.json. Only the
 * manifests are read (any runtime writes them), and each binary is checked against its manifest, so a file
 * changed after the build is never published under the build's checksum.
 */
export async function readDistArtifacts(distDir: string, binaryFiles: string[], buildCommand: string): Promise<DistArtifact[]> {
  const artifacts: DistArtifact[] = [];
  for (const file of binaryFiles) {
    const binary = path.join(distDir, file);
    const { manifest: manifestFile } = sideFiles(binary);
    if (!(await fs.pathExists(binary)) || !(await fs.pathExists(manifestFile))) {
      throw new StigmerError(`${path.relative(process.cwd(), binary)} or its manifest is missing: run ${buildCommand} first.`);
    }
    const manifest = (await fs.readJson(manifestFile)) as BinaryManifest;
    const { size } = await fs.stat(binary);
    const sha256 = await sha256File(binary);
    if (size !== manifest.size || sha256 !== manifest.sha256) {
      throw new StigmerError(`${file} changed after build-binary wrote its manifest (sha256 ${sha256}, manifest ${manifest.sha256}): run ${buildCommand} again.`);
    }
    artifacts.push({ binary, manifest, platform: platformName(manifest.os, manifest.arch, `${file}.manifest.json`) });
  }
  const seen = new Map<string, string>();
  for (const artifact of artifacts) {
    const other = seen.get(artifact.platform);
    if (other) throw new StigmerError(`${path.basename(other)} and ${path.basename(artifact.binary)} are both for ${artifact.platform}: publish one binary per platform.`);
    seen.set(artifact.platform, artifact.binary);
  }
  return artifacts;
}

export interface PublishContext {
  store: PublishStore;
  key: MinisignSecretKey;
  expiresDays: number;
  log: (line: string) => void;
  now?: () => Date;
}

function indexWrite(context: PublishContext): IndexWrite {
  return { keyId: keyIdHex(context.key.keyId), now: context.now?.() ?? new Date(), expiresDays: context.expiresDays };
}

/** The index update both publishing and promotion make: merge on the current index, sign what is stored. */
function indexUpdate(context: PublishContext, name: string, change: (current: ServiceIndex | undefined) => ServiceIndex) {
  const where = `${context.store.location}/${name}/index.json`;
  return {
    next: (current: string | undefined) => serializeIndex(change(current === undefined ? undefined : parseIndex(current, where))),
    sign: (text: string) => signData(Buffer.from(text), context.key, indexTrustedComment(parseIndex(text, where))),
  };
}

/** Prints a file's progress: its size and the throughput, and the bytes so far for a long multipart upload. */
function uploadLogger(log: (line: string) => void, label: string): { progress: UploadProgress; done: (result: string, bytes: number) => void } {
  const started = Date.now();
  let lastPrint = started;
  return {
    progress: ({ loaded, total }) => {
      if (Date.now() - lastPrint < 1000 || loaded >= total) return;
      lastPrint = Date.now();
      log(`  ${label}: ${formatSize(loaded)} of ${formatSize(total)}`);
    },
    done: (result, bytes) => {
      const ms = Math.max(Date.now() - started, 1);
      log(result === 'same' ? `  ${label}: ${formatSize(bytes)}, already published with the same sha256` : `  ${label}: ${formatSize(bytes)} in ${formatSeconds(ms)} (${formatSize((bytes * 1000) / ms)}/s)`);
    },
  };
}

export interface PublishResult {
  name: string;
  version: string;
  platforms: string[];
  index: ServiceIndex;
}

/**
 * Publishes one version: every binary, its .sha256, its manifest (platform named the contract's way) and the
 * manifest's signature under `<name>/<version>/`, then the index, last, so a version appears only once
 * all of its files are stored. A publish stopped half-way leaves no index entry; the next one finds the
 * same bytes stored and completes it.
 */
export async function publishRelease(
  context: PublishContext,
  release: { name: string; version?: string; channel: string; artifacts: DistArtifact[]; report?: string },
): Promise<PublishResult> {
  const { store, key, log } = context;
  const { name, channel, artifacts } = release;
  if (!artifacts.length) throw new StigmerError(`no binary of ${name} to publish: run build-binary first.`);
  const versions = [...new Set(artifacts.map((a) => a.manifest.version))];
  if (versions.length > 1) throw new StigmerError(`the binaries of ${name} were built as different versions (${versions.join(', ')}): rebuild them all.`);
  const version = versions[0];
  if (release.version && release.version !== version) {
    throw new StigmerError(`--version is ${release.version} but the binaries of ${name} were built as ${version}: set the service's version and rebuild, or drop --version.`);
  }
  if (!/^[0-9A-Za-z][0-9A-Za-z.+_-]*$/.test(version)) throw new StigmerError(`version '${version}' of ${name} cannot name a folder in the store: use a version such as 1.2.0.`);
  // Checked before anything is uploaded: a report of another build never lands beside these binaries.
  const report = release.report ? await readReportToPublish(release.report, name, version, artifacts) : undefined;
  log(`publishing ${name} ${version} (${artifacts.map((a) => a.platform).join(', ')}${report ? ', with its report' : ''}) to ${store.location}, channel ${channel}`);
  const platforms: Record<string, PlatformEntry> = {};
  for (const artifact of artifacts) {
    const { manifest, platform } = artifact;
    if (manifest.name !== name) throw new StigmerError(`${path.basename(artifact.binary)}.manifest.json names '${manifest.name}', not '${name}': rebuild it.`);
    const file = storedFileName(name, platform, manifest.layout ?? 'onefile');
    const folder = `${name}/${version}`;
    // The published manifest says the contract's platform words, and names the stored file.
    const [contractOs, contractArch] = platform.split('-');
    const publishedManifest = Buffer.from(`${JSON.stringify({ ...manifest, os: contractOs, arch: contractArch, platform, file }, null, 2)}\n`);
    const objects: { key: string; source: Parameters<PublishStore['putImmutable']>[1]; bytes: number }[] = [
      { key: `${folder}/${file}`, source: { file: artifact.binary, size: manifest.size }, bytes: manifest.size },
      { key: `${folder}/${file}.sha256`, source: { body: Buffer.from(`${manifest.sha256}  ${file}\n`) }, bytes: 0 },
      { key: `${folder}/${file}.manifest.json`, source: { body: publishedManifest }, bytes: publishedManifest.length },
      {
        key: `${folder}/${file}.manifest.json.minisig`,
        source: { body: Buffer.from(signData(publishedManifest, key, manifestTrustedComment(name, version, platform))) },
        bytes: 0,
      },
    ];
    for (const object of objects) {
      const body = 'body' in object.source ? object.source.body : undefined;
      const sha256 = body ? createHash('sha256').update(body).digest('hex') : manifest.sha256;
      const logger = uploadLogger(log, object.key);
      const result = await store.putImmutable(object.key, object.source, sha256, logger.progress);
      logger.done(result, body ? body.length : object.bytes);
    }
    platforms[platform] = { file: `${version}/${file}`, size: manifest.size, sha256: manifest.sha256, layout: manifest.layout ?? 'onefile', entrypoint: manifest.entrypoint ?? null };
  }
  let reportEntry: ReportEntry | undefined;
  if (report) {
    const reportKey = publishedReportKey(name, version);
    const sha256 = createHash('sha256').update(report.body).digest('hex');
    const logger = uploadLogger(log, reportKey);
    try {
      logger.done(await store.putImmutable(reportKey, { body: report.body }, sha256), report.body.length);
    } catch (error) {
      // Jobs of a CI matrix each have a report of their own platform's binary: one of them publishes it.
      if (error instanceof StigmerError && error.message.includes('refusing other bytes')) {
        throw new StigmerError(`${error.message.replace(/\.$/, '')}; a version has one report: publish it (--report) from one job only.`);
      }
      throw error;
    }
    reportEntry = { file: `${version}/${path.basename(reportKey)}`, size: report.body.length, sha256, platform: report.platform };
  }
  await pauseBeforeIndex(log);
  let index!: ServiceIndex;
  await store.updateIndex(
    `${name}/index.json`,
    indexUpdate(context, name, (current) => (index = addRelease(current, { name, version, channel, platforms, report: reportEntry }, indexWrite(context)))),
  );
  log(`${name}/index.json: serial ${index.serial}, ${channel} -> ${version}, expires ${index.expires}`);
  return { name, version, platforms: Object.keys(platforms), index };
}

/** Where a version's size report is stored: `<name>/<version>/<name>.report.json`, beside its binaries. */
export function publishedReportKey(name: string, version: string): string {
  return `${name}/${version}/${name}.report.json`;
}

/**
 * dist/<name>.report.json, checked to describe one of the binaries being published (same file name, size and
 * version), so the stored report is the one of the stored binary.
 */
async function readReportToPublish(file: string, name: string, version: string, artifacts: DistArtifact[]): Promise<{ body: Buffer; platform: string }> {
  const shown = path.relative(process.cwd(), file) || file;
  let body: Buffer;
  try {
    body = await fs.readFile(file);
  } catch {
    throw new StigmerError(`${shown} does not exist, and --report asks to publish it: run build-binary first (it writes the report beside the binary), or drop --report.`);
  }
  let report: { name?: string; binary?: string; version?: string; fileSize?: number };
  try {
    report = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new StigmerError(`${shown} is not JSON (${(error as Error).message.split('\n')[0]}): run build-binary again.`);
  }
  const described = artifacts.find((a) => path.basename(a.binary) === report.binary);
  if (!described) {
    throw new StigmerError(`${shown} describes ${report.binary}, which this publish does not include (${artifacts.map((a) => path.basename(a.binary)).join(', ')}): publish the report from the job that publishes ${report.binary}, or drop --report.`);
  }
  if (report.name !== name || report.version !== version || report.fileSize !== described.manifest.size) {
    throw new StigmerError(`${shown} describes another build than dist/${report.binary} (${report.name} ${report.version}, ${report.fileSize} bytes): run build-binary again.`);
  }
  return { body, platform: described.platform };
}

/** Moves a channel to a version already published: only the index is rewritten, nothing is rebuilt. */
export async function promoteRelease(context: PublishContext, request: { name: string; version: string; channel: string }): Promise<ServiceIndex> {
  let index!: ServiceIndex;
  await context.store.updateIndex(
    `${request.name}/index.json`,
    indexUpdate(context, request.name, (current) => (index = promote(current, request.name, request.version, request.channel, indexWrite(context)))),
  );
  context.log(`${request.name}/index.json: serial ${index.serial}, ${request.channel} -> ${request.version} (promoted), expires ${index.expires}`);
  return index;
}

/** The version a channel points at in the store (for nx release's "current version from the registry"). */
export async function channelVersion(store: PublishStore, name: string, channel: string): Promise<string | undefined> {
  const text = await store.readText(`${name}/index.json`);
  return text === undefined ? undefined : parseIndex(text, `${store.location}/${name}/index.json`).channels[channel];
}

/**
 * For the e2e test of a publish killed between its files and its index: with STIGMER_TEST_PAUSE_BEFORE_INDEX
 * set, the publish says so and waits there (the test kills it at that line). Unset, this does nothing.
 */
async function pauseBeforeIndex(log: (line: string) => void): Promise<void> {
  const seconds = Number(process.env.STIGMER_TEST_PAUSE_BEFORE_INDEX);
  if (!seconds) return;
  log(`files stored; pausing ${seconds}s before the index (STIGMER_TEST_PAUSE_BEFORE_INDEX)`);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}
