// Explicit resource management (ES2026) built-ins without touching globals: the native DisposableStack,
// AsyncDisposableStack and SuppressedError where the runtime has them (Node 24+), and spec-exact
// ponyfills where it does not (Node 20 and 22).

// The declarations below name DisposableStackConstructor and friends; keeping this directive in the
// emitted .d.ts spares users of the package from adding the lib to their own tsconfig.
/// <reference lib="esnext.disposable" preserve="true" />

import { AsyncDisposableStackPonyfill, asyncDisposeSymbol } from './async-disposable-stack.js';
import { DisposableStackPonyfill, disposeSymbol } from './disposable-stack.js';
import { SuppressedErrorPonyfill, isSuppressedError } from './suppressed-error.js';

export { AsyncDisposableStackPonyfill, DisposableStackPonyfill, SuppressedErrorPonyfill, asyncDisposeSymbol, disposeSymbol, isSuppressedError };

const globals: Partial<Pick<typeof globalThis, 'AsyncDisposableStack' | 'DisposableStack' | 'SuppressedError'>> = globalThis;

/**
 * True when the exported `DisposableStack`, `AsyncDisposableStack` and `SuppressedError` are the
 * runtime's own. The three are taken together, never mixed, so that what the exported stacks throw is
 * always `instanceof` the exported `SuppressedError`.
 *
 * @example
 * ```ts
 * import { AsyncDisposableStack } from 'supervise';
 * // The runtime's own constructor where there is one: false on Node 20 and 22, true on Node 24 and later
 * console.log(AsyncDisposableStack === globalThis.AsyncDisposableStack);
 * ```
 */
export const nativeDisposables: boolean =
  typeof globals.AsyncDisposableStack === 'function' && typeof globals.DisposableStack === 'function' && typeof globals.SuppressedError === 'function';

/**
 * A stack of resources disposed together, newest first, when `dispose()` is called or a `using`
 * declaration holding it goes out of scope. The native constructor where the runtime has one.
 *
 * @example
 * ```ts
 * import { DisposableStack } from 'supervise';
 * const stack = new DisposableStack();
 * stack.defer(() => console.log('closed file'));
 * stack.defer(() => console.log('closed socket'));
 * stack.dispose(); // closed socket, then closed file
 * ```
 */
export const DisposableStack: DisposableStackConstructor = (nativeDisposables && globals.DisposableStack) || DisposableStackPonyfill;
/** An instance of {@link DisposableStack}. */
export type DisposableStack = globalThis.DisposableStack;

/**
 * A stack of resources disposed together, newest first and each awaited, when `disposeAsync()` is
 * called or an `await using` declaration holding it goes out of scope. The native constructor where
 * the runtime has one.
 *
 * @example
 * ```ts
 * import { AsyncDisposableStack } from 'supervise';
 * const stack = new AsyncDisposableStack();
 * stack.defer(async () => console.log('flushed log'));
 * stack.adopt(setInterval(() => {}, 1000), (timer) => clearInterval(timer));
 * await stack.disposeAsync(); // clears the timer, then flushed log
 * ```
 */
export const AsyncDisposableStack: AsyncDisposableStackConstructor = (nativeDisposables && globals.AsyncDisposableStack) || AsyncDisposableStackPonyfill;
/** An instance of {@link AsyncDisposableStack}. */
export type AsyncDisposableStack = globalThis.AsyncDisposableStack;

/**
 * The error thrown when a disposer fails while another error is already on its way out: `error` is the
 * newer error, `suppressed` the earlier one (itself possibly a SuppressedError). Callable with or
 * without `new`. The native constructor where the runtime has one; see also {@link isSuppressedError}.
 *
 * @example
 * ```ts
 * import { SuppressedError } from 'supervise';
 * const e = new SuppressedError(new Error('close failed'), new Error('request failed'), 'shutdown');
 * console.log(e.name, e.message, e.error.message, e.suppressed.message);
 * // SuppressedError shutdown close failed request failed
 * ```
 */
export const SuppressedError: SuppressedErrorConstructor = (nativeDisposables && globals.SuppressedError) || SuppressedErrorPonyfill;
/** An instance of {@link SuppressedError}. */
export type SuppressedError = globalThis.SuppressedError;
