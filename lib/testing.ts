/**
 * `supervise/testing`: test a program's shutdown path in the test's own process, without
 * sending real signals or exiting.
 *
 * - {@link simulateSignal} delivers a signal to a supervisor's root exactly as the process
 *   listener would: same log lines, same `drainDelay`, cause `'signal'`, and a second one
 *   while the shutdown runs is the user insisting, as with a real signal.
 * - {@link runForTest} is `run()` with an injected exit: the exit code a real process would
 *   end with is a promise the test awaits, and the supervisor is at hand to signal.
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
 * import { recordTimeline, runForTest, simulateSignal } from 'supervise/testing';
 *
 * const program = runForTest(async (sup) => {
 *   sup.defer(() => console.log('database closed'));
 *   sup.spawn((signal) => sleep(60_000, undefined, { signal }), { name: 'consumer' });
 * }, { name: 'app', logger: false });
 * const timeline = recordTimeline(program.supervisor);
 * simulateSignal(program.supervisor, 'SIGTERM');
 * assert.equal(await program.exitCode, 0);
 * timeline.assertOrder(['app: settle consumer cancelled', 'app: dispose deferred disposed', 'app: stopped 0']);
 * ```
 * @module
 */
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
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
import { invalidArgType, invalidArgValue } from './errors.js';
import { disposeSymbol } from './ponyfill.js';
import { type RunOptions, startRun } from './run.js';
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
 * const { supervisor, exitCode, report } = runForTest(main);
 * ```
 */
export interface ProgramUnderTest {
  /** The root supervisor `run()` made; `main` receives it too. */
  readonly supervisor: Supervisor;
  /** The exit code the process would end with: the report's, or 128 + n for a forced second signal. */
  readonly exitCode: Promise<number>;
  /** The shutdown report, as `run()` resolves it. */
  readonly report: Promise<ShutdownReport>;
}

/**
 * Runs `main` with `run()` in this process, with an injected exit: nothing exits, and the code
 * the process would have ended with is `exitCode`. Every other option and behaviour is `run()`'s,
 * including its process listeners while it runs (removed when it has finished).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { runForTest } from 'supervise/testing';
 *
 * const program = runForTest(async (sup) => {
 *   sup.spawn(async () => { throw new Error('boom'); });
 * }, { logger: false });
 * assert.equal(await program.exitCode, 1);
 * ```
 * @throws TypeError or RangeError, as `run()` does; TypeError when `options.exit` is given.
 */
export function runForTest(main?: (sup: Supervisor) => unknown, options: Omit<RunOptions, 'exit'> = {}): ProgramUnderTest {
  if (typeof options === 'object' && options !== null && (options as RunOptions).exit !== undefined) {
    throw invalidArgValue('runForTest options.exit', 'absent: runForTest injects its own', (options as RunOptions).exit);
  }
  let resolveExit!: (code: number) => void;
  const exitCode = new Promise<number>((resolve) => (resolveExit = resolve));
  const { supervisor, report } = startRun(main, { ...options, exit: (code) => resolveExit(code) });
  return { supervisor, exitCode, report };
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
 * until `sup` has stopped (or `stop()`). Other supervisors are left out.
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
  const done = sup.done.then((report) => {
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
