/**
 * The errors supervise throws at the call that caused them. Each carries a stable `code`, so
 * callers can branch on it without matching messages, as they do with Node's own errors.
 *
 * @module
 */

import { builtin } from './builtins.js';

/**
 * Thrown by `spawn`, `child`, `use`, `adopt` and `defer` once the supervisor can no longer take
 * the work: `spawn` and `child` from the moment shutdown begins, the resource methods once
 * disposal has begun. Nothing is registered, so nothing is silently dropped at shutdown. It is a
 * `ReferenceError`, as `AsyncDisposableStack` throws once disposed.
 *
 * @example
 * ```ts
 * import { Supervisor, SupervisorClosedError } from 'supervise';
 * const sup = new Supervisor({ signals: false });
 * await sup.shutdown();
 * try { sup.spawn(async () => {}); } catch (error) {
 *   if (error instanceof SupervisorClosedError) console.log(error.code); // ERR_SUPERVISOR_CLOSED
 * }
 * ```
 */
export class SupervisorClosedError extends ReferenceError {
  readonly code = 'ERR_SUPERVISOR_CLOSED';
  override readonly name = 'SupervisorClosedError';
}

/**
 * The error a task spawned with `restart: 'always'` rejects with when it returned more than
 * `maxRestarts + 1` times within `within` ms: a task meant to run for ever that keeps ending is
 * a crash loop even without an error. (A task that keeps failing rejects with its last error.)
 *
 * @example
 * ```ts
 * import { RestartLimitError, Supervisor } from 'supervise';
 * const sup = new Supervisor({ signals: false, onTaskError: 'ignore', logger: false });
 * const task = sup.spawn(() => 'done', { restart: 'always', maxRestarts: 2, backoff: () => 0 });
 * await Promise.resolve(task).catch((error) => console.log(error instanceof RestartLimitError, task.restarts)); // true 2
 * ```
 */
export class RestartLimitError extends Error {
  readonly code = 'ERR_RESTART_LIMIT';
  override readonly name = 'RestartLimitError';
}

/**
 * @internal One line for a log: `Name: message`, or the value as `util.inspect` shows it. It
 * never throws, whatever the value: a null-prototype object, a revoked Proxy, a throwing getter,
 * `toString` or `util.inspect.custom` each still give a line that says what was thrown.
 */
export function summarize(error: unknown): string {
  try {
    if (error instanceof Error) return `${String(error.name)}: ${String(error.message)}`;
    return typeof error === 'string' ? error : builtin('node:util').inspect(error, { depth: 1, breakLength: Infinity });
  } catch {
    return unprintable(error);
  }
}

/**
 * @internal What to hand a logger for `error`: the value itself when it can be printed, so a
 * structured logger keeps its fields, else a line that says what it was. Never throws.
 */
export function loggable(error: unknown): unknown {
  try {
    builtin('node:util').inspect(error); // what console.error does with it: a value that survives this can be logged as is
    return error;
  } catch {
    // Several failures at once (a subtree's run), one of which cannot be printed: the others still can.
    const errors = aggregated(error);
    return errors === undefined ? unprintable(error) : new AggregateError(errors.map(loggable), `${errors.length} errors, not all of them printable`);
  }
}

function aggregated(value: unknown): unknown[] | undefined {
  try {
    return value instanceof AggregateError && Array.isArray(value.errors) ? [...(value.errors as unknown[])] : undefined;
  } catch {
    return undefined; // a Proxy whose traps throw
  }
}

function unprintable(value: unknown): string {
  const kind = value === null ? 'null' : typeof value;
  return `[a thrown ${kind} that cannot be printed: inspecting it threw]`;
}

/** @internal A TypeError with Node's `ERR_INVALID_ARG_TYPE` code. */
export function invalidArgType(what: string, expected: string, actual: unknown): TypeError {
  return Object.assign(new TypeError(`${what} must be ${expected}, got ${describe(actual)}`), {
    code: 'ERR_INVALID_ARG_TYPE',
  });
}

/** @internal A RangeError with Node's `ERR_OUT_OF_RANGE` code. */
export function outOfRange(what: string, expected: string, actual: unknown): RangeError {
  return Object.assign(new RangeError(`${what} must be ${expected}, got ${describe(actual)}`), {
    code: 'ERR_OUT_OF_RANGE',
  });
}

/** @internal A TypeError with Node's `ERR_INVALID_ARG_VALUE` code, for a value of the right type but not allowed. */
export function invalidArgValue(what: string, expected: string, actual: unknown): TypeError {
  return Object.assign(new TypeError(`${what} must be ${expected}, got ${describe(actual)}`), {
    code: 'ERR_INVALID_ARG_VALUE',
  });
}

function describe(value: unknown): string {
  try {
    if (typeof value === 'function') return `a function${typeof value.name === 'string' && value.name ? ` named ${value.name}` : ''}`;
    if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
    if (value === null || typeof value !== 'object') return String(value);
    if (Array.isArray(value)) return 'an array';
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== 'Object' ? `an instance of ${name}` : 'an object';
  } catch {
    // A Proxy whose traps throw, or a revoked one (Array.isArray throws on it): the error says
    // what the caller passed wrong, and must not turn into the trap's error.
    return typeof value === 'function' ? 'a function' : 'an object';
  }
}
