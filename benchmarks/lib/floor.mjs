// The hand-written floor: what an application would write without a library. A `Set` of
// `{ controller, promise }`, each entry removed when its promise settles; shutdown aborts every
// controller and waits with `Promise.allSettled`, then shuts nested layers down newest first.
import { newJsBatch } from './gate.mjs';

export function signalFloor(env, { sharedReason }) {
  const { bodies } = env;
  const tasks = new Set();
  const children = [];

  function spawn(fn) {
    const controller = new AbortController();
    const entry = { controller, promise: undefined };
    const promise = fn(controller.signal);
    entry.promise = promise;
    tasks.add(entry);
    const remove = () => tasks.delete(entry);
    promise.then(remove, remove);
  }

  return {
    spawnPending(n) {
      for (let i = 0; i < n; i++) spawn(bodies.pending);
    },
    spawnSlow(n) {
      for (let i = 0; i < n; i++) spawn(bodies.slow);
    },
    spawnChurn(n) {
      for (let i = 0; i < n; i++) spawn(bodies.churn);
    },
    newBatch() {
      return newJsBatch(env.shared);
    },
    child() {
      const child = signalFloor(env, { sharedReason });
      children.push(child);
      return child;
    },
    async shutdown() {
      const promises = [];
      if (sharedReason) {
        const reason = new DOMException('shutting down', 'AbortError');
        for (const entry of tasks) {
          entry.controller.abort(reason);
          promises.push(entry.promise);
        }
      } else {
        for (const entry of tasks) {
          entry.controller.abort();
          promises.push(entry.promise);
        }
      }
      await Promise.allSettled(promises);
      while (children.length > 0) await children.pop().shutdown();
    },
    size() {
      return tasks.size;
    },
  };
}

/** The no-signal floor: a `Set` of promises; tasks wait on the shared gate; shutdown awaits them all. */
export function noSignalFloor(env) {
  const { bodies } = env;
  const tasks = new Set();

  function spawn(fn) {
    const promise = fn();
    tasks.add(promise);
    const remove = () => tasks.delete(promise);
    promise.then(remove, remove);
  }

  return {
    spawnPending(n) {
      for (let i = 0; i < n; i++) spawn(bodies.pendingNoSignal);
    },
    spawnSlow() {
      throw new Error('floor-nosignal has no cancellation: not used for W4');
    },
    spawnChurn(n) {
      for (let i = 0; i < n; i++) spawn(bodies.churnNoSignal);
    },
    newBatch() {
      return newJsBatch(env.shared);
    },
    child() {
      throw new Error('floor-nosignal: not used for W4');
    },
    async shutdown() {
      await Promise.allSettled(tasks);
    },
    size() {
      return tasks.size;
    },
  };
}
