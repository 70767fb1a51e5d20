// The one timer of a deadline: never early, however far away.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Supervisor } from '../lib/index.js';
import { LongTimeout, maxTimeoutMs } from '../lib/long-timeout.js';

describe('LongTimeout', { timeout: 60_000 }, () => {
  it('never fires before its time as performance.now() sees it (Node timers count whole milliseconds of loop time)', async () => {
    const early: number[] = [];
    const fired: Promise<void>[] = [];
    for (let turn = 0; turn < 30; turn++) {
      // Each batch starts a fraction of a millisecond into a turn, as a deadline set by real code does.
      await new Promise((resolve) => setImmediate(resolve));
      const busyUntil = performance.now() + Math.random();
      while (performance.now() < busyUntil);
      for (let i = 0; i < 10; i++) {
        fired.push(
          new Promise<void>((resolve) => {
            const at = performance.now() + 1 + Math.random() * 3;
            new LongTimeout(at, () => {
              const late = performance.now() - at;
              if (late < 0) early.push(late);
              resolve();
            });
          }),
        );
      }
    }
    await Promise.all(fired);
    assert.deepEqual(early, [], `${early.length} of 300 timers fired early`);
  });

  it('a time already past fires on a later turn, once; clear() stops it', async () => {
    let fired = 0;
    new LongTimeout(performance.now() - 10, () => fired++);
    assert.equal(fired, 0, 'not synchronously');
    const cleared = new LongTimeout(performance.now() + 5, () => fired++);
    cleared.clear();
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(fired, 1);
  });

  it("a time past setTimeout's limit is waited for in steps, without a TimeoutOverflowWarning", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => void warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      let fired = false;
      const far = new LongTimeout(performance.now() + maxTimeoutMs * 3, () => (fired = true));
      await new Promise((resolve) => setTimeout(resolve, 20));
      far.clear();
      assert.equal(fired, false);
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('a shutdown deadline is never early', { timeout: 60_000 }, () => {
  it('with a disposer that never settles, the shutdown takes at least shutdownTimeout', async () => {
    const short: number[] = [];
    for (let i = 0; i < 40; i++) {
      const shutdownTimeout = 3 + (i % 7);
      const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout });
      sup.defer(() => new Promise(() => {}));
      const report = await sup.shutdown();
      assert.equal(report.stragglers.length, 1);
      if (report.durationMs < shutdownTimeout) short.push(report.durationMs - shutdownTimeout);
    }
    assert.deepEqual(short, [], 'shutdowns that ended before their deadline (ms early)');
  });
});
