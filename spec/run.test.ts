import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RunOptions, type Supervisor, type Task, run } from '../lib/index.js';
import { recordTimeline, runForTest, simulateSignal } from '../lib/testing.js';
import { type Fixture, aborted, killFixtures, recordingLogger, startFixture, sendSignal, needs, printedError } from './helpers.js';

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

describe('run() as the process entry point', { ...serial, skip: needs('posixSignals') }, () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} ends in a graceful shutdown and exit 0`, async () => {
      const daemon = await started({ SCENARIO: 'basic', CLEANUP: '50' });
      await sleep(100);
      assert.equal(daemon.child.exitCode, null, 'run() keeps the process alive');
      sendSignal(daemon.child, signal);
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
    sendSignal(daemon.child, 'SIGTERM');
    const { code, stdout } = await daemon.exited();
    assert.equal(code, 0);
    assert.deepEqual(lines(stdout), ['ready', 'onShutdown']);
  });

  it("'ignore': signals repeated during a slow cleanup let it complete, exit 0", async () => {
    const daemon = await started({ SCENARIO: 'basic', CLEANUP: '600', SECOND_SIGNAL: 'ignore' });
    sendSignal(daemon.child, 'SIGINT');
    await daemon.waitFor('worker: aborted');
    sendSignal(daemon.child, 'SIGINT');
    sendSignal(daemon.child, 'SIGTERM');
    sendSignal(daemon.child, 'SIGINT');
    const { code, stdout } = await daemon.exited();
    assert.equal(code, 0);
    assert.deepEqual(lines(stdout), ['ready', 'worker: aborted', 'worker: cleaned up', 'resource: closed']);
  });

  for (const [signal, expected] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`'force': a second ${signal} while a cleanup hangs exits at once with ${expected}`, async () => {
      const daemon = await started({ SCENARIO: 'basic', CLEANUP: 'hang', SHUTDOWN_TIMEOUT: '120000' });
      sendSignal(daemon.child, signal);
      await daemon.waitFor('worker: aborted');
      const sentAt = performance.now();
      sendSignal(daemon.child, signal);
      const { code, stdout, stderr } = await daemon.exited(60_000);
      assert.equal(code, expected);
      // "About a second" on a quiet machine; the bound is generous for a loaded one, and far
      // below the 120 s deadline it would otherwise wait for.
      assert.ok(performance.now() - sentAt < 30_000);
      assert.doesNotMatch(stdout, /cleaned up|resource/);
      // It says what it cut short: the task whose cleanup hangs.
      assert.match(
        stderr,
        new RegExp(`received ${signal} again during shutdown of "fixture", exiting at once; still pending: 1 task\n  - "worker" \\(#\\d+\\), \\d+ ms old\n`),
      );
    });
  }

  it('an uncaught exception in a timer callback is logged with its stack and shuts down with exit 1', async () => {
    const daemon = await started({ SCENARIO: 'uncaught' });
    const { code, stdout, stderr } = await daemon.exited();
    assert.equal(code, 1);
    assert.deepEqual(lines(stdout), ['ready', 'worker: aborted', 'worker: cleaned up', 'resource: closed']);
    assert.match(stderr, new RegExp(`uncaught exception: ${printedError('thrown in a timer')}`));
    assert.equal(stderr.match(/thrown in a timer\n/g)?.length, 1, 'its stack is printed once');
  });

  it('an unhandled rejection shuts down with exit 1, or is only logged with stopOnUnhandledErrors: false', async () => {
    const stopping = await started({ SCENARIO: 'unhandled-rejection' });
    const stopped = await stopping.exited();
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, new RegExp(`unhandled rejection: ${printedError('nobody caught me')}`));

    const tolerant = await started({ SCENARIO: 'unhandled-rejection', STOP: 'false' });
    await sleep(400);
    assert.equal(tolerant.child.exitCode, null, 'keeps running');
    assert.match(
      tolerant.stderr(),
      new RegExp(`unhandled rejection \\(stopOnUnhandledErrors is false, so the program keeps running\\): ${printedError('nobody caught me')}`),
    );
    sendSignal(tolerant.child, 'SIGTERM');
    const kept = await tolerant.exited();
    assert.equal(kept.code, 0);
  });

  it('a diagnostics subscriber that throws is an uncaught exception: logged, then a clean shutdown with exit 1', async () => {
    const daemon = startFixture('run-daemon', { SCENARIO: 'throwing-subscriber' });
    const { code, stdout, stderr } = await daemon.exited();
    assert.equal(code, 1);
    assert.deepEqual(lines(stdout), ['short task: done', 'ready', 'worker: aborted', 'worker: cleaned up', 'resource: closed']);
    assert.match(stderr, new RegExp(`uncaught exception: ${printedError('subscriber bug')}`));
  });

  it('a task ignoring its signal is named at the deadline, with its spawn site, and exits 124', async () => {
    const daemon = await started({ SCENARIO: 'straggler', SHUTDOWN_TIMEOUT: '300', CAPTURE: 'true' });
    const sentAt = performance.now();
    sendSignal(daemon.child, 'SIGTERM');
    const { code, stderr } = await daemon.exited();
    assert.equal(code, 124);
    assert.ok(performance.now() - sentAt >= 250, 'waited for the deadline');
    // Deno maps stack frames through the build's source maps by default: run-daemon.ts there.
    assert.match(stderr, /deadline passed with 1 task still pending:\n\s+- "stubborn" \(#\d+\), \d+ ms old\n\s+at .*run-daemon\.[jt]s:\d+/);
    if (needs('activeResources') === false) assert.match(stderr, /the event loop is still held by: .*Timeout/);
    // Bun lists no resource at all: the report says it cannot tell rather than nothing.
    else assert.match(stderr, /the event loop's holders are unknown: this runtime's process.getActiveResourcesInfo\(\) lists none\n/);
    assert.match(stderr, /1 stragglers, 0 errors; exit code 124/);
  });

  it('NODE_DEBUG=supervise captures spawn sites and prints debug lines', { skip: needs('nodeDebug') }, async () => {
    const daemon = await started({ SCENARIO: 'straggler', SHUTDOWN_TIMEOUT: '200', NODE_DEBUG: 'supervise' });
    sendSignal(daemon.child, 'SIGTERM');
    const { code, stderr } = await daemon.exited();
    assert.equal(code, 124);
    assert.match(stderr, /"stubborn" \(#\d+\), \d+ ms old\n\s+at .*run-daemon\.[jt]s/);
    assert.match(stderr, /SUPERVISE \d+: fixture: shutdown \(signal\) began/);
  });

  it('removes its listeners once it has finished; exit: false sets no exit code', async () => {
    const daemon = await started({ SCENARIO: 'listeners' });
    sendSignal(daemon.child, 'SIGINT');
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
    const report = await run(
      async (sup) => {
        assert.equal(sup.name, 'inline');
        sup.spawn(async () => sleep(10));
        setTimeout(() => void sup.shutdown('done here'), 20);
      },
      { name: 'inline', signals: false, exit: false, logger },
    );
    assert.equal(report.cause, 'shutdown');
    assert.equal(report.reason, 'done here');
    assert.equal(report.exitCode, 0);
    assert.equal(process.exitCode, exitCodeBefore);
    assert.equal(process.listenerCount('unhandledRejection'), listenersBefore);
    assert.match(logger.lines.at(-1)!, /"inline" stopped in/);
  });

  it('exitWhenDone with no main shuts down at once: the shutdown has begun when run() returns', async () => {
    const program = runForTest(undefined, { signals: false, logger: false, exitWhenDone: true });
    assert.equal(program.supervisor.state, 'stopping', 'begun within the call');
    const report = await program.report;
    assert.equal(report.cause, 'shutdown');
    assert.deepEqual([report.cancelled, report.stragglers.length, report.errors.length, report.exitCode], [0, 0, 0, 0]);
    assert.equal(await program.exitCode, 0);
  });
});

// What the child-process tests above prove about the process edge (a real signal arrives, the
// process really exits with the code, output is flushed) is not repeated here: these run run()'s
// logic in this process, through supervise/testing, with an injected exit.
describe('run() through supervise/testing', { timeout: 60_000, concurrency: false }, () => {
  /** A task that waits for its signal, then cleans up for `cleanupMs`. */
  function worker(sup: Supervisor, order: string[], cleanupMs = 0): Task {
    return sup.spawn(
      async (signal) => {
        await aborted(signal);
        order.push('worker: aborted');
        await sleep(cleanupMs);
        order.push('worker: cleaned up');
      },
      { name: 'worker' },
    );
  }

  it('a shielded task finishes its work during shutdown, before resources close', async () => {
    const order: string[] = [];
    const program = runForTest(
      (sup) => {
        sup.spawn(
          async (signal) => {
            await aborted(sup.signal);
            await sleep(50);
            order.push(`shielded: finished its work, its signal aborted=${signal.aborted}`);
          },
          { shield: true, name: 'flush' },
        );
        worker(sup, order);
        sup.defer(() => void order.push('resource: closed'));
      },
      { name: 'app', logger: false },
    );
    const timeline = recordTimeline(program.supervisor);
    simulateSignal(program.supervisor);
    assert.equal(await program.exitCode, 0);
    assert.deepEqual(order, ['worker: aborted', 'worker: cleaned up', 'shielded: finished its work, its signal aborted=false', 'resource: closed']);
    timeline.assertOrder([
      'app: shutdown signal SIGTERM',
      'app: settle flush fulfilled',
      'app: phase tasks',
      'app: dispose deferred disposed',
      'app: stopped 0',
    ]);
    assert.equal((await program.report).cancelled, 1, 'the worker; the shielded task is not cancelled');
  });

  it('cancel() reaches a shielded task, which then ends as cancelled (exit 0)', async () => {
    let shielded: Task | undefined;
    const logger = recordingLogger();
    const program = runForTest(
      (sup) => {
        shielded = sup.spawn(
          async (signal) => {
            await aborted(signal);
            signal.throwIfAborted();
          },
          { shield: true, name: 'long-job' },
        );
      },
      { name: 'app', logger, onShutdown: () => shielded?.cancel() },
    );
    const timeline = recordTimeline(program.supervisor);
    simulateSignal(program.supervisor);
    assert.equal(await program.exitCode, 0);
    assert.equal(shielded!.state, 'cancelled');
    timeline.assertOrder(['app: settle long-job cancelled', 'app: phase drain', 'app: stopped 0']);
    assert.match(logger.lines.at(-1)!, /0 stragglers, 0 errors; exit code 0/);
  });

  for (const form of ['sync', 'async', 'promise'] as const) {
    it(`onShutdown (${form}) runs exactly once, before any task is aborted`, async () => {
      const order: string[] = [];
      let calls = 0;
      let probe: Task | undefined;
      const look = () => order.push(`onShutdown #${++calls}: task aborted=${probe?.signal.aborted}`);
      const forms: Record<typeof form, RunOptions['onShutdown']> = {
        sync: () => void look(),
        async: async () => {
          look();
          await sleep(50);
          order.push('onShutdown: async part done');
        },
        promise: () => {
          look();
          return sleep(50).then(() => void order.push('onShutdown: promise settled'));
        },
      };
      const program = runForTest(
        (sup) => {
          probe = worker(sup, order, 20);
        },
        { logger: false, secondSignal: 'ignore', onShutdown: forms[form] },
      );
      simulateSignal(program.supervisor);
      assert.equal(simulateSignal(program.supervisor), undefined, 'a second signal must not run it again');
      assert.equal(await program.exitCode, 0);
      const tail = { sync: [], async: ['onShutdown: async part done'], promise: ['onShutdown: promise settled'] }[form];
      assert.deepEqual(order, ['onShutdown #1: task aborted=false', ...tail, 'worker: aborted', 'worker: cleaned up']);
    });
  }

  it('an onShutdown error is reported: exit 1, and the tasks still shut down', async () => {
    const order: string[] = [];
    const logger = recordingLogger();
    const program = runForTest((sup) => void worker(sup, order), {
      logger,
      onShutdown: () => {
        throw new Error('onShutdown exploded');
      },
    });
    simulateSignal(program.supervisor, 'SIGINT');
    assert.equal(await program.exitCode, 1);
    assert.deepEqual(order, ['worker: aborted', 'worker: cleaned up']);
    assert.deepEqual(
      (await program.report).errors.map((error) => (error as Error).message),
      ['onShutdown exploded'],
    );
    assert.ok(logger.lines.includes('supervise: error: Error: onShutdown exploded'));
  });

  it("main and onShutdown both fail: main's error wins, the other is logged", async () => {
    const logger = recordingLogger();
    const program = runForTest(
      async (sup) => {
        worker(sup, []);
        await sleep(10);
        throw new Error('main failed first');
      },
      {
        name: 'app',
        logger,
        onShutdown: () => {
          throw new Error('onShutdown failed second');
        },
      },
    );
    assert.equal(await program.exitCode, 1);
    assert.deepEqual(
      (await program.report).errors.map((error) => (error as Error).message),
      ['main failed first'],
    );
    assert.ok(logger.lines.some((line) => /task "main" failed in "app" \(Error: main failed first\)/.test(line)));
    assert.ok(logger.lines.includes('supervise: onShutdown failed as well: Error: onShutdown failed second'));
  });

  it('main throwing shuts down with exit 1; every cleanup still runs', async () => {
    const order: string[] = [];
    const program = runForTest(
      async (sup) => {
        worker(sup, order);
        sup.defer(() => void order.push('resource: closed'));
        await sleep(10);
        throw new Error('main gave up');
      },
      { name: 'app', logger: false },
    );
    const timeline = recordTimeline(program.supervisor);
    assert.equal(await program.exitCode, 1);
    assert.deepEqual(order, ['worker: aborted', 'worker: cleaned up', 'resource: closed']);
    timeline.assertOrder([
      'app: settle main rejected',
      'app: shutdown error',
      'app: settle worker fulfilled',
      'app: dispose deferred disposed',
      'app: stopped 1',
    ]);
  });

  it('exitWhenDone: a batch job exits 0 once main and every task have settled', async () => {
    const order: string[] = [];
    const program = runForTest(
      async (sup) => {
        for (const n of [1, 2, 3]) {
          sup.spawn(async () => {
            await sleep(10 * n);
            order.push(`job ${n} done`);
          });
        }
        sup.defer(() => void order.push('resource: closed'));
      },
      { logger: false, exitWhenDone: true },
    );
    assert.equal(await program.exitCode, 0);
    assert.deepEqual(order, ['job 1 done', 'job 2 done', 'job 3 done', 'resource: closed']);
    assert.equal((await program.report).cancelled, 0);
  });

  it('exitWhenDone: a batch job whose last task fails exits 1, with the error in the report', async () => {
    const failure = new Error('migration failed');
    const logger = recordingLogger();
    const program = runForTest(
      async () => {
        await sleep(20);
        throw failure; // main is the last task: the failure and the idle tree come in the same settle
      },
      { logger, exitWhenDone: true },
    );
    assert.equal(await program.exitCode, 1);
    const report = await program.report;
    assert.deepEqual(report.errors, [failure]);
    assert.equal(report.cause, 'error');
    assert.ok(!logger.lines.some((line) => line.includes('after its shutdown finished')), logger.lines.join('\n'));
  });
});
