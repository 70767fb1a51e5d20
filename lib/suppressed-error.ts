// SuppressedError as ECMA-262 specifies it ("SuppressedError Objects", ES2026), for runtimes that lack
// it (Node 20 and 22), plus a shape test that also recognises the look-alikes other tools create.
// lib/ponyfill.ts decides whether the native constructor or this one is exported.

import { prototypeFromConstructor } from './prototype-from-constructor.js';

/** The NewTarget SuppressedError hands to Error, with the prototype it chose as "prototype". */
const prototypeCarrier = function SuppressedError() {} as unknown as (new () => object) & { prototype: object };

/**
 * The constructor behind {@link SuppressedErrorPonyfill}. It is a function declaration, not a class,
 * because the spec requires `SuppressedError(...)` without `new` to work like `new SuppressedError(...)`.
 */
function SuppressedError(error: unknown, suppressed: unknown, message?: string): globalThis.SuppressedError {
  // Step 1: a plain call uses the active function as NewTarget.
  const newTarget = new.target ?? SuppressedError;
  // Step 2: OrdinaryCreateFromConstructor(NewTarget, "%SuppressedError.prototype%"). Constructing
  // through Error gives the instance [[ErrorData]] (so Object.prototype.toString and
  // util.types.isNativeError see an error) and a stack, but Error would fall back to %Error.prototype%:
  // so the prototype is chosen here, with one read of NewTarget's "prototype", and handed to Error
  // through a carrier whose "prototype" nothing else can see. Error's handling of its argument is
  // step 3: an own "message", after ToString, only when `message` is not undefined. ToString may run
  // user code, even a nested SuppressedError() that reuses the carrier, but Error has read the
  // carrier's "prototype" by then.
  prototypeCarrier.prototype = prototypeFromConstructor(newTarget, SuppressedError.prototype);
  const instance = Reflect.construct(Error, [message], prototypeCarrier) as globalThis.SuppressedError;
  // Native errors leave their constructor out of the stack trace; so do we.
  Error.captureStackTrace(instance, newTarget);
  // Steps 4-5: CreateNonEnumerableDataPropertyOrThrow.
  Object.defineProperty(instance, 'error', { value: error, writable: true, configurable: true });
  Object.defineProperty(instance, 'suppressed', { value: suppressed, writable: true, configurable: true });
  return instance;
}

// "Properties of the SuppressedError Constructor": [[Prototype]] is %Error%, and "prototype" is
// { [[Writable]]: false, [[Enumerable]]: false, [[Configurable]]: false }.
Object.setPrototypeOf(SuppressedError, Error);
Object.defineProperty(SuppressedError, 'prototype', {
  writable: false,
  // "Properties of the SuppressedError Prototype Object": an ordinary object inheriting from
  // %Error.prototype% with "constructor", "name" and an empty "message".
  value: Object.create(Error.prototype, {
    constructor: { value: SuppressedError, writable: true, configurable: true },
    name: { value: 'SuppressedError', writable: true, configurable: true },
    message: { value: '', writable: true, configurable: true },
  }),
});

/**
 * The dependency-free `SuppressedError`, always available (also where a native one exists). Prefer the
 * `SuppressedError` export of `supervise`, which is the native constructor when there is one.
 *
 * @example
 * ```ts
 * import { SuppressedError } from 'supervise';
 * const e = SuppressedError(new Error('close failed'), new Error('write failed'), 'cleanup');
 * console.log(e instanceof Error, e.name, e.message); // true SuppressedError cleanup
 * console.log(e.error.message, '/', e.suppressed.message); // close failed / write failed
 * ```
 */
export const SuppressedErrorPonyfill =
  // The cast adds the construct signature TypeScript never gives a function declaration.
  SuppressedError as SuppressedErrorConstructor;

/**
 * Chains an error thrown by a disposer onto the error already pending, as DisposeResources step
 * 3.e.iii.1 does: the newer error becomes `error`, the earlier one `suppressed`. The spec leaves the
 * message implementation-defined; this is V8's wording, so native and ponyfill errors read alike.
 * @internal
 */
export function suppress(error: unknown, suppressed: unknown): globalThis.SuppressedError {
  return new SuppressedErrorPonyfill(error, suppressed, 'An error was suppressed during disposal');
}

/**
 * Tells whether `value` is a SuppressedError by its shape: an object named `'SuppressedError'` with
 * (own or inherited) `error` and `suppressed` properties. `instanceof` is not enough, because
 * TypeScript's down-levelled `using` blocks throw plain `Error` objects dressed up this way on runtimes
 * without a native `SuppressedError`, and those are just as much a chain of disposal errors.
 *
 * @example
 * ```ts
 * import { isSuppressedError } from 'supervise';
 * try {
 *   using a = { [Symbol.dispose]() { throw new Error('a'); } };
 *   using b = { [Symbol.dispose]() { throw new Error('b'); } };
 * } catch (e) {
 *   if (isSuppressedError(e)) console.log(e.error.message, e.suppressed.message); // a b
 * }
 * ```
 */
export function isSuppressedError(value: unknown): value is globalThis.SuppressedError {
  return typeof value === 'object' && value !== null && (value as { name?: unknown }).name === 'SuppressedError' && 'error' in value && 'suppressed' in value;
}
