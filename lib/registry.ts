/**
 * The task registry: a supervisor's pending tasks, in an array in which each task knows its
 * index, so that registering is a push and leaving is a swap with the last task (no Map or Set
 * entry per task). A task tells it when it has settled; it tells its supervisor when a task
 * failed and when it went from idle to busy and back.
 *
 * @module
 */
import { taskSettleChannel } from './channels.js';
import type { Task, TaskOwner, TaskState } from './task.js';

/** @internal What the registry tells the supervisor that owns it. */
export interface RegistryOwner {
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

  /** Registers `task`, before its function runs: a function that starts a shutdown synchronously is seen by it. */
  add(task: Task): void {
    const tasks = this.tasks;
    task._index = tasks.length;
    tasks.push(task);
    if (tasks.length === 1 && !this.#busy) {
      this.#busy = true;
      this.owner._busyChanged(true);
    }
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
