// Request scopes: `onTaskError: 'scope'` and `sup.scope()`. A failure stays in the scope it
// happened in, and reaches the code that owns the scope, or, if that code never asks, the parent's
// report: once, never lost.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Supervisor, SupervisorClosedError, run } from '../lib/index.js';
import { recordTimeline } from '../lib/testing.js';
import { aborted, flush, quiet, recordUnexpected, recordingLogger } from './helpers.js';

const guard = { timeout: 60_000 };
const unexpected = recordUnexpected();

/** A scope whose `failing` task rejects with `error` once `go` resolves; its sibling waits for its signal. */
function failingScope(parent: Supervisor, error: unknown, log: string[], name = 'request') {
  const scope = parent.scope({ name });
  scope.defer(() => void log.push('first resource disposed'));
  scope.defer(() => void log.push('second resource disposed'));
  scope.spawn(
    async (signal) => {
      await aborted(signal);
      log.push('sibling cancelled');
    },
    { name: 'sibling' },
  );
  scope.spawn(
    async () => {
      await flush();
      throw error;
    },
    { name: 'lookup' },
  );
  return scope;
}

describe('sup.scope(): failures stay in the scope', guard, () => {
  it('a failed task cancels the scope, disposes it last in first out, and the parent keeps running', async () => {
    const sup = quiet();
    const log: string[] = [];
    const boom = new Error('lookup failed');
    const scope = failingScope(sup, boom, log);
    await scope._life.done;
    assert.deepEqual(log, ['sibling cancelled', 'second resource disposed', 'first resource disposed']);
    assert.equal(scope.state, 'stopped');
    assert.equal(sup.state, 'running');
    const report = await scope.shutdown();
    assert.equal(report.cause, 'error');
    assert.deepEqual(report.errors, [boom]);
    assert.equal(report.exitCode, 1);
    assert.equal(report.cancelled, 1);
    const root = await sup.shutdown();
    assert.deepEqual(root.errors, [], 'the owner collected it: the parent does not report it again');
    assert.equal(root.exitCode, 0);
  });

  it('[Symbol.asyncDispose] rejects with the error itself, not wrapped', async () => {
    const sup = quiet();
    const boom = new Error('lookup failed');
    const log: string[] = [];
    await assert.rejects(
      async () => {
        await using scope = failingScope(sup, boom, log);
        await aborted(scope.signal);
      },
      (thrown) => thrown === boom,
    );
    assert.equal(sup.state, 'running');
    assert.deepEqual((await sup.shutdown()).errors, []);
  });

  it('an error the owner already received by awaiting its task is not thrown again at the end of the scope', async () => {
    const sup = quiet();
    const boom = new Error('lookup failed');
    await assert.rejects(
      async () => {
        await using scope = sup.scope();
        await scope.spawn(async () => {
          throw boom;
        });
      },
      (thrown) => thrown === boom,
    );
    assert.deepEqual((await sup.shutdown()).errors, []);
  });

  it('a scope that stopped itself stays on its parent list until collected, then leaves it', async () => {
    for (const collect of ['shutdown', 'done', 'dispose'] as const) {
      const sup = quiet();
      const boom = new Error(`collected by ${collect}`);
      const scope = failingScope(sup, boom, []);
      await scope._life.done;
      assert.deepEqual(
        sup.tasks().children.map((child) => child.name),
        ['request'],
        `${collect}: listed until collected`,
      );
      if (collect === 'shutdown') assert.deepEqual((await scope.shutdown()).errors, [boom]);
      else if (collect === 'done') assert.deepEqual((await scope.done).errors, [boom]);
      else await assert.rejects(scope[Symbol.asyncDispose](), (thrown) => thrown === boom);
      assert.deepEqual(sup.tasks().children, [], `${collect}: left the list once collected`);
      const root = await sup.shutdown();
      assert.deepEqual(root.errors, [], `${collect}: delivered once, to the owner`);
    }
  });

  it('an owner that attached to done before the failure gets it, and the scope leaves at once', async () => {
    const sup = quiet();
    const boom = new Error('watched');
    const scope = sup.scope();
    const report = scope.done;
    scope.spawn(async () => {
      throw boom;
    });
    assert.deepEqual((await report).errors, [boom]);
    assert.deepEqual(sup.tasks().children, []);
    assert.deepEqual((await sup.shutdown()).errors, []);
  });

  it('watching a scope with recordTimeline does not collect it', async () => {
    const sup = quiet();
    const scope = sup.scope({ name: 'watched' });
    const timeline = recordTimeline(scope);
    const boom = new Error('watched failure');
    scope.spawn(async () => {
      throw boom;
    });
    await scope._life.done;
    assert.deepEqual(
      sup.tasks().children.map((child) => child.name),
      ['watched'],
    );
    assert.deepEqual((await sup.shutdown()).errors, [boom]);
    timeline[Symbol.dispose]();
  });

  it('when the parent shuts down first, the uncollected error is in the parent report, once', async () => {
    const sup = quiet();
    const boom = new Error('nobody asked');
    const scope = failingScope(sup, boom, []);
    await scope._life.done;
    const root = await sup.shutdown();
    assert.deepEqual(root.errors, [boom]);
    assert.equal(root.exitCode, 1);
    // The owner still learns its work failed, but the parent's report holds it once.
    assert.deepEqual((await scope.shutdown()).errors, [boom]);
  });

  it('a scope failing while its parent drains is collected by the parent disposal', async () => {
    const sup = quiet();
    const scope = sup.scope();
    const boom = new Error('during the drain');
    scope.spawn(async (signal) => {
      await aborted(signal);
      throw boom;
    });
    const root = await sup.shutdown();
    assert.deepEqual(root.errors, [boom]);
  });

  it('a scope still stopping itself at its parent deadline: what it kept is in the parent report', async () => {
    const sup = quiet({ shutdownTimeout: 200 });
    const scope = sup.scope({ shutdownTimeout: 60_000 });
    // Keeps the scope's own shutdown running past the parent's deadline, until the test is done (else
    // the scope's 60 s deadline would keep this file's process alive for a minute after its tests).
    let release!: () => void;
    const hung = new Promise<void>((resolve) => (release = resolve));
    scope.defer(() => hung);
    const boom = new Error('failed as the parent stopped');
    scope.spawn(async () => {
      throw boom;
    });
    await aborted(scope.signal); // its own shutdown has begun, with its own deadline
    const root = await sup.shutdown();
    assert.deepEqual(root.errors, [boom]);
    assert.deepEqual(
      root.stragglers.map((straggler) => straggler.name),
      [scope.name],
    );
    assert.equal(root.exitCode, 1);
    release();
  });

  /**
   * A scope that fails (`boom`) while its child `inner` fails as it is cancelled (`deep`) and then
   * holds the scope's disposal with `innerDisposer`, past the parent's deadline; resolves with the
   * parent's report once the parent has stopped waiting.
   */
  async function scopeHeldBelowPastTheDeadline(sup: Supervisor, scopeTimeout: number, innerDisposer: () => Promise<void>) {
    const scope = sup.scope({ shutdownTimeout: scopeTimeout });
    const inner = scope.child({ name: 'inner' });
    inner.defer(innerDisposer);
    const deep = new Error('failed as it was cancelled');
    inner.spawn(async (signal) => {
      await aborted(signal);
      throw deep;
    });
    const boom = new Error('the scope failed');
    scope.spawn(async () => {
      throw boom;
    });
    await aborted(scope.signal);
    return { scope, boom, deep, root: await sup.shutdown() };
  }

  it('what a child below such a scope kept is in the parent report too', async () => {
    // The scope's disposal waits for this child past the parent's deadline, until the test is done.
    let release!: () => void;
    const hung = new Promise<void>((resolve) => (release = resolve));
    const { root, boom, deep } = await scopeHeldBelowPastTheDeadline(quiet({ shutdownTimeout: 200 }), 60_000, () => hung);
    assert.deepEqual(root.errors, [boom, deep]);
    release();
  });

  /**
   * A scope that fails with `boom` and, as it is disposed after its parent stopped waiting for it,
   * throws `late(boom)` from a resource disposed behind a stuck one. Resolves with the parent's
   * report, the scope's own, and the log lines that say the parent had stopped waiting.
   */
  async function scopeFailingAgainAfterItsParent(late: (boom: Error) => Error) {
    const logger = recordingLogger();
    const sup = new Supervisor({ signals: false, logger, shutdownTimeout: 100 });
    const scope = sup.scope({ shutdownTimeout: 400 });
    const boom = new Error('the scope failed');
    const lateError = late(boom);
    scope.defer(() => {
      throw lateError;
    });
    scope.defer(() => new Promise(() => {})); // disposed first, stuck until the scope's own deadline
    scope.spawn(async () => {
      throw boom;
    });
    await aborted(scope.signal);
    const root = await sup.shutdown();
    const own = await scope._life.done;
    const lines = logger.lines.filter((line) => line.includes('stopped waiting'));
    return { boom, lateError, root, own, lines, all: logger.lines };
  }

  it('what such a scope keeps after its parent stopped waiting is logged, once', async () => {
    const { boom, lateError, root, own, lines, all } = await scopeFailingAgainAfterItsParent(() => new Error('disposed after the parent report'));
    assert.deepEqual(root.errors, [boom]);
    assert.deepEqual(own.errors, [boom, lateError]);
    assert.equal(lines.length, 1, all.join('\n'));
    assert.match(lines[0] ?? '', /disposed after the parent report/);
  });

  it('a failure it keeps after its parent stopped waiting is logged even when it is the value already handed up', async () => {
    // A resource that rethrows the failure it last saw as it closes: the same object, thrown a
    // second time, after the parent's report. Only what those below the scope kept comes back up.
    const { boom, root, own, lines, all } = await scopeFailingAgainAfterItsParent((failure) => failure);
    assert.deepEqual(root.errors, [boom]);
    assert.deepEqual(own.errors, [boom, boom]);
    assert.equal(lines.length, 1, all.join('\n'));
    assert.match(lines[0] ?? '', /the scope failed/);
  });

  it('what a child below such a scope kept, handed up once, comes back up without being logged', async () => {
    const logger = recordingLogger();
    const sup = new Supervisor({ signals: false, logger, shutdownTimeout: 100 });
    // Stuck until the scope's own deadline.
    const { scope, root, boom, deep } = await scopeHeldBelowPastTheDeadline(sup, 400, () => new Promise(() => {}));
    assert.deepEqual(root.errors, [boom, deep]);
    const own = await scope._life.done;
    assert.deepEqual(own.errors, [boom, deep]);
    assert.deepEqual(
      logger.lines.filter((line) => line.includes('stopped waiting')),
      [],
    );
  });

  it('delivers hostile values as thrown: null, undefined, a symbol, a null-prototype object, a revoked Proxy', async () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const values: unknown[] = [null, undefined, Symbol('s'), Object.create(null), proxy, 0, ''];
    const sup = quiet();
    for (const value of values) {
      let caught: unknown = 'nothing';
      try {
        await using scope = sup.scope();
        scope.spawn(async () => {
          throw value;
        });
        await aborted(scope.signal);
      } catch (error) {
        caught = error;
      }
      assert.equal(caught, value);
    }
    assert.equal(sup.state, 'running');
    assert.deepEqual(sup.tasks().children, []);
    assert.deepEqual((await sup.shutdown()).errors, []);
  });

  it('a disposer error during the scope shutdown reaches the owner with the task failure', async () => {
    const sup = quiet();
    const boom = new Error('task');
    const cleanup = new Error('cleanup');
    const scope = sup.scope();
    scope.defer(() => {
      throw cleanup;
    });
    scope.spawn(async () => {
      throw boom;
    });
    await assert.rejects(scope[Symbol.asyncDispose](), (thrown: unknown) => {
      assert.ok(thrown instanceof AggregateError);
      assert.deepEqual(thrown.errors, [boom, cleanup]);
      return true;
    });
    assert.deepEqual((await sup.shutdown()).errors, []);
  });

  it('a child of a scope is a scope: its failure stops it alone, and reaches the outer owner if uncollected', async () => {
    const sup = quiet();
    const outer = sup.scope({ name: 'outer' });
    const inner = outer.child({ name: 'inner' });
    const boom = new Error('inner');
    inner.spawn(async () => {
      throw boom;
    });
    await inner._life.done;
    assert.equal(outer.state, 'running');
    assert.deepEqual((await outer.shutdown()).errors, [boom]);
    assert.deepEqual((await sup.shutdown()).errors, []);
  });

  it("child({ onTaskError: 'scope' }) is the same; plain children keep their parent's policy", async () => {
    const sup = quiet();
    const scope = sup.child({ onTaskError: 'scope' });
    scope.spawn(async () => {
      throw new Error('scoped');
    });
    await scope._life.done;
    assert.equal(sup.state, 'running');
    const layer = sup.child();
    const boom = new Error('layer');
    layer.spawn(async () => {
      throw boom;
    });
    const root = await sup.done;
    assert.equal(root.cause, 'error', 'a plain child still shuts down the tree');
    assert.ok(root.errors.includes(boom));
  });

  it("refuses 'scope' on a root, onTaskError on scope(), and scope() once its parent cancels", async () => {
    assert.throws(() => new Supervisor({ onTaskError: 'scope' as 'shutdown' }), {
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_VALUE',
      message: /root supervisor/,
    });
    assert.throws(() => run(undefined, { onTaskError: 'scope' as 'shutdown', exit: () => {} }), { name: 'TypeError', message: /root supervisor/ });
    const sup = quiet();
    assert.throws(() => sup.scope({ onTaskError: 'ignore' } as never), { name: 'TypeError', message: /scope options.onTaskError/ });
    assert.throws(() => sup.scope(42 as never), { name: 'TypeError', message: /sup.scope\(options\)/ });
    assert.throws(() => sup.scope({ signals: ['SIGINT'] } as never), { name: 'TypeError' });
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('getter');
        },
      },
    );
    assert.throws(() => sup.scope(hostile), { message: 'getter' });
    assert.equal(sup.scope({ name: 'named' }).name, 'named');
    const stopping = sup.shutdown();
    assert.throws(() => sup.scope(), SupervisorClosedError);
    await stopping;
  });

  it('10 000 failing request scopes: each failure reaches its owner, none piles up on the parent', async () => {
    const sup = quiet();
    let delivered = 0;
    const requests: Promise<void>[] = [];
    for (let i = 0; i < 10_000; i++) {
      requests.push(
        (async () => {
          try {
            await using scope = sup.scope();
            scope.spawn(() => sleep(60_000, undefined, { signal: scope.signal }).catch(() => {}));
            scope.spawn(async () => {
              throw new Error(`request ${i}`);
            });
            await aborted(scope.signal);
          } catch (error) {
            if (error instanceof Error && error.message === `request ${i}`) delivered++;
          }
        })(),
      );
    }
    await Promise.all(requests);
    assert.equal(delivered, 10_000);
    assert.equal(sup.state, 'running');
    assert.deepEqual(sup.tasks().children, []);
    assert.deepEqual((await sup.shutdown()).errors, []);
  });

  it('a keep-alive HTTP client: a failed request gets a 500, every other request its 200, and the daemon runs on', async () => {
    const sup = quiet();
    let failed = 0;
    const server = http.createServer(async (req, res) => {
      try {
        await using scope = sup.scope({ name: req.url ?? 'request' });
        const fail = req.url?.includes('fail') === true;
        const [user, cart] = await Promise.all([
          scope.spawn(async () => {
            await flush();
            if (fail) throw new Error('user lookup failed');
            return 'ada';
          }),
          scope.spawn(async (signal) => {
            await Promise.race([flush(), aborted(signal)]);
            return signal.aborted ? 'cancelled' : 'cart';
          }),
        ]);
        res.end(`${user} ${cart}`);
      } catch {
        failed++;
        res.statusCode = 500;
        res.end('failed');
      }
    });
    sup.adopt(server, (s) => new Promise<void>((resolve) => s.close(() => resolve())));
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as net.AddressInfo;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    const total = 200;
    for (let i = 0; i < total; i++) socket.write(`GET /${i % 4 === 0 ? 'fail' : 'ok'}/${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
    for (let tries = 0; tries < 600 && (received.match(/HTTP\/1\.1 /g)?.length ?? 0) < total; tries++) await sleep(50);
    const statuses = received.match(/HTTP\/1\.1 \d+/g) ?? [];
    assert.equal(statuses.length, total);
    assert.equal(statuses.filter((s) => s.endsWith('500')).length, total / 4);
    assert.equal(statuses.filter((s) => s.endsWith('200')).length, (total * 3) / 4);
    assert.equal(failed, total / 4);
    assert.equal(sup.state, 'running');
    assert.deepEqual(sup.tasks().children, []);
    socket.destroy();
    server.closeAllConnections();
    const report = await sup.shutdown();
    assert.deepEqual(report.errors, []);
    assert.equal(report.exitCode, 0);
  });

  it('leaves no unhandled rejection behind', () => {
    assert.deepEqual(unexpected, []);
  });
});
