// supervise: one Supervisor; task functions declare a `signal` parameter, so each task gets its
// own AbortController, aborted with the one shared reason when shutdown begins.
import { Supervisor } from '../lib/supervise.mjs';
import { newJsBatch } from '../lib/gate.mjs';

export const name = 'supervise';
export const describe = '`sup.spawn(async (signal) => …)`: a per-task AbortSignal, one shared abort reason; `await sup.shutdown()`';
export const mode = 'signal';

export function create(env) {
  return layer(new Supervisor({ signals: false, logger: false, shutdownTimeout: 600_000 }), env, env.bodies.pending);
}

/** Also used by supervise-nosignal.mjs, with the no-parameter body. */
export function layer(sup, env, pendingBody) {
  const { bodies, count } = env;
  return {
    spawnPending(n) {
      for (let i = 0; i < n; i++) sup.spawn(pendingBody);
    },
    spawnSlow(n) {
      for (let i = 0; i < n; i++) sup.spawn(bodies.slow);
    },
    spawnChurn(n) {
      const body = pendingBody === bodies.pending ? bodies.churn : bodies.churnNoSignal;
      for (let i = 0; i < n; i++) sup.spawn(body);
    },
    newBatch() {
      return newJsBatch(env.shared);
    },
    child() {
      return layer(sup.child({ name: 'layer' }), env, pendingBody);
    },
    async shutdown() {
      const pendingBefore = sup.size;
      const report = await sup.shutdown();
      if (report.exitCode !== 0 || report.errors.length > 0 || report.stragglers.length > 0) {
        throw new Error(`supervise: unclean shutdown: exitCode ${report.exitCode}, ${report.errors.length} errors, ${report.stragglers.length} stragglers`);
      }
      if (pendingBody === bodies.pending && report.cancelled < pendingBefore) {
        throw new Error(`supervise: report.cancelled ${report.cancelled} < ${pendingBefore} pending tasks`);
      }
      if (sup.size !== 0) throw new Error(`supervise: ${sup.size} tasks still registered after shutdown`);
      void count;
    },
    size() {
      return sup.size;
    },
  };
}
