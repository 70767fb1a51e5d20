// The package as a user gets it: `npm pack`, installed from the tarball into a fresh project under
// the OS's temp directory (offline: supervise has no dependencies), then used the ways a user would,
// on the Node that runs this file (scripts/matrix.mjs runs it on 22, 24 and 26 too):
// - ESM `import { Supervisor, run } from 'supervise'`, including a run() daemon stopped by SIGTERM;
// - CommonJS `require('supervise')`, which needs require(esm) (unflagged since Node 20.19 and 22.12);
// - TypeScript with `await using sup = new Supervisor()`, type-checked against the published .d.ts
//   (skipLibCheck off) under moduleResolution NodeNext and Bundler, a .cts file under NodeNext, and run.
// - both entry points at once, 'supervise' and 'supervise/testing', from ESM and from CommonJS: one
//   module state (one Supervisor class, one signal registry) in the bundle they share.
// The tarball's file list is asserted: the bundle (dist/bundle: the two entry points and the chunk they
// share), dist/lib .d.ts, README, CHANGELOG, LICENSE, package.json.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sendSignal, needs } from './helpers.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);
const [minorOfMajor = 0] = process.versions.node.split('.').slice(1).map(Number);
const tsc = join(repo, 'node_modules', '.bin', 'tsc');
const typeRoots = join(repo, 'node_modules', '@types');
const nativeAwaitUsing = major >= 24;
/** Node's require(esm) without a flag: 20.19+, 22.12+, and every major from 23 on. */
const requireEsm = major >= 23 || (major === 22 && minorOfMajor >= 12) || (major === 20 && minorOfMajor >= 19);

// Children get the environment without coverage collection (c8 would otherwise trace npm and tsc)
// and without npm's lifecycle variables, so the nested npm acts as it would for a user.
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => key !== 'NODE_V8_COVERAGE' && !/^npm_(package|lifecycle|config_local_prefix)/i.test(key)),
);

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to completion, with a hang guard; never rejects on a non-zero exit. */
function exec(file: string, args: readonly string[], cwd: string, timeout = 120_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, timeout, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(Object.assign(error, { stdout, stderr }));
      else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

/** Like exec, but asserts a zero exit and returns stdout. */
async function ok(file: string, args: readonly string[], cwd: string): Promise<string> {
  const { code, stdout, stderr } = await exec(file, args, cwd);
  assert.equal(code, 0, `${file} ${args.join(' ')} exited ${code}\nstdout: ${stdout}\nstderr: ${stderr}`);
  return stdout;
}

/** Every lib/**\/*.ts source (not a .d.ts), relative to lib/, with forward slashes. */
function librarySources(dir = join(repo, 'lib')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return librarySources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [relative(join(repo, 'lib'), path).split(sep).join('/')] : [];
  });
}

const tsconfig = (compilerOptions: Record<string, unknown>, files: string[]) =>
  JSON.stringify(
    {
      compilerOptions: { strict: true, skipLibCheck: false, types: ['node'], typeRoots: [typeRoots], ...compilerOptions },
      files,
    },
    null,
    2,
  );

// A TypeScript user's program: `await using`, the types of spawn and the report, and a type error
// the published declarations must catch.
const typescriptProgram = `import { Supervisor, run, type ShutdownReport, type SupervisorState, type Task } from 'supervise';
import { runForTest, type ProgramUnderTest } from 'supervise/testing';

const order: string[] = [];
let report: ShutdownReport | undefined;
{
  await using sup = new Supervisor({ name: 'consumer', signals: false, logger: false });
  sup.defer(() => void order.push('deferred'));
  const task: Task<number> = sup.spawn(async (signal: AbortSignal) => {
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    order.push('task aborted');
    return 42;
  }, { name: 'waiter' });
  const state: SupervisorState = sup.state;
  order.push(state, task.name);
  // @ts-expect-error: spawn takes a function, and the published types say so
  if (order.length < 0) sup.spawn(42);
  void sup.done.then((r) => (report = r));
}
await Promise.resolve();
const runType: string = typeof run;
const startProgram: (main: (sup: Supervisor) => void) => ProgramUnderTest = runForTest;
console.log(JSON.stringify({ order, exitCode: report?.exitCode, cause: report?.cause, runType, testing: typeof startProgram }));
`;
const typescriptOutput = {
  order: ['running', 'waiter', 'task aborted', 'deferred'],
  exitCode: 0,
  cause: 'dispose',
  runType: 'function',
  testing: 'function',
};

describe(`the packed package, installed in a fresh project, on Node ${process.versions.node}`, { timeout: 600_000, concurrency: false }, () => {
  let temp = '';
  let app = '';
  let packed: { filename: string; files: Array<{ path: string }> } | undefined;

  before(async () => {
    temp = mkdtempSync(join(tmpdir(), 'supervise-consumer-'));
    app = join(temp, 'app');
    mkdirSync(app);
    const [pack] = JSON.parse(await ok('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', temp], repo)) as [typeof packed];
    packed = pack;
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', private: true, type: 'module' }, null, 2));
    await ok('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', app, join(temp, pack!.filename)], app);
  });

  after(() => {
    if (temp !== '') rmSync(temp, { recursive: true, force: true });
  });

  it('the tarball holds the bundle, dist/lib .d.ts, README, CHANGELOG, LICENSE and package.json, nothing else', () => {
    const expected = [
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'package.json',
      'dist/bundle/index.js',
      'dist/bundle/shared.js',
      'dist/bundle/testing.js',
      ...librarySources().map((source) => `dist/lib/${source.slice(0, -'.ts'.length)}.d.ts`),
    ].sort();
    assert.deepEqual(packed!.files.map((file) => file.path).sort(), expected);
  });

  it('installs from the tarball with no registry and no dependencies', () => {
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules', 'supervise', 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(manifest.dependencies, undefined);
    assert.deepEqual(
      readdirSync(join(app, 'node_modules')).filter((name) => !name.startsWith('.')),
      ['supervise'],
    );
  });

  it("ESM: import { Supervisor, run } from 'supervise' resolves to the installed package and works", async () => {
    writeFileSync(
      join(app, 'esm.mjs'),
      `import { Supervisor, run, AsyncDisposableStack, SupervisorClosedError } from 'supervise';
const sup = new Supervisor({ signals: false, logger: false });
const log = [];
sup.defer(() => log.push('deferred'));
sup.spawn(async (signal) => {
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  log.push('task aborted');
});
const report = await sup.shutdown();
let closed = false;
try { sup.spawn(() => {}); } catch (error) { closed = error instanceof SupervisorClosedError; }
console.log(JSON.stringify({
  resolved: import.meta.resolve('supervise'),
  log, exitCode: report.exitCode, closed,
  run: typeof run, stack: typeof new AsyncDisposableStack().disposeAsync,
}));
`,
    );
    const out = JSON.parse(await ok(process.execPath, ['esm.mjs'], app));
    assert.equal(fileURLToPath(out.resolved), join(app, 'node_modules', 'supervise', 'dist', 'bundle', 'index.js'));
    assert.deepEqual(out, { ...out, log: ['task aborted', 'deferred'], exitCode: 0, closed: true, run: 'function', stack: 'function' });
  });

  it("ESM: 'supervise/testing' resolves to the installed sub-path and tests a shutdown in-process", async () => {
    writeFileSync(
      join(app, 'testing.mjs'),
      `import { recordTimeline, runForTest, simulateSignal } from 'supervise/testing';
const program = runForTest((sup) => {
  sup.defer(function closeDb() {});
  sup.spawn(async (signal) => {
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  }, { name: 'worker' });
}, { name: 'app', logger: false });
const timeline = recordTimeline(program.supervisor);
simulateSignal(program.supervisor, 'SIGTERM');
const exitCode = await program.exitCode;
timeline.assertOrder(['app: shutdown signal SIGTERM', 'app: settle worker fulfilled', 'app: dispose closeDb disposed', 'app: stopped 0']);
console.log(JSON.stringify({ resolved: import.meta.resolve('supervise/testing'), exitCode }));
`,
    );
    const out = JSON.parse(await ok(process.execPath, ['testing.mjs'], app));
    assert.equal(fileURLToPath(out.resolved), join(app, 'node_modules', 'supervise', 'dist', 'bundle', 'testing.js'));
    assert.equal(out.exitCode, 0);
  });

  it("ESM: 'supervise' and 'supervise/testing' share one module state: one Supervisor class, one signal registry", async () => {
    writeFileSync(
      join(app, 'shared.mjs'),
      `import { Supervisor } from 'supervise';
import { runForTest, simulateSignal } from 'supervise/testing';
// A root made from the main entry, and one run by the testing entry: both listen to SIGTERM.
const sup = new Supervisor({ name: 'main-entry', logger: false });
const program = runForTest(undefined, { name: 'testing-entry', logger: false });
const listeners = process.listenerCount('SIGTERM');
const sameClass = program.supervisor instanceof Supervisor;
// The testing entry's simulateSignal takes the main entry's Supervisor (a copy of the class would
// fail its instanceof check), and reaches that root through the one signal registry. What it
// throws is printed: runForTest's process listeners would otherwise take it as the run's failure.
try {
  simulateSignal(sup, 'SIGTERM');
  const report = await sup.done;
  simulateSignal(program.supervisor, 'SIGTERM');
  console.log(JSON.stringify({ listeners, sameClass, cause: report.cause, signal: report.signal, exitCode: await program.exitCode, after: process.listenerCount('SIGTERM') }));
} catch (error) {
  console.log(JSON.stringify({ listeners, sameClass, error: String(error) }));
}
`,
    );
    const out = JSON.parse(await ok(process.execPath, ['shared.mjs'], app));
    assert.deepEqual(out, { listeners: 1, sameClass: true, cause: 'signal', signal: 'SIGTERM', exitCode: 0, after: 0 });
  });

  it('ESM: a run() daemon stops in order on SIGTERM and exits 0', { skip: needs('posixSignals') }, async () => {
    writeFileSync(
      join(app, 'daemon.mjs'),
      `import { run } from 'supervise';
await run(async (sup) => {
  sup.defer(() => console.log('resource closed'));
  sup.spawn(async (signal) => {
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    console.log('worker stopped');
  }, { name: 'worker' });
  console.log('ready');
}, { name: 'consumer', onShutdown: () => console.log('onShutdown') });
`,
    );
    const child = spawn(process.execPath, ['daemon.mjs'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      // One SIGTERM: a second one would force the exit (128 + n), or, once run() has removed its
      // listeners, kill the process with Node's default action.
      if (!signalled && stdout.includes('ready\n')) {
        signalled = true;
        sendSignal(child, 'SIGTERM');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
    clearTimeout(guard);
    assert.equal(code, 0, `stdout: ${stdout}\nstderr: ${stderr}`);
    assert.deepEqual(stdout.trim().split('\n'), ['ready', 'onShutdown', 'worker stopped', 'resource closed']);
    assert.match(stderr, /received SIGTERM, shutting down "consumer"/);
  });

  it(`CommonJS: require('supervise') works (require(esm) on Node ${process.versions.node})`, async () => {
    assert.ok(requireEsm, `Node ${process.versions.node} has no unflagged require(esm); supervise needs 20.19+`);
    assert.equal((process.features as { require_module?: boolean }).require_module, true);
    writeFileSync(
      join(app, 'cjs.cjs'),
      `const { Supervisor, run, isSuppressedError } = require('supervise');
const sup = new Supervisor({ signals: false, logger: false });
sup.spawn(async () => 'done');
sup.shutdown().then((report) => console.log(JSON.stringify({
  resolved: require.resolve('supervise'), exitCode: report.exitCode,
  run: typeof run, isSuppressedError: typeof isSuppressedError,
})));
`,
    );
    const out = JSON.parse(await ok(process.execPath, ['cjs.cjs'], app));
    assert.equal(out.resolved, join(app, 'node_modules', 'supervise', 'dist', 'bundle', 'index.js'));
    assert.deepEqual(out, { ...out, exitCode: 0, run: 'function', isSuppressedError: 'function' });
  });

  it("CommonJS: require('supervise') and require('supervise/testing') share the module state with each other and with import", async () => {
    writeFileSync(
      join(app, 'shared.cjs'),
      `const { Supervisor } = require('supervise');
const { simulateSignal } = require('supervise/testing');
const sup = new Supervisor({ name: 'required', logger: false });
simulateSignal(sup, 'SIGTERM');
sup.done.then(async (report) => {
  const imported = await import('supervise');
  console.log(JSON.stringify({ cause: report.cause, sameModule: imported.Supervisor === Supervisor }));
});
`,
    );
    assert.deepEqual(JSON.parse(await ok(process.execPath, ['shared.cjs'], app)), { cause: 'signal', sameModule: true });
  });

  it('TypeScript, moduleResolution NodeNext: `await using` type-checks against the published types and runs', async () => {
    writeFileSync(join(app, 'index.ts'), typescriptProgram);
    writeFileSync(
      join(app, 'tsconfig.nodenext.json'),
      // lib ES2022 only: the package's declarations bring in esnext.disposable themselves.
      tsconfig({ target: 'ES2022', lib: ['ES2022'], module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out-nodenext' }, ['index.ts']),
    );
    const files = await ok(tsc, ['-p', 'tsconfig.nodenext.json', '--listFilesOnly'], app);
    assert.ok(files.includes(join(app, 'node_modules', 'supervise', 'dist', 'lib', 'index.d.ts')), files);
    await ok(tsc, ['-p', 'tsconfig.nodenext.json'], app);
    const emitted = readFileSync(join(app, 'out-nodenext', 'index.js'), 'utf8');
    assert.doesNotMatch(emitted, /await using/, 'ES2022 down-levels `await using`');
    assert.deepEqual(JSON.parse(await ok(process.execPath, [join('out-nodenext', 'index.js')], app)), typescriptOutput);
  });

  it(`TypeScript, moduleResolution Bundler, target ESNext: type-checks, emits native \`await using\`${nativeAwaitUsing ? ' and runs' : ''}`, async () => {
    writeFileSync(join(app, 'index.ts'), typescriptProgram);
    writeFileSync(
      join(app, 'tsconfig.bundler.json'),
      tsconfig({ target: 'ESNext', lib: ['ESNext'], module: 'Preserve', moduleResolution: 'Bundler', outDir: 'out-bundler' }, ['index.ts']),
    );
    await ok(tsc, ['-p', 'tsconfig.bundler.json'], app);
    const emitted = readFileSync(join(app, 'out-bundler', 'index.js'), 'utf8');
    assert.match(emitted, /^\s*await using sup = new Supervisor\(/m);
    // Node 20 and 22 cannot parse `await using`; there the NodeNext build above is what runs.
    if (nativeAwaitUsing) {
      assert.deepEqual(JSON.parse(await ok(process.execPath, [join('out-bundler', 'index.js')], app)), typescriptOutput);
    }
  });

  it('TypeScript, a CommonJS .cts file under NodeNext: import compiles to require() and runs', async () => {
    writeFileSync(
      join(app, 'cjs.cts'),
      `import { Supervisor, type ShutdownReport } from 'supervise';
const sup = new Supervisor({ signals: false, logger: false });
sup.spawn(async () => 'done');
void sup.shutdown().then((report: ShutdownReport) => console.log(report.exitCode));
`,
    );
    writeFileSync(join(app, 'tsconfig.cts.json'), tsconfig({ target: 'ES2022', module: 'NodeNext', outDir: 'out-cts' }, ['cjs.cts']));
    await ok(tsc, ['-p', 'tsconfig.cts.json'], app);
    assert.match(readFileSync(join(app, 'out-cts', 'cjs.cjs'), 'utf8'), /require\("supervise"\)/);
    assert.equal((await ok(process.execPath, [join('out-cts', 'cjs.cjs')], app)).trim(), '0');
  });
});
