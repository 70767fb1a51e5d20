/**
 * `supervise/testing`: test a program's shutdown path in the test's own process, without
 * sending real signals or exiting.
 *
 * - {@link simulateSignal} delivers a signal to a supervisor's root exactly as the process
 *   listener would: same log lines, same `drainDelay`, cause `'signal'`, and a second one
 *   while the shutdown runs is the user insisting, as with a real signal.
 * - {@link runForTest} is `run()` with an injected exit: the exit code a real process would
 *   end with is a promise the test awaits, and the supervisor is at hand to signal. Its
 *   `timeline: true` records from before `main` runs, and `onStart` hands the test the root
 *   before `main`'s first line, so neither misses what `main` does synchronously; `program.main`
 *   settles once `main` has returned.
 * - {@link recordTimeline} (in `timeline.ts`) records what a supervisor tree does (spawns,
 *   settles, restarts, each shutdown phase and disposal, the end) from supervise's diagnostics
 *   channels, as lines a test can assert the order of.
 *
 * What they do not replace: a test that a real signal reaches the process and that it really
 * exits with the code (supervise's own specs keep those as child processes).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { setTimeout as sleep } from 'node:timers/promises';
 * import { runForTest, simulateSignal } from 'supervise/testing';
 *
 * const program = runForTest(async (sup) => {
 *   sup.defer(() => console.log('database closed'));
 *   sup.spawn((signal) => sleep(60_000, undefined, { signal }), { name: 'consumer' });
 * }, { name: 'app', logger: false, timeline: true });
 * await program.main;                          // main has returned: its work is started
 * simulateSignal(program.supervisor, 'SIGTERM');
 * assert.equal(await program.exitCode, 0);
 * program.timeline.assertOrder([
 *   'app: spawn main',
 *   'app: spawn consumer',                     // main's synchronous part, recorded too
 *   'app: settle consumer cancelled',
 *   'app: dispose deferred disposed',
 *   'app: stopped 0',
 * ]);
 * ```
 * @module
 */
import { builtin } from './builtins.js';
import { invalidArgType, invalidArgValue, loggable } from './errors.js';
import { recordFailure } from './failure-policy.js';
import { checkKnownKeys, checkOptionsObject } from './option-checks.js';
import { supervisorOptionNames } from './options.js';
import { type RunOptions, runOptionNames, startRun } from './run.js';
import type { ShutdownReport } from './report.js';
import { checkSignalName, signalNumber } from './signals.js';
import { Supervisor } from './supervisor.js';
import { type Timeline, recordTimeline } from './timeline.js';

export { recordTimeline, type Timeline, type TimelineEvent } from './timeline.js';

/**
 * Delivers `signal` to `sup`'s root supervisor as the process listener would, without sending
 * one: the first starts a graceful shutdown (cause `'signal'`, with `drainDelay`); one while the
 * shutdown runs is noted, or, under `secondSignal: 'force'`, forces the exit. Returns the exit
 * code a forced exit would have (128 + the signal's number), else undefined. A forced exit calls
 * the exit function given to `run()` (as {@link runForTest} does); it never calls `process.exit`.
 *
 * @example
 * ```ts
 * import { Supervisor } from 'supervise';
 * import { simulateSignal } from 'supervise/testing';
 *
 * const sup = new Supervisor({ logger: false });
 * simulateSignal(sup, 'SIGTERM');
 * const report = await sup.done;
 * console.log(report.cause, report.signal);   // signal SIGTERM
 * ```
 * @throws TypeError when `sup` is not a Supervisor, `signal` is not a signal name, or the root does not listen to it (or has stopped).
 */
export function simulateSignal(sup: Supervisor, signal: NodeJS.Signals = 'SIGTERM'): number | undefined {
  if (!(sup instanceof Supervisor)) throw invalidArgType('simulateSignal(sup)', 'a Supervisor', sup);
  const name = checkSignalName(signal, 'simulateSignal(sup, signal)');
  const root = sup._root;
  if (!root._options.signals.includes(name)) {
    throw invalidArgValue(
      'simulateSignal(sup, signal)',
      `a signal supervisor "${root.name}" listens to (${root._options.signals.join(', ') || 'none: signals is false'})`,
      name,
    );
  }
  if (root.state === 'stopped') {
    // Its listener is gone: a real signal would not reach it.
    throw invalidArgValue(
      'simulateSignal(sup)',
      `a supervisor whose root is still running or stopping (root "${root.name}" has stopped, and no longer listens)`,
      root.name,
    );
  }
  // A simulated signal reaches this root alone.
  if (root._listener?.receiveSignal(name, []) !== true) return undefined;
  const code = 128 + signalNumber(name);
  root._hooks?.exit?.(code);
  return code;
}

/**
 * A program started by {@link runForTest}.
 *
 * @example
 * ```ts
 * const { supervisor, exitCode, report, main: returned, timeline } = runForTest(main, { timeline: true });
 * ```
 */
export interface ProgramUnderTest<T = unknown> {
  /** The root supervisor `run()` made; `main` receives it too. */
  readonly supervisor: Supervisor;
  /** The exit code the process would end with: the report's, or 128 + n for a forced second signal. */
  readonly exitCode: Promise<number>;
  /** The shutdown report, as `run()` resolves it. */
  readonly report: Promise<ShutdownReport>;
  /**
   * Settles once `main` has returned (its promise has settled): with its value, or rejected with
   * what it threw. Rejected, too, with what `onStart` threw (main did not run then), or with the
   * `SupervisorClosedError` of a main that could not start because `onStart` began a shutdown.
   * Without `main`, it resolves with `undefined` once started. A rejection is in the report
   * already, so one nobody awaits is no `unhandledRejection`.
   */
  readonly main: Promise<T>;
  /** With `timeline: true`, the root's {@link Timeline}, recording since before `main` ran; else undefined. */
  readonly timeline: Timeline | undefined;
}

/**
 * Options for {@link runForTest}: `run()`'s, less `exit` (runForTest injects its own), plus what a
 * test attaches before `main` runs. `run()` refuses these two.
 *
 * @example
 * ```ts
 * const options: RunForTestOptions = { name: 'app', logger: false, timeline: true, onStart: (sup) => sup.defer(() => db.close()) };
 * ```
 */
export interface RunForTestOptions extends Omit<RunOptions, 'exit'> {
  /**
   * `true`: `program.timeline` is a {@link Timeline} of the root that started before `main`, so
   * it has main's synchronous part too (`app: spawn main`, the tasks main spawns before its first
   * `await`, one that settled at once). It stops when the root has stopped, or at
   * `timeline.stop()`. Default: false.
   */
  readonly timeline?: boolean;
  /**
   * Called with the root supervisor once `run()` has set it up, right before `main`'s first line
   * (and after `timeline` has started): for what a test attaches from the start, such as its own
   * diagnostics subscriber, a `recordTimeline`, or a `defer`. It must be synchronous: what it
   * throws fails the run as `main` throwing does (the report has it, exit code 1; whatever
   * `onTaskError` says, a broken test setup never passes), and `main` does not run. An async
   * function fails it the same way, with a `TypeError`: `main` would not wait for it, and its
   * `await`s would race `main`'s first lines (what its promise rejects with is reported too). Any
   * other value it returns (a Task, say) is ignored.
   */
  readonly onStart?: (sup: Supervisor) => void;
}

/**
 * Runs `main` with `run()` in this process, with an injected exit: nothing exits, and the code
 * the process would have ended with is `exitCode`. Every other option and behaviour is `run()`'s,
 * including its process listeners while it runs (removed when it has finished). With
 * `timeline: true`, `program.timeline` records from before `main` runs; `onStart(sup)` runs before
 * `main` (see {@link RunForTestOptions}); `program.main` settles once `main` has returned.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { runForTest } from 'supervise/testing';
 *
 * const program = runForTest((sup) => {
 *   sup.spawn(() => { throw new Error('boom'); }, { name: 'loader' });   // fails before main returns
 * }, { name: 'app', logger: false, timeline: true });
 * await program.main;
 * assert.equal(await program.exitCode, 1);
 * program.timeline.assertOrder(['app: spawn loader', 'app: settle loader rejected', 'app: shutdown error', 'app: stopped 1']);
 * ```
 * @throws TypeError or RangeError, as `run()` does; TypeError for an `exit` option, a `timeline`
 * that is not a boolean, an `onStart` that is not a function.
 */
export function runForTest<T = unknown>(
  main: ((sup: Supervisor) => T) | undefined,
  options: RunForTestOptions & { readonly timeline: true },
): ProgramUnderTest<Awaited<T>> & { readonly timeline: Timeline };
/**
 * {@link runForTest} without `timeline: true`: `program.timeline` is undefined.
 *
 * @example
 * ```ts
 * const { exitCode } = runForTest(main, { logger: false });
 * ```
 */
export function runForTest<T = unknown>(main?: (sup: Supervisor) => T, options?: RunForTestOptions): ProgramUnderTest<Awaited<T>>;
export function runForTest<T>(main?: (sup: Supervisor) => T, options: RunForTestOptions = {}): ProgramUnderTest<Awaited<T>> {
  if (main !== undefined && typeof main !== 'function') throw invalidArgType('runForTest(main)', 'a function or undefined', main);
  checkOptionsObject(options, 'runForTest(main, options)');
  // Each option read once, here: a getter or a Proxy cannot tell the checks one thing and the run another.
  const { timeline, onStart, exit, ...runOptions }: RunForTestOptions & { readonly exit?: unknown } = { ...options };
  if (exit !== undefined) throw invalidArgValue('runForTest options.exit', 'absent: runForTest injects its own', exit);
  if (timeline !== undefined && typeof timeline !== 'boolean') throw invalidArgType('runForTest options.timeline', 'a boolean', timeline);
  if (onStart !== undefined && typeof onStart !== 'function') throw invalidArgType('runForTest options.onStart', 'a function (sup) => void', onStart);
  // timeline and onStart are known too: a misspelt one is named as the closest.
  checkKnownKeys(runOptions, [...supervisorOptionNames, ...runOptionNames.filter((name) => name !== 'exit'), ...testOptionNames], 'runForTest options');

  let resolveExit!: (code: number) => void;
  const exitCode = new Promise<number>((resolve) => (resolveExit = resolve));
  let recorder: Timeline | undefined;
  let mainSettled: Promise<unknown> = Promise.resolve(undefined);
  const { supervisor, report } = startRun(main, { ...runOptions, exit: (code) => resolveExit(code) }, (sup, startMain) => {
    if (timeline === true) recorder = recordTimeline(sup);
    const failure = onStart === undefined ? undefined : callOnStart(onStart, sup);
    if (failure !== undefined) {
      mainSettled = Promise.reject(failure.error);
      return;
    }
    try {
      // `then` without a rejection handler: the task is not marked as awaited (which would keep
      // its error from the root's `Symbol.asyncDispose`), so main runs exactly as under `run()`.
      mainSettled = startMain()?.then() ?? mainSettled;
    } catch (refusal) {
      mainSettled = Promise.reject(refusal); // onStart began a shutdown that takes no more tasks
    }
  });
  // The failure is in the report already: a test that never looks at `main` must not see it again
  // as an unhandledRejection. One that awaits `main` still gets the rejection.
  mainSettled.then(undefined, () => {});
  return { supervisor, exitCode, report, main: mainSettled as Promise<Awaited<T>>, timeline: recorder };
}

const testOptionNames = ['timeline', 'onStart'] as const;

/**
 * Calls `onStart(sup)`. What it throws, or a promise it returns, fails the run as main throwing
 * does: returned as the failure (main must not run then). Never throws.
 */
function callOnStart(onStart: (sup: Supervisor) => void, sup: Supervisor): { readonly error: unknown } | undefined {
  let returned: unknown;
  try {
    returned = onStart(sup);
  } catch (error) {
    return failStart(sup, error);
  }
  // A genuine promise only (an async function's): a Task returned by an arrow is not a mistake.
  // `types.isPromise` runs no user code, as `instanceof` would on a Proxy.
  if (!builtin('node:util').types.isPromise(returned)) return undefined;
  // What the promise rejects with is reported too, or logged once the report is made: never lost.
  // Watched before the run fails, so that a promise rejected already is seen before the report.
  try {
    Promise.prototype.then.call(returned, undefined, (error: unknown) => {
      if (sup.state === 'stopped')
        sup._log('error', `supervise: the promise runForTest options.onStart returned rejected after "${sup.name}" stopped:`, loggable(error));
      else sup._life.keepError(error);
    });
  } catch (error) {
    // `then` reads the promise's `constructor`, whose getter threw: reported too. The rejection,
    // unwatched, reaches run()'s unhandledRejection listener, which reports it.
    sup._life.keepError(error);
  }
  return failStart(
    sup,
    invalidArgValue('runForTest options.onStart', 'a synchronous function (main starts as soon as it returns, without waiting for its promise)', returned),
  );
}

/** Fails the run with `error`, as a failing main does, whatever `onTaskError` says. */
function failStart(sup: Supervisor, error: unknown): { readonly error: unknown } {
  recordFailure(sup, error, 'runForTest options.onStart failed');
  return { error };
}
