/**
 * Timelines: what a supervisor tree does (spawns, settles, restarts, each shutdown phase and
 * disposal, the stragglers, the end), recorded from supervise's diagnostics channels as lines a
 * test can assert the order of. Part of `supervise/testing`, which re-exports it.
 *
 * @example
 * ```ts
 * import { Supervisor } from 'supervise';
 * import { recordTimeline } from 'supervise/testing';
 *
 * const sup = new Supervisor({ name: 'app', signals: false, logger: false });
 * const timeline = recordTimeline(sup);
 * sup.spawn((signal) => new Promise((resolve) => signal.addEventListener('abort', resolve)), { name: 'worker' });
 * await sup.shutdown();
 * timeline.assertOrder(['app: spawn worker', 'app: settle worker fulfilled', 'app: stopped 0']);
 * ```
 * @module
 */
import { builtin } from './builtins.js';
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
import { invalidArgType } from './errors.js';
import { disposeSymbol } from './ponyfill.js';
import type { ShutdownReport } from './report.js';
import { Supervisor } from './supervisor.js';

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
  for (const [name, onMessage] of subscriptions) builtin('node:diagnostics_channel').subscribe(name, onMessage);
  let recording = true;
  const stop = () => {
    if (!recording) return;
    recording = false;
    for (const [name, onMessage] of subscriptions) builtin('node:diagnostics_channel').unsubscribe(name, onMessage);
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
          builtin('node:assert/strict').fail(
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
