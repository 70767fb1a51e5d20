/**
 * What a failure does to a supervisor: a task that rejected (with anything but its
 * cancellation) goes to `onTaskError`; a failure that is kept for the report shuts down the
 * whole tree, from its root, unless a shutdown is already running, or, under `'scope'`, only
 * the scope it happened in. A failure is never lost:
 * once shutdown has begun it is kept whatever the policy, and after the report it is logged.
 *
 * @module
 */
import type { SupervisorCore } from './core.js';
import { loggable, summarize } from './errors.js';
import { RUNNING, STOPPED } from './lifecycle.js';
import type { Task } from './task.js';

/** @internal Applies `onTaskError` to a task of `sup` that rejected with something other than its cancellation. */
export function taskFailed(sup: SupervisorCore, task: Task, error: unknown): void {
  const { onTaskError } = sup._options;
  if (sup._life.phase === STOPPED) {
    sup._log('error', `supervise: task "${task.name}" of "${sup.name}" failed after its shutdown finished:`, loggable(error));
    return;
  }
  const stopping = sup._life.phase !== RUNNING;
  if (onTaskError === 'shutdown') {
    recordFailure(sup, error, `task "${task.name}" failed`, task);
  } else if (onTaskError === 'scope') {
    // Kept for this scope's report alone, and its owner's: the parent is not told.
    sup._life.keepError(error, task);
    if (!stopping) void sup._begin('error', error, undefined, Infinity);
  } else if (onTaskError === 'ignore') {
    if (stopping) sup._life.keepError(error, task);
    else sup._log('error', `supervise: task "${task.name}" of "${sup.name}" failed (ignored):`, loggable(error));
  } else {
    if (stopping) sup._life.keepError(error, task);
    try {
      onTaskError(error, task);
    } catch (callbackError) {
      recordFailure(sup, callbackError, 'onTaskError threw');
    }
  }
}

/**
 * @internal Keeps `error` for `sup`'s report and, while running, shuts down the whole tree: the
 * root, whose shutdown reaches `sup` in turn.
 */
export function recordFailure(sup: SupervisorCore, error: unknown, what: string, task?: Task): void {
  sup._life.keepError(error, task);
  const root = sup._root;
  if (sup._life.phase !== RUNNING || root._life.phase !== RUNNING) return;
  sup._log('error', `supervise: ${what} in "${sup.name}" (${summarize(error)}); shutting down "${root.name}"`);
  void root._begin('error', error, undefined, Infinity);
}
