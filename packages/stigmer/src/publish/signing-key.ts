import * as path from 'node:path';
import * as fs from 'fs-extra';
import { StigmerError } from '../utils/errors';
import { keyIdHex, keysMatch, MinisignSecretKey, parsePublicKey, parseSecretKey } from './minisign';

/** The environment variables the secret key comes from (CI secrets pass them through `env:`). */
export const SIGNING_KEY_ENV = 'STIGMER_SIGNING_KEY';
export const SIGNING_KEY_FILE_ENV = 'STIGMER_SIGNING_KEY_FILE';
/** The workspace file with the public key, unless the "publicKey" option names another. */
export const DEFAULT_PUBLIC_KEY = 'stigmer-signing.pub';

/**
 * The secret key that signs: STIGMER_SIGNING_KEY (the key file's content), else the file STIGMER_SIGNING_KEY_FILE
 * or the "signingKeyFile" option names. It is read from the environment at run time only: publish targets are
 * never cached, and no message prints it. It must be the pair of the workspace's public key, so that what
 * verifiers trust is what signs.
 */
export function loadSigningKey(workspaceRoot: string, options: { signingKeyFile?: string; publicKey?: string }, env = process.env): MinisignSecretKey {
  const keyFile = env[SIGNING_KEY_FILE_ENV] || options.signingKeyFile;
  let text = env[SIGNING_KEY_ENV];
  let what = `the secret key in ${SIGNING_KEY_ENV}`;
  if (!text && keyFile) {
    const file = path.resolve(workspaceRoot, keyFile);
    what = `the secret key file ${file}`;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new StigmerError(`cannot read ${what} (${(error as NodeJS.ErrnoException).code}): fix ${SIGNING_KEY_FILE_ENV} or the "signingKeyFile" option.`);
    }
  }
  if (!text) {
    throw new StigmerError(`no signing key: set ${SIGNING_KEY_ENV} to the secret key file's content (a CI secret) or ${SIGNING_KEY_FILE_ENV} to its path; nx g stigmer:signing-key makes a key pair.`);
  }
  const key = parseSecretKey(text, what);
  const publicKeyFile = path.resolve(workspaceRoot, options.publicKey ?? DEFAULT_PUBLIC_KEY);
  let publicText: string;
  try {
    publicText = fs.readFileSync(publicKeyFile, 'utf8');
  } catch {
    throw new StigmerError(`the public key ${path.relative(workspaceRoot, publicKeyFile)} is missing: commit the one nx g stigmer:signing-key wrote, or set the "publicKey" option.`);
  }
  const publicKey = parsePublicKey(publicText, path.relative(workspaceRoot, publicKeyFile));
  if (!keysMatch(key, publicKey)) {
    throw new StigmerError(
      `wrong secret key: ${what} (key id ${keyIdHex(key.keyId)}) is not the pair of ${path.relative(workspaceRoot, publicKeyFile)} (key id ${keyIdHex(publicKey.keyId)}): set the secret that goes with the workspace's public key.`,
    );
  }
  return key;
}
