// effection 4: every task is `scope.run(operation)` in a scope from `createScope()`; shutdown is
// `await destroy()`, which halts the scope's tasks (and nested scopes) newest first. Operations
// need no cancellation token: a halted generator runs its `finally`.
import { createScope, sleep, suspend, withResolvers } from 'effection';

export const name = 'effection';
export const describe = 'effection 4: `scope.run(function* () { try { yield* suspend() } finally { … } })` in a `createScope()`; `await destroy()`';
export const mode = 'peer';

export function create(env) {
  return layer(createScope(), env);
}

function layer([scope, destroy], env) {
  const { count, slowMs } = env;
  let batch;
  function* pending() {
    count.started++;
    try {
      yield* suspend();
    } finally {
      count.cleanups++;
    }
  }
  function* slow() {
    count.started++;
    try {
      yield* suspend();
    } finally {
      yield* sleep(slowMs);
      count.cleanups++;
    }
  }
  function* churn() {
    yield* batch.operation;
    count.finished++;
  }
  return {
    spawnPending(n) {
      for (let i = 0; i < n; i++) scope.run(pending);
    },
    spawnSlow(n) {
      for (let i = 0; i < n; i++) scope.run(slow);
    },
    spawnChurn(n) {
      for (let i = 0; i < n; i++) scope.run(churn);
    },
    newBatch() {
      batch = withResolvers();
      const current = batch;
      return () => current.resolve();
    },
    child() {
      // A nested scope registers its destruction on the parent now: created before the parent's
      // tasks, it is destroyed after them (destructors run newest first).
      return layer(createScope(scope), env);
    },
    async shutdown() {
      await destroy();
    },
    size() {
      return undefined;
    },
  };
}
