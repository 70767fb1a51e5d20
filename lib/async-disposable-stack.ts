// AsyncDisposableStack as ECMA-262 specifies it ("AsyncDisposableStack Objects", ES2026), for runtimes
// that lack it (Node 20 and 22). lib/ponyfill.ts decides whether the native constructor or this one is
// exported. Every `await` below stands for one Await step of the spec, so promise jobs interleave
// with other code exactly as they do with the native implementation.

import { type DisposeMethod, alreadyDisposed, disposeSymbol, getMethod, notAnObject, notCallable } from './disposable-stack.js';
import { ReturnsInstance, installMethods, prototypeFromConstructor } from './prototype-from-constructor.js';
import { suppress } from './suppressed-error.js';

/**
 * The key of the method `await using` and `AsyncDisposableStack` call to dispose of a resource:
 * `Symbol.asyncDispose`, or the registry symbol Node.js uses for it on runtimes that predate the
 * well-known symbol.
 *
 * @example
 * ```ts
 * class Connection implements AsyncDisposable {
 *   async [Symbol.asyncDispose](): Promise<void> { console.log('closed'); }   // asyncDisposeSymbol
 * }
 * { await using conn = new Connection(); } // closed
 * ```
 */
/* c8 ignore next 2 -- every Node.js this package supports has Symbol.asyncDispose; the fallback is for other hosts */
export const asyncDisposeSymbol: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? (Symbol.for('nodejs.asyncDispose') as typeof Symbol.asyncDispose);

/**
 * DisposeResources with only async-dispose resources. A resource whose method is undefined stands for
 * `use(null)` / `use(undefined)`.
 */
async function disposeResources(resources: unknown[]): Promise<void> {
  let hasError = false;
  let error: unknown;
  let needsAwait = false;
  let hasAwaited = false;
  for (let i = resources.length - 2; i >= 0; i -= 2) {
    // Step 3.d (one Await before a sync-dispose resource) cannot apply: this stack holds none.
    const method = resources[i + 1] as DisposeMethod | undefined;
    if (method === undefined) {
      needsAwait = true; // step 3.f
      continue;
    }
    try {
      const result = Reflect.apply(method, resources[i], []);
      // Step 3.e.ii: only a call that returned is awaited. A method that throws synchronously costs no
      // tick, so the next disposer runs in the same job.
      hasAwaited = true;
      await result;
    } catch (thrown) {
      error = hasError ? suppress(thrown, error) : thrown;
      hasError = true;
    }
  }
  // Step 4: a stack that only held null or undefined still yields to the event loop once.
  if (needsAwait && !hasAwaited) await undefined;
  if (hasError) throw error;
}

/** The methods and the private state of AsyncDisposableStack instances; see the constructor below. */
class AsyncDisposableStackMethods extends ReturnsInstance implements globalThis.AsyncDisposableStack {
  // [[DisposeCapability]]'s resource stack, flattened to (this value, dispose method) pairs so that a
  // resource costs two array slots rather than a record object. `undefined` is the ~disposed~ state.
  // Being a private field, it also gives the methods RequireInternalSlot's TypeError for free.
  #resources: unknown[] | undefined = [];

  // Installed on the prototype below, where the spec wants them.
  declare readonly [Symbol.toStringTag]: string;
  declare [asyncDisposeSymbol]: () => Promise<void>;

  /** Whether the stack has been disposed (or moved from). */
  get disposed(): boolean {
    return this.#resources === undefined;
  }

  /**
   * Disposes the resources newest first, awaiting each; the first call does the work, later calls
   * resolve at once. Never throws: every failure, even a foreign `this`, rejects the promise.
   */
  disposeAsync(): Promise<void> {
    // Step 3: unlike the other methods, a receiver without the internal slot rejects.
    if (typeof this !== 'object' || this === null || !(#resources in this)) {
      return Promise.reject(new TypeError('disposeAsync() called on an object that is not an AsyncDisposableStack'));
    }
    const resources = this.#resources;
    if (resources === undefined) return Promise.resolve();
    this.#resources = undefined;
    return disposeResources(resources);
  }

  /**
   * Adds a resource with a `[Symbol.asyncDispose]()` method, or failing that a `[Symbol.dispose]()`
   * method, and returns it. null and undefined are returned too, and make disposal await once.
   */
  use<T extends AsyncDisposable | Disposable | null | undefined>(value: T): T {
    const resources = this.#pending('use');
    if (value === null || value === undefined) {
      // AddDisposableResource step 1.b: remembered so that disposal still awaits (see step 4 above).
      resources.push(undefined, undefined);
      return value;
    }
    if (typeof value !== 'object' && typeof value !== 'function') throw notAnObject(value);
    let method = getMethod(value, asyncDisposeSymbol);
    if (method === undefined) {
      const syncMethod = getMethod(value, disposeSymbol);
      // GetDisposeMethod step 1.b.ii: a sync fallback is wrapped so that what it returns is never
      // awaited and a throw becomes a rejection; disposal then awaits the wrapper's settled promise.
      if (syncMethod !== undefined) {
        method = async () => {
          Reflect.apply(syncMethod, value, []);
        };
      }
    }
    if (method === undefined) {
      throw new TypeError('use() needs an object with a [Symbol.asyncDispose]() or [Symbol.dispose]() method');
    }
    resources.push(value, method);
    return value;
  }

  /** Adds `value` with `onDisposeAsync(value)` as its (awaited) dispose step, and returns `value`. */
  adopt<T>(value: T, onDisposeAsync: (value: T) => PromiseLike<void> | void): T {
    const resources = this.#pending('adopt');
    if (typeof onDisposeAsync !== 'function') throw notCallable(onDisposeAsync);
    resources.push(undefined, () => onDisposeAsync(value));
    return value;
  }

  /** Adds a callback to run, and await, at disposal. */
  defer(onDisposeAsync: () => PromiseLike<void> | void): void {
    const resources = this.#pending('defer');
    if (typeof onDisposeAsync !== 'function') throw notCallable(onDisposeAsync);
    resources.push(undefined, onDisposeAsync);
  }

  /** Moves every resource into a new stack and marks this one disposed, without disposing anything. */
  move(): AsyncDisposableStackMethods {
    const resources = this.#pending('move');
    // Step 4 creates the new stack from %AsyncDisposableStack% itself, never from a subclass.
    const moved = new AsyncDisposableStack() as unknown as AsyncDisposableStackMethods;
    moved.#resources = resources;
    this.#resources = undefined;
    return moved;
  }

  #pending(method: string): unknown[] {
    const resources = this.#resources;
    if (resources === undefined) throw alreadyDisposed('AsyncDisposableStack', method);
    return resources;
  }
}

// "AsyncDisposableStack.prototype [ %Symbol.asyncDispose% ]" is the very same function object as
// `disposeAsync`, and the toStringTag is a non-writable, configurable data property.
Object.defineProperty(AsyncDisposableStackMethods.prototype, asyncDisposeSymbol, {
  value: AsyncDisposableStackMethods.prototype.disposeAsync,
  writable: true,
  configurable: true,
});
Object.defineProperty(AsyncDisposableStackMethods.prototype, Symbol.toStringTag, {
  value: 'AsyncDisposableStack',
  configurable: true,
});

/**
 * The constructor itself. It is not the class above because a class instance gets %Object.prototype%
 * when NewTarget's "prototype" is not an object, and the spec wants %AsyncDisposableStack.prototype%
 * (GetPrototypeFromConstructor): this one picks the prototype, then has the class above install its
 * private state on the new object.
 */
class AsyncDisposableStack extends (null as unknown as new () => object) {
  // @ts-expect-error TS2377: it returns the instance it built rather than calling super()
  constructor() {
    return new AsyncDisposableStackMethods(Object.create(prototypeFromConstructor(new.target, AsyncDisposableStack.prototype)));
  }
}
installMethods(AsyncDisposableStack, AsyncDisposableStackMethods);

/**
 * The dependency-free `AsyncDisposableStack`, always available (also where a native one exists).
 * Prefer the `AsyncDisposableStack` export of `supervise`, which is the native constructor when there
 * is one.
 *
 * @example
 * ```ts
 * import { AsyncDisposableStack } from 'supervise';   // this one on Node 20 and 22
 * const stack = new AsyncDisposableStack();
 * stack.defer(async () => console.log('second'));
 * stack.use({ async [Symbol.asyncDispose]() { console.log('first'); } });
 * await stack.disposeAsync(); // first, then second
 * ```
 */
export const AsyncDisposableStackPonyfill = AsyncDisposableStack as unknown as AsyncDisposableStackConstructor;
