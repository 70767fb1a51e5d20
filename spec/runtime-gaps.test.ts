// What supervise does where a runtime lacks part of Node's API (Bun, Deno): each gap is simulated
// here on the running runtime, so that these run, and fail without the degradation, on Node too.
// README.md's "Bun and Deno" section lists the gaps.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { debuglog } from 'node:util';
import { Worker } from 'node:worker_threads';
import { debugEnabled } from '../lib/debug-enabled.js';
import { Supervisor, closeServer, stopWorker } from '../lib/index.js';
import { recordingLogger } from './helpers.js';

/** Shuts down a root that listens to SIGTERM (so it holds the process) with one task that never ends. */
async function stuckShutdownLines(): Promise<string[]> {
  const logger = recordingLogger();
  const sup = new Supervisor({ name: 'gap', logger, signals: ['SIGTERM'], shutdownTimeout: 100 });
  const never = setInterval(() => {}, 60_000);
  try {
    sup.spawn(() => new Promise(() => {}), { name: 'stuck' });
    const report = await sup.shutdown();
    assert.equal(report.exitCode, 124);
  } finally {
    clearInterval(never);
  }
  return logger.lines.flatMap((line) => line.split('\n'));
}

/** Replaces process.getActiveResourcesInfo for the duration of `body` (undefined: removes it). */
async function withActiveResourcesInfo<T>(replacement: (() => string[]) | undefined, body: () => Promise<T>): Promise<T> {
  const own = Object.getOwnPropertyDescriptor(process, 'getActiveResourcesInfo');
  if (replacement === undefined) delete (process as { getActiveResourcesInfo?: unknown }).getActiveResourcesInfo;
  else Object.defineProperty(process, 'getActiveResourcesInfo', { value: replacement, configurable: true, writable: true });
  try {
    return await body();
  } finally {
    if (own !== undefined) Object.defineProperty(process, 'getActiveResourcesInfo', own);
    else delete (process as { getActiveResourcesInfo?: unknown }).getActiveResourcesInfo;
  }
}

describe('the stuck-task report without process.getActiveResourcesInfo', { timeout: 30_000 }, () => {
  it('says the runtime has none, rather than throwing from the report', async () => {
    const lines = await withActiveResourcesInfo(undefined, stuckShutdownLines);
    assert.ok(
      lines.some((line) => /^ {2}- "stuck" \(#\d+\), \d+ ms old$/.test(line)),
      lines.join('\n'),
    );
    assert.ok(lines.includes("  the event loop's holders are unknown: this runtime has no process.getActiveResourcesInfo()"), lines.join('\n'));
  });

  it("says the runtime cannot tell when it lists nothing, not even supervise's own timer (Bun)", async () => {
    const lines = await withActiveResourcesInfo(() => [], stuckShutdownLines);
    assert.ok(lines.includes("  the event loop's holders are unknown: this runtime's process.getActiveResourcesInfo() lists none"), lines.join('\n'));
    assert.ok(!lines.some((line) => line.includes('still held by')), lines.join('\n'));
  });

  it('still lists what holds the event loop where the runtime says, less supervise’s own timer', async () => {
    const lines = await withActiveResourcesInfo(() => ['Timeout', 'Timeout', 'TCPWrap'], stuckShutdownLines);
    assert.ok(lines.includes('  the event loop is still held by: Timeout, TCPWrap'), lines.join('\n'));
  });
});

describe('NODE_DEBUG where debuglog() has no `enabled` (Bun)', () => {
  const bunLike = { enabled: undefined };

  it('reads NODE_DEBUG as Node does: a comma-separated list, case-insensitive, with * wildcards', () => {
    assert.equal(debugEnabled('supervise', bunLike, 'supervise'), true);
    assert.equal(debugEnabled('supervise', bunLike, 'http, SUPERVISE'), true);
    assert.equal(debugEnabled('supervise', bunLike, 'super*'), true);
    assert.equal(debugEnabled('supervise', bunLike, '*'), true);
    assert.equal(debugEnabled('supervise', bunLike, 'http,net'), false);
    assert.equal(debugEnabled('supervise', bunLike, 'supervisor'), false);
    assert.equal(debugEnabled('supervise', bunLike, 'super.ise'), false, 'a dot is a dot');
    assert.equal(debugEnabled('supervise', bunLike, ''), false);
    assert.equal(debugEnabled('supervise', bunLike, undefined), false);
  });

  it("trusts debuglog()'s own answer where it has one", () => {
    assert.equal(debugEnabled('supervise', { enabled: false }, 'supervise'), false);
    assert.equal(debugEnabled('supervise', { enabled: true }, ''), true);
    assert.equal(debugEnabled('supervise-spec-section-never-enabled'), debuglog('supervise-spec-section-never-enabled').enabled ?? false);
  });
});

describe("closeServer where 'connection' and 'secureConnection' give the same socket (Bun)", () => {
  it('counts the connection it destroys at the deadline once, and forces the exit code', async () => {
    const sup = new Supervisor({ signals: false, logger: false });
    const server = net.createServer(() => {});
    // What Bun's TLS server does: the socket of 'connection' is also the encrypted socket of 'secureConnection'.
    server.on('connection', (socket) => {
      Object.defineProperty(socket, 'encrypted', { value: true, configurable: true });
      server.emit('secureConnection', socket);
    });
    sup.adopt(server, closeServer.with({ timeout: 150 }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    client.on('error', () => {});
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await new Promise((resolve) => client.once('connect', resolve));
    const report = await sup.shutdown();
    await closed;
    assert.equal(report.exitCode, 124);
    assert.deepEqual(
      report.stragglers.map((s) => s.name),
      ['closeServer (forced: 1 connection(s) destroyed at the deadline)'],
    );
  });
});

describe('stopWorker on a worker that exited, where threadId stays set (Deno)', { timeout: 60_000 }, () => {
  it('finds no thread to terminate at its timeout, and reports nothing forced', async () => {
    const worker = new Worker('', { eval: true });
    const threadId = worker.threadId;
    await once(worker, 'exit');
    // What Deno does: the exited worker keeps its threadId, where Node sets it to -1.
    Object.defineProperty(worker, 'threadId', { value: threadId, configurable: true });
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 30_000 });
    sup.adopt(worker, stopWorker.with({ timeout: 200 }));
    const report = await sup.shutdown();
    assert.equal(report.exitCode, 0);
    assert.deepEqual(report.stragglers, []);
    assert.deepEqual(report.errors, []);
  });
});
