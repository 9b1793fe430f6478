import * as os from 'node:os';
import * as path from 'node:path';
import { readNxJson, Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import * as fs from 'fs-extra';
import { keysMatch, parsePublicKey, parseSecretKey } from '../../publish/minisign';
import { signingKeyGenerator } from './generator';

describe('nx g stigmer:signing-key', () => {
  let tree: Tree;
  let dir: string;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-keys-'));
  });
  afterEach(() => fs.removeSync(dir));

  it('writes the public key into the workspace, the secret key (mode 0600) outside it only when the tree is written, and the store into nx.json', async () => {
    const secretKeyFile = path.join(dir, 'keys', 'ci.key');
    const done = await signingKeyGenerator(tree, { secretKeyFile, store: 's3://bucket/bin' });
    const publicKey = parsePublicKey(tree.read('stigmer-signing.pub', 'utf-8')!);
    expect(fs.existsSync(secretKeyFile)).toBe(false);
    done();
    expect(fs.statSync(secretKeyFile).mode & 0o777).toBe(0o600);
    expect(keysMatch(parseSecretKey(fs.readFileSync(secretKeyFile, 'utf8')), publicKey)).toBe(true);
    const plugin = readNxJson(tree)!.plugins!.find((p) => typeof p !== 'string' && p.plugin === 'stigmer') as { options: { publish: unknown } };
    expect(plugin.options.publish).toEqual({ store: 's3://bucket/bin' });
  });

  it('refuses a secret key inside the workspace, and an existing public key without --force', async () => {
    await expect(signingKeyGenerator(tree, { secretKeyFile: path.join(tree.root, 'keys', 'ci.key') })).rejects.toThrow(/the secret key must not go inside the workspace \(keys\/ci\.key\)/);
    tree.write('stigmer-signing.pub', 'kept');
    await expect(signingKeyGenerator(tree, { secretKeyFile: path.join(dir, 'a.key') })).rejects.toThrow(/stigmer-signing\.pub exists already: keep it/);
    expect(tree.read('stigmer-signing.pub', 'utf-8')).toBe('kept');
    await signingKeyGenerator(tree, { secretKeyFile: path.join(dir, 'b.key'), force: true });
    expect(tree.read('stigmer-signing.pub', 'utf-8')).toMatch(/^untrusted comment: minisign public key [0-9A-F]{16}\n/);
  });
});
