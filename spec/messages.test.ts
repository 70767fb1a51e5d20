import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { SHUTDOWN_MESSAGE, Supervisor, shutdownOnMessage } from '../lib/index.js';
import { aborted, recordingLogger, sendSignal, needs } from './helpers.js';
import { messageListenerCounter } from './message-listeners.js';

const appFile = fileURLToPath(new URL('./fixtures/ipc-app.js', import.meta.url));

/** Every process a test forked: killed after the file, whatever happened. */
const forked = new Set<ChildProcess>();
after(() => {
  for (const child of forked) child.kill('SIGKILL');
});

interface Forked {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit once stdout and stderr are complete; SIGKILLs it after 30 s (a hang guard) and fails. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/**
 * Forks spec/fixtures/ipc-app.js (so it has an IPC channel) with `env` in place of this process's
 * PM2 and cluster variables, and resolves once it is ready (a 30 s hang guard).
 */
async function forkApp(env: Record<string, string>): Promise<Forked> {
  const { pm_id: _pm, NODE_UNIQUE_ID: _cluster, ...base } = process.env;
  const child = fork(appFile, [], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  forked.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const readyBy = performance.now() + 30_000;
  while (!/ready listeners=\d+\n/.test(out)) {
    assert.ok(performance.now() < readyBy, `ipc-app not ready within 30 s; stdout: ${out}; stderr: ${err}`);
    assert.equal(child.exitCode, null, `ipc-app exited before it was ready; stdout: ${out}; stderr: ${err}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async exited() {
      let timer: NodeJS.Timeout | undefined;
      const guard = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`ipc-app did not exit within 30 s; stdout: ${out}; stderr: ${err}`));
        }, 30_000);
      });
      try {
        const { code, signal } = await Promise.race([closed, guard]);
        return { code, signal, stdout: out, stderr: err };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function lines(stdout: string): string[] {
  return stdout.trim().split('\n');
}

describe("PM2's 'shutdown' message, in a forked process", { timeout: 120_000, concurrency: false, skip: needs('posixSignals') }, () => {
  for (const form of ['run', 'supervisor'] as const) {
    it(`with pm_id set, 'shutdown' on the IPC channel starts a graceful shutdown (cause 'message', exit 0) — ${form === 'run' ? 'run()' : 'a root Supervisor'}`, async () => {
      const app = await forkApp({ pm_id: '0', FORM: form });
      assert.deepEqual(lines(app.stdout()), ['ready listeners=1']);
      // Anything else on the channel is not a shutdown.
      app.child.send('hello');
      app.child.send({ type: 'shutdown' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(app.child.exitCode, null, 'still running after other messages');
      app.child.send(SHUTDOWN_MESSAGE);
      // It exits by itself: once its supervisor has stopped, nothing (no listener) holds the channel.
      const { code, signal, stdout, stderr } = await app.exited();
      assert.equal(signal, null);
      assert.equal(code, 0, stderr);
      assert.deepEqual(lines(stdout), [
        'ready listeners=1',
        `task: stopped (Supervisor "ipc-app" is shutting down: received a 'shutdown' message)`,
        `report: ${JSON.stringify({ cause: 'message', signal: null, exitCode: 0, listeners: 0 })}`,
      ]);
      assert.match(stderr, /received a 'shutdown' message, shutting down "ipc-app"/);
    });
  }

  it('with pm_id set, a dozen roots share one message listener, and roots that stop leave the channel to the rest', async () => {
    const app = await forkApp({ pm_id: '0', FORM: 'roots', ROOTS: '12' });
    const stopped = Array.from({ length: 11 }, (_, i) => `root ${i} stopped`);
    assert.deepEqual(lines(app.stdout()), [...stopped, 'ready listeners=1']);
    app.child.send(SHUTDOWN_MESSAGE);
    const { code, signal, stdout, stderr } = await app.exited();
    assert.equal(signal, null);
    assert.equal(code, 0, stderr);
    assert.deepEqual(lines(stdout), [
      ...stopped,
      'ready listeners=1',
      `task: stopped (Supervisor "ipc-app" is shutting down: received a 'shutdown' message)`,
      'last root: message',
      `report: ${JSON.stringify({ cause: 'message', signal: null, exitCode: 0, listeners: 0 })}`,
    ]);
    assert.doesNotMatch(stderr, /MaxListeners|ERR_IPC/);
  });

  it('with pm_id set, SIGINT still works as usual', async () => {
    const app = await forkApp({ pm_id: '3' });
    sendSignal(app.child, 'SIGINT');
    const { code, stdout } = await app.exited();
    assert.equal(code, 0);
    assert.equal(lines(stdout).at(-1), `report: ${JSON.stringify({ cause: 'signal', signal: 'SIGINT', exitCode: 0, listeners: 0 })}`);
  });

  for (const form of ['run', 'supervisor'] as const) {
    it(`a plain fork (no pm_id, not a cluster worker) installs no message listener and ignores 'shutdown' — ${form === 'run' ? 'run()' : 'a root Supervisor'}`, async () => {
      const app = await forkApp({ FORM: form });
      assert.deepEqual(lines(app.stdout()), ['ready listeners=0']);
      app.child.send(SHUTDOWN_MESSAGE);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(app.child.exitCode, null, "'shutdown' did nothing");
      sendSignal(app.child, 'SIGTERM');
      const { code, stdout } = await app.exited();
      assert.equal(code, 0);
      assert.deepEqual(lines(stdout), [
        'ready listeners=0',
        'task: stopped (Supervisor "ipc-app" is shutting down: received SIGTERM)',
        `report: ${JSON.stringify({ cause: 'signal', signal: 'SIGTERM', exitCode: 0, listeners: 0 })}`,
      ]);
    });
  }
});

describe('shutdownOnMessage, in this process', { timeout: 30_000 }, () => {
  /** Posts `messages` on `from`, then resolves once `to` has delivered all of them (they arrive in order). */
  async function deliver(from: MessagePort, to: MessagePort, ...messages: unknown[]): Promise<void> {
    const marker = `marker-${Math.random()}`;
    const seen = new Promise<void>((resolve) => {
      const onMessage = (message: unknown) => {
        if (message !== marker) return;
        to.off('message', onMessage);
        resolve();
      };
      to.on('message', onMessage);
    });
    for (const message of messages) from.postMessage(message);
    from.postMessage(marker);
    await seen;
  }

  it('this process (no IPC channel) gets no message listener from a root supervisor', async () => {
    const before = process.listenerCount('message');
    const sup = new Supervisor({ logger: false });
    assert.equal(process.listenerCount('message'), before);
    await sup.shutdown();
  });

  it("'shutdown' on a MessagePort starts a graceful shutdown with cause 'message'; other messages are ignored", async () => {
    const { port1, port2 } = new MessageChannel();
    const messageListeners = messageListenerCounter(port2);
    try {
      const logger = recordingLogger();
      const sup = new Supervisor({ signals: false, logger, name: 'ported' });
      const log: string[] = [];
      sup.spawn(async (signal) => {
        await aborted(signal);
        log.push(`task aborted: ${(signal.reason as Error).message}`);
      });
      shutdownOnMessage(sup, port2);
      assert.equal(messageListeners(), 1);
      await deliver(port1, port2, 'hello', 'SHUTDOWN', { type: 'shutdown' }, ['shutdown'], null, 42);
      assert.equal(sup.state, 'running', 'other messages are ignored');
      port1.postMessage('shutdown');
      const report = await sup.done;
      assert.equal(report.cause, 'message');
      assert.equal(report.exitCode, 0);
      assert.equal(report.cancelled, 1);
      assert.deepEqual(log, [`task aborted: Supervisor "ported" is shutting down: received a 'shutdown' message`]);
      assert.deepEqual(logger.lines, [`supervise: received a 'shutdown' message, shutting down "ported"`]);
      assert.equal(messageListeners(), 0, 'the listener is removed once the supervisor has stopped');
    } finally {
      port1.close();
    }
  });

  it("a second 'shutdown' during the shutdown changes nothing", async () => {
    const { port1, port2 } = new MessageChannel();
    const messageListeners = messageListenerCounter(port2);
    try {
      const logger = recordingLogger();
      const sup = new Supervisor({ signals: false, logger });
      sup.spawn(async (signal) => {
        await aborted(signal);
        await new Promise((resolve) => setTimeout(resolve, 100));
      });
      const stop = shutdownOnMessage(sup, port2);
      await deliver(port1, port2, 'shutdown', 'shutdown');
      assert.equal(sup.state, 'stopping');
      const report = await sup.done;
      assert.equal(report.cause, 'message');
      assert.equal(logger.lines.length, 1, 'one shutdown, logged once');
      stop(); // already removed: a no-op
      assert.equal(messageListeners(), 0);
    } finally {
      port1.close();
    }
  });

  it('the returned function removes the listener sooner; calling it again is harmless', async () => {
    const { port1, port2 } = new MessageChannel();
    const messageListeners = messageListenerCounter(port2);
    try {
      const sup = new Supervisor({ signals: false, logger: false });
      const stop = shutdownOnMessage(sup, port2);
      assert.equal(messageListeners(), 1);
      stop();
      stop();
      assert.equal(messageListeners(), 0);
      await deliver(port1, port2, 'shutdown');
      assert.equal(sup.state, 'running', 'no longer listening');
      const report = await sup.shutdown();
      assert.equal(report.cause, 'shutdown');
    } finally {
      port1.close();
    }
  });

  it('a supervisor already stopped: the listener is removed at once, and a late message does nothing', async () => {
    const { port1, port2 } = new MessageChannel();
    const messageListeners = messageListenerCounter(port2);
    try {
      const sup = new Supervisor({ signals: false, logger: false });
      await sup.shutdown();
      shutdownOnMessage(sup, port2);
      await deliver(port1, port2, 'shutdown');
      assert.equal(messageListeners(), 0);
      assert.equal(sup.state, 'stopped');
    } finally {
      port1.close();
    }
  });

  it('works with any emitter of message events (process, an EventEmitter)', async () => {
    const emitter = new EventEmitter();
    const sup = new Supervisor({ signals: false, logger: false });
    shutdownOnMessage(sup, emitter);
    emitter.emit('message', 'shutdown');
    const report = await sup.done;
    assert.equal(report.cause, 'message');
    assert.equal(emitter.listenerCount('message'), 0);

    const before = process.listenerCount('message');
    const other = new Supervisor({ signals: false, logger: false });
    const stop = shutdownOnMessage(other); // the default source: this process's IPC channel
    assert.equal(process.listenerCount('message'), before + 1);
    process.emit('message' as never, 'shutdown' as never);
    assert.equal((await other.done).cause, 'message');
    assert.equal(process.listenerCount('message'), before);
    stop();
  });

  it('bad source throws TypeError at the call', async () => {
    const sup = new Supervisor({ signals: false, logger: false });
    for (const source of [null, 42, 'process', {}, { on() {} }, { off() {} }]) {
      assert.throws(() => shutdownOnMessage(sup, source as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    }
    await sup.shutdown();
  });
});
