/**
 * `closePool`: closes a worker-thread pool the way aiorun waits for its executor, but bounded:
 * running and queued jobs may finish until the deadline, then the pool is destroyed. Written
 * for Piscina, and for any pool with the same `close()` and `destroy()`.
 *
 * @module
 */
import { type AdapterSpec, type GracePeriod, type GracePeriodOptions, beginStop, defineWith, hasMethods, pollUntil } from './graceful.js';

/**
 * A pool that can close gracefully and be destroyed, as Piscina's can.
 *
 * @example
 * ```ts
 * import { Supervisor, closePool, type ClosablePool } from 'supervise';
 * const sup = new Supervisor();
 * const pool: ClosablePool = { close: async () => {}, destroy: async () => {} };
 * sup.adopt(pool, closePool);
 * ```
 */
export interface ClosablePool {
  /** Stops taking jobs and resolves once the jobs already given have finished. */
  close(): Promise<unknown>;
  /** Stops every thread now; jobs still running reject. */
  destroy(): Promise<unknown>;
}

/**
 * Options for {@link closePool}.
 *
 * @example
 * ```ts
 * import { Supervisor, closePool, type ClosablePool, type ClosePoolOptions } from 'supervise';
 * const sup = new Supervisor();
 * const pool: ClosablePool = { close: async () => {}, destroy: async () => {} };
 * const options: ClosePoolOptions = { timeout: 10_000 };
 * sup.adopt(pool, closePool.with(options));
 * ```
 */
export interface ClosePoolOptions extends GracePeriodOptions {}

/** What Piscina also shows: enough to tell when it has no job left, queued or running. */
interface ObservablePool extends ClosablePool {
  readonly queueSize: number;
  readonly idleThreads: number;
  readonly threads: readonly unknown[];
}

const adapter: AdapterSpec<ClosePoolOptions> = {
  name: 'closePool',
  argument: 'pool',
  expected: 'a pool with close() and destroy() (such as Piscina)',
  accepts: (value) => hasMethods(value, 'close', 'destroy'),
  options: ['timeout'],
};

/** How often an observable pool is checked for jobs while it finishes them. */
const idlePollMs = 10;

/**
 * Lets `pool` finish its jobs, then destroys it at the deadline. Resolves once it is closed.
 *
 * @example
 * ```ts no_run
 * import { Piscina } from 'piscina';
 * import { Supervisor, closePool } from 'supervise';
 * const sup = new Supervisor();
 * const pool = sup.adopt(new Piscina({ filename: new URL('./hash.js', import.meta.url).href }), closePool);
 * ```
 * @throws TypeError for a value without `close()` and `destroy()`, or a bad option.
 */
export function closePool(pool: ClosablePool, options?: ClosePoolOptions): Promise<void> {
  const { grace } = beginStop(adapter, pool, options);
  return close(pool, grace);
}

export declare namespace closePool {
  /**
   * `closePool` with options, for `adopt`. The options are checked here, at the call, not at
   * shutdown; reports name the disposer `closePool`.
   *
   * @example
   * ```ts no_run
   * import { Piscina } from 'piscina';
   * import { Supervisor, closePool } from 'supervise';
   * const sup = new Supervisor();
   * sup.adopt(new Piscina({ filename: new URL('./hash.js', import.meta.url).href }), closePool.with({ timeout: 10_000 }));
   * ```
   * @throws TypeError when `options` is not an object, or an option is unknown (the closest name
   * is suggested) or of the wrong type; RangeError when `timeout` is out of range.
   */
  function withOptions(options: ClosePoolOptions): (pool: ClosablePool) => Promise<void>;
  export { withOptions as with };
}

defineWith(closePool, adapter);

async function close(pool: ClosablePool, grace: GracePeriod): Promise<void> {
  const forcing = new AbortController();
  let destroyed: Promise<unknown> | undefined;
  let onDestroyed!: () => void;
  const destroyedNow = new Promise<void>((resolve) => (onDestroyed = resolve));
  // Piscina's close() (5.x) does not wait for every running job: with two threads busy it may
  // resolve, and destroy the pool, once the first of them is done. So a pool that shows its
  // queue and idle threads is first waited for until it has no job left, then closed; unless
  // it is forced meanwhile.
  const closed = isObservable(pool)
    ? pollUntil(() => pool.queueSize === 0 && pool.idleThreads === pool.threads.length, idlePollMs, forcing.signal).then((idle) =>
        idle ? pool.close() : undefined,
      )
    : pool.close();
  const forced = await grace.wait(Promise.race([closed, destroyedNow]), () => {
    forcing.abort();
    destroyed = Promise.resolve().then(() => pool.destroy());
    destroyed.then(onDestroyed, onDestroyed);
    return 'forced: pool destroyed with jobs still running';
  });
  if (forced) await destroyed; // its error, if it failed, is the disposer's
}

function isObservable(pool: ClosablePool): pool is ObservablePool {
  const candidate = pool as Partial<ObservablePool>;
  return typeof candidate.queueSize === 'number' && typeof candidate.idleThreads === 'number' && Array.isArray(candidate.threads);
}
