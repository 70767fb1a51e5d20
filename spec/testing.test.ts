import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Supervisor } from '../lib/index.js';
import { recordTimeline, runForTest, simulateSignal } from '../lib/testing.js';
import { aborted, deferred, recordingLogger } from './helpers.js';

const guard = { timeout: 30_000 };

/** A task that ends as cancelled: it rejects with its abort reason. */
async function untilCancelled(signal: AbortSignal): Promise<void> {
  await aborted(signal);
  throw signal.reason;
}

describe('simulateSignal', guard, () => {
  it('starts the root shutdown as a real signal would: cause, log line, drain delay', async () => {
    const logger = recordingLogger();
    const root = new Supervisor({ name: 'app', logger, drainDelay: 50 });
    const child = root.child({ name: 'jobs' });
    const task = root.spawn(async (signal) => aborted(signal), { name: 'worker' });
    assert.equal(simulateSignal(child, 'SIGINT'), undefined, 'a child delivers to its root');
    assert.equal(root.signal.aborted, true);
    assert.equal(task.signal.aborted, false, 'tasks still run during the drain delay');
    const report = await root.done;
    assert.equal(report.cause, 'signal');
    assert.equal(report.signal, 'SIGINT');
    assert.equal(child.state, 'stopped');
    assert.equal(logger.lines[0], 'supervise: received SIGINT, shutting down "app"');
  });

  it("a second one forces under 'force' (returns 128 + n, exits nothing), is only noted under 'ignore'", async () => {
    const forcing = new Supervisor({ logger: false });
    const gate = deferred();
    forcing.defer(() => gate.promise);
    assert.equal(simulateSignal(forcing), undefined);
    assert.equal(simulateSignal(forcing), 143);
    gate.resolve();
    await forcing.done;

    const patient = new Supervisor({ logger: false, secondSignal: 'ignore' });
    patient.defer(() => sleep(10));
    simulateSignal(patient, 'SIGINT');
    assert.equal(simulateSignal(patient, 'SIGINT'), undefined);
    assert.equal((await patient.done).exitCode, 0);
  });

  it('rejects what no real signal could do, at the call', async () => {
    const sup = new Supervisor({ signals: false, logger: false });
    assert.throws(() => simulateSignal({} as Supervisor), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => simulateSignal(sup, 'SIGNOPE' as NodeJS.Signals), { code: 'ERR_UNKNOWN_SIGNAL' });
    assert.throws(() => simulateSignal(sup, 'SIGTERM'), { code: 'ERR_INVALID_ARG_VALUE', message: /listens to \(none: signals is false\)/ });
    assert.equal(sup.state, 'running');
    await sup.shutdown();
  });
});

describe('runForTest', guard, () => {
  it('runs main under run() and resolves the exit code a real process would end with', async () => {
    const order: string[] = [];
    const program = runForTest(
      async (sup) => {
        sup.defer(() => void order.push('resource closed'));
        sup.spawn(async (signal) => {
          await aborted(signal);
          order.push('worker stopped');
        });
      },
      { name: 'app', logger: false },
    );
    await sleep(5);
    simulateSignal(program.supervisor, 'SIGTERM');
    assert.equal(await program.exitCode, 0);
    assert.equal((await program.report).cause, 'signal');
    assert.deepEqual(order, ['worker stopped', 'resource closed']);
  });

  it('main throwing ends in exit code 1; a forced second signal in 128 + n, while cleanup still hangs', async () => {
    const failing = runForTest(
      async () => {
        throw new Error('main failed');
      },
      { logger: false },
    );
    assert.equal(await failing.exitCode, 1);

    const gate = deferred();
    const hanging = runForTest((sup) => sup.defer(() => gate.promise), { logger: false });
    simulateSignal(hanging.supervisor, 'SIGINT');
    assert.equal(simulateSignal(hanging.supervisor, 'SIGINT'), 130);
    assert.equal(await hanging.exitCode, 130);
    assert.equal(hanging.supervisor.state, 'stopping');
    gate.resolve();
    assert.equal((await hanging.report).exitCode, 0);
  });

  it('takes no exit of its own', () => {
    assert.throws(() => runForTest(undefined, { exit: false } as never), { code: 'ERR_INVALID_ARG_VALUE' });
  });
});

describe('recordTimeline', guard, () => {
  it('records the shutdown of a tree as ordered lines, and stops when the supervisor has stopped', async () => {
    const root = new Supervisor({ name: 'app', signals: false, logger: false, shutdownTimeout: 200 });
    const other = new Supervisor({ name: 'other', signals: false, logger: false });
    const timeline = recordTimeline(root);
    root.defer(function closeDb() {});
    const jobs = root.child({ name: 'jobs' });
    jobs.spawn(untilCancelled, { name: 'job' });
    jobs.spawn(() => new Promise(() => {}), { name: 'stubborn' });
    root.spawn(untilCancelled, { name: 'worker' });
    other.spawn(() => 'not recorded', { name: 'elsewhere' });
    let runs = 0;
    root.spawn(
      async (signal) => {
        if (++runs === 1) throw new Error('once');
        await untilCancelled(signal);
      },
      { name: 'flaky', restart: 'on-failure', backoff: () => 0 },
    );
    while (runs < 2) await sleep(1);

    await root.shutdown();
    const report = await timeline.done;
    assert.equal(report.exitCode, 124);
    assert.deepEqual(timeline.lines(), [
      'jobs: spawn job',
      'jobs: spawn stubborn',
      'app: spawn worker',
      'app: spawn flaky',
      'app: restart flaky 1',
      'app: shutdown shutdown',
      'app: phase drain',
      'app: settle worker cancelled',
      'app: settle flaky cancelled',
      'app: phase tasks',
      'jobs: shutdown parent',
      'jobs: phase drain',
      'jobs: settle job cancelled',
      'jobs: phase tasks',
      'jobs: phase dispose',
      'jobs: straggler stubborn',
      'jobs: stopped 124',
      'app: dispose jobs disposed',
      'app: dispose closeDb disposed',
      'app: phase dispose',
      'app: stopped 124',
    ]);
    timeline.assertOrder(['app: settle worker cancelled', 'jobs: straggler stubborn', 'app: dispose closeDb disposed', 'app: stopped 124']);
    assert.ok(timeline.events.every((event, index) => index === 0 || event.atMs >= timeline.events[index - 1]!.atMs));

    const recorded = timeline.events.length;
    const again = new Supervisor({ name: 'app', signals: false, logger: false });
    again.spawn(() => 1);
    await again.shutdown();
    assert.equal(timeline.events.length, recorded, 'nothing recorded after it stopped');
    await other.shutdown();
  });

  it('assertOrder fails with every recorded line when a line is missing or out of order', async () => {
    const sup = new Supervisor({ name: 'app', signals: false, logger: false });
    using timeline = recordTimeline(sup);
    sup.defer(function first() {});
    sup.defer(function second() {});
    await sup.shutdown();
    timeline.assertOrder(['app: dispose second disposed', 'app: dispose first disposed']);
    assert.throws(() => timeline.assertOrder(['app: dispose first disposed', 'app: dispose second disposed']), {
      name: 'AssertionError',
      message: /"app: dispose second disposed" happened, but before the line expected ahead of it[\s\S]*recorded:\n {2}app: shutdown shutdown/,
    });
    assert.throws(() => timeline.assertOrder(['app: dispose third disposed']), { message: /did not happen/ });
    assert.throws(() => recordTimeline(null as never), { code: 'ERR_INVALID_ARG_TYPE' });
  });
});
