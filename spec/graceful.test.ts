// The adapter kit (lib/graceful.ts): the margin kept back from a calling shutdown, the grace
// period's outcome, pollUntil and its AbortSignal, and `.with(options)` as every adapter has it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callAsDisposer } from '../lib/disposal-context.js';
import { forceMargin, maxForceMarginMs, pollUntil, startGracePeriod } from '../lib/graceful.js';
import { type ClosablePool, closePool, closeServer, stopChildProcess, stopCluster, stopWorker } from '../lib/index.js';
import { deferred, quiet, needs } from './helpers.js';

/** The timers keeping the event loop alive right now. */
const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('forceMargin', () => {
  it('keeps back a fifth of the remaining time, at most maxForceMarginMs (500 ms)', () => {
    assert.equal(maxForceMarginMs, 500);
    assert.deepEqual([0, 100, 1_000, 2_500, 10_000, 60_000].map(forceMargin), [0, 20, 200, 500, 500, 500]);
  });

  it("is what a grace period keeps back from the calling shutdown's deadline", () => {
    const forced: string[] = [];
    const context = (deadlineAt: number) => ({ deadlineAt, forced: (what: string) => void forced.push(what) });
    const far = performance.now() + 10_000;
    const grace = callAsDisposer(context(far), () => startGracePeriod(undefined)) as ReturnType<typeof startGracePeriod>;
    // now + (far - now) - 500 in floating point: equal to far - 500 within a rounding error.
    assert.ok(Math.abs(grace.forceAt - (far - 500)) < 1e-6, `the whole margin: 10 s remain; forced ${far - grace.forceAt} ms early`);
    const near = performance.now() + 1_000;
    const short = callAsDisposer(context(near), () => startGracePeriod(undefined)) as ReturnType<typeof startGracePeriod>;
    assert.ok(short.forceAt >= near - 200 && short.forceAt < near - 190, `a fifth of about 1 s: forced ${near - short.forceAt} ms early`);
    const sooner = callAsDisposer(context(far), () => startGracePeriod(100)) as ReturnType<typeof startGracePeriod>;
    assert.ok(sooner.forceAt < far - 9_000, 'a shorter timeout is kept');
    assert.equal(startGracePeriod(undefined).forceAt, Infinity, 'outside a shutdown, without timeout: never');
    assert.deepEqual(forced, []);
  });
});

describe('GracePeriod.wait', () => {
  it('resolves false when the stop came in time, true when it had to force, and reports what was forced', async () => {
    const forces: string[] = [];
    assert.equal(
      await startGracePeriod(10_000).wait(Promise.resolve(), () => {
        forces.push('early');
        return undefined;
      }),
      false,
    );
    const stopped = deferred();
    const forced: string[] = [];
    const context = { deadlineAt: performance.now() + 60_000, forced: (what: string) => void forced.push(what) };
    const grace = callAsDisposer(context, () => startGracePeriod(20)) as ReturnType<typeof startGracePeriod>;
    const outcome = await grace.wait(stopped.promise, () => {
      forces.push('forced');
      stopped.resolve();
      return 'forced: the test';
    });
    assert.equal(outcome, true);
    assert.deepEqual(forces, ['forced']);
    assert.deepEqual(forced, ['forced: the test']);
  });
});

describe('pollUntil', () => {
  it('checks at once and then every intervalMs until the check passes, and resolves true', async () => {
    let calls = 0;
    assert.equal(await pollUntil(() => ++calls === 3, 5), true);
    assert.equal(calls, 3);
    let once = 0;
    const before = timers();
    const immediate = pollUntil(() => ++once === 1, 60_000);
    assert.equal(timers(), before, 'a check that passes at once arms no timer');
    assert.equal(await immediate, true);
  });

  it('stops on abort: resolves false at once, never checks again, and leaves no timer', { skip: needs('activeResources') }, async () => {
    const before = timers();
    const controller = new AbortController();
    let calls = 0;
    const polled = pollUntil(() => (calls++, false), 60_000, controller.signal);
    assert.equal(calls, 1);
    assert.equal(timers(), before + 1, 'waiting for its next check');
    controller.abort();
    assert.equal(await polled, false);
    assert.equal(timers(), before, 'its timer was cleared on abort, not left for a minute');
    await sleep(20);
    assert.equal(calls, 1);
  });

  it('with a signal already aborted, never checks', async () => {
    let calls = 0;
    assert.equal(await pollUntil(() => (calls++, true), 5, AbortSignal.abort()), false);
    assert.equal(calls, 0);
  });

  it('rejects with what the check threw, and stops', async () => {
    const before = timers();
    const controller = new AbortController();
    let calls = 0;
    const failure = new Error('check failed');
    await assert.rejects(
      pollUntil(
        () => {
          if (++calls === 2) throw failure;
          return false;
        },
        5,
        controller.signal,
      ),
      (error) => error === failure,
    );
    assert.equal(timers(), before);
    controller.abort(); // its listener was removed: nothing to call
    await sleep(20);
    assert.equal(calls, 2);
  });
});

describe('adapter.with(options)', () => {
  const adapters = { closeServer, stopChildProcess, stopWorker, closePool, stopCluster } as const;

  it('every adapter has one: it refuses a missing or non-object options, an unknown key (naming the closest), a bad timeout', () => {
    for (const [name, adapter] of Object.entries(adapters)) {
      const configure = adapter.with as (options: unknown) => unknown;
      for (const options of [undefined, null, 'fast', 5]) {
        assert.throws(
          () => configure(options),
          { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: new RegExp(`^${name}\\.with\\(options\\): options must be an object`) },
          `${name} ${String(options)}`,
        );
      }
      assert.throws(
        () => configure({ timout: 5 }),
        {
          name: 'TypeError',
          code: 'ERR_INVALID_ARG_VALUE',
          message: new RegExp(`^${name}\\.with\\(options\\): options\\.timout must be one of the known options \\(timeout[^)]*\\); did you mean timeout\\?`),
        },
        name,
      );
      assert.throws(
        () => configure({ timeout: '5s' }),
        { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /options\.timeout must be a number of milliseconds/ },
        name,
      );
      assert.throws(() => configure({ timeout: -1 }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }, name);
      const disposer = configure({ timeout: 1_000 }) as (value: unknown) => Promise<void>;
      assert.equal(typeof disposer, 'function');
      assert.equal(disposer.name, name, 'reports name the disposer after its adapter');
    }
  });

  it('binds a copy of the options: changing the object afterwards changes nothing', async () => {
    const calls: string[] = [];
    const never = deferred();
    const pool: ClosablePool = {
      close: () => (calls.push('close'), never.promise),
      destroy: async () => void calls.push('destroy'),
    };
    const options: { timeout: unknown } = { timeout: 50 };
    const disposer = closePool.with(options as { timeout: number });
    options.timeout = 'never';
    const sup = quiet({ shutdownTimeout: 60_000 });
    sup.adopt(pool, disposer);
    const report = await sup.shutdown();
    assert.deepEqual(calls, ['close', 'destroy']);
    assert.deepEqual(
      report.stragglers.map((s) => s.name),
      ['closePool (forced: pool destroyed with jobs still running)'],
    );
    assert.equal(report.exitCode, 124);
  });
});
