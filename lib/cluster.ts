/**
 * `stopCluster`: shuts down a `node:cluster` primary's workers. Each worker is sent the
 * `'shutdown'` message (a worker whose root supervisor listens to signals shuts down gracefully
 * on it, as it would on SIGINT), the primary waits for every worker to exit, and SIGKILLs what
 * is left at the deadline. A message rather than a signal: on Ctrl-C the workers already got
 * SIGINT from the terminal, and a second signal would force them.
 *
 * @module
 */
import type { Cluster, Worker } from 'node:cluster';
import { invalidArgType } from './errors.js';
import { type GracePeriodOptions, startGracePeriod } from './graceful.js';
import { SHUTDOWN_MESSAGE } from './messages.js';

/**
 * Options for {@link stopCluster}.
 *
 * @example
 * ```ts
 * sup.adopt(cluster, (c) => stopCluster(c, { timeout: 20_000 }));
 * ```
 */
export interface StopClusterOptions extends GracePeriodOptions {}

/**
 * Asks every live worker of `cluster` to shut down (the `'shutdown'` message to each worker still
 * connected), waits for them, and kills the rest at the deadline. Resolves once every worker has
 * exited. Stop re-forking workers first: check
 * `sup.signal.aborted` in your `'exit'` handler.
 *
 * @example
 * ```ts
 * import cluster from 'node:cluster';
 * import { Supervisor, run, stopCluster } from 'supervise';
 * if (cluster.isPrimary) {
 *   const sup = new Supervisor({ name: 'primary' });
 *   for (let i = 0; i < 4; i++) cluster.fork();
 *   cluster.on('exit', () => { if (!sup.signal.aborted) cluster.fork(); });
 *   sup.adopt(cluster, stopCluster);
 * } else {
 *   await run(serve);   // a worker: its supervisor shuts down on 'shutdown' and on signals
 * }
 * ```
 * @throws TypeError when `cluster` is not the `node:cluster` module of a primary.
 */
export function stopCluster(cluster: Cluster, options?: StopClusterOptions): Promise<void> {
  if (typeof cluster !== 'object' || cluster === null || typeof cluster.fork !== 'function' || !cluster.isPrimary) {
    throw invalidArgType('stopCluster(cluster)', 'the node:cluster module, in the primary process', cluster);
  }
  const grace = startGracePeriod(options, 'stopCluster');
  const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && !worker.isDead());
  // Not events.once(): it would reject on the worker's first 'error' event and stop the wait
  // while the workers still run.
  const exited = Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve))));
  for (const worker of workers) ask(worker);
  return grace
    .wait(exited, () => {
      const left = workers.filter((worker) => !worker.isDead());
      for (const worker of left) worker.process.kill('SIGKILL');
      return `forced: SIGKILL to ${left.length} cluster worker(s)`;
    })
    .then(() => undefined);
}

/**
 * Sends the message, and nothing else. A worker whose IPC channel is down is not signalled: a
 * cluster worker that loses its channel exits at once (Node does that), unless it left the
 * cluster itself with `disconnect()`, which is how a worker shuts down gracefully; either way it
 * is on its way out, maybe shutting down on the terminal's SIGINT, which a SIGTERM would turn into
 * a forced exit (128 + n). A send that fails (EPIPE: the worker closed its end before this process
 * saw it) is the same case, so its error is ignored; the callback keeps it from being emitted as an
 * 'error' event of the worker. Such workers are waited for, and killed at the deadline if need be.
 */
function ask(worker: Worker): void {
  if (worker.isConnected()) worker.send(SHUTDOWN_MESSAGE, ignore);
}

function ignore(): void {}
