/**
 * A supervisor's life, as one field: the phase it is in. Each phase says what the supervisor
 * still takes, so `spawn`, `child`, `use` and the shutdown all read the same field.
 *
 * | phase | `sup.state` | `spawn`, `child` | `use`, `adopt`, `defer` |
 * | --- | --- | --- | --- |
 * | running | `running` | yes | yes |
 * | draining: `sup.signal` aborted, the drain delay and `run()`'s `onShutdown` | `stopping` | yes | yes |
 * | cancelling: tasks aborted and awaited | `stopping` | throw | yes |
 * | disposing: resources and children, newest first | `stopping` | throw | throw |
 * | stopped: the report is made | `stopped` | throw | throw |
 *
 * @module
 */
import { SupervisorClosedError } from './errors.js';
import type { Logger } from './options.js';
import type { ShutdownCause, ShutdownReport, ShutdownStats } from './report.js';
import type { Task } from './task.js';

/**
 * Where a supervisor is in its life.
 *
 * @example
 * ```ts
 * if (sup.state === 'running') sup.spawn(work);
 * ```
 */
export type SupervisorState = 'running' | 'stopping' | 'stopped';

/** @internal */ export const RUNNING = 0;
/** @internal */ export const DRAINING = 1;
/** @internal */ export const CANCELLING = 2;
/** @internal */ export const DISPOSING = 3;
/** @internal */ export const STOPPED = 4;
/** @internal One of the constants above, in the order a supervisor goes through them. */
export type Phase = typeof RUNNING | typeof DRAINING | typeof CANCELLING | typeof DISPOSING | typeof STOPPED;

const states: readonly SupervisorState[] = ['running', 'stopping', 'stopping', 'stopping', 'stopped'];
/** @internal The names of the phases, for messages. */
export const phaseNames: readonly string[] = ['running', 'draining', 'cancelling', 'disposing', 'stopped'];

/** @internal The public state of a phase. */
export function stateOf(phase: Phase): SupervisorState {
  return states[phase] as SupervisorState;
}

/**
 * @internal One supervisor's life: its phase, why and with what reason it is stopping, the
 * failures kept for its report, and `done`. The phase changes only through the methods below,
 * each named for the phase it begins, in the order the shutdown calls them.
 */
export class Lifecycle {
  #phase: Phase = RUNNING;
  #cause: ShutdownCause | undefined = undefined;
  /** The abort reason of the shutdown, once it began. */
  #reason: unknown = undefined;
  #controller: AbortController | undefined = undefined;
  /** Failures kept for the report, in order. */
  readonly errors: unknown[] = [];
  /** The task each kept failure came from, so disposal can tell one already delivered through `await task`. */
  #failedTasks: Map<unknown, Task> | undefined = undefined;
  /** Whether the logger has thrown already: see `log`. */
  #loggerFailed = false;
  readonly done: Promise<ShutdownReport>;
  #resolveDone!: (report: ShutdownReport) => void;

  constructor() {
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** Why the shutdown began; undefined while running. */
  get cause(): ShutdownCause | undefined {
    return this.#cause;
  }

  /** Aborted the moment shutdown begins, with the reason every task receives; made on first read. */
  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      controller = this.#controller = new AbortController();
      if (this.#phase !== RUNNING) controller.abort(this.#reason);
    }
    return controller.signal;
  }

  /** Phase 1, draining: the supervisor's signal aborts with `reason`. */
  beginDraining(cause: ShutdownCause, reason: unknown): void {
    this.#phase = DRAINING;
    this.#cause = cause;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  /** Phase 2, cancelling: `spawn` and `child` refuse from now on. */
  beginCancelling(): void {
    this.#phase = CANCELLING;
  }

  /** Phase 3, disposing: nothing can be registered from now on. */
  beginDisposing(): void {
    this.#phase = DISPOSING;
  }

  /** What the last shutdown took, for `run()`'s summary line. */
  stats: ShutdownStats | undefined = undefined;

  /** Phase 4, stopped. */
  stop(stats: ShutdownStats): void {
    this.#phase = STOPPED;
    this.stats = stats;
  }

  /** Resolves `done`: once, with the report. */
  finish(report: ShutdownReport): void {
    this.#resolveDone(report);
  }

  /** Keeps `error` for the report; `task` is the task it came from, if any. */
  keepError(error: unknown, task?: Task): void {
    this.errors.push(error);
    if (task !== undefined) (this.#failedTasks ??= new Map()).set(error, task);
    if (this.#abandoned !== undefined) this.#lateError(this.#abandoned, error);
  }

  /** Set once the parent stopped waiting for this supervisor: see `abandon`. */
  #abandoned: { readonly handedUp: Map<unknown, number>; readonly log: (error: unknown) => void } | undefined = undefined;

  /**
   * Its parent's shutdown stopped waiting for it at the deadline, and took what it and those below
   * it had kept by then into its own report. An error kept from now on would reach no report the
   * process sees: each goes to `log`, but those in `handedUp`, what those below had kept, which
   * come back up once more in their reports (each as many times as it was handed up).
   */
  abandon(handedUp: readonly unknown[], log: (error: unknown) => void): void {
    const counts = new Map<unknown, number>();
    for (const error of handedUp) counts.set(error, (counts.get(error) ?? 0) + 1);
    this.#abandoned = { handedUp: counts, log };
  }

  #lateError(abandoned: { readonly handedUp: Map<unknown, number>; readonly log: (error: unknown) => void }, error: unknown): void {
    const count = abandoned.handedUp.get(error) ?? 0;
    if (count > 0) abandoned.handedUp.set(error, count - 1);
    else abandoned.log(error);
  }

  /**
   * Logs through `logger`. A logger is user code, and one that throws must not change what a
   * shutdown does: its first failure is kept for the report (exit code 1: the process lost its
   * log); later ones, most likely the same fault, are dropped.
   */
  log(logger: Logger | undefined, level: 'warn' | 'error', data: unknown[]): void {
    if (logger === undefined) return;
    try {
      logger[level](...data);
    } catch (error) {
      if (this.#loggerFailed) return;
      this.#loggerFailed = true;
      this.keepError(error);
    }
  }

  /** The errors of `report` not already delivered to code that awaited their task. */
  undelivered(errors: readonly unknown[]): unknown[] {
    const failedTasks = this.#failedTasks;
    return failedTasks === undefined ? errors.slice() : errors.filter((error) => failedTasks.get(error)?._observed() !== true);
  }

  /** The error `spawn`, `child` or a registration throws in a phase that refuses it. */
  refusal(name: string, what: string): SupervisorClosedError {
    const state = stateOf(this.#phase);
    const phase = phaseNames[this.#phase] as string;
    const where = state === phase ? state : `${state} (${phase})`;
    return new SupervisorClosedError(`Cannot ${what}: supervisor "${name}" is ${where}; shutdown cause: ${this.#cause ?? 'none'}`);
  }
}
