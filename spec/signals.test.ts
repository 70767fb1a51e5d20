import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Supervisor } from '../lib/index.js';
import { aborted, killFixtures, recordingLogger, startFixture, sendSignal, needs } from './helpers.js';

after(killFixtures);

const guard = { timeout: 120_000 };

/** Listeners supervise added to `signal`, compared with those present before. */
function added(signal: NodeJS.Signals, before: Function[]): number {
  return process.listeners(signal).filter((listener) => !before.includes(listener)).length;
}

describe('signals, in this process', { ...guard, skip: needs('posixSignals') }, () => {
  it('share one process listener per signal across every listening root, removed after the last stops', async () => {
    const beforeInt = process.listeners('SIGINT');
    const beforeTerm = process.listeners('SIGTERM');
    const roots = Array.from({ length: 200 }, () => new Supervisor({ logger: false }));
    const children = roots.slice(0, 10).map((root) => root.child());
    assert.equal(children.length, 10);
    assert.equal(added('SIGINT', beforeInt), 1);
    assert.equal(added('SIGTERM', beforeTerm), 1);
    const quiet = new Supervisor({ signals: false });
    await quiet.shutdown();
    for (const root of roots.slice(1)) await root.shutdown();
    assert.equal(added('SIGTERM', beforeTerm), 1, 'still listening while one root runs');
    await roots[0]!.shutdown();
    assert.equal(added('SIGINT', beforeInt), 0);
    assert.equal(added('SIGTERM', beforeTerm), 0);
  });

  it('the first signal shuts down every listening root; others keep running', async () => {
    const logger = recordingLogger();
    const listening = [new Supervisor({ logger }), new Supervisor({ logger, signals: ['SIGTERM', 'SIGUSR2'] })];
    const other = new Supervisor({ logger, signals: ['SIGUSR2'] });
    const deaf = new Supervisor({ logger, signals: false });
    const cleaned: string[] = [];
    for (const sup of listening)
      sup.spawn(async (signal) => {
        await aborted(signal);
        cleaned.push(sup.name);
      });
    process.kill(process.pid, 'SIGTERM');
    const reports = await Promise.all(listening.map((sup) => sup.done));
    for (const report of reports) {
      assert.equal(report.cause, 'signal');
      assert.equal(report.signal, 'SIGTERM');
      assert.equal(report.exitCode, 0);
      assert.match(String((report.reason as Error).message), /SIGTERM/);
    }
    assert.equal(cleaned.length, 2);
    assert.equal(other.state, 'running');
    assert.equal(deaf.state, 'running');
    assert.equal(logger.lines.filter((line) => line.includes('received SIGTERM')).length, 2);
    await Promise.all([other.shutdown(), deaf.shutdown()]);
  });

  it("'ignore': a second signal lets the shutdown finish", { skip: needs('sigintToTestProcess') }, async () => {
    const logger = recordingLogger();
    const sup = new Supervisor({ logger, secondSignal: 'ignore' });
    const log: string[] = [];
    sup.spawn(async (signal) => {
      await aborted(signal);
      await sleep(200);
      log.push('slow cleanup finished');
    });
    process.kill(process.pid, 'SIGINT');
    await once(sup.signal, 'abort');
    process.kill(process.pid, 'SIGINT');
    process.kill(process.pid, 'SIGINT');
    const report = await sup.done;
    assert.deepEqual(log, ['slow cleanup finished']);
    assert.equal(report.signal, 'SIGINT');
    assert.equal(logger.lines.filter((line) => line.includes('already shutting down')).length, 2);
  });

  it('drainDelay: after a signal, sup.signal aborts at once, tasks run and spawn works until the delay ends', async () => {
    const sup = new Supervisor({ logger: false, drainDelay: 300 });
    const log: string[] = [];
    const task = sup.spawn(async (signal) => {
      await aborted(signal);
      log.push('task cancelled');
    });
    process.kill(process.pid, 'SIGTERM');
    await once(sup.signal, 'abort');
    const abortedAt = performance.now();
    assert.equal(sup.state, 'stopping');
    assert.equal(task.signal.aborted, false, 'tasks still run during the drain delay');
    const late = sup.spawn(async (signal) => {
      await aborted(signal);
      log.push('task spawned during the delay cancelled');
    });
    await sup.done;
    assert.ok(performance.now() - abortedAt >= 250, 'cancelling waited for the delay');
    assert.deepEqual(log.sort(), ['task cancelled', 'task spawned during the delay cancelled']);
    assert.equal(late.state, 'fulfilled');
    assert.throws(() => sup.spawn(async () => {}), { code: 'ERR_SUPERVISOR_CLOSED' });
  });

  it('drainDelay does not delay a shutdown begun by a call', async () => {
    const sup = new Supervisor({ logger: false, drainDelay: 60_000 });
    sup.spawn(async (signal) => aborted(signal));
    const report = await sup.shutdown();
    assert.ok(report.durationMs < 30_000);
    assert.equal(report.cancelled, 1);
  });

  it('a single signal during a shutdown begun another way never cuts it short', async () => {
    const logger = recordingLogger();
    const sup = new Supervisor({ logger });
    const log: string[] = [];
    sup.defer(async () => {
      await sleep(200);
      log.push('cleanup finished');
    });
    const shutdown = sup.shutdown();
    process.kill(process.pid, 'SIGTERM');
    const report = await shutdown;
    assert.deepEqual(log, ['cleanup finished']);
    assert.equal(report.cause, 'shutdown');
    assert.ok(logger.lines.some((line) => line.includes('send it again to exit at once')));
  });
});

describe('signals, in a real daemon', { ...guard, concurrency: false, skip: needs('posixSignals') }, () => {
  for (const [signal, code] of [
    ['SIGINT', 0],
    ['SIGTERM', 0],
  ] as const) {
    it(`${signal} ends in an orderly shutdown and exit ${code}`, async () => {
      const daemon = startFixture('signal-daemon', { CLEANUP_MS: '50' });
      await daemon.waitFor('ready');
      await sleep(100); // still alive with nothing but the supervisor's pending task
      assert.equal(daemon.child.exitCode, null);
      sendSignal(daemon.child, signal);
      const { code: exitCode, stdout, stderr } = await daemon.exited();
      assert.equal(exitCode, code, stderr);
      const lines = stdout.trim().split('\n');
      assert.deepEqual(lines.slice(0, 4), ['ready', 'task: cleanup started (2 signal listeners)', 'task: cleanup finished', 'resource: closed']);
      assert.deepEqual(JSON.parse(lines[4]!.replace('report: ', '')), { cause: 'signal', signal, cancelled: 1, exitCode: 0, listeners: 0 });
      assert.match(stderr, new RegExp(`received ${signal}, shutting down "fixture"`));
    });
  }

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`'force' (default): a second ${signal} while a cleanup hangs exits at once with ${code}`, async () => {
      const daemon = startFixture('signal-daemon', { CLEANUP_MS: 'hang', SHUTDOWN_TIMEOUT: '120000' });
      await daemon.waitFor('ready');
      sendSignal(daemon.child, signal);
      await daemon.waitFor('task: cleanup started');
      const sentAt = performance.now();
      sendSignal(daemon.child, signal);
      const { code: exitCode, stdout, stderr } = await daemon.exited(60_000);
      assert.equal(exitCode, code);
      assert.ok(performance.now() - sentAt < 60_000, 'did not wait for the 120 s deadline');
      assert.doesNotMatch(stdout, /cleanup finished|report:/);
      assert.match(stderr, new RegExp(`received ${signal} again during shutdown of "fixture", exiting at once`));
    });
  }

  it("'ignore': repeated signals during a slow cleanup let it complete, exit 0", async () => {
    const daemon = startFixture('signal-daemon', { CLEANUP_MS: '500', SECOND_SIGNAL: 'ignore' });
    await daemon.waitFor('ready');
    sendSignal(daemon.child, 'SIGTERM');
    await daemon.waitFor('task: cleanup started');
    sendSignal(daemon.child, 'SIGTERM');
    sendSignal(daemon.child, 'SIGINT');
    const { code, stdout } = await daemon.exited();
    assert.equal(code, 0);
    assert.match(stdout, /task: cleanup finished\nresource: closed\nreport: .*"cause":"signal","signal":"SIGTERM"/);
  });

  it("restores Node's default signal handling once the supervisor has stopped", async () => {
    const daemon = startFixture('signal-daemon', { AFTER: 'wait-for-signal' });
    await daemon.waitFor('ready');
    sendSignal(daemon.child, 'SIGINT');
    await daemon.waitFor('waiting with default handlers');
    assert.match(daemon.stdout(), /cleanup started \(2 signal listeners\)/, 'listeners were in place during shutdown');
    assert.match(daemon.stdout(), /"listeners":0/, 'and gone after');
    sendSignal(daemon.child, 'SIGTERM');
    const { code, signal } = await daemon.exited();
    assert.equal(code, null);
    assert.equal(signal, 'SIGTERM');
  });
});
