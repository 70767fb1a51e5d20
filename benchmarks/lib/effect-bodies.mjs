// The task bodies both Effect adapters fork, written once, like lib/bodies.mjs for supervise and
// the floors: `pending` and `slow` never finish on their own and count their cleanup when
// interrupted; `churn` finishes when the current batch's Deferred completes.
import { Deferred, Effect } from 'effect';

/** @param {{ count: { started: number, cleanups: number, finished: number }, slowMs: number }} env */
export function effectBodies({ count, slowMs }) {
  let deferred;
  const started = Effect.suspend(() => {
    count.started++;
    return Effect.never;
  });
  return {
    pending: started.pipe(Effect.ensuring(Effect.sync(() => void count.cleanups++))),
    slow: started.pipe(
      Effect.ensuring(
        Effect.andThen(
          Effect.sleep(slowMs),
          Effect.sync(() => void count.cleanups++),
        ),
      ),
    ),
    churn: Effect.suspend(() => Deferred.await(deferred)).pipe(Effect.andThen(Effect.sync(() => void count.finished++))),
    /** Opens a new churn batch; the returned function releases it. */
    newBatch() {
      const current = (deferred = Deferred.makeUnsafe());
      return () => Effect.runSync(Deferred.succeed(current, undefined));
    },
  };
}
