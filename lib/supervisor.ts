/**
 * A Supervisor owns a process's concurrent work and the resources it uses, and stops all of it
 * in order.
 *
 * ## The model
 * Work is spawned into an explicit registry: each task gets its own AbortSignal and stays
 * registered from spawn until it settles, then leaves at once, so a daemon that runs millions
 * of short tasks keeps flat memory. Resources (`use`, `adopt`, `defer`) and child supervisors
 * sit on one last-in-first-out list, as in `AsyncDisposableStack`. A root supervisor listens
 * to SIGINT and SIGTERM.
 *
 * ## The guarantees
 * Shutdown (see `shutdown.ts`) is ordered between layers and concurrent within one: first every
 * task is cancelled and awaited together, then resources and children are disposed newest
 * first, each awaited, a child running its own full shutdown. One deadline bounds all of it;
 * tasks still pending at the deadline are named in the report. Every task failure and every
 * cleanup error ends up in the report, every cleanup runs exactly once, and a task's rejection
 * never becomes an `unhandledRejection`.
 *
 * ## How it differs
 * Structured-concurrency runtimes (effection, Effect) own their tasks but not the process
 * edges, and ask you to write your program in their style; exit helpers (close-with-grace,
 * terminus) own the signals but not the tasks. A Supervisor takes plain async functions and
 * AbortSignals and owns both ends, like Python's aiorun or tokio-util's `TaskTracker` with a
 * `CancellationToken`.
 *
 * @module
 */
import { debuglog } from 'node:util';
import { SupervisorClosedError, invalidArgType, loggable, summarize } from './errors.js';
import { type RestartPolicy, RestartingTask, restartPolicy, runWithRestarts } from './restart.js';
import {
  type ChildOptions,
  type ResolvedOptions,
  type SupervisorOptions,
  checkSpawnOptionKeys,
  resolveChildOptions,
  resolveRootOptions,
} from './options.js';
import { stoppedByMessage, subscribeMessages, unsubscribeMessages } from './messages.js';
import { taskSettleChannel, taskSpawnChannel } from './diagnostics.js';
import { type SupervisorTree, formatCutShort, formatTree, taskTree } from './task-tree.js';
import type { PrintBudget } from './print-budget.js';
import { asyncDisposeSymbol } from './ponyfill.js';
import { Disposer, disposerForAdopt, disposerForDefer, disposerForUse } from './resources.js';
import { type Deadline, type ShutdownCause, type ShutdownReport, type Straggler, shutdownSequence, timedOut } from './shutdown.js';
import { type SignalSubscriber, holdProcess, releaseProcess, subscribe, subscribeDump, unsubscribe, unsubscribeDump } from './signals.js';
import { agesOf } from './spawn-clock.js';
import { RUNNING, type SpawnOptions, Task, type TaskFunction, type TaskOwner, type TaskState } from './task.js';

/**
 * Where a supervisor is in its life.
 *
 * @example
 * ```ts
 * if (sup.state === 'running') sup.spawn(work);
 * ```
 */
export type SupervisorState = 'running' | 'stopping' | 'stopped';

const debug = debuglog('supervise');

/** Where tasks were spawned, kept only while spawn sites are captured, and only as long as the task lives. */
const spawnSites = new WeakMap<Task, Error>();

let lastFunction: unknown;
let lastFunctionName = '';
let lastFunctionTakesSignal = false;

const STOPPING = 1;
const STOPPED = 2;
const stateNames: readonly SupervisorState[] = ['running', 'stopping', 'stopped'];

/** How `child()` reaches the constructor without a public parameter for it. */
class ChildInit {
  constructor(
    readonly parent: Supervisor,
    readonly options: ChildOptions | undefined,
  ) {}
}

/**
 * Spawns tasks, holds resources, and shuts all of it down in order, on a signal, on a failure,
 * on `shutdown()`, or at the end of an `await using` scope.
 *
 * @example
 * ```ts
 * import { Supervisor } from 'supervise';
 * import { setTimeout as sleep } from 'node:timers/promises';
 *
 * await using sup = new Supervisor({ name: 'app' });        // SIGINT/SIGTERM shut it down
 * sup.defer(() => console.log('closed last'));
 * sup.spawn(async (signal) => {
 *   try { await sleep(60_000, undefined, { signal }); }
 *   finally { console.log('task cleaned up'); }
 * }, { name: 'sleeper' });
 * setTimeout(() => sup.shutdown(), 100);
 * const report = await sup.done;                              // task cleaned up, closed last
 * console.log(report.cancelled, report.exitCode);             // 1 0
 * ```
 */
export class Supervisor implements AsyncDisposable {
  /**
   * Resolves with the report once shutdown has finished, however it began. Never rejects.
   *
   * @example
   * ```ts
   * const report = await sup.done;   // however the shutdown began: signal, failure, shutdown()
   * ```
   */
  readonly done: Promise<ShutdownReport>;

  /** @internal */ _options: ResolvedOptions;
  /** @internal */ _parent: Supervisor | undefined;
  /** @internal */ _root: Supervisor;
  /** @internal */ _state = RUNNING;
  /** @internal Until phase 2, `spawn` and `child` work: through the drain delay and onShutdown too. */
  _acceptsWork = true;
  /** @internal The task registry: pending tasks, each knowing its index (see `taskSettled`). */
  _tasks: Task[] = [];
  /** @internal Resources, callbacks and children, newest last. */
  _disposers: Disposer[] = [];
  /** @internal How many entries of `_disposers` are children that left since the last compaction. */
  _departed = 0;
  /** @internal Set when phase 3 begins: from then on nothing more can be registered. */
  _disposing = false;
  /** @internal Failures kept for the report, in order. */
  _errors: unknown[] = [];
  /** @internal The task each kept failure came from, so disposal can tell one already delivered through `await task`. */
  _failedTasks: Map<unknown, Task> | undefined = undefined;
  /** @internal */ _controller: AbortController | undefined = undefined;
  /** @internal The abort reason of this supervisor's shutdown, once it began. */
  _reason: unknown = undefined;
  /** @internal */ _cause: ShutdownCause | undefined = undefined;
  /** @internal Resolves the shutdown's wait for the registry to empty. */
  _onDrained: (() => void) | undefined = undefined;
  /** @internal This supervisor's entry on its parent's list. */
  _entry: Disposer | undefined = undefined;
  /** @internal A listening root keeps the process alive while it has tasks. */
  _keepsProcessAlive: boolean;
  /** @internal */ _holdingProcess = false;
  /** Whether this supervisor counts as busy with its root: between `#becameBusy` and `#becameIdle`. */
  #busy = false;
  /** @internal */ _signalsReceived = 0;
  /** @internal The roots the signal that stopped this one stopped too (this one included): `run()` waits for them. */
  _stoppedWith: readonly SignalSubscriber[] | undefined = undefined;
  /** @internal On a root: how many supervisors of its tree have pending tasks. */
  _busy = 0;
  /** @internal On a root: called when no supervisor of its tree has a pending task (`run`'s `exitWhenDone`). */
  _onIdle: (() => void) | undefined = undefined;
  /** @internal Called after phase 1, before any task is cancelled (`run`'s `onShutdown`). */
  _beforeCancel: (() => unknown) | undefined = undefined;
  /** @internal On a root that `run()` was given an exit function: how to exit instead of `process.exit`. */
  _exit: ((code: number) => void) | undefined = undefined;
  /** @internal Whether spawn records where each task was spawned, for the stuck-task report. */
  _captureSpawnSites: boolean;
  /** @internal How long each phase of the last shutdown took, for `run()`'s summary line. */
  _phaseDurations: { beforeCancelMs: number; tasksMs: number; disposeMs: number } | undefined = undefined;
  /** @internal */ _children = 0;
  /** @internal The disposer phase 3 is waiting for, if any: for the printout of a forced exit, and the tree. */
  _inDisposal: { readonly name: string; readonly calledAt: number; readonly child: Supervisor | undefined } | undefined = undefined;
  /** @internal How many stuck tasks the last shutdown's bounded log left out, for `run()`'s summary line. */
  _unlisted = 0;
  /** @internal Whether the logger has thrown already: see `_log`. */
  _loggerFailed = false;
  #resolveDone!: (report: ShutdownReport) => void;

  /**
   * @param options Every option has a default; see {@link SupervisorOptions}.
   * @throws TypeError or RangeError for an option of the wrong type or value.
   */
  constructor(options?: SupervisorOptions) {
    const init = options instanceof ChildInit ? options : undefined;
    if (init !== undefined) {
      const parent = init.parent;
      this._options = resolveChildOptions(init.options, parent._options, ++parent._children);
      this._parent = parent;
      this._root = parent._root;
    } else {
      this._options = resolveRootOptions(options);
      this._parent = undefined;
      this._root = this;
    }
    this._keepsProcessAlive = this._options.signals.length > 0;
    this._captureSpawnSites = this._options.captureSpawnSites || debug.enabled;
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    if (this._options.dumpSignal !== undefined) subscribeDump(this, this._options.dumpSignal);
    if (this._keepsProcessAlive) {
      subscribe(this, this._options.signals);
      if (stoppedByMessage()) subscribeMessages(this);
    }
  }

  /**
   * The name given in the options; a child's default is `<parent>/<n>`.
   *
   * @example
   * ```ts
   * sup.child().name;   // 'supervisor/1'
   * ```
   */
  get name(): string {
    return this._options.name;
  }

  /**
   * `running`, then `stopping` from the moment shutdown begins, then `stopped`.
   *
   * @example
   * ```ts
   * sup.shutdown();
   * sup.state;   // 'stopping'
   * ```
   */
  get state(): SupervisorState {
    return stateNames[this._state] as SupervisorState;
  }

  /**
   * Pending tasks of this supervisor (not of its children).
   *
   * @example
   * ```ts
   * sup.spawn(() => sleep(100));
   * sup.size;   // 1
   * ```
   */
  get size(): number {
    return this._tasks.length;
  }

  /**
   * Aborted the moment shutdown begins, with the reason every task receives.
   *
   * @example
   * ```ts
   * app.get('/ready', (req, res) => res.status(sup.signal.aborted ? 503 : 200).end());
   * ```
   */
  get signal(): AbortSignal {
    let controller = this._controller;
    if (controller === undefined) {
      controller = this._controller = new AbortController();
      if (this._state !== RUNNING) controller.abort(this._reason);
    }
    return controller.signal;
  }

  /**
   * Runs `fn` as a task of this supervisor. `fn` receives the task's AbortSignal, which aborts
   * when the task is cancelled or the supervisor shuts down (unless `shield` is set).
   *
   * @example
   * ```ts
   * const task = sup.spawn(async (signal) => {
   *   for await (const job of queue.consume({ signal })) await handle(job);
   * }, { name: 'consumer' });
   * ```
   * @throws TypeError when `fn` is not a function or an option is of the wrong type.
   * @throws SupervisorClosedError once shutdown has begun.
   */
  spawn<T>(fn: TaskFunction<T>, options?: SpawnOptions): Task<T> {
    if (typeof fn !== 'function') throw invalidArgType('spawn(fn)', 'a function', fn);
    // A daemon spawns the same few functions over and over: remember the last one's name and
    // arity, which V8 computes on every read.
    if (fn !== lastFunction) {
      lastFunction = fn;
      lastFunctionName = fn.name;
      lastFunctionTakesSignal = fn.length > 0;
    }
    const takesSignal = lastFunctionTakesSignal;
    let name = lastFunctionName;
    let shield = false;
    let restart: RestartPolicy | undefined;
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) throw invalidArgType('spawn(fn, options): options', 'an object', options);
      checkSpawnOptionKeys(options);
      if (options.name !== undefined) {
        if (typeof options.name !== 'string') throw invalidArgType('spawn options.name', 'a string', options.name);
        name = options.name;
      }
      if (options.shield !== undefined) {
        if (typeof options.shield !== 'boolean') throw invalidArgType('spawn options.shield', 'a boolean', options.shield);
        shield = options.shield;
      }
      restart = restartPolicy(options);
    }
    if (!this._acceptsWork) throw this.#closed(`spawn task "${name || 'anonymous'}"`);

    const task = restart === undefined ? new Task<T>(this, name, shield) : new RestartingTask<T>(this, name, shield, restart);
    // Registered before `fn` runs: if `fn` starts a shutdown synchronously, the shutdown sees it.
    const tasks = this._tasks;
    task._index = tasks.length;
    tasks.push(task);
    if (tasks.length === 1) this.#becameBusy();
    if (this._captureSpawnSites) {
      const site = new Error(`task "${task.name}" was spawned here`);
      Error.captureStackTrace(site, this.spawn); // start the stack at the caller of spawn
      spawnSites.set(task, site);
    }
    if (taskSpawnChannel.hasSubscribers) taskSpawnChannel.publish({ supervisor: this, task });

    if (restart !== undefined) {
      task._track(runWithRestarts(task as RestartingTask<T>, fn, takesSignal));
      return task;
    }
    let result: T | PromiseLike<T>;
    try {
      result = takesSignal ? fn(task.signal) : (fn as () => T | PromiseLike<T>)();
    } catch (error) {
      task._settleSync(true, error);
      this.taskSettled(task, error);
      return task;
    }
    if (result instanceof Promise) task._track(result);
    else if (result !== null && (typeof result === 'object' || typeof result === 'function')) this.#settleThenable(task, result);
    else {
      task._settleSync(false, result);
      this.taskSettled(task, undefined);
    }
    return task;
  }

  /**
   * Registers a resource to dispose after the tasks, newest first: its `Symbol.asyncDispose`,
   * else its `Symbol.dispose`, looked up now. `null` and `undefined` are allowed and ignored.
   * Returns the resource, so it can wrap the expression that opens it.
   *
   * @example
   * ```ts
   * const db = sup.use(await openDatabase());   // closed after every task has stopped
   * ```
   * @throws TypeError when `resource` is not disposable.
   * @throws SupervisorClosedError once disposal has begun.
   */
  use<T extends AsyncDisposable | Disposable | null | undefined>(resource: T): T {
    const disposer = disposerForUse(resource);
    if (disposer !== undefined) this.#register(disposer, 'use a resource');
    return resource;
  }

  /**
   * Registers `onDispose(value)` to run after the tasks, newest first, for a value that is not
   * disposable itself. Returns `value`.
   *
   * @example
   * ```ts
   * const server = sup.adopt(http.createServer(app).listen(8080), (s) => new Promise((r) => s.close(r)));
   * ```
   * @throws TypeError when `onDispose` is not a function.
   * @throws SupervisorClosedError once disposal has begun.
   */
  adopt<T>(value: T, onDispose: (value: T) => unknown): T {
    const { disposer, watch } = disposerForAdopt(value, onDispose);
    this.#register(disposer, 'adopt a value');
    watch?.call(onDispose, value); // once registered: a refused adopt leaves nothing watching
    return value;
  }

  /**
   * Registers a callback to run after the tasks, newest first.
   *
   * @example
   * ```ts
   * sup.defer(() => console.log('bye'));
   * ```
   * @throws TypeError when `onDispose` is not a function.
   * @throws SupervisorClosedError once disposal has begun.
   */
  defer(onDispose: () => unknown): void {
    this.#register(disposerForDefer(onDispose), 'defer a callback');
  }

  /**
   * Creates a nested supervisor: a layer that shuts down, with its own tasks and resources, at
   * its place on this supervisor's last-in-first-out list. It inherits the options it does not
   * set, never listens to signals, and leaves the list when it is shut down on its own.
   *
   * @example
   * ```ts
   * const storage = sup.child({ name: 'storage' });   // created first, so it stops last
   * storage.spawn(flushLoop);
   * const http = sup.child({ name: 'http' });         // stops first: its tasks still see storage
   * http.spawn(serve);
   * ```
   * @throws SupervisorClosedError once shutdown has begun.
   */
  child(options?: ChildOptions): Supervisor {
    if (!this._acceptsWork) throw this.#closed('create a child supervisor');
    const child = new Supervisor(new ChildInit(this, options) as SupervisorOptions);
    const entry = new Disposer('child', child.name, child, undefined);
    child._entry = entry;
    this._disposers.push(entry);
    return child;
  }

  /**
   * What runs now: this supervisor's pending tasks (id, name, state, age, shielded) and its
   * child supervisors with theirs, as a tree. Reading it costs nothing while tasks run.
   *
   * @example
   * ```ts
   * const { tasks, children } = sup.tasks();
   * console.log(tasks.map((task) => `${task.name}: ${task.ageMs} ms`), children.length);
   * ```
   */
  tasks(): SupervisorTree {
    return taskTree(this);
  }

  /**
   * Shuts down: cancels the tasks, waits for them, then disposes resources and children newest
   * first, all within `shutdownTimeout`. Idempotent: every call returns the same report.
   * `reason` becomes every task's abort reason (default: an `AbortError`).
   *
   * @example
   * ```ts
   * const report = await sup.shutdown();
   * if (report.exitCode !== 0) console.error(report.errors, report.stragglers);
   * ```
   */
  shutdown(reason?: unknown): Promise<ShutdownReport> {
    return this._begin('shutdown', reason, undefined, Infinity);
  }

  /**
   * Shuts down, for `await using`. Rejects when the report has errors: with the error itself
   * when there is one, else with an `AggregateError` of them.
   *
   * @example
   * ```ts
   * {
   *   await using sup = new Supervisor();
   *   sup.spawn(work);
   * }   // shut down here; throws if the shutdown had errors
   * ```
   */
  async [asyncDisposeSymbol](): Promise<void> {
    const report = await this._begin('dispose', undefined, undefined, Infinity);
    // An error the code already received by awaiting its task is not thrown at it again here
    // (the runtime would wrap the same error twice in a SuppressedError); the report keeps it.
    const errors = report.errors.filter((error) => this._failedTasks?.get(error)?._observed() !== true);
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} errors during shutdown of supervisor "${this.name}"`);
  }

  /** @internal Starts the shutdown once; every later call gets the same `done`. */
  _begin(cause: ShutdownCause, reason: unknown, signal: NodeJS.Signals | undefined, deadlineAt: number, budget?: PrintBudget): Promise<ShutdownReport> {
    if (this._state === RUNNING) shutdownSequence(this, cause, reason, signal, deadlineAt, budget).then(this.#resolveDone);
    return this.done;
  }

  /** @internal A parent's phase 3 reached this child: its report, or undefined if it missed the parent's deadline. */
  async _shutdownFromParent(reason: unknown, signal: NodeJS.Signals | undefined, deadline: Deadline, budget: PrintBudget): Promise<ShutdownReport | undefined> {
    // Started here, the child's own deadline is no later than the parent's, so it always reports
    // in time; and its stuck-task log shares the parent's bound.
    if (this._state === RUNNING) return this._begin('parent', reason, signal, deadline.at, budget);
    const report = await deadline.race(this.done);
    return report === timedOut ? undefined : report;
  }

  /** @internal Phase 1. Returns the abort reason all tasks will share. */
  _beginStopping(cause: ShutdownCause, reason: unknown, signal: NodeJS.Signals | undefined): unknown {
    this._state = STOPPING;
    this._cause = cause;
    if (reason === undefined || cause === 'error') {
      const why =
        cause === 'signal' ? `received ${signal}`
        : cause === 'message' ? "received a 'shutdown' message"
        : cause === 'error' ? 'a task failed'
        : cause === 'parent' ? 'its parent is shutting down'
        : 'shutdown was requested';
      reason = new DOMException(`Supervisor "${this.name}" is shutting down: ${why}`, {
        name: 'AbortError',
        ...(cause === 'error' ? { cause: reason } : {}),
      });
    }
    this._reason = reason;
    this._controller?.abort(reason);
    return reason;
  }

  /** @internal Phase 2: aborts every unshielded task not yet cancelled; returns how many. */
  _cancelTasks(reason: unknown): number {
    let count = 0;
    // Aborting runs listeners synchronously, but a task only settles (and leaves this array) in a
    // later microtask, so the array does not change under this loop.
    for (const task of this._tasks) {
      if (task._cancellable()) {
        task._abort(reason);
        count++;
      }
    }
    return count;
  }

  /** @internal Resolves when no task is pending. */
  _drained(): Promise<void> {
    return this._tasks.length === 0 ? Promise.resolve() : new Promise((resolve) => (this._onDrained = resolve));
  }

  /** @internal The tasks still pending, oldest first. */
  _pendingTasks(): Straggler[] {
    // Oldest first. The registry is in spawn order but for the holes settled tasks left, filled
    // from its end: sorting an array that is mostly in order is close to one pass.
    const tasks = this._tasks.slice();
    let sorted = true;
    for (let i = 1; i < tasks.length && sorted; i++) sorted = (tasks[i - 1] as Task).id < (tasks[i] as Task).id;
    if (!sorted) tasks.sort((a, b) => a.id - b.id);
    const ids = new Float64Array(tasks.length);
    for (let i = 0; i < tasks.length; i++) ids[i] = (tasks[i] as Task).id;
    const ages = agesOf(ids, performance.now());
    const list = new Array<Straggler>(tasks.length);
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i] as Task;
      list[i] = { id: task.id, name: task.name, ageMs: ages[i] as number };
    }
    return list;
  }


  /** @internal Phase 4. */
  _stopped(): void {
    this._state = STOPPED;
    this._keepsProcessAlive = false;
    if (this._holdingProcess) {
      this._holdingProcess = false;
      releaseProcess();
    }
    if (this._options.signals.length > 0) {
      unsubscribe(this, this._options.signals);
      unsubscribeMessages(this);
    }
    if (this._options.dumpSignal !== undefined) unsubscribeDump(this, this._options.dumpSignal);
    // Stopped on its own: leave the parent's list so per-request children do not pile up.
    const parent = this._parent;
    const entry = this._entry;
    if (parent !== undefined && entry !== undefined && entry.listed) {
      entry.listed = false;
      parent._childLeft();
      // The parent will not dispose this child, so it will not collect its report: while the
      // parent is shutting down (this child's failure may be why), its errors go up now, or
      // they would be missing from the report of the shutdown they caused.
      if (parent._state !== RUNNING && parent._state !== STOPPED) for (const error of this._errors) parent._errors.push(error);
    }
    this._entry = undefined;
  }

  /**
   * @internal A child left the list on its own. The list is compacted once more than half of it
   * has left: each departure costs O(1) amortized, however many children come and go.
   */
  _childLeft(): void {
    this._departed++;
    const disposers = this._disposers;
    // The usual case, a scope that ends before anything is registered after it: it was the last.
    while (disposers.length > 0 && !(disposers.at(-1) as Disposer).listed) {
      disposers.pop();
      this._departed--;
    }
    if (this._departed <= 32 || this._departed * 2 <= disposers.length) return;
    this._disposers = disposers.filter((disposer) => disposer.listed);
    this._departed = 0;
  }


  /** @internal Called by a task once it has settled (its state is already final). */
  taskSettled(task: Task, error: unknown): void {
    // The registry is an array: a settled task leaves by taking the last one's place.
    const tasks = this._tasks;
    const index = task._index;
    const last = tasks.pop() as Task;
    if (last !== task) {
      tasks[index] = last;
      last._index = index;
    }
    task._index = -1;
    if (taskSettleChannel.hasSubscribers) publishSettle(this, task, error);
    // The failure first: becoming idle can finish a shutdown (exitWhenDone), which must not
    // happen before the error it was started for, or would have to report, is recorded.
    if (task._failed()) this.#taskFailed(task, error);
    if (tasks.length === 0) this.#becameIdle();
  }

  /**
   * A result that may be a thenable of any shape (a callable one too), treated as `await` does:
   * `then` is read once, and a getter that throws, or a `then` that throws, rejects the task.
   */
  #settleThenable(task: Task, result: object): void {
    let then: unknown;
    try {
      then = (result as { then?: unknown }).then;
    } catch (error) {
      task._settleSync(true, error);
      this.taskSettled(task, error);
      return;
    }
    if (typeof then !== 'function') {
      task._settleSync(false, result);
      this.taskSettled(task, undefined);
      return;
    }
    task._track(new Promise((resolve, reject) => (then as (onFulfilled: unknown, onRejected: unknown) => unknown).call(result, resolve, reject)));
  }

  #keepTaskOf(error: unknown, task: Task): void {
    (this._failedTasks ??= new Map()).set(error, task);
  }

  /**
   * The registry went from empty to one task. Once only until it is idle again: a settle
   * subscriber can spawn while the registry is empty in the middle of `taskSettled`.
   */
  #becameBusy(): void {
    if (this.#busy) return;
    this.#busy = true;
    if (this._keepsProcessAlive) {
      this._holdingProcess = true;
      holdProcess();
    }
    this._root._busy++;
  }

  /** The registry emptied: release the process, end the shutdown's wait, tell the root. */
  #becameIdle(): void {
    if (!this.#busy) return;
    this.#busy = false;
    if (this._holdingProcess) {
      this._holdingProcess = false;
      releaseProcess();
    }
    const onDrained = this._onDrained;
    if (onDrained !== undefined) {
      this._onDrained = undefined;
      onDrained();
    }
    const root = this._root;
    if (--root._busy === 0) root._onIdle?.();
  }

  /**
   * @internal Every log line goes through here: a logger is user code, and a logger that throws
   * must not change what a shutdown does. Its first failure is kept for the report (exit code 1:
   * the process lost its log); later ones, most likely the same fault, are dropped.
   */
  _log(level: 'warn' | 'error', ...data: unknown[]): void {
    const logger = this._options.logger;
    if (logger === undefined) return;
    try {
      logger[level](...data);
    } catch (error) {
      if (this._loggerFailed) return;
      this._loggerFailed = true;
      this._errors.push(error);
    }
  }

  /** @internal The dump signal arrived: print the whole tree to stderr, stopping nothing. */
  receiveDump(): void {
    process.stderr.write(`${formatTree(this.tasks())}\n`);
  }

  /** @internal The process listener's entry point: returns true to force the process to exit. */
  receiveSignal(signal: NodeJS.Signals, stopped: SignalSubscriber[]): boolean {
    const count = ++this._signalsReceived;
    if (this._state === RUNNING) {
      stopped.push(this);
      this._stoppedWith = stopped;
      const hint = this._options.forceOnSecondSignal && process.stderr.isTTY ? ` (${signal === 'SIGINT' ? 'press Ctrl-C' : `send ${signal}`} again to exit at once)` : '';
      this._log('warn', `supervise: received ${signal}, shutting down "${this.name}"${hint}`);
      this._begin('signal', undefined, signal, Infinity);
      return false;
    }
    if (count >= 2 && this._options.forceOnSecondSignal) {
      this._log('warn', `supervise: received ${signal} again during shutdown of "${this.name}", exiting at once${formatCutShort(this)}`);
      return true;
    }
    this._log('warn', `supervise: received ${signal}; "${this.name}" is already shutting down${this._options.forceOnSecondSignal ? ', send it again to exit at once' : ''}`);
    return false;
  }

  /** @internal A forced second signal: exit at once. */
  exitNow(code: number): void {
    if (this._exit === undefined) process.exit(code);
    this._exit(code);
  }

  /** Applies `onTaskError` to a task that rejected with something other than its cancellation. */
  #taskFailed(task: Task, error: unknown): void {
    const { onTaskError } = this._options;
    if (this._state === STOPPED) {
      this._log('error', `supervise: task "${task.name}" of "${this.name}" failed after its shutdown finished:`, loggable(error));
      return;
    }
    const stopping = this._state !== RUNNING;
    if (onTaskError === 'shutdown') {
      this.#keepTaskOf(error, task);
      this._recordFailure(error, `task "${task.name}" failed`);
    } else if (onTaskError === 'ignore') {
      if (stopping) (this._errors.push(error), this.#keepTaskOf(error, task));
      else this._log('error', `supervise: task "${task.name}" of "${this.name}" failed (ignored):`, loggable(error));
    } else {
      if (stopping) (this._errors.push(error), this.#keepTaskOf(error, task));
      try {
        onTaskError(error, task);
      } catch (callbackError) {
        this._recordFailure(callbackError, 'onTaskError threw');
      }
    }
  }

  /**
   * @internal Keeps `error` for the report and, while running, shuts down the whole tree: the
   * root, whose shutdown reaches this supervisor in turn.
   */
  _recordFailure(error: unknown, what: string): void {
    this._errors.push(error);
    const root = this._root;
    if (this._state !== RUNNING || root._state !== RUNNING) return;
    this._log('error', `supervise: ${what} in "${this.name}" (${summarize(error)}); shutting down "${root.name}"`);
    root._begin('error', error, undefined, Infinity);
  }

  /**
   * @internal The stacks of the spawn calls of the pending tasks, by task id, when spawn sites
   * are captured: one pass over the registry, however many tasks are stuck.
   */
  _spawnSites(ids: ReadonlySet<number>): Map<number, string> {
    const sites = new Map<number, string>();
    if (!this._captureSpawnSites || ids.size === 0) return sites;
    for (const task of this._tasks) {
      if (!ids.has(task.id)) continue;
      const stack = spawnSites.get(task)?.stack;
      if (stack === undefined) continue;
      // The caller's frames: supervise's own (run() spawning main, say) say nothing about who spawned it.
      const frames = stack.split('\n').slice(1).filter((frame) => !frame.includes(ownDirectory));
      sites.set(task.id, frames.join('\n'));
    }
    return sites;
  }

  #register(disposer: Disposer, what: string): void {
    if (this._disposing) throw this.#closed(what);
    this._disposers.push(disposer);
  }

  #closed(what: string): SupervisorClosedError {
    return new SupervisorClosedError(
      `Cannot ${what}: supervisor "${this.name}" is ${this.state} (shutdown cause: ${this._cause ?? 'none'})`,
    );
  }
}

/** Where supervise's own modules are, to leave their frames out of a spawn site. */
const ownDirectory = new URL('./', import.meta.url).href;

function publishSettle(supervisor: Supervisor, task: Task, error: unknown): void {
  const state = task.state as Exclude<TaskState, 'running'>;
  taskSettleChannel.publish({ supervisor, task, state, error, durationMs: task._age(performance.now()) });
}


