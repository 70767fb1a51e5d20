import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { killFixtures, startProgram } from './helpers.js';

after(killFixtures);

const root = new URL('../../', import.meta.url);
const guard = { timeout: 120_000, concurrency: false };

describe('examples', guard, () => {
  it('the README example is examples/readme.ts, word for word', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const example = readFileSync(new URL('examples/readme.ts', root), 'utf8');
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.equal(block, example);
  });

  it('the README example shuts down in order on Ctrl-C', async () => {
    const program = startProgram(new URL('examples/readme.js', new URL('dist/', root)));
    await program.waitFor('1. running');
    program.child.kill('SIGINT');
    const { code, stdout, stderr } = await program.exited();
    assert.equal(code, 0, stderr);
    assert.deepEqual(stdout.trim().split('\n'), [
      '1. running; press Ctrl-C',
      '2. every task sees its signal abort',
      '3. resources close last, newest first',
      '4. stopped by SIGINT, exit code 0',
    ]);
  });

  it('examples/daemon prints each shutdown step in order on SIGTERM and exits 0', async () => {
    const daemon = startProgram(new URL('examples/daemon.js', new URL('dist/', root)));
    await daemon.waitFor('running with 3 tasks');
    daemon.child.kill('SIGTERM');
    const { code, stdout, stderr } = await daemon.exited();
    assert.equal(code, 0, stderr);
    const steps = stdout
      .trim()
      .split('\n')
      .map((line) => line.replace(/^\s*\+\d+ ms\s+/, '').replace(/\d+/g, 'N'));
    const position = (prefix: string) => {
      const index = steps.findIndex((line) => line.startsWith(prefix));
      assert.ok(index >= 0, `missing "${prefix}" in ${stdout}`);
      return index;
    };
    assert.ok(position('flush: shutdown began') < position('flush: done'));
    for (const task of ['worker: stopped', 'heartbeat: stopped', 'flush: done']) {
      assert.ok(position(task) < position('database: closing'), `${task} before the database closes`);
    }
    assert.ok(position('database: closing') < position('database: closed'));
    assert.ok(position('database: closed') < position('deferred: registered first'));
    assert.equal(steps.at(-1), 'stopped (signal SIGTERM) in N ms: N cancelled, N stragglers, N errors, exit N');
    assert.match(stdout, /: 2 cancelled, 0 stragglers, 0 errors, exit 0/);
    assert.match(stderr, /received SIGTERM, shutting down "daemon"/);
  });
});

describe('examples/run', guard, () => {
  it('stops on SIGTERM: onShutdown, then the worker, then the queue; exit 0', async () => {
    const program = startProgram(new URL('examples/run.js', new URL('dist/', root)));
    await program.waitFor('worker: finished job a');
    program.child.kill('SIGTERM');
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
    const program = startProgram(new URL('examples/run.js', new URL('dist/', root)));
    await program.waitFor('worker: stopped');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(program.child.exitCode, null, 'run() keeps the daemon alive after its work is done');
    program.child.kill('SIGINT');
    const { code, stdout } = await program.exited();
    assert.equal(code, 0);
    assert.match(stdout, /queue: closed with 0 jobs left/);
  });
});
