/**
 * What a shutdown reports: why it began, what it cancelled, what it could not stop in time and
 * every error on the way, with the exit code that follows from them.
 *
 * @module
 */

/**
 * Why a shutdown began.
 *
 * @example
 * ```ts
 * const { cause, signal } = await sup.done;
 * if (cause === 'signal') console.log(`stopped by ${signal}`);
 * ```
 */
export type ShutdownCause =
  /** `sup.shutdown()` was called. */
  | 'shutdown'
  /** The end of an `await using` scope (`[Symbol.asyncDispose]`). */
  | 'dispose'
  /** A process signal: `report.signal` names it. */
  | 'signal'
  /** A `'shutdown'` message on the IPC channel, as PM2 and a supervise cluster primary send. */
  | 'message'
  /** A task failed under `onTaskError: 'shutdown'`, or an `onTaskError` function threw. */
  | 'error'
  /** The parent supervisor's shutdown reached this child. */
  | 'parent';

/**
 * A task, or a disposer, that had not finished when the deadline passed.
 *
 * @example
 * ```ts
 * for (const { name, ageMs } of (await sup.done).stragglers) console.warn(`${name} did not stop (${ageMs} ms old)`);
 * ```
 */
export interface Straggler {
  readonly id: number;
  readonly name: string;
  /** Milliseconds since it was spawned (a task) or since disposal called it (a disposer), at the deadline. */
  readonly ageMs: number;
}

/**
 * What a shutdown did. Exit codes: 0 clean, 1 an error, 124 the deadline passed with stragglers.
 *
 * @example
 * ```ts
 * const report = await sup.shutdown();
 * for (const error of report.errors) console.error(error);
 * process.exitCode = report.exitCode;
 * ```
 */
export interface ShutdownReport {
  readonly cause: ShutdownCause;
  /** The process signal that started it, when one did (also for children of a root it started). */
  readonly signal?: NodeJS.Signals;
  /** The abort reason every cancelled task received; the same object as `sup.signal.reason`. */
  readonly reason: unknown;
  readonly durationMs: number;
  /** How many tasks this shutdown cancelled (children included). */
  readonly cancelled: number;
  /** Tasks and disposers still pending at the deadline (children included). */
  readonly stragglers: readonly Straggler[];
  /** Every task failure, disposer error and callback error, in the order they happened (children included). */
  readonly errors: readonly unknown[];
  /** 1 when there are errors, else 124 when there are stragglers, else 0. */
  readonly exitCode: number;
}

/** @internal The exit code of a shutdown whose deadline passed with stragglers (GNU `timeout`'s). */
export const EXIT_DEADLINE = 124;

/** @internal What a finished shutdown leaves for `run()`'s summary line. */
export interface ShutdownStats {
  readonly beforeCancelMs: number;
  readonly tasksMs: number;
  readonly disposeMs: number;
  /** How many stuck tasks the bounded log left out. */
  readonly unlisted: number;
}
