// Differential test: every scenario of spec/fixtures/erm-scenarios.ts must observe exactly the same
// things (call order, errors and their nesting, property attributes, the promise job each step runs in)
// on the ponyfill as on native Node 24. Below Node 24 the native side runs in a Node 24 child process
// ($SUPERVISE_NODE24, or the binary scripts/ensure-node.mjs provides); on Node 24+ both run in-process.

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { AsyncDisposableStackPonyfill, DisposableStackPonyfill, SuppressedErrorPonyfill } from '../lib/ponyfill.js';
import { type Observation, nativeImplementation, runScenarios, scenarios } from './fixtures/erm-scenarios.js';
import { needs } from './helpers.js';
import { runtime } from './helpers.js';

const scenarioScript = fileURLToPath(new URL('./fixtures/erm-scenarios.js', import.meta.url));
const ensureNode = fileURLToPath(new URL('../../scripts/ensure-node.mjs', import.meta.url));
// The reference is V8's implementation as Node ships it. Under Bun and Deno the ponyfill runs on
// their engine and is compared with Node 24 all the same: Bun's native classes differ from V8's
// where the spec leaves room (a disposal's SuppressedError has a message there).
const native = runtime === 'node' ? nativeImplementation() : undefined;
/** Why there is no Node 24 to compare with, once scripts/ensure-node.mjs has said so (its exit code 3). */
let noNode24: string | undefined;

/** Runs the scenario script on Node 24 and returns what it printed. */
async function runOnNode24(): Promise<Record<string, Observation> | undefined> {
  let binary = process.env.SUPERVISE_NODE24;
  if (!binary) {
    // Installs Node 24 from npm on first use, so allow for a slow download. On a platform npm has
    // no Node 24 for, ensure-node says why in one line and exits 3: the comparison is skipped.
    const ensured = spawnSync(process.execPath, [ensureNode, '24'], { encoding: 'utf8', timeout: 300_000 });
    if (ensured.status === 3) {
      noNode24 = `no Node 24 binary for ${process.platform} ${process.arch} (${ensured.stderr.trim()}); set SUPERVISE_NODE24`;
      return undefined;
    }
    if (ensured.status !== 0) throw new Error(`scripts/ensure-node.mjs 24 failed: ${ensured.stderr}`);
    binary = ensured.stdout.trim();
  }
  const { stdout } = await promisify(execFile)(binary, [scenarioScript], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as Record<string, Observation>;
}

const skip = needs('v8Errors');

describe('ponyfill against native explicit resource management', () => {
  let expected: Record<string, Observation> = {};
  let actual: Record<string, Observation> = {};

  before(
    async () => {
      if (skip !== false) return;
      const reference = native !== undefined ? await runScenarios(native) : await runOnNode24();
      if (reference === undefined) return;
      expected = reference;
      actual = await runScenarios({
        DisposableStack: DisposableStackPonyfill,
        AsyncDisposableStack: AsyncDisposableStackPonyfill,
        SuppressedError: SuppressedErrorPonyfill,
      });
    },
    { timeout: 400_000 },
  );

  it('ran every scenario on both sides without a scenario itself failing', { skip }, (t) => {
    if (noNode24 !== undefined) return t.skip(noNode24);
    const names = Object.keys(scenarios);
    assert.deepEqual(Object.keys(expected), names);
    assert.deepEqual(Object.keys(actual), names);
    const failed = (results: Record<string, Observation>): string[] => names.filter((name) => JSON.stringify(results[name]).includes('"scenarioFailed"'));
    assert.deepEqual(failed(expected), []);
    assert.deepEqual(failed(actual), []);
  });

  for (const name of Object.keys(scenarios)) {
    it(name, { skip }, (t) => {
      if (noNode24 !== undefined) return t.skip(noNode24);
      assert.deepEqual(actual[name], expected[name]);
    });
  }
});
