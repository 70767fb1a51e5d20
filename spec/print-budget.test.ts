// What is printed stays bounded at any size, with the counts right; what is reported stays
// complete. These tests assert line and byte counts, never times (a generous hang guard only).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { Supervisor } from '../lib/index.js';
import { PrintBudget, groupByName } from '../lib/print-budget.js';
import { formatTree } from '../lib/task-tree.js';
import { runForTest, simulateSignal } from '../lib/testing.js';
import { killFixtures, recordingLogger, startProgram, sendSignal, needs } from './helpers.js';

after(killFixtures);

const stuck = () => new Promise<void>(() => {});

/** A logger that keeps every line of every call, as a stream would receive them. */
function capture() {
  const calls: string[] = [];
  const record = (...data: unknown[]) => void calls.push(data.map(String).join(' '));
  return { calls, logger: { warn: record, error: record }, text: () => calls.join('\n') };
}

function bytes(text: string): number {
  return Buffer.byteLength(`${text}\n`);
}

describe('PrintBudget and groupByName', () => {
  it('groups in one pass, largest group first, keeping the first three of each and the oldest age', () => {
    const items = [
      { id: 1, name: 'a', ageMs: 50 },
      { id: 2, name: 'b', ageMs: 40 },
      { id: 3, name: 'b', ageMs: 30 },
      { id: 4, name: 'b', ageMs: 20 },
      { id: 5, name: 'b', ageMs: 10 },
    ];
    const groups = groupByName(items);
    assert.deepEqual(
      groups.map((g) => [g.name, g.count, g.oldestMs, g.first.map((t) => t.id)]),
      [
        ['b', 4, 40, [2, 3, 4]],
        ['a', 1, 50, [1]],
      ],
    );
  });

  it('takes lines while they fit in lines and bytes, and all-or-nothing with takeAll', () => {
    const budget = new PrintBudget(3, 1_000, 0);
    assert.equal(budget.takeAll('x'.repeat(10), 'y'.repeat(10)), true);
    assert.equal(budget.takeAll('x', 'y'), false, 'two lines do not fit in one');
    assert.equal(budget.take('z'.repeat(2_000)), false, 'too many bytes');
    assert.equal(budget.take('z'), true);
    assert.equal(budget.exhausted, true);
  });
});

describe('the stuck-task log of one shutdown is bounded, the report complete', { timeout: 120_000, skip: needs('posixSignals') }, () => {
  it('100 000 stragglers under 99 990 names, and 100 children: at most 30 lines and 8 KB, counts right', async () => {
    const log = capture();
    const sup = new Supervisor({ signals: false, logger: log.logger, shutdownTimeout: 100, disposeReserve: 0, captureSpawnSites: true });
    for (let i = 0; i < 100_000; i++) sup.spawn(stuck, { name: i < 10 ? 'worker' : `job-${i}` });
    for (let c = 0; c < 100; c++) {
      const child = sup.child({ name: `request-${c}` });
      for (let i = 0; i < 10; i++) child.spawn(stuck, { name: 'lookup' });
    }
    const report = await sup.shutdown();
    assert.equal(report.stragglers.length, 101_000, 'report.stragglers is complete');
    assert.equal(new Set(report.stragglers.map((s) => s.id)).size, 101_000);
    const text = log.text();
    const lines = text.split('\n');
    assert.ok(lines.length <= 30, `${lines.length} lines`);
    assert.ok(bytes(text) <= 8 * 1024, `${bytes(text)} bytes`);
    assert.match(text, /"supervisor" shutdown deadline passed with 100 000 tasks still pending:/);
    assert.match(text, /  - "worker" ×10, oldest \d+ ms: #\d+, #\d+, #\d+, …/);
    // What no line lists is counted, and the counts add up.
    const rest = /… and (\d[\d ]*) more tasks under (\d[\d ]*) other names/.exec(text);
    assert.ok(rest, text);
    const listedGroups = [...text.matchAll(/^ {2}- "job-\d+" \(#\d+\)/gm)].length;
    assert.equal(Number(rest[1]!.replace(/ /g, '')) + listedGroups + 10, 100_000);
    assert.equal(Number(rest[2]!.replace(/ /g, '')) + listedGroups + 1, 99_991);
    const closing = /"supervisor": (\d[\d ]*) more stuck tasks in (\d+) more supervisors not listed/.exec(text);
    assert.ok(closing, text);
    const childrenListed = [...text.matchAll(/"request-\d+" shutdown deadline passed with 10 tasks still pending/g)].length;
    assert.equal(Number(closing[2]) + childrenListed, 100);
    assert.equal(Number(closing[1]!.replace(/ /g, '')), (100 - childrenListed) * 10);
  });

  it('under run(), a child process with 100 000 stuck tasks exits 124 with a bounded log, the summary saying how many were left out', async () => {
    const fixture = startProgram(new URL('./fixtures/stuck-daemon.js', import.meta.url), { TASKS: '100000', CHILDREN: '50' });
    await fixture.waitFor('ready\n', 60_000);
    sendSignal(fixture.child, 'SIGTERM');
    const { code, signal, stderr } = await fixture.exited(90_000);
    assert.equal(signal, null);
    assert.equal(code, 124, stderr);
    const lines = stderr.trimEnd().split('\n');
    // The log of the shutdown: from the signal line to the summary line, both included.
    assert.ok(lines.length <= 32, `${lines.length} lines:\n${stderr}`);
    assert.ok(bytes(stderr) <= 9 * 1024, `${bytes(stderr)} bytes`);
    const summary = /"stuck" stopped in .*: 100050 cancelled, 100050 stragglers \((\d+) not listed\), 0 errors; exit code 124$/.exec(lines.at(-1)!);
    assert.ok(summary, lines.at(-1));
    const closing = /"stuck": (\d+) more stuck tasks in (\d+) more supervisors not listed/.exec(stderr);
    assert.ok(closing, stderr);
    assert.equal(closing[1], summary[1], 'the summary counts what the log left out');
    const childrenListed = [...stderr.matchAll(/"request-\d+" shutdown deadline passed with 1 task still pending/g)].length;
    assert.equal(Number(closing[2]) + childrenListed, 50);
  });
});

describe('the dumpSignal printout is bounded', () => {
  it('100 000 tasks in one supervisor and 1 000 children: at most 51 lines and 8 KB, what is left out counted', () => {
    const tasks = Array.from({ length: 100_000 }, (_, i) => ({
      id: i + 1,
      name: i % 2 ? 'odd' : 'even',
      state: 'running' as const,
      ageMs: 5,
      restarts: 0,
      shielded: false,
    }));
    const children = Array.from({ length: 1_000 }, (_, c) => ({ name: `child-${c}`, state: 'running' as const, tasks: [tasks[c]!], children: [] }));
    const text = formatTree({ name: 'app', state: 'running', tasks, children });
    const lines = text.split('\n');
    assert.ok(lines.length <= 51, `${lines.length} lines`);
    assert.ok(bytes(text) <= 8 * 1024 + 200, `${bytes(text)} bytes`);
    assert.equal(lines[0], 'supervisor "app" running, 100 000 tasks');
    assert.match(lines[1]!, /^├─ "even" ×50 000, oldest 5 ms: #1, #3, #5, …$/);
    const shownChildren = lines.filter((line) => /supervisor "child-\d+"/.test(line)).length;
    const hidden = /^… (\d[\d ]*) more tasks? and (\d[\d ]*) more supervisors? not shown/.exec(lines.at(-1)!);
    assert.ok(hidden, lines.at(-1));
    assert.equal(Number(hidden[2]!.replace(/ /g, '')) + shownChildren, 1_000);
  });
});

describe('a forced exit says what it cut short', { timeout: 30_000 }, () => {
  it('the disposer being waited for, in a child whose disposal its parent waits for, and the tasks, grouped and bounded', async () => {
    const logger = recordingLogger();
    let release!: () => void;
    const hung = new Promise<void>((resolve) => (release = resolve));
    const program = runForTest(
      (sup) => {
        const scope = sup.child({ name: 'jobs' });
        scope.defer(function flushQueue() {
          return hung;
        });
        for (let i = 0; i < 50_000; i++)
          sup.spawn((signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })), { name: 'polite' });
      },
      { name: 'api', logger, signals: ['SIGTERM'], shutdownTimeout: 60_000 },
    );
    await new Promise((resolve) => setImmediate(resolve));
    simulateSignal(program.supervisor, 'SIGTERM');
    // Phase 3: the root waits for its child "jobs", which waits for its disposer.
    for (let i = 0; i < 2_000 && program.supervisor.tasks().children[0]?.state !== 'stopping'; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    const tree = program.supervisor.tasks();
    assert.deepEqual(
      tree.children.map((child) => [child.name, child.state]),
      [['jobs', 'stopping']],
      'the child being disposed is still in the tree',
    );
    assert.equal(simulateSignal(program.supervisor, 'SIGTERM'), 143);
    assert.equal(await program.exitCode, 143);
    const line = logger.lines.find((text) => text.includes('exiting at once'));
    assert.ok(line, logger.lines.join('\n'));
    assert.match(
      line,
      /received SIGTERM again during shutdown of "api", exiting at once; still pending: 0 tasks, 1 disposer\n {2}- disposer "flushQueue" of "jobs", running for \d+ ms$/,
    );
    release();
    await program.report;
  });

  it('50 000 pending tasks under 50 000 names: the forced-exit log stays within the bound', async () => {
    const logger = recordingLogger();
    const program = runForTest(
      (sup) => {
        for (let i = 0; i < 50_000; i++) sup.spawn(() => new Promise<void>(() => {}), { name: `job-${i}` });
      },
      { name: 'api', logger, signals: ['SIGTERM'], shutdownTimeout: 500 },
    );
    await new Promise((resolve) => setImmediate(resolve));
    simulateSignal(program.supervisor, 'SIGTERM');
    assert.equal(simulateSignal(program.supervisor, 'SIGTERM'), 143);
    const line = logger.lines.find((text) => text.includes('exiting at once'))!;
    assert.ok(line.split('\n').length <= 31, `${line.split('\n').length} lines`);
    assert.ok(bytes(line) <= 8 * 1024);
    assert.match(line, /still pending: 50 000 tasks\n/);
    const rest = /… and (\d[\d ]*) more tasks under (\d[\d ]*) other names$/.exec(line);
    assert.ok(rest, line);
    const listed = line.split('\n').length - 2;
    assert.equal(Number(rest[1]!.replace(/ /g, '')) + listed, 50_000);
    await program.report; // the deadline ends it
  });
});

describe('writes that do not hold up the exit', { timeout: 120_000 }, () => {
  it('stderr a pipe whose reader stalls: 100 000 stuck tasks, and the daemon has exited, its whole log written, before the reader reads a byte', async () => {
    const file = fileURLToPath(new URL('./fixtures/stuck-daemon.js', import.meta.url));
    // The daemon's stderr goes to a reader that sleeps 3 s before it reads anything; the shell
    // says when the daemon has exited. Order, not time: "exit=124" must come while the reader
    // still sleeps, so before any of the log, which must then be complete.
    const script = `"${process.execPath}" "${file}" 2> >(sleep 3; cat >&2); echo "exit=$?"`;
    const child = spawn('bash', ['-c', script], { env: { ...process.env, TASKS: '100000', SELF_TERM: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let errWhenExited: string | undefined;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (errWhenExited === undefined && out.includes('exit=')) errWhenExited = err;
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const guard = setTimeout(() => child.kill('SIGKILL'), 90_000);
    try {
      await new Promise((resolve) => child.once('close', resolve));
    } finally {
      clearTimeout(guard);
    }
    assert.match(out, /ready\nexit=124\n/);
    assert.equal(errWhenExited, '', 'the daemon exited before its log reader read anything');
    assert.match(err, /"stuck" stopped in .*100000 stragglers.*exit code 124\n$/, 'the summary line is the last thing written');
    assert.ok(bytes(err) <= 9 * 1024, `${bytes(err)} bytes`);
  });
});
