import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Supervisor, type TaskSpawnMessage, channels, run } from '../lib/index.js';
import { recordTimeline, runForTest, simulateSignal } from '../lib/testing.js';
import { aborted, deferred, flush, recordUnexpected, recordingLogger } from './helpers.js';

const guard = { timeout: 30_000 };
const unexpected = recordUnexpected();

/** supervise's channels that someone subscribes to now. */
function subscribedChannels(): string[] {
  return Object.values(channels).filter((name) => diagnosticsChannel.channel(name).hasSubscribers);
}

// Whatever a test did, no timeline (nor anything else) is left subscribed, and nothing went unhandled.
after(() => {
  assert.deepEqual(subscribedChannels(), []);
  assert.deepEqual(unexpected, []);
});

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

describe('runForTest: what a test attaches before main, and main itself', guard, () => {
  it("timeline: true sees main's synchronous part, which a timeline attached after runForTest returns does not", async () => {
    const program = runForTest(
      (sup) => {
        sup.spawn(untilCancelled, { name: 'x' });
        sup.spawn(() => 'at once', { name: 'quick' });
        sup.defer(function closeDb() {});
      },
      { name: 'app', logger: false, timeline: true },
    );
    const late = recordTimeline(program.supervisor);
    simulateSignal(program.supervisor, 'SIGTERM');
    assert.equal(await program.exitCode, 0);
    await program.report;
    assert.deepEqual(program.timeline.lines(), [
      'app: spawn main',
      'app: spawn x',
      'app: spawn quick',
      'app: settle quick fulfilled',
      'app: settle main fulfilled',
      'app: shutdown signal SIGTERM',
      'app: phase drain',
      'app: settle x cancelled',
      'app: phase tasks',
      'app: dispose closeDb disposed',
      'app: phase dispose',
      'app: stopped 0',
    ]);
    assert.deepEqual(late.lines().slice(0, 1), ['app: shutdown signal SIGTERM'], 'the late one starts at the signal');
    for (const line of ['app: spawn main', 'app: spawn x', 'app: settle quick fulfilled']) assert.ok(!late.lines().includes(line), line);
    assert.deepEqual(subscribedChannels(), [], 'both stopped when the root stopped');
  });

  it('a main that throws synchronously: its lines are recorded, main rejects with it, the report has it once', async () => {
    const failure = new Error('main failed at once');
    const program = runForTest(
      () => {
        throw failure;
      },
      { name: 'app', logger: false, timeline: true },
    );
    await assert.rejects(program.main, (error) => error === failure);
    assert.equal(await program.exitCode, 1);
    assert.deepEqual((await program.report).errors, [failure]);
    program.timeline.assertOrder(['app: spawn main', 'app: settle main rejected', 'app: shutdown error', 'app: stopped 1']);
  });

  it('program.main resolves with what main returned, once it has, and the program runs on', async () => {
    const gate = deferred();
    const program = runForTest(
      async (sup) => {
        sup.spawn(untilCancelled, { name: 'worker' });
        await gate.promise;
        return 'started';
      },
      { logger: false },
    );
    let returned = false;
    void program.main.then(() => (returned = true));
    await flush();
    assert.equal(returned, false, 'main has not returned yet');
    gate.resolve();
    assert.equal(await program.main, 'started');
    assert.equal(program.supervisor.state, 'running');
    assert.equal(program.timeline, undefined, 'no timeline unless asked for');
    simulateSignal(program.supervisor);
    assert.equal(await program.exitCode, 0);
  });

  it('a rejection of main that nobody awaits is in the report once, and is no unhandledRejection', async () => {
    const failure = new Error('main failed later');
    const program = runForTest(
      async () => {
        await flush();
        throw failure;
      },
      { logger: false },
    );
    assert.equal(await program.exitCode, 1);
    // The run's own unhandledRejection listener would have added a second error.
    assert.deepEqual((await program.report).errors, [failure]);
    await flush();
    assert.deepEqual(unexpected, []);
  });

  it('without main, program.main resolves with undefined once started', async () => {
    const program = runForTest(undefined, { logger: false, exitWhenDone: true, timeline: true });
    assert.equal(await program.main, undefined);
    assert.equal(await program.exitCode, 0);
    assert.deepEqual(program.timeline.lines(), [
      'supervisor: shutdown shutdown',
      'supervisor: phase drain',
      'supervisor: phase tasks',
      'supervisor: phase dispose',
      'supervisor: stopped 0',
    ]);
  });

  it("onStart gets the root before main's first line, after the timeline started: what it attaches sees all of main", async () => {
    const order: string[] = [];
    const spawned: string[] = [];
    const onSpawn = (message: unknown) => void spawned.push((message as TaskSpawnMessage).task.name);
    let given: Supervisor | undefined;
    const program = runForTest(
      (sup) => {
        order.push('main');
        sup.spawn(untilCancelled, { name: 'x' });
      },
      {
        name: 'app',
        logger: false,
        timeline: true,
        onStart(sup) {
          given = sup;
          order.push(`onStart ${sup.name} ${sup.state}`);
          diagnosticsChannel.subscribe(channels.taskSpawn, onSpawn);
          sup.defer(() => {
            diagnosticsChannel.unsubscribe(channels.taskSpawn, onSpawn);
            order.push('onStart deferred');
          });
          sup.spawn(() => 'set up', { name: 'setup' });
        },
      },
    );
    assert.deepEqual(order, ['onStart app running', 'main'], 'both ran before runForTest returned, onStart first');
    assert.equal(given, program.supervisor);
    assert.deepEqual(spawned, ['setup', 'main', 'x']);
    assert.deepEqual(program.timeline.lines(), [
      'app: spawn setup',
      'app: settle setup fulfilled',
      'app: spawn main',
      'app: spawn x',
      'app: settle main fulfilled',
    ]);
    simulateSignal(program.supervisor);
    assert.equal(await program.exitCode, 0);
    assert.deepEqual(order, ['onStart app running', 'main', 'onStart deferred']);
  });

  it('onStart that throws: main does not run, program.main rejects, the report has it with exit code 1, whatever onTaskError says', async () => {
    const failure = new Error('setup failed');
    const logger = recordingLogger();
    let mainRan = false;
    const program = runForTest(
      () => {
        mainRan = true;
      },
      {
        name: 'app',
        logger,
        timeline: true,
        onTaskError: 'ignore',
        onStart() {
          throw failure;
        },
      },
    );
    await assert.rejects(program.main, (error) => error === failure);
    assert.equal(await program.exitCode, 1);
    const report = await program.report;
    assert.deepEqual(report.errors, [failure]);
    assert.equal(report.cause, 'error');
    assert.equal(mainRan, false);
    assert.equal(program.timeline.lines()[0], 'app: shutdown error');
    assert.ok(!program.timeline.lines().includes('app: spawn main'));
    assert.ok(
      logger.lines.some((line) => line.includes('runForTest options.onStart failed in "app" (Error: setup failed)')),
      logger.lines.join('\n'),
    );
  });

  it('an async onStart fails the run with a TypeError; what its promise rejects with is reported, or logged after the report', async () => {
    const failure = new Error('async setup failed');
    let mainRan = false;
    const program = runForTest(
      () => {
        mainRan = true;
      },
      {
        logger: false,
        onStart: async () => {
          throw failure;
        },
      },
    );
    await assert.rejects(program.main, { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /options\.onStart must be a synchronous function/ });
    assert.equal(await program.exitCode, 1);
    const { errors } = await program.report;
    assert.equal(errors.length, 2);
    assert.equal((errors[0] as { code?: unknown }).code, 'ERR_INVALID_ARG_VALUE');
    assert.equal(errors[1], failure);
    assert.equal(mainRan, false);

    const gate = deferred();
    const logger = recordingLogger();
    const slow = runForTest(undefined, {
      name: 'slow',
      logger,
      onStart: async () => {
        await gate.promise;
        throw new Error('too late');
      },
    });
    assert.equal(await slow.exitCode, 1);
    assert.equal((await slow.report).errors.length, 1);
    gate.resolve();
    const said = (line: string) => line.includes('rejected after "slow" stopped: Error: too late');
    for (let turn = 0; turn < 100 && !logger.lines.some(said); turn++) await flush();
    assert.ok(logger.lines.some(said), logger.lines.join('\n'));
  });

  it('an onStart whose promise has a throwing constructor getter: nothing thrown at the call, the getter error reported', async () => {
    const rejected = new Error('rejected too');
    const getterFails = new Error('constructor getter');
    const returned = Promise.reject(rejected);
    Object.defineProperty(returned, 'constructor', {
      configurable: true,
      get() {
        throw getterFails;
      },
    });
    const program = runForTest(undefined, { logger: false, onStart: () => returned });
    // No one can watch such a promise (`then` reads its constructor): run()'s unhandledRejection
    // listener would report it. This test's runner would too, so the test handles it itself.
    Reflect.deleteProperty(returned, 'constructor');
    returned.catch(() => {});
    assert.equal(await program.exitCode, 1);
    const { errors } = await program.report;
    assert.equal(errors.length, 2, String(errors));
    assert.equal(errors[0], getterFails);
    assert.equal((errors[1] as { code?: unknown }).code, 'ERR_INVALID_ARG_VALUE');
    assert.deepEqual(subscribedChannels(), []);
  });

  it('an onStart that returns a Task (an arrow around spawn) is fine: only a promise is refused', async () => {
    const program = runForTest(undefined, { logger: false, exitWhenDone: true, onStart: (sup) => sup.spawn(() => 'done') });
    assert.equal(await program.exitCode, 0);
    assert.deepEqual((await program.report).errors, []);
  });

  it('onStart that shuts the root down: main cannot start, program.main rejects with SupervisorClosedError, the run ends clean', async () => {
    let mainRan = false;
    const program = runForTest(
      () => {
        mainRan = true;
      },
      { logger: false, onStart: (sup) => void sup.shutdown() },
    );
    await assert.rejects(program.main, { name: 'SupervisorClosedError', code: 'ERR_SUPERVISOR_CLOSED', message: /spawn task "main"/ });
    assert.equal(await program.exitCode, 0);
    assert.equal(mainRan, false);
  });

  it('exitWhenDone: a task onStart spawned that settled at once does not stop the run before main has started', async () => {
    const order: string[] = [];
    const program = runForTest(
      async (sup) => {
        order.push('main');
        await sup.spawn(() => sleep(1), { name: 'job' });
        return 'batch done';
      },
      { logger: false, exitWhenDone: true, onStart: (sup) => void sup.spawn(() => order.push('setup')) },
    );
    assert.equal(await program.main, 'batch done');
    assert.equal(await program.exitCode, 0);
    assert.deepEqual(order, ['setup', 'main']);
  });

  it('two at once: each timeline has its own root only, each main its own value, and nothing is left subscribed', async () => {
    const start = (name: string) =>
      runForTest(
        (sup) => {
          sup.spawn(untilCancelled, { name: `${name}-worker` });
          return name;
        },
        { name, logger: false, timeline: true },
      );
    const a = start('a');
    const b = start('b');
    assert.equal(await a.main, 'a');
    assert.equal(await b.main, 'b');
    simulateSignal(a.supervisor);
    assert.equal(await a.exitCode, 0);
    assert.equal(b.supervisor.state, 'running', 'a simulated signal reaches one root');
    simulateSignal(b.supervisor);
    assert.equal(await b.exitCode, 0);
    await Promise.all([a.report, b.report]);
    for (const [program, name] of [[a, 'a'] as const, [b, 'b'] as const]) {
      assert.ok(
        program.timeline.lines().every((line) => line.startsWith(`${name}: `)),
        program.timeline.lines().join('\n'),
      );
      program.timeline.assertOrder([`${name}: spawn ${name}-worker`, `${name}: settle ${name}-worker cancelled`, `${name}: stopped 0`]);
    }
    assert.deepEqual(subscribedChannels(), []);
  });

  it('no subscriber is left: the timeline stops when the shutdown has finished, or at once when the test disposes of it', async () => {
    assert.deepEqual(subscribedChannels(), []);
    const program = runForTest((sup) => void sup.spawn(untilCancelled), { logger: false, timeline: true });
    assert.deepEqual(subscribedChannels(), Object.values(channels));
    simulateSignal(program.supervisor);
    await program.report;
    assert.deepEqual(subscribedChannels(), []);

    const disposed = runForTest((sup) => void sup.spawn(untilCancelled), { name: 'app', logger: false, timeline: true });
    {
      using timeline = disposed.timeline;
      assert.deepEqual(timeline.lines(), ['app: spawn main', 'app: spawn untilCancelled', 'app: settle main fulfilled']);
    }
    assert.deepEqual(subscribedChannels(), [], 'unsubscribed while the program still runs');
    assert.equal(disposed.supervisor.state, 'running');
    simulateSignal(disposed.supervisor);
    assert.equal(await disposed.exitCode, 0);
    assert.equal(disposed.timeline.lines().length, 3, 'nothing recorded after it was disposed of');
  });

  it('refuses bad options at the call, with typed errors, and leaves nothing behind', () => {
    const listeners = () => ['SIGTERM', 'SIGINT', 'uncaughtException', 'unhandledRejection'].map((event) => process.listenerCount(event));
    const before = listeners();
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    assert.throws(() => runForTest(undefined, { timeline: 'yes' } as never), {
      code: 'ERR_INVALID_ARG_TYPE',
      message: /runForTest options\.timeline must be a boolean, got "yes"/,
    });
    assert.throws(() => runForTest(undefined, { timeline: Symbol('t') } as never), { code: 'ERR_INVALID_ARG_TYPE', message: /got Symbol\(t\)/ });
    assert.throws(() => runForTest(undefined, { timeline: revoked } as never), { code: 'ERR_INVALID_ARG_TYPE', message: /got an object/ });
    assert.throws(() => runForTest(undefined, { onStart: 42 } as never), {
      code: 'ERR_INVALID_ARG_TYPE',
      message: /runForTest options\.onStart must be a function/,
    });
    assert.throws(() => runForTest(undefined, { onStart: Symbol('s') } as never), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => runForTest(undefined, { timline: true } as never), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: /runForTest options\.timline .*did you mean timeline\?/,
    });
    assert.throws(() => runForTest(undefined, { onStrat() {} } as never), { code: 'ERR_INVALID_ARG_VALUE', message: /did you mean onStart\?/ });
    assert.throws(() => runForTest('main' as never), { code: 'ERR_INVALID_ARG_TYPE', message: /runForTest\(main\)/ });
    // run()'s own checks come before anything starts: no timeline, no onStart.
    let started = false;
    assert.throws(() => runForTest(undefined, { timeline: true, shutdownTimeout: -1, onStart: () => void (started = true) }), { code: 'ERR_OUT_OF_RANGE' });
    assert.equal(started, false);
    assert.throws(() => runForTest(undefined, null as never), {
      code: 'ERR_INVALID_ARG_TYPE',
      message: /runForTest\(main, options\): options must be an object/,
    });
    // run() keeps refusing options it does not know, with its existing error.
    assert.throws(() => run(undefined, { timeline: true } as never), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: /^options\.timeline must be one of the known options/,
    });
    assert.throws(() => run(undefined, { onStart() {} } as never), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: /^options\.onStart must be one of the known options/,
    });
    // A Proxy whose getter or key listing throws: that error, at the call, before anything started.
    const getterFails = new Error('getter');
    const hostile = new Proxy(
      { timeline: true },
      {
        get() {
          throw getterFails;
        },
      },
    );
    assert.throws(
      () => runForTest(undefined, hostile),
      (error) => error === getterFails,
    );
    const keysFail = new Error('ownKeys');
    const unlistable = new Proxy(
      {},
      {
        ownKeys() {
          throw keysFail;
        },
      },
    );
    assert.throws(
      () => runForTest(undefined, unlistable),
      (error) => error === keysFail,
    );
    assert.deepEqual(listeners(), before);
    assert.deepEqual(subscribedChannels(), []);
  });

  it('reads each option once: a getter cannot pass the checks with one value and run with another', async () => {
    let reads = 0;
    const options = {
      logger: false as const,
      exitWhenDone: true,
      get timeline(): boolean {
        reads++;
        return reads === 1;
      },
    };
    const program = runForTest(undefined, options);
    assert.equal(reads, 1);
    assert.notEqual(program.timeline, undefined);
    assert.equal(await program.exitCode, 0);
  });

  it('takes a null-prototype options object, and ignores symbol keys', async () => {
    const options = Object.assign(Object.create(null) as object, {
      name: 'bare',
      logger: false as const,
      exitWhenDone: true,
      timeline: true,
      [Symbol('note')]: 1,
    });
    const program = runForTest(() => 'ran', options);
    assert.equal(await program.main, 'ran');
    assert.equal(await program.exitCode, 0);
    assert.deepEqual(program.timeline?.lines().slice(0, 2), ['bare: spawn main', 'bare: settle main fulfilled']);
  });
});
