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
 * - {@link recordTimeline} records what a supervisor tree does (spawns, settles, restarts,
 *   each shutdown phase and disposal, the end) from supervise's diagnostics channels, as lines a
 *   test can assert the order of.
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
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { types } from 'node:util';
import { channels } from './channels.js';
import type {
  ShutdownDisposeMessage,
  ShutdownEndMessage,
  ShutdownPhaseMessage,
  ShutdownStartMessage,
  TaskRestartMessage,
  TaskSettleMessage,
  TaskSpawnMessage,
} from './diagnostics.js';
import { invalidArgType, invalidArgValue, loggable } from './errors.js';
import { recordFailure } from './failure-policy.js';
import { checkKnownKeys, checkOptionsObject } from './option-checks.js';
import { supervisorOptionNames } from './options.js';
import { disposeSymbol } from './ponyfill.js';
import { type RunOptions, runOptionNames, startRun } from './run.js';
import type { ShutdownReport } from './report.js';
import { checkSignalName, signalNumber } from './signals.js';
import { Supervisor } from './supervisor.js';

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
  if (!types.isPromise(returned)) return undefined;
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

/**
 * One thing a supervisor did, as {@link recordTimeline} saw it.
 *
 * @example
 * ```ts
 * const timeline = recordTimeline(sup);
 * await sup.shutdown();
 * const cancelled = timeline.events.filter((event) => event.kind === 'settle' && event.detail === 'cancelled');
 * ```
 */
export interface TimelineEvent {
  readonly kind: 'spawn' | 'settle' | 'restart' | 'shutdown' | 'phase' | 'dispose' | 'straggler' | 'stopped';
  /** The supervisor's name. */
  readonly supervisor: string;
  /** The task's, disposer's or straggler's name, or the phase; empty for `shutdown` and `stopped`. */
  readonly subject: string;
  /** A settle's state, a restart's number (and the sibling that caused it), a shutdown's cause (and signal), a disposal's outcome, the exit code. */
  readonly detail: string;
  /** Milliseconds since recording began. */
  readonly atMs: number;
}

/**
 * What {@link recordTimeline} returns: the events so far, as records and as lines.
 *
 * Each line is `<supervisor>: <kind> <subject> <detail>`, with empty parts left out:
 * `app: spawn worker`, `app: settle worker cancelled`, `app: restart worker 1` (`app: restart
 * worker 1 (after db)` when a sibling's failure restarts it, under `'one-for-all'` or `'rest-for-one'`),
 * `app: shutdown signal SIGTERM`, `app: phase tasks`, `app: dispose db disposed`,
 * `app: straggler stubborn`, `app: stopped 124`.
 *
 * @example
 * ```ts
 * import { Supervisor } from 'supervise';
 * import { recordTimeline } from 'supervise/testing';
 *
 * const sup = new Supervisor({ name: 'app', signals: false });
 * const timeline = recordTimeline(sup);
 * sup.defer(function closeDatabase() {});   // a disposer is named after its callback
 * await sup.shutdown();
 * timeline.assertOrder(['app: phase tasks', 'app: dispose closeDatabase disposed', 'app: stopped 0']);
 * ```
 */
export interface Timeline extends Disposable {
  readonly events: readonly TimelineEvent[];
  /** The events as lines, in order. */
  lines(): string[];
  /**
   * Asserts that `expected` lines all occurred, in this order (other lines may come between).
   * Throws an `AssertionError` that shows every line recorded.
   */
  assertOrder(expected: readonly string[]): void;
  /** Resolves once the recorded supervisor has stopped, with its report; recording stops then. */
  readonly done: Promise<ShutdownReport>;
  /** Stops recording. Also `[Symbol.dispose]`, for `using`. */
  stop(): void;
}

/**
 * Records what `sup` and its children do from now on, from supervise's diagnostics channels,
 * until `sup` has stopped (or `stop()`). Other supervisors are left out. For a program under
 * {@link runForTest}, its `timeline: true` (or `onStart`) starts one before `main` runs: one
 * attached after `runForTest` returns misses main's synchronous part.
 *
 * @example
 * ```ts
 * import { setTimeout as sleep } from 'node:timers/promises';
 * import { Supervisor } from 'supervise';
 * import { recordTimeline } from 'supervise/testing';
 *
 * const sup = new Supervisor({ name: 'app', signals: false });
 * const timeline = recordTimeline(sup);
 * sup.spawn((signal) => sleep(60_000, undefined, { signal }), { name: 'worker' });
 * await sup.shutdown();
 * timeline.assertOrder(['app: shutdown shutdown', 'app: settle worker cancelled', 'app: phase tasks', 'app: stopped 0']);
 * ```
 * @throws TypeError when `sup` is not a Supervisor.
 */
export function recordTimeline(sup: Supervisor): Timeline {
  if (!(sup instanceof Supervisor)) throw invalidArgType('recordTimeline(sup)', 'a Supervisor', sup);
  const startedAt = performance.now();
  const events: TimelineEvent[] = [];
  const listedStragglers = new Set<number>();
  const add = (from: Supervisor, kind: TimelineEvent['kind'], subject: string, detail: string) => {
    if (isWithin(from, sup)) events.push({ kind, supervisor: from.name, subject, detail, atMs: performance.now() - startedAt });
  };
  const subscriptions: [string, (message: unknown) => void][] = [
    [channels.taskSpawn, (m) => add((m as TaskSpawnMessage).supervisor, 'spawn', (m as TaskSpawnMessage).task.name, '')],
    [
      channels.taskSettle,
      (m) => {
        const { supervisor, task, state } = m as TaskSettleMessage;
        add(supervisor, 'settle', task.name, state);
      },
    ],
    [
      channels.taskRestart,
      (m) => {
        const { supervisor, task, restart, cause } = m as TaskRestartMessage;
        // A sibling's failure (one-for-all, rest-for-one) is named; a task's own restart keeps the
        // short line, as does a message without `cause` (another, older copy of supervise publishes on these channels too).
        add(supervisor, 'restart', task.name, cause === undefined || cause === task ? String(restart) : `${restart} (after ${cause.name})`);
      },
    ],
    [
      channels.shutdownStart,
      (m) => {
        const { supervisor, cause, signal } = m as ShutdownStartMessage;
        add(supervisor, 'shutdown', '', signal === undefined ? cause : `${cause} ${signal}`);
      },
    ],
    [channels.shutdownPhase, (m) => add((m as ShutdownPhaseMessage).supervisor, 'phase', (m as ShutdownPhaseMessage).phase, '')],
    [
      channels.shutdownDispose,
      (m) => {
        const { supervisor, name, outcome } = m as ShutdownDisposeMessage;
        add(supervisor, 'dispose', name, outcome);
      },
    ],
    [
      channels.shutdownEnd,
      (m) => {
        const { supervisor, report } = m as ShutdownEndMessage;
        // A child's stragglers reach its parent's report too; a child ends first: list each once, under it.
        for (const straggler of report.stragglers) {
          if (listedStragglers.has(straggler.id) || !isWithin(supervisor, sup)) continue;
          listedStragglers.add(straggler.id);
          add(supervisor, 'straggler', straggler.name, '');
        }
        add(supervisor, 'stopped', '', String(report.exitCode));
      },
    ],
  ];
  for (const [name, onMessage] of subscriptions) diagnosticsChannel.subscribe(name, onMessage);
  let recording = true;
  const stop = () => {
    if (!recording) return;
    recording = false;
    for (const [name, onMessage] of subscriptions) diagnosticsChannel.unsubscribe(name, onMessage);
  };
  // Not `sup.done`: reading it would collect a request scope's failure (see `sup.scope()`), which watching must not.
  const done = sup._life.done.then((report) => {
    stop();
    return report;
  });
  const lines = () => events.map(lineOf);
  return {
    events,
    lines,
    done,
    stop,
    [disposeSymbol]: stop,
    assertOrder(expected) {
      const recorded = lines();
      let from = 0;
      for (const line of expected) {
        const at = recorded.indexOf(line, from);
        if (at < 0) {
          const seenEarlier = recorded.lastIndexOf(line, from - 1) >= 0;
          assert.fail(
            `timeline: ${JSON.stringify(line)} ${seenEarlier ? 'happened, but before the line expected ahead of it' : 'did not happen'}.\n` +
              `expected, in order:\n${expected.map((l) => `  ${l}`).join('\n')}\nrecorded:\n${recorded.map((l) => `  ${l}`).join('\n')}`,
          );
        }
        from = at + 1;
      }
    },
  };
}

/** Whether `sup` is `ancestor` or below it. */
function isWithin(sup: Supervisor, ancestor: Supervisor): boolean {
  for (let at: Supervisor | undefined = sup; at !== undefined; at = at._parent) if (at === ancestor) return true;
  return false;
}

function lineOf(event: TimelineEvent): string {
  return `${event.supervisor}: ${[event.kind, event.subject, event.detail].filter((part) => part !== '').join(' ')}`;
}
