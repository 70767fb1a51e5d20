#!/usr/bin/env node
// Issue 4's benchmark harness: runs every measurement in a fresh process (measure.mjs), systems
// interleaved, on Node 20 and Node 24, takes medians, and rewrites benchmarks/RESULTS.md.
//
//   npm run bench                        full run, both Node versions (~15 min on 2 cores)
//   npm run bench -- --quick             1 run, N = 10 000, churn of 100 000: a few minutes, for development
//   node benchmarks/run.mjs [options]    after `npm run build` and `npm --prefix benchmarks ci`
//
// Options: --quick, --node=20,24, --runs=5, --n=1000,10000,100000, --systems=a,b (filter),
//          --workloads=W1,W2,W3,W4,S,D (filter; D: the diagnostics-channel comparison alone), --out=file.md (default RESULTS.md; RESULTS-quick.md
//          for --quick or any filter). Exit code 1 when a measurement failed its checks.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitCommit, packageVersion } from './lib/provenance.mjs';
import { list, parseOptions } from './lib/cli.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const measureScript = join(here, 'measure.mjs');

// ---------------------------------------------------------------------------------------------
// Options

const { args, usage } = parseOptions(
  process.argv.slice(2),
  ['quick', 'node', 'runs', 'n', 'systems', 'workloads', 'out', 'help'],
  'run.mjs',
  'usage: node benchmarks/run.mjs [--quick] [--node=20,24] [--runs=5] [--n=1000,10000,100000] [--systems=a,b] [--workloads=W1,W2,W3,W4,S,D] [--out=file.md]',
);
const quick = args.quick === true;
const config = {
  quick,
  nodes: list(args.node ?? '20,24'),
  runs: Number(args.runs ?? (quick ? 1 : 5)),
  /** W4 is timer-bound and stable; its sequential peers take seconds a run. */
  layerRuns: Number(args.runs ?? (quick ? 1 : 3)),
  /** effection takes ~10 s a process at N = 100 000 (~40 µs a task): fewer runs keep the total near 15 min. */
  effectionRuns: Number(args.runs ?? (quick ? 1 : 3)),
  sizes: list(args.n ?? (quick ? '10000' : '1000,10000,100000')).map(Number),
  churn: quick ? 100_000 : 1_000_000,
  /** effection runs a churn task in ~50 µs: it churns fewer tasks (its rate is still per task). */
  churnEffection: quick ? 20_000 : 100_000,
  signalN: 100_000,
  systems: args.systems ? list(args.systems) : undefined,
  workloads: args.workloads ? list(args.workloads) : undefined,
};
const filtered = quick || args.n || args.runs || args.systems || args.workloads || args.node;
const outFile = resolve(args.out ?? join(here, filtered ? 'RESULTS-quick.md' : 'RESULTS.md'));
for (const n of config.sizes) if (!Number.isInteger(n) || n <= 0 || n % 1 !== 0) usage(`bad --n ${n}`);
if (!(config.runs >= 1)) usage('bad --runs');
const TARGET_N = Math.max(...config.sizes);
const CHILD_TIMEOUT_MS = 300_000;

// ---------------------------------------------------------------------------------------------
// Systems and workloads

const SIGNAL = ['supervise', 'floor', 'floor-shared-reason'];
const NOSIGNAL = ['supervise-nosignal', 'floor-nosignal'];
const PEERS = ['effection', 'effect-fiberset', 'effect-scope'];
const EFFECT = ['effect-fiberset', 'effect-scope'];
/** supervise-nosignal with a subscriber on every diagnostics channel: informational, no target. */
const OBSERVED = ['supervise-observed'];

/**
 * The tables of RESULTS.md; `own` systems are measured for it, `reuse` come from another workload's cells.
 * The `group: 'D'` rows measure supervise-observed next to supervise-nosignal, whose cells they share with
 * W1b/W2b/W3b (plan() measures a system's cell once): they make the diagnostics-channel table, not a table of their own.
 */
const WORKLOADS = [
  { id: 'W1', workload: 'shutdown', metric: 'shutdownNsPerTask', own: [...SIGNAL, ...PEERS], floor: 'floor-shared-reason', sizes: 'sizes' },
  {
    id: 'W2',
    workload: 'spawn',
    metric: 'spawnNsPerTask',
    extra: 'heapBytesPerTask',
    own: [...SIGNAL, ...PEERS],
    floor: 'floor-shared-reason',
    sizes: 'sizes',
  },
  { id: 'W3', workload: 'churn', metric: 'churnNsPerTask', own: ['supervise', 'floor', ...PEERS], floor: 'floor', sizes: 'churn' },
  { id: 'W4', workload: 'layers', metric: 'layersMs', own: ['supervise', 'floor-shared-reason', ...PEERS], floor: 'floor-shared-reason', sizes: 'layers' },
  { id: 'W1b', workload: 'shutdown', metric: 'shutdownNsPerTask', own: NOSIGNAL, reuse: PEERS, floor: 'floor-nosignal', sizes: 'sizes', parent: 'W1' },
  {
    id: 'W2b',
    workload: 'spawn',
    metric: 'spawnNsPerTask',
    extra: 'heapBytesPerTask',
    own: NOSIGNAL,
    reuse: PEERS,
    floor: 'floor-nosignal',
    sizes: 'sizes',
    parent: 'W2',
  },
  { id: 'W3b', workload: 'churn', metric: 'churnNsPerTask', own: NOSIGNAL, reuse: PEERS, floor: 'floor-nosignal', sizes: 'churn', parent: 'W3' },
  { id: 'W1d', workload: 'shutdown', own: ['supervise-nosignal', ...OBSERVED], sizes: 'sizes', parent: 'W1', group: 'D' },
  { id: 'W2d', workload: 'spawn', own: ['supervise-nosignal', ...OBSERVED], sizes: 'sizes', parent: 'W2', group: 'D' },
  { id: 'W3d', workload: 'churn', own: ['supervise-nosignal', ...OBSERVED], sizes: 'churn', parent: 'W3', group: 'D' },
  { id: 'S', workload: 'signal-cost', own: ['shared', 'default'], sizes: 'signal' },
];

function sizesOf(w, system) {
  if (w.sizes === 'sizes') return config.sizes;
  if (w.sizes === 'churn') return [system === 'effection' ? config.churnEffection : config.churn];
  if (w.sizes === 'layers') return [1, 3];
  return [config.signalN];
}
function wanted(w) {
  return !config.workloads || config.workloads.includes(w.id) || config.workloads.includes(w.parent ?? '') || config.workloads.includes(w.group ?? '');
}
function wantedSystem(system) {
  return !config.systems || config.systems.includes(system) || ['shared', 'default'].includes(system);
}

/** Every measurement cell (system x workload x n), in interleaving order: cell groups, systems inside. */
function plan() {
  const groups = new Map(); // `${workload}|${n}` -> systems, in order
  for (const w of WORKLOADS) {
    if (!wanted(w)) continue;
    for (const system of w.own) {
      if (!wantedSystem(system)) continue;
      for (const n of sizesOf(w, system)) {
        const key = `${w.workload}|${w.sizes === 'churn' ? 'churn' : n}`;
        if (!groups.has(key)) groups.set(key, []);
        const cells = groups.get(key);
        if (!cells.some((c) => c.system === system && c.n === n)) cells.push({ system, workload: w.workload, n });
      }
    }
  }
  return [...groups.values()];
}

// ---------------------------------------------------------------------------------------------
// Running

function nodeBinary(major) {
  if (process.versions.node.split('.')[0] === major) return process.execPath;
  return execFileSync(process.execPath, [join(root, 'scripts', 'ensure-node.mjs'), major], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

function measure(bin, cell) {
  const argv = ['--expose-gc', '--max-old-space-size=4096', measureScript, cell.system, cell.workload, String(cell.n)];
  const child = spawnSync(bin, argv, { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, cwd: root, maxBuffer: 16 << 20 });
  const line = child.stdout?.trim().split('\n').pop();
  if (child.status === 0 && line) {
    const result = JSON.parse(line);
    const m = result.metrics;
    if (m.tasksPerSec !== undefined) m.churnNsPerTask = 1e9 / m.tasksPerSec;
    return { ok: true, metrics: m, node: result.node };
  }
  const why = child.error ? String(child.error) : `exit ${child.status ?? child.signal}`;
  const stderr = (child.stderr ?? '').trim();
  console.error(`\n!!! MEASUREMENT FAILED: ${cell.system} ${cell.workload} n=${cell.n} (${why})\n${stderr}\n`);
  return { ok: false, error: `${why}: ${stderr.split('\n').find((l) => l.includes('CHECK FAILED') || l.includes('Error')) ?? stderr.split('\n')[0] ?? ''}` };
}

function headline(cell, m) {
  if (!m) return 'FAILED';
  if (cell.workload === 'shutdown') return `${fmt(m.shutdownNsPerTask)} ns/task`;
  if (cell.workload === 'spawn') return `${fmt(m.spawnNsPerTask)} ns/task, ${fmt(m.heapBytesPerTask)} B/task`;
  if (cell.workload === 'churn') return `${fmt(m.tasksPerSec)} tasks/s, heap ${signed(m.heapGrowthBytes)} B`;
  if (cell.workload === 'layers') return m.layersMs === null ? `> ${m.cappedAtMs} ms (${m.cleanupsAtCap}/${m.tasks})` : `${fmt(m.layersMs)} ms`;
  return `${fmt(m.totalNsPerSignal)} ns/signal`;
}

// The library under test: a snapshot of dist/lib taken now, so that a rebuild by someone else during
// the run (\`npm run build\` starts with \`rm -rf dist\`) changes nothing.
const distLib = join(root, 'dist', 'lib');
if (!existsSync(join(distLib, 'index.js'))) {
  console.error('run.mjs: dist/lib/index.js is missing: run `npm run build` first (`npm run bench` does)');
  process.exit(2);
}
const snapshot = join(here, '.snapshot', 'lib');
rmSync(snapshot, { recursive: true, force: true });
mkdirSync(snapshot, { recursive: true });
cpSync(distLib, snapshot, { recursive: true, filter: (src) => !/\.(d\.ts|map)$/.test(src) });
const distHash = createHash('sha256');
for (const file of readdirSync(snapshot).sort()) if (file.endsWith('.js')) distHash.update(file).update(readFileSync(join(snapshot, file)));
const distDigest = distHash.digest('hex').slice(0, 12);
process.env.SUPERVISE_DIST = join(snapshot, 'index.js');

const startedAt = new Date();
const t0 = Date.now();
const groups = plan();
const results = {}; // major -> { bin, version, load, samples: { key: [metrics|null] }, failures: [] }
let failures = 0;

for (const major of config.nodes) {
  const bin = nodeBinary(major);
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  const state = (results[major] = { bin, version, loadBefore: os.loadavg(), samples: {}, failures: [], startedMs: Date.now() });
  const runsOf = (cell) => Math.min(cell.workload === 'layers' ? config.layerRuns : config.runs, cell.system === 'effection' ? config.effectionRuns : Infinity);
  const maxRuns = Math.max(config.runs, config.layerRuns, config.effectionRuns);
  for (let run = 1; run <= maxRuns; run++) {
    for (const cells of groups) {
      for (const cell of cells) {
        if (run > runsOf(cell)) continue;
        const r = measure(bin, cell);
        const key = `${cell.system}|${cell.workload}|${cell.n}`;
        (state.samples[key] ??= []).push(r.ok ? r.metrics : null);
        if (!r.ok) {
          failures++;
          state.failures.push(`${key} run ${run}: ${r.error}`);
        }
        const elapsed = ((Date.now() - t0) / 1000).toFixed(0);
        console.error(
          `[${elapsed.padStart(4)} s] node ${major} run ${run}/${runsOf(cell)}  ${cell.workload.padEnd(11)} n=${String(cell.n).padEnd(7)} ${cell.system.padEnd(19)} ${headline(cell, r.ok ? r.metrics : undefined)}`,
        );
      }
    }
  }
  state.loadAfter = os.loadavg();
  state.durationS = (Date.now() - state.startedMs) / 1000;
}

// ---------------------------------------------------------------------------------------------
// Statistics

function stats(values) {
  const v = values.filter((x) => x !== undefined && x !== null && !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], count: v.length };
}
/** Samples of one metric; a capped W4 run counts as +Infinity. */
function sample(major, system, workload, n, metric) {
  const runs = results[major]?.samples[`${system}|${workload}|${n}`];
  if (!runs) return undefined;
  const values = runs.map((m) => (m === null ? null : metric === 'layersMs' && m.layersMs === null ? Infinity : m[metric]));
  const s = stats(values);
  if (s) s.failed = runs.length - s.count;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Formatting

function fmt(x, digits) {
  if (x === undefined || x === null || Number.isNaN(x)) return '–';
  if (x === Infinity) return '∞';
  const d = digits ?? (Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2);
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}
function signed(x) {
  return (x > 0 ? '+' : '') + fmt(x, 0);
}
function ratio(a, b) {
  if (a === undefined || b === undefined || !(b > 0)) return '–';
  if (a === Infinity) return b === Infinity ? '–' : '∞';
  return `${(a / b).toFixed(2)}x`;
}
function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((h) => (/^(system|N|target|what|workload)/i.test(h) ? '---' : '---:'))), ...rows.map(line)].join('\n');
}
function layerCell(s, major, system, n) {
  if (!s) return '–';
  if (s.median !== Infinity) return fmt(s.median);
  const runs = results[major].samples[`${system}|layers|${n}`].filter(Boolean);
  const done = runs.map((m) => m.cleanupsAtCap).filter((x) => x !== undefined);
  return `> ${fmt(runs[0]?.cappedAtMs ?? 0, 0)} (${Math.max(...done)}/${runs[0]?.tasks} cleanups done)`;
}

function bestPeer(major, workload, n, metric, peers = PEERS) {
  let best;
  for (const p of peers) {
    const s = sample(major, p, workload, p === 'effection' && workload === 'churn' ? config.churnEffection : n, metric);
    if (s && (best === undefined || s.median < best.stats.median)) best = { system: p, stats: s };
  }
  return best;
}
function churnN(system) {
  return system === 'effection' ? config.churnEffection : config.churn;
}

function workloadSection(major, w) {
  const systems = [...w.own, ...(w.reuse ?? [])].filter(wantedSystem);
  const out = [];
  const sizes = w.sizes === 'sizes' ? config.sizes : w.sizes === 'layers' ? [1, 3] : [config.churn];
  const metrics = w.extra ? [w.metric, w.extra] : [w.metric];
  for (const metric of metrics) {
    const rows = [];
    for (const n of sizes) {
      const floor = sample(major, w.floor, w.workload, w.sizes === 'churn' ? churnN(w.floor) : n, metric);
      const peer = bestPeer(major, w.workload, n, metric);
      for (const system of systems) {
        const nn = w.sizes === 'churn' ? churnN(system) : n;
        const s = sample(major, system, w.workload, nn, metric);
        if (!s) continue;
        const isPeer = PEERS.includes(system);
        const cells = [
          w.sizes === 'layers' ? `${n} layer${n > 1 ? 's' : ''} x 200 tasks` : fmt(nn, 0),
          system === w.floor ? `**${system}**` : system === 'supervise' || system === 'supervise-nosignal' ? `**${system}**` : system,
        ];
        if (w.sizes === 'layers') {
          cells.push(layerCell(s, major, system, n), s.min === Infinity ? '> 5,000' : fmt(s.min), s.max === Infinity ? '> 5,000' : fmt(s.max));
          cells.push(s.median === Infinity ? '–' : `${(s.median / (20 * n)).toFixed(2)}x`);
        } else {
          cells.push(fmt(s.median), fmt(s.min), fmt(s.max));
        }
        const mutatorMetric = { spawnNsPerTask: 'spawnMutatorNsPerTask', shutdownNsPerTask: 'shutdownMutatorNsPerTask' }[metric];
        if (mutatorMetric) cells.push(fmt(sample(major, system, w.workload, nn, mutatorMetric)?.median));
        cells.push(
          ratio(s.median, floor?.median),
          isPeer ? (peer?.system === system ? 'best peer' : ratio(s.median, peer?.stats.median)) : ratio(s.median, peer?.stats.median),
        );
        if (w.sizes === 'churn') {
          const tps = sample(major, system, 'churn', nn, 'tasksPerSec');
          const growth = sample(major, system, 'churn', nn, 'heapGrowthBytes');
          cells.splice(2, 0, fmt(tps?.median, 0));
          cells.push(growth ? `${signed(growth.median)} (${signed(growth.min)} … ${signed(growth.max)})` : '–');
        }
        if (s.failed) cells.push(`**${s.failed} FAILED**`);
        else cells.push(isPeer && w.reuse ? `from ${w.parent}` : '');
        rows.push(cells);
      }
    }
    const unit = { shutdownNsPerTask: 'ns/task', spawnNsPerTask: 'ns/task', heapBytesPerTask: 'bytes/task', churnNsPerTask: 'ns/task', layersMs: 'ms' }[metric];
    let header;
    if (w.sizes === 'layers') header = ['N', 'system', `median ${unit}`, 'min', 'max', 'x ideal', 'x floor', 'x best peer', 'note'];
    else if (w.sizes === 'churn')
      header = [
        'N',
        'system',
        'tasks/s (median)',
        `median ${unit}`,
        'min',
        'max',
        'x floor',
        'x best peer',
        'heap after - before, bytes: median (min … max)',
        'note',
      ];
    else if (metric === 'heapBytesPerTask') header = ['N', 'system', `median ${unit}`, 'min', 'max', 'x floor', 'x best peer', 'note'];
    else header = ['N', 'system', `median ${unit}`, 'min', 'max', 'median before the final scavenge', 'x floor', 'x best peer', 'note'];
    out.push(`${metric === 'heapBytesPerTask' ? '\n**Heap per pending task**\n\n' : ''}${table(header, rows)}`);
  }
  return out.join('\n');
}

const TITLES = {
  W1: 'W1 shutdown: time from `shutdown()` to every cleanup done',
  W2: 'W2 spawn: time to spawn N pending tasks (until each has started), and heap per pending task',
  W3: 'W3 churn: tasks that finish at once, in batches of 10 000',
  W4: 'W4 layers: 200 tasks a layer, each needing 20 ms of async cleanup',
  W1b: 'W1b shutdown, like for like with fibers (no per-task signal)',
  W2b: 'W2b spawn, like for like with fibers (no per-task signal)',
  W3b: 'W3b churn, like for like with fibers (no per-task signal)',
};

// ---------------------------------------------------------------------------------------------
// Targets

function targets(major) {
  const n = TARGET_N;
  const rows = [];
  const get = (system, workload, metric, nn = n) => sample(major, system, workload, nn, metric);
  const add = (target, value, reference, met, note = '') =>
    rows.push({ target, value, reference, met: met === undefined ? 'n/a' : met ? 'met' : '**MISSED**', note });
  // 1-3: the Supervisor's own cost against the shared-reason floor, identical task bodies.
  for (const [label, workload, metric] of [
    ['W2 spawn ns/task <= 1.1x floor-shared-reason', 'spawn', 'spawnNsPerTask'],
    ['W1 shutdown ns/task <= 1.1x floor-shared-reason', 'shutdown', 'shutdownNsPerTask'],
  ]) {
    const s = get('supervise', workload, metric);
    const f = get('floor-shared-reason', workload, metric);
    add(label, s && `${fmt(s.median)} (${ratio(s.median, f?.median)})`, f && fmt(f.median), s && f ? s.median <= 1.1 * f.median : undefined);
  }
  {
    const s = get('supervise', 'spawn', 'heapBytesPerTask');
    const f = get('floor-shared-reason', 'spawn', 'heapBytesPerTask');
    add(
      'W2 heap bytes/pending task <= floor-shared-reason + 100',
      s && `${fmt(s.median)} (${s && f ? signed(s.median - f.median) : ''} B)`,
      f && fmt(f.median),
      s && f ? s.median <= f.median + 100 : undefined,
    );
  }
  // 4-7: like for like with fibers: at or below Effect's best adapter (required on Node 24).
  const required = major === '24';
  for (const [label, workload, metric, nn] of [
    ['W2b spawn ns/task <= best Effect adapter', 'spawn', 'spawnNsPerTask', n],
    ['W1b shutdown ns/task <= best Effect adapter', 'shutdown', 'shutdownNsPerTask', n],
    ['W2b heap bytes/pending task <= best Effect adapter', 'spawn', 'heapBytesPerTask', n],
    ['W3b churn ns/task <= best Effect adapter (tasks/s >=)', 'churn', 'churnNsPerTask', config.churn],
  ]) {
    const s = get('supervise-nosignal', workload, metric, nn);
    const e = bestPeer(major, workload, nn, metric, EFFECT);
    const f = get('floor-nosignal', workload, metric, nn);
    add(
      label,
      s && `${fmt(s.median)} (${ratio(s.median, e?.stats.median)} of ${e?.system ?? '–'})`,
      e && `${e.system} ${fmt(e.stats.median)}`,
      s && e ? (required ? s.median <= e.stats.median : undefined) : undefined,
      `${ratio(s?.median, f?.median)} the no-signal floor${required ? '' : '; the Effect target is for Node 24 only'}${s && e && !required ? ` (would be ${s.median <= e.stats.median ? 'met' : 'missed'})` : ''}`,
    );
  }
  // W4: about one cleanup's time per layer.
  for (const layers of [1, 3]) {
    const s = get('supervise', 'layers', 'layersMs', layers);
    add(
      `W4 ${layers} layer${layers > 1 ? 's' : ''} of 200 x 20 ms cleanups <= 1.5 x ${20 * layers} ms`,
      s && `${fmt(s.median)} ms`,
      `${20 * layers} ms ideal`,
      s ? s.median <= 1.5 * 20 * layers : undefined,
    );
  }
  // W3: no growth.
  for (const system of ['supervise', 'supervise-nosignal']) {
    const g = get(system, 'churn', 'heapGrowthBytes', config.churn);
    add(
      `W3${system === 'supervise' ? '' : 'b'} churn: ${system} heap after - before <= 1 MiB`,
      g && `${signed(g.median)} B (max ${signed(g.max)})`,
      `over ${fmt(config.churn, 0)} tasks`,
      g ? g.max <= 1 << 20 : undefined,
    );
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// RESULTS.md

const ADAPTER_NAMES = [...SIGNAL, ...NOSIGNAL, ...OBSERVED, ...PEERS];
const describe = {};
for (const name of ADAPTER_NAMES) {
  try {
    describe[name] = (await import(`./adapters/${name}.mjs`)).describe;
  } catch {
    describe[name] = '(adapter failed to load here)';
  }
}

const cpus = os.cpus();
const rel = (p) => (p.startsWith(root + '/') ? relative(root, p) : p);
const totalS = (Date.now() - t0) / 1000;
const md = [];
md.push(`# Benchmarks (issue 4)

Written by \`benchmarks/run.mjs\` on ${startedAt.toISOString()}; do not edit by hand. ${quick ? '**Quick run (`--quick`): 1 run, small N. Not for conclusions.**' : ''}${filtered && !quick ? '**Filtered run: not the full harness.**' : ''}

## Setup

| what | value |
| --- | --- |
| machine | ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()} (shared: other work may slow runs) |
${config.nodes.map((m) => `| Node ${m} | ${results[m].version} (\`${rel(results[m].bin)}\`); ${fmt(results[m].durationS, 0)} s; load average ${results[m].loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${results[m].loadAfter.map((x) => x.toFixed(2)).join(' ')} after |`).join('\n')}
| packages | supervise ${packageVersion(join(root, 'package.json'))} (commit ${gitCommit(root)}; \`dist/lib\` snapshot sha256 ${distDigest}…), effection ${packageVersion(join(here, 'node_modules/effection/package.json'))}, effect ${packageVersion(join(here, 'node_modules/effect/package.json'))} |
| date | ${startedAt.toISOString()}, total ${fmt(totalS / 60, 1)} min |
| command | \`npm run bench\` = \`npm run build && npm --prefix benchmarks ci --no-audit --no-fund && node benchmarks/run.mjs${process.argv.length > 2 ? ' ' + process.argv.slice(2).join(' ') : ''}\` |
| one measurement | \`<node> --expose-gc --max-old-space-size=4096 benchmarks/measure.mjs <adapter> <workload> <n>\` (prints one line of JSON) |
| runs | ${config.runs} per cell (W4: ${config.layerRuns}; effection: ${config.effectionRuns}, as its processes take ~10 s at N = 100 000); medians, min and max; every measurement in a fresh process; systems interleaved (A B C A B C …) within each run |

## Targets (N = ${fmt(TARGET_N, 0)}${TARGET_N !== 100_000 ? ": **not the issue's 100 000**" : ''})

Ratios are of medians; a ratio above 1 costs more than the reference.
`);
const missedByNode = {};
for (const major of config.nodes) {
  const rows = targets(major);
  missedByNode[major] = rows.filter((r) => r.met === '**MISSED**');
  md.push(`### Node ${results[major].version}\n`);
  md.push(
    table(
      ['target', 'supervise (median)', 'reference (median)', 'status', 'note'],
      rows.map((r) => [r.target, r.value ?? '–', r.reference ?? '–', r.met, r.note]),
    ),
  );
  md.push('');
}

// A missed spawn target comes with a CPU profile of both sides, so the table says where the time goes.
const PROFILED = [
  [/^W2 spawn/, ['supervise', 'floor-shared-reason']],
  [/^W2b spawn/, ['supervise-nosignal', 'effect-fiberset', 'floor-nosignal']],
];
const profiles = [];
for (const major of config.nodes) {
  for (const row of missedByNode[major]) {
    const systems = PROFILED.find(([pattern]) => pattern.test(row.target))?.[1];
    if (systems === undefined) {
      profiles.push(`### Node ${results[major].version}: ${row.target}\n\nNo profiler for this workload: see the tables below.\n`);
      continue;
    }
    const outputs = systems.map((system) => {
      const child = spawnSync(nodeBinary(major), [join(here, 'profile.mjs'), system, String(TARGET_N), '5'], {
        encoding: 'utf8',
        cwd: root,
        timeout: CHILD_TIMEOUT_MS,
      });
      return child.status === 0 ? child.stdout.trim().split('\n').slice(0, 8).join('\n') : `${system}: profile failed (${child.status ?? child.signal})`;
    });
    profiles.push(
      `### Node ${results[major].version}: ${row.target}\n\n\`node benchmarks/profile.mjs <system> ${TARGET_N} 5\`, self time per spawn (top lines):\n\n\`\`\`\n${outputs.join('\n\n')}\n\`\`\`\n`,
    );
  }
}
if (profiles.length > 0) {
  md.push(`## Where the time goes, for the targets missed

Garbage collection is most of a spawn's cost for every system here: the young generation copies each pending task's objects once or twice before they are promoted, so bytes allocated per task decide more than the code that runs. supervise's own code (\`spawn\`) takes about as long as the floor's per task; a task costs it three small objects the floor does not have (the Task handle, 40 bytes, and the two bound handlers that watch its promise, 24 bytes each) against the floor's closure, context and \`Set\` slot. The handle is what \`spawn\` returns (name, state, \`cancel()\`), and the two handlers set the task's state before any user code awaiting it runs; what was tried to shrink them further, and why it was kept, is in \`benchmarks/README.md\`. Compare the garbage collector lines below: the no-signal floor's shows what the native async function and its promise cost the collector by themselves, which every system here built on async functions pays and Effect's fibers do not.

${profiles.join('\n')}`);
}

md.push(`## How to read the tables

- Every figure is a median over the runs, with min and max. \`x floor\` is the ratio of medians to the table's floor (in bold): \`floor-shared-reason\` for W1, W2, W4; \`floor\` for W3 (no abort happens in churn, so both signal floors run the same code); \`floor-nosignal\` for the b tables. \`x best peer\` is the ratio to the best of effection and Effect's adapters for that figure (\`best peer\` marks it). Above 1 costs more.
- Task bodies: supervise and the floors run the very same functions (\`benchmarks/lib/bodies.mjs\`): W1/W2 \`async (signal) => { try { await new Promise((r) => signal.addEventListener('abort', r)) } finally { cleanups++ } }\`; the b variants \`async () => { try { await stopping } finally { cleanups++ } }\` where \`stopping\` is one shared promise resolved just before \`shutdown()\` is called (inside the timed region). Peers write the same behaviour in their idiom: effection \`try { yield* suspend() } finally { … }\`, Effect \`Effect.never\` with \`Effect.ensuring(…)\`. Fibers need no cancellation token, so the peers' W1b/W2b/W3b rows are their W1/W2/W3 measurements (\`from W1\`).
- W1: N pending tasks (all started), a full GC, then the clock runs from \`shutdown()\` until it resolves, plus one scavenge (see below); the runner checks that all N cleanups had run when \`shutdown()\` resolved, and fails loudly otherwise. A warm-up of 2 000 tasks (spawn and shutdown, on another instance) comes first in every process.
- W1 and W2 end their clock with one scavenge (\`gc({ type: 'minor' })\`), which pays inside the window for what it left in the young generation: without it, a system whose N tasks just fit in the young generation (~64 MB) measures 20-40 % faster than one that overflows it by a few bytes a task, though both leave the same work to the collector. The column \`median before the final scavenge\` shows the clock without it.
- W2: after the same warm-up, the clock runs from the first spawn until every task has started (effection and Effect's \`FiberSet.runtime\` start fibers at once; \`Effect.forkIn\` starts them on Effect's scheduler, which the runner waits for). Heap: \`heapUsed\` after two full GCs, after spawning minus before, over N.
- W3: ${fmt(config.churn, 0)} tasks (effection: ${fmt(config.churnEffection, 0)}: it takes ~50 µs a task) in batches of 10 000 that each wait on their batch's gate and finish when it opens; two warm-up batches on the same system first. Heap is measured after full GCs before the first timed batch and after the last.
- W4: each layer's tasks are spawned after its nested layers were made, so that every system stops a layer's own tasks before its nested layer. Shutdowns still running after 5 s are reported as \`> 5 000\` with the cleanups done by then (the process then exits).
`);

for (const major of config.nodes) {
  md.push(`## Node ${results[major].version}\n`);
  for (const w of WORKLOADS) {
    if (w.id === 'S' || w.group === 'D' || !wanted(w)) continue;
    md.push(`### ${TITLES[w.id]}\n`);
    md.push(workloadSection(major, w));
    md.push('');
  }
  if (results[major].failures.length) {
    md.push(`### Failed measurements\n\n${results[major].failures.map((f) => `- ${f}`).join('\n')}\n`);
  }
}

const DIAGNOSTICS = [
  ['spawn', 'W2d', 'spawnNsPerTask', 'ns/task'],
  ['spawn', 'W2d', 'heapBytesPerTask', 'heap bytes/pending task'],
  ['shutdown', 'W1d', 'shutdownNsPerTask', 'ns/task'],
  ['churn', 'W3d', 'churnNsPerTask', 'ns/task'],
];
if (WORKLOADS.some((w) => w.group === 'D' && wanted(w))) {
  md.push(`## Diagnostics channels: with and without a subscriber

\`supervise-observed\` is \`supervise-nosignal\` with one subscriber on each of supervise's \`supervise:*\` diagnostics channels (\`channels\`), each only counting its messages; its shutdown checks that every spawn, settle and shutdown message arrived. The column without a subscriber is \`supervise-nosignal\`'s own samples, the same samples as its rows in W1b, W2b and W3b: what a process that subscribes to nothing pays, publishing guarded by \`hasSubscribers\`. Informational: no target. N = ${fmt(TARGET_N, 0)} (churn: ${fmt(config.churn, 0)}); medians (min … max), ratio and difference of medians.
`);
  const rows = [];
  const cell = (s) => (s ? `${fmt(s.median)} (${fmt(s.min)} … ${fmt(s.max)})${s.failed ? ` **${s.failed} FAILED**` : ''}` : '–');
  for (const major of config.nodes) {
    for (const [workload, id, metric, unit] of DIAGNOSTICS) {
      if (!wanted(WORKLOADS.find((w) => w.id === id))) continue;
      const nn = workload === 'churn' ? config.churn : TARGET_N;
      const without = sample(major, 'supervise-nosignal', workload, nn, metric);
      const withOne = sample(major, 'supervise-observed', workload, nn, metric);
      const difference = without && withOne ? withOne.median - without.median : undefined;
      rows.push([
        `Node ${results[major].version}`,
        `${workload} ${unit}`,
        fmt(nn, 0),
        cell(without),
        cell(withOne),
        ratio(withOne?.median, without?.median),
        difference === undefined ? '–' : signed(difference),
      ]);
    }
  }
  md.push(
    table(
      [
        'what',
        'workload',
        'N',
        'without a subscriber (`supervise-nosignal`)',
        'with a subscriber on every channel (`supervise-observed`)',
        'x no subscriber',
        'difference',
      ],
      rows,
    ),
  );
  md.push('');
}

if (WORKLOADS.some((w) => w.id === 'S' && wanted(w))) {
  md.push(`## What a per-task AbortSignal costs

${fmt(config.signalN, 0)} AbortControllers in one process (after a warm-up of 2 000): \`new AbortController()\` and reading \`.signal\`; \`addEventListener('abort', fn)\` with a distinct listener each; \`abort(reason)\` with one shared reason, or \`abort()\` which makes a new \`AbortError\` each. Heap after full GCs. Medians (min … max).
`);
  const rows = [];
  for (const major of config.nodes) {
    for (const kind of ['shared', 'default']) {
      const cell = (metric) => {
        const s = sample(major, kind, 'signal-cost', config.signalN, metric);
        return s ? `${fmt(s.median)} (${fmt(s.min)} … ${fmt(s.max)})` : '–';
      };
      const bytes = sample(major, kind, 'signal-cost', config.signalN, 'heapBytesPerSignal');
      const listener = sample(major, kind, 'signal-cost', config.signalN, 'heapBytesPerListener');
      rows.push([
        `Node ${results[major].version}`,
        kind === 'shared' ? 'abort(sharedReason)' : 'abort()',
        cell('createNsPerSignal'),
        cell('listenNsPerSignal'),
        cell('abortNsPerSignal'),
        cell('totalNsPerSignal'),
        cell('heapBytesPerSignal'),
        cell('heapBytesPerListener'),
        bytes && listener ? fmt(bytes.median + listener.median) : '–',
      ]);
    }
  }
  md.push(
    table(
      [
        'what',
        'abort',
        'create ns',
        'addEventListener ns',
        'abort ns (listener runs)',
        'total ns',
        'bytes per controller+signal',
        'bytes per (first) listener',
        'bytes in all',
      ],
      rows,
    ),
  );
  md.push(
    '\nOn Node 24 a signal allocates its listener storage on the first `addEventListener`, so its bytes show in the listener column. Per task, supervise (with a `signal` parameter) and the signal floors pay one of each; the no-signal systems pay none.',
  );
  md.push('');
}

md.push(`## Systems

${table(
  ['system', 'what it does'],
  ADAPTER_NAMES.filter(wantedSystem).map((n) => [`\`${n}\``, describe[n]]),
)}

Adapters live in \`benchmarks/adapters/\`, one per system, with the interface described at the top of \`benchmarks/measure.mjs\`.
Effect's current major is 4 (checked with \`npm view effect dist-tags\`), so the harness pins \`effect@^4\`. \`effect-scope\` uses \`Scope.make()\`'s default sequential finalizer strategy: its shutdown interrupts and awaits one fiber after the other (W4 shows it); \`Scope.make("parallel")\` would not.
`);

// benchmarks/drain.mjs, spawn-options.mjs, scale.mjs, restart.mjs, import.mjs and compare.mjs write their own sections: kept verbatim, right after the intro.
const previous = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '';
const ownSections = [
  /<!-- drain:start -->[\s\S]*?<!-- drain:end -->/,
  /<!-- spawn-options:start -->[\s\S]*?<!-- spawn-options:end -->/,
  /<!-- scale:start -->[\s\S]*?<!-- scale:end -->/,
  /<!-- restart:start -->[\s\S]*?<!-- restart:end -->/,
  /<!-- import:start -->[\s\S]*?<!-- import:end -->/,
  /<!-- compare:start -->[\s\S]*?<!-- compare:end -->/,
]
  .map((pattern) => pattern.exec(previous)?.[0])
  .filter((section) => section !== undefined);
if (ownSections.length > 0) md[0] = md[0].replace('\n## Setup\n', () => `\n${ownSections.join('\n\n')}\n\n## Setup\n`);
writeFileSync(outFile, md.join('\n'));
writeFileSync(outFile.replace(/\.md$/, '.json'), JSON.stringify({ config, startedAt, results }, null, 1) + '\n');
console.error(`\nwrote ${rel(outFile)} (${fmt(totalS / 60, 1)} min)`);
if (failures > 0) {
  console.error(`\n!!! ${failures} measurement(s) FAILED: see the messages above and "Failed measurements" in ${rel(outFile)}`);
  process.exit(1);
}
