/**
 * What `spawn` takes: the task function's type, and the options, with the checks that turn bad
 * input into a clear error at the `spawn` call, restart policies included. Nothing here runs for
 * `spawn(fn)` without options.
 *
 * @module
 */
import { invalidArgType, invalidArgValue, outOfRange } from './errors.js';
import { maxTimeoutMs } from './long-timeout.js';
import { checkKnownKeys, checkMaxRestarts, checkOptionsObject, checkTimeout, checkWithin } from './option-checks.js';

/**
 * The work a supervisor runs. It receives its task's AbortSignal, which aborts when the task is
 * cancelled or its supervisor shuts down. A function that declares no parameter receives
 * nothing, and no AbortController is made for it unless `task.signal` is read.
 *
 * @example
 * ```ts
 * const poll: TaskFunction<void> = async (signal) => {
 *   while (!signal.aborted) await pollOnce({ signal });
 * };
 * sup.spawn(poll);
 * ```
 */
export type TaskFunction<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/**
 * Options for {@link Supervisor.spawn}.
 *
 * @example
 * ```ts
 * sup.spawn(flushMetrics, { name: 'metrics-flush', shield: true });
 * ```
 */
export interface SpawnOptions {
  /** Shown in logs, `report.stragglers` and errors. Default: the function's name, else `task-<id>`. */
  readonly name?: string;
  /**
   * Shutdown does not abort this task's signal, but still waits for it within the deadline
   * (aiorun's `shutdown_waits_for`). `task.cancel()` still cancels it.
   */
  readonly shield?: boolean;
  /**
   * Start the function again, with a fresh signal, when a run fails (`'on-failure'`) or ends in
   * any way but cancellation (`'always'`), after a backoff. Never once shutdown has begun, nor
   * after `task.cancel()`. Default: `'never'`.
   */
  readonly restart?: RestartMode;
  /**
   * With `restart`: more restarts than this within `within` ms gives up, and the last error
   * goes to `onTaskError`. An integer >= 0, or Infinity. Default: 5. Restarts caused by a
   * sibling's failure (the supervisor's `strategy`) count too; the supervisor's own
   * `maxRestarts` is another limit, on top of this one.
   */
  readonly maxRestarts?: number;
  /** With `restart`: the window, in milliseconds, in which `maxRestarts` is counted. Default: 60 000. */
  readonly within?: number;
  /**
   * With `restart`: the wait before each restart. Default: exponential from 100 ms, doubling up
   * to 30 s, with jitter (each wait is between half and all of that), counted over the restarts
   * in the current `within` window, so a task that ran well for a while starts from 100 ms again.
   */
  readonly backoff?: Backoff;
}

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

/**
 * @internal The policy `options` ask for, or undefined for none. Throws at the spawn call for
 * anything malformed, including restart options without a `restart` mode.
 */
function restartPolicy(restart: unknown, maxRestarts: unknown, within: unknown, backoff: unknown, what: string): RestartPolicy | undefined {
  if (restart === undefined || restart === 'never') {
    // Checked one by one: this runs on every spawn with options, and a list of pairs would be an allocation each time.
    if (maxRestarts !== undefined) throw onlyWithRestart(what, 'maxRestarts', maxRestarts);
    if (within !== undefined) throw onlyWithRestart(what, 'within', within);
    if (backoff !== undefined) throw onlyWithRestart(what, 'backoff', backoff);
    return undefined;
  }
  if (restart !== 'on-failure' && restart !== 'always') {
    throw invalidArgValue(`${what}.restart`, "'on-failure', 'always' or 'never'", restart);
  }
  return {
    always: restart === 'always',
    maxRestarts: checkMaxRestarts(maxRestarts, 5, `${what}.maxRestarts`),
    within: checkWithin(within, 60_000, `${what}.within`),
    delay: checkBackoff(backoff, what),
  };
}

function onlyWithRestart(what: string, name: string, value: unknown): TypeError {
  return invalidArgValue(`${what}.${name}`, "given only with restart: 'on-failure' or 'always'", value);
}

/**
 * @internal Checks `spawn`'s options but `name` and `shield`, which `spawn` reads once each
 * itself (a result object carrying them would be an allocation per spawn): that they are an
 * object of known keys, and the restart policy, returned (undefined for none). Throws at the
 * `spawn` call for anything malformed. The key check is a `for...in` over a small literal, which
 * allocates nothing (V8 serves it from the object's shape), where `Object.keys` makes an array on
 * every spawn; inherited keys are skipped, as `Object.keys` would.
 */
export function checkSpawnOptions(options: unknown): asserts options is SpawnOptions {
  checkOptionsObject(options, 'spawn(fn, options)');
  for (const key in options) {
    switch (key) {
      case 'name':
      case 'shield':
      case 'restart':
      case 'maxRestarts':
      case 'within':
      case 'backoff':
        continue;
    }
    if (Object.hasOwn(options, key)) checkKnownKeys(options, spawnOptionNames, 'spawn options');
  }
}

/**
 * @internal The restart policy `options` ask for, or undefined for none; throws at the call for
 * anything malformed, naming the option as `what` (`spawn options`, `subtree options`) and it.
 */
export function restartPolicyOf(
  options: Pick<SpawnOptions, 'restart' | 'maxRestarts' | 'within' | 'backoff'>,
  what = 'spawn options',
): RestartPolicy | undefined {
  const { restart, maxRestarts, within, backoff } = options;
  return restartPolicy(restart, maxRestarts, within, backoff, what);
}

/** @internal The options `spawn` knows. */
export const spawnOptionNames = ['name', 'shield', 'restart', 'maxRestarts', 'within', 'backoff'] as const;

function checkBackoff(value: unknown, what: string): (restart: number) => number {
  if (typeof value === 'function') {
    const delay = value as (restart: number) => unknown;
    return (restart) => {
      const ms = delay(restart);
      if (typeof ms !== 'number' || !(ms >= 0)) throw invalidArgType("the backoff function's result", 'a number of milliseconds >= 0', ms);
      return Math.min(ms, maxTimeoutMs);
    };
  }
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw invalidArgType(`${what}.backoff`, 'an object { initialMs, maxMs, factor } or a function (restart) => ms', value);
  }
  const options = (value ?? {}) as BackoffOptions;
  checkKnownKeys(options, ['initialMs', 'maxMs', 'factor'], `${what}.backoff`);
  const initialMs = checkTimeout(options.initialMs, 100, `${what}.backoff.initialMs`);
  const maxMs = checkTimeout(options.maxMs, 30_000, `${what}.backoff.maxMs`);
  const factor = options.factor ?? 2;
  if (typeof factor !== 'number') throw invalidArgType(`${what}.backoff.factor`, 'a number', factor);
  if (!(factor >= 1 && factor < Infinity)) throw outOfRange(`${what}.backoff.factor`, '>= 1 and finite', factor);
  if (initialMs === Infinity || maxMs === Infinity) throw outOfRange(`${what}.backoff`, 'finite initialMs and maxMs', value);
  if (maxMs < initialMs) throw outOfRange(`${what}.backoff.maxMs`, `>= initialMs (${initialMs})`, maxMs);
  return (restart) => {
    const ceiling = Math.min(maxMs, initialMs * factor ** (restart - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  };
}
