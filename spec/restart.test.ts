import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RestartLimitError, Supervisor, type Task } from '../lib/index.js';
import { aborted, deferred, quiet, recordRestarts, recordingLogger } from './helpers.js';

const guard = { timeout: 30_000 };

describe("restart: 'on-failure'", guard, () => {
  it('runs the function again with a fresh signal after each failure, on the same handle, until a run succeeds', async () => {
    const logger = recordingLogger();
    const sup = new Supervisor({ signals: false, logger });
    const signals: AbortSignal[] = [];
    const task = sup.spawn(
      async (signal) => {
        signals.push(signal);
        if (signals.length < 4) throw new Error(`boom ${signals.length}`);
        return 'connected';
      },
      { name: 'connect', restart: 'on-failure', backoff: () => 1 },
    );
    assert.equal(signals.length, 1, 'the first run starts before spawn returns');
    assert.equal(task.restarts, 0);
    assert.equal(await task, 'connected');
    assert.equal(task.state, 'fulfilled');
    assert.equal(task.restarts, 3);
    assert.equal(new Set(signals).size, 4, 'each run has its own signal');
    assert.deepEqual(
      signals.map((signal) => signal.aborted),
      [true, true, true, false],
      "a finished run's signal is aborted at the restart",
    );
    assert.equal((signals[0]!.reason as DOMException).name, 'AbortError');
    assert.deepEqual(logger.lines, [
      'supervise: task "connect" of "supervisor" failed (Error: boom 1); restart 1 in 1 ms',
      'supervise: task "connect" of "supervisor" failed (Error: boom 2); restart 2 in 1 ms',
      'supervise: task "connect" of "supervisor" failed (Error: boom 3); restart 3 in 1 ms',
    ]);
    const report = await sup.shutdown();
    assert.deepEqual(report.errors, [], 'failures that were restarted are not errors of the shutdown');
  });

  it('restarts a function that throws synchronously, and one without a parameter', async () => {
    const sup = quiet();
    let runs = 0;
    const task = sup.spawn(
      () => {
        if (++runs < 3) throw new TypeError('sync');
        return runs;
      },
      { restart: 'on-failure', backoff: () => 0 },
    );
    assert.equal(await task, 3);
    assert.equal(task.restarts, 2);
    await sup.shutdown();
  });

  it('does not restart a run that returned, nor one that was cancelled', async () => {
    const sup = quiet();
    let runs = 0;
    const returned = sup.spawn(() => ++runs, { restart: 'on-failure' });
    assert.equal(await returned, 1);
    assert.equal(returned.restarts, 0);

    const started = deferred();
    const cancelled = sup.spawn(
      async (signal) => {
        started.resolve();
        await aborted(signal);
        throw signal.reason;
      },
      { restart: 'on-failure', backoff: () => 0 },
    );
    await started.promise;
    cancelled.cancel();
    await assert.rejects(Promise.resolve(cancelled), { name: 'AbortError' });
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(cancelled.restarts, 0);
    await sup.shutdown();
  });

  it('gives up after more than maxRestarts restarts within the window and hands the last error to onTaskError', async () => {
    const seen: [unknown, Task][] = [];
    const logger = recordingLogger();
    const sup = new Supervisor({ signals: false, logger, onTaskError: (error, task) => seen.push([error, task]) });
    let runs = 0;
    const task = sup.spawn(
      async () => {
        throw new Error(`failure ${++runs}`);
      },
      { name: 'crashloop', restart: 'on-failure', maxRestarts: 2, within: 60_000, backoff: () => 0 },
    );
    await assert.rejects(Promise.resolve(task), { message: 'failure 3' });
    assert.equal(runs, 3);
    assert.equal(task.restarts, 2);
    assert.equal(task.state, 'rejected');
    assert.equal(seen.length, 1);
    assert.equal((seen[0]![0] as Error).message, 'failure 3');
    assert.equal(seen[0]![1], task);
    assert.equal(logger.lines.at(-1), 'supervise: task "crashloop" of "supervisor" failed again after 2 restart(s) within 60000 ms; giving up');
    await sup.shutdown();
  });

  it('by default, giving up still shuts the supervisor down with the last error (exit code 1)', async () => {
    const sup = quiet();
    const other = sup.spawn(async (signal) => aborted(signal), { name: 'other' });
    sup.spawn(
      async () => {
        throw new Error('down for good');
      },
      { restart: 'on-failure', maxRestarts: 1, backoff: () => 0 },
    );
    const report = await sup.done;
    assert.equal(report.cause, 'error');
    assert.deepEqual(
      report.errors.map((error) => (error as Error).message),
      ['down for good'],
    );
    assert.equal(report.exitCode, 1);
    assert.equal(other.state, 'fulfilled');
  });

  it('maxRestarts: 0 never restarts; maxRestarts: Infinity never gives up', async () => {
    const sup = quiet({ onTaskError: 'ignore' });
    let runs = 0;
    const none = sup.spawn(
      async () => {
        runs++;
        throw new Error('once');
      },
      { restart: 'on-failure', maxRestarts: 0 },
    );
    await assert.rejects(Promise.resolve(none), { message: 'once' });
    assert.equal(runs, 1);

    let failures = 0;
    const endless = sup.spawn(
      async () => {
        if (++failures <= 200) throw new Error('again');
        return failures;
      },
      { restart: 'on-failure', maxRestarts: Infinity, backoff: () => 0 },
    );
    assert.equal(await endless, 201);
    assert.equal(endless.restarts, 200);
    await sup.shutdown();
  });

  it('counts restarts within a sliding window: restarts further apart than `within` never add up', async () => {
    const sup = quiet();
    let runs = 0;
    // The backoff (60 ms) is longer than the window (20 ms): each restart is alone in its window.
    const task = sup.spawn(
      async () => {
        if (++runs <= 4) throw new Error('flap');
        return runs;
      },
      { restart: 'on-failure', maxRestarts: 1, within: 20, backoff: () => 60 },
    );
    assert.equal(await task, 5);
    assert.equal(task.restarts, 4);
    await sup.shutdown();
  });
});

describe("restart: 'always'", guard, () => {
  it('restarts a run that returned too, and gives up with a RestartLimitError when it keeps returning', async () => {
    const seen: unknown[] = [];
    const sup = quiet({ onTaskError: (error) => seen.push(error) });
    let runs = 0;
    const task = sup.spawn(() => ++runs, { name: 'ticker', restart: 'always', maxRestarts: 3, backoff: () => 0 });
    const error = await Promise.resolve(task).then(
      () => assert.fail('it should give up'),
      (reason: unknown) => reason,
    );
    assert.ok(error instanceof RestartLimitError);
    assert.equal(error.code, 'ERR_RESTART_LIMIT');
    assert.match(error.message, /"ticker" returned 4 times within 60000 ms/);
    assert.equal(runs, 4);
    assert.equal(task.restarts, 3);
    assert.deepEqual(seen, [error]);
    await sup.shutdown();
  });

  it('publishes each restart with its rank, delay and the outcome of the run that ended', async () => {
    await recordRestarts(async (restarts) => {
      const sup = quiet();
      let runs = 0;
      const task = sup.spawn(
        async () => {
          runs++;
          if (runs === 2) throw new Error('second run failed');
          if (runs === 3) return 'stop';
          return undefined;
        },
        { restart: 'always', backoff: (rank) => rank * 2 },
      );
      // A third run returns 'stop', which is still a return: 'always' restarts it; cancel ends it.
      while (runs < 3) await sleep(5);
      task.cancel();
      await Promise.resolve(task).catch(() => {});
      const mine = restarts.filter((message) => message.task === task);
      assert.deepEqual(
        mine.slice(0, 2).map(({ restart, delayMs, failed, error }) => [restart, delayMs, failed, (error as Error | undefined)?.message]),
        [
          [1, 2, false, undefined],
          [2, 4, true, 'second run failed'],
        ],
      );
      assert.ok(mine.every((message) => message.supervisor === sup));
      assert.equal(task.state, 'cancelled');
      await sup.shutdown();
    });
  });
});

describe('restarts and shutdown', guard, () => {
  it('a shutdown cancels a backoff wait, shielded or not: the task ends cancelled, is counted, and is not restarted', async () => {
    const sup = quiet();
    let runs = 0;
    const fail = async () => {
      runs++;
      throw new Error('needs a restart');
    };
    const plain = sup.spawn(fail, { name: 'plain', restart: 'on-failure', backoff: () => 60_000 });
    const shielded = sup.spawn(fail, { name: 'shielded', shield: true, restart: 'on-failure', backoff: () => 60_000 });
    await sleep(10);
    assert.deepEqual(
      sup.tasks().tasks.map((task) => [task.name, task.state]),
      [
        ['plain', 'running'],
        ['shielded', 'running'],
      ],
    );
    const report = await sup.shutdown();
    assert.equal(plain.state, 'cancelled');
    assert.equal(shielded.state, 'cancelled');
    assert.equal(runs, 2, 'no run after the shutdown began');
    assert.equal(report.cancelled, 2);
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.stragglers, []);
    assert.equal(report.exitCode, 0);
  });

  it('a run that fails once shutdown has begun is final: its error is in the report', async () => {
    const sup = quiet();
    let runs = 0;
    sup.spawn(
      async (signal) => {
        runs++;
        await aborted(signal);
        throw new Error('failed while stopping');
      },
      { restart: 'on-failure', backoff: () => 0 },
    );
    const report = await sup.shutdown();
    assert.equal(runs, 1);
    assert.deepEqual(
      report.errors.map((error) => (error as Error).message),
      ['failed while stopping'],
    );
    assert.equal(report.exitCode, 1);
  });

  it('task.cancel() during the backoff ends the task with its reason', async () => {
    const sup = quiet();
    const task = sup.spawn(
      async () => {
        throw new Error('x');
      },
      { restart: 'on-failure', backoff: () => 60_000 },
    );
    await sleep(5);
    const reason = new Error('not now');
    task.cancel(reason);
    await assert.rejects(Promise.resolve(task), (error) => error === reason);
    assert.equal(task.state, 'cancelled');
    assert.equal(sup.size, 0);
    await sup.shutdown();
  });
});

describe('restart options', guard, () => {
  it('uses exponential backoff with jitter by default: between half and all of initialMs * factor ** (n - 1), at most maxMs', async () => {
    await recordRestarts(async (restarts) => {
      const sup = quiet();
      let runs = 0;
      const task = sup.spawn(
        async () => {
          if (++runs <= 5) throw new Error('retry');
        },
        { restart: 'on-failure', maxRestarts: 10, backoff: { initialMs: 4, factor: 2, maxMs: 10 } },
      );
      await task;
      const ceilings = [4, 8, 10, 10, 10];
      const delays = restarts.filter((message) => message.task === task).map((message) => message.delayMs);
      assert.equal(delays.length, 5);
      delays.forEach((delay, index) => {
        const ceiling = ceilings[index]!;
        assert.ok(delay >= ceiling / 2 && delay <= ceiling, `restart ${index + 1}: ${delay} ms is not within [${ceiling / 2}, ${ceiling}]`);
      });
      await sup.shutdown();
    });
  });

  it('rejects bad restart options at the spawn call, registering nothing', () => {
    const sup = quiet();
    const work = async () => {};
    const cases: [object, string][] = [
      [{ restart: 'sometimes' }, 'ERR_INVALID_ARG_VALUE'],
      [{ maxRestarts: 3 }, 'ERR_INVALID_ARG_VALUE'],
      [{ restart: 'never', backoff: () => 1 }, 'ERR_INVALID_ARG_VALUE'],
      [{ restart: 'on-failure', maxRestarts: -1 }, 'ERR_OUT_OF_RANGE'],
      [{ restart: 'on-failure', maxRestarts: 1.5 }, 'ERR_OUT_OF_RANGE'],
      [{ restart: 'on-failure', maxRestarts: '3' }, 'ERR_INVALID_ARG_TYPE'],
      [{ restart: 'on-failure', within: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ restart: 'on-failure', within: 'a minute' }, 'ERR_INVALID_ARG_TYPE'],
      [{ restart: 'on-failure', backoff: 100 }, 'ERR_INVALID_ARG_TYPE'],
      [{ restart: 'on-failure', backoff: { factor: 0.5 } }, 'ERR_OUT_OF_RANGE'],
      [{ restart: 'on-failure', backoff: { initialMs: 10, maxMs: 5 } }, 'ERR_OUT_OF_RANGE'],
      [{ restart: 'on-failure', backoff: { maxMs: Infinity } }, 'ERR_OUT_OF_RANGE'],
    ];
    for (const [options, code] of cases) {
      assert.throws(() => sup.spawn(work, options), { code }, JSON.stringify(options));
    }
    assert.equal(sup.size, 0);
    assert.equal(sup.spawn(work, { restart: 'never' }).restarts, 0, "'never' is a plain task");
  });

  it('a backoff function that throws or returns a bad delay ends the task with that error; the failure is logged', async () => {
    const logger = recordingLogger();
    const seen: unknown[] = [];
    const sup = new Supervisor({ signals: false, logger, onTaskError: (error) => seen.push(error) });
    const task = sup.spawn(
      async () => {
        throw new Error('original');
      },
      { name: 'bad-backoff', restart: 'on-failure', backoff: () => -1 },
    );
    await assert.rejects(Promise.resolve(task), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.equal(seen.length, 1);
    assert.deepEqual(logger.lines, ['supervise: task "bad-backoff" of "supervisor" failed, and its backoff threw: Error: original']);
    await sup.shutdown();
  });

  it('shows restarts in sup.tasks() and in util.inspect', async () => {
    const sup = quiet();
    let runs = 0;
    const task = sup.spawn(
      async (signal) => {
        if (++runs <= 2) throw new Error('again');
        await aborted(signal);
      },
      { name: 'worker', restart: 'on-failure', backoff: () => 0 },
    );
    while (runs < 3) await sleep(2);
    assert.equal(sup.tasks().tasks[0]!.restarts, 2);
    assert.match((task as unknown as { [key: symbol]: () => string })[Symbol.for('nodejs.util.inspect.custom')]!(), /restarts: 2 \}$/);
    await sup.shutdown();
  });
});
