/**
 * The shape every adapter shares: ask politely, wait until a deadline, then force, and say so.
 *
 * The deadline is the remaining time of the supervisor shutdown that is calling it as a
 * disposer, less a margin so the forced stop finishes before the supervisor's deadline, or the
 * adapter's own `timeout` when that is sooner; outside a shutdown, the `timeout` alone, and
 * without one there is none. A forced stop inside a shutdown is reported as a straggler, so the
 * exit code (124) says the deadline passed.
 *
 * @module
 */
import { invalidArgType } from './errors.js';
import { LongTimeout } from './long-timeout.js';
import { checkKnownKeys, checkTimeout } from './options.js';
import { type DisposalContext, currentDisposal } from './shutdown.js';

/**
 * Options every adapter takes.
 *
 * @example
 * ```ts
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

/** @internal A graceful stop under way: read its deadline, then wait and force through it. */
export interface GracePeriod {
  /** `performance.now()` time at which to force; Infinity for never. */
  readonly forceAt: number;
  /**
   * Waits for `stopped` until the deadline; then calls `force` and waits for `stopped` again,
   * at most `forcedWaitMs` more. `force` says what it did, for the report, or undefined when
   * there was nothing left to force. Resolves true when it had to force.
   */
  wait(stopped: Promise<unknown>, force: () => string | undefined | Promise<string | undefined>, forcedWaitMs?: number): Promise<boolean>;
}

/**
 * @internal Starts a grace period. Call it synchronously, first thing in the adapter: the
 * calling shutdown's context can only be read before the adapter's first `await`. `known` are
 * the adapter's option names: any other is refused, with the closest named.
 */
export function startGracePeriod(options: GracePeriodOptions | undefined, what: string, known: readonly string[] = ['timeout']): GracePeriod {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArgType(`${what}: options`, 'an object', options);
  if (options !== undefined) checkKnownKeys(options, known, `${what}: options`);
  const timeout = checkTimeout(options?.timeout, undefined, `${what}: options.timeout`);
  const context = currentDisposal();
  const now = performance.now();
  let forceAt = timeout === undefined ? Infinity : now + timeout;
  if (context !== undefined && context.deadlineAt !== Infinity) {
    // Never later than the calling shutdown allows, even with a longer `timeout`: once that
    // deadline has passed the process may exit (run() does), and what was never forced (a child
    // process that ignores SIGTERM) would outlive it.
    const remaining = Math.max(0, context.deadlineAt - now);
    forceAt = Math.min(forceAt, now + remaining - Math.min(500, remaining * 0.2));
  }
  return { forceAt, wait: (stopped, force, forcedWaitMs = 2_000) => waitThenForce(forceAt, context, stopped, force, forcedWaitMs) };
}

async function waitThenForce(
  forceAt: number,
  context: DisposalContext | undefined,
  stopped: Promise<unknown>,
  force: () => string | undefined | Promise<string | undefined>,
  forcedWaitMs: number,
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
