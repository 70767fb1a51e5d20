/**
 * `stopChildProcess`: stops a child process the way an init system does. It sends SIGTERM (or
 * the signal you choose), waits for the child to exit, and sends SIGKILL when its time is up.
 * A child started with `detached: true` leads its own process group; then the whole group gets
 * each signal and is waited for, so grandchildren do not outlive the daemon.
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import { builtin } from './builtins.js';
import { invalidArgType } from './errors.js';
import { type AdapterSpec, type GracePeriod, type GracePeriodOptions, beginStop, defineWith, hasMethods, pollUntil } from './graceful.js';
import { checkSignalName, signalNumber } from './signals.js';

/**
 * Options for {@link stopChildProcess}.
 *
 * @example
 * ```ts
 * import { spawn } from 'node:child_process';
 * import { Supervisor, stopChildProcess, type StopChildProcessOptions } from 'supervise';
 * const sup = new Supervisor();
 * const options: StopChildProcessOptions = { signal: 'SIGINT', timeout: 3_000 };
 * sup.adopt(spawn('sleep', ['60']), stopChildProcess.with(options));
 * await sup.shutdown();   // SIGINT, and SIGKILL if it still runs 3 s later
 * ```
 */
export interface StopChildProcessOptions extends GracePeriodOptions {
  /** The signal that asks the child to stop. Default: `'SIGTERM'`. */
  readonly signal?: NodeJS.Signals;
  /**
   * Signal the child's whole process group. Default: whether the child leads its own group, as
   * `spawn(..., { detached: true })` makes it (read from `/proc` on Linux; elsewhere false).
   */
  readonly group?: boolean;
}

const adapter: AdapterSpec<StopChildProcessOptions> = {
  name: 'stopChildProcess',
  argument: 'child',
  expected: 'a ChildProcess',
  accepts: (value) => hasMethods(value, 'kill', 'once'),
  options: ['timeout', 'signal', 'group'],
  checkOptions(options, what) {
    if (options.signal !== undefined) checkSignalName(options.signal, `${what}.signal`);
    if (options.group !== undefined && typeof options.group !== 'boolean') throw invalidArgType(`${what}.group`, 'a boolean', options.group);
  },
};

/** How often a process group is checked for members once its leader has exited. */
const groupPollMs = 25;

/**
 * Stops `child`: its signal, then SIGKILL at the deadline. Resolves once the child (and, for a
 * group, every member) has exited; at once if it already had.
 *
 * @example
 * ```ts no_run
 * import { spawn } from 'node:child_process';
 * import { Supervisor, stopChildProcess } from 'supervise';
 * const sup = new Supervisor();
 * const ffmpeg = sup.adopt(spawn('ffmpeg', ['-i', 'in.mp4', 'out.webm'], { detached: true }), stopChildProcess);
 * ```
 * @throws TypeError for a value that is not a ChildProcess, or a bad option.
 */
export function stopChildProcess(child: ChildProcess, options?: StopChildProcessOptions): Promise<void> {
  const { grace, options: checked } = beginStop(adapter, child, options);
  const signal = checked.signal ?? 'SIGTERM';
  const pid = child.pid;
  if (pid === undefined) return Promise.resolve();
  // A detached child leads a group whose id is its pid. Once it has exited, that group lives on
  // while any member does (Linux reuses no pid that names a live group), and is stopped the same.
  const gone = hasExited(child);
  const group = checked.group ?? (gone ? groupRuns(pid) : leadsOwnGroup(pid));
  if (gone && !group) return Promise.resolve();
  return stop(child, pid, group, signal, grace);
}

export declare namespace stopChildProcess {
  /**
   * `stopChildProcess` with options, for `adopt`. The options are checked here, at the call, not
   * at shutdown; reports name the disposer `stopChildProcess`.
   *
   * @example
   * ```ts
   * import { spawn } from 'node:child_process';
   * import { Supervisor, stopChildProcess } from 'supervise';
   * const sup = new Supervisor();
   * sup.adopt(spawn('sleep', ['60']), stopChildProcess.with({ signal: 'SIGINT', timeout: 3_000 }));
   * await sup.shutdown();
   * ```
   * @throws TypeError when `options` is not an object, or an option is unknown (the closest name
   * is suggested) or of the wrong type; RangeError when `timeout` is out of range.
   */
  function withOptions(options: StopChildProcessOptions): (child: ChildProcess) => Promise<void>;
  export { withOptions as with };
}

defineWith(stopChildProcess, adapter);

async function stop(child: ChildProcess, pid: number, group: boolean, signal: NodeJS.Signals, grace: GracePeriod): Promise<void> {
  const target = group ? -pid : pid;
  const exited = hasExited(child) ? Promise.resolve() : builtin('node:events').once(child, 'exit');
  const polling = new AbortController();
  const stopped = group ? exited.then(() => pollUntil(() => !groupRuns(pid), groupPollMs, polling.signal)) : exited;
  send(target, signal);
  try {
    await grace.wait(stopped, () => {
      send(target, 'SIGKILL');
      return `forced: SIGKILL to ${group ? 'process group' : 'pid'} ${pid} after ${signal}`;
    });
  } finally {
    polling.abort(); // a forced stop's last wait is over: no poll may keep the process alive
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Sends a signal, ignoring a process (group) that is already gone. */
function send(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signalNumber(signal));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Whether a process of the group `pgid` still runs. `kill(-pgid, 0)` also succeeds while the
 * only members left have exited but are not reaped yet: zombies. A member orphaned by its
 * leader's exit is reaped by init, which may take seconds, or, with node as PID 1 in a container
 * (no init), never; so on Linux the members are looked up in /proc and zombies do not count.
 */
function groupRuns(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let entries: string[];
  try {
    entries = builtin('node:fs').readdirSync('/proc');
  } catch {
    return true; // no /proc: trust kill()
  }
  let seen = false;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields === undefined || Number(fields[2]) !== pgid) continue;
    if (fields[0] !== 'Z' && fields[0] !== 'X') return true;
    seen = true;
  }
  // Only zombies: stopped. No member found at all: /proc does not show this group, so trust kill().
  return !seen;
}

/** The fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, … (undefined when unreadable). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = builtin('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Whether `pid` leads its own process group (field 5 of /proc/<pid>/stat, after the command name). */
function leadsOwnGroup(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && Number(fields[2]) === pid;
}
