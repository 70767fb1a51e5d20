import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Supervisor, SupervisorClosedError } from '../lib/index.js';
import { aborted, deferred, flush, quiet, recordingLogger } from './helpers.js';

const guard = { timeout: 60_000 };

describe('resources (as AsyncDisposableStack)', guard, () => {
  it('use() returns the resource, prefers Symbol.asyncDispose, and looks the method up once', async () => {
    const log: string[] = [];
    const sup = quiet();
    const both = {
      async [Symbol.asyncDispose]() {
        log.push('async');
      },
      [Symbol.dispose]() {
        log.push('sync');
      },
    };
    assert.equal(sup.use(both), both);
    const swapped: { [Symbol.dispose]: () => void } = { [Symbol.dispose]: () => void log.push('original') };
    sup.use(swapped);
    swapped[Symbol.dispose] = () => void log.push('replaced');
    await sup.shutdown();
    assert.deepEqual(log, ['original', 'async']);
  });

  it('does not await what a Symbol.dispose fallback returns', async () => {
    const sup = quiet({ shutdownTimeout: 5_000 });
    const never = new Promise(() => {});
    sup.use({ [Symbol.dispose]: () => never } as unknown as Disposable);
    const report = await sup.shutdown();
    assert.deepEqual(report.stragglers, []);
  });

  it('allows use(null) and use(undefined), and rejects what is not disposable with a TypeError', async () => {
    const sup = quiet();
    assert.equal(sup.use(null), null);
    assert.equal(sup.use(undefined), undefined);
    assert.throws(() => sup.use({} as Disposable), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => sup.use(42 as unknown as Disposable), TypeError);
    assert.throws(() => sup.use({ [Symbol.asyncDispose]: 'nope' } as unknown as AsyncDisposable), TypeError);
    assert.throws(() => sup.adopt({}, 'close' as unknown as () => void), TypeError);
    assert.throws(() => sup.defer(undefined as unknown as () => void), TypeError);
    const report = await sup.shutdown();
    assert.deepEqual(report.errors, []);
  });

  it('adopt() passes the value to its callback; defer() calls with no argument', async () => {
    const calls: unknown[][] = [];
    const sup = quiet();
    const handle = { fd: 3 };
    assert.equal(
      sup.adopt(handle, (...args) => void calls.push(args)),
      handle,
    );
    sup.defer((...args: unknown[]) => void calls.push(args));
    await sup.shutdown();
    assert.deepEqual(calls, [[], [handle]]);
  });

  it('accepts resources while tasks drain, and refuses them once disposal began', async () => {
    const log: string[] = [];
    const sup = quiet();
    const gate = deferred();
    sup.defer(() => {
      log.push('first');
      assert.throws(() => sup.defer(() => {}), SupervisorClosedError);
      assert.throws(() => sup.use({ [Symbol.dispose]() {} }), { code: 'ERR_SUPERVISOR_CLOSED' });
    });
    sup.spawn(
      async () => {
        await gate.promise;
        sup.defer(() => void log.push('registered during shutdown'));
      },
      { shield: true },
    );
    const shutdown = sup.shutdown();
    gate.resolve();
    const report = await shutdown;
    assert.deepEqual(log, ['registered during shutdown', 'first']);
    assert.deepEqual(report.errors, []);
    assert.throws(() => sup.adopt(1, () => {}), SupervisorClosedError);
  });

  it('names disposers after their callback or class in the report', async () => {
    class Pool {
      close() {
        return new Promise(() => {});
      }
    }
    const sup = quiet({ shutdownTimeout: 30 });
    sup.adopt(new Pool(), (pool) => pool.close());
    sup.use({ [Symbol.asyncDispose]: () => new Promise<void>(() => {}) });
    const report = await sup.shutdown();
    assert.deepEqual(
      report.stragglers.map((s) => s.name),
      ['resource', 'Pool'],
    );
  });
});

describe('child supervisors', guard, () => {
  it('shut down as a layer at their place on the list, with their own tasks first', async () => {
    const log: string[] = [];
    const root = quiet({ name: 'root' });
    root.defer(() => void log.push('root resource (oldest)'));
    const storage = root.child({ name: 'storage' });
    storage.spawn(async (signal) => {
      await aborted(signal);
      log.push('storage task');
    });
    storage.defer(() => void log.push('storage resource'));
    const web = root.child({ name: 'web' });
    web.spawn(async (signal) => {
      await aborted(signal);
      log.push('web task');
    });
    root.defer(() => void log.push('root resource (newest)'));
    root.spawn(async (signal) => {
      await aborted(signal);
      assert.equal(storage.state, 'running', 'lower layers still run while the root drains');
      log.push('root task');
    });
    const report = await root.shutdown();
    assert.deepEqual(log, ['root task', 'root resource (newest)', 'web task', 'storage task', 'storage resource', 'root resource (oldest)']);
    assert.equal(report.cancelled, 3);
    assert.equal(storage.state, 'stopped');
    assert.equal((await storage.done).cause, 'parent');
    assert.equal((await storage.done).reason, report.reason);
  });

  it('inherit options, get a path name, and never listen to signals', async () => {
    const before = process.listenerCount('SIGTERM');
    const logger = recordingLogger();
    const root = new Supervisor({ name: 'root', logger, shutdownTimeout: 1234, onTaskError: 'ignore' });
    assert.equal(process.listenerCount('SIGTERM'), before === 0 ? 1 : before);
    const child = root.child();
    const grandchild = child.child({ name: 'leaf' });
    assert.equal(child.name, 'root/1');
    assert.equal(grandchild.name, 'leaf');
    // Children add no signal listener of their own.
    assert.equal(process.listenerCount('SIGTERM'), before === 0 ? 1 : before);
    assert.throws(() => root.child({ signals: ['SIGINT'] } as never), TypeError);
    grandchild.spawn(async () => {
      throw new Error('inherited ignore');
    });
    await flush();
    assert.equal(root.state, 'running');
    assert.ok(logger.lines.some((line) => line.includes('inherited ignore')));
    // The inherited deadline: a task that ignores its signal is a straggler of the grandchild's own
    // shutdown (with the default 10 s, this shutdown would still be waiting when the root's ends).
    grandchild.spawn(() => new Promise(() => {}), { name: 'stuck' });
    const [own, whole] = await Promise.all([grandchild.shutdown(), root.shutdown()]);
    assert.deepEqual(
      own.stragglers.map((straggler) => straggler.name),
      ['stuck'],
    );
    assert.ok(own.durationMs < 10_000, `the grandchild waited ${own.durationMs} ms: its deadline was not the inherited 1234 ms`);
    assert.equal(whole.exitCode, 124);
    assert.equal(process.listenerCount('SIGTERM'), before);
  });

  it('leave the parent list when shut down on their own, so per-request scopes do not pile up', async () => {
    const root = quiet();
    for (let i = 0; i < 1_000; i++) {
      await using scope = root.child();
      scope.spawn(async () => {});
    }
    assert.equal(root._resources.entries.length, 0);
    const kept = root.child({ name: 'kept' });
    assert.equal(root._resources.entries.length, 1);
    const report = await root.shutdown();
    assert.equal(kept.state, 'stopped');
    assert.deepEqual(report.errors, []);
  });

  it("escalate a failure under 'shutdown' to the root, whose report holds it once", async () => {
    const root = quiet({ name: 'root' });
    const child = root.child({ name: 'jobs' });
    const grandchild = child.child({ name: 'worker-pool' });
    const failure = new Error('worker crashed');
    grandchild.spawn(async () => {
      await null;
      throw failure;
    });
    const report = await root.done;
    assert.equal(report.cause, 'error');
    assert.deepEqual(report.errors, [failure]);
    assert.equal(report.exitCode, 1);
    assert.equal(grandchild.state, 'stopped');
  });

  it('a child already shutting down on its own is awaited and merged within the deadline', async () => {
    const root = quiet({ shutdownTimeout: 5_000 });
    const child = root.child({ name: 'slow' });
    const gate = deferred();
    child.defer(async () => {
      await gate.promise;
      throw new Error('child cleanup failed');
    });
    const childShutdown = child.shutdown();
    const rootShutdown = root.shutdown();
    await sleep(10);
    gate.resolve();
    const [childReport, rootReport] = await Promise.all([childShutdown, rootShutdown]);
    assert.equal(childReport.errors.length, 1);
    assert.deepEqual(rootReport.errors, childReport.errors);
  });

  it('a child shutting down on its own that misses the root deadline is a straggler', async () => {
    const root = quiet({ shutdownTimeout: 50 });
    const child = root.child({ name: 'hung', shutdownTimeout: Infinity });
    child.defer(() => new Promise(() => {}));
    void child.shutdown();
    const report = await root.shutdown();
    assert.deepEqual(
      report.stragglers.map((s) => s.name),
      ['hung'],
    );
    assert.equal(report.exitCode, 124);
  });

  it('three nested layers each wait for the one above', async () => {
    const log: string[] = [];
    const root = quiet();
    let layer = root;
    for (const name of ['a', 'b', 'c']) {
      layer = layer.child({ name });
      const current = name;
      layer.spawn(async (signal) => {
        await aborted(signal);
        await sleep(5);
        log.push(current);
      });
    }
    await root.shutdown();
    assert.deepEqual(log, ['a', 'b', 'c']);
  });
});

describe('sup.signal and state', guard, () => {
  it('is created lazily and already aborted when read after shutdown began', async () => {
    const sup = quiet();
    await sup.shutdown('bye');
    assert.equal(sup.signal.aborted, true);
    assert.equal(sup.signal.reason, 'bye');
  });

  it('a shutdown started by a task from inside spawn still waits for that task', async () => {
    const sup = quiet();
    const log: string[] = [];
    const task = sup.spawn(async (signal) => {
      const report = sup.shutdown();
      assert.equal(signal.aborted, true);
      await sleep(5);
      log.push('self-stopping task finished');
      return { report };
    });
    const report = await sup.done;
    assert.deepEqual(log, ['self-stopping task finished']);
    assert.deepEqual(report.stragglers, []);
    assert.equal(await (await task).report, report);
  });
});

describe('bad input', guard, () => {
  it('gets a typed error at the call', () => {
    const sup = quiet();
    assert.throws(() => sup.spawn('run' as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /spawn\(fn\) must be a function, got "run"/ });
    assert.throws(() => sup.spawn(async () => {}, { name: 7 } as never), TypeError);
    assert.throws(() => sup.spawn(async () => {}, { shield: 'yes' } as never), TypeError);
    assert.throws(() => sup.spawn(async () => {}, 'opts' as never), TypeError);
    assert.equal(sup.size, 0);
    for (const shutdownTimeout of [-1, Number.NaN, 2 ** 31, -Infinity]) {
      assert.throws(() => new Supervisor({ signals: false, shutdownTimeout }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    }
    assert.throws(() => new Supervisor({ signals: false, shutdownTimeout: '10' as never }), TypeError);
    assert.throws(() => new Supervisor({ signals: ['SIGNOPE' as NodeJS.Signals] }), { name: 'TypeError', code: 'ERR_UNKNOWN_SIGNAL' });
    assert.throws(() => new Supervisor({ signals: ['SIGKILL'] }), TypeError);
    assert.throws(() => new Supervisor({ signals: 'SIGINT' as never }), TypeError);
    assert.throws(() => new Supervisor({ signals: false, secondSignal: 'twice' as never }), TypeError);
    assert.throws(() => new Supervisor({ signals: false, onTaskError: 'crash' as never }), TypeError);
    assert.throws(() => new Supervisor({ signals: false, logger: {} as never }), TypeError);
    assert.throws(() => new Supervisor({ signals: false, name: 5 as never }), TypeError);
    assert.throws(() => new Supervisor(null as never), TypeError);
    assert.throws(() => sup.child({ shutdownTimeout: -5 }), RangeError);
    assert.throws(() => sup.child({ logger: { warn() {} } as never }), TypeError);
  });

  it('after shutdown began, spawn says which supervisor and why', async () => {
    const sup = quiet({ name: 'api' });
    await sup.shutdown();
    assert.throws(
      () => sup.spawn(async function handler() {}),
      (error: unknown) => {
        assert.ok(error instanceof SupervisorClosedError);
        assert.ok(error instanceof ReferenceError, 'as AsyncDisposableStack after disposal');
        assert.equal(error.name, 'SupervisorClosedError');
        assert.equal(error.code, 'ERR_SUPERVISOR_CLOSED');
        assert.match(error.message, /handler.*"api" is stopped.*shutdown/);
        return true;
      },
    );
  });
});

describe('a failure in a child reaches the report of the shutdown it causes, once', () => {
  it('a per-request child that fails and is shut down by its owner: the root stops with the error and exit code 1', async () => {
    const root = new Supervisor({ signals: false, logger: false });
    root.spawn(
      async (signal) => {
        await aborted(signal);
        await sleep(100); // stops slowly: the root reaches its disposal only after the scope has stopped
      },
      { name: 'server' },
    );
    const failure = new Error('lookup failed');
    const scope = root.child({ name: 'request' });
    scope.spawn(async () => {
      await sleep(1);
      throw failure;
    });
    await sleep(20); // the failure has escalated: the root is shutting down
    await scope.shutdown(); // what `await using scope = root.child()` does at the end of the block
    const report = await root.done;
    assert.equal(report.cause, 'error');
    assert.deepEqual(report.errors, [failure]);
    assert.equal(report.exitCode, 1);
  });

  it("a child still in its parent's list is collected by the parent: its error is in the root report once", async () => {
    const root = new Supervisor({ signals: false, logger: false });
    const failure = new Error('worker failed');
    const child = root.child();
    child.spawn(async () => {
      await sleep(1);
      throw failure;
    });
    const report = await root.done;
    assert.deepEqual(report.errors, [failure]);
  });

  it('await using: an error the code already received by awaiting its task is not thrown again at disposal', async () => {
    const root = new Supervisor({ signals: false, logger: false });
    const scope = root.child();
    const failure = new Error('already seen');
    const task = scope.spawn(async () => {
      throw failure;
    });
    await assert.rejects(Promise.resolve(task), (error) => error === failure); // delivered here
    await scope[Symbol.asyncDispose](); // does not throw it a second time
    assert.deepEqual((await scope.done).errors, [failure], 'the report keeps it');
    assert.deepEqual((await root.done).errors, [failure]);
  });

  it('await using: an error nobody received is thrown at disposal', async () => {
    const root = new Supervisor({ signals: false, logger: false });
    const scope = root.child();
    const failure = new Error('unseen');
    scope.spawn(async () => {
      throw failure;
    });
    await flush();
    await assert.rejects(scope[Symbol.asyncDispose](), (error) => error === failure);
    await root.done;
  });
});

describe('one lifecycle: what each phase still takes', guard, () => {
  it('draining takes tasks and children; cancelling takes resources only; disposing takes nothing; each refusal names its phase', async () => {
    const sup = new Supervisor({ signals: false, logger: false });
    const seen: string[] = [];
    const attempt = (what: string, call: () => unknown) => {
      try {
        call();
        seen.push(`${what}: ok`);
      } catch (error) {
        assert.ok(error instanceof SupervisorClosedError);
        seen.push(`${what}: ${/is stopping \((\w+)\)/.exec(error.message)?.[1] ?? error.message}`);
      }
    };
    const release = deferred<void>();
    // A shielded task keeps phase 2 (cancelling) open until it is released.
    sup.spawn(() => release.promise, { name: 'holder', shield: true });
    sup.defer(() => {
      attempt('disposing spawn', () => sup.spawn(() => {}));
      attempt('disposing use', () => sup.defer(() => {}));
    });
    sup.signal.addEventListener('abort', () => {
      // Phase 1, draining: the abort runs synchronously as the shutdown begins.
      attempt('draining spawn', () => sup.spawn(() => {}));
      attempt('draining child', () => sup.child());
    });
    const done = sup.shutdown();
    await flush();
    attempt('cancelling spawn', () => sup.spawn(() => {}));
    attempt('cancelling child', () => sup.child());
    attempt('cancelling use', () => sup.defer(() => {}));
    release.resolve();
    await done;
    assert.deepEqual(seen, [
      'draining spawn: ok',
      'draining child: ok',
      'cancelling spawn: cancelling',
      'cancelling child: cancelling',
      'cancelling use: ok',
      'disposing spawn: disposing',
      'disposing use: disposing',
    ]);
  });
});
