import * as os from 'node:os';
import * as path from 'node:path';
import { GeneratorCallback, logger, readNxJson, Tree, updateNxJson } from '@nx/devkit';
import * as fs from 'fs-extra';
import { formatPublicKey, formatSecretKey, generateKeyPair, keyIdHex } from '../../publish/minisign';
import { DEFAULT_PUBLIC_KEY, SIGNING_KEY_ENV } from '../../publish/signing-key';
import { StigmerError } from '../../utils/errors';
import { initGenerator, PLUGIN_NAME } from '../init/generator';

export interface SigningKeyOptions {
  publicKey?: string;
  secretKeyFile?: string;
  store?: string;
  force?: boolean;
}

/**
 * `nx g stigmer:signing-key`: a minisign key pair. The public key is written into the workspace (tree), the
 * secret key outside it, once the tree is written (nothing with --dry-run), with mode 0600; its content is
 * never printed, only where it is and how to hand it to CI.
 */
export async function signingKeyGenerator(tree: Tree, options: SigningKeyOptions = {}): Promise<GeneratorCallback> {
  const publicKeyPath = (options.publicKey ?? DEFAULT_PUBLIC_KEY).replace(/\\/g, '/');
  if (tree.exists(publicKeyPath) && !options.force) {
    throw new StigmerError(`${publicKeyPath} exists already: keep it (its secret key signs), or pass --force to make a new pair (what the old key signed then verifies only with the old public key).`);
  }
  const key = generateKeyPair();
  const keyId = keyIdHex(key.keyId);
  const workspace = path.basename(tree.root);
  const secretKeyFile = path.resolve(options.secretKeyFile ?? path.join(os.homedir(), '.stigmer', 'keys', `${workspace}-${keyId}.key`));
  const relative = path.relative(tree.root, secretKeyFile);
  if (!relative.startsWith('..') && !path.isAbsolute(relative)) {
    throw new StigmerError(`the secret key must not go inside the workspace (${relative}), where git or the Nx cache could take it: give a --secretKeyFile outside ${tree.root}.`);
  }
  if (fs.existsSync(secretKeyFile)) throw new StigmerError(`${secretKeyFile} exists already: give another --secretKeyFile.`);
  tree.write(publicKeyPath, formatPublicKey(key));
  await initGenerator(tree, { skipFormat: true });
  if (options.store || publicKeyPath !== DEFAULT_PUBLIC_KEY) {
    const nxJson = readNxJson(tree) ?? {};
    nxJson.plugins = (nxJson.plugins ?? []).map((entry) => {
      if (typeof entry === 'string' ? entry !== PLUGIN_NAME : entry.plugin !== PLUGIN_NAME) return entry;
      const pluginOptions = (typeof entry === 'string' ? {} : (entry.options ?? {})) as Record<string, unknown>;
      const publish = { ...((pluginOptions.publish as Record<string, unknown>) ?? {}) };
      if (options.store) publish.store = options.store;
      if (publicKeyPath !== DEFAULT_PUBLIC_KEY) publish.publicKey = publicKeyPath;
      return { plugin: PLUGIN_NAME, options: { ...pluginOptions, publish } };
    });
    updateNxJson(tree, nxJson);
  }
  return () => {
    fs.ensureDirSync(path.dirname(secretKeyFile), { mode: 0o700 });
    fs.writeFileSync(secretKeyFile, formatSecretKey(key), { mode: 0o600, flag: 'wx' });
    logger.info(`stigmer: signing key ${keyId}: public key in ${publicKeyPath} (commit it), secret key in ${secretKeyFile} (never commit it).`);
    logger.info(`stigmer: store the secret key as a CI secret, e.g. gh secret set ${SIGNING_KEY_ENV} < ${secretKeyFile}; publish-binary reads it from the ${SIGNING_KEY_ENV} environment variable.`);
  };
}

export default signingKeyGenerator;
