import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Supervisor, SupervisorClosedError } from '../lib/index.js';
import { aborted, deferred, flush, quiet, recordingLogger } from './helpers.js';

const guard = { timeout: 60_000 };

/** A task body that records its cleanup once its signal aborts. */
function cooperative(log: string[], name: string) {
  return async (signal: AbortSignal) => {
    try {
      await aborted(signal);
    } finally {
      log.push(`${name} cleanup`);
    }
  };
}

describe('shutdown phases', guard, () => {
  it('stops taking work synchronously, then cancels and awaits tasks, then disposes newest first', async () => {
    const log: string[] = [];
    const sup = quiet({ name: 'app' });
    sup.defer(() => void log.push('defer 1'));
    sup.use({ [Symbol.dispose]: () => void log.push('resource 2') });
    sup.adopt('value 3', (value) => void log.push(`adopt ${value}`));
    sup.use({ [Symbol.asyncDispose]: async () => void log.push('async resource 4') });
    sup.spawn(cooperative(log, 'task a'));
    sup.spawn(cooperative(log, 'task b'));

    const before = performance.now();
    const shutdown = sup.shutdown('deploy');
    assert.equal(sup.state, 'stopping');
    assert.equal(sup.signal.aborted, true);
    assert.equal(sup.signal.reason, 'deploy');
    assert.throws(() => sup.spawn(async () => {}), SupervisorClosedError);
    assert.throws(() => sup.child(), { code: 'ERR_SUPERVISOR_CLOSED' });
    assert.equal(sup.shutdown(), shutdown, 'idempotent: the same promise');

    const report = await shutdown;
    assert.equal(sup.state, 'stopped');
    assert.deepEqual(log, ['task a cleanup', 'task b cleanup', 'async resource 4', 'adopt value 3', 'resource 2', 'defer 1']);
    assert.equal(report.cause, 'shutdown');
    assert.equal(report.reason, 'deploy');
    assert.equal(report.cancelled, 2);
    assert.deepEqual(report.stragglers, []);
    assert.deepEqual(report.errors, []);
    assert.equal(report.exitCode, 0);
    assert.equal(report.signal, undefined);
    const elapsed = performance.now() - before;
    assert.ok(report.durationMs > 0 && report.durationMs <= elapsed, `durationMs ${report.durationMs}, measured around it ${elapsed}`);
    assert.equal(await sup.done, report);
    assert.equal(await sup.shutdown(), report);
  });

  it('gives every task one shared abort reason, an AbortError by default', async () => {
    const sup = quiet({ name: 'svc' });
    const reasons: unknown[] = [];
    for (let i = 0; i < 5; i++)
      sup.spawn(async (signal) => {
        await aborted(signal);
        reasons.push(signal.reason);
      });
    const report = await sup.shutdown();
    assert.equal(reasons.length, 5);
    assert.ok(reasons.every((r) => r === reasons[0]));
    assert.equal(reasons[0], report.reason);
    assert.equal((report.reason as Error).name, 'AbortError');
    assert.match((report.reason as Error).message, /svc/);
  });

  it('cancels tasks concurrently: every cleanup starts before any finishes', async () => {
    const sup = quiet({ shutdownTimeout: 20_000 });
    const n = 50;
    let started = 0;
    const allStarted = deferred();
    let finished = 0;
    for (let i = 0; i < n; i++) {
      sup.spawn(async (signal) => {
        await aborted(signal);
        if (++started === n) allStarted.resolve();
        await allStarted.promise; // a barrier: sequential waiting would never pass it
        finished++;
      });
    }
    const report = await sup.shutdown();
    assert.equal(finished, n);
    assert.deepEqual(report.stragglers, []);
  });

  it('cleans up 10 000 pending tasks, each cleanup exactly once', async () => {
    const sup = quiet();
    const n = 10_000;
    const cleanups = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      sup.spawn(async (signal) => {
        try {
          await aborted(signal);
        } finally {
          cleanups[i]!++;
        }
      });
    }
    assert.equal(sup.size, n);
    const report = await sup.shutdown();
    assert.equal(report.cancelled, n);
    assert.equal(sup.size, 0);
    assert.equal(cleanups.filter((c) => c === 1).length, n, 'every cleanup ran exactly once');
    assert.deepEqual(report.errors, []);
    await sup.shutdown();
    await sup[Symbol.asyncDispose]();
    assert.equal(cleanups.filter((c) => c === 1).length, n, 'and never again');
  });

  it('keeps the registry empty through a churn of 200 000 short tasks', async () => {
    const sup = quiet();
    let completed = 0;
    const body = async () => {
      await null;
      completed++;
    };
    for (let batch = 0; batch < 20; batch++) {
      const tasks = [];
      for (let i = 0; i < 10_000; i++) tasks.push(sup.spawn(body));
      assert.equal(sup.size, 10_000);
      await Promise.all(tasks);
      assert.equal(sup.size, 0);
    }
    assert.equal(completed, 200_000);
    assert.equal(sup.tasks().tasks.length, 0);
    const report = await sup.shutdown();
    assert.equal(report.cancelled, 0);
  });

  it('waits for shielded tasks without aborting them; cancel() still reaches them', async () => {
    const log: string[] = [];
    const sup = quiet();
    const gate = deferred();
    const shielded = sup.spawn(
      async (signal) => {
        await gate.promise;
        log.push(`shielded done, aborted=${signal.aborted}`);
        return 'saved';
      },
      { shield: true, name: 'flush' },
    );
    const cancellable = sup.spawn(
      async (signal) => {
        await aborted(signal);
        log.push('cancelled shielded task saw its abort');
        signal.throwIfAborted();
      },
      { shield: true },
    );
    sup.defer(() => void log.push('disposed'));
    const shutdown = sup.shutdown();
    await flush();
    assert.equal(shielded.signal.aborted, false);
    cancellable.cancel();
    await flush();
    gate.resolve();
    const report = await shutdown;
    assert.deepEqual(log, ['cancelled shielded task saw its abort', 'shielded done, aborted=false', 'disposed']);
    assert.equal(await shielded, 'saved');
    assert.equal(cancellable.state, 'cancelled');
    assert.equal(report.cancelled, 0);
  });

  it('reports a failure raised during cancellation, and a cancelled rejection is not one', async () => {
    const sup = quiet({ onTaskError: 'ignore' });
    sup.spawn(async (signal) => {
      await aborted(signal);
      throw new Error('flush failed');
    });
    sup.spawn(async (signal) => {
      await aborted(signal);
      throw signal.reason;
    });
    const report = await sup.shutdown();
    assert.equal(report.errors.length, 1);
    assert.match(String(report.errors[0]), /flush failed/);
    assert.equal(report.exitCode, 1);
  });

  it('runs every disposer after one throws, and keeps all their errors in order', async () => {
    const log: string[] = [];
    const sup = quiet();
    const first = new Error('first registered');
    const last = new Error('last registered');
    sup.defer(() => {
      log.push('1');
      throw first;
    });
    sup.defer(async () => void log.push('2'));
    sup.defer(async () => {
      log.push('3');
      throw last;
    });
    const report = await sup.shutdown();
    assert.deepEqual(log, ['3', '2', '1']);
    assert.deepEqual(report.errors, [last, first]);
    assert.equal(report.exitCode, 1);
  });
});

describe('the deadline', guard, () => {
  it('names tasks still pending at the deadline, and disposal goes on', async () => {
    const logger = recordingLogger();
    const sup = new Supervisor({ signals: false, logger, shutdownTimeout: 100 });
    const log: string[] = [];
    sup.defer(() => void log.push('disposed'));
    const stuck = sup.spawn(
      async () => {
        await sleep(2_000);
      },
      { name: 'stuck-worker' },
    );
    sup.spawn(cooperative(log, 'polite'));
    const report = await sup.shutdown();
    assert.deepEqual(log, ['polite cleanup', 'disposed']);
    assert.equal(report.stragglers.length, 1);
    const [straggler] = report.stragglers;
    assert.equal(straggler?.id, stuck.id);
    assert.equal(straggler?.name, 'stuck-worker');
    assert.ok(straggler.ageMs >= 50, `age ${straggler.ageMs}`);
    assert.deepEqual(Object.keys(straggler).sort(), ['ageMs', 'id', 'name']);
    assert.equal(report.exitCode, 124);
    assert.ok(logger.lines.some((line) => line.includes('stuck-worker')));
    assert.equal(sup.state, 'stopped');
  });

  it('reports a disposer still pending at the deadline, runs the rest, and logs its late failure', async () => {
    const logger = recordingLogger();
    const sup = new Supervisor({ signals: false, logger, shutdownTimeout: 100 });
    const log: string[] = [];
    const hang = deferred();
    sup.defer(() => void log.push('older disposer ran'));
    sup.defer(function closeQueue() {
      return hang.promise;
    });
    const report = await sup.shutdown();
    assert.deepEqual(log, ['older disposer ran']);
    assert.equal(report.stragglers.length, 1);
    assert.equal(report.stragglers[0]?.name, 'closeQueue');
    assert.equal(report.exitCode, 124);
    hang.reject(new Error('late'));
    await flush();
    assert.ok(logger.lines.some((line) => line.includes('closeQueue') && line.includes('late')));
  });

  it('logs a straggler that fails after the report was made', async () => {
    const logger = recordingLogger();
    const sup = new Supervisor({ signals: false, logger, shutdownTimeout: 20 });
    const gate = deferred();
    sup.spawn(
      async () => {
        await gate.promise;
        throw new Error('too late');
      },
      { name: 'laggard' },
    );
    const report = await sup.shutdown();
    assert.equal(report.stragglers[0]?.name, 'laggard');
    gate.resolve();
    await flush();
    assert.ok(logger.lines.some((line) => line.includes('laggard') && line.includes('too late')));
    assert.equal(sup.size, 0);
  });

  it('with Infinity waits for as long as the tasks take', async () => {
    const sup = quiet({ shutdownTimeout: Infinity });
    sup.spawn(async () => sleep(50));
    const report = await sup.shutdown();
    assert.deepEqual(report.stragglers, []);
    assert.equal(report.exitCode, 0);
  });
});

describe('onTaskError', guard, () => {
  it("'shutdown' (default): a failure shuts down, is in the report, and exits 1", async () => {
    const logger = recordingLogger();
    const sup = new Supervisor({ signals: false, logger, name: 'app' });
    const log: string[] = [];
    sup.spawn(cooperative(log, 'bystander'));
    const failure = new Error('boom');
    sup.spawn(
      async () => {
        await null;
        throw failure;
      },
      { name: 'fragile' },
    );
    const report = await sup.done;
    assert.equal(report.cause, 'error');
    assert.deepEqual(report.errors, [failure]);
    assert.equal(report.exitCode, 1);
    assert.equal(report.cancelled, 1);
    assert.deepEqual(log, ['bystander cleanup']);
    assert.equal((report.reason as Error).name, 'AbortError');
    assert.equal((report.reason as Error).cause, failure);
    assert.ok(logger.lines.some((line) => line.includes('fragile') && line.includes('boom')));
  });

  it("'ignore': logs the failure and keeps running; it is not kept for the report", async () => {
    const logger = recordingLogger();
    const sup = new Supervisor({ signals: false, logger, onTaskError: 'ignore' });
    sup.spawn(
      async () => {
        throw new Error('transient');
      },
      { name: 'flaky' },
    );
    await flush();
    assert.equal(sup.state, 'running');
    assert.equal(logger.lines.length, 1);
    assert.match(logger.lines[0]!, /flaky.*transient/);
    const report = await sup.shutdown();
    assert.deepEqual(report.errors, []);
    assert.equal(report.exitCode, 0);
  });

  it('a function receives the error and the task; if it throws, that shuts down', async () => {
    const seen: [unknown, string][] = [];
    const sup = quiet({
      onTaskError: (error, task) => {
        seen.push([error, task.name]);
        if (task.name === 'fatal') throw new Error('handler gave up');
      },
    });
    const first = new Error('one');
    sup.spawn(
      async () => {
        throw first;
      },
      { name: 'minor' },
    );
    await flush();
    assert.equal(sup.state, 'running');
    sup.spawn(
      async () => {
        throw new Error('two');
      },
      { name: 'fatal' },
    );
    const report = await sup.done;
    assert.deepEqual(
      seen.map(([, name]) => name),
      ['minor', 'fatal'],
    );
    assert.equal(seen[0]?.[0], first);
    assert.equal(report.cause, 'error');
    assert.equal(report.errors.length, 1);
    assert.match(String(report.errors[0]), /handler gave up/);
  });
});

describe('await using', guard, () => {
  it('shuts down at the end of the scope', async () => {
    const log: string[] = [];
    let outer: Supervisor | undefined;
    {
      await using sup = quiet();
      outer = sup;
      sup.spawn(cooperative(log, 'scoped'));
      sup.defer(() => void log.push('deferred'));
    }
    assert.equal(outer.state, 'stopped');
    assert.deepEqual(log, ['scoped cleanup', 'deferred']);
    assert.equal((await outer.done).cause, 'dispose');
  });

  it('rejects with the error when the report has one, and an AggregateError when it has several', async () => {
    const one = quiet();
    const failure = new Error('disposer failed');
    one.defer(() => {
      throw failure;
    });
    await assert.rejects(one[Symbol.asyncDispose](), failure);

    const two = quiet();
    two.defer(() => {
      throw new Error('a');
    });
    two.defer(() => {
      throw new Error('b');
    });
    await assert.rejects(two[Symbol.asyncDispose](), (error: unknown) => {
      assert.ok(error instanceof AggregateError);
      assert.deepEqual(
        error.errors.map((e: Error) => e.message),
        ['b', 'a'],
      );
      return true;
    });
  });
});

describe('time kept for disposal', () => {
  it('one task that ignores its signal leaves the resources their reserve: the database still closes', async () => {
    const order: string[] = [];
    // Reserve: 400 ms (a fifth of the timeout), ten times what the close takes, for a loaded machine.
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 2_000 });
    sup.defer(async () => {
      await sleep(40); // closing a database takes a little while
      order.push('database closed');
    });
    sup.spawn(() => new Promise<void>(() => {}), { name: 'ignores its signal' });
    const report = await sup.shutdown();
    assert.deepEqual(order, ['database closed']);
    assert.deepEqual(
      report.stragglers.map((s) => s.name),
      ['ignores its signal'],
    );
    assert.equal(report.exitCode, 124);
  });

  it('a disposer that fails in its reserve is in the report, not logged after it', async () => {
    const failure = new Error('flush failed');
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 1_000 }); // reserve: 200 ms
    sup.defer(async () => {
      await sleep(20);
      throw failure;
    });
    sup.spawn(() => new Promise<void>(() => {}));
    const report = await sup.shutdown();
    assert.deepEqual(report.errors, [failure]);
    assert.equal(report.exitCode, 1);
  });

  it('disposeReserve 0 gives the tasks the whole timeout; the option is checked', async () => {
    assert.throws(() => new Supervisor({ signals: false, disposeReserve: -1 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => new Supervisor({ signals: false, disposeReserve: Infinity }), { code: 'ERR_OUT_OF_RANGE' });
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 150, disposeReserve: 0 });
    let closed = false;
    sup.defer(async () => {
      await sleep(40);
      closed = true;
    });
    sup.spawn(() => new Promise<void>(() => {}));
    const report = await sup.shutdown();
    assert.equal(closed, false, 'no time was left for it');
    assert.equal(report.stragglers.length, 2);
  });
});
