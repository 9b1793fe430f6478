import { createHash } from 'node:crypto';
import { StigmerError } from '../utils/errors';
import { parseIndex } from './service-index';
import { PublishStore } from './store';

export interface PublishedReport {
  /** The report's JSON text, as publish-binary --report stored it. */
  text: string;
  version: string;
  /** For messages and the comparison's header: `gw 1.2.0 (latest) in s3://bucket/bin`. */
  source: string;
}

/**
 * The size report published with a version, or with the version a channel points at: the service's index
 * names the version and the report's file and sha256; the report is read from `<name>/<version>/<name>.report.json`.
 * `publishCommand` is how the user publishes (for the hint when the report was not published).
 */
export async function readPublishedReport(store: PublishStore, name: string, versionOrChannel: string, publishCommand: string): Promise<PublishedReport> {
  const where = `${store.location}/${name}/index.json`;
  const indexText = await store.readText(`${name}/index.json`);
  if (indexText === undefined) {
    throw new StigmerError(`--compare ${versionOrChannel}: nothing of ${name} is published in ${store.location} (no ${name}/index.json): publish a version with ${publishCommand} --report first, or give the path of a .report.json.`);
  }
  const index = parseIndex(indexText, where);
  const version = index.versions[versionOrChannel] ? versionOrChannel : index.channels[versionOrChannel];
  if (!version || !index.versions[version]) {
    const channels = Object.entries(index.channels).map(([channel, v]) => `${channel} -> ${v}`);
    throw new StigmerError(
      `--compare ${versionOrChannel}: ${name} ${versionOrChannel} is not published in ${store.location} (versions: ${Object.keys(index.versions).join(', ') || 'none'}; channels: ${channels.join(', ') || 'none'}): give a published version, a channel, or the path of a .report.json.`,
    );
  }
  const entry = index.versions[version].report;
  if (!entry) {
    throw new StigmerError(
      `--compare ${versionOrChannel}: ${name} ${version} was published without its size report: publish versions with ${publishCommand} --report (or "report": true in its options) to compare with them later; for this one, give the path of its .report.json.`,
    );
  }
  const text = await store.readText(`${name}/${entry.file}`);
  if (text === undefined) {
    throw new StigmerError(`${store.location}/${name}/${entry.file} is listed in ${name}/index.json but missing from the store: publish ${name} ${version} again with --report to restore it.`);
  }
  const sha256 = createHash('sha256').update(text).digest('hex');
  if (sha256 !== entry.sha256) {
    throw new StigmerError(`${store.location}/${name}/${entry.file} has sha256 ${sha256}, not ${entry.sha256} as ${name}/index.json says: the store was changed behind publish-binary; restore the object from the store's history.`);
  }
  const channel = version === versionOrChannel ? '' : ` (${versionOrChannel})`;
  return { text, version, source: `${name} ${version}${channel} in ${store.location}` };
}
