#!/usr/bin/env node
// Packs the built plugin into dist/stigmer-<version>.tgz, the file users (and the e2e tests) install.
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const fs = require('fs-extra');

const root = path.join(__dirname, '..');
const out = path.join(root, 'dist');
fs.ensureDirSync(out);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const json = execFileSync(npm, ['pack', '--json', '--pack-destination', out], {
  cwd: path.join(root, 'packages', 'stigmer'),
  encoding: 'utf8',
});
const [{ filename }] = JSON.parse(json);
console.log(path.join('dist', filename));
