/**
 * What an adapter called as a disposer (`closeServer`, `stopChildProcess` …) may know about the
 * shutdown calling it: the deadline to finish by, and a way to report what it had to cut short.
 * The shutdown sets it for the synchronous part of the call only, so an adapter reads it first
 * thing, before its first `await`.
 *
 * @module
 */

/** @internal The calling shutdown, as an adapter sees it. */
export interface DisposalContext {
  /** `performance.now()` time of the shutdown's deadline; Infinity for none. */
  readonly deadlineAt: number;
  /** Reports something the disposer had to force at its deadline (a straggler: exit code 124). */
  forced(what: string): void;
}

let current: DisposalContext | undefined;

/** @internal The context of the disposer being called right now, if a shutdown is calling one. */
export function currentDisposal(): DisposalContext | undefined {
  return current;
}

/** @internal Calls `dispose` with `context` readable by `currentDisposal()` until it returns. */
export function callAsDisposer(context: DisposalContext, dispose: () => unknown): unknown {
  current = context;
  try {
    return dispose();
  } finally {
    current = undefined;
  }
}
