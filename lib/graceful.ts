/**
 * The adapter kit: what every adapter (`closeServer`, `stopChildProcess`, `stopWorker`,
 * `closePool`, `stopCluster`) shares, so that each keeps only what is its own:
 *
 * - **the argument guard**: the value is checked by its shape when the adapter is called, and a
 *   look-alike is refused with a `TypeError` naming the adapter, not halfway through a shutdown;
 * - **the options**: checked at the call, with the closest name for an unknown one, and
 *   `adapter.with(options)`, which checks them at that call and returns the disposer for `adopt`;
 * - **the grace period**: ask politely, wait until a deadline, then force, and say so;
 * - **polling**: `pollUntil(check, intervalMs, signal)`, cancelled by an `AbortSignal`.
 *
 * The deadline is the remaining time of the supervisor shutdown that is calling the adapter as
 * a disposer, less {@link forceMargin} so the forced stop finishes before the supervisor's
 * deadline, or the adapter's own `timeout` when that is sooner; outside a shutdown, the
 * `timeout` alone, and without one there is none. A forced stop inside a shutdown is reported as
 * a straggler, so the exit code (124) says the deadline passed.
 *
 * Whether it had to force is the kit's to report, to the calling shutdown. The adapters resolve
 * with `undefined`, as their published `Promise<void>` says: a `Promise<boolean>` would not be
 * assignable where users declared `Promise<void>`. `closePool` uses it, to wait for `destroy()`.
 *
 * @module
 */
import { invalidArgType } from './errors.js';
import { LongTimeout, maxTimeoutMs } from './long-timeout.js';
import { checkKnownKeys, checkTimeout } from './option-checks.js';
import { type DisposalContext, currentDisposal } from './disposal-context.js';

/**
 * Options every adapter takes.
 *
 * @example
 * ```ts
 * import { spawn } from 'node:child_process';
 * import { stopChildProcess } from 'supervise';
 * const child = spawn('sleep', ['60']);
 * await stopChildProcess(child, { timeout: 2_000 });   // SIGKILL after 2 s
 * ```
 */
export interface GracePeriodOptions {
  /**
   * Milliseconds to wait for the graceful stop before forcing it. Default: the calling
   * supervisor's remaining shutdown time, less a small margin; outside a shutdown, no limit.
   * Called by a shutdown, it forces at that point at the latest, whatever `timeout` says.
   */
  readonly timeout?: number;
}

/** @internal What an adapter tells the kit about itself. */
export interface AdapterSpec<O extends GracePeriodOptions> {
  /** Its name: in its errors, and the name of the disposers `.with` returns (a straggler's name). */
  readonly name: string;
  /** The name of the value it stops (`'child'`), and what that must be (`'a ChildProcess'`). */
  readonly argument: string;
  readonly expected: string;
  /** The argument guard: whether `value` has the shape the adapter needs. */
  accepts(value: unknown): boolean;
  /** Its option names, `'timeout'` included: any other is refused, with the closest named. */
  readonly options: readonly string[];
  /** Checks its own options (those besides `timeout`); `what` names `options`, e.g. `'stopWorker.with(options): options'`. */
  checkOptions?(options: O, what: string): void;
}

/** @internal Whether `value` is an object with a method of each of these names: the shape an adapter duck-types. */
export function hasMethods(value: unknown, ...names: readonly string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');
}

/**
 * @internal The adapter's first step: checks `value` and `options`, and starts the grace period.
 * Call it synchronously, first thing in the adapter: the calling shutdown's context can only be
 * read before the adapter's first `await`, and a bad call must throw before anything was sent.
 */
export function beginStop<O extends GracePeriodOptions>(spec: AdapterSpec<O>, value: unknown, options: O | undefined): Stop<O> {
  if (!spec.accepts(value)) throw invalidArgType(`${spec.name}(${spec.argument})`, spec.expected, value);
  const checked = checkOptions(spec, options, `${spec.name}: options`) ?? ({} as O);
  return { grace: startGracePeriod(checked.timeout), options: checked };
}

/** @internal What `beginStop` gives the adapter: its grace period, and its options as checked (a copy; `{}` for none). */
export interface Stop<O> {
  readonly grace: GracePeriod;
  readonly options: O;
}

/**
 * @internal Makes `adapter.with(options)`: a function that checks `options` at its call and
 * returns `adapter` bound to a copy of them (changing the object later changes nothing), named
 * after the adapter, as reports name a disposer. `bound` may add to the disposer (a hook).
 */
export function defineWith<T, O extends GracePeriodOptions>(
  adapter: (value: T, options?: O) => Promise<void>,
  spec: AdapterSpec<O>,
  bound?: (disposer: (value: T) => Promise<void>, options: O) => void,
): void {
  const withOptions = (options: O): ((value: T) => Promise<void>) => {
    const what = `${spec.name}.with(options): options`;
    if (options === undefined) throw invalidArgType(what, 'an object', options);
    const checked = checkOptions(spec, options, what)!;
    const disposer = (value: T) => adapter(value, checked);
    Object.defineProperty(disposer, 'name', { value: spec.name });
    bound?.(disposer, checked);
    return disposer;
  };
  Object.defineProperty(adapter, 'with', { value: withOptions, writable: true, configurable: true });
}

/**
 * Checks `options` for `spec` (at the call, not at shutdown) and returns a frozen copy of them:
 * the copy is what is checked and used, so a getter is read once.
 */
function checkOptions<O extends GracePeriodOptions>(spec: AdapterSpec<O>, options: O | undefined, what: string): O | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) throw invalidArgType(what, 'an object', options);
  const copy = { ...options };
  checkKnownKeys(copy, spec.options, what);
  checkTimeout(copy.timeout, undefined, `${what}.timeout`);
  spec.checkOptions?.(copy, what);
  return Object.freeze(copy);
}

/**
 * @internal How much of a calling shutdown's remaining time an adapter keeps back: a fifth of
 * it, at most {@link maxForceMarginMs}. It forces that much before the supervisor's deadline, so
 * that the forced stop (SIGKILL, `terminate()`, `destroy()`) has ended, and been reported as a
 * straggler, by then: 200 ms of a 1 s shutdown, 500 ms of any shutdown of 2.5 s or more.
 */
export function forceMargin(remainingMs: number): number {
  return Math.min(maxForceMarginMs, remainingMs * forceMarginShare);
}

/** @internal The longest margin {@link forceMargin} keeps back, in milliseconds. */
export const maxForceMarginMs = 500;
const forceMarginShare = 0.2;

/** @internal How long a forced stop is waited for, at most, before the adapter resolves anyway. */
export const forcedWaitMs = 2_000;

/** @internal A graceful stop under way: read its deadline, then wait and force through it. */
export interface GracePeriod {
  /** `performance.now()` time at which to force; Infinity for never. */
  readonly forceAt: number;
  /**
   * Waits for `stopped` until the deadline; then calls `force` and waits for `stopped` again,
   * at most `forcedWaitMs` more. `force` says what it did, for the report, or undefined when
   * there was nothing left to force. Resolves true when it had to force.
   */
  wait(stopped: Promise<unknown>, force: () => string | undefined | Promise<string | undefined>): Promise<boolean>;
}

/**
 * @internal Starts a grace period of `timeout` ms (checked already; undefined for none), cut to
 * the calling shutdown's deadline less {@link forceMargin}. Call it synchronously (see `beginStop`).
 */
export function startGracePeriod(timeout: number | undefined): GracePeriod {
  const context = currentDisposal();
  const now = performance.now();
  let forceAt = timeout === undefined ? Infinity : now + timeout;
  if (context !== undefined && context.deadlineAt !== Infinity) {
    // Never later than the calling shutdown allows, even with a longer `timeout`: once that
    // deadline has passed the process may exit (run() does), and what was never forced (a child
    // process that ignores SIGTERM) would outlive it.
    const remaining = Math.max(0, context.deadlineAt - now);
    forceAt = Math.min(forceAt, now + remaining - forceMargin(remaining));
  }
  return { forceAt, wait: (stopped, force) => waitThenForce(forceAt, context, stopped, force) };
}

async function waitThenForce(
  forceAt: number,
  context: DisposalContext | undefined,
  stopped: Promise<unknown>,
  force: () => string | undefined | Promise<string | undefined>,
): Promise<boolean> {
  if (forceAt === Infinity) {
    await stopped;
    return false;
  }
  let deadline: LongTimeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    deadline = new LongTimeout(forceAt, () => resolve('expired'));
  });
  try {
    if ((await Promise.race([stopped, expired])) !== 'expired') return false;
  } finally {
    deadline?.clear();
  }
  let timer: NodeJS.Timeout | undefined;
  const forced = await force();
  if (forced !== undefined) context?.forced(forced);
  const cap = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, forcedWaitMs);
  });
  try {
    await Promise.race([stopped, cap]);
  } finally {
    clearTimeout(timer);
  }
  return true;
}

/**
 * @internal Resolves true once `check()` returns true, which it calls now and then every
 * `intervalMs` (at most {@link maxTimeoutMs}); resolves false at once when `signal` aborts,
 * without calling it again. Either way no timer or listener is left behind. Rejects, and stops,
 * when `check` throws.
 */
export function pollUntil(check: () => boolean, intervalMs: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (result: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onAbort = () => settle(false);
    const poll = () => {
      timer = undefined;
      if (signal?.aborted) return settle(false);
      let done: boolean;
      try {
        done = check();
      } catch (error) {
        signal?.removeEventListener('abort', onAbort);
        return reject(error);
      }
      if (done) settle(true);
      else timer = setTimeout(poll, Math.min(intervalMs, maxTimeoutMs));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    poll();
  });
}
