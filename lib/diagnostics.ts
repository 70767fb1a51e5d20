/**
 * What supervise publishes on `node:diagnostics_channel`, for tracing, metrics and tests.
 *
 * Every channel is named `supervise:*` (`channels` has the names), and each is published only when someone subscribes
 * (`hasSubscribers`): a process that subscribes to none pays one property read per spawn and
 * settle, and allocates nothing. A subscriber runs synchronously inside supervise, like every
 * diagnostics_channel subscriber; one that throws does not break the supervisor: Node catches the
 * error and raises it as an uncaught exception on the next tick, which `run()` logs and turns into
 * a shutdown with exit code 1 (unless `stopOnUnhandledErrors: false`).
 *
 * | channel | published when | message |
 * | --- | --- | --- |
 * | `supervise:task:spawn` | a task is registered, before its function runs | {@link TaskSpawnMessage} |
 * | `supervise:task:settle` | a task has settled, with its final state | {@link TaskSettleMessage} |
 * | `supervise:task:restart` | a restart policy schedules a restart | {@link TaskRestartMessage} |
 * | `supervise:shutdown:start` | a supervisor's shutdown begins (phase 1) | {@link ShutdownStartMessage} |
 * | `supervise:shutdown:phase` | each phase ends: `drain`, `tasks`, `dispose` | {@link ShutdownPhaseMessage} |
 * | `supervise:shutdown:dispose` | a resource, callback or child has been disposed | {@link ShutdownDisposeMessage} |
 * | `supervise:shutdown:end` | the report is ready (phase 4) | {@link ShutdownEndMessage} |
 *
 * @example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel';
 * diagnostics_channel.subscribe('supervise:task:settle', (message) => {
 *   const { task, state, durationMs } = message as TaskSettleMessage;
 *   console.log(`${task.name} ${state} after ${durationMs} ms`);
 * });
 * ```
 * @module
 */
import type { ShutdownCause, ShutdownReport } from './report.js';
import type { Supervisor } from './supervisor.js';
import type { Task, TaskState } from './task.js';

/**
 * On `supervise:task:spawn`: a task was registered; its function runs right after.
 *
 * @example
 * ```ts
 * diagnostics_channel.subscribe(channels.taskSpawn, (m) => console.log('spawned', (m as TaskSpawnMessage).task.name));
 * ```
 */
export interface TaskSpawnMessage {
  readonly supervisor: Supervisor;
  readonly task: Task;
}

/**
 * On `supervise:task:settle`: a task has settled for good (after its last restart, if any).
 *
 * @example
 * ```ts
 * diagnostics_channel.subscribe(channels.taskSettle, (m) => {
 *   const { task, state, error } = m as TaskSettleMessage;
 *   if (state === 'rejected') console.error(task.name, error);
 * });
 * ```
 */
export interface TaskSettleMessage {
  readonly supervisor: Supervisor;
  readonly task: Task;
  /** `fulfilled`, `rejected` or `cancelled`. */
  readonly state: Exclude<TaskState, 'running'>;
  /** What it rejected with (for `cancelled`, usually its abort reason); undefined when fulfilled. */
  readonly error: unknown;
  /** Milliseconds from spawn to settle. */
  readonly durationMs: number;
}

/**
 * On `supervise:task:restart`: a task's run ended and its restart policy starts it again after
 * `delayMs`; or, under the `'one-for-all'` and `'rest-for-one'` strategies, a sibling's did, and
 * this task is stopped to start again with it (`cause` says which). One message per task a
 * restart restarts, published when it is scheduled; a restart still pending when a newer
 * failure's group restart takes it over is not published again.
 *
 * @example
 * ```ts
 * diagnostics_channel.subscribe(channels.taskRestart, (m) => {
 *   const { task, cause, restart, delayMs } = m as TaskRestartMessage;
 *   const after = cause === task ? '' : ` (after ${cause.name})`;
 *   console.warn(`${task.name}: restart ${restart} in ${delayMs} ms${after}`);
 * });
 * ```
 */
export interface TaskRestartMessage {
  readonly supervisor: Supervisor;
  readonly task: Task;
  /**
   * The task whose run ending caused this restart: `task` itself, or, under `'one-for-all'` or
   * `'rest-for-one'`, the sibling that failed. `failed` and `error` describe that run.
   */
  readonly cause: Task;
  /** Which restart of `task` this is: 1 for the first. */
  readonly restart: number;
  /** The backoff before it, in milliseconds (a group restart also waits for every member's run to end). */
  readonly delayMs: number;
  /** Whether the run that ended (the cause's) failed (`'on-failure'`, `'always'`) or returned (`'always'`). */
  readonly failed: boolean;
  /** What that run rejected with; undefined when it returned. */
  readonly error: unknown;
}

/**
 * On `supervise:shutdown:start`: a supervisor's shutdown began. Children publish their own.
 *
 * @example
 * ```ts
 * diagnostics_channel.subscribe(channels.shutdownStart, (m) => console.log((m as ShutdownStartMessage).cause));
 * ```
 */
export interface ShutdownStartMessage {
  readonly supervisor: Supervisor;
  readonly cause: ShutdownCause;
  readonly signal: NodeJS.Signals | undefined;
  /** The abort reason every task will receive. */
  readonly reason: unknown;
  /** Tasks pending when it began. */
  readonly pending: number;
}

/**
 * The phases a shutdown reports as they end: `drain` (the drain delay and `run()`'s
 * `onShutdown`, while tasks still run), `tasks` (cancel and wait), `dispose` (resources and
 * children, newest first).
 *
 * @example
 * ```ts
 * const phase: ShutdownPhase = 'tasks';
 * ```
 */
export type ShutdownPhase = 'drain' | 'tasks' | 'dispose';

/**
 * On `supervise:shutdown:phase`: a phase of a supervisor's shutdown ended.
 *
 * @example
 * ```ts
 * diagnostics_channel.subscribe(channels.shutdownPhase, (m) => {
 *   const { supervisor, phase, durationMs } = m as ShutdownPhaseMessage;
 *   console.log(`${supervisor.name}: ${phase} took ${durationMs} ms`);
 * });
 * ```
 */
export interface ShutdownPhaseMessage {
  readonly supervisor: Supervisor;
  readonly phase: ShutdownPhase;
  readonly durationMs: number;
}

/**
 * On `supervise:shutdown:dispose`: a resource, callback or child supervisor was disposed
 * (or was still pending at the deadline, or threw).
 *
 * @example
 * ```ts
 * diagnostics_channel.subscribe(channels.shutdownDispose, (m) => {
 *   const { name, outcome, durationMs } = m as ShutdownDisposeMessage;
 *   console.log(`closed ${name}: ${outcome} in ${durationMs} ms`);
 * });
 * ```
 */
export interface ShutdownDisposeMessage {
  readonly supervisor: Supervisor;
  /** The resource's name, as stragglers are named. */
  readonly name: string;
  readonly kind: 'resource' | 'callback' | 'child';
  /** `'disposed'`, `'failed'` (see `error`) or `'timed-out'` (still pending at the deadline). */
  readonly outcome: 'disposed' | 'failed' | 'timed-out';
  readonly error: unknown;
  readonly durationMs: number;
}

/**
 * On `supervise:shutdown:end`: a supervisor stopped; `report` is what `sup.done` resolves with.
 *
 * @example
 * ```ts
 * diagnostics_channel.subscribe(channels.shutdownEnd, (m) => console.log((m as ShutdownEndMessage).report.exitCode));
 * ```
 */
export interface ShutdownEndMessage {
  readonly supervisor: Supervisor;
  readonly report: ShutdownReport;
}
