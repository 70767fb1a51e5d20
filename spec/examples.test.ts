import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import http from 'node:http';
import { killFixtures, startProgram, sendSignal, needs } from './helpers.js';

/** One GET on a fresh connection: status, body and the Connection header. */
function fetchText(port: number, path: string): Promise<{ status: number; body: string; connection: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body, connection: response.headers.connection ?? '' }));
      })
      .on('error', reject);
  });
}

after(killFixtures);

const root = new URL('../../', import.meta.url);
// The examples built next to this file: dist/examples for dist/spec, dist-esnext/examples for dist-esnext/spec.
const built = new URL('../examples/', import.meta.url);
const guard = { timeout: 120_000, concurrency: false };

describe('examples', { ...guard, skip: needs('posixSignals') }, () => {
  it('the README example is examples/readme.ts, word for word', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const example = readFileSync(new URL('examples/readme.ts', root), 'utf8');
    const block = /```ts(?: no_run)?\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.equal(block, example);
  });

  it('the README example shuts down in order on Ctrl-C', async () => {
    const program = startProgram(new URL('readme.js', built));
    await program.waitFor('1. running');
    sendSignal(program.child, 'SIGINT');
    const { code, stdout, stderr } = await program.exited();
    assert.equal(code, 0, stderr);
    assert.deepEqual(stdout.trim().split('\n'), [
      '1. running; press Ctrl-C',
      '2. every task sees its signal abort',
      '3. resources close last, newest first',
      '4. stopped by SIGINT, exit code 0',
    ]);
  });

  it('examples/daemon drains its HTTP server and prints each shutdown step in order on SIGTERM', async () => {
    const daemon = startProgram(new URL('daemon.js', built), { PORT: '0', DRAIN_DELAY: '300' });
    await daemon.waitFor('press Ctrl-C to stop');
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(daemon.stdout())![1]);
    assert.equal((await fetchText(port, '/ready')).status, 200);
    const slow = fetchText(port, '/slow');
    await new Promise((resolve) => setTimeout(resolve, 100));
    sendSignal(daemon.child, 'SIGTERM');
    await daemon.waitFor('shutdown began');
    assert.equal((await fetchText(port, '/ready')).status, 503, 'readiness fails during drainDelay');
    const { code, stdout, stderr } = await daemon.exited();
    assert.equal(code, 0, stderr);
    assert.deepEqual(await slow, { status: 200, body: 'slow response\n', connection: 'close' });
    const steps = stdout
      .trim()
      .split('\n')
      .map((line) => line.replace(/^\s*\+\d+ ms\s+/, ''));
    const position = (prefix: string) => {
      const index = steps.findIndex((line) => line.startsWith(prefix));
      assert.ok(index >= 0, `missing "${prefix}" in ${stdout}`);
      return index;
    };
    const order = [
      'shutdown began',
      'onShutdown: deregistering',
      'worker: stopped',
      'http: closing the server',
      'database: closing',
      'database: closed',
      'deferred: registered first',
    ];
    for (let i = 1; i < order.length; i++) assert.ok(position(order[i - 1]!) < position(order[i]!), `${order[i - 1]} before ${order[i]}`);
    assert.ok(position('heartbeat: stopped') < position('http: closing the server'));
    assert.match(stderr, /received SIGTERM, shutting down "daemon"/);
    assert.match(stderr, /"daemon" stopped in \d+ ms \(drain \d+ ms, tasks \d+ ms, disposal \d+ ms\): 2 cancelled, 0 stragglers, 0 errors; exit code 0/);
  });
});

describe('examples/run', { ...guard, skip: needs('posixSignals') }, () => {
  it('stops on SIGTERM: onShutdown, then the worker, then the queue; exit 0', async () => {
    const program = startProgram(new URL('run.js', built));
    await program.waitFor('worker: finished job a');
    sendSignal(program.child, 'SIGTERM');
    const { code, stdout, stderr } = await program.exited();
    assert.equal(code, 0, stderr);
    const out = stdout.trim().split('\n');
    assert.equal(out[0], 'main: started; press Ctrl-C to stop');
    const at = (line: string) => out.findIndex((l) => l.startsWith(line));
    assert.ok(at('onShutdown: tasks still running') > 0);
    assert.ok(at('onShutdown: tasks still running') < at('worker: stopped'));
    assert.ok(at('worker: stopped') < at('queue: closed with'));
    const finished = out.filter((l) => l.startsWith('worker: finished job')).length;
    assert.equal(out.at(-1), `queue: closed with ${5 - finished} jobs left`, 'no job lost or done twice');
    assert.match(stderr, /exit code 0/);
  });

  it('runs to the end by itself when the queue is empty only on a signal', async () => {
    const program = startProgram(new URL('run.js', built));
    await program.waitFor('worker: stopped');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(program.child.exitCode, null, 'run() keeps the daemon alive after its work is done');
    sendSignal(program.child, 'SIGINT');
    const { code, stdout } = await program.exited();
    assert.equal(code, 0);
    assert.match(stdout, /queue: closed with 0 jobs left/);
  });
});

describe('examples/diagnostics', { ...guard, skip: needs('posixSignals') }, () => {
  it('logs every supervise event as a JSON line: restarts, then the shutdown phases in order', async () => {
    const program = startProgram(new URL('diagnostics.js', built));
    for (let waited = 0; !program.stderr().includes('consumer: connected'); waited += 20) {
      assert.ok(waited < 60_000, `never connected; stdout: ${program.stdout()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    sendSignal(program.child, 'SIGTERM');
    const { code, stdout, stderr } = await program.exited();
    assert.equal(code, 0, stderr);
    const events = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const summary = events.map((e) => [e.event, e.task ?? e.phase ?? e.name ?? e.cause, e.state ?? e.restart ?? e.outcome ?? e.signal ?? e.exitCode].join(' '));
    // Before the signal, main's settle and the consumer's restarts interleave as microtasks run.
    assert.deepEqual(summary.slice(0, 5).sort(), [
      'task.restart consumer 1',
      'task.restart consumer 2',
      'task.settle main fulfilled',
      'task.spawn consumer ',
      'task.spawn main ',
    ]);
    assert.deepEqual(summary.slice(0, 2), ['task.spawn main ', 'task.spawn consumer ']);
    assert.ok(summary.indexOf('task.restart consumer 1') < summary.indexOf('task.restart consumer 2'));
    assert.deepEqual(summary.slice(5), [
      'shutdown.start signal SIGTERM',
      'shutdown.phase drain ',
      'task.settle consumer cancelled',
      'shutdown.phase tasks ',
      'shutdown.dispose closeDatabase disposed',
      'shutdown.phase dispose ',
      'shutdown.end  0',
    ]);
    assert.equal(events.find((e) => e.event === 'task.restart')!.error, 'Error: connection refused (attempt 1)');
    assert.ok(events.every((e) => e.supervisor === 'app'));
  });
});
