/**
 * `shutdownOnMessage`: a graceful shutdown when a channel says `'shutdown'`, for a worker thread
 * stopped by {@link stopWorker} or a forked process told to stop by its parent. A root supervisor
 * that listens to signals does this by itself in a PM2 app and in a cluster worker.
 *
 * @module
 */
import { invalidArgType } from './errors.js';
import { SHUTDOWN_MESSAGE } from './messages.js';
import { shutdownByMessage } from './root-listener.js';
import type { Supervisor } from './supervisor.js';

/**
 * Something that emits `'message'` events: `process` (the IPC channel) or a `MessagePort` such as `parentPort`.
 *
 * @example
 * ```ts
 * shutdownOnMessage(sup, parentPort!);   // a worker thread
 * shutdownOnMessage(sup, process);       // a forked child
 * ```
 */
export interface MessageSource {
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/**
 * Starts a graceful shutdown of `sup` (cause `'message'`, with its `drainDelay`) when `source`
 * receives the message `'shutdown'`. The listener is removed once `sup` has stopped; the
 * returned function removes it sooner. Note that a `'message'` listener keeps an IPC channel or
 * port referenced, so the process or thread stays alive until `sup` stops.
 *
 * @example
 * ```ts no_run
 * // worker.js, stopped by stopWorker() in the main thread
 * import { parentPort } from 'node:worker_threads';
 * import { Supervisor, shutdownOnMessage } from 'supervise';
 * const sup = new Supervisor({ signals: false });
 * shutdownOnMessage(sup, parentPort!);
 * ```
 * @throws TypeError when `source` cannot emit messages.
 */
export function shutdownOnMessage(sup: Supervisor, source: MessageSource = process): () => void {
  if (typeof source !== 'object' || source === null || typeof source.on !== 'function' || typeof source.off !== 'function') {
    throw invalidArgType('shutdownOnMessage(sup, source): source', 'process or a MessagePort', source);
  }
  const onMessage = (message: unknown) => {
    if (message === SHUTDOWN_MESSAGE) shutdownByMessage(sup);
  };
  let listening = true;
  const stop = () => {
    if (!listening) return;
    listening = false;
    source.off('message', onMessage);
  };
  source.on('message', onMessage);
  void sup.done.then(stop);
  return stop;
}
