/**
 * `stopCluster`: shuts down a `node:cluster` primary's workers. Each worker is sent
 * {@link SHUTDOWN_MESSAGE}, `'shutdown'` (a worker whose root supervisor listens to signals shuts
 * down gracefully on it, as it would on SIGINT), the primary waits for every worker to exit, and SIGKILLs what
 * is left at the deadline. A message rather than a signal: on Ctrl-C the workers already got
 * SIGINT from the terminal, and a second signal would force them.
 *
 * @module
 */
import type { Cluster, Worker } from 'node:cluster';
import { type AdapterSpec, type GracePeriod, type GracePeriodOptions, beginStop, defineWith } from './graceful.js';
import { SHUTDOWN_MESSAGE } from './messages.js';

/**
 * Options for {@link stopCluster}.
 *
 * @example
 * ```ts
 * import cluster from 'node:cluster';
 * import { Supervisor, stopCluster, type StopClusterOptions } from 'supervise';
 * const sup = new Supervisor();
 * const options: StopClusterOptions = { timeout: 20_000 };
 * sup.adopt(cluster, stopCluster.with(options));
 * ```
 */
export interface StopClusterOptions extends GracePeriodOptions {}

const adapter: AdapterSpec<StopClusterOptions> = {
  name: 'stopCluster',
  argument: 'cluster',
  expected: 'the node:cluster module, in the primary process',
  accepts: (value) => typeof value === 'object' && value !== null && typeof (value as Cluster).fork === 'function' && (value as Cluster).isPrimary,
  options: ['timeout'],
};

/**
 * Asks every live worker of `cluster` to shut down (the {@link SHUTDOWN_MESSAGE} to each worker
 * still connected), waits for them, and kills the rest at the deadline. Resolves once every
 * worker has exited. Stop re-forking workers first: check `sup.signal.aborted` in your `'exit'`
 * handler.
 *
 * @example
 * ```ts no_run
 * import cluster from 'node:cluster';
 * import { Supervisor, run, stopCluster } from 'supervise';
 * if (cluster.isPrimary) {
 *   const sup = new Supervisor({ name: 'primary' });
 *   for (let i = 0; i < 4; i++) cluster.fork();
 *   cluster.on('exit', () => { if (!sup.signal.aborted) cluster.fork(); });
 *   sup.adopt(cluster, stopCluster);
 * } else {
 *   // A worker: its supervisor shuts down on 'shutdown' and on signals.
 *   await run(async (sup) => { sup.spawn((signal) => new Promise((resolve) => signal.addEventListener('abort', resolve))); });
 * }
 * ```
 * @throws TypeError when `cluster` is not the `node:cluster` module of a primary, or for a bad option.
 */
export function stopCluster(cluster: Cluster, options?: StopClusterOptions): Promise<void> {
  const { grace } = beginStop(adapter, cluster, options);
  return stopWorkers(cluster, grace);
}

export declare namespace stopCluster {
  /**
   * `stopCluster` with options, for `adopt`. The options are checked here, at the call, not at
   * shutdown; reports name the disposer `stopCluster`.
   *
   * @example
   * ```ts
   * import cluster from 'node:cluster';
   * import { Supervisor, stopCluster } from 'supervise';
   * const sup = new Supervisor({ shutdownTimeout: 30_000 });
   * sup.adopt(cluster, stopCluster.with({ timeout: 20_000 }));
   * ```
   * @throws TypeError when `options` is not an object, or an option is unknown (the closest name
   * is suggested) or of the wrong type; RangeError when `timeout` is out of range.
   */
  function withOptions(options: StopClusterOptions): (cluster: Cluster) => Promise<void>;
  export { withOptions as with };
}

defineWith(stopCluster, adapter);

async function stopWorkers(cluster: Cluster, grace: GracePeriod): Promise<void> {
  const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && !worker.isDead());
  // Not events.once(): it would reject on the worker's first 'error' event and stop the wait
  // while the workers still run.
  const exited = Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve))));
  for (const worker of workers) ask(worker);
  await grace.wait(exited, () => {
    const left = workers.filter((worker) => !worker.isDead());
    for (const worker of left) worker.process.kill('SIGKILL');
    return `forced: SIGKILL to ${left.length} cluster worker(s)`;
  });
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
