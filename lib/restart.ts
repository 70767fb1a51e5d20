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
import { RestartLimitError, invalidArgType, invalidArgValue, loggable, outOfRange, summarize } from './errors.js';
import { taskRestartChannel } from './diagnostics.js';
import { maxTimeoutMs } from './long-timeout.js';
import { checkKnownKeys, checkTimeout } from './options.js';
import type { Supervisor } from './supervisor.js';
import { BACKOFF, type SpawnOptions, Task, type TaskFunction } from './task.js';

/**
 * When a task is started again: `'on-failure'` after it rejects (not after its cancellation),
 * `'always'` after it rejects or returns, `'never'` (the default) not at all.
 *
 * @example
 * ```ts
 * const mode: RestartMode = 'on-failure';
 * sup.spawn(consume, { restart: mode });
 * ```
 */
export type RestartMode = 'on-failure' | 'always' | 'never';

/**
 * The wait before a restart: exponential with jitter (options), or yours (a function of the
 * restart's rank in the current `within` window, 1 for the first, returning milliseconds).
 *
 * @example
 * ```ts
 * sup.spawn(consume, { restart: 'on-failure', backoff: { initialMs: 500, maxMs: 60_000 } });
 * sup.spawn(poll, { restart: 'always', backoff: (restart) => restart * 1_000 });
 * ```
 */
export type Backoff = BackoffOptions | ((restart: number) => number);

/**
 * Exponential backoff: `initialMs * factor ** (n - 1)`, at most `maxMs`, for the n-th restart in
 * the current window; each wait is drawn between half and all of that, so tasks that failed
 * together do not restart together.
 *
 * @example
 * ```ts
 * const backoff: BackoffOptions = { initialMs: 100, maxMs: 30_000, factor: 2 };
 * ```
 */
export interface BackoffOptions {
  /** Default: 100. */
  readonly initialMs?: number;
  /** Default: 30 000. */
  readonly maxMs?: number;
  /** Default: 2. At least 1. */
  readonly factor?: number;
}

/** @internal A validated restart policy. */
export interface RestartPolicy {
  readonly always: boolean;
  readonly maxRestarts: number;
  readonly within: number;
  readonly delay: (restart: number) => number;
}

/** With `maxRestarts: Infinity`, restart times are kept only to rank the backoff: this many is plenty. */
const rankedRestarts = 64;

/**
 * @internal The policy `options` ask for, or undefined for none. Throws at the spawn call for
 * anything malformed, including restart options without a `restart` mode.
 */
export function restartPolicy(options: SpawnOptions): RestartPolicy | undefined {
  const { restart, maxRestarts, within, backoff } = options;
  if (restart === undefined || restart === 'never') {
    // Checked one by one: this runs on every spawn with options, and a list of pairs would be an allocation each time.
    if (maxRestarts !== undefined) throw onlyWithRestart('maxRestarts', maxRestarts);
    if (within !== undefined) throw onlyWithRestart('within', within);
    if (backoff !== undefined) throw onlyWithRestart('backoff', backoff);
    return undefined;
  }
  if (restart !== 'on-failure' && restart !== 'always') {
    throw invalidArgValue('spawn options.restart', "'on-failure', 'always' or 'never'", restart);
  }
  return {
    always: restart === 'always',
    maxRestarts: checkMaxRestarts(maxRestarts),
    within: checkWithin(within),
    delay: checkBackoff(backoff),
  };
}

function onlyWithRestart(name: string, value: unknown): TypeError {
  return invalidArgValue(`spawn options.${name}`, "given only with restart: 'on-failure' or 'always'", value);
}

/** @internal A task with a restart policy: the same handle across runs. */
export class RestartingTask<T = unknown> extends Task<T> {
  /** @internal */ _policy: RestartPolicy;
  /** @internal */ _restarts = 0;
  /** @internal `performance.now()` of the restarts in the current window, oldest first. */
  _restartTimes: number[] = [];

  /** @internal */
  constructor(owner: Supervisor, name: string, shield: boolean, policy: RestartPolicy) {
    super(owner, name, shield);
    this._policy = policy;
  }

  override get restarts(): number {
    return this._restarts;
  }
}

/**
 * @internal Runs `fn` as `task`'s runs, until one ends for good; resolves or rejects as the
 * last one did. Its first run starts synchronously, as a plain task's function does.
 */
export async function runWithRestarts<T>(task: RestartingTask<T>, fn: TaskFunction<T>, takesSignal: boolean): Promise<T> {
  const owner = task._owner as Supervisor;
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
    task._flags |= BACKOFF;
    const signal = task.signal;
    await abortableDelay(delayMs, signal);
    // Begun during the wait: no restart; the shutdown's cancel (phase 2) ends the task.
    if (!signal.aborted && owner.state !== 'running') await abortableDelay(Infinity, signal);
    if (signal.aborted) throw signal.reason;
    task._flags &= ~BACKOFF;
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

/** Resolves after `ms` (never, for Infinity) or once `signal` aborts, whichever comes first. */
function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = ms === Infinity ? undefined : setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function checkMaxRestarts(value: unknown): number {
  if (value === undefined) return 5;
  if (typeof value !== 'number') throw invalidArgType('spawn options.maxRestarts', 'a number', value);
  if (value !== Infinity && !(Number.isInteger(value) && value >= 0)) {
    throw outOfRange('spawn options.maxRestarts', 'an integer >= 0, or Infinity', value);
  }
  return value;
}

function checkWithin(value: unknown): number {
  if (value === undefined) return 60_000;
  if (typeof value !== 'number') throw invalidArgType('spawn options.within', 'a number of milliseconds', value);
  // One message for 0, -1 and NaN alike: the window must hold at least one restart.
  if (value !== Infinity && !(value > 0 && value <= maxTimeoutMs)) throw outOfRange('spawn options.within', `> 0 and <= ${maxTimeoutMs} (or Infinity)`, value);
  return value;
}

function checkBackoff(value: unknown): (restart: number) => number {
  if (typeof value === 'function') {
    const delay = value as (restart: number) => unknown;
    return (restart) => {
      const ms = delay(restart);
      if (typeof ms !== 'number' || !(ms >= 0)) throw invalidArgType('the backoff function\'s result', 'a number of milliseconds >= 0', ms);
      return Math.min(ms, maxTimeoutMs);
    };
  }
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw invalidArgType('spawn options.backoff', 'an object { initialMs, maxMs, factor } or a function (restart) => ms', value);
  }
  const options = (value ?? {}) as BackoffOptions;
  checkKnownKeys(options, ['initialMs', 'maxMs', 'factor'], 'spawn options.backoff');
  const initialMs = checkTimeout(options.initialMs, 100, 'spawn options.backoff.initialMs');
  const maxMs = checkTimeout(options.maxMs, 30_000, 'spawn options.backoff.maxMs');
  const factor = options.factor ?? 2;
  if (typeof factor !== 'number') throw invalidArgType('spawn options.backoff.factor', 'a number', factor);
  if (!(factor >= 1 && factor < Infinity)) throw outOfRange('spawn options.backoff.factor', '>= 1 and finite', factor);
  if (initialMs === Infinity || maxMs === Infinity) throw outOfRange('spawn options.backoff', 'finite initialMs and maxMs', value);
  if (maxMs < initialMs) throw outOfRange('spawn options.backoff.maxMs', `>= initialMs (${initialMs})`, maxMs);
  return (restart) => {
    const ceiling = Math.min(maxMs, initialMs * factor ** (restart - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  };
}

