/**
 * The one timer of a shutdown. It is armed only when something is awaited, is shared by every
 * wait, and keeps the process alive until the deadline, so a shutdown can finish even when
 * nothing else holds the event loop.
 *
 * @module
 */
import { LongTimeout } from './long-timeout.js';

/** @internal What `Deadline.race` resolves with once the deadline has passed. */
export const timedOut: unique symbol = Symbol('timed out');

/** @internal A `performance.now()` time to wait until, at most; Infinity for none. */
export class Deadline {
  #expired: Promise<typeof timedOut> | undefined;
  #timer: LongTimeout | undefined;
  constructor(readonly at: number) {}

  /** Resolves with what `promise` resolves to, or `timedOut` once the deadline has passed; rejects as it does. */
  race<T>(promise: PromiseLike<T>): Promise<T | typeof timedOut> {
    if (this.at === Infinity) return Promise.resolve(promise);
    // Past the deadline already (a child its parent reaches late): no timer, so that a hundred
    // such children do not wait a timer's turn each, one after the other.
    this.#expired ??=
      performance.now() >= this.at
        ? Promise.resolve(timedOut)
        : new Promise((resolve) => {
            this.#timer = new LongTimeout(this.at, () => resolve(timedOut));
          });
    return Promise.race([promise, this.#expired]);
  }

  clear(): void {
    this.#timer?.clear();
  }
}
