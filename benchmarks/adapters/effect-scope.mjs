// Effect (current major): each fiber forked into a Scope with `Effect.forkIn`; shutdown is
// `Scope.close`, which runs the scope's finalizers (one per live fiber: interrupt it) newest
// first, one after the other: the default "sequential" finalizer strategy of `Scope.make()`.
import { Effect, Exit, Scope } from 'effect';
import { effectBodies } from '../lib/effect-bodies.mjs';

export const name = 'effect-scope';
export const describe = 'Effect: `Effect.forkIn(task, scope)` in an `Effect.gen` loop; `Scope.close(scope, Exit.void)` (default sequential strategy)';
export const mode = 'peer';

export function create(env) {
  return layer(Effect.runSync(Scope.make()), env);
}

function layer(scope, env) {
  const { pending, slow, churn, newBatch } = effectBodies(env);
  const forkN = (task, n) =>
    Effect.runSync(
      Effect.gen(function* () {
        for (let i = 0; i < n; i++) yield* Effect.forkIn(task, scope);
      }),
    );
  return {
    spawnPending(n) {
      forkN(pending, n);
    },
    spawnSlow(n) {
      forkN(slow, n);
    },
    spawnChurn(n) {
      forkN(churn, n);
    },
    newBatch,
    child() {
      return layer(Effect.runSync(Scope.fork(scope)), env);
    },
    async shutdown() {
      await Effect.runPromise(Scope.close(scope, Exit.void));
    },
    size() {
      return undefined;
    },
  };
}
