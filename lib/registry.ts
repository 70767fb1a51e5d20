/**
 * The task registry: a supervisor's pending tasks, in an array in which each task knows its
 * index, so that registering is a push and leaving is a swap with the last task (no Map or Set
 * entry per task). `spawn` makes, registers and starts each task here; a task tells it when it
 * has settled; it tells its supervisor when a task failed and when it went from idle to busy and
 * back.
 *
 * @module
 */
import { taskSettleChannel, taskSpawnChannel } from './channels.js';
import { invalidArgType } from './errors.js';
import { CANCELLING, type Lifecycle } from './lifecycle.js';
import { RestartingTask, type RestartOwner } from './restart.js';
import { type RestartPolicy, type SpawnOptions, type TaskFunction, checkSpawnOptions, restartPolicyOf } from './spawn-options.js';
import { recordSpawnSite } from './spawn-sites.js';
import { Task, type TaskOwner, type TaskState } from './task.js';

// The last function spawned, its name and arity: see `spawn` (benchmarks/README.md has what it buys).
let lastFunction: unknown;
let lastFunctionName = '';
let lastFunctionTakesSignal = false;

function forgetLastFunction(): void {
  lastFunction = undefined;
}

/** @internal What the registry needs from the supervisor that owns it, and tells it. */
export interface RegistryOwner extends RestartOwner {
  readonly _life: Lifecycle;
  readonly _options: { readonly captureSpawnSites: boolean };
  /** A task rejected with something other than its cancellation. */
  _taskFailed(task: Task, error: unknown): void;
  /** The registry went from empty to busy (true), or emptied (false). */
  _busyChanged(busy: boolean): void;
}

/** @internal One supervisor's pending tasks. */
export class TaskRegistry implements TaskOwner {
  /** Pending tasks, in no particular order (see `stragglersOf` for the oldest first). */
  readonly tasks: Task[] = [];
  /** Between `busy` and idle: a settle subscriber can spawn while the array is empty in the middle of `taskSettled`. */
  #busy = false;
  /** Resolves the shutdown's wait for the registry to empty. */
  #onDrained: (() => void) | undefined = undefined;

  constructor(readonly owner: RegistryOwner) {}

  /**
   * Makes, registers and starts the task `sup.spawn(fn, options)` asks for, checking both at the
   * call. `boundary` is where a recorded spawn stack starts: `spawn` itself.
   */
  spawn<T>(fn: TaskFunction<T>, options: SpawnOptions | undefined, boundary: (...args: never[]) => unknown): Task<T> {
    const owner = this.owner;
    if (typeof fn !== 'function') throw invalidArgType('spawn(fn)', 'a function', fn);
    // A daemon spawns the same few functions over and over: remember the last one's name and
    // arity, which V8 computes on every read.
    if (fn !== lastFunction) {
      // Remembered for one synchronous burst only: a function kept longer would keep its closure
      // (and whatever it holds) alive until some other function is spawned, which may be never.
      if (lastFunction === undefined) queueMicrotask(forgetLastFunction);
      lastFunction = fn;
      lastFunctionName = fn.name;
      lastFunctionTakesSignal = fn.length > 0;
    }
    const takesSignal = lastFunctionTakesSignal;
    let name = lastFunctionName;
    let shield = false;
    let restart: RestartPolicy | undefined;
    if (options !== undefined) {
      checkSpawnOptions(options);
      const given = options.name;
      if (given !== undefined) {
        if (typeof given !== 'string') throw invalidArgType('spawn options.name', 'a string', given);
        name = given;
      }
      const shielded = options.shield;
      if (shielded !== undefined) {
        if (typeof shielded !== 'boolean') throw invalidArgType('spawn options.shield', 'a boolean', shielded);
        shield = shielded;
      }
      restart = restartPolicyOf(options);
    }
    if (owner._life.phase >= CANCELLING) throw owner._life.refusal(owner.name, `spawn task "${name || 'anonymous'}"`);

    const task = restart === undefined ? new Task<T>(this, name, shield) : new RestartingTask<T>(this, name, shield, restart, owner);
    // Registered before `fn` runs: a function that starts a shutdown synchronously is seen by it.
    const tasks = this.tasks;
    task._index = tasks.length;
    tasks.push(task);
    if (tasks.length === 1 && !this.#busy) {
      this.#busy = true;
      owner._busyChanged(true);
    }
    if (taskSpawnChannel.hasSubscribers) taskSpawnChannel.publish({ supervisor: owner, task });
    task._run(fn, takesSignal);
    // Where it was spawned: the same stack, captured here or before `fn` ran.
    if (owner._options.captureSpawnSites) recordSpawnSite(task, boundary);
    return task;
  }

  /** Called by a task once it has settled (its state is already final). */
  taskSettled(task: Task, error: unknown): void {
    const tasks = this.tasks;
    const index = task._index;
    const last = tasks.pop() as Task;
    if (last !== task) {
      tasks[index] = last;
      last._index = index;
    }
    task._index = -1;
    if (taskSettleChannel.hasSubscribers) publishSettle(this.owner, task, error);
    // The failure first: becoming idle can finish a shutdown (exitWhenDone), which must not
    // happen before the error it was started for, or would have to report, is recorded.
    if (task._failed()) this.owner._taskFailed(task, error);
    if (tasks.length === 0 && this.#busy) {
      this.#busy = false;
      const onDrained = this.#onDrained;
      this.#onDrained = undefined;
      onDrained?.();
      this.owner._busyChanged(false);
    }
  }

  /** Aborts every task shutdown may cancel (unshielded, not cancelled yet) with `reason`; returns how many. */
  cancel(reason: unknown): number {
    let count = 0;
    // Aborting runs listeners synchronously, but a task only settles (and leaves this array) in a
    // later microtask, so the array does not change under this loop.
    for (const task of this.tasks) {
      if (task._cancellable()) {
        task._abort(reason);
        count++;
      }
    }
    return count;
  }

  /** Resolves when no task is pending. */
  drained(): Promise<void> {
    return this.tasks.length === 0 ? Promise.resolve() : new Promise((resolve) => (this.#onDrained = resolve));
  }
}

function publishSettle(supervisor: RegistryOwner, task: Task, error: unknown): void {
  const state = task.state as Exclude<TaskState, 'running'>;
  taskSettleChannel.publish({ supervisor, task, state, error, durationMs: task._age(performance.now()) });
}
