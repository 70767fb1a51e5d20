/**
 * A timer for any deadline. Node's `setTimeout` takes at most 2^31 − 1 ms (about 24.8 days);
 * a longer delay fires after 1 ms with a `TimeoutOverflowWarning`, which would cut a shutdown
 * whose `drainDelay + shutdownTimeout` passes that limit to nothing. A longer wait is made of
 * several timers.
 *
 * @module
 */

/** The longest delay `setTimeout` honours. */
export const maxTimeoutMs = 0x7fffffff;

/**
 * @internal Calls `callback` once `performance.now()` reaches `at`, however far away, and never
 * sooner; `clear()` cancels it.
 */
export class LongTimeout {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly at: number,
    private readonly callback: () => void,
  ) {
    this.#arm();
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    const delay = Math.min(Math.max(1, Math.ceil(this.at - performance.now())), maxTimeoutMs);
    this.#timer = setTimeout(() => this.#fire(), delay);
  }

  #fire(): void {
    // Node counts a timer from the event loop's time, in whole milliseconds, so it can fire up to
    // a millisecond before `at` as performance.now() sees it: a deadline must not come early.
    if (performance.now() < this.at) this.#arm();
    else {
      this.#timer = undefined;
      this.callback();
    }
  }
}

/** @internal Resolves after `ms` (never, for Infinity; at most `maxTimeoutMs`) or once `signal` aborts, whichever comes first. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = ms === Infinity ? undefined : setTimeout(done, Math.min(ms, maxTimeoutMs));
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
