/**
 * The shutdown sequence, in the order it runs. Everything a supervisor does when it stops is
 * in {@link shutdownSequence}; the rest of the library only starts it.
 *
 * 1. Shutdown begins: state `stopping`, `sup.signal` aborts (a readiness endpoint now answers
 *    503). For `drainDelay` ms (signal shutdowns of a root) and while `run()`'s `onShutdown`
 *    runs, every task still runs and `spawn` still works: a load balancer may still send work.
 * 2. Stop taking work and cancel: `spawn` and `child` throw; every unshielded task is aborted at
 *    once, with one shared reason, and all tasks, shielded ones too, are awaited concurrently.
 * 3. Dispose resources, deferred callbacks and child supervisors newest first, each awaited,
 *    a child running its own full shutdown. One that throws does not stop the others.
 * 4. State `stopped`; `done` resolves with the report.
 *
 * One deadline covers all of it: `shutdownTimeout`, after `drainDelay`. At the deadline, tasks still pending are
 * reported as stragglers and disposal goes on without waiting; a disposer still pending then
 * is reported too. Nothing is lost: every task failure and disposer error is in
 * `report.errors`, and an error that arrives after the report is logged.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { debuglog } from 'node:util';
import {
  type ShutdownDisposeMessage,
  type ShutdownPhase,
  shutdownDisposeChannel,
  shutdownEndChannel,
  shutdownPhaseChannel,
  shutdownStartChannel,
} from './diagnostics.js';
import { loggable } from './errors.js';
import { LongTimeout } from './long-timeout.js';
import { type NameGroup, PrintBudget, describeGroup, groupByName, plural } from './print-budget.js';
import type { Disposer } from './resources.js';
import { isHoldingProcess } from './signals.js';
import type { Supervisor } from './supervisor.js';

/**
 * Why a shutdown began.
 *
 * @example
 * ```ts
 * const { cause, signal } = await sup.done;
 * if (cause === 'signal') console.log(`stopped by ${signal}`);
 * ```
 */
export type ShutdownCause =
  /** `sup.shutdown()` was called. */
  | 'shutdown'
  /** The end of an `await using` scope (`[Symbol.asyncDispose]`). */
  | 'dispose'
  /** A process signal: `report.signal` names it. */
  | 'signal'
  /** A `'shutdown'` message on the IPC channel, as PM2 and a supervise cluster primary send. */
  | 'message'
  /** A task failed under `onTaskError: 'shutdown'`, or an `onTaskError` function threw. */
  | 'error'
  /** The parent supervisor's shutdown reached this child. */
  | 'parent';

/**
 * A task, or a disposer, that had not finished when the deadline passed.
 *
 * @example
 * ```ts
 * for (const { name, ageMs } of (await sup.done).stragglers) console.warn(`${name} did not stop (${ageMs} ms old)`);
 * ```
 */
export interface Straggler {
  readonly id: number;
  readonly name: string;
  /** Milliseconds since it was spawned (a task) or since disposal called it (a disposer), at the deadline. */
  readonly ageMs: number;
}

/**
 * What a shutdown did. Exit codes: 0 clean, 1 an error, 124 the deadline passed with stragglers.
 *
 * @example
 * ```ts
 * const report = await sup.shutdown();
 * for (const error of report.errors) console.error(error);
 * process.exitCode = report.exitCode;
 * ```
 */
export interface ShutdownReport {
  readonly cause: ShutdownCause;
  /** The process signal that started it, when one did (also for children of a root it started). */
  readonly signal?: NodeJS.Signals;
  /** The abort reason every cancelled task received; the same object as `sup.signal.reason`. */
  readonly reason: unknown;
  readonly durationMs: number;
  /** How many tasks this shutdown cancelled (children included). */
  readonly cancelled: number;
  /** Tasks and disposers still pending at the deadline (children included). */
  readonly stragglers: readonly Straggler[];
  /** Every task failure, disposer error and callback error, in the order they happened (children included). */
  readonly errors: readonly unknown[];
  /** 1 when there are errors, else 124 when there are stragglers, else 0. */
  readonly exitCode: number;
}

/**
 * @internal What an adapter called as a disposer (`closeServer`, `stopChildProcess` …) may know
 * about the shutdown calling it, read synchronously when it is called: the deadline to finish
 * by, and a way to report what it had to cut short.
 */
export interface DisposalContext {
  /** `performance.now()` time of the shutdown's deadline; Infinity for none. */
  readonly deadlineAt: number;
  /** Reports something the disposer had to force at its deadline (a straggler: exit code 124). */
  forced(what: string): void;
}

interface ActiveDisposal {
  readonly sup: Supervisor;
  readonly deadlineAt: number;
  readonly disposer: Disposer;
  readonly calledAt: number;
  readonly stragglers: Straggler[];
}

let activeDisposal: ActiveDisposal | undefined;

/** @internal The context of the disposer being called right now, if a shutdown is calling one. */
export function currentDisposal(): DisposalContext | undefined {
  const active = activeDisposal;
  if (active === undefined) return undefined;
  return {
    deadlineAt: active.deadlineAt,
    forced(what) {
      if (Object.isFrozen(active.stragglers)) {
        // The report was delivered before this adapter finished forcing: it stays as delivered.
        active.sup._log('warn', `supervise: "${active.sup.name}" disposer "${active.disposer.name}" ${what}, after the report`);
        return;
      }
      active.stragglers.push({
        id: active.disposer.id,
        name: `${active.disposer.name} (${what})`,
        ageMs: Math.round(performance.now() - active.calledAt),
      });
    },
  };
}

/** @internal The exit code of a shutdown whose deadline passed with stragglers (GNU `timeout`'s). */
export const EXIT_DEADLINE = 124;

const debug = debuglog('supervise');
const timedOut: unique symbol = Symbol('timed out');

/**
 * The one timer of a shutdown. It is armed only when something is awaited, is shared by every
 * wait, and keeps the process alive until the deadline, so a shutdown can finish even when
 * nothing else holds the event loop.
 */
class Deadline {
  #expired: Promise<typeof timedOut> | undefined;
  #timer: LongTimeout | undefined;
  constructor(readonly at: number) {}

  /** Resolves with what `promise` resolves to, or `timedOut` once the deadline has passed; rejects as it does. */
  race<T>(promise: PromiseLike<T>): Promise<T | typeof timedOut> {
    if (this.at === Infinity) return Promise.resolve(promise);
    // Past the deadline already (a child its parent reaches late): no timer, so that a hundred
    // such children do not wait a timer's turn each, one after the other.
    this.#expired ??= performance.now() >= this.at ? Promise.resolve(timedOut) : new Promise((resolve) => {
      this.#timer = new LongTimeout(this.at, () => resolve(timedOut));
    });
    return Promise.race([promise, this.#expired]);
  }

  clear(): void {
    this.#timer?.clear();
  }
}

/**
 * @internal Runs `sup`'s shutdown from start to report. The supervisor calls it once; it never
 * rejects, because every user callback it runs is caught and reported.
 */
export async function shutdownSequence(
  sup: Supervisor,
  cause: ShutdownCause,
  reason: unknown,
  signal: NodeJS.Signals | undefined,
  parentDeadline: number,
  parentBudget: PrintBudget | undefined,
): Promise<ShutdownReport> {
  const startedAt = performance.now();
  // One bound for the stuck-task log of the whole tree: a child shares its parent's.
  const budget = parentBudget ?? new PrintBudget();
  // A drain delay only for what a load balancer sees coming: a signal or a 'shutdown' message.
  const drainDelay = cause === 'signal' || cause === 'message' ? sup._options.drainDelay : 0;
  const { shutdownTimeout, disposeReserve } = sup._options;
  const deadline = new Deadline(Math.min(parentDeadline, startedAt + drainDelay + shutdownTimeout));
  // The tasks end a reserve before the deadline at the latest, so disposal always has time.
  const reserve = Math.min(disposeReserve, shutdownTimeout / 5);
  const tasksDeadline = deadline.at === Infinity || reserve === 0 ? deadline : new Deadline(deadline.at - reserve);
  const errors = sup._errors;
  let stragglers: Straggler[] = [];

  // Phase 1: shutdown begins; tasks still run through the drain delay and onShutdown.
  const abortReason = sup._beginStopping(cause, reason, signal);
  debug('%s: shutdown (%s) began; %d pending tasks, %d disposers', sup.name, cause, sup.size, sup._disposers.length);
  if (shutdownStartChannel.hasSubscribers) {
    shutdownStartChannel.publish({ supervisor: sup, cause, signal, reason: abortReason, pending: sup.size });
  }
  const drained = drainDelay > 0 ? sleep(drainDelay) : undefined;
  const beforeCancel = sup._beforeCancel;
  if (beforeCancel !== undefined) {
    try {
      const pending = beforeCancel();
      if (isThenable(pending) && (await tasksDeadline.race(pending)) === timedOut) {
        stragglers.push({ id: 0, name: 'onShutdown', ageMs: Math.round(performance.now() - startedAt) });
        sup._log('warn', `supervise: "${sup.name}" onShutdown still pending at the deadline; cancelling tasks`);
      }
    } catch (error) {
      errors.push(error);
    }
  }
  if (drained !== undefined) await tasksDeadline.race(drained);
  const tasksFrom = performance.now();
  publishPhase(sup, 'drain', startedAt, tasksFrom);

  // Phase 2: stop taking work, cancel every unshielded task at once, then wait for all of them.
  sup._acceptsWork = false;
  let cancelled = sup._cancelTasks(abortReason);
  if (sup.size > 0 && (await tasksDeadline.race(sup._drained())) === timedOut) {
    // Past a deadline already passed (onShutdown used it up), tasks that settled as they were
    // cancelled are gone by now: only those still pending are stuck.
    const pendingTasks = sup._pendingTasks();
    if (pendingTasks.length > 0) {
      // A fresh array this shutdown owns: a million stragglers need not be copied.
      if (stragglers.length === 0) stragglers = pendingTasks;
      else append(stragglers, pendingTasks);
      const log = sup._options.logger === undefined ? undefined : stuckTaskReport(sup, pendingTasks, budget);
      if (log !== undefined) sup._log('warn', log);
    }
  }
  const disposeFrom = performance.now();
  publishPhase(sup, 'tasks', tasksFrom, disposeFrom);
  debug('%s: tasks done after %d ms', sup.name, Math.round(disposeFrom - startedAt));

  // Phase 3: dispose newest first, each awaited; a failure does not stop the rest.
  sup._disposing = true;
  // A child's shutdown runs synchronously up to its own first await: without this turn of the
  // microtask queue, 10 000 nested children would descend 10 000 frames deep in one call stack.
  await undefined;
  for (let disposer = sup._disposers.pop(); disposer !== undefined; disposer = sup._disposers.pop()) {
    if (!disposer.listed) continue; // a child that stopped on its own and left
    disposer.listed = false;
    const calledAt = performance.now();
    let outcome: ShutdownDisposeMessage['outcome'] = 'disposed';
    let failure: unknown;
    try {
      if (disposer.kind === 'child') {
        const child = disposer.value as Supervisor;
        sup._inDisposal = { name: disposer.name, calledAt, child };
        const report = await child._shutdownFromParent(abortReason, signal, deadline, budget);
        if (report === undefined) {
          outcome = 'timed-out';
          stragglers.push(straggler(disposer, calledAt));
        } else {
          cancelled += report.cancelled;
          append(stragglers, report.stragglers);
          append(errors, report.errors);
        }
      } else {
        activeDisposal = { sup, deadlineAt: deadline.at, disposer, calledAt, stragglers };
        let pending: unknown;
        try {
          pending = disposer.run();
        } finally {
          activeDisposal = undefined;
        }
        sup._inDisposal = { name: disposer.name, calledAt, child: undefined };
        if (isThenable(pending) && (await deadline.race(pending)) === timedOut) {
          outcome = 'timed-out';
          stragglers.push(straggler(disposer, calledAt));
          sup._log('warn', `supervise: "${sup.name}" disposer "${disposer.name}" still pending at the deadline`);
          reportLateRejection(sup, disposer, pending);
        }
      }
    } catch (error) {
      outcome = 'failed';
      failure = error;
      errors.push(error);
    }
    sup._inDisposal = undefined;
    if (shutdownDisposeChannel.hasSubscribers) publishDispose(sup, disposer, outcome, failure, calledAt);
  }
  const endedAt = performance.now();
  publishPhase(sup, 'dispose', disposeFrom, endedAt);
  debug('%s: disposers done after %d ms', sup.name, Math.round(performance.now() - startedAt));

  // Phase 4: stopped.
  if (parentBudget === undefined && budget.silent > 0) {
    sup._log('warn', `supervise: "${sup.name}": ${plural(budget.silent, 'more stuck task')}${budget.omittedSupervisors > 0 ? ` in ${plural(budget.omittedSupervisors, 'more supervisor')}` : ''} not listed: the log is bounded; report.stragglers has them all`);
  }
  sup._unlisted = budget.silent;
  tasksDeadline.clear();
  deadline.clear();
  sup._phaseDurations = {
    beforeCancelMs: tasksFrom - startedAt,
    tasksMs: disposeFrom - tasksFrom,
    disposeMs: endedAt - disposeFrom,
  };
  const report: ShutdownReport = {
    cause,
    ...(signal === undefined ? {} : { signal }),
    reason: abortReason,
    durationMs: endedAt - startedAt,
    cancelled,
    stragglers,
    errors: Object.freeze(errors.slice()),
    exitCode: errors.length > 0 ? 1 : stragglers.length > 0 ? EXIT_DEADLINE : 0,
  };
  // Delivered as it is now: a late forced stop is logged, never added to it.
  Object.freeze(stragglers);
  Object.freeze(report);
  sup._stopped();
  if (shutdownEndChannel.hasSubscribers) shutdownEndChannel.publish({ supervisor: sup, report });
  return report;
}

function publishPhase(supervisor: Supervisor, phase: ShutdownPhase, from: number, to: number): void {
  if (shutdownPhaseChannel.hasSubscribers) shutdownPhaseChannel.publish({ supervisor, phase, durationMs: to - from });
}

function publishDispose(supervisor: Supervisor, disposer: Disposer, outcome: ShutdownDisposeMessage['outcome'], error: unknown, calledAt: number): void {
  const kind = disposer.kind === 'child' ? 'child' : disposer.kind === 'defer' ? 'callback' : 'resource';
  shutdownDisposeChannel.publish({ supervisor, name: disposer.name, kind, outcome, error, durationMs: performance.now() - calledAt });
}

/** @internal Exposed for a child's own race against its parent's deadline. */
export type { Deadline };
export { timedOut };

/**
 * What the log says at the deadline: the pending tasks grouped by name, largest group first, each
 * with its count, oldest age and first few ids, the first with where it was spawned when spawn
 * sites are captured; then what still holds the event loop open. Within `budget`, shared by the
 * whole tree; what does not fit is counted. Undefined when not even the first line fits.
 */
function stuckTaskReport(sup: Supervisor, pending: readonly Straggler[], budget: PrintBudget): string | undefined {
  const header = `supervise: "${sup.name}" shutdown deadline passed with ${plural(pending.length, 'task')} still pending:`;
  const groups = groupByName(pending);
  // The header comes with at least its largest group, or not at all.
  if (!budget.takeAll(header, `  - ${describeGroup(groups[0] as NameGroup<Straggler>)}`)) {
    budget.omitted += pending.length;
    budget.silent += pending.length;
    budget.omittedSupervisors++;
    return undefined;
  }
  const lines = [header];
  const sites = sup._spawnSites(new Set(groups.map((group) => (group.first[0] as Straggler).id)));
  let listed = 0;
  let namesListed = 0;
  for (const group of groups) {
    const first = group.first[0] as Straggler;
    const line = `  - ${describeGroup(group)}`;
    // Room is kept for the line that counts the rest, when there is a rest.
    if (namesListed > 0 && !budget.take(line, 1)) break;
    lines.push(line);
    listed += group.count;
    namesListed++;
    const site = sites.get(first.id);
    if (site === undefined) continue;
    for (const frame of site.split('\n').slice(0, 3)) {
      const text = `      ${frame.trim()}`;
      if (!budget.take(text, 1)) break;
      lines.push(text);
    }
  }
  if (listed < pending.length) {
    const rest = `  … and ${plural(pending.length - listed, 'more task')} under ${plural(groups.length - namesListed, 'other name')}`;
    budget.omitted += pending.length - listed;
    if (budget.take(rest)) lines.push(rest);
    else budget.silent += pending.length - listed;
  }
  const held = activeResources();
  if (held !== '') {
    const line = `  the event loop is still held by: ${held}`;
    if (budget.take(line)) lines.push(line);
  }
  return lines.join('\n');
}

/** `process.getActiveResourcesInfo()` as counts, less supervise's own keep-alive timer. */
function activeResources(): string {
  const counts = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo()) counts.set(name, (counts.get(name) ?? 0) + 1);
  if (isHoldingProcess()) {
    const timeouts = (counts.get('Timeout') ?? 1) - 1;
    if (timeouts > 0) counts.set('Timeout', timeouts);
    else counts.delete('Timeout');
  }
  return [...counts].map(([name, count]) => (count > 1 ? `${name} x${count}` : name)).join(', ');
}

/** `target.push(...items)` without the spread, which overflows the stack past ~100 000 items. */
function append<T>(target: T[], items: readonly T[]): void {
  for (let i = 0; i < items.length; i++) target.push(items[i] as T);
}

function straggler(disposer: Disposer, calledAt: number): Straggler {
  return { id: disposer.id, name: disposer.name, ageMs: Math.round(performance.now() - calledAt) };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** A disposer that rejects after the report was made is logged, not lost. */
function reportLateRejection(sup: Supervisor, disposer: Disposer, pending: PromiseLike<unknown>): void {
  Promise.resolve(pending).then(undefined, (error: unknown) => {
    sup._log('error', `supervise: "${sup.name}" disposer "${disposer.name}" failed after the deadline:`, loggable(error));
  });
}
