// W5, W6 and W7: what a shutdown costs past the deadline at scale, what it prints, and the churn
// of per-request children. Every figure comes from a fresh process (this file, with --measure),
// whose stderr is a pipe this harness reads and counts, as a log shipper would.
//
//   node benchmarks/scale.mjs [--runs=5] [--node=20,24] [--write]
//
// W5, the deadline overshoot: N tasks that never settle, shutdownTimeout 200 ms; the figure is
//     the time from shutdown() to the report, minus 200 ms. N = 1 000 to 1 000 000; variants: the
//     default logger, logger: false, spawn sites captured, and N tasks spread over 100 children.
// W6, failures at scale: 100 000 tasks that each reject when cancelled, under run(); the time
//     from the signal to run()'s report, and the lines and bytes printed on stderr.
// W7, per-request churn: N child supervisors made, then each shut down oldest first (what a
//     server does when requests finish in order); the time per child, N = 10 000 and 100 000.
//
// With --write, the tables replace the section between <!-- scale:start --> and <!-- scale:end -->
// in RESULTS.md (run.mjs keeps the section when it rewrites the file).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gitCommit } from './lib/provenance.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const TIMEOUT_MS = 200;
/** Where the tasks' wait ends: the deadline less the disposal reserve (a fifth of 200 ms). */
const TASKS_DEADLINE_MS = TIMEOUT_MS - Math.min(2_000, TIMEOUT_MS / 5);

if (process.argv[2] === '--measure') {
  await measure(process.argv[3], Number(process.argv[4]), process.argv[5]);
  process.exit(0);
}

const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [key, value = 'true'] = arg.replace(/^--/, '').split('=');
    return [key, value];
  }),
);
for (const key of Object.keys(args)) {
  if (!['runs', 'node', 'write'].includes(key)) {
    console.error(`unknown option --${key}; usage: node benchmarks/scale.mjs [--runs=5] [--node=20,24] [--write]`);
    process.exit(2);
  }
}
const runs = Number(args.runs ?? 5);
const majors = (args.node ?? '20,24').split(',');

/** One measurement in this fresh process; prints one line of JSON on stdout. */
async function measure(workload, n, variant) {
  const where = process.env.SUPERVISE_DIST ? pathToFileURL(process.env.SUPERVISE_DIST).href : pathToFileURL(join(root, 'dist/lib/index.js')).href;
  const { Supervisor, run } = await import(where);
  const never = () => new Promise(() => {});
  if (workload === 'W5') {
    const sup = new Supervisor({
      signals: false,
      shutdownTimeout: TIMEOUT_MS,
      ...(variant === 'logger-false' ? { logger: false } : {}),
      ...(variant === 'spawn-sites' ? { captureSpawnSites: true } : {}),
    });
    if (variant === 'children') {
      const children = Array.from({ length: 100 }, (_, c) => sup.child({ name: `request-${c}` }));
      for (let i = 0; i < n; i++) children[i % 100].spawn(never, { name: i % 7 === 0 ? 'poller' : 'worker' });
    } else {
      for (let i = 0; i < n; i++) sup.spawn(never, { name: i % 7 === 0 ? 'poller' : 'worker' });
    }
    await new Promise((resolve) => setImmediate(resolve));
    const start = performance.now();
    const report = await sup.shutdown();
    const ms = performance.now() - start;
    if (report.stragglers.length !== n) throw new Error(`${report.stragglers.length} stragglers, ${n} expected`);
    console.log(JSON.stringify({ shutdownMs: ms, overshootMs: ms - TIMEOUT_MS }));
  } else if (workload === 'W6') {
    let signalledAt = 0;
    const report = await run(
      (sup) => {
        for (let i = 0; i < n; i++) {
          sup.spawn(
            (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error(`job ${i % 10} failed to stop`)), { once: true })),
            { name: 'job' },
          );
        }
        setImmediate(() => {
          signalledAt = performance.now();
          process.kill(process.pid, 'SIGTERM');
        });
      },
      { name: 'W6', exit: false, shutdownTimeout: 10_000 },
    );
    const ms = performance.now() - signalledAt;
    if (report.errors.length !== n) throw new Error(`${report.errors.length} errors, ${n} expected`);
    console.log(JSON.stringify({ reportMs: ms }));
  } else if (workload === 'W7') {
    const sup = new Supervisor({ signals: false, logger: false });
    const children = Array.from({ length: n }, (_, c) => sup.child({ name: `request-${c}` }));
    const start = performance.now();
    for (const child of children) await child.shutdown();
    const ms = performance.now() - start;
    console.log(JSON.stringify({ nsPerChild: (ms * 1e6) / n }));
    await sup.shutdown();
  } else {
    throw new Error(`unknown workload ${workload}`);
  }
}

function nodeBinary(major) {
  if (`${process.versions.node.split('.')[0]}` === major) return process.execPath;
  return execFileSync(process.execPath, [join(root, 'scripts/ensure-node.mjs'), major], { encoding: 'utf8' }).trim();
}

/** Runs one measurement in a fresh process; resolves with its figures and what it wrote on stderr. */
function once(node, workload, n, variant) {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [fileURLToPath(import.meta.url), '--measure', workload, String(n), variant ?? ''], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let lines = 0;
    let bytes = 0;
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => {
      bytes += chunk.length;
      for (const byte of chunk) if (byte === 10) lines++;
    });
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${workload} ${n} ${variant}: exit ${code}; ${out}`));
      else resolve({ ...JSON.parse(out.trim().split('\n').at(-1)), stderrLines: lines, stderrBytes: bytes });
    });
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const fmt = (value, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const W5_SIZES = [1_000, 10_000, 100_000, 1_000_000];
const W5_VARIANTS = [
  ['default', 'default logger (stderr is a pipe)'],
  ['logger-false', '`logger: false`'],
  ['spawn-sites', '`captureSpawnSites: true`, default logger'],
  ['children', 'spread over 100 children, default logger'],
];
const started = performance.now();
const sections = [];
const verdicts = [];
for (const major of majors) {
  const node = nodeBinary(major);
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const w5 = new Map();
  for (let run = 0; run < runs; run++) {
    for (const n of W5_SIZES) {
      // Variants interleaved within each run, so that the machine's load falls on all alike.
      for (const [variant] of W5_VARIANTS) {
        if (variant === 'spawn-sites' && n > 100_000) continue; // a stack per task: 1 000 000 of them is a memory test, not this one
        const key = `${variant}/${n}`;
        if (!w5.has(key)) w5.set(key, []);
        w5.get(key).push(await once(node, 'W5', n, variant));
      }
    }
    process.stderr.write(`Node ${version}: W5 run ${run + 1}/${runs}\n`);
  }
  const w6 = [];
  for (let run = 0; run < runs; run++) w6.push(await once(node, 'W6', 100_000));
  const w7 = new Map([
    [10_000, []],
    [100_000, []],
  ]);
  for (let run = 0; run < runs; run++) for (const n of w7.keys()) w7.get(n).push(await once(node, 'W7', n));

  const lines = [`### Node ${version}`, ''];
  lines.push(
    `W5: overshoot past the 200 ms deadline (ms, median of runs; min … max; negative when the shutdown ended before it: tasks are waited for until ${TASKS_DEADLINE_MS} ms, the deadline less the disposal reserve, and the disposers had nothing to do), and what stderr received.`,
    '',
  );
  lines.push('| N | variant | overshoot ms | min … max | shutdown ms | stderr lines | stderr bytes |', '| ---: | --- | ---: | --- | ---: | ---: | ---: |');
  for (const n of W5_SIZES) {
    for (const [variant, label] of W5_VARIANTS) {
      const samples = w5.get(`${variant}/${n}`);
      if (samples === undefined) continue;
      const over = samples.map((s) => s.overshootMs);
      lines.push(
        `| ${fmt(n)} | ${label} | ${fmt(median(over), 1)} | ${fmt(Math.min(...over), 1)} … ${fmt(Math.max(...over), 1)} | ${fmt(median(samples.map((s) => s.shutdownMs)), 1)} | ${fmt(median(samples.map((s) => s.stderrLines)))} | ${fmt(median(samples.map((s) => s.stderrBytes)))} |`,
      );
    }
  }
  const shutdown = (variant, n) => median(w5.get(`${variant}/${n}`).map((s) => s.shutdownMs));
  const overshoot = (variant, n) => median(w5.get(`${variant}/${n}`).map((s) => s.overshootMs));
  const loggerRatio = Math.max(...W5_SIZES.map((n) => shutdown('default', n) / shutdown('logger-false', n)));
  // Growth of the work done past the tasks' deadline (the overshoot can be negative: with the
  // disposal reserve, a shutdown whose disposers have nothing to do ends before the deadline).
  const pastTasksDeadline = (n) => shutdown('logger-false', n) - TASKS_DEADLINE_MS;
  const growth = pastTasksDeadline(1_000_000) / Math.max(pastTasksDeadline(10_000), 0.1);
  const checks = [
    [`default logger shutdown <= 1.1x logger: false (worst N)`, `${fmt(loggerRatio, 3)}x`, loggerRatio <= 1.1],
    ['logger: false overshoot at N = 100 000 <= 50 ms', `${fmt(overshoot('logger-false', 100_000), 1)} ms`, overshoot('logger-false', 100_000) <= 50],
    [
      `time past the tasks' deadline (${TASKS_DEADLINE_MS} ms) grows no faster than N from 10 000 to 1 000 000 (ratio <= 100)`,
      `${fmt(pastTasksDeadline(10_000), 1)} ms to ${fmt(pastTasksDeadline(1_000_000), 1)} ms: ${fmt(growth, 1)}x for 100x the tasks`,
      growth <= 100,
    ],
    [
      'stderr at N = 1 000 000 within the bound (about 30 lines, 8 KB)',
      `${fmt(median(w5.get('default/1000000').map((s) => s.stderrLines)))} lines, ${fmt(median(w5.get('default/1000000').map((s) => s.stderrBytes)))} bytes`,
      median(w5.get('default/1000000').map((s) => s.stderrBytes)) <= 8 * 1024,
    ],
  ];
  lines.push('', '| target | measured | met |', '| --- | --- | --- |');
  for (const [target, measured, met] of checks) {
    lines.push(`| ${target} | ${measured} | ${met ? 'yes' : '**no**'} |`);
    verdicts.push(`Node ${version}: ${target}: ${measured}: ${met ? 'met' : 'MISSED'}`);
  }
  lines.push('', 'W6: 100 000 tasks that each reject when cancelled, under `run()`: time from SIGTERM to the report, and what stderr received.', '');
  lines.push('| report ms (median) | min … max | stderr lines | stderr bytes |', '| ---: | --- | ---: | ---: |');
  const w6ms = w6.map((s) => s.reportMs);
  lines.push(
    `| ${fmt(median(w6ms), 1)} | ${fmt(Math.min(...w6ms), 1)} … ${fmt(Math.max(...w6ms), 1)} | ${fmt(median(w6.map((s) => s.stderrLines)))} | ${fmt(median(w6.map((s) => s.stderrBytes)))} |`,
  );
  lines.push('', 'W7: per-request churn: N children shut down oldest first, time per child.', '');
  lines.push('| N | ns per child (median) | min … max |', '| ---: | ---: | --- |');
  for (const [n, samples] of w7) {
    const ns = samples.map((s) => s.nsPerChild);
    lines.push(`| ${fmt(n)} | ${fmt(median(ns))} | ${fmt(Math.min(...ns))} … ${fmt(Math.max(...ns))} |`);
  }
  const churnRatio = median(w7.get(100_000).map((s) => s.nsPerChild)) / median(w7.get(10_000).map((s) => s.nsPerChild));
  lines.push('', `Per child at 100 000 over per child at 10 000: ${fmt(churnRatio, 2)}x (1x is linear; a scan per departure made it grow with N).`, '');
  verdicts.push(`Node ${version}: W7 per-child cost ratio 100 000 / 10 000: ${fmt(churnRatio, 2)}x`);
  sections.push(lines.join('\n'));
}

const section = [
  '<!-- scale:start -->',
  '## W5-W7: past the deadline at scale, and per-request churn',
  '',
  `Written by \`node benchmarks/scale.mjs --runs=${runs} --node=${majors.join(',')}${args.write ? ' --write' : ''}\` on ${new Date().toISOString()} (${Math.round((performance.now() - started) / 1000)} s; commit ${gitCommit(root)}); do not edit by hand. One fresh process per figure; its stderr is a pipe that the harness reads and counts. Medians of ${runs} runs.`,
  '',
  ...sections,
  '<!-- scale:end -->',
].join('\n');
console.log(section);
console.log(verdicts.join('\n'));
if (args.write) {
  const file = join(root, 'benchmarks/RESULTS.md');
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf('<!-- scale:start -->');
  const end = text.indexOf('<!-- scale:end -->');
  writeFileSync(
    file,
    start >= 0 && end > start
      ? text.slice(0, start) + section + text.slice(end + '<!-- scale:end -->'.length)
      : text.replace('<!-- spawn-options:end -->', `<!-- spawn-options:end -->\n\n${section}`),
  );
}
