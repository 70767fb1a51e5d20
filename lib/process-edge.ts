/**
 * Where `run()` meets the process: uncaught errors, stdout and stderr, signals after the report,
 * and the closing lines. Every error it sees counts in the exit code; none is logged to a stream
 * that failed.
 *
 * @module
 */
import type { SupervisorCore } from './core.js';
import { loggable, summarize } from './errors.js';
import { recordFailure } from './failure-policy.js';
import { PrintBudget, count, plural } from './print-budget.js';
import type { ShutdownReport } from './report.js';
import { exitNow } from './root-listener.js';
import { signalNumber } from './signals.js';

/** How many of the report's errors are printed with their stacks; the rest are grouped by message. */
const errorsInFull = 5;
const errorGroupLines = 10;

/**
 * @internal Where `run()` meets the process: uncaught errors, stdout and stderr, and signals after the
 * report. Every error it sees counts in the exit code; none is logged to a stream that failed.
 */
export class ProcessEdge {
  /** Errors seen after the root's report was made, not yet in a report. */
  readonly #late: unknown[] = [];
  /** Errors already printed with their stack, so the closing lines do not print them again. */
  readonly #printed = new Set<unknown>();
  readonly #streamFailed = new Set<NodeJS.WriteStream>();
  #summaryCode: number | undefined;
  readonly #onUncaught = (error: unknown) => this.#uncaught(error, 'uncaught exception');
  readonly #onRejection = (reason: unknown) => this.#uncaught(reason, 'unhandled rejection');
  readonly #onStdoutError = (error: unknown) => this.#streamError(process.stdout, 'stdout', error);
  readonly #onStderrError = (error: unknown) => this.#streamError(process.stderr, 'stderr', error);
  readonly #onLateSignal = (signal: NodeJS.Signals) => {
    if (this.sup._options.forceOnSecondSignal) exitNow(this.sup, 128 + signalNumber(signal));
  };
  #guardedSignals: readonly NodeJS.Signals[] = [];

  constructor(
    readonly sup: SupervisorCore,
    readonly stopOnUnhandledErrors: boolean,
  ) {}

  attach(): void {
    process.on('uncaughtException', this.#onUncaught);
    process.on('unhandledRejection', this.#onRejection);
    // A write to a closed pipe (`app | head -1`, a dead log shipper) is an 'error' event on the
    // stream: unheard, it is an uncaught exception, whose log line fails the same way, forever.
    process.stdout.on('error', this.#onStdoutError);
    process.stderr.on('error', this.#onStderrError);
  }

  guardSignals(): void {
    this.#guardedSignals = this.sup._options.signals;
    for (const signal of this.#guardedSignals) process.on(signal, this.#onLateSignal);
  }

  detach(): void {
    process.off('uncaughtException', this.#onUncaught);
    process.off('unhandledRejection', this.#onRejection);
    process.stdout.off('error', this.#onStdoutError);
    process.stderr.off('error', this.#onStderrError);
    for (const signal of this.#guardedSignals) process.off(signal, this.#onLateSignal);
    this.#guardedSignals = [];
  }

  #uncaught(error: unknown, what: string): void {
    const sup = this.sup;
    if (!this.stopOnUnhandledErrors) {
      this.#log('error', `supervise: ${what} (stopOnUnhandledErrors is false, so the program keeps running):`, loggable(error));
      return;
    }
    this.#log('error', `supervise: ${what}:`, loggable(error));
    this.#printed.add(error);
    if (sup.state === 'stopped') this.#late.push(error);
    else recordFailure(sup, error, what);
  }

  #streamError(stream: NodeJS.WriteStream, name: string, error: unknown): void {
    // Only the first: every later write to the dead stream fails the same way.
    if (this.#streamFailed.has(stream)) return;
    this.#streamFailed.add(stream);
    const failure = Object.assign(new Error(`supervise: writing to ${name} failed: the process lost its ${name === 'stderr' ? 'log' : 'output'}`), {
      cause: error,
    });
    // Said on the other stream, if it still works: never on the one that failed.
    const other = stream === process.stderr ? process.stdout : process.stderr;
    if (!this.#streamFailed.has(other) && !other.destroyed) {
      try {
        other.write(`${failure.message} (${summarize(error)})\n`);
      } catch {
        // nowhere left to say it
      }
    }
    this.#printed.add(failure);
    if (this.sup.state === 'stopped') this.#late.push(failure);
    else recordFailure(this.sup, failure, `writing to ${name} failed`);
  }

  /** Logs through the root's logger; a logger that throws adds its error to what the exit code counts. */
  #log(level: 'warn' | 'error', ...data: unknown[]): void {
    const logger = this.sup._options.logger;
    if (logger === undefined) return;
    try {
      logger[level](...data);
    } catch (error) {
      this.#late.push(error);
    }
  }

  /** `report`, with the errors seen since it was made: a new, frozen report. */
  withLateErrors(report: ShutdownReport): ShutdownReport {
    if (this.#late.length === 0) return report;
    const errors = [...report.errors, ...this.#late.splice(0)];
    return Object.freeze({ ...report, errors: Object.freeze(errors), exitCode: 1 });
  }

  /** The closing lines: every error with its stack, then one summary line with phase durations. */
  logReport(report: ShutdownReport): void {
    const sup = this.sup;
    if (sup._options.logger === undefined) return;
    this.#logErrors(report.errors);
    const phases = sup._life.stats;
    const drains = sup._options.drainDelay > 0 || sup._hooks?.beforeCancel !== undefined;
    const timing =
      phases === undefined ? '' : ` (${drains ? `drain ${ms(phases.beforeCancelMs)}, ` : ''}tasks ${ms(phases.tasksMs)}, disposal ${ms(phases.disposeMs)})`;
    this.#summaryCode = report.exitCode;
    this.#log(
      'warn',
      `supervise: "${sup.name}" stopped in ${ms(report.durationMs)}${timing}: ${report.cancelled} cancelled, ` +
        `${report.stragglers.length} stragglers${phases !== undefined && phases.unlisted > 0 ? ` (${phases.unlisted} not listed)` : ''}, ${report.errors.length} errors; exit code ${report.exitCode}`,
    );
  }

  /**
   * The report's errors not printed yet: the first few in full, with their stacks; the rest one
   * line a message, with its count, within a bound; then how many are left.
   */
  #logErrors(errors: readonly unknown[]): void {
    const unprinted = errors.filter((error) => !this.#printed.has(error));
    const full = unprinted.slice(0, errorsInFull);
    for (const error of full) this.#log('error', 'supervise: error:', loggable(error));
    if (unprinted.length === full.length) return;
    const byMessage = new Map<string, number>();
    for (let i = full.length; i < unprinted.length; i++) {
      const message = summarize(unprinted[i]).slice(0, 200);
      byMessage.set(message, (byMessage.get(message) ?? 0) + 1);
    }
    const groups = [...byMessage].sort((a, b) => b[1] - a[1]);
    const budget = new PrintBudget(errorGroupLines, 4 * 1024);
    let shown = 0;
    let namesShown = 0;
    for (const [message, times] of groups) {
      const line = `supervise: error: ${message}${times > 1 ? ` ×${count(times)}` : ''}`;
      if (!budget.take(line)) break;
      this.#log('error', line);
      shown += times;
      namesShown++;
    }
    const rest = unprinted.length - full.length - shown;
    if (rest > 0)
      this.#log(
        'error',
        `supervise: … and ${plural(rest, 'more error')} under ${plural(groups.length - namesShown, 'other message')}: report.errors has them all`,
      );
  }

  /**
   * Errors that came while the output was flushed, after the summary line: logged, and the exit
   * code corrected in a last line, so that what was printed last is what the process exits with.
   */
  afterSummary(report: ShutdownReport): ShutdownReport {
    if (this.#late.length === 0) return report;
    const late = this.#late.slice();
    const final = this.withLateErrors(report);
    for (const error of late) if (!this.#printed.has(error)) this.#log('error', 'supervise: error after the report:', loggable(error));
    if (this.#summaryCode !== undefined && this.#summaryCode !== final.exitCode) {
      this.#log('warn', `supervise: "${this.sup.name}": ${late.length} error(s) after the report; exit code ${final.exitCode}`);
    }
    this.#late.length = 0; // what the logger may have thrown here changes nothing more: the code is 1 already
    return final;
  }
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}
