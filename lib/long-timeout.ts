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

/** @internal Calls `callback` once `performance.now()` reaches `at`, however far away; `clear()` cancels it. */
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
    const delay = Math.max(0, this.at - performance.now());
    this.#timer = delay > maxTimeoutMs ? setTimeout(() => this.#arm(), maxTimeoutMs) : setTimeout(this.callback, delay);
  }
}
