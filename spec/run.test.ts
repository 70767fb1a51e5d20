import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../lib/index.js';
import { type Fixture, killFixtures, recordingLogger, startFixture } from './helpers.js';

after(killFixtures);

// Child processes, one at a time: their timing must not be disturbed by each other.
const serial = { timeout: 300_000, concurrency: false };

async function started(env: Record<string, string>): Promise<Fixture> {
  const daemon = startFixture('run-daemon', env);
  await daemon.waitFor('ready');
  return daemon;
}

function lines(stdout: string): string[] {
  return stdout.trim().split('\n');
}

describe('run() as the process entry point', serial, () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} ends in a graceful shutdown and exit 0`, async () => {
      const daemon = await started({ SCENARIO: 'basic', CLEANUP: '50' });
      await sleep(100);
      assert.equal(daemon.child.exitCode, null, 'run() keeps the process alive');
      daemon.child.kill(signal);
      const { code, stdout, stderr } = await daemon.exited();
      assert.equal(code, 0, stderr);
      assert.deepEqual(lines(stdout), ['ready', 'worker: aborted', 'worker: cleaned up', 'resource: closed']);
      assert.match(stderr, new RegExp(`received ${signal}, shutting down "fixture"`));
      assert.match(stderr, /"fixture" stopped in \d+ ms \(tasks \d+ ms, disposal \d+ ms\): 1 cancelled, 0 stragglers, 0 errors; exit code 0/);
    });
  }

  it('with no main, runs until a signal', async () => {
    const daemon = await started({ SCENARIO: 'no-main' });
    await sleep(200);
    assert.equal(daemon.child.exitCode, null);
    daemon.child.kill('SIGTERM');
    const { code, stdout } = await daemon.exited();
    assert.equal(code, 0);
    assert.deepEqual(lines(stdout), ['ready', 'onShutdown']);
  });

  it("'ignore': signals repeated during a slow cleanup let it complete, exit 0", async () => {
    const daemon = await started({ SCENARIO: 'basic', CLEANUP: '600', SECOND_SIGNAL: 'ignore' });
    daemon.child.kill('SIGINT');
    await daemon.waitFor('worker: aborted');
    daemon.child.kill('SIGINT');
    daemon.child.kill('SIGTERM');
    daemon.child.kill('SIGINT');
    const { code, stdout } = await daemon.exited();
    assert.equal(code, 0);
    assert.deepEqual(lines(stdout), ['ready', 'worker: aborted', 'worker: cleaned up', 'resource: closed']);
  });

  for (const [signal, expected] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`'force': a second ${signal} while a cleanup hangs exits at once with ${expected}`, async () => {
      const daemon = await started({ SCENARIO: 'basic', CLEANUP: 'hang', SHUTDOWN_TIMEOUT: '120000' });
      daemon.child.kill(signal);
      await daemon.waitFor('worker: aborted');
      const sentAt = performance.now();
      daemon.child.kill(signal);
      const { code, stdout } = await daemon.exited(60_000);
      assert.equal(code, expected);
      // "About a second" on a quiet machine; the bound is generous for a loaded one, and far
      // below the 120 s deadline it would otherwise wait for.
      assert.ok(performance.now() - sentAt < 30_000);
      assert.doesNotMatch(stdout, /cleaned up|resource/);
    });
  }

  it('a shielded task finishes its work during shutdown, before resources close', async () => {
    const daemon = await started({ SCENARIO: 'shielded' });
    daemon.child.kill('SIGTERM');
    const { code, stdout } = await daemon.exited();
    assert.equal(code, 0);
    const out = lines(stdout);
    assert.ok(out.includes('shielded: finished its work, its signal aborted=false'));
    assert.ok(out.indexOf('shielded: finished its work, its signal aborted=false') < out.indexOf('resource: closed'));
    assert.ok(out.indexOf('worker: cleaned up') < out.indexOf('resource: closed'));
  });

  it('cancel() reaches a shielded task, which then ends as cancelled (exit 0)', async () => {
    const daemon = await started({ SCENARIO: 'cancel-shielded' });
    daemon.child.kill('SIGTERM');
    const { code, stdout, stderr } = await daemon.exited();
    assert.equal(code, 0, stderr);
    assert.deepEqual(lines(stdout), ['ready', 'shielded: cancelled']);
    assert.match(stderr, /0 stragglers, 0 errors; exit code 0/);
  });

  for (const form of ['sync', 'async', 'promise'] as const) {
    it(`onShutdown (${form}) runs exactly once, before any task is aborted`, async () => {
      const daemon = await started({ SCENARIO: 'on-shutdown', FORM: form, SECOND_SIGNAL: 'ignore', CLEANUP: '100' });
      daemon.child.kill('SIGTERM');
      await daemon.waitFor('onShutdown #1');
      daemon.child.kill('SIGTERM'); // a second signal must not run it again
      const { code, stdout, stderr } = await daemon.exited();
      assert.equal(code, 0, stderr);
      const out = lines(stdout);
      assert.equal(out.filter((line) => line.startsWith('onShutdown #')).length, 1);
      assert.equal(out[1], 'onShutdown #1: task aborted=false');
      const tail = { sync: [], async: ['onShutdown: async part done'], promise: ['onShutdown: promise settled'] }[form];
      assert.deepEqual(out.slice(2), [...tail, 'worker: aborted', 'worker: cleaned up']);
    });
  }

  it('an onShutdown error is reported: exit 1, and the tasks still shut down', async () => {
    const daemon = await started({ SCENARIO: 'on-shutdown', FORM: 'throw' });
    daemon.child.kill('SIGINT');
    const { code, stdout, stderr } = await daemon.exited();
    assert.equal(code, 1);
    assert.deepEqual(lines(stdout), ['ready', 'onShutdown #1: task aborted=false', 'worker: aborted', 'worker: cleaned up']);
    assert.match(stderr, /Error: onShutdown exploded\n\s+at /);
    assert.match(stderr, /1 errors; exit code 1/);
  });

  it("main and onShutdown both fail: main's error wins, the other is logged", async () => {
    const daemon = await started({ SCENARIO: 'main-and-on-shutdown-fail' });
    const { code, stderr } = await daemon.exited();
    assert.equal(code, 1);
    assert.match(stderr, /task "main" failed in "fixture" \(Error: main failed first\)/);
    assert.match(stderr, /onShutdown failed as well: Error: onShutdown failed second/);
    assert.match(stderr, /supervise: error: Error: main failed first\n\s+at /);
    assert.match(stderr, /1 errors; exit code 1/);
  });

  it('main throwing shuts down with exit 1; every cleanup still runs', async () => {
    const daemon = await started({ SCENARIO: 'main-throws' });
    const { code, stdout, stderr } = await daemon.exited();
    assert.equal(code, 1);
    assert.deepEqual(lines(stdout), ['ready', 'worker: aborted', 'worker: cleaned up', 'resource: closed']);
    assert.match(stderr, /Error: main gave up\n\s+at /);
  });

  it('an uncaught exception in a timer callback is logged with its stack and shuts down with exit 1', async () => {
    const daemon = await started({ SCENARIO: 'uncaught' });
    const { code, stdout, stderr } = await daemon.exited();
    assert.equal(code, 1);
    assert.deepEqual(lines(stdout), ['ready', 'worker: aborted', 'worker: cleaned up', 'resource: closed']);
    assert.match(stderr, /uncaught exception: Error: thrown in a timer\n\s+at /);
    assert.equal(stderr.match(/thrown in a timer\n/g)?.length, 1, 'its stack is printed once');
  });

  it('an unhandled rejection shuts down with exit 1, or is only logged with stopOnUnhandledErrors: false', async () => {
    const stopping = await started({ SCENARIO: 'unhandled-rejection' });
    const stopped = await stopping.exited();
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, /unhandled rejection: Error: nobody caught me\n\s+at /);

    const tolerant = await started({ SCENARIO: 'unhandled-rejection', STOP: 'false' });
    await sleep(400);
    assert.equal(tolerant.child.exitCode, null, 'keeps running');
    assert.match(tolerant.stderr(), /unhandled rejection \(stopOnUnhandledErrors is false, so the program keeps running\): Error: nobody caught me/);
    tolerant.child.kill('SIGTERM');
    const kept = await tolerant.exited();
    assert.equal(kept.code, 0);
  });

  it('a task ignoring its signal is named at the deadline, with its spawn site, and exits 124', async () => {
    const daemon = await started({ SCENARIO: 'straggler', SHUTDOWN_TIMEOUT: '300', CAPTURE: 'true' });
    const sentAt = performance.now();
    daemon.child.kill('SIGTERM');
    const { code, stderr } = await daemon.exited();
    assert.equal(code, 124);
    assert.ok(performance.now() - sentAt >= 250, 'waited for the deadline');
    assert.match(stderr, /deadline passed with 1 task\(s\) still pending:\n\s+- "stubborn" \(#\d+\), \d+ ms old\n\s+at .*run-daemon\.js:\d+/);
    assert.match(stderr, /the event loop is still held by: .*Timeout/);
    assert.match(stderr, /1 stragglers, 0 errors; exit code 124/);
  });

  it('NODE_DEBUG=supervise captures spawn sites and prints debug lines', async () => {
    const daemon = await started({ SCENARIO: 'straggler', SHUTDOWN_TIMEOUT: '200', NODE_DEBUG: 'supervise' });
    daemon.child.kill('SIGTERM');
    const { code, stderr } = await daemon.exited();
    assert.equal(code, 124);
    assert.match(stderr, /"stubborn" \(#\d+\), \d+ ms old\n\s+at .*run-daemon\.js/);
    assert.match(stderr, /SUPERVISE \d+: fixture: shutdown \(signal\) began/);
  });

  it('exitWhenDone: a batch job exits 0 once main and every task have settled', async () => {
    const daemon = startFixture('run-daemon', { SCENARIO: 'exit-when-done' });
    const { code, stdout, stderr } = await daemon.exited();
    assert.equal(code, 0, stderr);
    assert.deepEqual(lines(stdout), ['ready', 'job 1 done', 'job 2 done', 'job 3 done', 'resource: closed']);
  });

  it('removes its listeners once it has finished; exit: false sets no exit code', async () => {
    const daemon = await started({ SCENARIO: 'listeners' });
    daemon.child.kill('SIGINT');
    const { code, stdout } = await daemon.exited();
    assert.equal(code, 0);
    const [before, during] = [/listeners before=([\d,]+)/.exec(stdout)?.[1], /during run: ([\d,]+)/.exec(stdout)?.[1]];
    assert.equal(before, '0,0,0,0');
    assert.equal(during, '1,1,1,1');
    assert.match(stdout, /run resolved: exitCode=0, process.exitCode=undefined, listeners before=0,0,0,0 after=0,0,0,0/);
  });
});

describe('run() in this process', { timeout: 60_000 }, () => {
  it('checks its arguments at the call', () => {
    const before = process.listenerCount('uncaughtException');
    assert.throws(() => run('main' as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => run(undefined, null as never), TypeError);
    assert.throws(() => run(undefined, { exit: 'no' } as never), TypeError);
    assert.throws(() => run(undefined, { onShutdown: 5 } as never), TypeError);
    assert.throws(() => run(undefined, { shutdownTimeout: -1 }), RangeError);
    assert.equal(process.listenerCount('uncaughtException'), before, 'nothing installed by a refused call');
  });

  it('resolves the report with exit: false, and main receives the supervisor', async () => {
    const logger = recordingLogger();
    const exitCodeBefore = process.exitCode;
    const listenersBefore = process.listenerCount('unhandledRejection');
    const report = await run(async (sup) => {
      assert.equal(sup.name, 'inline');
      sup.spawn(async () => sleep(10));
      setTimeout(() => void sup.shutdown('done here'), 20);
    }, { name: 'inline', signals: false, exit: false, logger });
    assert.equal(report.cause, 'shutdown');
    assert.equal(report.reason, 'done here');
    assert.equal(report.exitCode, 0);
    assert.equal(process.exitCode, exitCodeBefore);
    assert.equal(process.listenerCount('unhandledRejection'), listenersBefore);
    assert.match(logger.lines.at(-1)!, /"inline" stopped in/);
  });

  it('exitWhenDone with no main shuts down at once', async () => {
    const report = await run(undefined, { signals: false, exit: false, logger: false, exitWhenDone: true });
    assert.equal(report.cause, 'shutdown');
  });
});
