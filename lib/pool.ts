/**
 * `closePool`: closes a worker-thread pool the way aiorun waits for its executor, but bounded:
 * running and queued jobs may finish until the deadline, then the pool is destroyed. Written
 * for Piscina, and for any pool with the same `close()` and `destroy()`.
 *
 * @module
 */
import { invalidArgType } from './errors.js';
import { type GracePeriodOptions, startGracePeriod } from './graceful.js';

/**
 * A pool that can close gracefully and be destroyed, as Piscina's can.
 *
 * @example
 * ```ts
 * const pool: ClosablePool = new Piscina({ filename });
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
 * sup.adopt(pool, (p) => closePool(p, { timeout: 10_000 }));
 * ```
 */
export interface ClosePoolOptions extends GracePeriodOptions {}

/** What Piscina also shows: enough to tell when it has no job left, queued or running. */
interface ObservablePool extends ClosablePool {
  readonly queueSize: number;
  readonly idleThreads: number;
  readonly threads: readonly unknown[];
}

/** How often an observable pool is checked for jobs while it finishes them. */
const idlePollMs = 10;

/**
 * Lets `pool` finish its jobs, then destroys it at the deadline. Resolves once it is closed.
 *
 * @example
 * ```ts
 * import Piscina from 'piscina';
 * import { Supervisor, closePool } from 'supervise';
 * const sup = new Supervisor();
 * const pool = sup.adopt(new Piscina({ filename: new URL('./hash.js', import.meta.url).href }), closePool);
 * ```
 * @throws TypeError for a value without `close()` and `destroy()`.
 */
export function closePool(pool: ClosablePool, options?: ClosePoolOptions): Promise<void> {
  if (typeof pool !== 'object' || pool === null || typeof pool.close !== 'function' || typeof pool.destroy !== 'function') {
    throw invalidArgType('closePool(pool)', 'a pool with close() and destroy() (such as Piscina)', pool);
  }
  const grace = startGracePeriod(options, 'closePool');
  let forced = false;
  let destroyed: Promise<unknown> | undefined;
  let onDestroyed!: () => void;
  const destroyedNow = new Promise<void>((resolve) => (onDestroyed = resolve));
  // Piscina's close() (5.x) does not wait for every running job: with two threads busy it may
  // resolve, and destroy the pool, once the first of them is done. So a pool that shows its
  // queue and idle threads is first waited for until it has no job left, then closed.
  const closed = isObservable(pool) ? idle(pool, () => forced).then(() => (forced ? undefined : pool.close())) : pool.close();
  return grace
    .wait(Promise.race([closed, destroyedNow]), () => {
      forced = true;
      destroyed = Promise.resolve().then(() => pool.destroy());
      destroyed.then(onDestroyed, onDestroyed);
      return 'forced: pool destroyed with jobs still running';
    })
    .then(async () => {
      await destroyed;
    });
}

function isObservable(pool: ClosablePool): pool is ObservablePool {
  const candidate = pool as Partial<ObservablePool>;
  return typeof candidate.queueSize === 'number' && typeof candidate.idleThreads === 'number' && Array.isArray(candidate.threads);
}

/** Resolves once no job is queued and every thread is idle, or once `stop()` says to give up. */
function idle(pool: ObservablePool, stop: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (stop() || (pool.queueSize === 0 && pool.idleThreads === pool.threads.length)) resolve();
      else setTimeout(check, idlePollMs);
    };
    check();
  });
}
