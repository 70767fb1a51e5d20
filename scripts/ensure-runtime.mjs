#!/usr/bin/env node
// Prints the path of a Bun or Deno binary, installing it first if needed. The binaries come from
// their npm packages (the only registry this project may reach), pinned to a major, installed under
// .cache/bun/ or .cache/deno/ so npm's cache serves repeated runs:
//
//   node scripts/ensure-runtime.mjs bun    -> /abs/path/.cache/bun/node_modules/@oven/bun-linux-x64/bin/bun
//   node scripts/ensure-runtime.mjs deno   -> /abs/path/.cache/deno/node_modules/@deno/linux-x64-glibc/deno
//
// The packages hold linux x64 (glibc) binaries only. Elsewhere this prints one line saying so on
// stderr and exits with status 3, which scripts/runtimes.mjs takes as "skip this runtime": the
// platform is never a failure.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What each runtime needs: its npm package, pinned major, the binary's path inside it, and how its version reads. */
const runtimes = {
  bun: { spec: '@oven/bun-linux-x64@^1', binary: ['@oven', 'bun-linux-x64', 'bin', 'bun'], version: /^1\.\d+\.\d+/ },
  deno: { spec: '@deno/linux-x64-glibc@^2', binary: ['@deno', 'linux-x64-glibc', 'deno'], version: /^deno 2\.\d+\.\d+/ },
};

/** The exit status that means "no binary for this platform": the caller skips, it does not fail. */
const UNSUPPORTED_PLATFORM = 3;

const name = process.argv[2];
const runtime = Object.hasOwn(runtimes, name ?? '') ? runtimes[name] : undefined;
if (runtime === undefined) {
  console.error(`usage: node scripts/ensure-runtime.mjs ${Object.keys(runtimes).join('|')}`);
  process.exit(2);
}
// The glibc check: musl systems (Alpine) report no glibcVersionRuntime, and the Deno package needs glibc.
const glibc = process.report?.getReport?.().header?.glibcVersionRuntime !== undefined;
if (process.platform !== 'linux' || process.arch !== 'x64' || !glibc) {
  console.error(
    `ensure-runtime: no ${name} binary for ${process.platform} ${process.arch}${process.platform === 'linux' && !glibc ? ' (musl)' : ''}: ${runtime.spec} is linux x64 glibc only; skipping ${name}`,
  );
  process.exit(UNSUPPORTED_PLATFORM);
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const prefix = join(root, '.cache', name);
const binary = join(prefix, 'node_modules', ...runtime.binary);

if (!existsSync(binary)) {
  mkdirSync(prefix, { recursive: true });
  writeFileSync(join(prefix, 'package.json'), '{"private":true}\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', prefix, runtime.spec], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
if (!runtime.version.test(version)) {
  console.error(`ensure-runtime: ${binary} reports "${version.split('\n')[0]}", not ${runtime.spec}`);
  process.exit(1);
}
process.stdout.write(binary + '\n');
