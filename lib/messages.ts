/**
 * Shutdown by message, for processes that are told to stop over a channel rather than by a
 * signal: a PM2 app (PM2 sends the string `'shutdown'` on platforms without signals, or with
 * `shutdown_with_message`), a cluster worker whose primary runs {@link stopCluster}, or a worker
 * thread stopped with {@link stopWorker}. A root supervisor that listens to signals does this by
 * itself in a PM2 process and in a cluster worker.
 *
 * @module
 */
import cluster from 'node:cluster';
import { invalidArgType } from './errors.js';
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
 * The message that asks a supervise process, cluster worker or worker thread to shut down.
 *
 * @example
 * ```ts
 * child.send(SHUTDOWN_MESSAGE);   // asks a forked supervise process to shut down gracefully
 * ```
 */
export const SHUTDOWN_MESSAGE = 'shutdown';

/**
 * Starts a graceful shutdown of `sup` (cause `'message'`, with its `drainDelay`) when `source`
 * receives the message `'shutdown'`. The listener is removed once `sup` has stopped; the
 * returned function removes it sooner. Note that a `'message'` listener keeps an IPC channel or
 * port referenced, so the process or thread stays alive until `sup` stops.
 *
 * @example
 * ```ts
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
    if (message === SHUTDOWN_MESSAGE) beginOnMessage(sup);
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

function beginOnMessage(sup: Supervisor): void {
  if (sup.state !== 'running') return;
  sup._log('warn', `supervise: received a '${SHUTDOWN_MESSAGE}' message, shutting down "${sup.name}"`);
  sup._begin('message', undefined, undefined, Infinity);
}

/**
 * Root supervisors stopped by the IPC channel's message, with one process listener for all of
 * them, as signals have: added with the first, removed with the last, so a process with many
 * roots gets no MaxListeners warning. Removing it is all a stopping root does to the channel: Node
 * unreferences the channel once nobody listens, so a forked process (PM2) can end by itself, and
 * the channel stays open for the roots still running and for the parent's next message. A
 * supervisor never disconnects it: in a cluster worker, a disconnect Node did not expect exits the
 * process at once with code 0, whatever `process.exitCode` says.
 */
const messageSubscribers = new Set<Supervisor>();

function onProcessMessage(message: unknown): void {
  if (message !== SHUTDOWN_MESSAGE) return;
  // A copy: a root that stops synchronously unsubscribes during the loop.
  for (const sup of [...messageSubscribers]) beginOnMessage(sup);
}

/** @internal Delivers the process's `'shutdown'` message to `sup` until it has stopped. */
export function subscribeMessages(sup: Supervisor): void {
  if (messageSubscribers.size === 0) process.on('message', onProcessMessage);
  messageSubscribers.add(sup);
}

/** @internal Stops delivering; the last one out removes the process listener. */
export function unsubscribeMessages(sup: Supervisor): void {
  if (messageSubscribers.delete(sup) && messageSubscribers.size === 0) process.off('message', onProcessMessage);
}

/**
 * @internal Whether this process is told to stop by message: it runs under PM2, or is a cluster
 * worker. Not `process.env.NODE_UNIQUE_ID`: Node deletes it from a worker's environment while
 * starting it (so that the worker's own children do not inherit it); `cluster.isWorker` is set
 * from it before that.
 */
export function stoppedByMessage(): boolean {
  return typeof process.send === 'function' && (process.env.pm_id !== undefined || cluster.isWorker);
}
