/**
 * Restart policies: supervision in Erlang/OTP's sense, one task at a time.
 *
 * A task spawned with `restart: 'on-failure'` (or `'always'`) whose run fails (or, with
 * `'always'`, ends) is started again after a backoff, with a fresh AbortSignal; the last run's
 * signal is aborted, so whatever it left behind stops too. The Task handle stays the same, is
 * pending until the last run, and counts its restarts. More than `maxRestarts` restarts within
 * `within` ms is a crash loop: the policy gives up and the last error goes to `onTaskError`,
 * so by default the supervisor still shuts down, as an OTP supervisor does when its restart
 * intensity is exceeded.
 *
 * A policy never outlives its supervisor's running state: a run that ends once shutdown has
 * begun is final, and a task waiting out its backoff is cancelled by shutdown (even when
 * shielded, since no work of it runs) and ends `cancelled`.
 *
 * A supervisor whose strategy is not one-for-one, or that has a restart intensity of its own,
 * restarts its tasks through its `RestartCoordinator` (restart-strategy.ts) instead of the
 * backoff wait below; that is the one branch this loop takes for it.
 *
 * Nothing here runs for a task spawned without `restart`: it costs other tasks nothing.
 *
 * @module
 */
import { taskRestartChannel } from './channels.js';
import { RestartLimitError, loggable, summarize } from './errors.js';
import { abortableDelay } from './long-timeout.js';
import type { SupervisorState } from './lifecycle.js';
import type { RestartPolicy, TaskFunction } from './spawn-options.js';
import { Task, type TaskOwner } from './task.js';

/** @internal What a policy needs from the supervisor that runs it: to know when to stop, to log, and how its tasks restart together. */
export interface RestartOwner {
  readonly name: string;
  readonly state: SupervisorState;
  _log(level: 'warn' | 'error', ...data: unknown[]): void;
  /**
   * Its coordinator, made on first need, when its strategy is not one-for-one or it has a
   * restart intensity; undefined otherwise (the default): each task restarts alone, below.
   */
  _restartCoordinator(): RestartCoordinator | undefined;
}

/** @internal A supervisor's strategy and restart intensity, as the policy loop calls them (restart-strategy.ts implements it). */
export interface RestartCoordinator {
  /**
   * `task`'s run ended in a way its policy restarts, within its own limit, and its backoff is
   * `delayMs`: restarts it with whatever siblings the strategy restarts with it. Resolves when
   * `task` may run again; rejects with what ends it instead (its failure when the supervisor's
   * intensity is exceeded, its cancellation).
   */
  restart(task: RestartingTask, failed: boolean, outcome: unknown, delayMs: number): Promise<void>;
}

/** @internal The group restart a task belongs to, from the failure that began it until the task runs again or ends. */
export interface PendingRestart {
  /**
   * The run of `task`, stopped for this restart, ended (`failed`, with `outcome`). Resolves when
   * `task` may run again; rejects with what ends it instead (its cancellation, its own limit).
   */
  runEnded(task: RestartingTask, failed: boolean, outcome: unknown): Promise<void>;
}

/** With `maxRestarts: Infinity`, restart times are kept only to rank the backoff: this many is plenty. */
const rankedRestarts = 64;

/** @internal A task with a restart policy: the same handle across runs. */
export class RestartingTask<T = unknown> extends Task<T> {
  /** @internal */ _policy: RestartPolicy;
  /** @internal */ _restarts = 0;
  /** @internal `performance.now()` of the restarts in the current window, oldest first. */
  _restartTimes: number[] = [];
  /**
   * @internal The group restart it belongs to (restart-strategy.ts), from the failure that began
   * it until this task runs again or ends. Only that module sets it.
   */
  _group: PendingRestart | undefined = undefined;
  /** @internal In a group: its run has ended, and it waits for the group to start it again. */
  _waiting = false;
  /** @internal While it waits in a group: wakes it to look again (released, taken over, cancelled). */
  _wake: (() => void) | undefined = undefined;
  /** @internal In a group: its own `maxRestarts` is exceeded; it ends with this once its run has ended. */
  _limitError: RestartLimitError | undefined = undefined;
  /** @internal Its last run has ended: no group may take it in the microtasks before it leaves the registry. */
  _final = false;

  /** @internal */
  constructor(
    owner: TaskOwner,
    name: string,
    shield: boolean,
    policy: RestartPolicy,
    readonly _supervisor: RestartOwner,
  ) {
    super(owner, name, shield);
    this._policy = policy;
  }

  /** @internal Runs `fn` as this task's runs, under its policy. */
  override _run(fn: TaskFunction<T>, takesSignal: boolean): void {
    this._track(runWithRestarts(this._supervisor, this, fn, takesSignal));
  }

  override get restarts(): number {
    return this._restarts;
  }

  /** @internal What the log lines call it: a subtree is restarted as a task is. */
  get _noun(): string {
    return 'task';
  }
}

/**
 * @internal Runs `fn` as `task`'s runs, until one ends for good; resolves or rejects as the
 * last one did. Its first run starts synchronously, as a plain task's function does.
 */
export async function runWithRestarts<T>(owner: RestartOwner, task: RestartingTask<T>, fn: TaskFunction<T>, takesSignal: boolean): Promise<T> {
  try {
    for (;;) {
      let failed = false;
      let outcome: unknown;
      try {
        outcome = await (takesSignal ? fn(task.signal) : (fn as () => T | PromiseLike<T>)());
      } catch (error) {
        failed = true;
        outcome = error;
      }
      // Stopped to restart with a sibling that failed: however this run ended, its group decides.
      const group = task._group;
      if (group !== undefined) {
        await group.runEnded(task, failed, outcome);
        continue;
      }
      // Final: cancelled (by cancel() or shutdown), returned under 'on-failure', or shutdown has begun.
      if (task._cancelRequested() || (!failed && !task._policy.always) || owner.state !== 'running') {
        if (failed) throw outcome;
        return outcome as T;
      }
      const rank = rankInWindow(task);
      const { maxRestarts, within } = task._policy;
      if (rank > maxRestarts) {
        owner._log(
          'warn',
          `supervise: ${task._noun} "${task.name}" of "${owner.name}" ${failed ? 'failed' : 'returned'} again after ${maxRestarts} restart(s) within ${within} ms; giving up`,
        );
        if (failed) throw outcome;
        throw new RestartLimitError(`Task "${task.name}" returned ${maxRestarts + 1} times within ${within} ms (restart: 'always'); gave up restarting it`);
      }
      let delayMs: number;
      try {
        delayMs = task._policy.delay(rank);
      } catch (backoffError) {
        // The backoff function's error ends the task; the failure it was to restart is logged, not lost.
        if (failed) owner._log('error', `supervise: ${task._noun} "${task.name}" of "${owner.name}" failed, and its backoff threw:`, loggable(outcome));
        throw backoffError;
      }
      const coordinator = owner._restartCoordinator();
      if (coordinator !== undefined) {
        await coordinator.restart(task, failed, outcome, delayMs);
        continue;
      }
      const restart = task._restarts + 1;
      // Waiting from here: the logger, a subscriber or a listener of the last run's signal may
      // shut the supervisor down right now, and its cancel pass must see this task, shielded or not.
      task._setBackoff(true);
      owner._log('warn', restartLine(owner, task, failed, outcome, delayMs));
      publishRestart(owner, task, task, failed, outcome, delayMs);
      task._retireSignal(new DOMException(`Task "${task.name}" is restarting`, 'AbortError'));
      const signal = task.signal;
      await abortableDelay(delayMs, signal);
      // Begun during the wait: no restart; the shutdown's cancel (phase 2) ends the task.
      if (!signal.aborted && owner.state !== 'running') await abortableDelay(Infinity, signal);
      if (signal.aborted) throw signal.reason;
      task._setBackoff(false);
      task._restarts = restart;
    }
  } finally {
    task._final = true;
  }
}

/** @internal The warn line for a restart of `task` whose run ended: `task "x" of "app" failed (Error: …); restart 2 in 180 ms`. */
export function restartLine(owner: RestartOwner, task: RestartingTask, failed: boolean, outcome: unknown, delayMs: number): string {
  return `supervise: ${task._noun} "${task.name}" of "${owner.name}" ${failed ? `failed (${summarize(outcome)})` : 'returned'}; restart ${task._restarts + 1} in ${Math.round(delayMs)} ms`;
}

/**
 * @internal Publishes on `supervise:task:restart` that `task` is to restart after `delayMs`
 * because the run of `cause` (the task itself, or the sibling that failed) ended as `failed`
 * and `outcome` say. Nothing is made without a subscriber.
 */
export function publishRestart(owner: RestartOwner, task: RestartingTask, cause: RestartingTask, failed: boolean, outcome: unknown, delayMs: number): void {
  if (!taskRestartChannel.hasSubscribers) return;
  taskRestartChannel.publish({ supervisor: owner, task, cause, restart: task._restarts + 1, delayMs, failed, error: failed ? outcome : undefined });
}

/** @internal Records a restart of `task` now and returns its rank among the restarts within its window: 1 for the first. */
export function rankInWindow(task: RestartingTask): number {
  const times = task._restartTimes;
  const now = performance.now();
  const { within, maxRestarts } = task._policy;
  dropExpired(times, now, within);
  times.push(now);
  if (maxRestarts === Infinity && times.length > rankedRestarts) times.shift();
  return times.length;
}

/** @internal Drops from `times` (oldest first) those `within` ms or more before `now`. */
export function dropExpired(times: number[], now: number, within: number): void {
  let expired = 0;
  while (expired < times.length && now - (times[expired] as number) >= within) expired++;
  if (expired > 0) times.splice(0, expired);
}
