import { execFile, spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { formatPublicKey, formatSecretKey, generateKeyPair, keysMatch, parsePublicKey, parseSecretKey, signData, verifyData } from './minisign';

// The real minisign (Debian package, installed by scripts/test-tools.js) checks both directions.
const MINISIGN = 'minisign';

function minisign(args: string[], cwd: string) {
  const result = spawnSync(MINISIGN, args, { cwd, encoding: 'utf8' });
  if (result.error) throw new Error(`minisign is missing (${result.error.message}): run node scripts/test-tools.js`);
  return result;
}

describe('minisign format', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-minisign-'));
  });
  afterEach(() => fs.removeSync(dir));

  it('signs what `minisign -V` verifies, with the trusted comment bound to the signature', () => {
    const key = generateKeyPair();
    fs.writeFileSync(path.join(dir, 'k.pub'), formatPublicKey(key));
    const data = Buffer.from('{"name":"svc","version":"1.0.0"}\n');
    fs.writeFileSync(path.join(dir, 'm.json'), data);
    fs.writeFileSync(path.join(dir, 'm.json.minisig'), signData(data, key, 'svc 1.0.0 linux-amd64'));
    const ok = minisign(['-V', '-p', 'k.pub', '-m', 'm.json'], dir);
    expect(ok.stderr + ok.stdout).toContain('Trusted comment: svc 1.0.0 linux-amd64');
    expect(ok.status).toBe(0);

    // Other bytes, or a comment moved from another signature, fail the real tool.
    fs.writeFileSync(path.join(dir, 'm.json'), Buffer.from('{"name":"svc","version":"1.0.1"}\n'));
    expect(minisign(['-V', '-p', 'k.pub', '-m', 'm.json'], dir).status).not.toBe(0);
    fs.writeFileSync(path.join(dir, 'm.json'), data);
    const other = signData(data, key, 'svc 2.0.0 linux-amd64').split('\n');
    const forged = signData(data, key, 'svc 1.0.0 linux-amd64').split('\n');
    forged[2] = other[2];
    fs.writeFileSync(path.join(dir, 'm.json.minisig'), forged.join('\n'));
    expect(minisign(['-V', '-p', 'k.pub', '-m', 'm.json'], dir).status).not.toBe(0);
  });

  it('reads the keys `minisign -G -W` makes, and verifies what `minisign -S` signs', () => {
    expect(minisign(['-G', '-W', '-p', 'k.pub', '-s', 'k.key'], dir).status).toBe(0);
    const secret = parseSecretKey(fs.readFileSync(path.join(dir, 'k.key'), 'utf8'));
    const pub = parsePublicKey(fs.readFileSync(path.join(dir, 'k.pub'), 'utf8'));
    expect(keysMatch(secret, pub)).toBe(true);
    fs.writeFileSync(path.join(dir, 'f'), 'payload');
    expect(minisign(['-S', '-s', 'k.key', '-t', 'svc 3', '-m', 'f'], dir).status).toBe(0);
    expect(verifyData(Buffer.from('payload'), fs.readFileSync(path.join(dir, 'f.minisig'), 'utf8'), pub)).toBe('svc 3');
    // ...and what this module signs with minisign's key verifies with minisign's public key.
    fs.writeFileSync(path.join(dir, 'f.minisig'), signData(Buffer.from('payload'), secret, 'svc 4'));
    expect(minisign(['-V', '-p', 'k.pub', '-m', 'f'], dir).status).toBe(0);
  });

  it('writes secret keys `minisign -S` accepts, and refuses a key of another pair', () => {
    const key = generateKeyPair();
    fs.writeFileSync(path.join(dir, 'k.key'), formatSecretKey(key));
    fs.writeFileSync(path.join(dir, 'k.pub'), formatPublicKey(key));
    fs.writeFileSync(path.join(dir, 'f'), 'payload');
    expect(minisign(['-S', '-W', '-s', 'k.key', '-m', 'f'], dir).status).toBe(0);
    expect(minisign(['-V', '-p', 'k.pub', '-m', 'f'], dir).status).toBe(0);
    const reread = parseSecretKey(formatSecretKey(key));
    expect(reread.secretKey.equals(key.secretKey)).toBe(true);
    expect(keysMatch(reread, parsePublicKey(formatPublicKey(generateKeyPair())))).toBe(false);
    // Same id, other key: the stored halves do not match.
    const other = generateKeyPair();
    expect(keysMatch({ ...other, keyId: key.keyId }, key)).toBe(false);
  });

  it('says in one line what is wrong with a key that is not one', () => {
    expect(() => parseSecretKey('not a key!')).toThrow(/not in minisign's format/);
    expect(() => parseSecretKey(formatPublicKey(generateKeyPair()))).toThrow(/not a minisign ed25519 secret key/);
    const damaged = Buffer.from(formatSecretKey(generateKeyPair()).split('\n')[1], 'base64');
    damaged[100] ^= 1;
    expect(() => parseSecretKey(damaged.toString('base64'))).toThrow(/damaged/);
    damaged[2] = 'S'.charCodeAt(0);
    damaged[3] = 'c'.charCodeAt(0);
    expect(() => parseSecretKey(damaged.toString('base64'))).toThrow(/encrypted with a password: remove it with minisign -C -W/);
  });
});

describe('generateKeyPair', () => {
  it('makes thousands of keys in each of four processes without hanging (Node 20 deadlocked in a JWK export)', async () => {
    // Processes of their own with a timeout: a deadlock blocks the thread, so jest's own timeout never fires. With
    // a small young generation, the old code (generateKeyPairSync, then a JWK export) hung in about two of three
    // such processes, most within 200 keys; four of them all finish only if none hangs.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-keys-'));
    try {
      const bundle = path.join(dir, 'minisign.js');
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      require('esbuild').buildSync({ entryPoints: [path.join(__dirname, 'minisign.ts')], bundle: true, platform: 'node', outfile: bundle, logLevel: 'silent' });
      const child = (index: number) => {
        const progress = path.join(dir, `progress-${index}`);
        const code = [
          `const fs = require('node:fs'); const { generateKeyPair } = require(${JSON.stringify(bundle)}); const ids = new Set();`,
          `for (let i = 0; i < 3000; i++) { ids.add(generateKeyPair().publicKey.toString('hex')); if (i % 100 === 0) fs.writeFileSync(${JSON.stringify(progress)}, String(i)); }`,
          'console.log(ids.size);',
        ].join('\n');
        return new Promise<string>((resolve) => {
          execFile(process.execPath, ['--max-semi-space-size=1', '-e', code], { encoding: 'utf8', timeout: 60_000 }, (error, stdout) => {
            const at = fs.existsSync(progress) ? fs.readFileSync(progress, 'utf8') : '0';
            resolve(error ? `hung or failed after ${at} keys (${error.signal ?? error.message})` : stdout.trim());
          });
        });
      };
      expect(await Promise.all([0, 1, 2, 3].map(child))).toEqual(['3000', '3000', '3000', '3000']);
    } finally {
      fs.removeSync(dir);
    }
  }, 120_000);
});
