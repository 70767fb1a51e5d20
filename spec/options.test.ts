// Bad options fail at the call that gave them, with a message that names the option the caller
// wrote: unknown names (with the closest known one), root-only options on a child, and ranges.
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { describe, it } from 'node:test';
import { Supervisor, run, stopChildProcess, stopWorker, closePool, stopCluster } from '../lib/index.js';
import { spawn } from 'node:child_process';
import type { Cluster } from 'node:cluster';

const quiet = { signals: false, logger: false } as const;

/** Asserts that `call` throws a TypeError with Node's ERR_INVALID_ARG_VALUE code and a message matching `message`. */
function refuses(call: () => unknown, message: RegExp): void {
  assert.throws(call, (error: unknown) => {
    assert.ok(error instanceof TypeError, String(error));
    assert.equal((error as { code?: unknown }).code, 'ERR_INVALID_ARG_VALUE');
    assert.match(error.message, message);
    return true;
  });
}

describe('unknown option names are refused, naming the closest known one', () => {
  it('new Supervisor()', () => {
    refuses(
      () => new Supervisor({ ...quiet, shutdownTimout: 5_000 } as object),
      /options\.shutdownTimout must be one of the known options .*; did you mean shutdownTimeout\?/,
    );
    refuses(() => new Supervisor({ ...quiet, nmae: 'api' } as object), /options\.nmae .*did you mean name\?/);
    refuses(
      () => new Supervisor({ ...quiet, frobnicate: true } as object),
      /options\.frobnicate must be one of the known options \(name, shutdownTimeout, disposeReserve, drainDelay, signals, secondSignal, onTaskError, logger, captureSpawnSites, dumpSignal, strategy, maxRestarts, within\), got "frobnicate"$/,
    );
  });

  it('sup.child()', () => {
    const sup = new Supervisor(quiet);
    refuses(() => sup.child({ shutdownTimout: 5 } as object), /child options\.shutdownTimout .*did you mean shutdownTimeout\?/);
  });

  it('run(): its own options and the Supervisor ones, nothing else, and before anything starts', () => {
    let started = false;
    refuses(
      () => run(() => void (started = true), { ...quiet, exit: false, exitWhenDne: true } as object),
      /options\.exitWhenDne .*did you mean exitWhenDone\?/,
    );
    assert.equal(started, false);
  });

  it("spawn's backoff", () => {
    const sup = new Supervisor(quiet);
    refuses(
      () => sup.spawn(async () => {}, { restart: 'on-failure', backoff: { initialMS: 10 } as object }),
      /spawn options\.backoff\.initialMS .*did you mean initialMs\?/,
    );
    assert.equal(sup.size, 0, 'nothing was registered');
  });

  it("spawn's own options, before anything is registered or run", () => {
    const sup = new Supervisor(quiet);
    let ran = 0;
    refuses(
      () => sup.spawn(() => void ran++, { nmae: 'job' } as object),
      /spawn options\.nmae must be one of the known options \(name, shield, restart, maxRestarts, within, backoff\); did you mean name\?, got "nmae"$/,
    );
    refuses(() => sup.spawn(() => void ran++, { name: 'job', restrat: 'always' } as object), /spawn options\.restrat .*did you mean restart\?/);
    refuses(() => sup.spawn(() => void ran++, { maxRestart: 3 } as object), /spawn options\.maxRestart .*did you mean maxRestarts\?/);
    refuses(() => sup.spawn(() => void ran++, { [Symbol('x')]: 1, sheild: true } as object), /spawn options\.sheild .*did you mean shield\?/);
    assert.equal(ran, 0);
    assert.equal(sup.size, 0, 'nothing was registered');
    // Inherited keys are not the caller's typo (Object.keys skips them too); known ones are read.
    const inherited = Object.assign(Object.create({ stray: true, name: 'from-prototype' }) as object, { shield: false });
    assert.equal(sup.spawn(() => 1, inherited as { name?: string }).name, 'from-prototype');
    // Every known option, all at once, is accepted.
    const task = sup.spawn(() => 1, { name: 'all', shield: true, restart: 'never' });
    assert.equal(task.name, 'all');
    const restarting = sup.spawn(() => 1, { restart: 'on-failure', maxRestarts: 1, within: 1_000, backoff: { initialMs: 1, maxMs: 2, factor: 2 } });
    assert.equal(restarting.name, `task-${restarting.id}`);
  });

  it('the adapters', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => child.once('exit', resolve));
    refuses(() => stopChildProcess(child, { timout: 5 } as object), /stopChildProcess: options\.timout .*did you mean timeout\?/);
    refuses(() => stopChildProcess(child, { singal: 'SIGINT' } as object), /did you mean signal\?/);
    const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
    try {
      refuses(() => stopWorker(worker, { mesage: 'bye' } as object), /stopWorker: options\.mesage .*did you mean message\?/);
    } finally {
      await worker.terminate();
    }
    const pool = { close: async () => {}, destroy: async () => {} };
    refuses(() => closePool(pool, { timeOut: 5 } as object), /closePool: options\.timeOut .*did you mean timeout\?/);
    refuses(() => stopCluster({ isPrimary: true, workers: {}, fork() {} } as unknown as Cluster, { tiemout: 5 } as object), /stopCluster: options\.tiemout/);
  });
});

describe('a child refuses the options only a root has', () => {
  for (const [name, value] of [
    ['secondSignal', 'ignore'],
    ['dumpSignal', 'SIGUSR2'],
    ['captureSpawnSites', true],
    ['drainDelay', 100],
  ] as const) {
    it(name, () => {
      const sup = new Supervisor(quiet);
      refuses(() => sup.child({ [name]: value } as object), new RegExp(`child options\\.${name} must be absent: `));
    });
  }
});

describe('messages name what the caller wrote', () => {
  it("dumpSignal: an unknown signal is the dumpSignal's fault, not the signals'", () => {
    assert.throws(() => new Supervisor({ ...quiet, dumpSignal: 'SIGNOPE' as NodeJS.Signals }), {
      code: 'ERR_UNKNOWN_SIGNAL',
      message: /^options\.dumpSignal: unknown signal "SIGNOPE"$/,
    });
  });

  it('within: one range, one message, for 0, -1 and NaN', () => {
    const sup = new Supervisor(quiet);
    for (const within of [0, -1, NaN, 2 ** 31]) {
      assert.throws(
        () => sup.spawn(async () => {}, { restart: 'on-failure', within }),
        {
          code: 'ERR_OUT_OF_RANGE',
          message: /^spawn options\.within must be > 0 and <= 2147483647 \(or Infinity\), got /,
        },
        String(within),
      );
    }
    sup.spawn(async () => {}, { restart: 'on-failure', within: Infinity }).cancel();
  });
});
