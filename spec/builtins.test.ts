// lib/builtins.ts: Node's built-ins fetched with process.getBuiltinModule (a clear error where it is
// missing), and those only some paths need fetched when one of them runs. What a fresh process
// loads is read from `process.moduleLoadList` (Node's list of the built-ins it has loaded, in
// order): importing supervise adds none of the expensive ones, and `node:cluster` comes only when a
// process with an IPC channel asks whether it is a cluster worker.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { type Builtins, builtin } from '../lib/builtins.js';
import { needs } from './helpers.js';

const ids: Array<keyof Builtins> = ['node:cluster', 'node:diagnostics_channel', 'node:events', 'node:fs', 'node:os', 'node:util'];

/** What importing supervise must not load: what only some paths need, and what those bring along. */
const expensive = ['cluster', 'child_process', 'net', 'dgram', 'stream', 'os', 'timers/promises', 'http'];

const noLoadList = needs('moduleLoadList');

interface Child {
  /** The public built-ins the child loaded between its start and its report, by name. */
  readonly loaded: string[];
  readonly [key: string]: unknown;
}

/**
 * Runs `body` (an ES module's source, which has `before`, a copy of the load list, and ends by
 * calling `report(extra)`) in a fresh Node, with an IPC channel when `ipc` is set, and resolves with
 * what it reported. `report` keeps only public built-ins (`NativeModule x`, not `internal/`).
 */
function inFreshProcess(body: string, ipc = false): Promise<Child> {
  const source = `const before = new Set(process.moduleLoadList);
const loadedSince = () => process.moduleLoadList.filter((entry) => !before.has(entry) && /^NativeModule (?!internal\\/)/.test(entry)).map((entry) => entry.slice('NativeModule '.length));
const report = (extra) => { console.log(JSON.stringify({ loaded: loadedSince(), ...extra })); process.disconnect?.(); };
${body}`;
  const env = { ...process.env };
  delete env.NODE_UNIQUE_ID;
  delete env.pm_id;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], { env, stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc' as const] : [])] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      if (code === 0) resolve(JSON.parse(stdout) as Child);
      else reject(new Error(`the child exited ${code}\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
}

describe('built-ins (lib/builtins.ts)', () => {
  it('builtin(id) is the module process.getBuiltinModule returns: the module object, not an ESM namespace', () => {
    for (const id of ids) assert.equal(builtin(id), process.getBuiltinModule(id), id);
    assert.equal(typeof builtin('node:cluster').isWorker, 'boolean');
  });

  const own = Object.getOwnPropertyDescriptor(process, 'getBuiltinModule');
  const fixed = own?.configurable !== true && 'process.getBuiltinModule is not an own, configurable property of process here';
  it('without process.getBuiltinModule (Node 22.0-22.2, outside engines), says which Node it needs', { skip: fixed }, () => {
    assert.ok(own !== undefined);
    Reflect.deleteProperty(process, 'getBuiltinModule');
    try {
      assert.equal(typeof process.getBuiltinModule, 'undefined');
      for (const id of ids)
        assert.throws(() => builtin(id), {
          message: /^supervise needs process\.getBuiltinModule\(\), which Node\.js \S+ lacks: use Node\.js 20\.19\+ or 22\.12\+$/,
        });
    } finally {
      Object.defineProperty(process, 'getBuiltinModule', own);
    }
    assert.equal(builtin('node:os'), process.getBuiltinModule('node:os'));
  });

  for (const [what, specifier] of [
    ["import 'supervise' (the package's bundle)", 'supervise'],
    ["import 'supervise/testing'", 'supervise/testing'],
    ["this build's lib/index.js, file by file", new URL('../lib/index.js', import.meta.url).href],
  ] as const) {
    it(`${what} loads none of ${expensive.map((name) => `node:${name}`).join(', ')}`, { skip: noLoadList }, async () => {
      const child = await inFreshProcess(`await import(${JSON.stringify(specifier)});\nreport({});`);
      assert.deepEqual(
        child.loaded.filter((name) => expensive.includes(name)),
        [],
        `loaded: ${child.loaded.join(', ')}`,
      );
    });
  }

  it('node:cluster is fetched when a process with an IPC channel asks whether it is a cluster worker, and says no', { skip: noLoadList }, async () => {
    const messages = new URL('../lib/messages.js', import.meta.url).href;
    const child = await inFreshProcess(
      `const { stoppedByMessage } = await import(${JSON.stringify(messages)});
const clusterBefore = loadedSince().includes('cluster');
const ipc = typeof process.send === 'function';
const stopped = stoppedByMessage();
report({ clusterBefore, ipc, stopped });`,
      true,
    );
    assert.deepEqual({ ...child, loaded: child.loaded.includes('cluster') }, { clusterBefore: false, ipc: true, stopped: false, loaded: true });
  });
});
