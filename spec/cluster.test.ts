import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import cluster from 'node:cluster';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stopCluster } from '../lib/index.js';
import { killPidsAndGroups, pidExists, needs } from './helpers.js';

const appFile = fileURLToPath(new URL('./fixtures/cluster-app.js', import.meta.url));

/** Every primary (a group leader) and worker pid a test saw: killed after the file, whatever happened. */
const pids = new Set<number>();
after(() => killPidsAndGroups(pids));

interface Primary {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly workers: readonly number[];
  stdout(): string;
  /** Resolves with the primary's exit; SIGKILLs its group after 30 s (a hang guard) and fails. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/**
 * Starts spec/fixtures/cluster-app.js as the leader of its own process group (as a shell starts
 * a command), and resolves once every worker serves.
 */
async function startPrimary(env: Record<string, string>): Promise<Primary> {
  const child = spawn(process.execPath, [appFile], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const pid = child.pid!;
  pids.add(pid);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // Its output is complete once both pipes have closed: the workers share them, so this also
  // means that every worker has exited.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const readyBy = performance.now() + 30_000;
  while (!/primary ready pid=\d+ workers=[\d,]+\n/.test(out)) {
    assert.ok(performance.now() < readyBy, `primary not ready within 30 s; stdout: ${out}; stderr: ${err}`);
    assert.equal(child.exitCode, null, `primary exited before it was ready; stdout: ${out}; stderr: ${err}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const workers = /workers=([\d,]+)/.exec(out)![1]!.split(',').map(Number);
  for (const worker of workers) pids.add(worker);
  return {
    child,
    pid,
    workers,
    stdout: () => out,
    async exited() {
      let timer: NodeJS.Timeout | undefined;
      const guard = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            // gone
          }
          reject(new Error(`primary did not exit within 30 s; stdout: ${out}; stderr: ${err}`));
        }, 30_000);
      });
      try {
        const { code, signal } = await Promise.race([exit, guard]);
        await Promise.race([closed, guard]);
        return { code, signal, stdout: out, stderr: err };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

const exists = pidExists;

function lines(stdout: string, prefix: string): string[] {
  return stdout.split('\n').filter((line) => line.startsWith(prefix));
}

function report(stdout: string, who: string): Record<string, unknown> {
  const line = stdout.split('\n').find((l) => l.startsWith(`${who} report: `));
  assert.ok(line !== undefined, `no report from ${who}; stdout: ${stdout}`);
  return JSON.parse(line.slice(`${who} report: `.length)) as Record<string, unknown>;
}

/** Worker 0 stopped gracefully, worker 1 was SIGKILLed, the primary's report says so (exit 124), and no process is left. */
function assertWorkerOneForced(primary: { readonly pid: number; readonly workers: readonly number[] }, stdout: string): void {
  assert.deepEqual(lines(stdout, 'primary: ').sort(), ['primary: worker 0 exited code=0 signal=null', 'primary: worker 1 exited code=null signal=SIGKILL']);
  assert.deepEqual(report(stdout, 'primary'), {
    cause: 'signal',
    signal: 'SIGTERM',
    exitCode: 124,
    stragglers: ['stopCluster (forced: SIGKILL to 1 cluster worker(s))'],
    errors: [],
  });
  for (const pid of [primary.pid, ...primary.workers]) assert.equal(exists(pid), false, `pid ${pid} is left`);
}

describe('stopCluster: a node:cluster primary running supervise, with supervise workers', {
  timeout: 180_000,
  concurrency: false,
  skip: needs('linux'),
}, () => {
  it("SIGTERM to the primary: every worker gets 'shutdown', cleans up and exits 0, then the primary exits 0", async () => {
    const primary = await startPrimary({});
    assert.ok(primary.workers.every(exists));
    process.kill(primary.pid, 'SIGTERM');
    const { code, stdout, stderr } = await primary.exited();
    assert.equal(code, 0, stderr);
    for (const index of [0, 1]) {
      assert.deepEqual(lines(stdout, `worker ${index} `), [
        `worker ${index} task stopped`,
        `worker ${index} server closed`,
        `worker ${index} report: {"cause":"message","signal":null,"exitCode":0}`,
      ]);
      assert.match(stderr, new RegExp(`received a 'shutdown' message, shutting down "worker-${index}"`));
    }
    assert.deepEqual(lines(stdout, 'primary: ').sort(), ['primary: worker 0 exited code=0 signal=null', 'primary: worker 1 exited code=0 signal=null']);
    assert.deepEqual(report(stdout, 'primary'), { cause: 'signal', signal: 'SIGTERM', exitCode: 0, stragglers: [], errors: [] });
    for (const pid of [primary.pid, ...primary.workers]) assert.equal(exists(pid), false, `pid ${pid} is left`);
  });

  for (const fail of [false, true]) {
    it(`a worker with a bare root Supervisor (no run()): its shutdown does not end it; the work after it runs and its exit code (${fail ? 1 : 0}) is kept`, async () => {
      const primary = await startPrimary({ BARE_INDEX: '1', SHUTDOWN_TIMEOUT: '20000', ...(fail ? { BARE_FAIL: '1' } : {}) });
      process.kill(primary.pid, 'SIGTERM');
      const { code, stdout, stderr } = await primary.exited();
      assert.equal(code, 0, stderr);
      assert.deepEqual(lines(stdout, 'worker 1 '), [
        'worker 1 task stopped',
        `worker 1 report: {"cause":"message","signal":null,"exitCode":${fail ? 1 : 0}}`,
        'worker 1 after shutdown',
      ]);
      assert.deepEqual(lines(stdout, 'primary: ').sort(), [
        'primary: worker 0 exited code=0 signal=null',
        `primary: worker 1 exited code=${fail ? 1 : 0} signal=null`,
      ]);
      assert.deepEqual(report(stdout, 'primary'), { cause: 'signal', signal: 'SIGTERM', exitCode: 0, stragglers: [], errors: [] });
    });
  }

  it("a second root that stops in a worker under run() does not end the worker: main runs on, and cleans up on 'shutdown'", async () => {
    const primary = await startPrimary({ TWO_ROOTS_INDEX: '1' });
    assert.deepEqual(lines(primary.stdout(), 'worker 1 '), ['worker 1 short root stopped']);
    assert.deepEqual(lines(primary.stdout(), 'primary: '), [], 'no worker exited while running');
    process.kill(primary.pid, 'SIGTERM');
    const { code, stdout, stderr } = await primary.exited();
    assert.equal(code, 0, stderr);
    assert.deepEqual(lines(stdout, 'worker 1 '), [
      'worker 1 short root stopped',
      'worker 1 task stopped',
      'worker 1 main cleanup',
      'worker 1 report: {"cause":"message","signal":null,"exitCode":0}',
    ]);
    assert.deepEqual(lines(stdout, 'primary: ').sort(), ['primary: worker 0 exited code=0 signal=null', 'primary: worker 1 exited code=0 signal=null']);
    assert.deepEqual(report(stdout, 'primary'), { cause: 'signal', signal: 'SIGTERM', exitCode: 0, stragglers: [], errors: [] });
  });

  it("a worker that ignores 'shutdown' is SIGKILLed at the primary's deadline: primary exit 124, no worker left", async () => {
    const primary = await startPrimary({ IGNORE_INDEX: '1', SHUTDOWN_TIMEOUT: '1000' });
    process.kill(primary.pid, 'SIGTERM');
    const sentAt = performance.now();
    const { code, stdout, stderr } = await primary.exited();
    assert.ok(performance.now() - sentAt < 15_000);
    assert.equal(code, 124, stderr);
    assert.deepEqual(lines(stdout, 'worker 0 '), [
      'worker 0 task stopped',
      'worker 0 server closed',
      'worker 0 report: {"cause":"message","signal":null,"exitCode":0}',
    ]);
    assert.deepEqual(lines(stdout, 'worker 1 '), ['worker 1 ignoring "shutdown"']);
    assertWorkerOneForced(primary, stdout);
  });

  it("stopCluster.with({ timeout }): a worker that ignores 'shutdown' is SIGKILLed at that timeout, long before the primary's deadline", async () => {
    const primary = await startPrimary({ IGNORE_INDEX: '1', SHUTDOWN_TIMEOUT: '60000', WITH_TIMEOUT: '300' });
    process.kill(primary.pid, 'SIGTERM');
    const { code, stdout, stderr } = await primary.exited(); // fails after 30 s: had it waited for the 60 s deadline
    assert.equal(code, 124, stderr);
    assert.deepEqual(lines(stdout, 'worker 1 '), ['worker 1 ignoring "shutdown"']);
    assertWorkerOneForced(primary, stdout);
  });

  it('SIGINT to the whole process group (Ctrl-C): everyone shuts down gracefully, nobody is forced (exit codes 0, not 130)', async () => {
    const primary = await startPrimary({});
    process.kill(-primary.pid, 'SIGINT');
    const { code, signal, stdout, stderr } = await primary.exited();
    assert.equal(signal, null);
    assert.equal(code, 0, stderr);
    for (const index of [0, 1]) {
      // The worker's own SIGINT and the primary's 'shutdown' message race (the primary sends it
      // within a millisecond); whichever comes first starts the same graceful shutdown, and the
      // other is only noted: a signal after a message-started shutdown is a first signal, not a second.
      const [task, server, workerReport] = lines(stdout, `worker ${index} `);
      assert.deepEqual([task, server], [`worker ${index} task stopped`, `worker ${index} server closed`], stdout);
      assert.ok(
        [
          `worker ${index} report: {"cause":"signal","signal":"SIGINT","exitCode":0}`,
          `worker ${index} report: {"cause":"message","signal":null,"exitCode":0}`,
        ].includes(workerReport!),
        workerReport,
      );
      assert.equal(lines(stdout, `worker ${index} `).length, 3);
    }
    // Under load a worker can finish before the primary has handled its own SIGINT, so the
    // primary may also say "a worker died while running": only the exits are asserted here.
    assert.deepEqual(lines(stdout, 'primary: worker ').sort(), ['primary: worker 0 exited code=0 signal=null', 'primary: worker 1 exited code=0 signal=null']);
    assert.deepEqual(report(stdout, 'primary'), { cause: 'signal', signal: 'SIGINT', exitCode: 0, stragglers: [], errors: [] });
    assert.doesNotMatch(stderr, /exiting at once/);
    for (const pid of [primary.pid, ...primary.workers]) assert.equal(exists(pid), false, `pid ${pid} is left`);
  });

  it("Ctrl-C while the primary is busy: workers that exited unseen are not an error (no EPIPE from the 'shutdown' message)", async () => {
    // The primary's last cleanup before stopCluster blocks its loop for 300 ms; the workers, which
    // got the same SIGINT, exit meanwhile, so stopCluster writes to channels already closed.
    const primary = await startPrimary({ PRIMARY_BUSY_MS: '300' });
    process.kill(-primary.pid, 'SIGINT');
    const { code, stdout, stderr } = await primary.exited();
    assert.equal(code, 0, stderr);
    assert.deepEqual(report(stdout, 'primary'), { cause: 'signal', signal: 'SIGINT', exitCode: 0, stragglers: [], errors: [] });
    assert.deepEqual(lines(stdout, 'primary: ').sort(), ['primary: worker 0 exited code=0 signal=null', 'primary: worker 1 exited code=0 signal=null']);
    for (const index of [0, 1]) assert.equal(lines(stdout, `worker ${index} report: `).length, 1);
    assert.doesNotMatch(stderr, /EPIPE|exiting at once/);
    for (const pid of [primary.pid, ...primary.workers]) assert.equal(exists(pid), false, `pid ${pid} is left`);
  });

  it('Ctrl-C: a worker that has left the cluster (disconnect) while it cleans up is not sent a second signal', async () => {
    // Each worker disconnects first thing in its disposal and cleans up for 600 ms more; the
    // primary reaches stopCluster 300 ms after the SIGINT, when the workers have no IPC channel.
    const primary = await startPrimary({ WORKER_DISCONNECT_MS: '600', PRIMARY_DELAY_MS: '300' });
    process.kill(-primary.pid, 'SIGINT');
    const { code, stdout, stderr } = await primary.exited();
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /exiting at once/);
    for (const index of [0, 1]) {
      assert.deepEqual(lines(stdout, `worker ${index} `), [
        `worker ${index} task stopped`,
        `worker ${index} disconnected`,
        `worker ${index} server closed`,
        `worker ${index} report: {"cause":"signal","signal":"SIGINT","exitCode":0}`,
      ]);
    }
    assert.deepEqual(lines(stdout, 'primary: ').sort(), ['primary: worker 0 exited code=0 signal=null', 'primary: worker 1 exited code=0 signal=null']);
    assert.deepEqual(report(stdout, 'primary'), { cause: 'signal', signal: 'SIGINT', exitCode: 0, stragglers: [], errors: [] });
  });
});

describe('stopCluster in this process', { timeout: 30_000 }, () => {
  it('with no worker, resolves at once', async () => {
    assert.equal(cluster.isPrimary, true);
    const startedAt = performance.now();
    await stopCluster(cluster, { timeout: 60_000 });
    await stopCluster(cluster);
    assert.ok(performance.now() - startedAt < 1000);
  });

  it('bad input throws at the call', () => {
    for (const value of [undefined, null, 1, 'cluster', {}, { fork() {} }, { fork() {}, isPrimary: false }]) {
      assert.throws(() => stopCluster(value as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    }
    assert.throws(() => stopCluster(cluster, 1 as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => stopCluster(cluster, { timeout: -1 }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  });

  it('stopCluster.with(options) checks them at that call; its disposer stops a primary with no worker at once', async () => {
    assert.throws(() => stopCluster.with({ timeuot: 5 } as never), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: /^stopCluster\.with\(options\): options\.timeuot must be one of the known options \(timeout\); did you mean timeout\?/,
    });
    assert.throws(() => stopCluster.with({ timeout: Infinity, signal: 'SIGTERM' } as never), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: /options\.signal must be one of the known options/,
    });
    assert.throws(() => stopCluster.with({ timeout: '5s' } as never), {
      code: 'ERR_INVALID_ARG_TYPE',
      message: /^stopCluster\.with\(options\): options\.timeout must be a number/,
    });
    const stop = stopCluster.with({ timeout: 60_000 });
    assert.throws(() => stop({} as never), { code: 'ERR_INVALID_ARG_TYPE', message: /^stopCluster\(cluster\) must be the node:cluster module/ });
    await stop(cluster);
  });
});
