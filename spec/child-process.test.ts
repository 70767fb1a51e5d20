import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Supervisor, stopChildProcess } from '../lib/index.js';
import { killFixtures, killPidsAndGroups, pidExists, recordingLogger, startFixture, sendSignal, needs } from './helpers.js';

const childFile = fileURLToPath(new URL('./fixtures/cp-child.js', import.meta.url));

/** Every pid a test started, directly or not: killed (and their groups) after the file, whatever happened. */
const started = new Set<number>();
after(() => {
  killFixtures();
  killPidsAndGroups(started);
});

interface Started {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The grandchild's pid, when there is one. */
  readonly grandchild: number | undefined;
  stdout(): string;
}

/** Starts spec/fixtures/cp-child.js and resolves once it (and its grandchild) is ready; a 30 s hang guard. */
async function startChild(env: Record<string, string>, options: { detached?: boolean } = {}): Promise<Started> {
  const child = spawn(process.execPath, [childFile], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: options.detached ?? false,
  });
  started.add(child.pid!);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const deadline = performance.now() + 30_000;
  while (!/ready pid=\d+ grandchild=\w+\n/.test(out)) {
    assert.ok(performance.now() < deadline, `cp-child not ready within 30 s: ${out}`);
    assert.equal(child.exitCode, null, `cp-child exited before it was ready: ${out}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const grandchild = /grandchild=(\d+)/.exec(out)?.[1];
  if (grandchild !== undefined) started.add(Number(grandchild));
  return { child, pid: child.pid!, grandchild: grandchild === undefined ? undefined : Number(grandchild), stdout: () => out };
}

/** Waits until the child's stdout is complete (its pipe closed), so every line it printed is in. */
async function drained(started: Started): Promise<string> {
  const stdout = started.child.stdout!;
  if (!stdout.closed) {
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise((resolve) => (timer = setTimeout(resolve, 30_000)));
    await Promise.race([once(stdout, 'close'), guard]);
    clearTimeout(timer);
  }
  return started.stdout();
}

const exists = pidExists;

/** The timers keeping the event loop alive right now. */
const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;

/**
 * Whether `pid` still runs. A process that has exited but whose parent has not reaped it yet (a
 * zombie) has stopped for good; an orphan is reaped by init, which here may take a second or two,
 * so a grandchild whose parent died first is checked with this rather than with `exists`.
 */
function running(pid: number): boolean {
  if (!exists(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false; // gone between the two checks
  }
}

const serial = { timeout: 120_000, concurrency: false };

describe('stopChildProcess', { ...serial, skip: needs('posixSignals') }, () => {
  it('a cooperative child exits on SIGTERM: resolves with no straggler, exit code 0', async () => {
    const started = await startChild({});
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 30_000 });
    assert.equal(sup.adopt(started.child, stopChildProcess), started.child);
    const report = await sup.shutdown();
    assert.equal(report.exitCode, 0);
    assert.deepEqual(report.stragglers, []);
    assert.deepEqual(report.errors, []);
    assert.equal(started.child.exitCode, 0);
    assert.equal(started.child.signalCode, null);
    assert.equal(await drained(started), `ready pid=${started.pid} grandchild=none\nchild got SIGTERM\n`);
    assert.equal(exists(started.pid), false);
  });

  it('called directly, it waits for a slow but cooperative child, however long, without a timeout', async () => {
    const started = await startChild({ ON_SIGNAL: 'exit-slowly' });
    await stopChildProcess(started.child);
    assert.equal(started.child.exitCode, 0);
    assert.equal(await drained(started), `ready pid=${started.pid} grandchild=none\nchild got SIGTERM\n`);
  });

  it('a child that ignores SIGTERM is SIGKILLed after `timeout`', async () => {
    const started = await startChild({ ON_SIGNAL: 'ignore' });
    const sentAt = performance.now();
    await stopChildProcess(started.child, { timeout: 300 });
    const elapsed = performance.now() - sentAt;
    assert.equal(started.child.signalCode, 'SIGKILL');
    assert.equal(started.child.exitCode, null);
    assert.ok(elapsed < 10_000, `took ${elapsed} ms`);
    assert.equal(await drained(started), `ready pid=${started.pid} grandchild=none\nchild got SIGTERM\n`);
    assert.equal(exists(started.pid), false);
  });

  it('as a disposer without timeout, a stubborn child is SIGKILLed before the deadline and named as a straggler (exit code 124)', async () => {
    const started = await startChild({ ON_SIGNAL: 'ignore' });
    const logger = recordingLogger();
    const sup = new Supervisor({ signals: false, logger, shutdownTimeout: 1000 });
    sup.adopt(started.child, stopChildProcess);
    const report = await sup.shutdown();
    assert.equal(started.child.signalCode, 'SIGKILL');
    assert.equal(report.exitCode, 124);
    assert.deepEqual(report.errors, []);
    assert.deepEqual(
      report.stragglers.map((s) => s.name),
      [`stopChildProcess (forced: SIGKILL to pid ${started.pid} after SIGTERM)`],
      'one straggler: the forced stop, which finished before the supervisor deadline',
    );
    assert.ok(report.durationMs < 10_000, `took ${report.durationMs} ms`);
    assert.deepEqual(logger.lines, [], 'the disposer itself finished in time');
    assert.equal(exists(started.pid), false);
  });

  it("a `timeout` longer than the supervisor's remaining time is cut to it: the child does not outlive the shutdown", async () => {
    const started = await startChild({ ON_SIGNAL: 'ignore' });
    const logger = recordingLogger();
    const sup = new Supervisor({ signals: false, logger, shutdownTimeout: 1000 });
    sup.adopt(started.child, (child) => stopChildProcess(child, { timeout: 60_000 }));
    const report = await sup.shutdown();
    assert.equal(started.child.signalCode, 'SIGKILL', 'killed before the report, not 60 s later');
    assert.equal(report.exitCode, 124);
    assert.deepEqual(
      report.stragglers.map((s) => s.name),
      [`ChildProcess (forced: SIGKILL to pid ${started.pid} after SIGTERM)`],
    );
    assert.deepEqual(logger.lines, []);
    assert.equal(exists(started.pid), false);
  });

  it("a `timeout` shorter than the supervisor's remaining time is kept", async () => {
    const started = await startChild({ ON_SIGNAL: 'ignore' });
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 60_000 });
    sup.adopt(started.child, (child) => stopChildProcess(child, { timeout: 200 }));
    const report = await sup.shutdown();
    assert.equal(started.child.signalCode, 'SIGKILL');
    assert.equal(report.exitCode, 124);
    assert.ok(report.durationMs < 20_000, `took ${report.durationMs} ms: forced long before the 60 s deadline`);
  });

  it('sends the chosen signal', async () => {
    const started = await startChild({});
    await stopChildProcess(started.child, { signal: 'SIGINT', timeout: 20_000 });
    assert.equal(started.child.exitCode, 0);
    assert.equal(await drained(started), `ready pid=${started.pid} grandchild=none\nchild got SIGINT\n`);
  });

  it('a detached child and its grandchild: the whole process group is signalled and waited for', { skip: needs('linux') }, async () => {
    const started = await startChild({ GRANDCHILD: 'exit', WAIT_GRANDCHILD: '1' }, { detached: true });
    const grandchild = started.grandchild!;
    assert.ok(exists(grandchild));
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 30_000 });
    sup.adopt(started.child, stopChildProcess);
    const report = await sup.shutdown();
    assert.equal(report.exitCode, 0);
    assert.deepEqual(report.stragglers, []);
    assert.equal(started.child.exitCode, 0);
    const lines = (await drained(started)).trim().split('\n');
    assert.deepEqual(lines.slice(1).sort(), ['child got SIGTERM', 'grandchild got SIGTERM']);
    // The child waited for (and reaped) its grandchild, and this process reaped the child.
    assert.equal(exists(started.pid), false);
    assert.equal(exists(grandchild), false);
  });

  it('a group whose leader exits at once is waited for until its last member has stopped', { skip: needs('linux') }, async () => {
    // The grandchild exits 200 ms after the leader, as an orphan: the group outlives its leader.
    // Init may take seconds to reap that orphan (here about 1-2 s; never when node is PID 1 in a
    // container): an exited but unreaped member must not count, or this would be forced at 800 ms.
    const started = await startChild({ GRANDCHILD: 'exit-slowly' }, { detached: true });
    const grandchild = started.grandchild!;
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 1000 });
    sup.adopt(started.child, stopChildProcess);
    const report = await sup.shutdown();
    assert.equal(report.exitCode, 0);
    assert.deepEqual(report.stragglers, [], 'nothing forced: an exited orphan awaiting its reaping by init is not a straggler');
    assert.equal(running(grandchild), false, 'the grandchild had stopped when stopChildProcess resolved');
    assert.equal(exists(started.pid), false);
    const lines = (await drained(started)).trim().split('\n');
    assert.deepEqual(lines.slice(1).sort(), ['child got SIGTERM', 'grandchild got SIGTERM']);
  });

  it('a grandchild that ignores SIGTERM is SIGKILLed with its group', { skip: needs('linux') }, async () => {
    const started = await startChild({ GRANDCHILD: 'ignore' }, { detached: true });
    const grandchild = started.grandchild!;
    const sentAt = performance.now();
    const timersBefore = timers();
    await stopChildProcess(started.child, { timeout: 300 });
    assert.equal(timers(), timersBefore, 'no timer left behind: the group poll was aborted');
    assert.ok(performance.now() - sentAt < 10_000);
    assert.equal(started.child.exitCode, 0, 'the leader itself exited on SIGTERM');
    assert.equal(running(grandchild), false, 'the grandchild was killed with its group');
    assert.equal(exists(started.pid), false);
    const lines = (await drained(started)).trim().split('\n');
    assert.deepEqual(lines.slice(1).sort(), ['child got SIGTERM', 'grandchild got SIGTERM']);
  });

  it('group: false signals the leader alone', { skip: needs('linux') }, async () => {
    const started = await startChild({ GRANDCHILD: 'exit', WAIT_GRANDCHILD: '1' }, { detached: true });
    const grandchild = started.grandchild!;
    await stopChildProcess(started.child, { group: false, signal: 'SIGINT', timeout: 300 });
    // The leader waits for a grandchild that was never signalled, so it is SIGKILLed, alone.
    assert.equal(started.child.signalCode, 'SIGKILL');
    assert.ok(running(grandchild), 'the grandchild was not signalled');
    process.kill(grandchild, 'SIGKILL');
    const deadline = performance.now() + 30_000;
    while (running(grandchild) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(running(grandchild), false);
    // The grandchild shared the stdout pipe: it is complete now that the grandchild is gone.
    assert.equal((await drained(started)).trim().split('\n').slice(1).join(','), 'child got SIGINT');
  });

  it('an already-exited child resolves at once, and so does one that never started', async () => {
    const started = await startChild({});
    sendSignal(started.child, 'SIGTERM');
    await once(started.child, 'exit');
    const sentAt = performance.now();
    await stopChildProcess(started.child, { timeout: 60_000 });
    assert.ok(performance.now() - sentAt < 1000);

    const missing = spawn('/nonexistent/supervise-test-binary', [], { stdio: 'ignore' });
    const error = once(missing, 'error');
    assert.equal(missing.pid, undefined);
    await stopChildProcess(missing, { timeout: 60_000 });
    assert.equal(((await error)[0] as NodeJS.ErrnoException).code, 'ENOENT');
  });

  it('stopChildProcess.with(options) checks them at that call; its disposer, adopted, signals and forces as configured, named stopChildProcess', async () => {
    const bad: [unknown, RegExp, string][] = [
      [
        { signl: 'SIGINT' },
        /^stopChildProcess\.with\(options\): options\.signl must be one of the known options \(timeout, signal, group\); did you mean signal\?/,
        'ERR_INVALID_ARG_VALUE',
      ],
      [{ signal: 'SIGNOPE' }, /^stopChildProcess\.with\(options\): options\.signal: unknown signal "SIGNOPE"/, 'ERR_UNKNOWN_SIGNAL'],
      [{ group: 'yes' }, /^stopChildProcess\.with\(options\): options\.group must be a boolean/, 'ERR_INVALID_ARG_TYPE'],
      [{ timeout: '1s' }, /^stopChildProcess\.with\(options\): options\.timeout must be a number/, 'ERR_INVALID_ARG_TYPE'],
      ['SIGINT', /^stopChildProcess\.with\(options\): options must be an object/, 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [options, message, code] of bad) {
      assert.throws(() => stopChildProcess.with(options as never), { message, code }, JSON.stringify(options));
    }
    const started = await startChild({ ON_SIGNAL: 'ignore' });
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 60_000 });
    assert.equal(sup.adopt(started.child, stopChildProcess.with({ signal: 'SIGINT', timeout: 200 })), started.child);
    const report = await sup.shutdown();
    assert.equal(started.child.signalCode, 'SIGKILL');
    assert.equal(report.exitCode, 124);
    assert.deepEqual(
      report.stragglers.map((s) => s.name),
      [`stopChildProcess (forced: SIGKILL to pid ${started.pid} after SIGINT)`],
    );
    assert.ok(report.durationMs < 30_000, `took ${report.durationMs} ms: forced at its timeout, not at the 60 s deadline`);
    assert.equal(await drained(started), `ready pid=${started.pid} grandchild=none\nchild got SIGINT\n`);
    assert.equal(exists(started.pid), false);
  });

  it('bad input throws at the call', async () => {
    const started = await startChild({});
    const child = started.child;
    for (const value of [undefined, null, 42, 'child', {}, { kill() {} }]) {
      assert.throws(() => stopChildProcess(value as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    }
    assert.throws(() => stopChildProcess(child, 'SIGTERM' as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => stopChildProcess(child, { timeout: '1s' as never }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => stopChildProcess(child, { timeout: -1 }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => stopChildProcess(child, { signal: 'SIGNOPE' as never }), { name: 'TypeError', code: 'ERR_UNKNOWN_SIGNAL' });
    assert.throws(() => stopChildProcess(child, { group: 'yes' as never }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(child.exitCode, null, 'a refused call sent nothing');
    assert.equal(child.signalCode, null);
    await stopChildProcess(child);
    assert.equal(child.exitCode, 0);
  });
});

describe('a daemon that owns child processes, in the process table', { ...serial, skip: needs('posixSignals') }, () => {
  it('after SIGTERM to the daemon, neither child is left: the stubborn one was SIGKILLed (exit 124)', async () => {
    const daemon = startFixture('cp-daemon', { SHUTDOWN_TIMEOUT: '1000' });
    await daemon.waitFor('children ');
    const [cooperative, stubborn] = /children (\d+) (\d+)/.exec(daemon.stdout())!.slice(1).map(Number) as [number, number];
    started.add(cooperative).add(stubborn);
    assert.ok(exists(cooperative) && exists(stubborn));
    sendSignal(daemon.child, 'SIGTERM');
    const { code, stdout, stderr } = await daemon.exited();
    assert.equal(code, 124, stderr);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.filter((line) => line === 'child got SIGTERM').length, 2, stdout);
    const report = JSON.parse(lines.at(-1)!.replace('report: ', '')) as { stragglers: string[] };
    assert.deepEqual(report, {
      cause: 'signal',
      signal: 'SIGTERM',
      exitCode: 124,
      stragglers: [`stopChildProcess (forced: SIGKILL to pid ${stubborn} after SIGTERM)`],
      errors: 0,
    });
    // The daemon waited for (and so reaped) both before it exited: nothing is left in the table.
    assert.equal(exists(cooperative), false, `child ${cooperative} still exists`);
    assert.equal(exists(stubborn), false, `child ${stubborn} still exists`);
  });
});

describe('stopChildProcess after the leader of a detached group has exited', serial, () => {
  it('the members left of its group are still signalled and waited for', {
    skip: needs('linux'),
  }, async () => {
    // The leader starts a grandchild in its own group and exits at once.
    const leader = spawn('sh', ['-c', 'sleep 60 & echo $!; exit 0'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    started.add(leader.pid!);
    let out = '';
    leader.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    await once(leader, 'exit');
    const grandchild = Number(out.trim());
    started.add(grandchild);
    assert.ok(grandchild > 0 && running(grandchild), `the grandchild runs (${out})`);
    await stopChildProcess(leader, { timeout: 5_000 });
    assert.equal(running(grandchild), false, 'the rest of the group was stopped');
  });
});
