/**
 * The IPC channel's `'shutdown'` message, for processes that are told to stop over a channel
 * rather than by a signal: a PM2 app (PM2 sends the string `'shutdown'` on platforms without
 * signals, or with `shutdown_with_message`) and a cluster worker whose primary runs
 * {@link stopCluster}. A root supervisor that listens to signals takes it in such a process;
 * `shutdownOnMessage` listens on any other channel.
 *
 * @module
 */
import { builtin } from './builtins.js';

/** @internal What the shared listener delivers the message to: a root's listener. */
export interface MessageSubscriber {
  receiveShutdownMessage(): void;
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
 * Root supervisors stopped by the IPC channel's message, with one process listener for all of
 * them, as signals have: added with the first, removed with the last, so a process with many
 * roots gets no MaxListeners warning. Removing it is all a stopping root does to the channel: Node
 * unreferences the channel once nobody listens, so a forked process (PM2) can end by itself, and
 * the channel stays open for the roots still running and for the parent's next message. A
 * supervisor never disconnects it: in a cluster worker, a disconnect Node did not expect exits the
 * process at once with code 0, whatever `process.exitCode` says.
 */
const messageSubscribers = new Set<MessageSubscriber>();

function onProcessMessage(message: unknown): void {
  if (message !== SHUTDOWN_MESSAGE) return;
  // A copy: a root that stops synchronously unsubscribes during the loop.
  for (const subscriber of [...messageSubscribers]) subscriber.receiveShutdownMessage();
}

/** @internal Delivers the process's `'shutdown'` message to `subscriber` until unsubscribed. */
export function subscribeMessages(subscriber: MessageSubscriber): void {
  if (messageSubscribers.size === 0) process.on('message', onProcessMessage);
  messageSubscribers.add(subscriber);
}

/** @internal Stops delivering; the last one out removes the process listener. */
export function unsubscribeMessages(subscriber: MessageSubscriber): void {
  if (messageSubscribers.delete(subscriber) && messageSubscribers.size === 0) process.off('message', onProcessMessage);
}

/**
 * @internal Whether this process is told to stop by message: it runs under PM2, or is a cluster
 * worker. Not `process.env.NODE_UNIQUE_ID`: Node deletes it from a worker's environment while
 * starting it (so that the worker's own children do not inherit it); `cluster.isWorker` is set
 * from it before that. `node:cluster` is fetched only here, in a process with an IPC channel: Node
 * has loaded it already in a worker, and the others need not pay for it at import.
 */
export function stoppedByMessage(): boolean {
  return typeof process.send === 'function' && (process.env.pm_id !== undefined || builtin('node:cluster').isWorker);
}
