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
import type { InDisposal, RunHooks, SupervisorCore } from './core.js';
import { taskFailed } from './failure-policy.js';
import { CANCELLING, DISPOSING, Lifecycle, RUNNING, STOPPED, type SupervisorState, stateOf } from './lifecycle.js';
import {
  type ChildOptions,
  type ResolvedOptions,
  type ScopeOptions,
  type SupervisorOptions,
  resolveChildOptions,
  resolveRootOptions,
  scopeOptions,
} from './options.js';
import { asyncDisposeSymbol } from './ponyfill.js';
import type { PrintBudget } from './print-budget.js';
import type { ShutdownCause, ShutdownReport } from './report.js';
import { Disposer, DisposerList, disposerForAdopt, disposerForDefer, disposerForUse } from './resources.js';
import { TaskRegistry } from './registry.js';
import type { RestartCoordinator } from './restart.js';
import { restartCoordinatorFor } from './restart-strategy.js';
import { RootListener } from './root-listener.js';
import { leaveParent, shutdownSequence } from './shutdown.js';
import type { SpawnOptions, TaskFunction } from './spawn-options.js';
import { type Subtree, type SubtreeOptions, SubtreeTask, checkSubtree } from './subtree.js';
import { type SupervisorTree, taskTree } from './task-tree.js';
import type { Task } from './task.js';

export type { SupervisorState } from './lifecycle.js';

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
  /** @internal */ readonly _options: ResolvedOptions;
  /** @internal */ readonly _parent: Supervisor | undefined;
  /** @internal */ readonly _root: Supervisor;
  /** @internal Its phase (the one lifecycle field), its errors and `done`. */
  readonly _life = new Lifecycle();
  /** @internal The pending tasks. */
  readonly _registry = new TaskRegistry(this);
  /** @internal Resources, callbacks and children, newest last. */
  readonly _resources = new DisposerList();
  /** @internal What phase 3 is waiting for, if anything. */
  _inDisposal: InDisposal | undefined = undefined;
  /** @internal `run()`'s additions, on the root it makes. */
  _hooks: RunHooks | undefined = undefined;
  /** @internal Signals, messages and the keep-alive hold, for a root that listens. */
  readonly _listener: RootListener | undefined;
  /** @internal Its entry on its parent's list, for a child. */
  _entry: Disposer | undefined = undefined;
  /** @internal Whether its owner asked for its report (see `leaveParent`). */
  _collected = false;
  /** On a root: how many supervisors of its tree have pending tasks. */
  #busyInTree = 0;
  #children = 0;
  /** Its strategy and restart intensity at work: made on the first restart that needs them (see `_restartCoordinator`). */
  #restartCoordinator: RestartCoordinator | undefined = undefined;
  /** The parent of the supervisor being constructed by `child()`, and its options: children have no public constructor. */
  static #childOf: { readonly parent: Supervisor; readonly options: ChildOptions | undefined } | undefined;

  /**
   * @param options Every option has a default; see {@link SupervisorOptions}.
   * @throws TypeError or RangeError for an option of the wrong type or value.
   */
  constructor(options?: SupervisorOptions) {
    const init = Supervisor.#childOf;
    Supervisor.#childOf = undefined;
    if (init !== undefined) {
      const parent = init.parent;
      this._options = resolveChildOptions(init.options, parent._options, ++parent.#children);
      this._parent = parent;
      this._root = parent._root;
      this._listener = undefined;
    } else {
      this._options = resolveRootOptions(options);
      this._parent = undefined;
      this._root = this;
      this._listener = this._options.signals.length > 0 || this._options.dumpSignal !== undefined ? new RootListener(this) : undefined;
    }
  }

  /**
   * Resolves with the report once shutdown has finished, however it began. Never rejects.
   * Reading it collects a scope's failure (see `scope()`).
   *
   * @example
   * ```ts
   * const report = await sup.done;   // however the shutdown began: signal, failure, shutdown()
   * ```
   */
  get done(): Promise<ShutdownReport> {
    this.#collect();
    return this._life.done;
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
    return stateOf(this._life.phase);
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
    return this._registry.tasks.length;
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
    return this._life.signal;
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
   * @throws SupervisorClosedError from the `cancelling` phase of shutdown on (after the drain delay and `onShutdown`).
   */
  spawn<T>(fn: TaskFunction<T>, options?: SpawnOptions): Task<T> {
    return this._registry.spawn(fn, options, this.spawn);
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
   * @throws SupervisorClosedError from the `disposing` phase of shutdown on.
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
   * @throws SupervisorClosedError from the `disposing` phase of shutdown on.
   */
  adopt<T>(value: T, onDispose: (value: T) => unknown): T {
    const { disposer, watch } = disposerForAdopt(value, onDispose);
    this.#register(disposer, 'adopt a value');
    watch?.call(onDispose, value); // once registered: a refused adopt leaves nothing watching
    return value;
  }

  /**
   * @internal `adopt`, but disposed after everything else on the list, whenever that was
   * registered: what must outlast the rest of the shutdown (the health probe server, which
   * answers until the other resources have closed).
   */
  _adoptLast<T>(value: T, onDispose: (value: T) => unknown, what: string): T {
    if (this._life.phase >= DISPOSING) throw this._life.refusal(this.name, what);
    this._resources.addLast(disposerForAdopt(value, onDispose).disposer);
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
   * @throws SupervisorClosedError from the `disposing` phase of shutdown on.
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
   * const web = sup.child({ name: 'web' });           // stops first: its tasks still see storage
   * web.spawn(work);
   * ```
   * @throws SupervisorClosedError from the `cancelling` phase of shutdown on.
   */
  child(options?: ChildOptions): Supervisor {
    if (this._life.phase >= CANCELLING) throw this._life.refusal(this.name, 'create a child supervisor');
    Supervisor.#childOf = { parent: this, options };
    const child = new Supervisor();
    const entry = new Disposer('child', child.name, child, undefined);
    child._entry = entry;
    this._resources.add(entry);
    return child;
  }

  /**
   * Creates a request scope: a child supervisor (see `child()`) whose failures stay in it. A
   * task that fails cancels the scope's other tasks and shuts the scope down, resources last in
   * first out, and the error goes to the code that owns the scope: `[Symbol.asyncDispose]`
   * rejects with it, `shutdown()` and `done` report it. This supervisor keeps running. A scope
   * that stopped itself on a failure stays on this supervisor's list until its owner collects it
   * (calls `shutdown()` or `[Symbol.asyncDispose]`, or reads `done`); if this supervisor shuts
   * down first, the error is in its report. It is `child({ onTaskError: 'scope' })`.
   *
   * @example
   * ```ts
   * server.on('request', async (req, res) => {
   *   await using scope = sup.scope({ name: 'request' });   // one failed lookup fails this request, not the daemon
   *   const [user, cart] = await Promise.all([scope.spawn(loadUser), scope.spawn(loadCart)]);
   *   res.end(JSON.stringify({ user, cart }));
   * });
   * ```
   * @throws TypeError when `options` sets `onTaskError`, or for an option of the wrong type or value.
   * @throws SupervisorClosedError from the `cancelling` phase of shutdown on.
   */
  scope(options?: ScopeOptions): Supervisor {
    return this.child(scopeOptions(options));
  }

  /**
   * Runs a restartable subtree: `init` builds it on a fresh child supervisor (a scope), opening
   * its resources and spawning its tasks. A failure in it (a task, `init`, or a disposer while it
   * shuts down) shuts the whole subtree down, tasks then resources last in first out, and after
   * the backoff `init` runs again on a new child. Restarts follow a task's policy (`restart`,
   * default `'on-failure'`, `maxRestarts`, `within`, `backoff`); giving up hands the last error
   * to this supervisor's `onTaskError`. To this supervisor it is a layer: it keeps its place on
   * the last-in-first-out list across restarts, and nothing restarts once shutdown has begun.
   * The handle is a Task: `restarts`, `state`, `cancel()` to end it, and `supervisor`, the child
   * running now.
   *
   * @example
   * ```ts
   * const db = sup.subtree(async (scope) => {
   *   const conn = scope.use(await openDatabase());
   *   scope.spawn((signal) => conn.query('LISTEN jobs', { signal }), { name: 'listener' });
   * }, { name: 'db', restart: 'on-failure', maxRestarts: 3, within: 60_000, backoff: { initialMs: 200 } });
   * ```
   * @throws TypeError when `init` is not a function, or for an option of the wrong type or value.
   * @throws SupervisorClosedError from the `cancelling` phase of shutdown on.
   */
  subtree(init: (scope: Supervisor) => unknown, options?: SubtreeOptions): Subtree<Supervisor> {
    const checked = checkSubtree(init, options);
    if (this._life.phase >= CANCELLING) throw this._life.refusal(this.name, 'start a subtree');
    const name = checked.options.name ?? `${this.name}/${this.#children + 1}`;
    const child = { ...checked.child, name };
    resolveChildOptions(child, this._options, 0); // checked at this call, not at the first incarnation's
    const subtree = new SubtreeTask<Supervisor>(name, checked.options, this, () => this.#incarnation(child), init);
    const entry = new Disposer('subtree', name, subtree, undefined);
    subtree._entry = entry;
    this._resources.add(entry);
    subtree._run((signal) => subtree._incarnation(signal), true);
    return subtree;
  }

  /** A subtree's next incarnation: a child of this supervisor that the subtree's entry holds the place of. */
  #incarnation(options: ChildOptions): Supervisor {
    Supervisor.#childOf = { parent: this, options };
    return new Supervisor();
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
    this.#collect();
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
    this.#collect();
    const report = await this._begin('dispose', undefined, undefined, Infinity);
    // An error the code already received by awaiting its task is not thrown at it again here
    // (the runtime would wrap the same error twice in a SuppressedError); the report keeps it.
    const errors = this._life.undelivered(report.errors);
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} errors during shutdown of supervisor "${this.name}"`);
  }

  /**
   * @internal Whether `value` is a Supervisor this class constructed: a brand check, which a
   * Proxy of one, an object made from the prototype or a look-alike fails, and which runs no
   * trap or getter of `value`.
   */
  static _is(value: unknown): value is Supervisor {
    return typeof value === 'object' && value !== null && #children in value;
  }

  /** @internal Starts the shutdown once; every later call gets the same `done`. */
  _begin(cause: ShutdownCause, reason: unknown, signal: NodeJS.Signals | undefined, deadlineAt: number, budget?: PrintBudget): Promise<ShutdownReport> {
    if (this._life.phase === RUNNING) void shutdownSequence(this, cause, reason, signal, deadlineAt, budget).then((report) => this._life.finish(report));
    return this._life.done;
  }

  /** @internal What phase 3 waits for now. */
  _waitingFor(disposal: InDisposal | undefined): void {
    this._inDisposal = disposal;
  }

  /** @internal `run()` makes this root its own: its hooks, set once, before anything runs. */
  _attachRun(hooks: RunHooks): void {
    this._hooks = hooks;
  }

  /** @internal Every log line goes through here, guarded: see `Lifecycle.log`. */
  _log(level: 'warn' | 'error', ...data: unknown[]): void {
    this._life.log(this._options.logger, level, data);
  }

  /** The owner asks for the report: a scope that stopped itself on a failure may leave its parent's list now. */
  #collect(): void {
    if (this._collected) return;
    this._collected = true;
    if (this._life.phase === STOPPED) leaveParent(this);
  }

  #register(disposer: Disposer, what: string): void {
    if (this._life.phase >= DISPOSING) throw this._life.refusal(this.name, what);
    this._resources.add(disposer);
  }

  /**
   * @internal How its tasks restart together: undefined with the defaults (one-for-one, no
   * restart intensity), so a restart takes the plain path and nothing is made for it.
   */
  _restartCoordinator(): RestartCoordinator | undefined {
    return this.#restartCoordinator ?? (this.#restartCoordinator = restartCoordinatorFor(this));
  }

  /** @internal The registry's news: a task failed. */
  _taskFailed(task: Task, error: unknown): void {
    taskFailed(this, task, error);
  }

  /** @internal The registry's news: it went busy, or idle. Keeps the process alive; tells the root, for `exitWhenDone`. */
  _busyChanged(busy: boolean): void {
    const root = this._root;
    if (busy) {
      this._listener?.hold();
      root.#busyInTree++;
      return;
    }
    this._listener?.release();
    if (--root.#busyInTree === 0) root._hooks?.onIdle?.();
  }
}

/** Checked at build time: the class is what the modules below it take it for. */
const _isCore: (sup: Supervisor) => SupervisorCore = (sup) => sup;
