#!/usr/bin/env node
// Compiles the plugin with tsc and copies the files tsc does not emit (schemas, templates).
// Plain tsc, not nx: nx itself loads the built plugin from nx.json, so it cannot build it.
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const fs = require('fs-extra');

const pkg = path.join(__dirname, '..', 'packages', 'stigmer');
fs.removeSync(path.join(pkg, 'dist'));
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(pkg, 'tsconfig.json')], {
  stdio: 'inherit',
});
const src = path.join(pkg, 'src');
for (const file of walk(src)) {
  if (file.endsWith('.json') || file.includes(`${path.sep}files${path.sep}`)) {
    fs.copySync(file, path.join(pkg, 'dist', path.relative(src, file)));
  }
}
console.log('built packages/stigmer/dist');

function* walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else yield full;
  }
}
