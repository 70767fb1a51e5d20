// Whatever user code throws or returns, nothing is lost and nothing crashes: every value is kept
// as it was thrown, every log line is written, and no operation on a user's value can throw
// out of supervise (issue 12, cases 4 to 9).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { format, inspect } from 'node:util';
import { Supervisor } from '../lib/index.js';
import { runForTest } from '../lib/testing.js';
import type { Logger } from '../lib/index.js';
import { errorWithThrowingGetters, recordUnexpected } from './helpers.js';

/** A logger that formats its arguments as console.error does (util.format, which inspects objects). */
function consoleLikeLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const write = (...data: unknown[]) => void lines.push(format(...data));
  return { lines, warn: write, error: write };
}

/** Values that break naive code: String() throws, getters throw, inspect throws, a Proxy is revoked. */
function hostileValues(): { readonly label: string; readonly value: unknown }[] {
  const revocable = Proxy.revocable({}, {});
  revocable.revoke();
  return [
    { label: 'a null-prototype object', value: Object.create(null) },
    {
      label: 'a throwing toString',
      value: {
        toString() {
          throw new Error('toString');
        },
      },
    },
    {
      label: 'a throwing util.inspect.custom',
      value: {
        [inspect.custom]() {
          throw new Error('inspect');
        },
      },
    },
    {
      label: 'an Error-like value whose name and message getters throw',
      value: errorWithThrowingGetters(),
    },
    { label: 'a revoked Proxy', value: revocable.proxy },
    { label: 'a symbol', value: Symbol('thrown') },
    { label: 'undefined', value: undefined },
    { label: 'null', value: null },
  ];
}

const unexpected = recordUnexpected();

describe('hostile values thrown by tasks', () => {
  for (const { label, value } of hostileValues()) {
    it(`${label}: kept by identity in the report, logged, exit code 1`, async () => {
      const logger = consoleLikeLogger();
      const sup = new Supervisor({ signals: false, logger });
      sup.spawn(
        async () => {
          await sleep(1);
          throw value;
        },
        { name: 'hostile' },
      );
      const report = await sup.done;
      assert.equal(report.errors.length, 1);
      assert.ok(Object.is(report.errors[0], value), 'the very value thrown');
      assert.equal(report.exitCode, 1);
      assert.ok(
        logger.lines.some((line) => line.includes('task "hostile" failed')),
        logger.lines.join('\n'),
      );
      await sleep(5);
      assert.deepEqual(unexpected, []);
    });
  }

  it('a restarting task that throws a null-prototype object is restarted, the logger notwithstanding', async () => {
    const logger = consoleLikeLogger();
    const sup = new Supervisor({ signals: false, logger });
    let runs = 0;
    const task = sup.spawn(
      async () => {
        if (++runs === 1) throw Object.create(null);
        return 'second run';
      },
      { restart: 'on-failure', backoff: () => 0 },
    );
    assert.equal(await task, 'second run');
    assert.equal(task.restarts, 1);
    assert.ok(
      logger.lines.some((line) => line.includes('[Object: null prototype] {}') && line.includes('restart 1')),
      logger.lines.join('\n'),
    );
    await sup.shutdown();
  });

  it('a cancelled task rejecting with a value whose name getter throws: settled, its error kept, no straggler', async () => {
    const thrown = {
      get name(): string {
        throw new Error('name getter');
      },
    };
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 5_000 });
    const task = sup.spawn(async (signal) => {
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      throw thrown;
    });
    const report = await sup.shutdown();
    assert.equal(task.state, 'rejected');
    assert.deepEqual(report.stragglers, []);
    assert.ok(report.errors.includes(thrown));
    assert.equal(report.exitCode, 1);
    await sleep(5);
    assert.deepEqual(unexpected, []);
  });
});

describe('thenables of every shape', () => {
  it('a `then` getter that throws rejects the task, as await would; spawn does not throw', async () => {
    const failure = new Error('then getter');
    const sup = new Supervisor({ signals: false, logger: false });
    const task = sup.spawn(
      () =>
        ({
          get then(): never {
            throw failure;
          },
        }) as unknown as PromiseLike<void>,
    );
    await assert.rejects(Promise.resolve(task), (error) => error === failure);
    const report = await sup.done;
    assert.deepEqual(report.errors, [failure]);
    assert.deepEqual(report.stragglers, []);
  });

  it('a `then` that throws rejects the task', async () => {
    const failure = new Error('then threw');
    const sup = new Supervisor({ signals: false, logger: false });
    const task = sup.spawn(
      () =>
        ({
          then() {
            throw failure;
          },
        }) as unknown as PromiseLike<void>,
    );
    await assert.rejects(Promise.resolve(task), (error) => error === failure);
    assert.deepEqual((await sup.done).errors, [failure]);
  });

  it('a callable thenable is awaited: shutdown waits for it', async () => {
    const order: string[] = [];
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 5_000 });
    const callable = Object.assign(() => {}, {
      then(resolve: (value: string) => void) {
        setTimeout(() => {
          order.push('thenable resolved');
          resolve('late');
        }, 200);
      },
    });
    const task = sup.spawn(() => callable as unknown as PromiseLike<string>);
    assert.equal(task.state, 'running');
    await sup.shutdown();
    order.push('shutdown done');
    assert.deepEqual(order, ['thenable resolved', 'shutdown done']);
    assert.equal(task.state, 'fulfilled');
    assert.equal(await task, 'late');
  });

  it('an object without a callable then is the result itself, at once', async () => {
    const sup = new Supervisor({ signals: false, logger: false });
    const value = { then: 42 };
    const task = sup.spawn(() => value as unknown as PromiseLike<unknown>);
    assert.equal(task.state, 'fulfilled');
    assert.equal(await task, value);
    await sup.shutdown();
  });
});

describe('run() with values that cannot be printed', () => {
  it('main throws a null-prototype object: exit code 1, every cleanup run, the error kept', async () => {
    const logger = consoleLikeLogger();
    const thrown = Object.create(null);
    let cleaned = false;
    const program = runForTest(
      async (sup) => {
        sup.defer(() => void (cleaned = true));
        throw thrown;
      },
      { logger, signals: false },
    );
    assert.equal(await program.exitCode, 1);
    assert.deepEqual((await program.report).errors, [thrown]);
    assert.equal(cleaned, true);
    assert.ok(
      logger.lines.some((line) => line.includes('[Object: null prototype] {}')),
      logger.lines.join('\n'),
    );
  });

  it('an error whose util.inspect.custom throws: the closing log says so, and run() resolves with the report', async () => {
    const logger = consoleLikeLogger();
    const thrown = {
      [inspect.custom]() {
        throw new Error('inspect');
      },
    };
    const program = runForTest(
      async () => {
        throw thrown;
      },
      { logger, signals: false },
    );
    assert.equal(await program.exitCode, 1);
    assert.deepEqual((await program.report).errors, [thrown]);
    assert.ok(
      logger.lines.some((line) => line.includes('cannot be printed')),
      logger.lines.join('\n'),
    );
  });
});

describe('adopt accepts any value, as AsyncDisposableStack.adopt does', () => {
  it('a revoked Proxy, with an anonymous onDispose', async () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const sup = new Supervisor({ signals: false, logger: false });
    let disposedWith: unknown;
    sup.adopt(proxy, (value) => void (disposedWith = value));
    const report = await sup.shutdown();
    assert.equal(disposedWith, proxy);
    assert.equal(report.exitCode, 0);
  });

  it('a value whose constructor getter throws, and a revoked Proxy as onDispose (it throws at disposal, into the report)', async () => {
    const value = {
      get constructor(): never {
        throw new Error('constructor getter');
      },
    };
    const { proxy: onDispose, revoke } = Proxy.revocable(() => {}, {});
    revoke();
    const sup = new Supervisor({ signals: false, logger: false });
    sup.adopt(value, () => {});
    sup.adopt({}, onDispose);
    const report = await sup.shutdown();
    assert.equal(report.errors.length, 1);
    assert.ok(report.errors[0] instanceof TypeError);
  });
});
