/**
 * `stopWorker`: stops a worker thread by asking first. It posts a stop message (by default the
 * string `'shutdown'`, which {@link shutdownOnMessage} understands), waits for the thread to
 * exit, and calls `terminate()` when its time is up.
 *
 * @module
 */
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { invalidArgType } from './errors.js';
import { type GracePeriodOptions, startGracePeriod } from './graceful.js';
import { SHUTDOWN_MESSAGE } from './messages.js';

/**
 * Options for {@link stopWorker}.
 *
 * @example
 * ```ts
 * sup.adopt(worker, (w) => stopWorker(w, { message: { type: 'stop' }, timeout: 2_000 }));
 * ```
 */
export interface StopWorkerOptions extends GracePeriodOptions {
  /** What to post to the worker to ask it to stop. Default: `'shutdown'`. */
  readonly message?: unknown;
}

/**
 * Asks `worker` to stop, then terminates it at the deadline. Resolves once it has exited.
 *
 * @example
 * ```ts
 * import { Worker } from 'node:worker_threads';
 * import { Supervisor, stopWorker } from 'supervise';
 * const sup = new Supervisor();
 * sup.adopt(new Worker(new URL('./resize.js', import.meta.url)), stopWorker);
 * // resize.js: const sup = new Supervisor({ signals: false }); shutdownOnMessage(sup, parentPort);
 * ```
 * @throws TypeError for a value that is not a Worker.
 */
export function stopWorker(worker: Worker, options?: StopWorkerOptions): Promise<void> {
  if (typeof worker !== 'object' || worker === null || typeof (worker as Worker).terminate !== 'function' || typeof (worker as Worker).postMessage !== 'function') {
    throw invalidArgType('stopWorker(worker)', 'a worker_threads Worker', worker);
  }
  const grace = startGracePeriod(options, 'stopWorker', ['timeout', 'message']);
  if (worker.threadId === -1) return Promise.resolve(); // already exited
  const exited = once(worker, 'exit').then(() => undefined);
  worker.postMessage(options?.message ?? SHUTDOWN_MESSAGE);
  return grace
    .wait(exited, () => {
      void worker.terminate();
      return `forced: worker thread ${worker.threadId} terminated`;
    })
    .then(() => undefined);
}
