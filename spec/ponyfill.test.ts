// The rules of DisposableStack, AsyncDisposableStack and SuppressedError, written once and run against
// the ponyfill always and against the runtime's native globals when it has them (Node 24+), plus the
// ponyfill module's own contract: what it exports, that it leaves globals alone, isSuppressedError.
// Every wait is counted in promise jobs, so a broken implementation fails instead of hanging.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AsyncDisposableStack,
  AsyncDisposableStackPonyfill,
  DisposableStack,
  DisposableStackPonyfill,
  // Renamed so that TypeScript's `using` helper below does not pick it up as its SuppressedError.
  SuppressedError as ExportedSuppressedError,
  SuppressedErrorPonyfill,
  asyncDisposeSymbol,
  disposeSymbol,
  isSuppressedError,
  nativeDisposables,
} from '../lib/ponyfill.js';
import { type ErmImplementation, scenarios } from './fixtures/erm-scenarios.js';
import { needs } from './helpers.js';

const globals: Partial<ErmImplementation> = globalThis;
const native: ErmImplementation | undefined =
  globals.DisposableStack && globals.AsyncDisposableStack && globals.SuppressedError
    ? {
        DisposableStack: globals.DisposableStack,
        AsyncDisposableStack: globals.AsyncDisposableStack,
        SuppressedError: globals.SuppressedError,
      }
    : undefined;

const implementations: Array<[string, ErmImplementation]> = [
  [
    'ponyfill',
    {
      DisposableStack: DisposableStackPonyfill,
      AsyncDisposableStack: AsyncDisposableStackPonyfill,
      SuppressedError: SuppressedErrorPonyfill,
    },
  ],
];
if (native !== undefined) implementations.push(['native', native]);

/** A stack seen without TypeScript's parameter types, to feed it what the types would reject. */
interface LooseStack {
  use(value?: unknown): unknown;
  adopt(value?: unknown, onDispose?: unknown): unknown;
  defer(onDispose?: unknown): void;
  move(): unknown;
}
const loosen = (stack: DisposableStack | AsyncDisposableStack): LooseStack => stack as unknown as LooseStack;

/** Resolves after `jobs` promise jobs. */
function afterJobs(jobs: number): Promise<void> {
  let p = Promise.resolve();
  for (let i = 1; i < jobs; i++) p = p.then(() => undefined);
  return p;
}

type Outcome = { status: 'fulfilled'; value: unknown } | { status: 'rejected'; reason: unknown } | { status: 'pending' };

/** How `promise` settles, or 'pending' if it has not within `jobs` promise jobs. */
function settle(promise: Promise<unknown>, jobs = 100): Promise<Outcome> {
  return Promise.race([
    promise.then(
      (value): Outcome => ({ status: 'fulfilled', value }),
      (reason: unknown): Outcome => ({ status: 'rejected', reason }),
    ),
    afterJobs(jobs).then((): Outcome => ({ status: 'pending' })),
  ]);
}

/** Asserts that `promise` fulfils with undefined within `jobs` promise jobs. */
async function fulfils(promise: Promise<unknown>, jobs = 100): Promise<void> {
  assert.deepEqual(await settle(promise, jobs), { status: 'fulfilled', value: undefined });
}

/** The number of promise jobs a concurrent counter completes before `promise` settles (at most 100). */
async function jobsUntilSettled(start: () => Promise<unknown>): Promise<number> {
  let jobs = 0;
  let done = false;
  const count = (): void => {
    jobs += 1;
    if (!done && jobs < 100) void Promise.resolve().then(count);
  };
  void Promise.resolve().then(count);
  assert.notEqual((await settle(start())).status, 'pending');
  done = true;
  return jobs;
}

function rejectionOf(outcome: Outcome): unknown {
  assert.equal(outcome.status, 'rejected');
  return outcome.status === 'rejected' ? outcome.reason : undefined;
}

/** Asserts `e` is `SuppressedError(error, suppressed)` whose `error` has message `message`, and returns `suppressed`. */
function unwrap(impl: ErmImplementation, e: unknown, message: string): unknown {
  assert.ok(e instanceof impl.SuppressedError, `expected a SuppressedError, got ${String(e)}`);
  assert.ok(isSuppressedError(e));
  assert.ok(e.error instanceof Error);
  assert.equal(e.error.message, message);
  return e.suppressed;
}

function ruleTests(name: string, impl: ErmImplementation): void {
  describe('DisposableStack', () => {
    it('disposes use, adopt and defer resources last in, first out, with the spec’s this and arguments', () => {
      const log: unknown[] = [];
      const stack = new impl.DisposableStack();
      const resource = {
        [disposeSymbol](this: unknown, ...args: unknown[]) {
          log.push(['use', this === resource, args.length]);
        },
      };
      assert.equal(stack.use(resource), resource);
      assert.equal(
        stack.adopt('handle', function (this: unknown, ...args: unknown[]) {
          log.push(['adopt', this, args]);
        }),
        'handle',
      );
      assert.equal(
        stack.defer(function (this: unknown, ...args: unknown[]) {
          log.push(['defer', this, args.length]);
        }),
        undefined,
      );
      assert.deepEqual(log, []);
      assert.equal(stack.dispose(), undefined);
      assert.deepEqual(log, [
        ['defer', undefined, 0],
        ['adopt', undefined, ['handle']],
        ['use', true, 0],
      ]);
    });

    it('nests three errors with the newest outermost and still runs every disposer', () => {
      const calls: string[] = [];
      const stack = new impl.DisposableStack();
      for (const name of ['first', 'second', 'third']) {
        stack.defer(() => {
          calls.push(name);
          throw new Error(name);
        });
      }
      stack.defer(() => calls.push('ok'));
      let caught: unknown;
      assert.throws(
        () => stack.dispose(),
        (e: unknown) => ((caught = e), true),
      );
      assert.deepEqual(calls, ['ok', 'third', 'second', 'first']);
      // 'third' failed first, so it is the innermost; 'first' failed last, so it is `error` on the outside.
      const inner = unwrap(impl, caught, 'first');
      const innermost = unwrap(impl, inner, 'second');
      assert.ok(innermost instanceof Error && !isSuppressedError(innermost));
      assert.equal(innermost.message, 'third');
    });

    it('rethrows a lone error as it is', () => {
      const error = new RangeError('lone');
      const stack = new impl.DisposableStack();
      stack.defer(() => {
        throw error;
      });
      assert.throws(
        () => stack.dispose(),
        (e: unknown) => e === error,
      );
    });

    it('reports disposed, and disposes only once', () => {
      let calls = 0;
      const stack = new impl.DisposableStack();
      stack.defer(() => {
        calls += 1;
        throw new Error('once');
      });
      assert.equal(stack.disposed, false);
      assert.throws(() => stack.dispose(), /once/);
      assert.equal(stack.disposed, true);
      assert.equal(stack.dispose(), undefined);
      assert.equal(stack[disposeSymbol](), undefined);
      assert.equal(calls, 1);
    });

    it('move() hands the resources to a new plain DisposableStack and leaves this one disposed', () => {
      const log: string[] = [];
      class Sub extends impl.DisposableStack {}
      const stack = new Sub();
      stack.defer(() => log.push('a'));
      stack.defer(() => log.push('b'));
      const moved = stack.move();
      assert.equal(Object.getPrototypeOf(moved), impl.DisposableStack.prototype);
      assert.equal(stack.disposed, true);
      assert.equal(moved.disposed, false);
      stack.dispose();
      assert.deepEqual(log, []);
      moved.dispose();
      assert.deepEqual(log, ['b', 'a']);
    });

    it('use(null) and use(undefined) return their argument and add nothing', () => {
      const stack = new impl.DisposableStack();
      assert.equal(stack.use(null), null);
      assert.equal(stack.use(undefined), undefined);
      stack.dispose();
    });

    it('throws TypeError for a non-disposable use() and a non-callable adopt() or defer()', () => {
      const stack = loosen(new impl.DisposableStack());
      for (const value of [1, 'x', true, Symbol('s'), 1n, {}, { [disposeSymbol]: 1 }, { [asyncDisposeSymbol]() {} }]) {
        assert.throws(() => stack.use(value), TypeError);
      }
      assert.throws(() => stack.adopt(1, 1), TypeError);
      assert.throws(() => stack.adopt(1), TypeError);
      assert.throws(() => stack.defer({}), TypeError);
      // Even a callback whose toString throws gets the TypeError.
      const hostile = {
        toString(): string {
          throw new Error('toString ran');
        },
      };
      assert.throws(() => stack.defer(hostile), TypeError);
      assert.throws(() => stack.adopt(1, hostile), TypeError);
    });

    it('throws ReferenceError from use, adopt, defer and move once disposed, even for bad arguments', () => {
      const stack = loosen(new impl.DisposableStack());
      (stack as unknown as DisposableStack).dispose();
      assert.throws(() => stack.use(null), ReferenceError);
      assert.throws(() => stack.use(1), ReferenceError);
      assert.throws(() => stack.adopt(1, () => {}), ReferenceError);
      assert.throws(() => stack.adopt(1, 1), ReferenceError);
      assert.throws(() => stack.defer(() => {}), ReferenceError);
      assert.throws(() => stack.defer(1), ReferenceError);
      assert.throws(() => stack.move(), ReferenceError);
    });

    it('reads the dispose method once, when use() is called; a throwing getter throws from use()', async () => {
      // The differential scenario compares this with native; here its observation is checked outright.
      const scenario = scenarios['sync: the dispose method is read once, when use() is called']!;
      const [reads, log, failing] = (await scenario(impl)) as [number, string[], { threw?: { kind: string; message: string } }];
      assert.equal(reads, 1);
      assert.deepEqual(log, ['original']);
      assert.deepEqual([failing.threw?.kind, failing.threw?.message], ['Error', 'getter failed']);
    });

    it('has the spec’s prototype: [Symbol.dispose] is dispose, and a toStringTag', () => {
      const proto = impl.DisposableStack.prototype;
      assert.equal(proto[disposeSymbol], proto.dispose);
      assert.equal(Object.prototype.toString.call(new impl.DisposableStack()), '[object DisposableStack]');
      assert.deepEqual(Object.getOwnPropertyDescriptor(proto, Symbol.toStringTag), {
        value: 'DisposableStack',
        writable: false,
        enumerable: false,
        configurable: true,
      });
      assert.equal(Object.getOwnPropertyDescriptor(proto, 'disposed')?.set, undefined);
    });

    it('requires new and a real DisposableStack as this', () => {
      assert.throws(() => (impl.DisposableStack as unknown as () => void)(), TypeError);
      const dispose = impl.DisposableStack.prototype.dispose;
      assert.throws(() => dispose.call({} as DisposableStack), TypeError);
      assert.throws(() => dispose.call(new impl.AsyncDisposableStack() as unknown as DisposableStack), TypeError);
    });
  });

  describe('AsyncDisposableStack', () => {
    it('disposes last in, first out, awaiting each disposer before calling the next', async () => {
      const log: string[] = [];
      const stack = new impl.AsyncDisposableStack();
      stack.defer(() => {
        log.push('defer');
      });
      stack.adopt('handle', async (value) => {
        log.push(`adopt ${value} start`);
        await afterJobs(3);
        log.push(`adopt ${value} end`);
      });
      stack.use({
        async [asyncDisposeSymbol]() {
          log.push('use start');
          await afterJobs(3);
          log.push('use end');
        },
      });
      await fulfils(stack.disposeAsync());
      assert.deepEqual(log, ['use start', 'use end', 'adopt handle start', 'adopt handle end', 'defer']);
    });

    it('calls a [Symbol.dispose] fallback on the resource, and never awaits what it returns', async () => {
      const log: unknown[] = [];
      const stack = new impl.AsyncDisposableStack();
      const resource = {
        [disposeSymbol](this: unknown, ...args: unknown[]) {
          log.push(['fallback', this === resource, args.length]);
          return new Promise<never>(() => {}); // never settles: awaiting it would hang disposal
        },
      };
      stack.use(resource);
      await fulfils(stack.disposeAsync(), 10);
      assert.deepEqual(log, [['fallback', true, 0]]);
    });

    it('turns a throwing [Symbol.dispose] fallback into a rejection and goes on disposing', async () => {
      const log: string[] = [];
      const error = new Error('fallback failed');
      const stack = new impl.AsyncDisposableStack();
      stack.defer(() => {
        log.push('below');
      });
      stack.use({
        [disposeSymbol]() {
          throw error;
        },
      });
      let promise: Promise<void> | undefined;
      assert.doesNotThrow(() => (promise = stack.disposeAsync()));
      assert.equal(rejectionOf(await settle(promise ?? Promise.resolve())), error);
      assert.deepEqual(log, ['below']);
    });

    it('prefers [Symbol.asyncDispose], treating null like undefined when looking for the fallback', async () => {
      const log: string[] = [];
      const stack = new impl.AsyncDisposableStack();
      stack.use({ [asyncDisposeSymbol]: null, [disposeSymbol]: () => log.push('fallback') });
      stack.use({ [asyncDisposeSymbol]: () => log.push('async'), [disposeSymbol]: () => log.push('not this') });
      await fulfils(stack.disposeAsync());
      assert.deepEqual(log, ['async', 'fallback']);
    });

    it('awaits once for use(null) or use(undefined) unless a disposer was awaited (needsAwait)', async () => {
      const jobs = async (setup: (stack: AsyncDisposableStack) => void): Promise<number> => {
        const stack = new impl.AsyncDisposableStack();
        setup(stack);
        return jobsUntilSettled(() => stack.disposeAsync());
      };
      const empty = await jobs(() => {});
      assert.equal(await jobs((s) => s.use(null)), empty + 1);
      assert.equal(await jobs((s) => (s.use(undefined), s.use(null))), empty + 1);
      const oneDisposer = await jobs((s) => s.defer(() => {}));
      assert.equal(oneDisposer, empty + 1);
      assert.equal(await jobs((s) => (s.use(null), s.defer(() => {}))), oneDisposer);
      assert.equal(await jobs((s) => (s.defer(() => {}), s.use(null))), oneDisposer);
      // A disposer that throws synchronously is not awaited, so it does not count as an await.
      const throwing = (s: AsyncDisposableStack): void =>
        s.defer(() => {
          throw new Error('sync');
        });
      assert.equal(await jobs(throwing), empty);
      assert.equal(await jobs((s) => (throwing(s), s.use(null))), empty + 1);
    });

    it('calls the next disposer in the same job when one throws synchronously', async () => {
      const log: string[] = [];
      const stack = new impl.AsyncDisposableStack();
      stack.defer(() => {
        log.push('below');
      });
      stack.defer(() => {
        log.push('thrower');
        throw new Error('sync');
      });
      const promise = stack.disposeAsync();
      assert.deepEqual(log, ['thrower', 'below']);
      assert.match(String(rejectionOf(await settle(promise))), /sync/);
    });

    it('nests three failures with the newest outermost', async () => {
      const stack = new impl.AsyncDisposableStack();
      stack.defer(async () => {
        throw new Error('first');
      });
      stack.defer(() => {
        throw new Error('second');
      });
      stack.defer(() => Promise.reject(new Error('third')));
      const e = rejectionOf(await settle(stack.disposeAsync()));
      const inner = unwrap(impl, e, 'first');
      const innermost = unwrap(impl, inner, 'second');
      assert.ok(innermost instanceof Error);
      assert.equal(innermost.message, 'third');
    });

    it('never throws from disposeAsync: a foreign receiver gets a rejected promise', async () => {
      const disposeAsync = impl.AsyncDisposableStack.prototype.disposeAsync as (this: unknown) => Promise<void>;
      for (const receiver of [{}, undefined, 1, new impl.DisposableStack()]) {
        let promise: Promise<void> | undefined;
        assert.doesNotThrow(() => (promise = disposeAsync.call(receiver)));
        assert.ok(promise instanceof Promise);
        assert.ok(rejectionOf(await settle(promise)) instanceof TypeError);
      }
    });

    it('reports disposed, and a second disposeAsync resolves without disposing again', async () => {
      let calls = 0;
      const stack = new impl.AsyncDisposableStack();
      stack.defer(() => {
        calls += 1;
      });
      assert.equal(stack.disposed, false);
      const first = stack.disposeAsync();
      assert.equal(stack.disposed, true);
      await fulfils(stack.disposeAsync(), 2);
      await fulfils(stack[asyncDisposeSymbol](), 2);
      await fulfils(first);
      assert.equal(calls, 1);
    });

    it('move() hands the resources to a new plain AsyncDisposableStack and leaves this one disposed', async () => {
      const log: string[] = [];
      class Sub extends impl.AsyncDisposableStack {}
      const stack = new Sub();
      stack.defer(async () => {
        log.push('a');
      });
      const moved = stack.move();
      assert.equal(Object.getPrototypeOf(moved), impl.AsyncDisposableStack.prototype);
      assert.equal(stack.disposed, true);
      assert.equal(moved.disposed, false);
      await fulfils(stack.disposeAsync());
      assert.deepEqual(log, []);
      await fulfils(moved.disposeAsync());
      assert.deepEqual(log, ['a']);
      assert.throws(() => moved.move(), ReferenceError);
    });

    it('throws TypeError and ReferenceError like DisposableStack', async () => {
      const stack = loosen(new impl.AsyncDisposableStack());
      const bad = [1, 'x', false, Symbol('s'), {}, { [asyncDisposeSymbol]: 1, [disposeSymbol]() {} }, { [disposeSymbol]: 1 }];
      for (const value of bad) {
        assert.throws(() => stack.use(value), TypeError);
      }
      assert.throws(() => stack.adopt(1, 1), TypeError);
      assert.throws(() => stack.defer(null), TypeError);
      assert.equal(stack.use(null), null);
      assert.equal(stack.use(undefined), undefined);
      await fulfils((stack as unknown as AsyncDisposableStack).disposeAsync());
      assert.throws(() => stack.use(null), ReferenceError);
      assert.throws(() => stack.use(1), ReferenceError);
      assert.throws(() => stack.adopt(1, 1), ReferenceError);
      assert.throws(() => stack.defer(1), ReferenceError);
      assert.throws(() => stack.move(), ReferenceError);
    });

    it('has the spec’s prototype: [Symbol.asyncDispose] is disposeAsync, and a toStringTag', () => {
      const proto = impl.AsyncDisposableStack.prototype;
      assert.equal(proto[asyncDisposeSymbol], proto.disposeAsync);
      assert.equal(Object.prototype.toString.call(new impl.AsyncDisposableStack()), '[object AsyncDisposableStack]');
      assert.deepEqual(Object.getOwnPropertyDescriptor(proto, Symbol.toStringTag), {
        value: 'AsyncDisposableStack',
        writable: false,
        enumerable: false,
        configurable: true,
      });
      assert.throws(() => (impl.AsyncDisposableStack as unknown as () => void)(), TypeError);
      assert.throws(() => Object.getOwnPropertyDescriptor(proto, 'disposed')?.get?.call({}), TypeError);
    });
  });

  describe('SuppressedError', () => {
    it('works with and without new, with non-enumerable own error, suppressed and message', () => {
      const cause = new Error('cause');
      const made = [new impl.SuppressedError(cause, 'earlier', 'msg'), impl.SuppressedError(cause, 'earlier', 'msg')];
      for (const e of made) {
        assert.ok(e instanceof impl.SuppressedError);
        assert.ok(e instanceof Error);
        assert.equal(e.name, 'SuppressedError');
        assert.equal(e.message, 'msg');
        assert.equal(e.error, cause);
        assert.equal(e.suppressed, 'earlier');
        for (const [key, value] of [
          ['error', cause],
          ['suppressed', 'earlier'],
          ['message', 'msg'],
        ] as const) {
          const expected = { value, writable: true, enumerable: false, configurable: true };
          assert.deepEqual(Object.getOwnPropertyDescriptor(e, key), expected);
        }
        assert.equal(Object.prototype.toString.call(e), '[object Error]');
        assert.equal(String(e), 'SuppressedError: msg');
        assert.match(e.stack ?? '', /^SuppressedError: msg\n/);
      }
    });

    it('adds an own message only when one is given, after ToString', () => {
      const bare = impl.SuppressedError(1, 2);
      assert.equal(Object.hasOwn(bare, 'message'), false);
      assert.equal(bare.message, '');
      assert.equal(Object.hasOwn(impl.SuppressedError(1, 2, undefined), 'message'), false);
      assert.equal(impl.SuppressedError(1, 2, 42 as unknown as string).message, '42');
      assert.throws(() => impl.SuppressedError(1, 2, Symbol('m') as unknown as string), TypeError);
    });

    it('has the spec’s constructor and prototype', { skip: name === 'native' && needs('suppressedErrorKeyOrder') }, () => {
      const SE = impl.SuppressedError;
      assert.equal(Object.getPrototypeOf(SE), Error);
      assert.equal(Object.getPrototypeOf(SE.prototype), Error.prototype);
      assert.equal(SE.name, 'SuppressedError');
      assert.equal(SE.length, 3);
      assert.deepEqual(Reflect.ownKeys(SE.prototype), ['constructor', 'name', 'message']);
      assert.equal(SE.prototype.constructor, SE);
      assert.equal(SE.prototype.message, '');
      assert.equal(Object.getOwnPropertyDescriptor(SE, 'prototype')?.writable, false);
      class Sub extends SE {}
      const sub = new Sub(1, 2, 'm');
      assert.ok(sub instanceof Sub && sub instanceof SE);
      assert.deepEqual([sub.error, sub.suppressed, sub.message], [1, 2, 'm']);
    });
  });
}

for (const [name, impl] of implementations) {
  describe(`${name} explicit resource management`, () => ruleTests(name, impl));
}

// What TypeScript emits for `using` below ES2026: on runtimes without SuppressedError its helper throws
// a plain Error named 'SuppressedError' carrying `error` and `suppressed`. (The helper looks the name
// up in module scope, hence the renamed import above.)
function throwFromTwoDisposers(): void {
  using first = {
    [Symbol.dispose]() {
      throw new Error('first');
    },
  };
  using second = {
    [Symbol.dispose]() {
      throw new Error('second');
    },
  };
  void first;
  void second;
}

// `asyncDisposeSymbol` is typed as Symbol.asyncDispose, so a class keyed by it satisfies AsyncDisposable.
class Connection implements AsyncDisposable, Disposable {
  closed = 0;
  async [asyncDisposeSymbol](): Promise<void> {
    this.closed += 1;
  }
  [disposeSymbol](): void {
    this.closed += 10;
  }
}

describe('ponyfill module', () => {
  it('exports the native constructors when all three exist, and the ponyfills otherwise', () => {
    assert.equal(nativeDisposables, native !== undefined);
    const expected = native ?? {
      DisposableStack: DisposableStackPonyfill,
      AsyncDisposableStack: AsyncDisposableStackPonyfill,
      SuppressedError: SuppressedErrorPonyfill,
    };
    assert.equal(DisposableStack, expected.DisposableStack);
    assert.equal(AsyncDisposableStack, expected.AsyncDisposableStack);
    assert.equal(ExportedSuppressedError, expected.SuppressedError);
  });

  it('never defines globals', () => {
    if (native === undefined) {
      for (const name of ['DisposableStack', 'AsyncDisposableStack', 'SuppressedError']) {
        assert.equal(Object.hasOwn(globalThis, name), false, name);
      }
    } else {
      assert.notEqual(globals.DisposableStack, DisposableStackPonyfill);
      assert.notEqual(globals.AsyncDisposableStack, AsyncDisposableStackPonyfill);
      assert.notEqual(globals.SuppressedError, SuppressedErrorPonyfill);
    }
  });

  it('uses Symbol.dispose and Symbol.asyncDispose, which are Node’s registry symbols before Node 24', () => {
    assert.equal(disposeSymbol, Symbol.dispose);
    assert.equal(asyncDisposeSymbol, Symbol.asyncDispose);
    if (native === undefined) {
      assert.equal(disposeSymbol, Symbol.for('nodejs.dispose'));
      assert.equal(asyncDisposeSymbol, Symbol.for('nodejs.asyncDispose'));
    }
  });

  it('lets classes keyed by disposeSymbol and asyncDisposeSymbol work with using and the stacks', async () => {
    const connection = new Connection();
    const block = async (): Promise<void> => {
      await using held = connection;
      void held;
    };
    await fulfils(block());
    assert.equal(connection.closed, 1);
    const stack = new AsyncDisposableStack();
    stack.use(connection);
    await fulfils(stack.disposeAsync());
    const sync = new DisposableStack();
    sync.use(connection);
    sync.dispose();
    assert.equal(connection.closed, 12);
  });

  it('exported stacks throw errors that are instanceof the exported SuppressedError', () => {
    const stack = new DisposableStack();
    stack.defer(() => {
      throw new Error('a');
    });
    stack.defer(() => {
      throw new Error('b');
    });
    assert.throws(() => stack.dispose(), ExportedSuppressedError);
  });

  describe('isSuppressedError', () => {
    it('recognises ponyfill and native instances', () => {
      assert.equal(isSuppressedError(new SuppressedErrorPonyfill(1, 2)), true);
      assert.equal(isSuppressedError(SuppressedErrorPonyfill(undefined, undefined)), true);
      if (native !== undefined) {
        assert.equal(isSuppressedError(new native.SuppressedError(1, 2)), true);
        assert.equal(isSuppressedError(native.SuppressedError(1, 2, 'm')), true);
      }
    });

    it('recognises what TypeScript’s down-levelled using throws', () => {
      let caught: unknown;
      assert.throws(throwFromTwoDisposers, (e: unknown) => ((caught = e), true));
      assert.equal(isSuppressedError(caught), true);
      if (native === undefined) assert.equal(caught instanceof SuppressedErrorPonyfill, false);
      assert.ok(isSuppressedError(caught));
      assert.equal((caught.error as Error).message, 'first');
      assert.equal((caught.suppressed as Error).message, 'second');
    });

    it('recognises look-alikes by shape, with own or inherited error and suppressed', () => {
      const lookAlike = Object.assign(new Error('m'), { name: 'SuppressedError', error: 1, suppressed: 2 });
      assert.equal(isSuppressedError(lookAlike), true);
      assert.equal(isSuppressedError(Object.create({ name: 'SuppressedError', error: 1, suppressed: undefined })), true);
    });

    it('rejects everything else', () => {
      for (const value of [
        undefined,
        null,
        'SuppressedError',
        42,
        new Error('plain'),
        new AggregateError([]),
        Object.assign(new Error('m'), { name: 'SuppressedError', error: 1 }),
        Object.assign(new Error('m'), { name: 'SuppressedError', suppressed: 1 }),
        { name: 'OtherError', error: 1, suppressed: 2 },
        Object.assign(function SuppressedError() {}, { error: 1, suppressed: 2 }),
      ]) {
        assert.equal(isSuppressedError(value), false, String(value));
      }
    });
  });
});
