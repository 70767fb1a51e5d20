// What checking spawn's option names costs: the named-spawn workload (adapters/supervise-named.mjs,
// `sup.spawn(body, { name: 'job' })` for N pending tasks) on two builds of supervise, in fresh
// processes, interleaved run by run so that the shared machine's load falls on both alike.
//
//   node benchmarks/spawn-options.mjs --baseline=<git rev> [--runs=15] [--n=100000] [--write]
//
// The candidate is the working tree's build (npm run build); the baseline is <git rev> built in a
// temporary worktree. With --write, the table replaces the spawn-options section of RESULTS.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitCommit } from './lib/provenance.mjs';
import { median, writeSection } from './lib/results.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [key, value = 'true'] = arg.replace(/^--/, '').split('=');
    return [key, value];
  }),
);
const known = ['baseline', 'runs', 'n', 'write'];
for (const key of Object.keys(args)) {
  if (!known.includes(key)) {
    console.error(`unknown option --${key}; usage: node benchmarks/spawn-options.mjs --baseline=<git rev> [--runs=15] [--n=100000] [--write]`);
    process.exit(2);
  }
}
if (!args.baseline) {
  console.error('--baseline=<git rev> is required: the build to compare the working tree with');
  process.exit(2);
}
const runs = Number(args.runs ?? 15);
const n = Number(args.n ?? 100_000);

/** Builds `rev` in a temporary worktree and copies its dist/lib out; returns the copy's index.js. */
function buildRev(rev) {
  const dir = mkdtempSync(join(tmpdir(), 'supervise-baseline-'));
  const tree = join(dir, 'tree');
  execFileSync('git', ['worktree', 'add', '--detach', '-f', tree, rev], { cwd: root, stdio: 'ignore' });
  try {
    symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: tree, stdio: 'inherit' });
    cpSync(join(tree, 'dist/lib'), join(dir, 'lib'), { recursive: true });
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: root, stdio: 'ignore' });
  }
  return { dir, index: join(dir, 'lib/index.js') };
}

function snapshotWorkingTree() {
  const dir = mkdtempSync(join(tmpdir(), 'supervise-candidate-'));
  cpSync(join(root, 'dist/lib'), join(dir, 'lib'), { recursive: true });
  return { dir, index: join(dir, 'lib/index.js') };
}

function measure(index, adapter) {
  const result = spawnSync(process.execPath, ['--expose-gc', join(root, 'benchmarks/measure.mjs'), adapter, 'spawn', String(n)], {
    env: { ...process.env, SUPERVISE_DIST: index },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`measure.mjs ${adapter} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)).metrics;
}

const baseline = buildRev(args.baseline);
const candidate = snapshotWorkingTree();
const baselineCommit = execFileSync('git', ['rev-parse', '--short', args.baseline], { cwd: root, encoding: 'utf8' }).trim();
const rows = { 'baseline named': [], 'candidate named': [], 'candidate unnamed': [] };
const started = performance.now();
try {
  for (let run = 0; run < runs; run++) {
    // Interleaved, and in a rotating order, so that neither build always runs first.
    const order = [
      ['baseline named', baseline.index, 'supervise-named'],
      ['candidate named', candidate.index, 'supervise-named'],
      ['candidate unnamed', candidate.index, 'supervise-nosignal'],
    ];
    for (let i = 0; i < order.length; i++) {
      const [label, index, adapter] = order[(i + run) % order.length];
      rows[label].push(measure(index, adapter).spawnNsPerTask);
    }
    process.stderr.write(`run ${run + 1}/${runs}\n`);
  }
} finally {
  rmSync(baseline.dir, { recursive: true, force: true });
  rmSync(candidate.dir, { recursive: true, force: true });
}

const base = median(rows['baseline named']);
const fmt = (value) => value.toLocaleString('en-US', { maximumFractionDigits: 0 });
const lines = [
  '<!-- spawn-options:start -->',
  '## Spawn options: what checking their names costs',
  '',
  `Written by \`node benchmarks/spawn-options.mjs --baseline=${args.baseline} --runs=${runs} --n=${n}${args.write ? ' --write' : ''}\` on ${new Date().toISOString()} (${Math.round((performance.now() - started) / 1000)} s); do not edit by hand.`,
  '',
  `Method: W2's spawn workload (N = ${fmt(n)} pending tasks, time until each has started, one fresh process per figure) with \`sup.spawn(async () => …, { name: 'job' })\` (\`supervise-named\`), on the baseline build (commit ${baselineCommit}, before spawn checked its option names) and on the candidate (commit ${gitCommit(root)}), and \`supervise-nosignal\` (no options) on the candidate; ${runs} runs, interleaved in rotating order; Node ${process.version}; medians and ratios to the baseline.`,
  '',
  '| build | spawn | ns/task (median) | min | max | ratio to baseline |',
  '| --- | --- | ---: | ---: | ---: | ---: |',
];
for (const [label, values] of Object.entries(rows)) {
  const [build, named] = label.split(' ');
  lines.push(
    `| ${build} | ${named === 'named' ? "`{ name: 'job' }`" : 'no options'} | ${fmt(median(values))} | ${fmt(Math.min(...values))} | ${fmt(Math.max(...values))} | ${(median(values) / base).toFixed(3)} |`,
  );
}
lines.push('<!-- spawn-options:end -->');
const section = lines.join('\n');
console.log(section);

if (args.write) writeSection(root, 'spawn-options', section, 'drain');
