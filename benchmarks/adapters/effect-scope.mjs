// Effect (current major): each fiber forked into a Scope with `Effect.forkIn`; shutdown is
// `Scope.close`, which runs the scope's finalizers (one per live fiber: interrupt it) newest
// first, one after the other: the default "sequential" finalizer strategy of `Scope.make()`.
import { Deferred, Effect, Exit, Scope } from 'effect';

export const name = 'effect-scope';
export const describe = 'Effect: `Effect.forkIn(task, scope)` in an `Effect.gen` loop; `Scope.close(scope, Exit.void)` (default sequential strategy)';
export const mode = 'peer';

export function create(env) {
  return layer(Effect.runSync(Scope.make()), env);
}

function layer(scope, env) {
  const { count, slowMs } = env;
  const pending = Effect.suspend(() => {
    count.started++;
    return Effect.never;
  }).pipe(Effect.ensuring(Effect.sync(() => void count.cleanups++)));
  const slow = Effect.suspend(() => {
    count.started++;
    return Effect.never;
  }).pipe(Effect.ensuring(Effect.andThen(Effect.sleep(slowMs), Effect.sync(() => void count.cleanups++))));
  let deferred;
  const churn = Effect.suspend(() => Deferred.await(deferred)).pipe(Effect.andThen(Effect.sync(() => void count.finished++)));
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
    newBatch() {
      const current = (deferred = Deferred.makeUnsafe());
      return () => Effect.runSync(Deferred.succeed(current, undefined));
    },
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
