/**
 * `run()`: the process entry point. One call owns the process: it starts a root Supervisor,
 * runs `main` as its first task, keeps the process alive, turns SIGINT and SIGTERM into a
 * graceful shutdown, turns uncaught errors into a failed one, and exits with a code that
 * systemd, Docker and Kubernetes read correctly.
 *
 * It is aiorun's `run(main())` with the known gaps closed: its listeners are gone once it has
 * finished; a signal during a shutdown begun another way does not cut it short; errors raised
 * while tasks are cancelled are reported; nothing can be spawned that shutdown would not wait
 * for; and one deadline bounds everything.
 *
 * Exit codes: 0 clean (a graceful stop after a signal included); 1 a task, uncaught error or
 * callback failed; 124 the deadline passed with stragglers; 128 + n forced by a second signal n.
 *
 * @module
 */
import { invalidArgType, loggable, summarize } from './errors.js';
import { LongTimeout } from './long-timeout.js';
import { PrintBudget, count, plural } from './print-budget.js';
import { type SupervisorOptions, checkKnownKeys, supervisorOptionNames } from './options.js';
import { EXIT_DEADLINE, type ShutdownReport } from './shutdown.js';
import { holdProcess, releaseProcess, signalNumber } from './signals.js';
import { Supervisor } from './supervisor.js';

/**
 * Options for {@link run}: every Supervisor option, plus how `run()` owns the process.
 *
 * @example
 * ```ts
 * await run(main, { shutdownTimeout: 15_000, onShutdown: () => registry.deregister(), exitWhenDone: true });
 * ```
 */
export interface RunOptions extends SupervisorOptions {
  /**
   * aiorun's `shutdown_callback`: runs exactly once when shutdown begins, before any task is
   * aborted, while tasks still run (`sup.signal` is already aborted). Sync or async. Its error
   * is reported (exit 1), unless an error from main or a task is already pending: that one
   * wins, and this one is logged.
   */
  readonly onShutdown?: (sup: Supervisor) => unknown;
  /**
   * `true` (default): an `uncaughtException` or `unhandledRejection` anywhere in the process is
   * logged with its stack and starts a graceful shutdown that ends in exit code 1. `false`: it
   * is logged and the program keeps running (aiorun's default).
   */
  readonly stopOnUnhandledErrors?: boolean;
  /** Shut down once main and every task have settled, for batch jobs. Default: false. */
  readonly exitWhenDone?: boolean;
  /**
   * `true` (default): once shutdown has finished and stdout and stderr are flushed, exit the
   * process with `report.exitCode`. `false`: only resolve the report; set no exit code.
   * A function: called with the exit code instead of `process.exit`, then and for a forced
   * second signal, so a test can assert it in-process (see `supervise/testing`).
   */
  readonly exit?: boolean | ((code: number) => void);
}

const runOptionNames = ['onShutdown', 'stopOnUnhandledErrors', 'exitWhenDone', 'exit'] as const;

/**
 * Runs `main(sup)` as the task named `main` of a new root Supervisor and owns the process until
 * it has shut down. Without `main`, it runs until a signal. Resolves with the shutdown report;
 * with `exit: true` (the default) the process then exits with `report.exitCode`.
 *
 * @example
 * ```ts
 * import { run } from 'supervise';
 * await run(async (sup) => {
 *   const db = sup.use(await openDatabase());
 *   sup.spawn(async (signal) => { for await (const job of queue(db, { signal })) await handle(job); });
 * }, { onShutdown: () => console.log('draining') });
 * ```
 * @throws TypeError or RangeError (synchronously) for a bad argument or option.
 */
export function run(main?: (sup: Supervisor) => unknown, options: RunOptions = {}): Promise<ShutdownReport> {
  return startRun(main, options).report;
}

/** @internal `run()`, also handing back the supervisor it made: for `supervise/testing`. */
export function startRun(main: ((sup: Supervisor) => unknown) | undefined, options: RunOptions = {}): { supervisor: Supervisor; report: Promise<ShutdownReport> } {
  if (main !== undefined && typeof main !== 'function') throw invalidArgType('run(main)', 'a function or undefined', main);
  if (typeof options !== 'object' || options === null) throw invalidArgType('run(main, options): options', 'an object', options);
  for (const name of ['stopOnUnhandledErrors', 'exitWhenDone'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') throw invalidArgType(`options.${name}`, 'a boolean', options[name]);
  }
  if (options.exit !== undefined && typeof options.exit !== 'boolean' && typeof options.exit !== 'function') {
    throw invalidArgType('options.exit', 'a boolean or a function (code) => void', options.exit);
  }
  checkKnownKeys(options, [...supervisorOptionNames, ...runOptionNames], 'options');
  const { onShutdown, stopOnUnhandledErrors = true, exitWhenDone = false, exit = true } = options;
  if (onShutdown !== undefined && typeof onShutdown !== 'function') throw invalidArgType('options.onShutdown', 'a function', onShutdown);

  const supervisorOptions: Record<string, unknown> = { ...options };
  for (const name of runOptionNames) delete supervisorOptions[name];
  const sup = new Supervisor(supervisorOptions as SupervisorOptions);
  if (typeof exit === 'function') sup._exit = exit;

  if (onShutdown !== undefined) {
    sup._beforeCancel = async () => {
      try {
        await onShutdown(sup);
      } catch (error) {
        // An error already pending from main or a task is the cause; this one must not hide it.
        if (sup._errors.length === 0) throw error;
        sup._log('error', 'supervise: onShutdown failed as well:', loggable(error));
      }
    };
  }

  const edge = new ProcessEdge(sup, stopOnUnhandledErrors);
  edge.attach();
  holdProcess();

  if (exitWhenDone) sup._onIdle = () => void sup.shutdown();
  if (main !== undefined) sup.spawn(() => main(sup), { name: 'main' });
  else if (exitWhenDone) void sup.shutdown();

  const report = sup.done.then(async (rootReport) => {
    releaseProcess();
    // Until the process exits, a late signal neither kills it nor is lost (secondSignal decides).
    edge.guardSignals();
    const deadlineAt = performance.now() - rootReport.durationMs + sup._options.drainDelay + sup._options.shutdownTimeout;
    // Errors raised as the shutdown ended (a rejection nobody awaited, a diagnostics subscriber
    // that threw) surface within a turn or two of the event loop: they count.
    await nextTurn();
    await nextTurn();
    let final = await joinRootsStoppedAlongside(sup, rootReport, deadlineAt);
    final = edge.withLateErrors(final);
    edge.logReport(final);
    final = edge.withLateErrors(final); // the logger itself may have failed
    if (exit === false) {
      edge.detach();
      return final;
    }
    await flushOutput();
    await nextTurn(); // what the closing lines set off (a callback, a rejection) surfaces too
    final = edge.afterSummary(final);
    edge.detach();
    sup.exitNow(final.exitCode);
    return final;
  });
  return { supervisor: sup, report };
}

/**
 * Where `run()` meets the process: uncaught errors, stdout and stderr, and signals after the
 * report. Every error it sees counts in the exit code; none is logged to a stream that failed.
 */
class ProcessEdge {
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
    if (this.sup._options.forceOnSecondSignal) this.sup.exitNow(128 + signalNumber(signal));
  };
  #guardedSignals: readonly NodeJS.Signals[] = [];

  constructor(
    readonly sup: Supervisor,
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
    else sup._recordFailure(error, what);
  }

  #streamError(stream: NodeJS.WriteStream, name: string, error: unknown): void {
    // Only the first: every later write to the dead stream fails the same way.
    if (this.#streamFailed.has(stream)) return;
    this.#streamFailed.add(stream);
    const failure = Object.assign(new Error(`supervise: writing to ${name} failed: the process lost its ${name === 'stderr' ? 'log' : 'output'}`), { cause: error });
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
    else this.sup._recordFailure(failure, `writing to ${name} failed`);
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
    const phases = sup._phaseDurations;
    const drains = sup._options.drainDelay > 0 || sup._beforeCancel !== undefined;
    const timing = phases === undefined ? '' : ` (${drains ? `drain ${ms(phases.beforeCancelMs)}, ` : ''}tasks ${ms(phases.tasksMs)}, disposal ${ms(phases.disposeMs)})`;
    this.#summaryCode = report.exitCode;
    this.#log(
      'warn',
      `supervise: "${sup.name}" stopped in ${ms(report.durationMs)}${timing}: ${report.cancelled} cancelled, ` +
        `${report.stragglers.length} stragglers${sup._unlisted > 0 ? ` (${sup._unlisted} not listed)` : ''}, ${report.errors.length} errors; exit code ${report.exitCode}`,
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
    if (rest > 0) this.#log('error', `supervise: … and ${plural(rest, 'more error')} under ${plural(groups.length - namesShown, 'other message')}: report.errors has them all`);
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

/**
 * The other roots the same signal stopped (a library's own root, say): waited for until this
 * root's deadline, their errors and stragglers counted. One still stopping at the deadline is a
 * straggler.
 */
async function joinRootsStoppedAlongside(sup: Supervisor, report: ShutdownReport, deadlineAt: number): Promise<ShutdownReport> {
  const others = (sup._stoppedWith ?? []).filter((other): other is Supervisor => other !== sup && other instanceof Supervisor);
  if (others.length === 0) return report;
  const errors = [...report.errors];
  const stragglers = [...report.stragglers];
  let timer: LongTimeout | undefined;
  const expired = new Promise<undefined>((resolve) => (timer = new LongTimeout(deadlineAt, () => resolve(undefined))));
  const startedAt = performance.now();
  const reports = await Promise.all(others.map((other) => Promise.race([other.done, expired])));
  timer?.clear();
  let cancelled = report.cancelled;
  reports.forEach((other, index) => {
    if (other === undefined) {
      stragglers.push({ id: 0, name: `root "${others[index]!.name}" (still shutting down)`, ageMs: Math.round(performance.now() - startedAt + report.durationMs) });
      return;
    }
    cancelled += other.cancelled;
    for (const error of other.errors) errors.push(error);
    for (const straggler of other.stragglers) stragglers.push(straggler);
  });
  return Object.freeze({
    ...report,
    cancelled,
    errors: Object.freeze(errors),
    stragglers: Object.freeze(stragglers),
    exitCode: errors.length > 0 ? 1 : stragglers.length > 0 ? EXIT_DEADLINE : 0,
  });
}

/** How many of the report's errors are printed with their stacks; the rest are grouped by message. */
const errorsInFull = 5;
const errorGroupLines = 10;

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

/** Waits until what was written to stdout and stderr has been handed to the OS, or 2 s have passed. */
function flushOutput(): Promise<void> {
  const streams = [process.stdout, process.stderr];
  return new Promise((resolve) => {
    let pending = streams.length;
    const timer = setTimeout(resolve, 2_000);
    const done = () => {
      if (--pending === 0) {
        clearTimeout(timer);
        resolve();
      }
    };
    for (const stream of streams) {
      if (stream.writableLength === 0 || stream.destroyed) done();
      else stream.write('', done);
    }
  });
}
