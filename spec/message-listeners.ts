// Counting a MessagePort's 'message' listeners on every runtime; its own module, without node:test,
// so that the worker-thread fixture can use it too.
import type { MessagePort } from 'node:worker_threads';

/**
 * Counts the 'message' listeners on `port`: its own listenerCount() on Node and Bun. Deno's
 * node:worker_threads ports cannot say: a MessageChannel port has on() and off() but no
 * listenerCount(), and a worker's parentPort has one that reads 0 with a listener on. There the
 * count is kept by watching the port's on() and off() from this call on, which is how supervise
 * adds and removes its listener.
 */
export function messageListenerCounter(port: MessagePort): () => number {
  if (process.versions.deno === undefined) return () => port.listenerCount('message');
  const listeners: unknown[] = [];
  const { on, off } = port;
  const watched = port as unknown as Record<'on' | 'off', (name: string, listener: (value: unknown) => void) => MessagePort>;
  watched.on = function (this: MessagePort, name, listener) {
    if (name === 'message') listeners.push(listener);
    return on.call(this, name, listener);
  };
  watched.off = function (this: MessagePort, name, listener) {
    const at = name === 'message' ? listeners.lastIndexOf(listener) : -1;
    if (at >= 0) listeners.splice(at, 1);
    return off.call(this, name, listener);
  };
  return () => listeners.length;
}
