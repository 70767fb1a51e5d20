#!/usr/bin/env node
// Issue 15's check that performance did not move: the same measurements (measure.mjs) on two builds
// of supervise, side by side, in fresh processes, interleaved run by run (the build that goes first
// alternates), so that the shared machine's load falls on both alike.
//
//   node benchmarks/compare.mjs --baseline=<rev|dir> [--candidate=<rev|dir>] [options]
//
// A build is a git revision (built in a temporary worktree with the root's TypeScript, its dist/lib
// copied out, the worktree removed) or a directory that holds a built dist/lib (its index.js). Without
// --candidate the candidate is the working tree's dist/lib (`npm run build`), copied when the run starts.
//
// Options: --node=20,24  --runs=7  --n=100000 (spawn and shutdown)  --churn=10*n (churn tasks, a multiple
//          of 10 000)  --systems=supervise,supervise-nosignal,supervise-named  --workloads=spawn,shutdown,churn
//          (or W2,W1,W3)  --write (replace the compare section of RESULTS.md, raw samples in RESULTS-compare.json)
// Exit code 1 when a measurement failed its checks.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitCommit } from './lib/provenance.mjs';
import { list, parseOptions } from './lib/cli.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const measureScript = join(here, 'measure.mjs');
const CHILD_TIMEOUT_MS = 300_000;
const CHURN_BATCH = 10_000; // measure.mjs's batch: churn sizes are multiples of it

// ---------------------------------------------------------------------------------------------
// Options

const USAGE =
  'usage: node benchmarks/compare.mjs --baseline=<rev|dir> [--candidate=<rev|dir>] [--node=20,24] [--runs=7] [--n=100000] [--churn=10*n] [--systems=supervise,supervise-nosignal,supervise-named] [--workloads=spawn,shutdown,churn] [--write]';
const { args, usage } = parseOptions(
  process.argv.slice(2),
  ['baseline', 'candidate', 'node', 'runs', 'n', 'churn', 'systems', 'workloads', 'write', 'help'],
  'compare.mjs',
  USAGE,
);
if (typeof args.baseline !== 'string' || args.baseline === '') usage('--baseline=<git rev or dist/lib directory> is required');
if (args.candidate === true) usage('--candidate needs a value: a git rev or a dist/lib directory');
const ALIASES = { W1: 'shutdown', W2: 'spawn', W3: 'churn' };
const config = {
  baseline: args.baseline,
  candidate: typeof args.candidate === 'string' ? args.candidate : undefined,
  nodes: list(args.node ?? '20,24'),
  runs: Number(args.runs ?? 7),
  n: Number(args.n ?? 100_000),
  churn: undefined,
  systems: list(args.systems ?? 'supervise,supervise-nosignal,supervise-named'),
  workloads: list(args.workloads ?? 'spawn,shutdown,churn').map((w) => ALIASES[w] ?? w),
};
config.churn = Number(args.churn ?? Math.max(CHURN_BATCH, Math.round((config.n * 10) / CHURN_BATCH) * CHURN_BATCH));
if (!Number.isInteger(config.runs) || config.runs < 1) usage(`bad --runs ${args.runs}`);
if (!Number.isInteger(config.n) || config.n <= 0) usage(`bad --n ${args.n}`);
if (!Number.isInteger(config.churn) || config.churn <= 0 || config.churn % CHURN_BATCH !== 0) usage(`bad --churn ${args.churn}: a multiple of ${CHURN_BATCH}`);
for (const w of config.workloads) if (!['spawn', 'shutdown', 'churn'].includes(w)) usage(`unknown workload ${w} (spawn, shutdown, churn)`);
for (const s of config.systems) if (!existsSync(join(here, 'adapters', `${s}.mjs`))) usage(`unknown system ${s} (no benchmarks/adapters/${s}.mjs)`);
for (const major of config.nodes) if (!/^\d+$/.test(major)) usage(`bad --node ${major}`);

/** What each workload reports, in table order; every metric is "lower is better". */
const METRICS = {
  spawn: [
    { key: 'spawnNsPerTask', label: 'spawn, ns/task', kind: 'time' },
    { key: 'heapBytesPerTask', label: 'heap per pending task, bytes', kind: 'heap' },
  ],
  shutdown: [{ key: 'shutdownNsPerTask', label: 'shutdown, ns/task', kind: 'time' }],
  churn: [{ key: 'churnNsPerTask', label: 'churn, ns/task (1e9 / tasks per s)', kind: 'time' }],
};
const sizeOf = (workload) => (workload === 'churn' ? config.churn : config.n);

// ---------------------------------------------------------------------------------------------
// Builds

const temporary = [];
function cleanUp() {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanUp();
    try {
      execFileSync('git', ['worktree', 'prune'], { cwd: root, stdio: 'ignore' });
    } catch {}
    process.exit(130);
  });
}

/** The .js files of a built lib, hashed: two builds with the same digest are the same code. */
function digestOf(libDir) {
  const hash = createHash('sha256');
  for (const file of readdirSync(libDir).sort()) if (file.endsWith('.js')) hash.update(file).update(readFileSync(join(libDir, file)));
  return hash.digest('hex').slice(0, 12);
}

/** Copies a built lib (JavaScript only) into a fresh temporary directory: later rebuilds change nothing. */
function snapshot(libDir, prefix) {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  temporary.push(dir);
  cpSync(libDir, join(dir, 'lib'), { recursive: true, filter: (src) => !/\.(d\.ts|map)$/.test(src) });
  return join(dir, 'lib');
}

/** Builds a git revision in a temporary worktree (root's node_modules, root's tsc) and keeps a copy of its dist/lib. */
function buildRev(sha) {
  const dir = mkdtempSync(join(os.tmpdir(), 'supervise-compare-'));
  temporary.push(dir);
  const tree = join(dir, 'tree');
  execFileSync('git', ['worktree', 'add', '--detach', '-f', tree, sha], { cwd: root, stdio: 'ignore' });
  try {
    symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: tree, encoding: 'utf8' });
    const built = existsSync(join(tree, 'dist/lib/index.js'));
    if (tsc.status !== 0) {
      // tsconfig.json covers spec/ and examples/ too, and tsc emits despite type errors: an old
      // revision's tests may not type-check against today's node_modules, while its lib builds fine.
      const output = `${tsc.stdout}${tsc.stderr}`.trim();
      const libErrors = output.split('\n').filter((line) => line.startsWith('lib/'));
      if (!built || libErrors.length > 0) throw new Error(`compare.mjs: tsc failed for ${sha}:\n${output}`);
      console.error(
        `compare.mjs: tsc reported errors outside lib/ for ${sha.slice(0, 12)} (lib/ built cleanly):\n${output.split('\n').slice(0, 5).join('\n')}`,
      );
    }
    cpSync(join(tree, 'dist/lib'), join(dir, 'lib'), { recursive: true, filter: (src) => !/\.(d\.ts|map)$/.test(src) });
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: root, stdio: 'ignore' });
  }
  return join(dir, 'lib');
}

const builtRevs = new Map(); // sha -> lib dir
/** A build: a git revision, else a directory (a dist/lib, or one holding lib/index.js or dist/lib/index.js). */
function resolveBuild(spec, role) {
  if (spec === undefined) {
    const distLib = join(root, 'dist', 'lib');
    if (!existsSync(join(distLib, 'index.js'))) {
      console.error('compare.mjs: dist/lib/index.js is missing: run `npm run build`, or give --candidate=<rev|dir>');
      process.exit(2);
    }
    const lib = snapshot(distLib, 'supervise-compare-wt-');
    return { role, spec: 'working tree', describe: `the working tree's dist/lib, commit ${gitCommit(root)}`, lib, digest: digestOf(lib) };
  }
  let sha;
  try {
    sha = execFileSync('git', ['rev-parse', '--verify', '--quiet', `${spec}^{commit}`], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {}
  if (!sha) {
    if (!existsSync(spec)) usage(`--${role}=${spec} is neither a git revision nor a directory`);
    let dir = resolve(spec);
    if (statSync(dir).isFile()) dir = dirname(dir);
    for (const inner of ['lib', 'dist/lib']) if (!existsSync(join(dir, 'index.js')) && existsSync(join(dir, inner, 'index.js'))) dir = join(dir, inner);
    if (!existsSync(join(dir, 'index.js'))) usage(`--${role}=${spec}: no index.js there (nor in lib/ or dist/lib/)`);
    const lib = snapshot(dir, 'supervise-compare-dir-');
    return { role, spec, describe: `the build in \`${spec}\``, lib, digest: digestOf(lib) };
  }
  const short = sha.slice(0, 7);
  if (!builtRevs.has(sha)) {
    console.error(`compare.mjs: building ${spec} (${short}) in a temporary worktree...`);
    builtRevs.set(sha, buildRev(sha));
  }
  const lib = builtRevs.get(sha);
  const subject = execFileSync('git', ['log', '-1', '--format=%s', sha], { cwd: root, encoding: 'utf8' }).trim();
  return {
    role,
    spec,
    describe: `\`${spec}\` = commit ${short} ("${subject.length > 70 ? `${subject.slice(0, 67)}...` : subject}")`,
    lib,
    digest: digestOf(lib),
  };
}

// ---------------------------------------------------------------------------------------------
// Running

function nodeBinary(major) {
  if (process.versions.node.split('.')[0] === major) return process.execPath;
  return execFileSync(process.execPath, [join(root, 'scripts', 'ensure-node.mjs'), major], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

function measure(bin, build, cell) {
  const argv = ['--expose-gc', '--max-old-space-size=4096', measureScript, cell.system, cell.workload, String(cell.n)];
  const child = spawnSync(bin, argv, {
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
    cwd: root,
    maxBuffer: 16 << 20,
    env: { ...process.env, SUPERVISE_DIST: join(build.lib, 'index.js') },
  });
  const line = child.stdout?.trim().split('\n').pop();
  if (child.status === 0 && line) {
    const m = JSON.parse(line).metrics;
    if (m.tasksPerSec !== undefined) m.churnNsPerTask = 1e9 / m.tasksPerSec;
    return { ok: true, metrics: m };
  }
  const why = child.error ? String(child.error) : `exit ${child.status ?? child.signal}`;
  const stderr = (child.stderr ?? '').trim();
  console.error(`\n!!! MEASUREMENT FAILED: ${build.role} ${cell.system} ${cell.workload} n=${cell.n} (${why})\n${stderr}\n`);
  return { ok: false, error: `${why}: ${stderr.split('\n').find((l) => l.includes('CHECK FAILED') || l.includes('Error')) ?? stderr.split('\n')[0] ?? ''}` };
}

function fmt(x, digits) {
  if (x === undefined || x === null || Number.isNaN(x)) return '–';
  const d = digits ?? (Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2);
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}
function headline(cell, m) {
  if (!m) return 'FAILED';
  if (cell.workload === 'spawn') return `${fmt(m.spawnNsPerTask)} ns/task, ${fmt(m.heapBytesPerTask)} B/task`;
  if (cell.workload === 'shutdown') return `${fmt(m.shutdownNsPerTask)} ns/task`;
  return `${fmt(m.churnNsPerTask)} ns/task (${fmt(m.tasksPerSec, 0)} tasks/s)`;
}

const started = new Date();
const t0 = Date.now();
let builds;
try {
  const baseline = resolveBuild(config.baseline, 'baseline');
  const candidate = resolveBuild(config.candidate, 'candidate');
  builds = [baseline, candidate];
} catch (error) {
  cleanUp();
  console.error(error?.message ?? error);
  process.exit(2);
}
const [baseline, candidate] = builds;
for (const b of builds) console.error(`compare.mjs: ${b.role}: ${b.describe}, dist digest ${b.digest}`);
if (baseline.digest === candidate.digest) console.error('compare.mjs: both builds are the same code (same digest): an A/A run, which shows the noise alone');

const cells = [];
for (const workload of config.workloads) for (const system of config.systems) cells.push({ system, workload, n: sizeOf(workload) });

const results = {}; // major -> { version, samples: { `${role}|${system}|${workload}`: [metrics|null] }, ... }
let failures = 0;
try {
  for (const major of config.nodes) {
    const bin = nodeBinary(major);
    const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
    const state = (results[major] = { version, loadBefore: os.loadavg(), samples: {}, failures: [], startedMs: Date.now() });
    for (let run = 0; run < config.runs; run++) {
      cells.forEach((cell, i) => {
        // Baseline and candidate back to back; which goes first alternates by run and by cell.
        const order = (run + i) % 2 === 0 ? [baseline, candidate] : [candidate, baseline];
        for (const build of order) {
          const r = measure(bin, build, cell);
          const key = `${build.role}|${cell.system}|${cell.workload}`;
          (state.samples[key] ??= [])[run] = r.ok ? r.metrics : null;
          if (!r.ok) {
            failures++;
            state.failures.push(`${key} run ${run + 1}: ${r.error}`);
          }
          const elapsed = ((Date.now() - t0) / 1000).toFixed(0);
          console.error(
            `[${elapsed.padStart(4)} s] node ${major} run ${run + 1}/${config.runs}  ${cell.workload.padEnd(8)} n=${String(cell.n).padEnd(7)} ${cell.system.padEnd(18)} ${build.role.padEnd(9)} ${headline(cell, r.ok ? r.metrics : undefined)}`,
          );
        }
      });
    }
    state.loadAfter = os.loadavg();
    state.durationS = (Date.now() - state.startedMs) / 1000;
  }
} finally {
  cleanUp();
}

// ---------------------------------------------------------------------------------------------
// Statistics and the tables

function quantile(sorted, q) {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (pos - lo);
}
function stats(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  return { median: quantile(v, 0.5), min: v[0], max: v[v.length - 1], q1: quantile(v, 0.25), q3: quantile(v, 0.75), count: v.length };
}
const ratioText = (x) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3));

function nodeTable(major) {
  const state = results[major];
  const rows = [];
  for (const workload of config.workloads) {
    for (const metric of METRICS[workload]) {
      for (const system of config.systems) {
        const runsOf = (role) => (state.samples[`${role}|${system}|${workload}`] ?? []).map((m) => (m ? m[metric.key] : null));
        const b = runsOf('baseline');
        const c = runsOf('candidate');
        const bs = stats(b);
        const cs = stats(c);
        // Paired: the two builds measured back to back in the same run share that moment's load.
        const paired = stats(b.map((x, i) => (x > 0 && c[i] > 0 ? c[i] / x : null)));
        let verdict = '–';
        if (paired) {
          const worse = metric.kind === 'heap' ? 'larger' : 'slower';
          const better = metric.kind === 'heap' ? 'smaller' : 'faster';
          if (paired.min <= 1 && paired.max >= 1) verdict = 'within noise';
          else if (Math.abs(paired.median - 1) < 0.01) verdict = 'within 1%';
          else verdict = paired.min > 1 ? `**${worse}** in every run` : `${better} in every run`;
        }
        const failed = b.filter((x) => x === null).length + c.filter((x) => x === null).length;
        rows.push([
          metric.label,
          system,
          fmt(bs?.median),
          bs ? `${fmt(bs.min)} – ${fmt(bs.max)}` : '–',
          fmt(cs?.median),
          cs ? `${fmt(cs.min)} – ${fmt(cs.max)}` : '–',
          bs && cs ? ratioText(cs.median / bs.median) : '–',
          paired ? `${ratioText(paired.min)} – ${ratioText(paired.max)}` : '–',
          failed ? `**${failed} FAILED**` : verdict,
        ]);
      }
    }
  }
  const header = [
    'metric',
    'system',
    'baseline median',
    'baseline min – max',
    'candidate median',
    'candidate min – max',
    'candidate / baseline',
    'paired ratios min – max',
    'verdict',
  ];
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((h, i) => (i < 2 ? '---' : i === header.length - 1 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

const rel = (path) => path.replace(`${root}/`, '');
const command = `node benchmarks/compare.mjs ${process.argv.slice(2).join(' ')}`;
const totalS = (Date.now() - t0) / 1000;
const lines = [
  '<!-- compare:start -->',
  '## Old and new side by side (compare.mjs)',
  '',
  `Written by \`${command}\` on ${started.toISOString()} (${fmt(totalS / 60, 1)} min); do not edit by hand.`,
  '',
  `Baseline: ${baseline.describe}, dist digest ${baseline.digest}. Candidate: ${candidate.describe}, dist digest ${candidate.digest}${
    baseline.digest === candidate.digest ? ' (the same code: this run shows the noise alone)' : ''
  }.`,
  '',
  `Method: measure.mjs's ${config.workloads.join(', ')} workloads (spawn and shutdown: N = ${fmt(config.n, 0)} pending tasks; churn: ${fmt(config.churn, 0)} tasks in batches of 10,000) for ${config.systems.map((s) => `\`${s}\``).join(', ')}, each figure from a fresh process; ${config.runs} runs, in each the baseline and the candidate back to back, the first of the two alternating by run and by measurement. Every metric is lower-is-better. "paired ratios" are candidate / baseline within one run; "within noise" means their range includes 1; "... in every run" means it does not (with ${config.runs} runs, chance alone does that ${fmt(100 / 2 ** (config.runs - 1), 1)}% of the time), and "within 1%" that it does not but their median is within 1% of 1. Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, shared.`,
];
for (const major of config.nodes) {
  const state = results[major];
  lines.push(
    '',
    `### Node ${state.version}`,
    '',
    `${fmt(state.durationS / 60, 1)} min; load average ${state.loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${state.loadAfter.map((x) => x.toFixed(2)).join(' ')} after.`,
    '',
    nodeTable(major),
  );
  if (state.failures.length > 0) lines.push('', '**Failed measurements:**', '', ...state.failures.map((f) => `- ${f}`));
}
lines.push('<!-- compare:end -->');
const section = lines.join('\n');
console.log(section);

if (args.write) {
  const file = join(here, 'RESULTS.md');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const start = text.indexOf('<!-- compare:start -->');
  const end = text.indexOf('<!-- compare:end -->');
  const updated =
    start >= 0 && end > start
      ? text.slice(0, start) + section + text.slice(end + '<!-- compare:end -->'.length)
      : `${text.replace(/\n*$/, '')}\n\n${section}\n`;
  writeFileSync(file, updated);
  const json = join(here, 'RESULTS-compare.json');
  writeFileSync(json, JSON.stringify({ config, command, startedAt: started, builds: builds.map(({ lib, ...b }) => b), results }, null, 1) + '\n');
  console.error(`\nwrote ${rel(file)}'s compare section and ${basename(json)} (${fmt(totalS / 60, 1)} min)`);
}
if (failures > 0) {
  console.error(`\n!!! ${failures} measurement(s) FAILED: see the messages above`);
  process.exit(1);
}
