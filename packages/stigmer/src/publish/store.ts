import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { sha256File } from '../utils/artifacts';
import { StigmerError } from '../utils/errors';
import { withFileLock } from '../utils/lock';

/** What is written: a file on disk (streamed, multipart when large) or bytes in memory. */
export type Source = { file: string; size: number } | { body: Buffer };

export interface UploadProgress {
  (event: { key: string; loaded: number; total: number }): void;
}

/** The result of writing an immutable object: written now, or there already with the same bytes. */
export type ImmutableResult = 'stored' | 'same';

export interface IndexUpdate {
  /** The next index text from the current one (undefined: none yet). May run several times (conflicts). */
  next(current: string | undefined): string;
  /** The `.minisig` text of an index text (which may be another writer's, when it won a race). */
  sign(indexText: string): string;
}

/**
 * Where published binaries live: keys are `<name>/<version>/<file>` and `<name>/index.json`, under the
 * store's prefix. Objects under a version are written once; the index is replaced only by a conditional write.
 */
export interface PublishStore {
  /** e.g. s3://bucket/prefix or a folder path: for messages. */
  readonly location: string;
  /** Writes an object that never changes: the same bytes again are a no-op, other bytes are refused. */
  putImmutable(key: string, source: Source, sha256: string, progress?: UploadProgress): Promise<ImmutableResult>;
  /** The object's text, or undefined when there is none. */
  readText(key: string): Promise<string | undefined>;
  /** Read, change, conditionally replace `key` (retrying on conflicts), then write its signature `key`.minisig. */
  updateIndex(key: string, update: IndexUpdate): Promise<string>;
  /** Closes connections, so the process can exit. */
  close(): void;
}

export interface StoreOptions {
  /** S3 endpoint (R2, MinIO, ...); else the SDK's AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, else AWS. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing: default true whenever an endpoint is set (R2, MinIO, versitygw). */
  forcePathStyle?: boolean;
}

/** `s3://bucket/prefix` -> S3; `file://path` or a plain path (relative to the workspace) -> a folder. */
export function openStore(location: string, workspaceRoot: string, options: StoreOptions = {}): PublishStore {
  if (!location) throw new StigmerError('no store to publish into: set "publish": { "store": "s3://bucket/prefix" } in the stigmer plugin options of nx.json, or pass --store.');
  const s3 = location.match(/^s3:\/\/([^/]+)\/?(.*)$/);
  if (s3) return new S3Store(s3[1], s3[2].replace(/\/+$/, ''), options);
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(location) && !location.startsWith('file://')) {
    throw new StigmerError(`store '${location}' is neither s3://bucket/prefix nor a folder (file://path or a path): fix the "store" option.`);
  }
  const folder = location.startsWith('file://') ? decodeURIComponent(location.slice('file://'.length)) : location;
  return new FolderStore(path.resolve(workspaceRoot, folder));
}

const CONFLICT_RETRIES = 50;

async function backoff(attempt: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random())));
}

function refusal(location: string, key: string, stored: string, offered: string): StigmerError {
  return new StigmerError(
    `${location}/${key} is published with sha256 ${stored}; refusing other bytes (sha256 ${offered}): a published version never changes, so publish a new version.`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// S3-compatible stores

interface S3ErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: { code?: string };
  errors?: { code?: string }[];
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'TimeoutError']);

export class S3Store implements PublishStore {
  readonly location: string;
  private readonly client: S3Client;
  private readonly endpoint: string | undefined;

  constructor(
    private readonly bucket: string,
    private readonly prefix: string,
    options: StoreOptions,
  ) {
    this.location = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
    this.endpoint = options.endpoint || process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;
    const region = options.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || (this.endpoint ? 'us-east-1' : undefined);
    this.client = new S3Client({
      // Credentials: the SDK's standard chain (AWS_ACCESS_KEY_ID/..., AWS_PROFILE, SSO, instance roles).
      ...(region ? { region } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? !!this.endpoint,
      requestHandler: { connectionTimeout: 10_000 },
    });
  }

  close(): void {
    this.client.destroy();
  }

  private key(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  /** One line for any failure of the SDK: what is wrong with the store and how to fix it. */
  private explain(error: unknown, doing: string): Error {
    if (error instanceof StigmerError) return error;
    const e = error as S3ErrorShape;
    const networkCode = [e.code, e.cause?.code, ...(e.errors ?? []).map((x) => x.code), e.name, (e.message ?? '').match(/\b(E[A-Z_]+)\b/)?.[1]].find((c) => c && NETWORK_CODES.has(c));
    const where = `${this.location}${this.endpoint ? ` at ${this.endpoint}` : ''}`;
    if (e.name === 'CredentialsProviderError' || /Could not load credentials/i.test(e.message ?? '')) {
      return new StigmerError(`no AWS credentials to ${doing} ${where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the publishing environment.`);
    }
    if (/Region is missing/i.test(e.message ?? '')) return new StigmerError(`no AWS region for ${where}: set AWS_REGION or the store's "region" option.`);
    if (networkCode || /getaddrinfo|socket hang up/i.test(e.message ?? '')) {
      return new StigmerError(`cannot reach the store ${where} (${networkCode ?? e.message}): check the "endpoint" option or AWS_ENDPOINT_URL_S3, and that the server is up.`);
    }
    if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidClientTokenId'].includes(e.name ?? '')) {
      return new StigmerError(`the store ${where} refused the credentials (${e.name}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.`);
    }
    if (e.name === 'NoSuchBucket') return new StigmerError(`bucket '${this.bucket}' does not exist at ${where}: create it, or fix the "store" option.`);
    if (e.name === 'AccessDenied' || e.$metadata?.httpStatusCode === 403) {
      return new StigmerError(`the store ${where} denied access to ${doing} (${e.name}): give these credentials s3:GetObject and s3:PutObject on the prefix.`);
    }
    return new StigmerError(`cannot ${doing} ${where}: ${e.name ?? 'error'}: ${(e.message ?? String(error)).split('\n')[0]}`);
  }

  private status(error: unknown): number | undefined {
    return (error as S3ErrorShape).$metadata?.httpStatusCode;
  }

  private async head(key: string): Promise<{ etag?: string; sha256?: string } | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return { etag: head.ETag, sha256: head.Metadata?.sha256 };
    } catch (error) {
      // HEAD errors carry no body: only the status says "missing".
      if (this.status(error) === 404) return undefined;
      throw this.explain(error, 'read');
    }
  }

  private async get(key: string): Promise<{ body: Buffer; etag?: string } | undefined> {
    try {
      const result = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return { body: Buffer.from(await result.Body!.transformToByteArray()), etag: result.ETag };
    } catch (error) {
      if (this.status(error) === 404) return undefined;
      throw this.explain(error, 'read');
    }
  }

  /** The sha256 of a stored object: from the metadata publish wrote, else by reading it. */
  private async storedSha256(key: string): Promise<string | undefined> {
    const head = await this.head(key);
    if (!head) return undefined;
    if (head.sha256) return head.sha256;
    const { createHash } = await import('node:crypto');
    const object = await this.get(key);
    return object && createHash('sha256').update(object.body).digest('hex');
  }

  async putImmutable(key: string, source: Source, sha256: string, progress?: UploadProgress): Promise<ImmutableResult> {
    const existing = await this.storedSha256(key);
    if (existing) {
      if (existing === sha256) return 'same';
      throw refusal(this.location, key, existing, sha256);
    }
    const total = 'file' in source ? source.size : source.body.length;
    const upload = new Upload({
      client: this.client,
      // 'If-None-Match: *' on the put (or the multipart completion): of two writers of one key, one wins.
      params: {
        Bucket: this.bucket,
        Key: this.key(key),
        Body: 'file' in source ? fs.createReadStream(source.file) : source.body,
        ContentLength: total,
        Metadata: { sha256 },
        IfNoneMatch: '*',
      },
      partSize: 8 * 1024 * 1024,
      queueSize: 4,
      leavePartsOnError: false,
    });
    if (progress) upload.on('httpUploadProgress', (event) => progress({ key, loaded: event.loaded ?? 0, total }));
    try {
      await upload.done();
      return 'stored';
    } catch (error) {
      const status = this.status(error);
      if (status === 412 || status === 409) {
        // Another publisher wrote it meanwhile: the same rule as if it had been there first.
        const stored = await this.storedSha256(key);
        if (stored === sha256) return 'same';
        throw refusal(this.location, key, stored ?? 'unknown', sha256);
      }
      throw this.explain(error, 'write to');
    }
  }

  async readText(key: string): Promise<string | undefined> {
    return (await this.get(key))?.body.toString('utf8');
  }

  async updateIndex(key: string, update: IndexUpdate): Promise<string> {
    let written: string | undefined;
    for (let attempt = 0; !written; attempt++) {
      if (attempt >= CONFLICT_RETRIES) throw new StigmerError(`${this.location}/${key} kept changing under ${CONFLICT_RETRIES} attempts to update it: run the publish again.`);
      const current = await this.get(key);
      const text = update.next(current?.body.toString('utf8'));
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.key(key),
            Body: Buffer.from(text),
            ContentType: 'application/json',
            CacheControl: 'no-cache',
            // If-Match on a missing key answers 404, so the first index is created with If-None-Match.
            ...(current?.etag ? { IfMatch: current.etag } : { IfNoneMatch: '*' }),
          }),
        );
        written = text;
      } catch (error) {
        const status = this.status(error);
        if (status !== 412 && status !== 409 && status !== 404) throw this.explain(error, 'write the index of');
        await backoff(attempt);
      }
    }
    await this.signCurrentIndex(key, update);
    return written;
  }

  /**
   * index.json and its .minisig are two objects. Whoever writes a signature checks afterwards that the
   * index is still the one it signed, and signs again if not, so the last signature written is always the
   * current index's, whichever of two racing publishers finishes last.
   */
  private async signCurrentIndex(key: string, update: IndexUpdate): Promise<void> {
    for (let attempt = 0; attempt < CONFLICT_RETRIES; attempt++) {
      const current = await this.get(key);
      if (!current) throw new StigmerError(`${this.location}/${key} disappeared while it was being signed: run the publish again.`);
      try {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(`${key}.minisig`), Body: Buffer.from(update.sign(current.body.toString('utf8'))), CacheControl: 'no-cache' }));
      } catch (error) {
        throw this.explain(error, 'write the index signature of');
      }
      if ((await this.head(key))?.etag === current.etag) return;
    }
    throw new StigmerError(`${this.location}/${key} kept changing while it was being signed: run the publish again.`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Folder stores (a mounted share, air-gapped setups)

export class FolderStore implements PublishStore {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = root;
  }

  close(): void {}

  private file(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  private async ensureFolder(dir: string): Promise<void> {
    try {
      await fs.ensureDir(dir);
    } catch (error) {
      throw new StigmerError(`cannot write into the store folder ${this.root} (${(error as NodeJS.ErrnoException).code}): make it a writable folder or fix the "store" option.`);
    }
  }

  async putImmutable(key: string, source: Source, sha256: string, progress?: UploadProgress): Promise<ImmutableResult> {
    const target = this.file(key);
    const compare = async (): Promise<ImmutableResult> => {
      const stored = await sha256File(target);
      if (stored === sha256) return 'same';
      throw refusal(this.location, key, stored, sha256);
    };
    if (await fs.pathExists(target)) return compare();
    await this.ensureFolder(path.dirname(target));
    const temporary = `${target}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      if ('file' in source) {
        await fs.copyFile(source.file, temporary);
        progress?.({ key, loaded: source.size, total: source.size });
      } else {
        await fs.writeFile(temporary, source.body);
      }
      try {
        // A hard link creates the name only if it is free: of two writers, one wins, and a reader never sees a partial file.
        await fs.link(temporary, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return compare();
        throw error;
      }
      return 'stored';
    } finally {
      await fs.remove(temporary);
    }
  }

  async readText(key: string): Promise<string | undefined> {
    try {
      return await fs.readFile(this.file(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Replaces a file in one rename: readers see the old or the new content, never a partial one. */
  private async replace(file: string, text: string): Promise<void> {
    const temporary = `${file}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
    await fs.writeFile(temporary, text);
    await fs.rename(temporary, file);
  }

  async updateIndex(key: string, update: IndexUpdate): Promise<string> {
    const file = this.file(key);
    await this.ensureFolder(path.dirname(file));
    // The lock orders writers; the renames keep readers (which take no lock) away from half-written files.
    return withFileLock(`${file}.lock`, async () => {
      const text = update.next(await this.readText(key));
      await this.replace(file, text);
      await this.replace(`${file}.minisig`, update.sign(text));
      return text;
    }, 5 * 60 * 1000);
  }
}
