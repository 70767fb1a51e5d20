#!/usr/bin/env node
// Runs the built tests under Bun and Deno, after `npm run build:esnext`:
//
//   node scripts/runtimes.mjs              -> Bun, then Deno
//   node scripts/runtimes.mjs deno         -> Deno only
//   node scripts/runtimes.mjs bun close-server.test.js    -> one file under Bun
//
// Both runtimes have native explicit resource management, so they run the ESNext build
// (dist-esnext/spec/*.test.js, `await using` as written), every file, one at a time: Bun with
// `bun test` and Deno with `deno test -A`, the runners that execute `node:test` files (a plain
// `bun file.js` refuses `describe`, a plain `deno run` registers the tests and runs none). What a
// runtime lacks is skipped inside the specs, with a reason, through spec/helpers.ts's `needs`. The
// fixtures the specs start with `spawn(process.execPath, [file])` run under the same runtime: Bun
// takes a script as Node does, and Deno's child_process turns that call into `deno run -A
// --unstable-bare-node-builtins --unstable-detect-cjs file` itself, so no argv prefix is needed.
// The property tests run a quarter of their random cases (FC_RUNS=50) and the drain tests two
// shutdowns per case (DRAIN_SHUTDOWNS=2), unless set.
//
// Binaries come from npm through scripts/ensure-runtime.mjs; on a platform without them the runtime
// is skipped with one line, never failed. Prints one line per file and a summary per runtime, and
// exits non-zero if any file failed, timed out or ran no test, or a runtime ran no file at all.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnWithHangGuard } from './lib/hang-guard.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const known = ['bun', 'deno'];
const args = process.argv.slice(2);
const names = args.filter((arg) => known.includes(arg));
const only = args.filter((arg) => !known.includes(arg));
const fileTimeoutMs = 5 * 60_000; // a hang guard per file; the slowest takes well under a minute
const UNSUPPORTED_PLATFORM = 3; // scripts/ensure-runtime.mjs: no binary for this platform

if (only.some((file) => !file.endsWith('.test.js'))) {
  console.error('usage: node scripts/runtimes.mjs [bun|deno...] [name.test.js...]');
  process.exit(2);
}

/** How each runtime runs one test file, and how to read its counts. */
const runners = {
  bun: {
    // bun test's own per-test timeout (5 s) would cut the specs' hang guards short: node:test has none.
    args: (file) => ['test', '--timeout=600000', `./${file}`],
    parse: parseBun,
  },
  deno: {
    // --no-check: the files are JavaScript, and deno would type-check them against the .d.ts files beside them.
    args: (file) => ['test', '--allow-all', '--no-check', '--reporter=tap', file],
    parse: parseDenoTap,
  },
};

/** The binary for `name`, or undefined when its platform has none (said once, by ensure-runtime). */
function ensureRuntime(name) {
  try {
    return execFileSync(process.execPath, [join(root, 'scripts', 'ensure-runtime.mjs'), name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 10 * 60_000,
    }).trim();
  } catch (error) {
    if (error.status === UNSUPPORTED_PLATFORM) return undefined;
    throw error;
  }
}

function testFiles() {
  const dir = join(root, 'dist-esnext', 'spec');
  if (!existsSync(dir)) throw new Error('dist-esnext/spec is missing: run npm run build:esnext first');
  const files = readdirSync(dir).filter((name) => name.endsWith('.test.js') && (only.length === 0 || only.includes(name)));
  if (files.length === 0) throw new Error(`no test file matches ${only.join(' ')}`);
  return files.sort().map((name) => join('dist-esnext', 'spec', name));
}

/** bun test's closing lines: " 12 pass", " 1 skip", " 0 fail" (and " 1 error" for one outside a test). */
function parseBun(output) {
  const count = (name) => {
    const matches = [...output.matchAll(new RegExp(`^ (\\d+) ${name}$`, 'gm'))];
    return matches.length > 0 ? Number(matches.at(-1)[1]) : 0;
  };
  return { pass: count('pass'), skip: count('skip') + count('todo'), fail: count('fail') + count('errors?') };
}

/**
 * deno test's TAP: one `ok`/`not ok` line per test and per `describe`, a suite's after its
 * children's, which follow a `# Subtest: <name>` line at the suite's indentation. Suites are not
 * counted, as node:test does not count them as tests.
 */
function parseDenoTap(output) {
  const counts = { pass: 0, skip: 0, fail: 0 };
  const suites = new Map(); // indentation -> names of the suites opened there
  for (const line of output.split('\n')) {
    const subtest = /^(\s*)# Subtest: (.*)$/.exec(line);
    if (subtest) {
      const open = suites.get(subtest[1].length) ?? [];
      open.push(subtest[2]);
      suites.set(subtest[1].length, open);
      continue;
    }
    const result = /^(\s*)(ok|not ok) \d+ - (.*?)( # SKIP.*)?$/.exec(line);
    if (!result) continue;
    const open = suites.get(result[1].length);
    if (open?.at(-1) === result[3]) {
      open.pop();
      continue;
    }
    if (result[4] !== undefined) counts.skip++;
    else if (result[2] === 'ok') counts.pass++;
    else counts.fail++;
  }
  return counts;
}

/** Runs one file; returns its counts. Output is kept and printed only when the file failed. */
function runFile(name, binary, file) {
  return new Promise((resolvePromise) => {
    const started = performance.now();
    // Scaled down here, as Node runs them in full (a value given is kept): the property tests
    // (properties, restart-strategy) take FC_RUNS random cases, a quarter of their default (200
    // and 150); the drain tests repeat each shutdown DRAIN_SHUTDOWNS times, not 5 or 3.
    const env = { FC_RUNS: '50', DRAIN_SHUTDOWNS: '2', ...process.env, NO_COLOR: '1' };
    delete env.NODE_V8_COVERAGE;
    delete env.FORCE_COLOR;
    const { child, timedOut: hung } = spawnWithHangGuard(
      binary,
      runners[name].args(file),
      { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
      fileTimeoutMs,
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
    child.on('close', (code, signal) => {
      const timedOut = hung();
      const counts = runners[name].parse(output.replace(/\x1b\[[0-9;]*m/g, ''));
      const result = { file, code, signal, timedOut, ...counts, seconds: (performance.now() - started) / 1000 };
      const ok = !failed(result);
      console.log(
        `  ${name.padEnd(5)} ${file.replace('dist-esnext/spec/', '').padEnd(32)} ${String(counts.pass).padStart(3)} passed  ${counts.fail} failed  ${String(counts.skip).padStart(2)} skipped  ${result.seconds.toFixed(1).padStart(5)} s${ok ? '' : timedOut ? '  TIMED OUT' : '  FAILED'}`,
      );
      if (!ok) console.log(output.replace(/^/gm, '    | '));
      resolvePromise(result);
    });
  });
}

const failed = (r) => r.code !== 0 || r.timedOut || r.fail !== 0 || r.pass + r.skip === 0;

const summaries = [];
const startedAt = performance.now();
try {
  const files = testFiles();
  for (const name of names.length > 0 ? names : known) {
    const binary = ensureRuntime(name);
    if (binary === undefined) {
      summaries.push({ name, skipped: true });
      continue;
    }
    // "1.4.5" from bun, "deno 2.9.6 (stable, release, …)" and more lines from deno
    const version = execFileSync(binary, ['--version'], { encoding: 'utf8' })
      .replace(/^deno /, '')
      .split(/\s/)[0];
    console.log(`\n=== runtimes: ${name} ${version}: ${files.length} files`);
    const started = performance.now();
    const results = [];
    for (const file of files) results.push(await runFile(name, binary, file));
    summaries.push({ name, version, results, seconds: (performance.now() - started) / 1000 });
  }
} catch (error) {
  console.error(`runtimes: ${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
}

console.log('\n=== runtimes summary');
let anyFailed = process.exitCode === 1;
for (const s of summaries) {
  if (s.skipped) {
    console.log(`  ${s.name.padEnd(5)} skipped: no binary for ${process.platform} ${process.arch}`);
    continue;
  }
  const sum = (key) => s.results.reduce((total, r) => total + r[key], 0);
  const bad = s.results.filter(failed);
  if (bad.length > 0 || s.results.length === 0) anyFailed = true;
  console.log(
    `  ${s.name.padEnd(5)} ${s.version.padEnd(7)} ${String(s.results.length).padStart(3)} files  ${String(sum('pass')).padStart(4)} passed  ${sum('fail')} failed  ${String(sum('skip')).padStart(3)} skipped  ${s.seconds.toFixed(1).padStart(6)} s  ${bad.length > 0 ? `FAILED: ${bad.map((r) => r.file.replace('dist-esnext/spec/', '')).join(', ')}` : 'ok'}`,
  );
}
if (anyFailed) process.exitCode = 1;
console.log(`  total ${((performance.now() - startedAt) / 1000).toFixed(1)} s, ${anyFailed ? 'FAILED' : 'ok'}`);
