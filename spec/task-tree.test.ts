import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Supervisor } from '../lib/index.js';
import { formatTree } from '../lib/task-tree.js';
import { aborted, deferred, quiet, needs } from './helpers.js';

const guard = { timeout: 30_000 };

describe('sup.tasks()', guard, () => {
  it('lists pending tasks with id, name, state, age and shield, and child supervisors as a tree', async () => {
    const root = quiet({ name: 'app' });
    const gate = deferred();
    const worker = root.spawn(async function worker() {
      await gate.promise;
    });
    const flush = root.spawn(async () => gate.promise, { name: 'flush', shield: true });
    root.spawn(() => 'done at once');
    const jobs = root.child({ name: 'jobs' });
    const job = jobs.spawn(async (signal) => aborted(signal), { name: 'job' });
    const stopped = root.child({ name: 'stopped early' });
    await stopped.shutdown();
    const leaf = jobs.child({ name: 'leaf' });
    await sleep(20);

    const tree = root.tasks();
    assert.equal(tree.name, 'app');
    assert.equal(tree.state, 'running');
    assert.deepEqual(
      tree.tasks.map(({ ageMs: _, ...rest }) => rest),
      [
        { id: worker.id, name: 'worker', state: 'running', restarts: 0, shielded: false },
        { id: flush.id, name: 'flush', state: 'running', restarts: 0, shielded: true },
      ],
    );
    assert.ok(tree.tasks.every((task) => task.ageMs >= 10 && task.ageMs < 20_000));
    assert.deepEqual(
      tree.children.map((child) => child.name),
      ['jobs'],
    );
    assert.deepEqual(
      tree.children[0]!.tasks.map((task) => task.id),
      [job.id],
    );
    assert.deepEqual(
      tree.children[0]!.children.map((child) => [child.name, child.tasks.length, child.children.length]),
      [['leaf', 0, 0]],
    );
    assert.equal(leaf.state, 'running');

    gate.resolve();
    await Promise.all([worker, flush]);
    assert.deepEqual(root.tasks().tasks, [], 'settled tasks leave the tree');
    await root.shutdown();
    assert.deepEqual(root.tasks(), { name: 'app', state: 'stopped', tasks: [], children: [] });
  });

  it('formats as an indented tree, one line a task or supervisor', () => {
    const text = formatTree({
      name: 'app',
      state: 'running',
      tasks: [{ id: 1, name: 'worker', state: 'running', ageMs: 5034, restarts: 2, shielded: false }],
      children: [
        {
          name: 'app/1',
          state: 'stopping',
          tasks: [{ id: 3, name: 'flush', state: 'running', ageMs: 10, restarts: 0, shielded: true }],
          children: [],
        },
      ],
    });
    assert.equal(
      text,
      [
        'supervisor "app" running, 1 task',
        '├─ #1 "worker" running, 5034 ms, 2 restart(s)',
        '└─ supervisor "app/1" stopping, 1 task',
        '   └─ #3 "flush" running (shielded), 10 ms',
      ].join('\n'),
    );
  });
});

describe('dumpSignal', { ...guard, skip: needs('posixSignals') }, () => {
  it('prints the tree to stderr on its signal and stops nothing; the listener goes with the supervisor', async () => {
    const before = process.listenerCount('SIGUSR2');
    const sup = quiet({ name: 'dumped', dumpSignal: 'SIGUSR2' });
    sup.spawn(async (signal) => aborted(signal), { name: 'long-running' });
    assert.equal(process.listenerCount('SIGUSR2'), before + 1);
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof process.stderr.write;
    // `node --test` on Node 24+ turns on report-on-signal, whose signal is SIGUSR2: without this, the
    // signal would also write a diagnostic report file into the working directory.
    const report = process.report as { reportOnSignal?: boolean } | undefined;
    const reportOnSignal = report?.reportOnSignal;
    if (reportOnSignal === true) report!.reportOnSignal = false;
    try {
      process.kill(process.pid, 'SIGUSR2');
      for (let i = 0; i < 200 && written.length === 0; i++) await sleep(10);
    } finally {
      process.stderr.write = write;
      if (reportOnSignal === true) report!.reportOnSignal = true;
    }
    assert.match(written.join(''), /^supervisor "dumped" running, 1 task\n└─ #\d+ "long-running" running, \d+ ms\n$/);
    assert.equal(sup.state, 'running');
    await sup.shutdown();
    assert.equal(process.listenerCount('SIGUSR2'), before);
  });

  it('is checked at the call', () => {
    assert.throws(() => quiet({ dumpSignal: 'SIGNOPE' as NodeJS.Signals }), { code: 'ERR_UNKNOWN_SIGNAL' });
    assert.throws(() => new Supervisor({ logger: false, signals: ['SIGTERM', 'SIGUSR2'], dumpSignal: 'SIGUSR2' }), TypeError);
  });
});
