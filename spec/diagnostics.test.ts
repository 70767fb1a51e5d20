import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ShutdownDisposeMessage,
  type ShutdownEndMessage,
  type ShutdownPhaseMessage,
  type ShutdownStartMessage,
  type ShutdownReport,
  Supervisor,
  type TaskSettleMessage,
  type TaskSpawnMessage,
  channels,
} from '../lib/index.js';
import { runForTest } from '../lib/testing.js';
import { aborted } from './helpers.js';

const guard = { timeout: 30_000 };

/** Subscribes to every supervise channel while `body` runs; returns [channel, message] pairs in order. */
async function capture(body: () => Promise<void>): Promise<[string, unknown][]> {
  const seen: [string, unknown][] = [];
  const handlers = Object.values(channels).map((name) => [name, (message: unknown) => seen.push([name, message])] as const);
  for (const [name, handler] of handlers) diagnosticsChannel.subscribe(name, handler);
  try {
    await body();
  } finally {
    for (const [name, handler] of handlers) diagnosticsChannel.unsubscribe(name, handler);
  }
  return seen;
}

describe('diagnostics channels', guard, () => {
  it('are named supervise:* and have no subscribers unless someone subscribes', () => {
    assert.deepEqual(Object.values(channels), [
      'supervise:task:spawn',
      'supervise:task:settle',
      'supervise:task:restart',
      'supervise:shutdown:start',
      'supervise:shutdown:phase',
      'supervise:shutdown:dispose',
      'supervise:shutdown:end',
    ]);
    for (const name of Object.values(channels)) assert.equal(diagnosticsChannel.hasSubscribers(name), false, name);
  });

  it('publish spawn before the function runs, and settle with the final state, error and duration', async () => {
    let sup: Supervisor | undefined;
    const order: string[] = [];
    const failure = new Error('failed');
    const seen = await capture(async () => {
      sup = new Supervisor({ signals: false, logger: false, onTaskError: 'ignore' });
      const spawnSeen = (message: unknown) => order.push(`spawn ${(message as TaskSpawnMessage).task.name}`);
      diagnosticsChannel.subscribe(channels.taskSpawn, spawnSeen);
      sup.spawn(function sync() {
        order.push('sync runs');
        return 1;
      });
      diagnosticsChannel.unsubscribe(channels.taskSpawn, spawnSeen);
      await Promise.resolve(
        sup.spawn(
          async () => {
            await sleep(15);
            throw failure;
          },
          { name: 'fails' },
        ),
      ).catch(() => {});
      const cancelled = sup.spawn(
        async (signal) => {
          await aborted(signal);
          throw signal.reason;
        },
        { name: 'cancelled' },
      );
      cancelled.cancel();
      await Promise.resolve(cancelled).catch(() => {});
    });
    assert.deepEqual(order, ['spawn sync', 'sync runs']);
    const settles = seen.filter(([name]) => name === channels.taskSettle).map(([, m]) => m as TaskSettleMessage);
    assert.deepEqual(
      settles.map(({ task, state }) => [task.name, state]),
      [
        ['sync', 'fulfilled'],
        ['fails', 'rejected'],
        ['cancelled', 'cancelled'],
      ],
    );
    assert.equal(settles[0]!.error, undefined);
    assert.equal(settles[1]!.error, failure);
    assert.equal((settles[2]!.error as DOMException).name, 'AbortError');
    assert.ok(settles[1]!.durationMs >= 10, `a 15 ms task took ${settles[1]!.durationMs} ms`);
    assert.ok(settles.every((message) => message.supervisor === sup));
    const spawns = seen.filter(([name]) => name === channels.taskSpawn).map(([, m]) => (m as TaskSpawnMessage).task.name);
    assert.deepEqual(spawns, ['sync', 'fails', 'cancelled']);
    await sup!.shutdown();
  });

  it('publish a shutdown as start, each phase in order with its duration, each disposal, then end with the report', async () => {
    let root: Supervisor | undefined;
    let done: unknown;
    const seen = await capture(async () => {
      root = new Supervisor({ name: 'app', signals: false, logger: false, shutdownTimeout: 300 });
      root.defer(function closeDb() {});
      const jobs = root.child({ name: 'jobs' });
      jobs.spawn(async (signal) => aborted(signal), { name: 'job' });
      root.defer(function failing() {
        throw new Error('close failed');
      });
      root.adopt({}, function hangs() {
        return new Promise(() => {});
      });
      root.spawn(
        async (signal) => {
          await aborted(signal);
          await sleep(10);
        },
        { name: 'worker' },
      );
      done = await root.shutdown(new Error('stop'));
    });
    const shutdown = seen.filter(([name]) => name.startsWith('supervise:shutdown:'));
    const line = ([name, m]: [string, unknown]): string => {
      const message = m as ShutdownStartMessage & ShutdownPhaseMessage & ShutdownDisposeMessage & ShutdownEndMessage;
      const who = message.supervisor.name;
      if (name === channels.shutdownStart) return `${who} start ${message.cause} pending=${message.pending}`;
      if (name === channels.shutdownPhase) return `${who} phase ${message.phase}`;
      if (name === channels.shutdownDispose) return `${who} dispose ${message.kind} ${message.name} ${message.outcome}`;
      return `${who} end ${message.report.exitCode}`;
    };
    assert.deepEqual(shutdown.map(line), [
      'app start shutdown pending=1',
      'app phase drain',
      'app phase tasks',
      'app dispose resource hangs timed-out',
      'app dispose callback failing failed',
      'jobs start parent pending=1',
      'jobs phase drain',
      'jobs phase tasks',
      'jobs phase dispose',
      'jobs end 0',
      'app dispose child jobs disposed',
      'app dispose callback closeDb disposed',
      'app phase dispose',
      'app end 1',
    ]);
    const start = shutdown[0]![1] as ShutdownStartMessage;
    assert.equal((start.reason as Error).message, 'stop');
    assert.equal(start.signal, undefined);
    const phases = shutdown.filter(([name]) => name === channels.shutdownPhase).map(([, m]) => m as ShutdownPhaseMessage);
    // The root's three phases are consecutive parts of its shutdown: together, no longer than it.
    const rootPhases = phases.filter((phase) => phase.supervisor.name === 'app');
    assert.deepEqual(
      rootPhases.map((phase) => phase.phase),
      ['drain', 'tasks', 'dispose'],
    );
    const total = rootPhases.reduce((sum, phase) => sum + phase.durationMs, 0);
    assert.ok(
      rootPhases.every((phase) => phase.durationMs >= 0) && total <= (done as ShutdownReport).durationMs + 1e-6,
      `phases ${total} ms, shutdown ${(done as ShutdownReport).durationMs} ms`,
    );
    assert.ok(phases[1]!.durationMs >= 5, 'the tasks phase waited for the worker');
    const failed = shutdown.find(([, m]) => (m as ShutdownDisposeMessage).outcome === 'failed')![1] as ShutdownDisposeMessage;
    assert.equal((failed.error as Error).message, 'close failed');
    assert.equal((shutdown.at(-1)![1] as ShutdownEndMessage).report, done, 'the report is the one done resolves with');
  });
});

describe('a settle subscriber that spawns', guard, () => {
  const timeouts = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;

  it('leaves no keep-alive timer behind after the shutdown', async () => {
    const before = timeouts();
    let spawned = 0;
    const onSettle = (message: unknown) => {
      const { supervisor } = message as TaskSettleMessage;
      if (spawned++ === 0) supervisor.spawn(async () => {}); // spawned while the registry is empty
    };
    diagnosticsChannel.subscribe(channels.taskSettle, onSettle);
    try {
      const sup = new Supervisor({ logger: false }); // listens to signals: holds the process while busy
      sup.spawn(async () => {});
      await sleep(10);
      await sup.shutdown();
      assert.equal(spawned, 2);
      assert.equal(timeouts(), before);
    } finally {
      diagnosticsChannel.unsubscribe(channels.taskSettle, onSettle);
    }
  });

  it('under exitWhenDone, the program still ends once everything has settled', async () => {
    let spawned = 0;
    const onSettle = (message: unknown) => {
      const { supervisor } = message as TaskSettleMessage;
      if (spawned++ === 0) supervisor.spawn(async () => {});
    };
    diagnosticsChannel.subscribe(channels.taskSettle, onSettle);
    try {
      const program = runForTest(async () => {}, { logger: false, exitWhenDone: true });
      assert.equal(await program.exitCode, 0);
      assert.ok(spawned >= 2);
    } finally {
      diagnosticsChannel.unsubscribe(channels.taskSettle, onSettle);
    }
  });
});
