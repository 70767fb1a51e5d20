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
import type { Lifecycle, SupervisorState } from './lifecycle.js';
import type { ResolvedOptions } from './options.js';
import type { ShutdownCause, ShutdownReport } from './report.js';
import type { TaskRegistry } from './registry.js';
import type { Disposer, DisposerList } from './resources.js';

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

/** @internal A supervisor, as the modules below its class see it. */
export interface SupervisorCore {
  readonly name: string;
  readonly state: SupervisorState;
  readonly size: number;
  readonly done: Promise<ShutdownReport>;
  readonly _options: ResolvedOptions;
  readonly _root: SupervisorCore;
  /** Its phase, its errors, `done`: changed through the lifecycle's methods, each named for the phase it begins. */
  readonly _life: Lifecycle;
  readonly _registry: TaskRegistry;
  readonly _resources: DisposerList;
  readonly _inDisposal: InDisposal | undefined;
  readonly _hooks: RunHooks | undefined;
  readonly _parent: SupervisorCore | undefined;
  /** Its entry on its parent's list, for a child. */
  readonly _entry: Disposer | undefined;
  /** Whether the code that owns it has asked for its report: `shutdown()`, `[Symbol.asyncDispose]` or `done`. */
  readonly _collected: boolean;
  /** A listening root's signal and message listeners (`root-listener.ts`, which sits above this interface). */
  readonly _listener: { detach(): void } | undefined;

  /** Logs through the user's logger; a logger that throws is reported once, never thrown. */
  _log(level: 'warn' | 'error', ...data: unknown[]): void;
  /** Starts the shutdown once (phase 1); every later call gets the same report. */
  _begin(cause: ShutdownCause, reason: unknown, signal: NodeJS.Signals | undefined, deadlineAt: number, budget?: PrintBudget): Promise<ShutdownReport>;
  /** What disposal is waiting for now, if anything. */
  _waitingFor(disposal: InDisposal | undefined): void;
}

/**
 * @internal A restartable subtree, as its parent's shutdown and task tree see it: a layer on the
 * parent's list whose child supervisor changes with each restart.
 */
export interface SubtreeCore {
  readonly name: string;
  readonly restarts: number;
  /** The incarnation whose report the subtree has not consumed yet, if any. */
  readonly _current: SupervisorCore | undefined;
  /**
   * The parent's disposal reached it: nothing restarts from now on. Returns the incarnation, if
   * there is one, to shut down (or, stopping on its own, to wait for) as a child: the parent has
   * its report, and the subtree ends quietly. Between runs, a promise of the subtree's end.
   */
  _endAsLayer(reason: unknown): SupervisorCore | PromiseLike<unknown>;
}
