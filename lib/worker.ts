/**
 * `stopWorker`: stops a worker thread by asking first. It posts a stop message (by default
 * {@link SHUTDOWN_MESSAGE}, `'shutdown'`, which {@link shutdownOnMessage} understands), waits
 * for the thread to exit, and calls `terminate()` when its time is up.
 *
 * @module
 */
import type { Worker } from 'node:worker_threads';
import { builtin } from './builtins.js';
import { type AdapterSpec, type GracePeriod, type GracePeriodOptions, beginStop, defineWith, hasMethods } from './graceful.js';
import { SHUTDOWN_MESSAGE } from './messages.js';

/**
 * Options for {@link stopWorker}.
 *
 * @example
 * ```ts no_run
 * import { Worker } from 'node:worker_threads';
 * import { Supervisor, stopWorker, type StopWorkerOptions } from 'supervise';
 * const sup = new Supervisor();
 * const options: StopWorkerOptions = { message: { type: 'stop' }, timeout: 2_000 };
 * sup.adopt(new Worker(new URL('./resize.js', import.meta.url)), stopWorker.with(options));
 * ```
 */
export interface StopWorkerOptions extends GracePeriodOptions {
  /** What to post to the worker to ask it to stop. Default: {@link SHUTDOWN_MESSAGE}, `'shutdown'`. */
  readonly message?: unknown;
}

const adapter: AdapterSpec<StopWorkerOptions> = {
  name: 'stopWorker',
  argument: 'worker',
  expected: 'a worker_threads Worker',
  accepts: (value) => hasMethods(value, 'terminate', 'postMessage'),
  options: ['timeout', 'message'],
};

/**
 * Asks `worker` to stop, then terminates it at the deadline. Resolves once it has exited.
 *
 * @example
 * ```ts no_run
 * import { Worker } from 'node:worker_threads';
 * import { Supervisor, stopWorker } from 'supervise';
 * const sup = new Supervisor();
 * sup.adopt(new Worker(new URL('./resize.js', import.meta.url)), stopWorker);
 * // resize.js: const sup = new Supervisor({ signals: false }); shutdownOnMessage(sup, parentPort);
 * ```
 * @throws TypeError for a value that is not a Worker, or a bad option.
 */
export function stopWorker(worker: Worker, options?: StopWorkerOptions): Promise<void> {
  const { grace, options: checked } = beginStop(adapter, worker, options);
  if (worker.threadId === -1) return Promise.resolve(); // already exited
  worker.postMessage(checked.message ?? SHUTDOWN_MESSAGE); // here, so a message it cannot clone throws at the call
  return stop(worker, builtin('node:events').once(worker, 'exit'), grace);
}

export declare namespace stopWorker {
  /**
   * `stopWorker` with options, for `adopt`. The options are checked here, at the call, not at
   * shutdown; reports name the disposer `stopWorker`.
   *
   * @example
   * ```ts no_run
   * import { Worker } from 'node:worker_threads';
   * import { Supervisor, stopWorker } from 'supervise';
   * const sup = new Supervisor();
   * sup.adopt(new Worker(new URL('./resize.js', import.meta.url)), stopWorker.with({ message: { type: 'stop' }, timeout: 2_000 }));
   * ```
   * @throws TypeError when `options` is not an object, or an option is unknown (the closest name
   * is suggested) or of the wrong type; RangeError when `timeout` is out of range.
   */
  function withOptions(options: StopWorkerOptions): (worker: Worker) => Promise<void>;
  export { withOptions as with };
}

defineWith(stopWorker, adapter);

async function stop(worker: Worker, exited: Promise<unknown>, grace: GracePeriod): Promise<void> {
  // terminate() resolves once the thread is gone: on Node with its 'exit' event, and on Deno also
  // for a worker that had exited before stopWorker was called. Deno keeps such a worker's threadId
  // (Node sets it to -1), so stopWorker cannot tell it apart and waits for an 'exit' that already
  // came; when terminate() finds no thread left, there was nothing to force.
  let sawExit = false;
  worker.once('exit', () => (sawExit = true));
  let onTerminated!: () => void;
  const terminated = new Promise<void>((resolve) => (onTerminated = resolve));
  await grace.wait(Promise.race([exited, terminated]), async () => {
    const threadId = worker.threadId;
    await worker.terminate().then(onTerminated, onTerminated);
    return sawExit ? `forced: worker thread ${threadId} terminated` : undefined;
  });
}
