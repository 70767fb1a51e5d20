/**
 * `run()`: the process entry point. One call owns the process: it starts a root Supervisor,
 * runs `main` as its first task, keeps the process alive, turns SIGINT and SIGTERM into a
 * graceful shutdown, turns uncaught errors into a failed one, and exits with a code that
 * systemd, Docker and Kubernetes read correctly.
 *
 * It is aiorun's `run(main())` with the known gaps closed: its listeners are gone once it has
 * finished; a signal during a shutdown begun another way does not cut it short; errors raised
 * while tasks are cancelled are reported; nothing can be spawned that shutdown would not wait
 * for; and one deadline bounds everything.
 *
 * Exit codes: 0 clean (a graceful stop after a signal included); 1 a task, uncaught error or
 * callback failed; 124 the deadline passed with stragglers; 128 + n forced by a second signal n.
 *
 * @module
 */
import { invalidArgType, loggable } from './errors.js';
import { LongTimeout } from './long-timeout.js';
import { checkKnownKeys } from './option-checks.js';
import { type SupervisorOptions, supervisorOptionNames } from './options.js';
import { ProcessEdge } from './process-edge.js';
import { EXIT_DEADLINE, type ShutdownReport } from './report.js';
import { exitNow } from './root-listener.js';
import { holdProcess, releaseProcess } from './signals.js';
import { Supervisor } from './supervisor.js';
import type { Task } from './task.js';

/**
 * Options for {@link run}: every Supervisor option, plus how `run()` owns the process.
 *
 * @example
 * ```ts
 * await run(main, { shutdownTimeout: 15_000, onShutdown: () => registry.deregister(), exitWhenDone: true });
 * ```
 */
export interface RunOptions extends SupervisorOptions {
  /**
   * aiorun's `shutdown_callback`: runs exactly once when shutdown begins, before any task is
   * aborted, while tasks still run (`sup.signal` is already aborted). Sync or async. Its error
   * is reported (exit 1), unless an error from main or a task is already pending: that one
   * wins, and this one is logged.
   */
  readonly onShutdown?: (sup: Supervisor) => unknown;
  /**
   * `true` (default): an `uncaughtException` or `unhandledRejection` anywhere in the process is
   * logged with its stack and starts a graceful shutdown that ends in exit code 1. `false`: it
   * is logged and the program keeps running (aiorun's default).
   */
  readonly stopOnUnhandledErrors?: boolean;
  /** Shut down once main and every task have settled, for batch jobs. Default: false. */
  readonly exitWhenDone?: boolean;
  /**
   * `true` (default): once shutdown has finished and stdout and stderr are flushed, exit the
   * process with `report.exitCode`. `false`: only resolve the report; set no exit code.
   * A function: called with the exit code instead of `process.exit`, then and for a forced
   * second signal, so a test can assert it in-process (see `supervise/testing`).
   */
  readonly exit?: boolean | ((code: number) => void);
}

/** @internal The options `run()` adds to a Supervisor's. */
export const runOptionNames = ['onShutdown', 'stopOnUnhandledErrors', 'exitWhenDone', 'exit'] as const;

/**
 * @internal How `startRun` starts main once the root is set up: `run()` calls `startMain` at once;
 * `runForTest` runs its hooks first. `startMain` spawns the task `main` and returns it (undefined
 * without main), and throws what `spawn` throws (a hook may have begun a shutdown).
 */
export type MainStarter = (sup: Supervisor, startMain: () => Task<unknown> | undefined) => void;

const startAtOnce: MainStarter = (_sup, startMain) => void startMain();

/**
 * Runs `main(sup)` as the task named `main` of a new root Supervisor and owns the process until
 * it has shut down. Without `main`, it runs until a signal. Resolves with the shutdown report;
 * with `exit: true` (the default) the process then exits with `report.exitCode`.
 *
 * @example
 * ```ts
 * import { run } from 'supervise';
 * await run(async (sup) => {
 *   const db = sup.use(await openDatabase());
 *   sup.spawn(async (signal) => { for await (const job of queue.consume({ signal })) await handle(db, job); });
 * }, { onShutdown: () => console.log('draining') });
 * ```
 *
 * A bad argument or option throws at the call, synchronously, before any promise exists: the
 * typed error points at the line that caused it, and no supervisor, listener or task has been
 * created. So `run(main, badOptions).catch(…)` does not see it; `await run(…)` inside a `try`
 * does, and so does an uncaught exception at the top level of an ES module.
 *
 * @example
 * ```ts
 * import { run } from 'supervise';
 * try {
 *   void run(async () => {}, { shutdownTimeout: -1 }).catch(() => console.log('never reached'));
 * } catch (error) {
 *   console.log((error as RangeError).name); // RangeError, thrown by the call itself
 * }
 * ```
 * @throws TypeError or RangeError, synchronously, for a bad argument or option.
 */
export function run(main?: (sup: Supervisor) => unknown, options: RunOptions = {}): Promise<ShutdownReport> {
  return startRun(main, options).report;
}

/**
 * @internal `run()`, also handing back the supervisor it made: for `supervise/testing`, whose
 * `start` runs its hooks before main (see {@link MainStarter}).
 */
export function startRun(
  main: ((sup: Supervisor) => unknown) | undefined,
  options: RunOptions = {},
  start: MainStarter = startAtOnce,
): { supervisor: Supervisor; report: Promise<ShutdownReport> } {
  if (main !== undefined && typeof main !== 'function') throw invalidArgType('run(main)', 'a function or undefined', main);
  if (typeof options !== 'object' || options === null) throw invalidArgType('run(main, options): options', 'an object', options);
  for (const name of ['stopOnUnhandledErrors', 'exitWhenDone'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') throw invalidArgType(`options.${name}`, 'a boolean', options[name]);
  }
  if (options.exit !== undefined && typeof options.exit !== 'boolean' && typeof options.exit !== 'function') {
    throw invalidArgType('options.exit', 'a boolean or a function (code) => void', options.exit);
  }
  checkKnownKeys(options, [...supervisorOptionNames, ...runOptionNames], 'options');
  const { onShutdown, stopOnUnhandledErrors = true, exitWhenDone = false, exit = true } = options;
  if (onShutdown !== undefined && typeof onShutdown !== 'function') throw invalidArgType('options.onShutdown', 'a function', onShutdown);

  const supervisorOptions: Record<string, unknown> = { ...options };
  for (const name of runOptionNames) delete supervisorOptions[name];
  const sup = new Supervisor(supervisorOptions as SupervisorOptions);
  const beforeCancel =
    onShutdown === undefined
      ? undefined
      : async () => {
          try {
            await onShutdown(sup);
          } catch (error) {
            // An error already pending from main or a task is the cause; this one must not hide it.
            if (sup._life.errors.length === 0) throw error;
            sup._log('error', 'supervise: onShutdown failed as well:', loggable(error));
          }
        };
  sup._attachRun({
    beforeCancel,
    onIdle: exitWhenDone ? () => void sup.shutdown() : undefined,
    exit: typeof exit === 'function' ? exit : undefined,
  });

  const edge = new ProcessEdge(sup, stopOnUnhandledErrors);
  edge.attach();
  holdProcess();

  // The start counts as a pending task of the tree: a task a hook spawned that settled at once
  // must not make the tree idle (`exitWhenDone` would shut it down) before main has started.
  // Without main, the tree is idle once started: `exitWhenDone` shuts it down then.
  sup._busyChanged(true);
  start(sup, () => (main === undefined ? undefined : sup.spawn(() => main(sup), { name: 'main' })));
  sup._busyChanged(false);

  const report = sup.done.then(async (rootReport) => {
    releaseProcess();
    // Until the process exits, a late signal neither kills it nor is lost (secondSignal decides).
    edge.guardSignals();
    const deadlineAt = performance.now() - rootReport.durationMs + sup._options.drainDelay + sup._options.shutdownTimeout;
    // Errors raised as the shutdown ended (a rejection nobody awaited, a diagnostics subscriber
    // that threw) surface within a turn or two of the event loop: they count.
    await nextTurn();
    await nextTurn();
    let final = await joinRootsStoppedAlongside(sup, rootReport, deadlineAt);
    final = edge.withLateErrors(final);
    edge.logReport(final);
    final = edge.withLateErrors(final); // the logger itself may have failed
    if (exit === false) {
      edge.detach();
      return final;
    }
    await flushOutput();
    await nextTurn(); // what the closing lines set off (a callback, a rejection) surfaces too
    final = edge.afterSummary(final);
    edge.detach();
    exitNow(sup, final.exitCode);
    return final;
  });
  return { supervisor: sup, report };
}

/**
 * The other roots the same signal stopped (a library's own root, say): waited for until this
 * root's deadline, their errors and stragglers counted. One still stopping at the deadline is a
 * straggler.
 */
async function joinRootsStoppedAlongside(sup: Supervisor, report: ShutdownReport, deadlineAt: number): Promise<ShutdownReport> {
  const others = (sup._listener?.stoppedWith ?? []).map((listener) => listener.sup).filter((other) => other !== sup);
  if (others.length === 0) return report;
  const errors = [...report.errors];
  const stragglers = [...report.stragglers];
  let timer: LongTimeout | undefined;
  const expired = new Promise<undefined>((resolve) => (timer = new LongTimeout(deadlineAt, () => resolve(undefined))));
  const startedAt = performance.now();
  const reports = await Promise.all(others.map((other) => Promise.race([other.done, expired])));
  timer?.clear();
  let cancelled = report.cancelled;
  reports.forEach((other, index) => {
    if (other === undefined) {
      stragglers.push({
        id: 0,
        name: `root "${others[index]!.name}" (still shutting down)`,
        ageMs: Math.round(performance.now() - startedAt + report.durationMs),
      });
      return;
    }
    cancelled += other.cancelled;
    for (const error of other.errors) errors.push(error);
    for (const straggler of other.stragglers) stragglers.push(straggler);
  });
  return Object.freeze({
    ...report,
    cancelled,
    errors: Object.freeze(errors),
    stragglers: Object.freeze(stragglers),
    exitCode: errors.length > 0 ? 1 : stragglers.length > 0 ? EXIT_DEADLINE : 0,
  });
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Waits until what was written to stdout and stderr has been handed to the OS, or 2 s have passed. */
function flushOutput(): Promise<void> {
  const streams = [process.stdout, process.stderr];
  return new Promise((resolve) => {
    let pending = streams.length;
    const timer = setTimeout(resolve, 2_000);
    const done = () => {
      if (--pending === 0) {
        clearTimeout(timer);
        resolve();
      }
    };
    for (const stream of streams) {
      if (stream.writableLength === 0 || stream.destroyed) done();
      else stream.write('', done);
    }
  });
}
