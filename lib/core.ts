/**
 * What the modules that act on a supervisor from outside its class (the shutdown sequence, the
 * failure policy, the process edge, the task tree) may read and call. They depend on this
 * interface, not on the class, so layers point one way: `supervisor.ts` imports them, and none
 * of them imports it. Only the class implements it; none of its state is written from outside,
 * only read: every change goes through one of the operations below.
 *
 * @module
 */
import type { PrintBudget } from './print-budget.js';
import type { Phase, SupervisorState } from './lifecycle.js';
import type { ResolvedOptions } from './options.js';
import type { ShutdownCause, ShutdownReport } from './report.js';
import type { Disposer } from './resources.js';
import type { Task } from './task.js';

/** @internal The disposer a shutdown is waiting for: for the tree, and the printout of a forced exit. */
export interface InDisposal {
  readonly name: string;
  readonly calledAt: number;
  readonly child: SupervisorCore | undefined;
}

/** @internal What `run()` adds to the root supervisor it makes. */
export interface RunHooks {
  /** Runs when shutdown begins, before any task is cancelled (`onShutdown`). */
  readonly beforeCancel: (() => unknown) | undefined;
  /** Runs whenever no supervisor of the tree has a pending task (`exitWhenDone`). */
  readonly onIdle: (() => void) | undefined;
  /** Exits the process instead of `process.exit` (`exit` given a function). */
  readonly exit: ((code: number) => void) | undefined;
}

/** @internal What a finished shutdown leaves for `run()`'s summary line. */
export interface ShutdownStats {
  readonly beforeCancelMs: number;
  readonly tasksMs: number;
  readonly disposeMs: number;
  /** How many stuck tasks the bounded log left out. */
  readonly unlisted: number;
}

/** @internal A supervisor, as the modules below its class see it. */
export interface SupervisorCore {
  readonly name: string;
  readonly state: SupervisorState;
  readonly size: number;
  readonly done: Promise<ShutdownReport>;
  readonly _options: ResolvedOptions;
  readonly _root: SupervisorCore;
  readonly _phase: Phase;
  /** Pending tasks, in no particular order. */
  readonly _tasks: readonly Task[];
  /** Resources, callbacks and children, newest last; a child that left is unlisted. */
  readonly _disposers: readonly Disposer[];
  /** Failures kept for the report, in order. */
  readonly _errors: readonly unknown[];
  readonly _inDisposal: InDisposal | undefined;
  readonly _hooks: RunHooks | undefined;
  readonly _stats: ShutdownStats | undefined;

  /** Logs through the user's logger; a logger that throws is reported once, never thrown. */
  _log(level: 'warn' | 'error', ...data: unknown[]): void;
  /** Keeps `error` for the report; `task` is the one it came from, if a task failed. */
  _keepError(error: unknown, task?: Task): void;
  /** Starts the shutdown once (phase 1); every later call gets the same report. */
  _begin(cause: ShutdownCause, reason: unknown, signal: NodeJS.Signals | undefined, deadlineAt: number, budget?: PrintBudget): Promise<ShutdownReport>;

  // The steps of the shutdown sequence, called by it alone, in this order.
  /** Draining: aborts `sup.signal` with `reason`, the abort reason every task will share. */
  _beginStopping(cause: ShutdownCause, reason: unknown): void;
  /** Cancelling: `spawn` and `child` throw from now on; aborts every unshielded task, returns how many. */
  _cancelTasks(reason: unknown): number;
  /** Resolves when no task is pending. */
  _drained(): Promise<void>;
  /** Disposing: nothing can be registered from now on. */
  _beginDisposal(): void;
  /** The next disposer, newest first, taken off the list; undefined when none is left. */
  _takeDisposer(): Disposer | undefined;
  /** What disposal is waiting for now, if anything. */
  _waitingFor(disposal: InDisposal | undefined): void;
  /** Stopped: releases the process edge and leaves the parent's list. */
  _stopped(stats: ShutdownStats): void;
}
