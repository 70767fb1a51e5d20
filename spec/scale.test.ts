// Reports: complete at any scale, with nothing overflowing the stack at hundreds of thousands of
// tasks (issue 12, case 20), and unchanged once delivered (case 12). Counts and outcomes only;
// time bounds are hang guards.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Supervisor } from '../lib/index.js';

const guard = { timeout: 120_000 };

describe('reports at scale', guard, () => {
  it('200 000 tasks still pending at the deadline: every one is a straggler in the report', async () => {
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 100 });
    const stuck = 200_000;
    for (let i = 0; i < stuck; i++) sup.spawn(() => new Promise<void>(() => {}), { name: 'stuck' });
    const report = await sup.shutdown();
    assert.equal(report.stragglers.length, stuck);
    assert.equal(report.exitCode, 124);
    assert.equal(new Set(report.stragglers.map((s) => s.id)).size, stuck, 'each once');
  });

  it('a child whose 150 000 tasks fail while cancelled hands its root all 150 000 errors, each once', async () => {
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 60_000 });
    const child = sup.child({ name: 'batch' });
    const failures = 150_000;
    const thrown: Error[] = [];
    for (let i = 0; i < failures; i++) {
      const error = new Error(`job ${i}`);
      thrown.push(error);
      child.spawn((signal) => new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(error), { once: true })));
    }
    const report = await sup.shutdown();
    assert.equal(report.errors.length, failures);
    assert.deepEqual(new Set(report.errors), new Set(thrown));
    assert.equal(report.exitCode, 1);
  });
});

describe('a delivered report does not change', () => {
  it('the report, its stragglers and its errors are frozen once done resolves', async () => {
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 50 });
    sup.spawn(() => new Promise<void>(() => {}), { name: 'stuck' });
    sup.defer(() => {
      throw new Error('cleanup failed');
    });
    void sup.shutdown();
    const report = await sup.done;
    assert.equal(report.stragglers.length, 1);
    assert.equal(report.errors.length, 1);
    assert.ok(Object.isFrozen(report) && Object.isFrozen(report.stragglers) && Object.isFrozen(report.errors));
    assert.throws(() => (report.stragglers as unknown as unknown[]).push({ id: 0, name: 'late', ageMs: 0 }), TypeError);
    assert.equal((await sup.shutdown()).stragglers.length, 1);
  });
});
