/**
 * A Task is the handle `spawn` returns: a PromiseLike of the function's result that also names
 * the work, tells its state and can cancel it.
 *
 * The handle is the task's only per-task object besides the two bound handlers that watch its
 * promise. It sits in its supervisor's registry array and knows its index there (no Map or Set
 * entry; leaving is a swap with the last task), its AbortController is created only when someone
 * can read the signal (the function declares a parameter, or `task.signal` is read), and a task
 * that settles synchronously leaves the registry before `spawn` returns. That keeps spawn,
 * settle and shutdown close to the cost of the promises themselves.
 *
 * @module
 */
import { ageOf, noteSpawn } from './spawn-clock.js';
import type { TaskFunction } from './spawn-options.js';

/**
 * Where a task is in its life. `cancelled`: it was cancelled and ended by rejecting with its abort reason or an `AbortError`.
 *
 * @example
 * ```ts
 * const task = sup.spawn(work);
 * task.cancel();
 * await Promise.resolve(task).catch(() => {});
 * console.log(task.state); // 'cancelled' if work rejected with its abort reason
 * ```
 */
export type TaskState = 'running' | 'fulfilled' | 'rejected' | 'cancelled';

/** @internal What a task reports to the supervisor that owns it. */
export interface TaskOwner {
  taskSettled(task: Task, error: unknown): void;
}

/**
 * @internal A task's state and flags share one small integer: the low two bits are the state,
 * an index into `stateNames`; the others are flags. One field instead of four keeps the handle,
 * the only per-task object, small.
 */
export const RUNNING = 0;
/** @internal */ export const FULFILLED = 1;
/** @internal */ export const REJECTED = 2;
/** @internal */ export const CANCELLED = 3;
const STATE = 3;
const SHIELD = 4;
/** `_cancel` holds the abort reason, or the controller once one exists. */
const CANCEL_REQUESTED = 8;
/** `_cancel` holds an AbortController. */
const HAS_CONTROLLER = 16;
/** The task settled synchronously: `_result` is its value or error, not a promise. */
const SETTLED_SYNC = 32;
/** Waiting to restart: shutdown cancels it even when shielded, since no work runs. */
const BACKOFF = 64;
/** Someone attached a rejection handler: a failure reaches them through `then`. */
const OBSERVED = 128;
const stateNames: readonly TaskState[] = ['running', 'fulfilled', 'rejected', 'cancelled'];

let lastId = 0;

/** @internal Ids are unique in the process, across supervisors, tasks and resources. */
export function nextId(): number {
  return ++lastId;
}

/**
 * A spawned unit of work.
 *
 * Await it for the function's result. A task's rejection never becomes an `unhandledRejection`:
 * its supervisor always observes it, and reports it according to `onTaskError`.
 *
 * @example
 * ```ts
 * import { Supervisor } from 'supervise';
 * const sup = new Supervisor({ signals: false });
 * const task = sup.spawn(async (signal) => {
 *   await new Promise((resolve) => signal.addEventListener('abort', resolve));
 *   return 'stopped cleanly';
 * }, { name: 'poller' });
 * console.log(task.name, task.state); // poller running
 * task.cancel();
 * console.log(await task, task.state); // stopped cleanly fulfilled
 * await sup.shutdown();
 * ```
 */
export class Task<T = unknown> implements PromiseLike<T> {
  /** Unique in the process; increasing in spawn order. */
  readonly id: number;
  /** @internal */ _owner: TaskOwner;
  /** @internal */ _name: string;
  /** @internal State and flags (see the constants above). */
  _flags: number;
  /** @internal The function's promise; for a task that settled synchronously, its value or error. */
  _result: unknown = undefined;
  /** @internal The AbortController once the signal was read; before that, the abort reason once cancelled. */
  _cancel: unknown = undefined;
  /**
   * @internal The registry's slot on the task, not the task's own state: where it sits in its
   * registry's array, -1 once it has left. Only `registry.ts` reads or writes it; kept here so a
   * task needs no Map entry and leaving is a swap (an intrusive index, as a linked list's node).
   */
  _index = -1;

  /** @internal Tasks are made by `Supervisor.spawn`. */
  constructor(owner: TaskOwner, name: string, shield: boolean) {
    this.id = nextId();
    this._owner = owner;
    this._name = name;
    this._flags = shield ? SHIELD : 0;
    noteSpawn(this.id);
  }

  /**
   * The name given to `spawn`, else the function's name, else `task-<id>`.
   *
   * @example
   * ```ts
   * sup.spawn(async function poller() {}).name;   // 'poller'
   * ```
   */
  get name(): string {
    return this._name || `task-${this.id}`;
  }

  /**
   * Where the task is in its life.
   *
   * @example
   * ```ts
   * const task = sup.spawn(() => 42);
   * task.state;   // 'fulfilled'
   * ```
   */
  get state(): TaskState {
    return stateNames[this._flags & STATE] as TaskState;
  }

  /**
   * Whether shutdown leaves this task's signal alone (it still waits for the task).
   *
   * @example
   * ```ts
   * sup.spawn(flush, { shield: true }).shielded;   // true
   * ```
   */
  get shielded(): boolean {
    return (this._flags & SHIELD) !== 0;
  }

  /**
   * How many times a restart policy has started the function again (see `spawn`'s `restart`),
   * a sibling's failure under a supervisor's `strategy` included.
   *
   * @example
   * ```ts
   * const task = sup.spawn(consume, { restart: 'on-failure' });
   * setInterval(() => metrics.gauge('consumer_restarts', task.restarts), 10_000);
   * ```
   */
  get restarts(): number {
    return 0;
  }

  /**
   * Aborted when the task is cancelled or, unless shielded, when its supervisor shuts down.
   * Reading it is what creates it, for a function that declared no parameter.
   *
   * @example
   * ```ts
   * const task = sup.spawn(async () => {});
   * task.signal.aborted;   // false, until cancel() or shutdown
   * ```
   */
  get signal(): AbortSignal {
    const flags = this._flags;
    if ((flags & HAS_CONTROLLER) !== 0) return (this._cancel as AbortController).signal;
    const controller = new AbortController();
    if ((flags & CANCEL_REQUESTED) !== 0) controller.abort(this._cancel);
    this._cancel = controller;
    this._flags = flags | HAS_CONTROLLER;
    return controller.signal;
  }

  /**
   * Aborts this task's signal with `reason` (default: an `AbortError` naming the task). The task
   * decides how to stop; when it ends by rejecting with that reason or any `AbortError`, its
   * state is `cancelled`, which is not an error. Does nothing once the task has settled or been
   * cancelled.
   *
   * @example
   * ```ts
   * const download = sup.spawn((signal) => fetch(url, { signal }));
   * setTimeout(() => download.cancel(), 5_000);
   * ```
   */
  cancel(reason?: unknown): void {
    if ((this._flags & (STATE | CANCEL_REQUESTED)) !== RUNNING) return;
    this._abort(reason === undefined ? new DOMException(`Task "${this.name}" was cancelled`, 'AbortError') : reason);
  }

  /**
   * Attaches callbacks for the task's result, like `Promise.prototype.then`.
   *
   * @example
   * ```ts
   * const rows = await sup.spawn((signal) => db.query(sql, { signal }));
   * ```
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    let flags = this._flags;
    if ((flags & SETTLED_SYNC) !== 0) {
      // A promise made on first use only: a synchronous task that nobody awaits costs none.
      this._result = (flags & STATE) === FULFILLED ? Promise.resolve(this._result as T) : Promise.reject(this._result);
      flags &= ~SETTLED_SYNC;
    }
    this._flags = typeof onrejected === 'function' ? flags | OBSERVED : flags;
    return (this._result as Promise<T>).then(onfulfilled, onrejected);
  }

  /** @internal Whether shutdown should abort this task: not cancelled yet, and unshielded or waiting to restart. */
  _cancellable(): boolean {
    const flags = this._flags;
    return (flags & (SHIELD | CANCEL_REQUESTED)) === 0 || (flags & (BACKOFF | CANCEL_REQUESTED)) === BACKOFF;
  }

  /** @internal Whether `cancel()` or a shutdown has aborted this task. */
  _cancelRequested(): boolean {
    return (this._flags & CANCEL_REQUESTED) !== 0;
  }

  /** @internal For a restart: aborts the last run's signal, if it was made, and clears it, so the next run gets a fresh one. */
  _retireSignal(reason: unknown): void {
    const flags = this._flags;
    if ((flags & HAS_CONTROLLER) === 0) return;
    const controller = this._cancel as AbortController;
    // Detached before it aborts: a listener that cancels the task (or shuts its supervisor down)
    // cancels the next signal, with its reason; a cancel that came before keeps its reason too.
    this._cancel = (flags & CANCEL_REQUESTED) !== 0 ? controller.signal.reason : undefined;
    this._flags = flags & ~HAS_CONTROLLER;
    controller.abort(reason);
  }

  /** @internal A restart policy's wait between runs begins or ends. */
  _setBackoff(waiting: boolean): void {
    this._flags = waiting ? this._flags | BACKOFF : this._flags & ~BACKOFF;
  }

  /** @internal Cancels with a reason the caller owns; shutdown passes one shared object to every task. */
  _abort(reason: unknown): void {
    const flags = this._flags;
    this._flags = flags | CANCEL_REQUESTED;
    if ((flags & HAS_CONTROLLER) !== 0) (this._cancel as AbortController).abort(reason);
    else this._cancel = reason;
  }

  /** @internal Runs `fn` as this task's function and settles as `await` would on its result. */
  _run(fn: TaskFunction<T>, takesSignal: boolean): void {
    let result: T | PromiseLike<T>;
    try {
      result = takesSignal ? fn(this.signal) : (fn as () => T | PromiseLike<T>)();
    } catch (error) {
      this._settleNow(true, error);
      return;
    }
    if (result instanceof Promise) this._track(result);
    else if (result !== null && (typeof result === 'object' || typeof result === 'function')) settleThenable(this, result);
    else this._settleNow(false, result);
  }

  /** @internal The function returned a promise: settle when it does. */
  _track(promise: Promise<T>): void {
    this._result = promise;
    watch(this, promise);
  }

  /** @internal The function returned (not a promise) or threw. */
  _settleNow(failed: boolean, outcome: unknown): void {
    this._result = outcome;
    this._flags = (this._flags & ~STATE) | SETTLED_SYNC | (failed ? this._stateOnRejection(outcome) : FULFILLED);
    this._owner.taskSettled(this, failed ? outcome : undefined);
  }

  /** @internal Whether a rejection handler was attached (`await task` attaches one): its failure was delivered there. */
  _observed(): boolean {
    return (this._flags & OBSERVED) !== 0;
  }

  /** @internal Whether the task ended in failure: rejected with something other than its cancellation. */
  _failed(): boolean {
    return (this._flags & STATE) === REJECTED;
  }

  /** @internal Milliseconds since spawn, for the stuck-task report. */
  _age(now: number): number {
    return ageOf(this.id, now);
  }

  /** @internal How a rejection ends the task: a cancelled task that rejects with its reason or an AbortError was cancelled. */
  _stateOnRejection(error: unknown): number {
    const flags = this._flags;
    if ((flags & CANCEL_REQUESTED) === 0) return REJECTED;
    const reason = (flags & HAS_CONTROLLER) !== 0 ? (this._cancel as AbortController).signal.reason : this._cancel;
    return error === reason || isAbortError(error) ? CANCELLED : REJECTED;
  }

  /** Shows id, name and state in `console.log` and `util.inspect`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const restarts = this.restarts;
    return `Task { id: ${this.id}, name: ${JSON.stringify(this.name)}, state: '${this.state}'${this.shielded ? ', shielded' : ''}${restarts > 0 ? `, restarts: ${restarts}` : ''} }`;
  }
}

/** @internal Whether `error` is an `AbortError`, read without ever throwing. */
export function isAbortError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  try {
    return (error as { name?: unknown }).name === 'AbortError';
  } catch {
    return false; // a throwing `name` getter, a revoked Proxy: not a cancellation, and kept as thrown
  }
}

/** Settles `task` once its function's promise settles: the only per-task functions supervise makes. */
function watch(task: Task, promise: Promise<unknown>): void {
  // Bound handlers, not arrows: no closure context, and fewer bytes for young-generation GC.
  promise.then(fulfilled.bind(task), rejected.bind(task));
}

function fulfilled(this: Task): void {
  this._flags = (this._flags & ~STATE) | FULFILLED;
  this._owner.taskSettled(this, undefined);
}

function rejected(this: Task, error: unknown): void {
  this._flags = (this._flags & ~STATE) | this._stateOnRejection(error);
  this._owner.taskSettled(this, error);
}

/**
 * A result that may be a thenable of any shape (a callable one too), treated as `await` does:
 * `then` is read once, and a getter that throws, or a `then` that throws, rejects the task.
 */
function settleThenable(task: Task, result: object): void {
  let then: unknown;
  try {
    then = (result as { then?: unknown }).then;
  } catch (error) {
    task._settleNow(true, error);
    return;
  }
  if (typeof then !== 'function') {
    task._settleNow(false, result);
    return;
  }
  task._track(new Promise((resolve, reject) => (then as (onFulfilled: unknown, onRejected: unknown) => unknown).call(result, resolve, reject)));
}
