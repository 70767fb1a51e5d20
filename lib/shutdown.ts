/**
 * The shutdown sequence, in the order it runs. Everything a supervisor does when it stops is
 * in {@link shutdownSequence}; the rest of the library only starts it.
 *
 * The phases are those of `lifecycle.ts`, the supervisor's one lifecycle field:
 * 1. Draining: state `stopping`, `sup.signal` aborts (a readiness endpoint now answers 503). For
 *    `drainDelay` ms (signal shutdowns of a root) and while `run()`'s `onShutdown` runs, every
 *    task still runs and `spawn` still works: a load balancer may still send work.
 * 2. Cancelling: `spawn` and `child` throw; every unshielded task is aborted at once, with one
 *    shared reason, and all tasks, shielded ones too, are awaited concurrently.
 * 3. Disposing: `use`, `adopt` and `defer` throw too; resources, deferred callbacks and child
 *    supervisors are disposed newest first, each awaited, a child running its own full
 *    shutdown. One that throws does not stop the others.
 * 4. Stopped: state `stopped`; `done` resolves with the report.
 *
 * One deadline covers all of it: `shutdownTimeout`, after `drainDelay`. At the deadline, tasks still pending are
 * reported as stragglers and disposal goes on without waiting; a disposer still pending then
 * is reported too. Nothing is lost: every task failure and disposer error is in
 * `report.errors`, and an error that arrives after the report is logged.
 *
 * @module
 */
import { builtin } from './builtins.js';
import { shutdownDisposeChannel, shutdownEndChannel, shutdownPhaseChannel, shutdownStartChannel } from './channels.js';
import type { SubtreeCore, SupervisorCore } from './core.js';
import { Deadline, timedOut } from './deadline.js';
import { type DisposalContext, callAsDisposer } from './disposal-context.js';
import { loggable } from './errors.js';
import { RUNNING, STOPPED } from './lifecycle.js';
import { PrintBudget, plural } from './print-budget.js';
import { EXIT_DEADLINE, type ShutdownCause, type ShutdownReport, type Straggler } from './report.js';
import type { Disposer } from './resources.js';
import { stragglersOf, stuckTaskReport } from './stuck-report.js';

/** How a disposer ended, as `supervise:shutdown:dispose` says. */
type DisposeOutcome = 'disposed' | 'failed' | 'timed-out';

const debug = builtin('node:util').debuglog('supervise');
/**
 * @internal Runs `sup`'s shutdown from start to report. The supervisor calls it once; it never
 * rejects, because every user callback it runs is caught and reported.
 */
export async function shutdownSequence(
  sup: SupervisorCore,
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
  let stragglers: Straggler[] = [];

  // Phase 1, draining: tasks still run through the drain delay and onShutdown.
  const abortReason = reason === undefined || cause === 'error' ? abortError(sup.name, cause, reason, signal) : reason;
  sup._life.beginDraining(cause, abortReason);
  debug('%s: shutdown (%s) began; %d pending tasks, %d disposers', sup.name, cause, sup.size, sup._resources.entries.length);
  if (shutdownStartChannel.hasSubscribers) {
    shutdownStartChannel.publish({ supervisor: sup, cause, signal, reason: abortReason, pending: sup.size });
  }
  // The global timer, not node:timers/promises': that module would be loaded at every import for this line.
  const drained = drainDelay > 0 ? new Promise<void>((resolve) => setTimeout(resolve, drainDelay)) : undefined;
  const beforeCancel = sup._hooks?.beforeCancel;
  if (beforeCancel !== undefined) {
    try {
      const pending = beforeCancel();
      if (isThenable(pending) && (await tasksDeadline.race(pending)) === timedOut) {
        stragglers.push({ id: 0, name: 'onShutdown', ageMs: Math.round(performance.now() - startedAt) });
        sup._log('warn', `supervise: "${sup.name}" onShutdown still pending at the deadline; cancelling tasks`);
      }
    } catch (error) {
      sup._life.keepError(error);
    }
  }
  if (drained !== undefined) await tasksDeadline.race(drained);
  const tasksFrom = performance.now();
  publishPhase(sup, 'drain', startedAt, tasksFrom);

  // Phase 2, cancelling: stop taking work, cancel every unshielded task at once, wait for all of them.
  sup._life.beginCancelling();
  let cancelled = sup._registry.cancel(abortReason);
  if (sup.size > 0 && (await tasksDeadline.race(sup._registry.drained())) === timedOut) {
    // Past a deadline already passed (onShutdown used it up), tasks that settled as they were
    // cancelled are gone by now: only those still pending are stuck.
    const pendingTasks = stragglersOf(sup._registry.tasks);
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

  // Phase 3, disposing: newest first, each awaited; a failure does not stop the rest.
  sup._life.beginDisposing();
  // A child's shutdown runs synchronously up to its own first await: without this turn of the
  // microtask queue, 10 000 nested children would descend 10 000 frames deep in one call stack.
  await undefined;
  for (let disposer = sup._resources.take(); disposer !== undefined; disposer = sup._resources.take()) {
    const calledAt = performance.now();
    let outcome: DisposeOutcome = 'disposed';
    let failure: unknown;
    try {
      // A subtree running now is shut down as the child it is; one between runs (or stopping on its own) ends, and is awaited.
      const layer =
        disposer.kind === 'child'
          ? (disposer.value as SupervisorCore)
          : disposer.kind === 'subtree'
            ? (disposer.value as SubtreeCore)._endAsLayer(abortReason)
            : undefined;
      if (isThenable(layer)) {
        sup._waitingFor({ name: disposer.name, calledAt, child: undefined });
        if ((await deadline.race(layer)) === timedOut) {
          outcome = 'timed-out';
          stragglers.push(straggler(disposer, calledAt));
        }
      } else if (layer !== undefined) {
        const child = layer;
        sup._waitingFor({ name: disposer.name, calledAt, child });
        const report = await shutdownChild(child, abortReason, signal, deadline, budget);
        if (report === undefined) {
          // A child whose own shutdown began before this one (a scope that stopped itself) may
          // miss this deadline: what it has kept so far is reported here, not lost.
          outcome = 'timed-out';
          stragglers.push(straggler(disposer, calledAt));
          keepErrorsOfTree(sup, child);
        } else {
          cancelled += report.cancelled;
          append(stragglers, report.stragglers);
          for (const error of report.errors) sup._life.keepError(error);
        }
      } else {
        const pending = callAsDisposer(disposalContext(sup, deadline.at, disposer, calledAt, stragglers), () => disposer.run());
        sup._waitingFor({ name: disposer.name, calledAt, child: undefined });
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
      sup._life.keepError(error);
    }
    sup._waitingFor(undefined);
    if (shutdownDisposeChannel.hasSubscribers) publishDispose(sup, disposer, outcome, failure, calledAt);
  }
  const endedAt = performance.now();
  publishPhase(sup, 'dispose', disposeFrom, endedAt);
  debug('%s: disposers done after %d ms', sup.name, Math.round(performance.now() - startedAt));

  // Phase 4, stopped.
  if (parentBudget === undefined && budget.silent > 0) {
    sup._log(
      'warn',
      `supervise: "${sup.name}": ${plural(budget.silent, 'more stuck task')}${budget.omittedSupervisors > 0 ? ` in ${plural(budget.omittedSupervisors, 'more supervisor')}` : ''} not listed: the log is bounded; report.stragglers has them all`,
    );
  }
  tasksDeadline.clear();
  deadline.clear();
  const errors = sup._life.errors;
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
  sup._life.stop({ beforeCancelMs: tasksFrom - startedAt, tasksMs: disposeFrom - tasksFrom, disposeMs: endedAt - disposeFrom, unlisted: budget.silent });
  sup._listener?.detach();
  leaveParent(sup);
  if (shutdownEndChannel.hasSubscribers) shutdownEndChannel.publish({ supervisor: sup, report });
  return report;
}

/**
 * A parent's phase 3 reached `child`: its report, or undefined if it missed `deadline`. Started
 * here, the child's own deadline is no later than the parent's, so it always reports in time;
 * and its stuck-task log shares the parent's bound.
 */
async function shutdownChild(
  child: SupervisorCore,
  reason: unknown,
  signal: NodeJS.Signals | undefined,
  deadline: Deadline,
  budget: PrintBudget,
): Promise<ShutdownReport | undefined> {
  if (child._life.phase === RUNNING) return child._begin('parent', reason, signal, deadline.at, budget);
  const report = await deadline.race(child._life.done);
  return report === timedOut ? undefined : report;
}

/**
 * A child that missed `sup`'s deadline will not report to it: what it and the supervisors below
 * it have kept, and not reported up yet, goes into `sup`'s report now, and what reaches the
 * child later is logged. Those are the ones still
 * on a list (not disposed yet) and the one each is waiting for. Iterative: the tree may be
 * 10 000 deep.
 */
function keepErrorsOfTree(sup: SupervisorCore, child: SupervisorCore): void {
  // Only what the supervisors below `child` kept can reach it once more (in their reports); its
  // own errors are kept already and will not be again. Counting them too would swallow a later,
  // different failure that happens to be the same value (`undefined`, or an error rethrown).
  const fromBelow: unknown[] = [];
  const stack = [child];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    for (const error of next._life.errors) {
      sup._life.keepError(error);
      if (next !== child) fromBelow.push(error);
    }
    const waitingFor = next._inDisposal?.child;
    if (waitingFor !== undefined) stack.push(waitingFor);
    for (const disposer of next._resources.entries) {
      if (!disposer.listed) continue;
      if (disposer.kind === 'child') stack.push(disposer.value as SupervisorCore);
      else if (disposer.kind === 'subtree') {
        const current = (disposer.value as SubtreeCore)._current;
        if (current !== undefined) stack.push(current);
      }
    }
  }
  // What reaches `child` from now on, from itself or from below, is logged.
  child._life.abandon(fromBelow, (error) =>
    child._log('error', `supervise: "${child.name}" failed after "${sup.name}" stopped waiting for it:`, loggable(error)),
  );
}

/** The abort reason of a shutdown given none (or begun by a failure, which becomes its `cause`). */
function abortError(name: string, cause: ShutdownCause, failure: unknown, signal: NodeJS.Signals | undefined): DOMException {
  const why =
    cause === 'signal'
      ? `received ${signal}`
      : cause === 'message'
        ? "received a 'shutdown' message"
        : cause === 'error'
          ? 'a task failed'
          : cause === 'parent'
            ? 'its parent is shutting down'
            : 'shutdown was requested';
  return new DOMException(`Supervisor "${name}" is shutting down: ${why}`, { name: 'AbortError', ...(cause === 'error' ? { cause: failure } : {}) });
}

/**
 * @internal A child stopped on its own leaves its parent's list, so per-request children do not
 * pile up; the parent will not dispose it, so will not collect its report. A plain child's errors
 * go up now while the parent is shutting down (its failure may be why), or they would be missing
 * from the report of the shutdown they caused. A scope's errors are its owner's: one that stopped
 * itself on a failure stays listed until the owner collects it (`collected`), or the parent's
 * disposal does, so the error reaches one of them.
 */
export function leaveParent(child: SupervisorCore): void {
  const parent = child._parent;
  const entry = child._entry;
  if (parent === undefined || entry === undefined || !entry.listed) return;
  const scope = child._options.onTaskError === 'scope';
  if (scope && !child._collected && child._life.cause === 'error') return;
  parent._resources.leave(entry);
  const phase = parent._life.phase;
  if (!scope && phase !== RUNNING && phase !== STOPPED) for (const error of child._life.errors) parent._life.keepError(error);
}

function publishPhase(supervisor: SupervisorCore, phase: 'drain' | 'tasks' | 'dispose', from: number, to: number): void {
  if (shutdownPhaseChannel.hasSubscribers) shutdownPhaseChannel.publish({ supervisor, phase, durationMs: to - from });
}

function publishDispose(supervisor: SupervisorCore, disposer: Disposer, outcome: DisposeOutcome, error: unknown, calledAt: number): void {
  const kind = disposer.kind === 'child' || disposer.kind === 'subtree' ? 'child' : disposer.kind === 'defer' ? 'callback' : 'resource';
  shutdownDisposeChannel.publish({ supervisor, name: disposer.name, kind, outcome, error, durationMs: performance.now() - calledAt });
}

/** `target.push(...items)` without the spread, which overflows the stack past ~100 000 items. */
function append<T>(target: T[], items: readonly T[]): void {
  for (let i = 0; i < items.length; i++) target.push(items[i] as T);
}

function straggler(disposer: Disposer, calledAt: number): Straggler {
  return { id: disposer.id, name: disposer.name, ageMs: Math.round(performance.now() - calledAt) };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/** A disposer that rejects after the report was made is logged, not lost. */
function reportLateRejection(sup: SupervisorCore, disposer: Disposer, pending: PromiseLike<unknown>): void {
  Promise.resolve(pending).then(undefined, (error: unknown) => {
    sup._log('error', `supervise: "${sup.name}" disposer "${disposer.name}" failed after the deadline:`, loggable(error));
  });
}

/** What the disposer about to be called may know of this shutdown (see `disposal-context.ts`). */
function disposalContext(sup: SupervisorCore, deadlineAt: number, disposer: Disposer, calledAt: number, stragglers: Straggler[]): DisposalContext {
  return {
    deadlineAt,
    forced(what) {
      if (Object.isFrozen(stragglers)) {
        // The report was delivered before this adapter finished forcing: it stays as delivered.
        sup._log('warn', `supervise: "${sup.name}" disposer "${disposer.name}" ${what}, after the report`);
        return;
      }
      stragglers.push({ id: disposer.id, name: `${disposer.name} (${what})`, ageMs: Math.round(performance.now() - calledAt) });
    },
  };
}
