import { createHash, createPrivateKey, createPublicKey, randomBytes, sign as ed25519Sign, timingSafeEqual, verify as ed25519Verify } from 'node:crypto';
import { blake2b } from '@noble/hashes/blake2b';
import { StigmerError } from '../utils/errors';

/**
 * minisign's formats (https://jedisct1.github.io/minisign/), with Node's ed25519 and BLAKE2b-512, so that
 * `minisign -V` verifies what publish-binary signs and keys made by `minisign -G` sign here.
 *
 *   public key  base64("Ed" | key id (8) | ed25519 public key (32))
 *   secret key  base64("Ed" | kdf "Sc" or 0 0 | "B2" | salt (32) | opslimit (8) | memlimit (8) | key id, secret key, checksum (104, xor'ed with scrypt when encrypted))
 *   signature   base64("ED" | key id | ed25519(BLAKE2b-512(file)))  then  the trusted comment and
 *               base64(ed25519(signature | trusted comment)), which binds the comment to the signature
 */

export interface MinisignPublicKey {
  /** 8 bytes, as stored. */
  keyId: Buffer;
  publicKey: Buffer;
}

export interface MinisignSecretKey extends MinisignPublicKey {
  /** libsodium's 64-byte secret key: seed | public key. */
  secretKey: Buffer;
}

const SIG_ALG = Buffer.from('Ed');
const PREHASHED_SIG_ALG = Buffer.from('ED');
const KDF_SCRYPT = Buffer.from('Sc');
const KDF_NONE = Buffer.from([0, 0]);
const CHK_ALG = Buffer.from('B2');

/** Key ids as minisign prints them: the 8 bytes as a little-endian number, in upper-case hex. */
export function keyIdHex(keyId: Buffer): string {
  return Buffer.from(keyId).reverse().toString('hex').toUpperCase();
}

/** The base64 line of a key or signature file: the first line that is not a comment. */
function dataLine(text: string, what: string): Buffer {
  const line = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith('untrusted comment:'));
  if (!line || !/^[A-Za-z0-9+/]+=*$/.test(line)) throw new StigmerError(`${what} is not in minisign's format (no base64 line): give the file minisign or nx g stigmer:signing-key wrote.`);
  return Buffer.from(line, 'base64');
}

export function parsePublicKey(text: string, what = 'the public key'): MinisignPublicKey {
  const data = dataLine(text, what);
  if (data.length !== 42 || !data.subarray(0, 2).equals(SIG_ALG)) throw new StigmerError(`${what} is not a minisign ed25519 public key: give the .pub file minisign or nx g stigmer:signing-key wrote.`);
  return { keyId: data.subarray(2, 10), publicKey: data.subarray(10, 42) };
}

export function formatPublicKey(key: MinisignPublicKey): string {
  return `untrusted comment: minisign public key ${keyIdHex(key.keyId)}\n${Buffer.concat([SIG_ALG, key.keyId, key.publicKey]).toString('base64')}\n`;
}

function checksum(keyId: Buffer, secretKey: Buffer): Buffer {
  return Buffer.from(blake2b(Buffer.concat([SIG_ALG, keyId, secretKey]), { dkLen: 32 }));
}

/** A minisign secret key file's text, unencrypted (`minisign -G -W`, or the generator's). */
export function parseSecretKey(text: string, what = 'the secret key'): MinisignSecretKey {
  const data = dataLine(text, what);
  if (data.length !== 158 || !data.subarray(0, 2).equals(SIG_ALG) || !data.subarray(4, 6).equals(CHK_ALG)) {
    throw new StigmerError(`${what} is not a minisign ed25519 secret key: give the secret key file's whole content (or its path), as minisign -G or nx g stigmer:signing-key wrote it.`);
  }
  const kdf = data.subarray(2, 4);
  const keyMaterial = data.subarray(54, 158);
  // CI secrets are protected already; a password would be a second secret to pass and a 1 GiB scrypt to run.
  if (kdf.equals(KDF_SCRYPT)) throw new StigmerError(`${what} is encrypted with a password: remove it with minisign -C -W -s <key file> (keep the file in a CI secret), or make a key with nx g stigmer:signing-key.`);
  if (!kdf.equals(KDF_NONE)) throw new StigmerError(`${what} uses an unknown key derivation '${kdf.toString('latin1')}': make a new key with nx g stigmer:signing-key.`);
  const keyId = keyMaterial.subarray(0, 8);
  const secretKey = keyMaterial.subarray(8, 72);
  const stored = keyMaterial.subarray(72, 104);
  // minisign 0.11 leaves the checksum of an unencrypted key zero; any other value must match.
  if (!stored.equals(Buffer.alloc(32)) && !timingSafeEqual(stored, checksum(keyId, secretKey))) {
    throw new StigmerError(`${what} is damaged (its checksum does not match): copy it again from where it is kept.`);
  }
  return { keyId, secretKey, publicKey: secretKey.subarray(32, 64) };
}

/** An unencrypted secret key file (like `minisign -G -W`), for a CI secret. */
export function formatSecretKey(key: MinisignSecretKey): string {
  const body = Buffer.concat([
    SIG_ALG,
    KDF_NONE,
    CHK_ALG,
    Buffer.alloc(32),
    Buffer.alloc(8),
    Buffer.alloc(8),
    key.keyId,
    key.secretKey,
    checksum(key.keyId, key.secretKey),
  ]);
  return `untrusted comment: minisign secret key ${keyIdHex(key.keyId)} (unencrypted)\n${body.toString('base64')}\n`;
}

/** An Ed25519 private key in PKCS#8 DER is this fixed prefix and the 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function generateKeyPair(): MinisignSecretKey {
  // A random seed rather than generateKeyPairSync and a JWK export: on Node 20 a garbage collection during
  // that export can deadlock the process for good (the export holds the key's lock, which the finalizer of the
  // key-generation job then waits for); nx g stigmer:signing-key was seen hanging so.
  const seed = randomBytes(32);
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const pub = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(-32);
  return { keyId: randomBytes(8), secretKey: Buffer.concat([seed, pub]), publicKey: pub };
}

function nodePrivateKey(key: MinisignSecretKey) {
  return createPrivateKey({
    format: 'jwk',
    key: { kty: 'OKP', crv: 'Ed25519', d: key.secretKey.subarray(0, 32).toString('base64url'), x: key.publicKey.toString('base64url') },
  });
}

function nodePublicKey(key: MinisignPublicKey) {
  return createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: key.publicKey.toString('base64url') } });
}

/** True when the secret key's public half is `publicKey` (the one a workspace publishes for verifiers). */
export function keysMatch(secret: MinisignSecretKey, publicKey: MinisignPublicKey): boolean {
  if (!secret.keyId.equals(publicKey.keyId) || !secret.publicKey.equals(publicKey.publicKey)) return false;
  // The stored public half must belong to the seed: sign and verify once.
  const probe = Buffer.from('stigmer key check');
  return ed25519Verify(null, probe, nodePublicKey(publicKey), ed25519Sign(null, probe, nodePrivateKey(secret)));
}

function blake2b512(data: Buffer): Buffer {
  return createHash('blake2b512').update(data).digest();
}

/** A `.minisig` file's text over `data` (prehashed, as minisign 0.10+ signs by default). */
export function signData(data: Buffer, key: MinisignSecretKey, trustedComment: string): string {
  if (/[\r\n]/.test(trustedComment)) throw new StigmerError('a trusted comment must be one line.');
  const privateKey = nodePrivateKey(key);
  const signature = ed25519Sign(null, blake2b512(data), privateKey);
  const globalSignature = ed25519Sign(null, Buffer.concat([signature, Buffer.from(trustedComment)]), privateKey);
  return [
    `untrusted comment: signature from stigmer, key ${keyIdHex(key.keyId)}`,
    Buffer.concat([PREHASHED_SIG_ALG, key.keyId, signature]).toString('base64'),
    `trusted comment: ${trustedComment}`,
    globalSignature.toString('base64'),
    '',
  ].join('\n');
}

/** Verifies a `.minisig` over `data`; returns the trusted comment, or throws saying what does not hold. */
export function verifyData(data: Buffer, signatureText: string, key: MinisignPublicKey): string {
  const lines = signatureText.split(/\r?\n/);
  const sig = Buffer.from(lines[1] ?? '', 'base64');
  const trusted = (lines[2] ?? '').match(/^trusted comment: (.*)$/);
  const global = Buffer.from(lines[3] ?? '', 'base64');
  if (sig.length !== 74 || !trusted || global.length !== 64) throw new StigmerError('the signature is not in minisign format.');
  if (!sig.subarray(2, 10).equals(key.keyId)) throw new StigmerError(`the signature is by key ${keyIdHex(sig.subarray(2, 10))}, not ${keyIdHex(key.keyId)}.`);
  const prehashed = sig.subarray(0, 2).equals(PREHASHED_SIG_ALG);
  const publicKey = nodePublicKey(key);
  if (!ed25519Verify(null, prehashed ? blake2b512(data) : data, publicKey, sig.subarray(10))) throw new StigmerError('the signature does not match the data.');
  if (!ed25519Verify(null, Buffer.concat([sig.subarray(10), Buffer.from(trusted[1])]), publicKey, global)) throw new StigmerError('the trusted comment does not match its signature.');
  return trusted[1];
}
