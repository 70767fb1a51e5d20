/**
 * Restartable subtrees: a child supervisor as a unit that is rebuilt after a failure, as an
 * Erlang/OTP supervisor restarts a child supervisor.
 *
 * An init function builds the unit on a fresh child supervisor: it opens the resources
 * (`scope.use`) and spawns the tasks. A failure anywhere in it (a task that fails, init that
 * throws, or a disposer that throws while the unit shuts down) shuts the whole unit down, tasks
 * cancelled and awaited, resources disposed last in first out; then, after the backoff, init runs
 * again on a new child. The restart policy is a task's (`restart`, `maxRestarts`, `within`,
 * `backoff`), and so is giving up: the last error goes to the parent's `onTaskError`.
 *
 * The handle is a Task: its `restarts` count, its `state`, and awaiting it waits for the
 * subtree to end for good. To its parent the subtree is a layer, as a child is: it keeps its
 * place on the last-in-first-out list across restarts, and the parent's shutdown disposes it
 * there (nothing restarts once the parent's shutdown has begun).
 *
 * @module
 */
import type { SupervisorCore, SubtreeCore } from './core.js';
import { invalidArgType, invalidArgValue, loggable } from './errors.js';
import { RUNNING, STOPPED } from './lifecycle.js';
import { checkKnownKeys, checkOptionsObject } from './option-checks.js';
import type { ChildOptions } from './options.js';
import type { ShutdownReport } from './report.js';
import type { Disposer } from './resources.js';
import { RestartingTask, type RestartOwner } from './restart.js';
import { type Backoff, type RestartMode, type RestartPolicy, restartPolicyOf } from './spawn-options.js';
import type { Task, TaskOwner } from './task.js';

/**
 * Options for `sup.subtree()`: its name, its restart policy (a task's, with `'on-failure'` as
 * the default mode) and the child options each incarnation gets.
 *
 * @example
 * ```ts
 * const options: SubtreeOptions = { name: 'db', maxRestarts: 3, within: 60_000, backoff: { initialMs: 200 } };
 * ```
 */
export interface SubtreeOptions {
  /** Shown in logs, reports and `sup.tasks()`; each incarnation's name. Default: `<parent>/<n>`. */
  readonly name?: string;
  /** `'on-failure'` (default) rebuilds it after a failure; `'always'` also when it stops without one (its supervisor was shut down). A subtree that is never rebuilt is a scope: `sup.scope()`. */
  readonly restart?: Exclude<RestartMode, 'never'>;
  /** More restarts than this within `within` ms gives up: the last error goes to the parent's `onTaskError`. Default: 5. */
  readonly maxRestarts?: number;
  /** The window, in milliseconds, in which `maxRestarts` is counted. Default: 60 000. */
  readonly within?: number;
  /** The wait before each rebuild, as a task's. Default: exponential from 100 ms. */
  readonly backoff?: Backoff;
  /** Each incarnation's, as a child's. Default: the parent's. */
  readonly shutdownTimeout?: number;
  /** Each incarnation's, as a child's. Default: the parent's. */
  readonly disposeReserve?: number;
}

const subtreeOptionNames = ['name', 'restart', 'maxRestarts', 'within', 'backoff', 'shutdownTimeout', 'disposeReserve'] as const;

/** @internal What a subtree needs from its parent: a task's restart owner, its failure policy, its list, and fresh children. */
export interface SubtreeParent extends RestartOwner {
  readonly _life: SupervisorCore['_life'];
  readonly _resources: SupervisorCore['_resources'];
  _taskFailed(task: Task, error: unknown): void;
}

/**
 * The handle `sup.subtree()` returns: a Task that runs the subtree until it ends for good (its
 * parent's shutdown, `cancel()`, or giving up), with `restarts`, and `supervisor`, the child
 * supervisor running now.
 *
 * @example
 * ```ts
 * const db = sup.subtree(async (scope) => {
 *   const conn = scope.use(await openDatabase());
 *   scope.spawn((signal) => conn.query('LISTEN jobs', { signal }), { name: 'listener' });
 * }, { name: 'db', maxRestarts: 3, backoff: { initialMs: 200 } });
 * console.log(db.restarts, db.supervisor?.size);
 * ```
 */
export interface Subtree<S> extends Task<void> {
  /** The child supervisor of the run now; undefined between runs (the backoff) and once the subtree has ended. */
  readonly supervisor: S | undefined;
}

/** @internal The subtree's runs, as a task with a restart policy that is its own owner. */
export class SubtreeTask<S extends SupervisorCore> extends RestartingTask<void> implements Subtree<S>, SubtreeCore, TaskOwner {
  /** @internal The incarnation whose report this subtree has not consumed yet. */
  _current: S | undefined = undefined;
  /** @internal Its place on the parent's list. */
  _entry: Disposer | undefined = undefined;
  /** @internal Set once the parent's disposal took the run now as a child: the parent has its report, and the run ends quietly. */
  _reportedToParent = false;

  /** @internal Made by `sup.subtree()`, which then runs it. */
  constructor(
    name: string,
    options: SubtreeOptions,
    readonly _parent: SubtreeParent,
    readonly _incarnate: () => S,
    readonly _init: (scope: S) => unknown,
  ) {
    const { restart = 'on-failure', maxRestarts, within, backoff } = options;
    const policy = restartPolicyOf({ restart, maxRestarts, within, backoff }, 'subtree options') as RestartPolicy;
    // Its own owner: not in the parent's registry (the parent's phase 2 does not cancel a layer), it reports to the parent itself.
    super(undefined as unknown as TaskOwner, name, false, policy, _parent);
    this._owner = this;
  }

  /** @internal The subtree ended for good: it leaves the parent's list, and a failure goes to the parent's `onTaskError`. */
  taskSettled(task: Task, error: unknown): void {
    const entry = this._entry;
    if (entry?.listed === true) this._parent._resources.leave(entry);
    if (task._failed()) this._parent._taskFailed(task, error);
  }

  get supervisor(): S | undefined {
    return this._current;
  }

  /** @internal */
  override get _noun(): string {
    return 'subtree';
  }

  /** @internal The parent's disposal reached this subtree: see `SubtreeCore`. */
  _endAsLayer(reason: unknown): SupervisorCore | PromiseLike<unknown> {
    const current = this._current;
    if (current !== undefined) {
      // The parent shuts it down as a child, or, stopping on its own, waits for it as one, and has its report.
      this._reportedToParent = true;
      return current;
    }
    // Between runs: no restart now.
    this._abort(reason);
    // Not `this.then`: that would count as the failure being delivered to code that awaited the task.
    return (this._result as Promise<void>).then(noop, noop);
  }

  /** @internal One incarnation: built by init, run until it stops; throws what made it stop. */
  async _incarnation(signal: AbortSignal): Promise<void> {
    const scope = this._incarnate();
    this._current = scope;
    const stop = () => void scope._begin('shutdown', signal.reason, undefined, Infinity);
    signal.addEventListener('abort', stop, { once: true });
    try {
      try {
        // Init runs from the microtask queue, not inside `subtree()`: a subtree whose init makes
        // a subtree, 10 000 deep, must not nest 10 000 inits in one call stack. A run shut down
        // before then (`db.supervisor.shutdown()` at once) is not built at all.
        await undefined;
        if (scope._life.phase === RUNNING) await this._init(scope);
      } catch (error) {
        initFailed(scope, error);
      }
      const report: ShutdownReport = await scope._life.done;
      if (this._reportedToParent) return;
      const { errors } = report;
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new AggregateError(errors, `${errors.length} errors in subtree "${this.name}"`);
    } finally {
      signal.removeEventListener('abort', stop);
      this._current = undefined;
    }
  }
}

function noop(): void {}

/** Init threw: that is the incarnation's failure, unless it stopped already, when it is one more error of that stop. */
function initFailed(scope: SupervisorCore, error: unknown): void {
  const phase = scope._life.phase;
  if (phase === STOPPED) {
    scope._log('error', `supervise: init of subtree "${scope.name}" failed after it stopped:`, loggable(error));
    return;
  }
  scope._life.keepError(error);
  if (phase === RUNNING) void scope._begin('error', error, undefined, Infinity);
}

/**
 * @internal Checks `sup.subtree(init, options)` at the call, and returns what each incarnation
 * is made with.
 */
export function checkSubtree(init: unknown, options: SubtreeOptions | undefined): { options: SubtreeOptions; child: ChildOptions } {
  if (typeof init !== 'function') throw invalidArgType('subtree(init)', 'a function (scope) => unknown', init);
  if (options === undefined) return { options: {}, child: { onTaskError: 'scope' } };
  checkOptionsObject(options, 'subtree(init, options)');
  checkKnownKeys(options, subtreeOptionNames, 'subtree options');
  const { name, restart, shutdownTimeout, disposeReserve } = options;
  if ((restart as unknown) === 'never')
    throw invalidArgValue('subtree options.restart', "'on-failure' or 'always': a subtree that is never rebuilt is a scope (sup.scope())", restart);
  if (name !== undefined && typeof name !== 'string') throw invalidArgType('subtree options.name', 'a string', name);
  return { options, child: { shutdownTimeout, disposeReserve, onTaskError: 'scope' } };
}
