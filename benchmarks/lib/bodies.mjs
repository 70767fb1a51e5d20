// The task bodies that supervise and the hand-written floors share, byte for byte, so that any
// difference between them is the registry's own cost. Peers (effection, Effect) write the same
// behaviour in their own idiom, in their adapters.
//
// `count` is the measurement's counter object: `started` when a body begins, `cleanups` when its
// `finally` has finished, `finished` when a churn task completes. The runner reads the counters to
// prove that every task started and that shutdown waited for every cleanup.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * @param {{ started: number, cleanups: number, finished: number }} count
 * @param {{ gate: Promise<void>, batch: Promise<void> | undefined }} shared
 *   `gate` settles when shutdown begins (no-signal bodies wait on it); `batch` is the current
 *   churn batch's gate, read when a churn task starts.
 * @param {number} slowMs how long a W4 task's async cleanup takes
 */
export function makeBodies(count, shared, slowMs) {
  return {
    /** W1/W2: waits for its signal, cleanup in `finally`. Declares a parameter: a signal is made for it. */
    pending: async (signal) => {
      count.started++;
      try {
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
      } finally {
        count.cleanups++;
      }
    },
    /** W1b/W2b: declares no parameter; waits for the one shared promise that settles when shutdown begins. */
    pendingNoSignal: async () => {
      count.started++;
      try {
        await shared.gate;
      } finally {
        count.cleanups++;
      }
    },
    /** W4: waits for its signal, then needs `slowMs` of async cleanup. */
    slow: async (signal) => {
      count.started++;
      try {
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
      } finally {
        await sleep(slowMs);
        count.cleanups++;
      }
    },
    /** W3: a short task that finishes when its batch is released; it declares a signal parameter. */
    churn: async (signal) => {
      await shared.batch;
      count.finished++;
    },
    /** W3b: the same with no parameter. */
    churnNoSignal: async () => {
      await shared.batch;
      count.finished++;
    },
  };
}
