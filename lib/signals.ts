/**
 * The process edge: one listener per signal, shared by every root supervisor that listens.
 *
 * Node keeps its default behaviour for a signal (exit) only while nobody listens to it, so the
 * listener is installed when the first supervisor subscribes and removed when the last one
 * has stopped; hundreds of supervisors never add hundreds of listeners (no MaxListeners
 * warning). Each supervisor counts the signals it has received: the first one starts its
 * shutdown, or, when a shutdown with another cause is already running, is only noted, so a
 * signal never cuts a shutdown half-way on its own. A second one while the shutdown runs is the
 * user insisting: the process exits at once with 128 + the signal's number unless the
 * supervisor says `secondSignal: 'ignore'`.
 *
 * @module
 */
import { builtin } from './builtins.js';
import { invalidArgType, invalidArgValue } from './errors.js';
import { maxTimeoutMs } from './long-timeout.js';

/** @internal What the shared listener needs from a supervisor. */
export interface SignalSubscriber {
  /**
   * Called for each signal received; returns true when the process must be forced to exit. A
   * subscriber that starts its shutdown because of it adds itself to `stopped`, an array shared
   * by every subscriber the same signal reached: `run()` waits for the others too.
   */
  receiveSignal(signal: NodeJS.Signals, stopped: SignalSubscriber[]): boolean;
  /** Exits the process at once, for a forced second signal: `process.exit`, unless `run()` was given an exit function. */
  exitNow(code: number): void;
  /** Called for its `dumpSignal`: print what runs, stop nothing. */
  receiveDump(): void;
}

/** Signals a process can catch: SIGKILL and SIGSTOP cannot be, and Node refuses a few others. */
const uncatchable = new Set(['SIGKILL', 'SIGSTOP']);

/**
 * @internal Checks a `signals` option and returns a frozen copy, throwing at the caller's call
 * site for anything that is not a catchable signal name of this platform.
 */
export function validateSignals(value: unknown, what = 'options.signals'): readonly NodeJS.Signals[] {
  if (!Array.isArray(value)) throw invalidArgType(what, 'an array of signal names or false', value);
  const seen = new Set<NodeJS.Signals>();
  for (const name of value as unknown[]) {
    const signal = checkSignalName(name, what);
    if (uncatchable.has(signal)) throw invalidArgValue(what, 'signals a process can catch', name);
    seen.add(signal);
  }
  return Object.freeze([...seen]);
}

/** @internal Checks that `name` is a signal of this platform, for sending it. */
export function checkSignalName(name: unknown, what: string): NodeJS.Signals {
  if (typeof name !== 'string' || !Object.hasOwn(builtin('node:os').constants.signals, name)) {
    throw Object.assign(new TypeError(`${what}: unknown signal ${JSON.stringify(name)}`), { code: 'ERR_UNKNOWN_SIGNAL' });
  }
  return name as NodeJS.Signals;
}

/** The number of a signal, for the 128 + n exit code shells and supervisors expect. */
export function signalNumber(signal: NodeJS.Signals): number {
  return builtin('node:os').constants.signals[signal];
}

/**
 * Subscribers by signal, with one process listener per signal that has any: added with the
 * first subscriber, removed with the last, so Node's default handling returns.
 */
class SignalListeners {
  readonly #bySignal = new Map<NodeJS.Signals, Set<SignalSubscriber>>();
  readonly #listener: (signal: NodeJS.Signals) => void;

  constructor(listener: (signal: NodeJS.Signals) => void) {
    this.#listener = listener;
  }

  add(subscriber: SignalSubscriber, signal: NodeJS.Signals): void {
    let set = this.#bySignal.get(signal);
    if (set === undefined) {
      set = new Set();
      this.#bySignal.set(signal, set);
      process.on(signal, this.#listener);
    }
    set.add(subscriber);
  }

  delete(subscriber: SignalSubscriber, signal: NodeJS.Signals): void {
    const set = this.#bySignal.get(signal);
    if (set === undefined || !set.delete(subscriber) || set.size > 0) return;
    this.#bySignal.delete(signal);
    process.removeListener(signal, this.#listener);
  }

  /** A copy: a subscriber that stops synchronously unsubscribes while the caller iterates. */
  of(signal: NodeJS.Signals): SignalSubscriber[] {
    return [...(this.#bySignal.get(signal) ?? [])];
  }
}

const shutdownListeners = new SignalListeners((signal) => {
  let forced: SignalSubscriber | undefined;
  const stopped: SignalSubscriber[] = [];
  for (const subscriber of shutdownListeners.of(signal)) {
    if (subscriber.receiveSignal(signal, stopped)) forced ??= subscriber;
  }
  forced?.exitNow(128 + signalNumber(signal));
});

const dumpListeners = new SignalListeners((signal) => {
  for (const subscriber of dumpListeners.of(signal)) subscriber.receiveDump();
});

/** @internal Starts delivering the given signals to `subscriber`. */
export function subscribe(subscriber: SignalSubscriber, signals: readonly NodeJS.Signals[]): void {
  for (const signal of signals) shutdownListeners.add(subscriber, signal);
}

/** @internal Stops delivering signals to `subscriber`; the last one out restores Node's default. */
export function unsubscribe(subscriber: SignalSubscriber, signals: readonly NodeJS.Signals[]): void {
  for (const signal of signals) shutdownListeners.delete(subscriber, signal);
}

/** @internal Prints `subscriber`'s task tree whenever `signal` arrives, until unsubscribed. */
export function subscribeDump(subscriber: SignalSubscriber, signal: NodeJS.Signals): void {
  dumpListeners.add(subscriber, signal);
}

/** @internal Stops printing for `subscriber`; the last one out removes the listener. */
export function unsubscribeDump(subscriber: SignalSubscriber, signal: NodeJS.Signals): void {
  dumpListeners.delete(subscriber, signal);
}

let keepAliveTimer: NodeJS.Timeout | undefined;
let keepAliveHolds = 0;

/**
 * @internal Keeps the event loop alive: a root supervisor with pending tasks owns the process
 * the way a listening server does, so `await sup.done` in a daemon waits for a signal instead
 * of ending in Node's "unsettled top-level await". One shared timer serves every supervisor.
 */
export function holdProcess(): void {
  if (keepAliveHolds++ === 0) keepAliveTimer = setInterval(keepAlive, maxTimeoutMs);
}

/** @internal Releases one `holdProcess`. */
export function releaseProcess(): void {
  if (--keepAliveHolds === 0) {
    clearInterval(keepAliveTimer);
    keepAliveTimer = undefined;
  }
}

/** @internal Whether supervise's keep-alive timer is among the process's active resources. */
export function isHoldingProcess(): boolean {
  return keepAliveHolds > 0;
}

function keepAlive(): void {}
