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

/** @internal What a policy needs from the supervisor that runs it: to know when to stop, and to log. */
export interface RestartOwner {
  readonly name: string;
  readonly state: SupervisorState;
  _log(level: 'warn' | 'error', ...data: unknown[]): void;
}

/** With `maxRestarts: Infinity`, restart times are kept only to rank the backoff: this many is plenty. */
const rankedRestarts = 64;

/** @internal A task with a restart policy: the same handle across runs. */
export class RestartingTask<T = unknown> extends Task<T> {
  /** @internal */ _policy: RestartPolicy;
  /** @internal */ _restarts = 0;
  /** @internal `performance.now()` of the restarts in the current window, oldest first. */
  _restartTimes: number[] = [];

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
}

/**
 * @internal Runs `fn` as `task`'s runs, until one ends for good; resolves or rejects as the
 * last one did. Its first run starts synchronously, as a plain task's function does.
 */
export async function runWithRestarts<T>(owner: RestartOwner, task: RestartingTask<T>, fn: TaskFunction<T>, takesSignal: boolean): Promise<T> {
  for (;;) {
    let failed = false;
    let outcome: unknown;
    try {
      outcome = await (takesSignal ? fn(task.signal) : (fn as () => T | PromiseLike<T>)());
    } catch (error) {
      failed = true;
      outcome = error;
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
        `supervise: task "${task.name}" of "${owner.name}" ${failed ? 'failed' : 'returned'} again after ${maxRestarts} restart(s) within ${within} ms; giving up`,
      );
      if (failed) throw outcome;
      throw new RestartLimitError(`Task "${task.name}" returned ${maxRestarts + 1} times within ${within} ms (restart: 'always'); gave up restarting it`);
    }
    let delayMs: number;
    try {
      delayMs = task._policy.delay(rank);
    } catch (backoffError) {
      // The backoff function's error ends the task; the failure it was to restart is logged, not lost.
      if (failed) owner._log('error', `supervise: task "${task.name}" of "${owner.name}" failed, and its backoff threw:`, loggable(outcome));
      throw backoffError;
    }
    const restart = task._restarts + 1;
    owner._log(
      'warn',
      `supervise: task "${task.name}" of "${owner.name}" ${failed ? `failed (${summarize(outcome)})` : 'returned'}; restart ${restart} in ${Math.round(delayMs)} ms`,
    );
    if (taskRestartChannel.hasSubscribers) {
      taskRestartChannel.publish({ supervisor: owner, task, restart, delayMs, failed, error: failed ? outcome : undefined });
    }
    task._retireSignal(new DOMException(`Task "${task.name}" is restarting`, 'AbortError'));
    task._setBackoff(true);
    const signal = task.signal;
    await abortableDelay(delayMs, signal);
    // Begun during the wait: no restart; the shutdown's cancel (phase 2) ends the task.
    if (!signal.aborted && owner.state !== 'running') await abortableDelay(Infinity, signal);
    if (signal.aborted) throw signal.reason;
    task._setBackoff(false);
    task._restarts = restart;
  }
}

/** Records a restart now and returns its rank among the restarts within the window: 1 for the first. */
function rankInWindow(task: RestartingTask): number {
  const times = task._restartTimes;
  const now = performance.now();
  const { within, maxRestarts } = task._policy;
  let expired = 0;
  while (expired < times.length && now - (times[expired] as number) >= within) expired++;
  if (expired > 0) times.splice(0, expired);
  times.push(now);
  if (maxRestarts === Infinity && times.length > rankedRestarts) times.shift();
  return times.length;
}
