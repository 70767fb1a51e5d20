#!/usr/bin/env node
// Runs the built tests on every other supported Node major, after `npm run build` and
// `npm run build:esnext` (npm test does both, and first runs the same tests on the machine's Node
// under c8):
//
//   node scripts/matrix.mjs            -> Node 22, 24 and 26
//   node scripts/matrix.mjs 24         -> Node 24 only
//
// For each major: dist/spec/*.test.js (ES2022 build: `await using` down-levelled by TypeScript).
// On 24 and later also dist-esnext/spec/ (target ESNext: native `await using`), but only the test
// files whose ESNext build is not the same code as their ES2022 build (`esnextSpecs` below): those
// that use `using` or `await using`, that import or start a fixture or example that does, or that
// check which build they belong to. Every other test file compiles to the same bytes in both builds
// and has just run on that same binary in the ES2022 run: running it again would prove nothing new.
// The library itself must be the same code in both builds for this to hold: today dist/lib differs
// only in how lib/supervisor.js refers to its own class from inside it (ES2022 output goes through an
// alias, `_a = Supervisor`), which `sameLib` tells apart from any real difference. If anything else
// in dist/lib ever differs, every test file but consumer.test.js (which tests the packed dist/lib,
// the same in both builds) runs on the ESNext build again, and the summary says why.
// Binaries come from the npm packages node-<platform>-<arch>@<major>, through
// scripts/ensure-node.mjs; a major npm has no binary of for this machine is skipped, and said so.
// Test files run one at a time (--test-concurrency=1): the child-process tests are timing-sensitive.
// These runs repeat the heaviest randomized and load tests fewer times than the run under c8 on the
// machine's Node (`secondaryEnv`). Prints one summary line per run and a total, and exits non-zero
// if any run failed, timed out or ran no test.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnWithHangGuard } from './lib/hang-guard.mjs';
import { ensureNode } from './ensure-node.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const listOnly = args.includes('--list'); // print which files each run would run, and stop
const majors = args.filter((arg) => arg !== '--list');
if (majors.length === 0) majors.push('22', '24', '26');
const firstNativeMajor = 24; // native explicit resource management, so `await using` parses
const runTimeoutMs = 20 * 60_000; // a hang guard per run; a run normally takes about 3 minutes

// The heaviest randomized and load tests, repeated fewer times than in npm test's run on the
// machine's Node (which keeps their defaults): FC_RUNS, 50 random runs of each property test instead
// of 200 and 150 (spec/properties.test.ts, spec/restart-strategy.test.ts); DRAIN_SHUTDOWNS, 2
// shutdowns under load per drain case instead of 5 and 3 (spec/drain.test.ts). Every test still
// runs, with every assertion, on every major; what a Node major changes (its http, net, timers)
// shows in the first runs. Set in the environment, they win.
const secondaryEnv = { FC_RUNS: '50', DRAIN_SHUTDOWNS: '2' };

if (!majors.every((major) => /^\d+$/.test(major))) {
  console.error('usage: node scripts/matrix.mjs [--list] [major...]');
  process.exit(2);
}

function testFiles(build, { exclude = [], only } = {}) {
  const dir = join(root, build, 'spec');
  if (!existsSync(dir)) throw new Error(`${build}/spec is missing: run npm run build${build === 'dist' ? '' : ':esnext'} first`);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.test.js') && !exclude.includes(name) && (only === undefined || only.includes(name)))
    .sort()
    .map((name) => join(build, 'spec', name));
}

/** Every .js file under `dir` (relative to dist/ or dist-esnext/), as posix paths. */
function jsFiles(build, dir) {
  const base = join(root, build, dir);
  if (!existsSync(base)) return [];
  return readdirSync(base, { recursive: true })
    .map((name) => posix.join(dir, String(name).split('\\').join('/')))
    .filter((name) => name.endsWith('.js'))
    .sort();
}

const stripSourceMap = (text) => text.replace(/^\/\/# sourceMappingURL=.*$/m, '');

/**
 * ES2022 output with TypeScript's class self-reference aliases put back: where a class refers to
 * itself from its own body (`Supervisor.#childOf`, `new Supervisor()`), ES2022 output declares
 * `var _a;`, writes `_a.#childOf` and `new _a()`, and assigns `_a = Supervisor;` after the class;
 * ESNext output names the class. The alias is the class itself, so the two are the same program.
 */
function withoutClassAliases(text) {
  const aliases = [...text.matchAll(/^(_[a-z]) = ([A-Za-z_$][\w$]*);$/gm)].map((m) => [m[1], m[2]]);
  let out = text.replace(/^var _[a-z](?:, _[a-z])*;\n/m, '').replace(/^_[a-z] = [A-Za-z_$][\w$]*;\n/gm, '');
  for (const [alias, name] of aliases) out = out.replace(new RegExp(`\\b${alias}\\b`, 'g'), name);
  return out;
}

/** The files of dist/lib that are not the same program in dist-esnext/lib (class aliases aside). */
function libDifferences() {
  return jsFiles('dist', 'lib').filter((file) => {
    const esnext = join(root, 'dist-esnext', file);
    if (!existsSync(esnext)) return true;
    const es2022 = stripSourceMap(readFileSync(join(root, 'dist', file), 'utf8'));
    return withoutClassAliases(es2022) !== stripSourceMap(readFileSync(esnext, 'utf8'));
  });
}

/**
 * The test files whose ESNext build is not the same code as their ES2022 build, with why: the test
 * file itself, a module it imports, or a fixture or example it names (startFixture('x'),
 * new URL('x.js', ...)), transitively, differs between dist/ and dist-esnext/ (source maps aside); or
 * it checks which build it belongs to (it names dist-esnext). dist/lib is compared apart
 * (`libDifferences`): see the header.
 */
function esnextSpecs() {
  const code = (build, file) => stripSourceMap(readFileSync(join(root, build, file), 'utf8'));
  const files = [...jsFiles('dist-esnext', 'spec'), ...jsFiles('dist-esnext', 'examples')];
  const text = new Map(files.map((file) => [file, code('dist-esnext', file)]));
  const why = new Map();
  for (const file of files) {
    if (!existsSync(join(root, 'dist', file)) || code('dist', file) !== text.get(file)) why.set(file, 'its own code');
  }
  const names = (file) => {
    const name = basename(file, '.js');
    return new RegExp(`['"\`/]${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\.js)?['"\`]`);
  };
  const imports = (from, file) =>
    [...text.get(from).matchAll(/(?:from |import\()['"](\.{1,2}\/[^'"]+)['"]/g)].some((m) => posix.join(posix.dirname(from), m[1]) === file);
  // Propagate to what imports or names a differing file, until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (const file of files) {
      if (why.has(file)) continue;
      const cause = [...why.keys()].find((other) => imports(file, other) || names(other).test(text.get(file)));
      if (cause !== undefined) {
        why.set(file, cause);
        changed = true;
      }
    }
  }
  const specs = new Map();
  for (const file of files.filter((f) => /^spec\/[^/]+\.test\.js$/.test(f))) {
    const name = posix.basename(file);
    if (why.has(file)) specs.set(name, why.get(file) === 'its own code' ? 'uses `using`' : `via ${relative('spec', why.get(file))}`);
    else if (text.get(file).includes('dist-esnext')) specs.set(name, 'checks its build');
  }
  return specs;
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
    const { child, timedOut: hung } = spawnWithHangGuard(binary, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] }, runTimeoutMs);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on('close', (code, signal) => {
      const timedOut = hung();
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
  const binaries = new Map();
  for (const major of majors) {
    const node = await ensureNode(major);
    if ('skip' in node) {
      console.log(`matrix: skipping Node ${major}: ${node.skip}`);
      results.push({ label: `Node ${major}`, skip: node.skip });
    } else binaries.set(major, node.binary);
  }
  const env = { ...secondaryEnv, ...process.env };
  delete env.NODE_V8_COVERAGE;
  // The differential ponyfill test compares with native Node 24; tell it where that is.
  const node24 = binaries.has('24') ? { binary: binaries.get('24') } : await ensureNode('24');
  if ('binary' in node24) env.SUPERVISE_NODE24 = node24.binary;
  const native = [...binaries.keys()].filter((major) => Number(major) >= firstNativeMajor);
  let esnext;
  if (native.length > 0) {
    checkEsnextBuild();
    const lib = libDifferences();
    const specs = lib.length > 0 ? undefined : esnextSpecs();
    esnext = specs === undefined ? testFiles('dist-esnext', { exclude: ['consumer.test.js'] }) : testFiles('dist-esnext', { only: [...specs.keys()] });
    console.log(
      specs === undefined
        ? `matrix: esnext runs every test file: dist/lib differs from dist-esnext/lib in ${lib.join(', ')}`
        : `matrix: esnext runs the ${specs.size} test files whose ESNext build differs from their ES2022 build (the other ${testFiles('dist').length - specs.size} are the same code): ${[...specs].map(([name, why]) => `${name} (${why})`).join(', ')}`,
    );
  }
  if (listOnly) {
    for (const [major] of binaries) {
      console.log(`Node ${major}: ${testFiles('dist').join(' ')}`);
      if (native.includes(major)) console.log(`Node ${major} esnext: ${esnext.join(' ')}`);
    }
    process.exit(0);
  }
  for (const [major, binary] of binaries) {
    results.push(await runTests(`Node ${major}`, binary, testFiles('dist'), env));
    if (native.includes(major)) results.push(await runTests(`Node ${major} esnext`, binary, esnext, env));
  }
} catch (error) {
  console.error(`matrix: ${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
}

const failed = (r) => r.skip === undefined && (r.code !== 0 || r.timedOut || !(r.tests > 0) || r.fail !== 0 || r.cancelled !== 0);
console.log('\n=== matrix summary');
for (const r of results) {
  if (r.skip !== undefined) {
    console.log(`  ${r.label.padEnd(16)} skipped: ${r.skip}`);
    continue;
  }
  const status = r.timedOut ? 'TIMED OUT' : failed(r) ? 'FAILED' : 'ok';
  console.log(
    `  ${r.label.padEnd(16)} ${r.version.padEnd(9)} ${String(r.tests).padStart(4)} tests  ${String(r.pass).padStart(4)} passed  ${r.fail} failed  ${r.cancelled} cancelled  ${r.skipped} skipped  ${r.seconds.toFixed(1).padStart(6)} s  ${status}`,
  );
}
const sum = (key) => results.reduce((total, r) => total + (Number.isFinite(r[key]) ? r[key] : 0), 0);
const anyFailed = results.some(failed) || results.length === 0;
if (anyFailed) process.exitCode = 1;
console.log(`  total ${((performance.now() - startedAt) / 1000).toFixed(1)} s, ${anyFailed ? 'FAILED' : 'ok'}`);
const notRun = results.filter((r) => r.skip !== undefined).map((r) => r.label);
console.log(
  `matrix: ${sum('pass')} passed, ${sum('fail') + sum('cancelled')} failed, ${sum('skipped')} skipped${notRun.length > 0 ? `; ${notRun.join(', ')} not run: no binary on npm for ${process.platform} ${process.arch}` : ''}`,
);
