import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Supervisor, type Task } from '../lib/index.js';
import { aborted, deferred, flush, garbageCollector, quiet, recordingLogger } from './helpers.js';

const guard = { timeout: 30_000 };

describe('Task', guard, () => {
  it('is registered from spawn until it settles, and leaves at once', async () => {
    const sup = quiet();
    const gate = deferred<string>();
    const task = sup.spawn(() => gate.promise);
    assert.equal(sup.size, 1);
    assert.equal(task.state, 'running');
    gate.resolve('value');
    assert.equal(await task, 'value');
    assert.equal(task.state, 'fulfilled');
    assert.equal(sup.size, 0);
    await sup.shutdown();
  });

  it('settles a synchronous function at once without entering the registry for longer than the call', async () => {
    const sup = quiet();
    const task = sup.spawn(() => 42);
    assert.equal(task.state, 'fulfilled');
    assert.equal(sup.size, 0);
    assert.equal(await task, 42);
    const thrown = new Error('sync');
    const failing = sup.spawn((): number => {
      throw thrown;
    });
    assert.equal(failing.state, 'rejected');
    await assert.rejects(Promise.resolve(failing), thrown);
    await sup.shutdown();
  });

  it('accepts any thenable, not only native promises', async () => {
    const sup = quiet();
    const thenable: PromiseLike<string> = { then: (onFulfilled) => (onFulfilled?.('from thenable'), undefined) as never };
    const task = sup.spawn(() => thenable);
    assert.equal(await task, 'from thenable');
    assert.equal(task.state, 'fulfilled');
    await sup.shutdown();
  });

  it('passes a signal only to functions that declare a parameter', async () => {
    const sup = quiet();
    let received: unknown[] = [];
    sup.spawn(function (this: unknown) {
      received = [...arguments];
    });
    assert.deepEqual(received, []);
    let signal: unknown;
    sup.spawn((s) => {
      signal = s;
    });
    assert.ok(signal instanceof AbortSignal);
    await sup.shutdown();
  });

  it('creates the signal on first read, already aborted when the task was cancelled before', async () => {
    const sup = quiet();
    const gate = deferred();
    const task = sup.spawn(() => gate.promise);
    task.cancel('stop');
    assert.equal(task.signal.aborted, true);
    assert.equal(task.signal.reason, 'stop');
    assert.equal(task.signal, task.signal);
    gate.resolve();
    await task;
    await sup.shutdown();
  });

  it('names tasks after the option, else the function, else their id', async () => {
    const sup = quiet();
    async function worker() {}
    const named = sup.spawn(worker, { name: 'custom' });
    const fromFunction = sup.spawn(worker);
    const anonymous = sup.spawn([async () => {}][0]!);
    assert.equal(named.name, 'custom');
    assert.equal(fromFunction.name, 'worker');
    assert.equal(anonymous.name, `task-${anonymous.id}`);
    assert.ok(named.id < fromFunction.id && fromFunction.id < anonymous.id);
    await Promise.all([named, fromFunction, anonymous]);
    await sup.shutdown();
  });

  it('cancel() aborts the signal with an AbortError, and a task that rejects with it is cancelled, not failed', async () => {
    const logger = recordingLogger();
    const sup = new Supervisor({ signals: false, logger });
    const task = sup.spawn(
      async (signal) => {
        await aborted(signal);
        signal.throwIfAborted();
      },
      { name: 'poller' },
    );
    task.cancel();
    assert.equal(task.signal.aborted, true);
    assert.equal((task.signal.reason as Error).name, 'AbortError');
    assert.match((task.signal.reason as Error).message, /poller/);
    await assert.rejects(Promise.resolve(task), { name: 'AbortError' });
    assert.equal(task.state, 'cancelled');
    assert.equal(sup.state, 'running');
    const report = await sup.shutdown();
    assert.deepEqual(report.errors, []);
    assert.deepEqual(logger.lines, []);
  });

  it('cancel(reason) uses the reason, and a task that rejects with it is cancelled', async () => {
    const sup = quiet();
    const reason = new Error('enough');
    const task = sup.spawn(async (signal) => {
      await aborted(signal);
      throw signal.reason;
    });
    task.cancel(reason);
    await assert.rejects(Promise.resolve(task), reason);
    assert.equal(task.state, 'cancelled');
    assert.deepEqual((await sup.shutdown()).errors, []);
  });

  it('a cancelled task that still completes is fulfilled; cancel after settling does nothing', async () => {
    const sup = quiet();
    const task = sup.spawn(async (signal) => {
      await aborted(signal);
      return 'finished anyway';
    });
    task.cancel();
    task.cancel('twice');
    assert.equal(task.signal.reason instanceof DOMException, true);
    assert.equal(await task, 'finished anyway');
    assert.equal(task.state, 'fulfilled');
    task.cancel();
    assert.equal(task.state, 'fulfilled');
    await sup.shutdown();
  });

  it('an AbortError the task was not asked for is a failure', async () => {
    const sup = quiet({ onTaskError: 'ignore' });
    const task = sup.spawn(async () => {
      throw new DOMException('own timeout', 'AbortError');
    });
    await assert.rejects(Promise.resolve(task), { name: 'AbortError' });
    assert.equal(task.state, 'rejected');
    await sup.shutdown();
  });

  it('a cancelled task that fails with another error is rejected', async () => {
    const sup = quiet({ onTaskError: 'ignore' });
    const task = sup.spawn(async (signal) => {
      await aborted(signal);
      throw new Error('cleanup broke');
    });
    task.cancel();
    await assert.rejects(Promise.resolve(task), /cleanup broke/);
    assert.equal(task.state, 'rejected');
    await sup.shutdown();
  });

  it('never lets a rejection become an unhandledRejection, awaited or not', async () => {
    let unhandled = 0;
    const count = () => unhandled++;
    process.on('unhandledRejection', count);
    try {
      const ignoring = quiet({ onTaskError: 'ignore' });
      for (let i = 0; i < 10; i++) ignoring.spawn(async () => Promise.reject(new Error(`ignored ${i}`)));
      ignoring.spawn(() => {
        throw new Error('sync');
      });
      const stopping = quiet();
      stopping.spawn(async () => {
        throw new Error('fatal');
      });
      await flush();
      await flush();
      await Promise.all([ignoring.shutdown(), stopping.done]);
      await flush();
      assert.equal(unhandled, 0);
    } finally {
      process.off('unhandledRejection', count);
    }
  });

  it('shows id, name and state when inspected', async () => {
    const { inspect } = await import('node:util');
    const sup = quiet();
    const gate = deferred();
    const task: Task = sup.spawn(() => gate.promise, { name: 'shown', shield: true });
    assert.equal(inspect(task), `Task { id: ${task.id}, name: "shown", state: 'running', shielded }`);
    assert.equal(task.shielded, true);
    gate.resolve();
    await sup.shutdown();
  });
});

describe('what a settled task leaves behind', guard, () => {
  it('nothing keeps a settled task function (and its closure) alive: not even the last one spawned', async () => {
    const gc = garbageCollector();
    const sup = quiet();
    const refs: WeakRef<object>[] = [];
    // Each function holds a large closure; the last one spawned is the one a cache would keep.
    // Made in a function of their own: an async test's locals live on across its awaits.
    const spawnOne = async () => {
      const payload = new Uint8Array(1024 * 1024);
      const fn = async () => payload.length;
      refs.push(new WeakRef(fn));
      assert.equal(await sup.spawn(fn), 1024 * 1024);
    };
    for (let i = 0; i < 3; i++) await spawnOne();
    // WeakRef targets stay alive until the job that made them ends: collect in a later turn.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    assert.deepEqual(
      refs.map((ref) => ref.deref() === undefined),
      [true, true, true],
    );
    await sup.shutdown();
  });
});
