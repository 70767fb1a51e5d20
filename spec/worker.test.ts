import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Supervisor, stopWorker } from '../lib/index.js';
import { recordingLogger, needs } from './helpers.js';

const workerFile = new URL('./fixtures/worker-thread.js', import.meta.url);

/** Every worker a test started: terminated after the file, whatever happened. */
const workers = new Set<Worker>();
after(async () => {
  await Promise.all([...workers].map((worker) => worker.terminate()));
});

interface Started {
  readonly worker: Worker;
  /** Every message the worker posted, in order. */
  readonly messages: unknown[];
  /** Resolves with the worker's exit code. */
  readonly exit: Promise<number>;
}

/** Starts spec/fixtures/worker-thread.js in `mode` and resolves once it has posted "ready" (30 s hang guard). */
async function startWorker(mode: string): Promise<Started> {
  const worker = new Worker(workerFile, { workerData: { mode } });
  workers.add(worker);
  const messages: unknown[] = [];
  worker.on('message', (message) => messages.push(message));
  const exit = new Promise<number>((resolve) => worker.once('exit', resolve));
  if (mode !== 'exit') {
    let timer: NodeJS.Timeout | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`worker (${mode}) not ready within 30 s`)), 30_000);
      worker.on('message', (message) => message === 'ready' && resolve());
      worker.once('exit', () => reject(new Error(`worker (${mode}) exited before it was ready`)));
      worker.once('error', reject);
    });
    try {
      await ready;
    } finally {
      clearTimeout(timer);
    }
  }
  return { worker, messages, exit };
}

describe('stopWorker', { timeout: 120_000 }, () => {
  it('a worker that shuts down on the message (shutdownOnMessage in the thread) exits by itself, its cleanup run', async () => {
    const { worker, messages, exit } = await startWorker('cooperative');
    const threadId = worker.threadId;
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 30_000 });
    assert.equal(sup.adopt(worker, stopWorker), worker);
    const report = await sup.shutdown();
    assert.equal(report.exitCode, 0);
    assert.deepEqual(report.stragglers, []);
    assert.deepEqual(report.errors, []);
    assert.equal(await exit, 0, 'ended on its own: terminate() gives exit code 1');
    assert.ok(threadId > 0);
    assert.deepEqual(messages, [
      'ready',
      `task: cleaned up (Supervisor "thread" is shutting down: received a 'shutdown' message)`,
      'resource: closed',
      `report: ${JSON.stringify({ cause: 'message', exitCode: 0, cancelled: 1, listeners: 0 })}`,
    ]);
  });

  it('a worker that ignores the message is terminated after `timeout`', async () => {
    const { worker, messages, exit } = await startWorker('ignore');
    const sentAt = performance.now();
    await stopWorker(worker, { timeout: 300 });
    assert.ok(performance.now() - sentAt < 10_000);
    assert.equal(await exit, 1, 'terminated');
    assert.deepEqual(messages, ['ready', 'ignored "shutdown"']);
  });

  it('a worker whose event loop is blocked is terminated after `timeout`', async () => {
    const { worker, messages, exit } = await startWorker('spin');
    await new Promise((resolve) => setTimeout(resolve, 50)); // it is spinning by now
    await stopWorker(worker, { timeout: 200 });
    assert.equal(await exit, 1);
    assert.deepEqual(messages, ['ready']);
  });

  it('under a supervisor deadline, an ignoring worker is terminated in time and reported as a straggler (exit code 124)', async () => {
    const { worker, messages, exit } = await startWorker('ignore');
    const threadId = worker.threadId;
    const logger = recordingLogger();
    const sup = new Supervisor({ signals: false, logger, shutdownTimeout: 1000 });
    sup.adopt(worker, stopWorker);
    const report = await sup.shutdown();
    assert.equal(report.exitCode, 124);
    assert.deepEqual(report.errors, []);
    assert.deepEqual(
      report.stragglers.map((s) => s.name),
      [`stopWorker (forced: worker thread ${threadId} terminated)`],
    );
    assert.ok(report.durationMs < 10_000);
    assert.deepEqual(logger.lines, [], 'the disposer itself finished before the deadline');
    assert.equal(await exit, 1);
    assert.deepEqual(messages, ['ready', 'ignored "shutdown"']);
  });

  it('posts a custom `message`', async () => {
    const { worker, messages, exit } = await startWorker('custom');
    await stopWorker(worker, { message: { cmd: 'stop' }, timeout: 20_000 });
    assert.equal(await exit, 0);
    assert.deepEqual(messages, [
      'ready',
      'got {"cmd":"stop"}',
      'task: cleaned up (Supervisor "thread" is shutting down: shutdown was requested)',
      'resource: closed',
      `report: ${JSON.stringify({ cause: 'shutdown', exitCode: 0, cancelled: 1, listeners: 1 })}`,
    ]);
  });

  it('stopWorker.with(options) checks them at that call; its disposer, adopted, posts the configured message', async () => {
    assert.throws(() => stopWorker.with({ mesage: 'stop' } as never), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: /^stopWorker\.with\(options\): options\.mesage must be one of the known options \(timeout, message\); did you mean message\?/,
    });
    assert.throws(() => stopWorker.with({ timeout: '2s' } as never), {
      code: 'ERR_INVALID_ARG_TYPE',
      message: /^stopWorker\.with\(options\): options\.timeout must be a number/,
    });
    const { worker, messages, exit } = await startWorker('custom');
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 30_000 });
    assert.equal(sup.adopt(worker, stopWorker.with({ message: { cmd: 'stop' } })), worker);
    const report = await sup.shutdown();
    assert.equal(report.exitCode, 0);
    assert.deepEqual(report.stragglers, []);
    assert.equal(await exit, 0, 'it stopped on the message: terminate() gives exit code 1');
    assert.deepEqual(messages.slice(0, 2), ['ready', 'got {"cmd":"stop"}']);
  });

  it('stopWorker.with({ timeout }), adopted: an ignoring worker is terminated at that timeout, long before the deadline, reported as stopWorker', async () => {
    const { worker, messages, exit } = await startWorker('ignore');
    const threadId = worker.threadId;
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 60_000 });
    sup.adopt(worker, stopWorker.with({ timeout: 200 }));
    const report = await sup.shutdown();
    assert.ok(report.durationMs < 30_000, `took ${report.durationMs} ms: forced at its timeout, not at the 60 s deadline`);
    assert.equal(report.exitCode, 124);
    assert.deepEqual(
      report.stragglers.map((s) => s.name),
      [`stopWorker (forced: worker thread ${threadId} terminated)`],
    );
    assert.equal(await exit, 1);
    assert.deepEqual(messages, ['ready', 'ignored "shutdown"']);
  });

  it('the default message is not the custom one: a worker waiting for { cmd: "stop" } ignores "shutdown"', async () => {
    const { worker, messages, exit } = await startWorker('custom');
    await stopWorker(worker, { timeout: 300 });
    assert.equal(await exit, 1);
    assert.deepEqual(messages, ['ready', 'got "shutdown"']);
  });

  it("a worker that fails while stopping: stopWorker rejects with the thread's error, which the report keeps (exit code 1)", async () => {
    const { worker, exit } = await startWorker('throw');
    await assert.rejects(stopWorker(worker, { timeout: 20_000 }), { message: 'cleanup failed in the thread' });
    await exit;

    const second = await startWorker('throw');
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 30_000 });
    sup.adopt(second.worker, stopWorker);
    const report = await sup.shutdown();
    assert.equal(report.exitCode, 1);
    assert.deepEqual(report.stragglers, []);
    assert.deepEqual(
      report.errors.map((e) => (e as Error).message),
      ['cleanup failed in the thread'],
    );
    await second.exit;
  });

  it('the thread of a worker that fails while stopping exits with code 1', { skip: needs('workerErrorExitCode') }, async () => {
    const { worker, exit } = await startWorker('throw');
    await assert.rejects(stopWorker(worker, { timeout: 20_000 }));
    assert.equal(await exit, 1);
  });

  it('an already-exited worker resolves at once, and nothing is posted to it', { skip: needs('workerThreadIdReset') }, async () => {
    const { worker, exit } = await startWorker('exit');
    assert.equal(await exit, 0);
    assert.equal(worker.threadId, -1);
    const sentAt = performance.now();
    await stopWorker(worker, { timeout: 60_000 });
    await stopWorker(worker);
    assert.ok(performance.now() - sentAt < 1000);
  });

  it('bad input throws at the call', async () => {
    const { worker, messages, exit } = await startWorker('ignore');
    for (const value of [undefined, null, 1, 'worker', {}, { terminate() {} }, { postMessage() {} }]) {
      assert.throws(() => stopWorker(value as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    }
    assert.throws(() => stopWorker(worker, 5 as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => stopWorker(worker, { timeout: NaN }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(messages, ['ready'], 'a refused call posted nothing');
    await stopWorker(worker, { timeout: 0 });
    assert.equal(await exit, 1);
  });
});
