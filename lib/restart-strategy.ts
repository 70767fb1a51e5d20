/**
 * Restart strategies: how one failure restarts a supervisor's restarting tasks together, as
 * Erlang/OTP's one_for_one, one_for_all and rest_for_one, and the supervisor's own restart
 * intensity (OTP's `intensity` and `period`: its `maxRestarts` and `within`).
 *
 * A failure (a run that its policy restarts) is one restart event. Under `'one-for-all'` it
 * restarts every restarting task of the supervisor; under `'rest-for-one'`, the failed task and
 * those spawned after it; under `'one-for-one'`, the failed task alone. Those tasks are a group:
 * - Each other member is stopped for the restart: its run's signal aborts with an AbortError
 *   that names the failed task, but the task is not cancelled (its handle stays pending). Its
 *   run may end any way; a real error is logged, since its own failure is not what restarts it.
 * - Once every member's run has ended and the failed task's backoff has elapsed, the members
 *   start again in spawn order (task id order), each with a fresh signal.
 * - Each member counts the restart (`task.restarts`, and its own `maxRestarts`/`within`): one
 *   whose own limit is exceeded ends with a RestartLimitError instead, and the others restart.
 * - A member waiting to restart carries the task's BACKOFF flag, so shutdown cancels it even when
 *   shielded; no group starts anything once the supervisor is not running.
 * - A failure while a group is pending forms a newer group; it takes over the members the two
 *   share (under these strategies, all of the older group's): each member is released by the
 *   group that owns it last, exactly once, and no earlier than the older group would have.
 *
 * The supervisor's intensity counts events, whatever their size: more than `maxRestarts` within
 * `within` ms and the failure that was one too many ends its task, with no sibling stopped, and
 * goes to `onTaskError`.
 *
 * A supervisor with the defaults (one-for-one, no intensity) never makes a coordinator: its
 * tasks take the plain path of restart.ts, and nothing here runs.
 *
 * @module
 */
import { RestartLimitError, loggable } from './errors.js';
import type { RestartStrategy } from './options.js';
import {
  type PendingRestart,
  type RestartCoordinator,
  type RestartOwner,
  RestartingTask,
  dropExpired,
  publishRestart,
  rankInWindow,
  restartLine,
} from './restart.js';
import { type Task, isAbortError } from './task.js';

/** @internal What the coordinator needs from its supervisor, besides what a restart policy does: its options and its tasks. */
export interface StrategyOwner extends RestartOwner {
  readonly _options: { readonly strategy: RestartStrategy; readonly maxRestarts: number; readonly within: number };
  readonly _registry: { readonly tasks: readonly Task[] };
  /** Its list: a restartable subtree (`sup.subtree()`) on it is a restartable child too. */
  readonly _resources: { readonly entries: readonly { readonly kind: string; readonly listed: boolean; readonly value: unknown }[] };
}

/**
 * @internal The coordinator `owner` needs, or undefined when it has the defaults (one-for-one,
 * no intensity): then each task restarts alone, as restart.ts does, and nothing is made.
 */
export function restartCoordinatorFor(owner: StrategyOwner): RestartCoordinator | undefined {
  const { strategy, maxRestarts } = owner._options;
  return strategy === 'one-for-one' && maxRestarts === Infinity ? undefined : new Coordinator(owner);
}

/** One supervisor's restart events: its intensity, and the groups they form. */
class Coordinator implements RestartCoordinator {
  /** `performance.now()` of its restart events within the window, oldest first (at most `maxRestarts`). */
  readonly #times: number[] = [];

  constructor(readonly owner: StrategyOwner) {}

  async restart(task: RestartingTask, failed: boolean, outcome: unknown, delayMs: number): Promise<void> {
    this.#admit(task, failed, outcome);
    const owner = this.owner;
    const group = new RestartGroup(owner, task, `task "${task.name}" ${failed ? 'failed' : 'returned'}`, performance.now() + delayMs);
    // A member, waiting, before any user code runs: a subscriber, the logger or a listener of a
    // signal aborted below may shut the supervisor down at once, and its cancel pass must see it.
    task._setBackoff(true);
    group.adopt(task, true);
    // Announced first, as a restart alone is: the siblings' messages follow, in spawn order.
    publishRestart(owner, task, task, failed, outcome, delayMs);
    task._retireSignal(new DOMException(`Task "${task.name}" is restarting`, 'AbortError'));
    let restarting = 0;
    let givingUp = 0;
    for (const sibling of this.#siblingsOf(task)) {
      // Begun meanwhile: the shutdown cancels the members so far; the rest are its alone.
      if (owner.state !== 'running') break;
      const older = sibling._group;
      if (older !== undefined) {
        // Already stopped for an older failure's restart: this group takes it over, uncounted again.
        group.takeOver(sibling, older as RestartGroup);
        if (sibling._limitError === undefined) restarting++;
        else givingUp++;
        continue;
      }
      // Ending for good already (a cancel() whose run has not ended yet): not this group's.
      if (sibling._cancelRequested()) continue;
      if (group.stop(sibling, failed, outcome, delayMs)) restarting++;
      else givingUp++;
    }
    group.arm();
    const others =
      restarting + givingUp === 0
        ? ''
        : `, and ${restarting} other task(s) with it${givingUp > 0 ? ` (${givingUp} more gave up: their own maxRestarts)` : ''} (${owner._options.strategy})`;
    owner._log('warn', restartLine(owner, task, failed, outcome, delayMs) + others);
    await waitForRestart(owner, task);
  }

  /** Counts a restart event against the supervisor's intensity; throws what ends `task` when it is one too many. */
  #admit(task: RestartingTask, failed: boolean, outcome: unknown): void {
    const owner = this.owner;
    const { maxRestarts, within } = owner._options;
    if (maxRestarts === Infinity) return;
    const times = this.#times;
    const now = performance.now();
    dropExpired(times, now, within);
    if (times.length < maxRestarts) {
      times.push(now);
      return;
    }
    // Refused events are not counted: the window holds the restarts that happened.
    owner._log(
      'warn',
      `supervise: ${task._noun} "${task.name}" of "${owner.name}" ${failed ? 'failed' : 'returned'}; "${owner.name}" already restarted ${maxRestarts} time(s) within ${within} ms, its restart intensity (maxRestarts: ${maxRestarts}, within: ${within}); giving up`,
    );
    if (failed) throw outcome;
    throw new RestartLimitError(
      `Task "${task.name}" returned (restart: 'always') after supervisor "${owner.name}" restarted ${maxRestarts} time(s) within ${within} ms (its maxRestarts); gave up restarting it`,
    );
  }

  /** The restarting tasks the strategy restarts with `cause`, in spawn order: none under one-for-one. */
  #siblingsOf(cause: RestartingTask): RestartingTask[] {
    const strategy = this.owner._options.strategy;
    const siblings: RestartingTask[] = [];
    if (strategy === 'one-for-one') return siblings;
    const afterOnly = strategy === 'rest-for-one';
    const consider = (task: unknown) => {
      if (task === cause || !(task instanceof RestartingTask) || task._final) return;
      if (afterOnly && task.id < cause.id) return;
      siblings.push(task);
    };
    for (const task of this.owner._registry.tasks) consider(task);
    // Subtrees are children of this supervisor as its tasks are, as an OTP supervisor's child supervisors.
    for (const entry of this.owner._resources.entries) if (entry.kind === 'subtree' && entry.listed) consider(entry.value);
    // The registry keeps no order (a leaving task swaps with the last): ids are spawn order (a subtree's, its creation).
    return siblings.sort(bySpawnOrder);
  }
}

function bySpawnOrder(a: Task, b: Task): number {
  return a.id - b.id;
}

/** The tasks one restart event restarts, until they start again, end, or a newer group takes them over. */
class RestartGroup implements PendingRestart {
  /** Every task it took, in no order until `arm` sorts them; those a newer group took over are skipped (their `_group` is that one). */
  readonly #members: RestartingTask[] = [];
  /** Members it owns still: when none are left, nothing is to restart. */
  #owned = 0;
  /** Owned members whose run has not ended yet. */
  #running = 0;
  /** The backoff has elapsed. */
  #due = false;
  #timer: NodeJS.Timeout | undefined = undefined;
  /** Its members may start again: read by each one as it wakes up. */
  released = false;
  /** The abort reason of the siblings it stops. */
  #reason: DOMException | undefined = undefined;

  constructor(
    readonly owner: StrategyOwner,
    /** The task whose failure formed it. */
    readonly cause: RestartingTask,
    /** What `cause` did, for messages: `task "db" failed`. */
    readonly why: string,
    /** When its backoff ends, as `performance.now()`. */
    public restartAt: number,
  ) {}

  /** Makes `task` a member; `waiting` when its run has already ended. */
  adopt(task: RestartingTask, waiting: boolean): void {
    task._group = this;
    task._waiting = waiting;
    this.#members.push(task);
    this.#owned++;
    if (!waiting) this.#running++;
  }

  /**
   * Stops `sibling`, running on its own, for this restart: counts the restart against its own
   * limit, and aborts its run's signal. Returns false when its own limit is exceeded: it then ends
   * with a RestartLimitError once its run has ended, instead of restarting.
   */
  stop(sibling: RestartingTask, failed: boolean, outcome: unknown, delayMs: number): boolean {
    const { owner, why } = this;
    const { maxRestarts, within } = sibling._policy;
    // A member, waiting for the restart, before any user code runs (see `Coordinator.restart`).
    this.adopt(sibling, false);
    sibling._setBackoff(true);
    const restarts = rankInWindow(sibling) <= maxRestarts;
    if (restarts) publishRestart(owner, sibling, this.cause, failed, outcome, delayMs);
    else {
      owner._log(
        'warn',
        `supervise: task "${sibling.name}" of "${owner.name}" was to restart because ${why}, after ${maxRestarts} restart(s) within ${within} ms; giving up`,
      );
      sibling._limitError = new RestartLimitError(
        `Task "${sibling.name}" was to restart because ${why}, after ${maxRestarts} restart(s) within ${within} ms (its maxRestarts); gave up restarting it`,
      );
    }
    // One reason for every member, made once: a DOMException captures a stack, and a thousand of them were most of a restart's cost.
    this.#reason ??= new DOMException(`Tasks of "${owner.name}" are restarting because ${why}`, 'AbortError');
    sibling._retireSignal(this.#reason);
    return restarts;
  }

  /** Takes over `task` from `older`: it restarts once, with this group, and no earlier than `older` would have started it. */
  takeOver(task: RestartingTask, older: RestartGroup): void {
    const waiting = task._waiting;
    older.#remove(task);
    this.adopt(task, waiting);
    if (older.restartAt > this.restartAt) this.restartAt = older.restartAt;
  }

  /** Sorts the members into spawn order and starts the backoff. */
  arm(): void {
    this.#members.sort(bySpawnOrder);
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#due = true;
        this.#releaseIfReady();
      },
      Math.max(0, this.restartAt - performance.now()),
    );
  }

  async runEnded(task: RestartingTask, failed: boolean, outcome: unknown): Promise<void> {
    const owner = this.owner;
    task._waiting = true;
    this.#running--;
    // Its abort reason or an AbortError is how a run stops; a return is fine. Anything else is an
    // error the restart caused, not one that restarts anything: logged, never lost.
    if (failed && !isAbortError(outcome) && !(task._cancelRequested() && outcome === task.signal.reason)) {
      owner._log('error', `supervise: ${task._noun} "${task.name}" of "${owner.name}", stopped to restart because ${this.why}, failed:`, loggable(outcome));
    }
    const limitError = task._limitError;
    if (limitError !== undefined && !task._cancelRequested()) {
      this.leave(task);
      throw limitError;
    }
    // Its run was the last one the group waited for, maybe: look once it waits too (see `#releaseIfReady`).
    queueMicrotask(this.#releaseIfReadyBound);
    await waitForRestart(owner, task);
  }

  /** `task` leaves the group for good (it is cancelled, or gives up): the others restart without it. */
  leave(task: RestartingTask): void {
    this.#remove(task);
    task._setBackoff(false);
    if (this.owner.state === 'running') this.#releaseIfReady();
    else this.#disarm(); // nothing restarts once shutdown has begun
  }

  /** `task` starts again: the group is done with it. */
  started(task: RestartingTask): void {
    this.#remove(task);
    task._setBackoff(false);
  }

  #remove(task: RestartingTask): void {
    if (!task._waiting) this.#running--;
    task._group = undefined;
    task._waiting = false;
    if (--this.#owned === 0) this.#disarm();
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #releaseIfReadyBound = () => this.#releaseIfReady();

  /**
   * Once the backoff has elapsed and every member's run has ended, wakes the members in spawn
   * order. Called only while every member it owns is suspended in `waitForRestart`, at the same
   * depth of awaits (from a timer, a member leaving, or a microtask after a member begins to
   * wait): their continuations then run in the order they are woken, so their next runs start
   * in spawn order.
   */
  #releaseIfReady(): void {
    if (this.released || !this.#due || this.#running > 0 || this.#owned === 0 || this.owner.state !== 'running') return;
    this.released = true;
    for (const member of this.#members) if (member._group === this) member._wake?.();
  }
}

/**
 * Waits until the group that owns `task` last releases it, then counts the restart; throws the
 * reason when `task` is cancelled meanwhile (`cancel()`, or shutdown's phase 2). Once shutdown has
 * begun, nothing releases it: it waits for that cancel.
 */
async function waitForRestart(owner: StrategyOwner, task: RestartingTask): Promise<void> {
  const signal = task.signal; // its next run's, made now: cancel() and shutdown abort it
  for (;;) {
    const group = task._group as RestartGroup;
    if (signal.aborted) {
      group.leave(task);
      throw signal.reason;
    }
    // A group that released it may have lost it to a newer one before it woke: then it waits again.
    if (group.released && owner.state === 'running') {
      group.started(task);
      task._restarts++;
      return;
    }
    await new Promise<void>((resolve) => {
      const wake = () => {
        task._wake = undefined;
        signal.removeEventListener('abort', wake);
        resolve();
      };
      task._wake = wake;
      signal.addEventListener('abort', wake);
    });
  }
}
