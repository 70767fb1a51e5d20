// DisposableStack as ECMA-262 specifies it ("DisposableStack Objects", ES2026), for runtimes that lack
// it (Node 20 and 22). lib/ponyfill.ts decides whether the native constructor or this one is exported.

import { ReturnsInstance, installMethods, prototypeFromConstructor } from './prototype-from-constructor.js';
import { suppress } from './suppressed-error.js';

/**
 * The key of the method `using` and `DisposableStack` call to dispose of a resource: `Symbol.dispose`,
 * or the registry symbol Node.js uses for it on runtimes that predate the well-known symbol.
 *
 * @example
 * ```ts
 * class Lock implements Disposable {
 *   [Symbol.dispose](): void { console.log('released'); }   // disposeSymbol
 * }
 * { using lock = new Lock(); } // released
 * ```
 */
/* c8 ignore next 2 -- every Node.js this package supports has Symbol.dispose; the fallback is for other hosts */
export const disposeSymbol: typeof Symbol.dispose = Symbol.dispose ?? (Symbol.for('nodejs.dispose') as typeof Symbol.dispose);

/** A resource's dispose step, called with the resource (or undefined) as `this` and no arguments. @internal */
export type DisposeMethod = (this: unknown) => unknown;

/**
 * GetMethod(V, P) from the spec: `undefined` when the property is null or undefined, a TypeError when it
 * is anything else that cannot be called.
 * @internal
 */
export function getMethod(value: object, key: symbol): DisposeMethod | undefined {
  const method: unknown = (value as Record<symbol, unknown>)[key];
  if (method === undefined || method === null) return undefined;
  if (typeof method !== 'function') throw new TypeError(`${String(key)} is not a function`);
  return method as DisposeMethod;
}

/** The ReferenceError the spec requires from use, adopt, defer and move once a stack is disposed. @internal */
export function alreadyDisposed(kind: string, method: string): ReferenceError {
  return new ReferenceError(`Cannot call ${kind}.prototype.${method} on an already-disposed ${kind}`);
}

/**
 * The TypeError for a non-callable adopt() or defer() callback. Only `typeof` goes into the message:
 * stringifying the value could run user code, or throw something other than the TypeError required.
 * @internal
 */
export function notCallable(value: unknown): TypeError {
  return new TypeError(`the dispose callback must be a function, not ${value === null ? 'null' : typeof value}`);
}

/** The TypeError for a primitive passed to use(). @internal */
export function notAnObject(value: unknown): TypeError {
  return new TypeError(`${typeof value} values cannot be disposed; use() needs an object or null or undefined`);
}

/**
 * DisposeResources with only sync-dispose resources: calls them newest first, and when several throw,
 * wraps each later error around the earlier ones (step 3.e.iii).
 */
function disposeResources(resources: unknown[]): void {
  let hasError = false;
  let error: unknown;
  for (let i = resources.length - 2; i >= 0; i -= 2) {
    try {
      Reflect.apply(resources[i + 1] as DisposeMethod, resources[i], []);
    } catch (thrown) {
      error = hasError ? suppress(thrown, error) : thrown;
      hasError = true;
    }
  }
  if (hasError) throw error;
}

/** The methods and the private state of DisposableStack instances; see the constructor below. */
class DisposableStackMethods extends ReturnsInstance implements globalThis.DisposableStack {
  // [[DisposeCapability]]'s resource stack, flattened to (this value, dispose method) pairs so that a
  // resource costs two array slots rather than a record object. `undefined` is the ~disposed~ state.
  // Being a private field, it also gives every method RequireInternalSlot's TypeError for free.
  #resources: unknown[] | undefined = [];

  // Installed on the prototype below, where the spec wants them.
  declare readonly [Symbol.toStringTag]: string;
  declare [disposeSymbol]: () => void;

  /** Whether the stack has been disposed (or moved from). */
  get disposed(): boolean {
    return this.#resources === undefined;
  }

  /** Disposes the resources newest first; the first call does the work, later calls do nothing. */
  dispose(): void {
    const resources = this.#resources;
    if (resources === undefined) return;
    this.#resources = undefined;
    disposeResources(resources);
  }

  /** Adds a resource with a `[Symbol.dispose]()` method and returns it; null and undefined are skipped. */
  use<T extends Disposable | null | undefined>(value: T): T {
    const resources = this.#pending('use');
    // AddDisposableResource step 1.a: nothing to remember for a sync null or undefined.
    if (value === null || value === undefined) return value;
    if (typeof value !== 'object' && typeof value !== 'function') throw notAnObject(value);
    const method = getMethod(value, disposeSymbol);
    if (method === undefined) throw new TypeError('use() needs an object with a [Symbol.dispose]() method');
    resources.push(value, method);
    return value;
  }

  /** Adds `value` with `onDispose(value)` as its dispose step, and returns `value`. */
  adopt<T>(value: T, onDispose: (value: T) => void): T {
    const resources = this.#pending('adopt');
    if (typeof onDispose !== 'function') throw notCallable(onDispose);
    resources.push(undefined, () => onDispose(value));
    return value;
  }

  /** Adds a callback to run at disposal. */
  defer(onDispose: () => void): void {
    const resources = this.#pending('defer');
    if (typeof onDispose !== 'function') throw notCallable(onDispose);
    resources.push(undefined, onDispose);
  }

  /** Moves every resource into a new stack and marks this one disposed, without disposing anything. */
  move(): DisposableStackMethods {
    const resources = this.#pending('move');
    // Step 4 creates the new stack from %DisposableStack% itself, never from a subclass.
    const moved = new DisposableStack() as unknown as DisposableStackMethods;
    moved.#resources = resources;
    this.#resources = undefined;
    return moved;
  }

  #pending(method: string): unknown[] {
    const resources = this.#resources;
    if (resources === undefined) throw alreadyDisposed('DisposableStack', method);
    return resources;
  }
}

// "DisposableStack.prototype [ %Symbol.dispose% ]" is the very same function object as `dispose`, and
// the toStringTag is a non-writable, configurable data property.
Object.defineProperty(DisposableStackMethods.prototype, disposeSymbol, {
  value: DisposableStackMethods.prototype.dispose,
  writable: true,
  configurable: true,
});
Object.defineProperty(DisposableStackMethods.prototype, Symbol.toStringTag, { value: 'DisposableStack', configurable: true });

/**
 * The constructor itself. It is not the class above because a class instance gets %Object.prototype%
 * when NewTarget's "prototype" is not an object, and the spec wants %DisposableStack.prototype%
 * (GetPrototypeFromConstructor): this one picks the prototype, then has the class above install its
 * private state on the new object.
 */
class DisposableStack extends (null as unknown as new () => object) {
  // @ts-expect-error TS2377: it returns the instance it built rather than calling super()
  constructor() {
    return new DisposableStackMethods(Object.create(prototypeFromConstructor(new.target, DisposableStack.prototype)));
  }
}
installMethods(DisposableStack, DisposableStackMethods);

/**
 * The dependency-free `DisposableStack`, always available (also where a native one exists). Prefer the
 * `DisposableStack` export of `supervise`, which is the native constructor when there is one.
 *
 * @example
 * ```ts
 * import { DisposableStack } from 'supervise';   // this one on Node 20 and 22
 * const stack = new DisposableStack();
 * stack.defer(() => console.log('second'));
 * stack.adopt('handle', (h) => console.log('first', h));
 * stack.dispose(); // first handle, then second
 * ```
 */
export const DisposableStackPonyfill = DisposableStack as unknown as DisposableStackConstructor;
