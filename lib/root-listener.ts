/**
 * A root supervisor at the process edge: what it listens to (its signals, the IPC channel's
 * `'shutdown'` message in a PM2 app or cluster worker, its dump signal) and how it holds the
 * process open while it has tasks. Made only for a root that listens: a child, or a root with
 * `signals: false`, carries none of it.
 *
 * @module
 */
import type { SupervisorCore } from './core.js';
import { hostLimitWarning } from './host-limit.js';
import { RUNNING, STOPPED } from './lifecycle.js';
import { type MessageSubscriber, SHUTDOWN_MESSAGE, stoppedByMessage, subscribeMessages, unsubscribeMessages } from './messages.js';
import { type SignalSubscriber, holdProcess, releaseProcess, subscribe, subscribeDump, unsubscribe, unsubscribeDump } from './signals.js';
import { formatCutShort, formatTree, taskTree } from './task-tree.js';

/** Whether a root has warned that its shutdown does not fit inside the host's stop limit. */
let hostLimitWarned = false;

/** @internal The listeners of one root supervisor, from its construction until it has stopped. */
export class RootListener implements SignalSubscriber, MessageSubscriber {
  #signalsReceived = 0;
  #holding = false;
  /** The roots the signal that stopped this one stopped too (this one's listener included): `run()` waits for them. */
  stoppedWith: readonly RootListener[] | undefined = undefined;

  constructor(readonly sup: SupervisorCore) {
    const { signals, dumpSignal } = sup._options;
    if (dumpSignal !== undefined) subscribeDump(this, dumpSignal);
    if (signals.length > 0) {
      subscribe(this, signals);
      if (stoppedByMessage()) subscribeMessages(this);
      if (!hostLimitWarned && sup._options.logger !== undefined) {
        // Said at start, while there is time to fix the host's setting, rather than cut off by its
        // SIGKILL; and once per process, by the first root that does not fit and has a logger.
        const { name, drainDelay, shutdownTimeout } = sup._options;
        const warning = hostLimitWarning(name, drainDelay, shutdownTimeout);
        if (warning !== undefined) {
          hostLimitWarned = true;
          sup._log('warn', warning);
        }
      }
    }
  }

  /** The root has pending tasks: it owns the process, as a listening server does. */
  hold(): void {
    if (this.#holding || this.sup._options.signals.length === 0 || this.sup._life.phase === STOPPED) return;
    this.#holding = true;
    holdProcess();
  }

  /** The root has no pending task, or has stopped. */
  release(): void {
    if (!this.#holding) return;
    this.#holding = false;
    releaseProcess();
  }

  /** The root has stopped: nothing reaches it any more. */
  detach(): void {
    this.release();
    const { signals, dumpSignal } = this.sup._options;
    if (signals.length > 0) {
      unsubscribe(this, signals);
      unsubscribeMessages(this);
    }
    if (dumpSignal !== undefined) unsubscribeDump(this, dumpSignal);
  }

  receiveSignal(signal: NodeJS.Signals, stopped: SignalSubscriber[]): boolean {
    const sup = this.sup;
    const { forceOnSecondSignal } = sup._options;
    const count = ++this.#signalsReceived;
    if (sup._life.phase === RUNNING) {
      stopped.push(this);
      this.stoppedWith = stopped as RootListener[];
      const hint = forceOnSecondSignal && process.stderr.isTTY ? ` (${signal === 'SIGINT' ? 'press Ctrl-C' : `send ${signal}`} again to exit at once)` : '';
      sup._log('warn', `supervise: received ${signal}, shutting down "${sup.name}"${hint}`);
      void sup._begin('signal', undefined, signal, Infinity);
      return false;
    }
    if (count >= 2 && forceOnSecondSignal) {
      sup._log('warn', `supervise: received ${signal} again during shutdown of "${sup.name}", exiting at once${formatCutShort(sup)}`);
      return true;
    }
    sup._log('warn', `supervise: received ${signal}; "${sup.name}" is already shutting down${forceOnSecondSignal ? ', send it again to exit at once' : ''}`);
    return false;
  }

  receiveShutdownMessage(): void {
    shutdownByMessage(this.sup);
  }

  /** The dump signal: the whole tree to stderr, stopping nothing. */
  receiveDump(): void {
    process.stderr.write(`${formatTree(taskTree(this.sup))}\n`);
  }

  /** Exits at once (a forced second signal): through `run()`'s exit function when it was given one. */
  exitNow(code: number): void {
    exitNow(this.sup, code);
  }
}

/** @internal Exits the process at once with `code`, through `run()`'s exit function when `sup` has one. */
export function exitNow(sup: SupervisorCore, code: number): void {
  const exit = sup._hooks?.exit;
  if (exit === undefined) process.exit(code);
  exit(code);
}

/** @internal A `'shutdown'` message reached `sup`: a graceful shutdown, with its drain delay. */
export function shutdownByMessage(sup: SupervisorCore): void {
  if (sup._life.phase !== RUNNING) return;
  sup._log('warn', `supervise: received a '${SHUTDOWN_MESSAGE}' message, shutting down "${sup.name}"`);
  void sup._begin('message', undefined, undefined, Infinity);
}
