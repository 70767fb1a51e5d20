import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Piscina } from 'piscina';
import { type ClosablePool, Supervisor, closePool } from '../lib/index.js';
import { deferred, recordingLogger } from './helpers.js';

const jobFile = new URL('./fixtures/pool-job.js', import.meta.url).href;

/** Every pool a test made: destroyed after the file, whatever happened. */
const pools = new Set<Piscina>();
after(async () => {
  await Promise.all([...pools].map((pool) => pool.destroy()));
});

function makePool(threads: number): Piscina {
  const pool = new Piscina({ filename: jobFile, minThreads: threads, maxThreads: threads });
  pools.add(pool);
  return pool;
}

/** Runs a job, turning its outcome into a string, so a test can count what finished and what was cut off. */
function job(pool: Piscina, ms: number, value: number): Promise<string> {
  return pool.run({ ms, value }).then(
    (result: number) => `ok ${result}`,
    (error: Error) => `rejected: ${error.message}`,
  );
}

/** Resolves once every thread of the pool has started, so the timings below are the jobs' own. */
async function warm(pool: Piscina): Promise<void> {
  await Promise.all(Array.from({ length: pool.maxThreads }, (_, i) => pool.run({ ms: 0, value: i })));
}

describe('closePool with Piscina', { timeout: 120_000 }, () => {
  it('lets running and queued jobs finish when they fit in the deadline, then closes the pool', async () => {
    const pool = makePool(2);
    await warm(pool);
    // 2 run at once, 4 wait in the queue: 3 rounds of 100 ms.
    const jobs = Array.from({ length: 6 }, (_, i) => job(pool, 100, i));
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 20_000 });
    assert.equal(sup.adopt(pool, closePool), pool);
    const report = await sup.shutdown();
    assert.deepEqual(await Promise.all(jobs), ['ok 0', 'ok 1', 'ok 2', 'ok 3', 'ok 4', 'ok 5']);
    assert.equal(report.exitCode, 0);
    assert.deepEqual(report.stragglers, []);
    assert.deepEqual(report.errors, []);
    assert.equal(pool.threads.length, 0, 'every thread is gone');
  });

  it('two jobs of different lengths running at once both finish (a close that returns early would cut the longer one off)', async () => {
    const pool = makePool(2);
    await warm(pool);
    const jobs = [job(pool, 50, 1), job(pool, 400, 2)];
    await closePool(pool, { timeout: 20_000 });
    assert.deepEqual(await Promise.all(jobs), ['ok 1', 'ok 2']);
    assert.equal(pool.threads.length, 0);
  });

  it('long jobs are cut off by destroy() at the deadline: they reject, and the report says 124', async () => {
    const pool = makePool(2);
    await warm(pool);
    const jobs = [job(pool, 50, 1), job(pool, 60_000, 2), job(pool, 60_000, 3)];
    const logger = recordingLogger();
    const sup = new Supervisor({ signals: false, logger, shutdownTimeout: 1000 });
    sup.adopt(pool, closePool);
    const startedAt = performance.now();
    const report = await sup.shutdown();
    assert.ok(performance.now() - startedAt < 10_000);
    const outcomes = await Promise.all(jobs);
    assert.equal(outcomes[0], 'ok 1');
    assert.match(outcomes[1]!, /^rejected: /);
    assert.match(outcomes[2]!, /^rejected: /);
    assert.equal(report.exitCode, 124);
    assert.deepEqual(report.errors, []);
    assert.deepEqual(
      report.stragglers.map((s) => s.name),
      ['closePool (forced: pool destroyed with jobs still running)'],
    );
    assert.deepEqual(logger.lines, [], 'the destroy finished before the supervisor deadline');
    assert.equal(pool.threads.length, 0);
  });

  it('called directly with a timeout: destroys at the timeout and resolves', async () => {
    const pool = makePool(1);
    await warm(pool);
    const jobs = [job(pool, 60_000, 1), job(pool, 10, 2)];
    const startedAt = performance.now();
    await closePool(pool, { timeout: 300 });
    assert.ok(performance.now() - startedAt < 10_000);
    const outcomes = await Promise.all(jobs);
    assert.match(outcomes[0]!, /^rejected: /, 'the running job was cut off');
    assert.match(outcomes[1]!, /^rejected: /, 'the queued job never ran');
    assert.equal(pool.threads.length, 0);
  });

  it('closePool.with(options), adopted: long jobs are cut off at its timeout, long before the deadline, reported as closePool', async () => {
    assert.throws(() => closePool.with({ timeot: 300 } as never), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: /^closePool\.with\(options\): options\.timeot must be one of the known options \(timeout\); did you mean timeout\?/,
    });
    assert.throws(() => closePool.with({ timeout: Symbol('soon') } as never), {
      code: 'ERR_INVALID_ARG_TYPE',
      message: /^closePool\.with\(options\): options\.timeout must be a number/,
    });
    const pool = makePool(1);
    await warm(pool);
    const jobs = [job(pool, 60_000, 1), job(pool, 10, 2)];
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 60_000 });
    assert.equal(sup.adopt(pool, closePool.with({ timeout: 300 })), pool);
    const report = await sup.shutdown();
    assert.ok(report.durationMs < 30_000, `took ${report.durationMs} ms: forced at its timeout, not at the 60 s deadline`);
    assert.equal(report.exitCode, 124);
    assert.deepEqual(
      report.stragglers.map((s) => s.name),
      ['closePool (forced: pool destroyed with jobs still running)'],
    );
    const outcomes = await Promise.all(jobs);
    assert.match(outcomes[0]!, /^rejected: /);
    assert.match(outcomes[1]!, /^rejected: /);
    assert.equal(pool.threads.length, 0);
  });

  it('an idle pool closes at once', async () => {
    const pool = makePool(2);
    await warm(pool);
    const startedAt = performance.now();
    await closePool(pool, { timeout: 60_000 });
    assert.ok(performance.now() - startedAt < 5_000);
    assert.equal(pool.threads.length, 0);
  });
});

describe('closePool with any pool that has close() and destroy()', { timeout: 60_000 }, () => {
  function fakePool(closes: boolean): ClosablePool & { calls: string[] } {
    const calls: string[] = [];
    const never = deferred<void>();
    return {
      calls,
      close() {
        calls.push('close');
        return closes ? Promise.resolve() : never.promise;
      },
      async destroy() {
        calls.push('destroy');
        never.resolve();
      },
    };
  }

  it('closes a pool whose close() resolves, without destroying it', async () => {
    const pool = fakePool(true);
    await closePool(pool, { timeout: 1000 });
    assert.deepEqual(pool.calls, ['close']);
  });

  it('destroys a pool whose close() does not resolve in time', async () => {
    const pool = fakePool(false);
    await closePool(pool, { timeout: 100 });
    assert.deepEqual(pool.calls, ['close', 'destroy']);
  });

  it('a pool that shows its jobs and never gets idle: forced, it is destroyed and not closed, and no poll is left behind', async () => {
    const calls: string[] = [];
    const busy = {
      queueSize: 1,
      idleThreads: 0,
      threads: [{}],
      close: async () => void calls.push('close'),
      destroy: async () => void calls.push('destroy'),
    };
    const timersBefore = process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    await closePool(busy, { timeout: 50 });
    assert.equal(
      process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length,
      timersBefore,
      'the idle poll stopped when it was forced',
    );
    assert.deepEqual(calls, ['destroy']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(calls, ['destroy'], 'close() was not called after the destroy');
  });

  it('bad input throws at the call', () => {
    for (const value of [undefined, null, 1, 'pool', {}, { close() {} }, { destroy() {} }]) {
      assert.throws(() => closePool(value as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    }
    const pool = fakePool(true);
    assert.throws(() => closePool(pool, 'soon' as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => closePool(pool, { timeout: -5 }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.deepEqual(pool.calls, [], 'a refused call closed nothing');
  });
});
