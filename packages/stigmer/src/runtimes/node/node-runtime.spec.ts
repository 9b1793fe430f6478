import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { unpackTarball } from './node-runtime';

describe('unpackTarball', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-unpack-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('unpacks a tarball made by npm pack with no tar program on PATH, keeping the execute bit', async () => {
    const source = path.join(dir, 'source');
    fs.mkdirSync(path.join(source, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(source, 'package.json'), JSON.stringify({ name: 'fake-node-runtime', version: '1.0.0', bin: { node: 'bin/node' } }));
    fs.writeFileSync(path.join(source, 'bin', 'node'), '#!/bin/sh\necho runtime\n', { mode: 0o755 });
    const packed = spawnSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: source, encoding: 'utf8' });
    expect(packed.status).toBe(0);
    const tarball = path.join(dir, packed.stdout.trim().split('\n').pop() as string);
    const destination = path.join(dir, 'out');
    const savedPath = process.env.PATH;
    process.env.PATH = '';
    try {
      await unpackTarball(tarball, destination);
    } finally {
      process.env.PATH = savedPath;
    }
    const executable = path.join(destination, 'package', 'bin', 'node');
    expect(fs.readFileSync(executable, 'utf8')).toContain('echo runtime');
    expect(fs.statSync(executable).mode & 0o111).not.toBe(0);
  });

  it('a damaged tarball is one clear error', async () => {
    const broken = path.join(dir, 'broken.tgz');
    fs.writeFileSync(broken, 'not a tarball');
    await expect(unpackTarball(broken, path.join(dir, 'broken'))).rejects.toThrow(/cannot unpack broken\.tgz \(.*\): remove it and build again/);
  });
});
