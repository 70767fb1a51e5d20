/**
 * Supervisor options: their types, their defaults, and the checks that turn bad input into a
 * clear error at `new Supervisor()` or `sup.child()` rather than at shutdown, when it is too late.
 *
 * @module
 */
import { builtin } from './builtins.js';
import { invalidArgType, invalidArgValue } from './errors.js';
import { checkFiniteMs, checkKnownKeys, checkMaxRestarts, checkTimeout, checkWithin } from './option-checks.js';
import { validateSignals } from './signals.js';
import type { Task } from './task.js';

/**
 * Where supervise writes its few operational lines (signal received, stragglers, errors that
 * are not kept for a report). `console` fits; so do pino, winston and bunyan loggers.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const sup = new Supervisor({ logger: pino() });
 * ```
 */
export interface Logger {
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
}

/**
 * What a supervisor does when a task rejects with anything but its cancellation:
 * - `'shutdown'` (default): keep the error for the report (exit code 1) and shut down the
 *   whole tree: a child supervisor shuts down its root.
 * - `'scope'` (child supervisors only; `sup.scope()` makes one): keep the error and shut down
 *   this child alone: its other tasks are cancelled, its resources disposed, and the error is
 *   delivered to the code that owns it (its `[Symbol.asyncDispose]` rejects with it, and its
 *   `shutdown()` and `done` report it). The parent keeps running. A scope that stopped itself
 *   stays on its parent's list until its owner collects it (calls `shutdown()` or
 *   `[Symbol.asyncDispose]`, or reads `done`); if the parent shuts down first, the error is in
 *   the parent's report.
 * - `'ignore'`: log it and keep running. It is not kept for the report, so a long-lived daemon
 *   does not accumulate errors; a failure during shutdown is still kept.
 * - a function `(error, task) => void`: yours to handle. If it throws, that error is kept and
 *   the tree shuts down.
 *
 * @example
 * ```ts
 * const sup = new Supervisor({
 *   onTaskError: (error, task) => metrics.increment('task_failed', { task: task.name }),
 * });
 * ```
 */
export type TaskErrorPolicy = 'shutdown' | 'scope' | 'ignore' | ((error: unknown, task: Task) => void);

/**
 * The policies a root supervisor takes: all but `'scope'`, since a root has no owner above it
 * to deliver a failure to.
 *
 * @example
 * ```ts
 * const onTaskError: RootTaskErrorPolicy = 'ignore';
 * const sup = new Supervisor({ onTaskError });
 * ```
 */
export type RootTaskErrorPolicy = Exclude<TaskErrorPolicy, 'scope'>;

/**
 * Which of a supervisor's restarting tasks (those spawned with `restart`) a failure restarts,
 * after Erlang/OTP's supervisor strategies:
 * - `'one-for-one'` (default): the task that failed, alone.
 * - `'one-for-all'`: every restarting task of the supervisor. The others are stopped (their
 *   signal aborts) and awaited, then all of them start again in spawn order.
 * - `'rest-for-one'`: the task that failed and the restarting tasks spawned after it, which may
 *   depend on it, stopped, awaited and started again in spawn order.
 *
 * Tasks spawned without `restart` are never stopped or restarted by a strategy.
 *
 * @example
 * ```ts
 * const strategy: RestartStrategy = 'rest-for-one';
 * const pipeline = sup.child({ name: 'pipeline', strategy });
 * pipeline.spawn(poll, { restart: 'on-failure' });      // a failure here restarts consume too
 * pipeline.spawn(consume, { restart: 'on-failure' });   // a failure here restarts consume alone
 * ```
 */
export type RestartStrategy = 'one-for-one' | 'one-for-all' | 'rest-for-one';

/**
 * Options for `new Supervisor()`.
 *
 * @example
 * ```ts
 * const sup = new Supervisor({ name: 'api', shutdownTimeout: 15_000, drainDelay: 5_000, logger: false });
 * ```
 */
export interface SupervisorOptions {
  /** Shown in logs and errors. Default: `'supervisor'`. */
  readonly name?: string;
  /**
   * Milliseconds the whole shutdown may take: tasks, then every disposer. At the deadline,
   * pending tasks are reported as stragglers and disposal goes on without waiting.
   * `Infinity` waits for ever. Default: 8 000, which leaves 2 s for the report and the exit inside
   * the 10 s grace period of Docker and Cloud Run (see the README's table of hosts).
   */
  readonly shutdownTimeout?: number;
  /**
   * Milliseconds to wait, in a shutdown begun by a signal (or a `'shutdown'` message), between
   * the moment `sup.signal` aborts and the cancelling of tasks, while everything still runs: a
   * readiness endpoint answers 503 and the load balancer stops sending traffic before the
   * server stops accepting it (the Kubernetes `preStop` pattern). The `shutdownTimeout`
   * deadline starts after it. Default: 0.
   */
  readonly drainDelay?: number;
  /**
   * Milliseconds of the `shutdownTimeout` kept for disposal: tasks are waited for until the
   * deadline less this reserve at the latest, so one task that ignores its signal cannot leave
   * the resources (a database, a log exporter) no time to close. Clamped to a fifth of
   * `shutdownTimeout`; disposal also gets whatever the tasks did not use. A child keeps its own
   * reserve inside its parent's disposal. Default: 1 500 (so 1.5 s of the default 8 s).
   */
  readonly disposeReserve?: number;
  /**
   * Process signals that start a graceful shutdown of this root supervisor. A root that listens
   * to signals also takes a `'shutdown'` message on the IPC channel (sent by PM2 and by a
   * supervise cluster primary) as a graceful shutdown.
   * Default: `['SIGINT', 'SIGTERM']`; `false` (or `[]`) listens to none.
   */
  readonly signals?: readonly NodeJS.Signals[] | false;
  /**
   * A second signal while shutdown runs: `'force'` (default) exits the process at once with
   * 128 + the signal's number, so Ctrl-C twice is never stuck behind a hung cleanup;
   * `'ignore'` lets the shutdown finish.
   */
  readonly secondSignal?: 'force' | 'ignore';
  /** What a failed task does to the supervisor. Default: `'shutdown'`. `'scope'` is for child supervisors only. */
  readonly onTaskError?: RootTaskErrorPolicy;
  /** Where operational lines go. Default: `console`; `false` silences them. */
  readonly logger?: Logger | false;
  /**
   * A signal that prints this root's task tree (`sup.tasks()`) to stderr without stopping
   * anything, such as `'SIGUSR2'`. Not one of `signals`. Default: none.
   */
  readonly dumpSignal?: NodeJS.Signals;
  /**
   * Record where each task was spawned, so the stuck-task report at the deadline shows the
   * stack of each straggler's spawn call. Costs a captured stack per spawn; always on with
   * `NODE_DEBUG=supervise`. Inherited by children. Default: false.
   */
  readonly captureSpawnSites?: boolean;
  /**
   * Which restarting tasks a failure restarts: a {@link RestartStrategy}. Not inherited by
   * children: each supervisor's strategy says how its own tasks depend on each other, as each
   * OTP supervisor has its own. Default: `'one-for-one'`.
   */
  readonly strategy?: RestartStrategy;
  /**
   * This supervisor's restart intensity, as OTP's `intensity`: more than this many restarts
   * within `within` ms and it gives up, under every strategy. A restart counts once however
   * many tasks it restarts (one failure, one restart). The task whose failure was one too many
   * ends with its error (a `RestartLimitError` for a return under `'always'`), which goes to
   * `onTaskError`: by default the tree shuts down. An integer >= 0, or `Infinity`. Not
   * inherited by children. Default: `Infinity` (no limit but each task's own).
   */
  readonly maxRestarts?: number;
  /**
   * With `maxRestarts`: the sliding window, in milliseconds, in which it is counted (OTP's
   * `period`). Not inherited by children. Default: 60 000.
   */
  readonly within?: number;
}

/**
 * Options for `sup.child()`: a child inherits every option it does not set, and never listens to signals.
 *
 * @example
 * ```ts
 * const jobs = sup.child({ name: 'jobs', shutdownTimeout: 30_000, onTaskError: 'ignore' });
 * ```
 */
export interface ChildOptions {
  readonly name?: string;
  readonly shutdownTimeout?: number;
  readonly disposeReserve?: number;
  readonly onTaskError?: TaskErrorPolicy;
  readonly logger?: Logger | false;
  /** As {@link SupervisorOptions.strategy}; not inherited: a child's own tasks, its own strategy. Default: `'one-for-one'`. */
  readonly strategy?: RestartStrategy;
  /** As {@link SupervisorOptions.maxRestarts}; not inherited. Default: `Infinity`. */
  readonly maxRestarts?: number;
  /** As {@link SupervisorOptions.within}, with `maxRestarts`; not inherited. Default: 60 000. */
  readonly within?: number;
}

/**
 * Options for `sup.scope()`: a child's options but `onTaskError`, which is `'scope'`.
 *
 * @example
 * ```ts
 * await using scope = sup.scope({ name: `request ${id}`, shutdownTimeout: 2_000 });
 * ```
 */
export type ScopeOptions = Omit<ChildOptions, 'onTaskError'>;

/** @internal Options after defaults and checks. */
export interface ResolvedOptions {
  readonly name: string;
  readonly shutdownTimeout: number;
  readonly disposeReserve: number;
  readonly drainDelay: number;
  readonly signals: readonly NodeJS.Signals[];
  readonly forceOnSecondSignal: boolean;
  readonly onTaskError: TaskErrorPolicy;
  readonly logger: Logger | undefined;
  /** Given, or `NODE_DEBUG=supervise`. */
  readonly captureSpawnSites: boolean;
  readonly dumpSignal: NodeJS.Signals | undefined;
  /** The three below are the supervisor's own: never inherited. */
  readonly strategy: RestartStrategy;
  /** Infinity: no supervisor-level limit. */
  readonly maxRestarts: number;
  readonly within: number;
}

const defaultSignals: readonly NodeJS.Signals[] = Object.freeze(['SIGINT', 'SIGTERM']);

/** @internal The names `new Supervisor()` takes; `run()` takes these and its own. */
export const supervisorOptionNames = [
  'name',
  'shutdownTimeout',
  'disposeReserve',
  'drainDelay',
  'signals',
  'secondSignal',
  'onTaskError',
  'logger',
  'captureSpawnSites',
  'dumpSignal',
  'strategy',
  'maxRestarts',
  'within',
] as const;
const childOptionNames = ['name', 'shutdownTimeout', 'disposeReserve', 'onTaskError', 'logger', 'signals', 'strategy', 'maxRestarts', 'within'] as const;
const rootOnlyOptionNames = ['drainDelay', 'secondSignal', 'dumpSignal', 'captureSpawnSites'] as const;
/** Why each is its root's alone, for the refusal at `child()`. */
const rootOnly: Record<(typeof rootOnlyOptionNames)[number], string> = {
  drainDelay: 'only a root supervisor drains before cancelling',
  secondSignal: 'a second signal reaches the root, which decides for the whole tree',
  dumpSignal: "the root's dump signal prints the whole tree, this child included",
  captureSpawnSites: 'a child captures spawn sites when its root does',
};

/** @internal Resolves the options of a root supervisor. */
export function resolveRootOptions(options: SupervisorOptions | undefined): ResolvedOptions {
  const given = checkObject(options, 'new Supervisor(options)');
  checkKnownKeys(given, supervisorOptionNames, 'options');
  const secondSignal = given.secondSignal ?? 'force';
  if (secondSignal !== 'force' && secondSignal !== 'ignore') {
    throw invalidArgValue('options.secondSignal', "'force' or 'ignore'", secondSignal);
  }
  const signals = given.signals === undefined ? defaultSignals : given.signals === false ? [] : validateSignals(given.signals);
  return {
    name: checkName(given.name, 'supervisor'),
    shutdownTimeout: checkTimeout(given.shutdownTimeout, 8_000),
    disposeReserve: checkReserve(given.disposeReserve, 1_500),
    drainDelay: checkDelay(given.drainDelay),
    signals,
    forceOnSecondSignal: secondSignal === 'force',
    onTaskError: checkRootPolicy(given.onTaskError),
    logger: checkLogger(given.logger, console),
    captureSpawnSites: checkBoolean(given.captureSpawnSites, false, 'options.captureSpawnSites') || builtin('node:util').debuglog('supervise').enabled,
    dumpSignal: checkDumpSignal(given.dumpSignal, signals),
    ...checkRestarts(given, 'options'),
  };
}

/** @internal Resolves a child's options, inheriting what it does not set from its parent. */
export function resolveChildOptions(options: ChildOptions | undefined, parent: ResolvedOptions, index: number): ResolvedOptions {
  const given = checkObject(options, 'sup.child(options)') as ChildOptions & Partial<Record<(typeof rootOnlyOptionNames)[number] | 'signals', unknown>>;
  if (given.signals !== undefined && given.signals !== false) {
    throw invalidArgValue('child options.signals', 'absent: a child supervisor never listens to signals (its root does)', given.signals);
  }
  for (const name of rootOnlyOptionNames) {
    if (given[name] !== undefined) throw invalidArgValue(`child options.${name}`, `absent: ${rootOnly[name]}`, given[name]);
  }
  checkKnownKeys(given, childOptionNames, 'child options');
  return {
    name: checkName(given.name, `${parent.name}/${index}`),
    shutdownTimeout: checkTimeout(given.shutdownTimeout, parent.shutdownTimeout),
    disposeReserve: checkReserve(given.disposeReserve, parent.disposeReserve),
    drainDelay: 0,
    signals: [],
    forceOnSecondSignal: parent.forceOnSecondSignal,
    onTaskError: checkPolicy(given.onTaskError, parent.onTaskError),
    logger: given.logger === undefined ? parent.logger : checkLogger(given.logger, undefined),
    captureSpawnSites: parent.captureSpawnSites,
    dumpSignal: undefined,
    // Not the parent's: a strategy describes how one supervisor's own tasks depend on each other.
    ...checkRestarts(given, 'child options'),
  };
}

/** @internal A scope's options, as the child options they are: `onTaskError` is `'scope'`, and not the caller's to set. */
export function scopeOptions(options: ScopeOptions | undefined): ChildOptions {
  const given = checkObject(options, 'sup.scope(options)') as ScopeOptions & { readonly onTaskError?: unknown };
  if (given.onTaskError !== undefined)
    throw invalidArgValue('scope options.onTaskError', "absent: a scope's policy is 'scope' (use sup.child() for another)", given.onTaskError);
  return { ...given, onTaskError: 'scope' };
}

function checkObject<T extends object>(options: T | undefined, call: string): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw invalidArgType(`${call}: options`, 'an object', options);
  return options;
}

function checkName(name: unknown, fallback: string): string {
  if (name === undefined) return fallback;
  if (typeof name !== 'string') throw invalidArgType('options.name', 'a string', name);
  return name;
}

/** A supervisor's `strategy`, `maxRestarts` and `within`, checked as `spawn` checks its own `maxRestarts` and `within`. */
function checkRestarts(
  given: Pick<SupervisorOptions, 'strategy' | 'maxRestarts' | 'within'>,
  what: string,
): Pick<ResolvedOptions, 'strategy' | 'maxRestarts' | 'within'> {
  const { strategy = 'one-for-one', maxRestarts, within } = given;
  if (strategy !== 'one-for-one' && strategy !== 'one-for-all' && strategy !== 'rest-for-one') {
    throw invalidArgValue(`${what}.strategy`, "'one-for-one', 'one-for-all' or 'rest-for-one'", strategy);
  }
  // As spawn refuses maxRestarts without restart: a window alone limits nothing, and is a mistake.
  if (within !== undefined && maxRestarts === undefined) {
    throw invalidArgValue(`${what}.within`, `given only with ${what}.maxRestarts (the supervisor's restart intensity)`, within);
  }
  return {
    strategy,
    maxRestarts: checkMaxRestarts(maxRestarts, Infinity, `${what}.maxRestarts`),
    within: checkWithin(within, 60_000, `${what}.within`),
  };
}

function checkDumpSignal(value: unknown, signals: readonly NodeJS.Signals[]): NodeJS.Signals | undefined {
  if (value === undefined) return undefined;
  const [signal] = validateSignals([value], 'options.dumpSignal') as [NodeJS.Signals];
  if (signals.includes(signal)) throw invalidArgValue('options.dumpSignal', 'a signal that does not also shut down (not in options.signals)', value);
  return signal;
}

function checkReserve(value: unknown, fallback: number): number {
  return checkFiniteMs(value, fallback, 'options.disposeReserve');
}

function checkDelay(value: unknown): number {
  return checkFiniteMs(value, 0, 'options.drainDelay');
}

function checkBoolean(value: unknown, fallback: boolean, what: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgType(what, 'a boolean', value);
  return value;
}

function checkPolicy(value: unknown, fallback: TaskErrorPolicy): TaskErrorPolicy {
  if (value === undefined) return fallback;
  if (value === 'shutdown' || value === 'scope' || value === 'ignore' || typeof value === 'function') return value as TaskErrorPolicy;
  throw invalidArgValue('options.onTaskError', "'shutdown', 'scope', 'ignore' or a function (error, task) => void", value);
}

function checkRootPolicy(value: unknown): RootTaskErrorPolicy {
  if (value === 'scope') {
    throw invalidArgValue(
      'options.onTaskError',
      "'shutdown', 'ignore' or a function on a root supervisor: 'scope' delivers a failure to the code that owns a child supervisor (sup.scope()), and a root has none",
      value,
    );
  }
  return checkPolicy(value, 'shutdown') as RootTaskErrorPolicy;
}

function checkLogger(value: unknown, fallback: Logger | undefined): Logger | undefined {
  if (value === undefined) return fallback;
  if (value === false) return undefined;
  const logger = value as Partial<Logger> | null;
  if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function' || typeof logger.error !== 'function') {
    throw invalidArgType('options.logger', 'an object with warn() and error() methods, or false', value);
  }
  return logger as Logger;
}
