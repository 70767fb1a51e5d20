// Reports: complete at any scale, with nothing overflowing the stack at hundreds of thousands of
// tasks (issue 12, case 20), and unchanged once delivered (case 12). Counts and outcomes only;
// time bounds are hang guards.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Supervisor } from '../lib/index.js';
import { formatTree } from '../lib/task-tree.js';
import { simulateSignal } from '../lib/testing.js';

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

describe('children that come and go', guard, () => {
  it("100 000 per-request children stopping in creation order leave the parent's list compacted, and the rest still dispose last-in-first-out", async () => {
    const order: string[] = [];
    const root = new Supervisor({ signals: false, logger: false });
    const kept: Supervisor[] = [];
    const requests: Supervisor[] = [];
    for (let i = 0; i < 100_000; i++) {
      const child = root.child({ name: `request-${i}` });
      if (i % 25_000 === 0) {
        child.defer(() => void order.push(child.name));
        kept.push(child);
      } else requests.push(child);
    }
    for (const request of requests) await request.shutdown(); // oldest first: the worst case for a list scanned from its end
    // Leaving costs O(1): a tombstone each, and the list is compacted once most of it has left.
    assert.ok(root._resources.entries.length <= 64 + kept.length, `${root._resources.entries.length} entries left on the list`);
    assert.deepEqual(
      root.tasks().children.map((child) => child.name),
      kept.map((child) => child.name),
    );
    const report = await root.shutdown();
    assert.equal(report.exitCode, 0);
    assert.deepEqual(order, kept.map((child) => child.name).reverse());
  });
});

describe('nesting at any depth', guard, () => {
  it('10 000 nested children: the tree, its printout and the shutdown fit the stack, and the report is complete', async () => {
    const root = new Supervisor({ signals: false, logger: false });
    let sup = root;
    for (let i = 0; i < 10_000; i++) sup = sup.child({ name: `level ${i + 1}` });
    const deepest = sup.spawn((signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })), { name: 'deep' });
    let depth = 0;
    for (let node = root.tasks(); node.children.length > 0; node = node.children[0]!) depth++;
    assert.equal(depth, 10_000);
    const printed = formatTree(root.tasks()).split('\n');
    assert.ok(printed.length < 100, `bounded: ${printed.length} lines`);
    assert.match(printed.at(-1)!, /… 9 969 supervisors nested deeper, with 1 task$/);
    const report = await root.shutdown();
    assert.equal(report.exitCode, 0);
    assert.equal(report.cancelled, 1);
    assert.equal(deepest.state, 'fulfilled'); // it returned once aborted
  });
});

describe("deadlines past setTimeout's limit", guard, () => {
  it('drainDelay + shutdownTimeout beyond 2^31 - 1 ms waits for the tasks instead of cutting the shutdown to 1 ms', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const sup = new Supervisor({ logger: false, drainDelay: 20, shutdownTimeout: 0x7fffffff });
      const task = sup.spawn(
        async (signal) => {
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          await new Promise((resolve) => setTimeout(resolve, 100)); // stops, but not at once
        },
        { name: 'slow to stop' },
      );
      simulateSignal(sup, 'SIGTERM'); // a signal shutdown: its deadline is drainDelay + shutdownTimeout away
      const report = await sup.done;
      assert.deepEqual(report.stragglers, []);
      assert.equal(task.state, 'fulfilled');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.filter((w) => w.name === 'TimeoutOverflowWarning'),
        [],
      );
    } finally {
      process.off('warning', onWarning);
    }
  });
});
