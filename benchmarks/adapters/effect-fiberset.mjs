// Effect (current major): fibers in a FiberSet, forked from plain JS through `FiberSet.runtime`;
// shutdown closes the Scope that owns the FiberSet, which interrupts every fiber at once and
// awaits them all. Fibers need no cancellation token: interruption runs `Effect.ensuring`.
import { Effect, Exit, FiberSet, Scope } from 'effect';
import { effectBodies } from '../lib/effect-bodies.mjs';

export const name = 'effect-fiberset';
export const describe = 'Effect: `FiberSet.runtime(set)()` forks `Effect.never.pipe(Effect.ensuring(…))`; `Scope.close` interrupts the set';
export const mode = 'peer';

export function create(env) {
  return layer(Effect.runSync(Scope.make()), env);
}

function layer(scope, env) {
  const { pending, slow, churn, newBatch } = effectBodies(env);

  // The FiberSet is made at the first spawn, so that a nested layer made before it (see child())
  // is closed after it: a Scope runs its finalizers newest first.
  let set;
  let run;
  function runner() {
    if (run === undefined) {
      set = Effect.runSync(Scope.provide(FiberSet.make(), scope));
      run = Effect.runSync(FiberSet.runtime(set)());
    }
    return run;
  }
  return {
    spawnPending(n) {
      const fork = runner();
      for (let i = 0; i < n; i++) fork(pending);
    },
    spawnSlow(n) {
      const fork = runner();
      for (let i = 0; i < n; i++) fork(slow);
    },
    spawnChurn(n) {
      const fork = runner();
      for (let i = 0; i < n; i++) fork(churn);
    },
    newBatch,
    child() {
      return layer(Effect.runSync(Scope.fork(scope)), env);
    },
    async shutdown() {
      await Effect.runPromise(Scope.close(scope, Exit.void));
    },
    size() {
      return set === undefined ? 0 : Effect.runSync(FiberSet.size(set));
    },
  };
}
