// One measurement in this (fresh) process; prints one line of JSON on stdout. run.mjs starts it as
//
//   node --expose-gc benchmarks/measure.mjs <adapter> <workload> <n>
//
// Workloads (see RESULTS.md for what each one means):
//   shutdown      W1/W1b: n pending tasks; time from shutdown() to every cleanup done (ns/task)
//   spawn         W2/W2b: time to spawn n pending tasks until each has started (ns/task), heap bytes per pending task
//   churn         W3/W3b: n tasks that finish at once in batches of 10 000; tasks/s, heap after vs before
//   layers        W4: n nested layers of 200 tasks, each needing 20 ms of async cleanup; shutdown ms
//   signal-cost   what a per-task AbortSignal costs: adapter is `shared` or `default` (the abort reason)
//
// An adapter (adapters/*.mjs) exports `name`, `describe`, `mode` and `create(env)`, which returns
//   { spawnPending(n), spawnSlow(n), spawnChurn(n), newBatch() -> release, child(), shutdown(), size() }
// spawn* may return before the tasks start (this file waits until each has); shutdown() resolves
// when the system says it is done, and this file then checks that every cleanup ran.
import { performance } from 'node:perf_hooks';
import { makeBodies } from './lib/bodies.mjs';
import { newGate } from './lib/gate.mjs';

const [adapterName, workload, nArg] = process.argv.slice(2);
const n = Number(nArg);
if (!adapterName || !workload || !Number.isInteger(n) || n <= 0) {
  console.error('usage: node --expose-gc benchmarks/measure.mjs <adapter> <workload> <n>');
  process.exit(2);
}
if (typeof globalThis.gc !== 'function') {
  console.error('measure.mjs needs --expose-gc');
  process.exit(2);
}

const WARMUP_TASKS = 2_000;
const CHURN_BATCH = 10_000;
const LAYER_TASKS = 200;
const SLOW_MS = 20;
/** A W4 shutdown still running after this long is reported as capped (one done one cleanup at a time takes 4 s a layer). */
const LAYERS_CAP_MS = 5_000;

const tick = () => new Promise((resolve) => setImmediate(resolve));
function gc() {
  globalThis.gc();
  globalThis.gc();
}
/**
 * A scavenge: pays, inside the timed window, for what the window left in the young generation.
 * Without it a system whose N tasks just fit in the young generation looks faster than one that
 * does not, though both leave the same kind of work to the collector.
 */
function payYoungGenerationDebt() {
  globalThis.gc({ type: 'minor' });
}
function heapUsed() {
  gc();
  return process.memoryUsage().heapUsed;
}
async function until(what, predicate, limitMs = 120_000) {
  const startedAt = performance.now();
  while (!predicate()) {
    if (performance.now() - startedAt > limitMs) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}
function check(ok, message) {
  if (!ok) throw new Error(`CHECK FAILED (${adapterName} ${workload} ${n}): ${message}`);
}

const count = { started: 0, cleanups: 0, finished: 0 };
const shared = { gate: undefined, batch: undefined };
const env = { count, shared, bodies: makeBodies(count, shared, SLOW_MS), slowMs: SLOW_MS };
function reset() {
  count.started = count.cleanups = count.finished = 0;
  const gate = newGate();
  shared.gate = gate.promise;
  return gate.release;
}

/** Spawns `tasks` pending tasks, waits until each has started; returns the gate release for no-signal bodies. */
async function spawnPending(system, tasks) {
  system.spawnPending(tasks);
  await until(`${tasks} tasks to start`, () => count.started >= tasks);
  check(count.started === tasks, `${count.started} tasks started, expected ${tasks}`);
}

/** Shuts down and proves that shutdown waited for every cleanup. */
async function shutdownAndCheck(system, release, tasks) {
  release();
  await system.shutdown();
  check(count.cleanups === tasks, `shutdown resolved after ${count.cleanups} of ${tasks} cleanups`);
  const size = system.size();
  check(size === undefined || size === 0, `${size} tasks still tracked after shutdown`);
}

async function warmPending(adapter) {
  const release = reset();
  const system = adapter.create(env);
  await spawnPending(system, WARMUP_TASKS);
  await shutdownAndCheck(system, release, WARMUP_TASKS);
}

const workloads = {
  async shutdown(adapter) {
    await warmPending(adapter);
    const release = reset();
    const system = adapter.create(env);
    await spawnPending(system, n);
    gc();
    const t0 = performance.now();
    release();
    await system.shutdown();
    const cleanupsAtResolve = count.cleanups;
    const tm = performance.now();
    payYoungGenerationDebt();
    const t1 = performance.now();
    check(cleanupsAtResolve === n, `shutdown resolved after ${cleanupsAtResolve} of ${n} cleanups`);
    const size = system.size();
    check(size === undefined || size === 0, `${size} tasks still tracked after shutdown`);
    return { shutdownMs: t1 - t0, shutdownNsPerTask: ((t1 - t0) * 1e6) / n, shutdownMutatorNsPerTask: ((tm - t0) * 1e6) / n, cleanups: count.cleanups };
  },

  async spawn(adapter) {
    await warmPending(adapter);
    const release = reset();
    const system = adapter.create(env);
    const before = heapUsed();
    const t0 = performance.now();
    system.spawnPending(n);
    await until(`${n} tasks to start`, () => count.started >= n);
    const tm = performance.now();
    payYoungGenerationDebt();
    const t1 = performance.now();
    const after = heapUsed();
    check(count.started === n, `${count.started} tasks started, expected ${n}`);
    await shutdownAndCheck(system, release, n);
    return {
      spawnMs: t1 - t0,
      spawnNsPerTask: ((t1 - t0) * 1e6) / n,
      spawnMutatorNsPerTask: ((tm - t0) * 1e6) / n,
      heapBytesPerTask: (after - before) / n,
      cleanups: count.cleanups,
    };
  },

  async churn(adapter) {
    const release = reset();
    const system = adapter.create(env);
    const batch = Math.min(CHURN_BATCH, n);
    check(n % batch === 0, `n (${n}) must be a multiple of the batch size ${batch}`);
    async function runBatches(batches) {
      for (let b = 0; b < batches; b++) {
        const target = count.finished + batch;
        const open = system.newBatch();
        system.spawnChurn(batch);
        open();
        await until(`batch ${b} to finish`, () => count.finished >= target);
      }
    }
    await runBatches(2); // warm-up, on the same system: a long-running process is warm
    await tick();
    const before = heapUsed();
    const warmFinished = count.finished;
    const t0 = performance.now();
    await runBatches(n / batch);
    const t1 = performance.now();
    await tick();
    await tick();
    const after = heapUsed();
    check(count.finished - warmFinished === n, `${count.finished - warmFinished} of ${n} churn tasks finished`);
    const size = system.size();
    check(size === undefined || size === 0, `${size} tasks still tracked after churn`);
    await shutdownAndCheck(system, release, 0);
    return { churnMs: t1 - t0, tasksPerSec: n / ((t1 - t0) / 1000), heapGrowthBytes: after - before, heapBefore: before, heapAfter: after };
  },

  async layers(adapter) {
    const release = reset();
    const root = adapter.create(env);
    const layers = [root];
    // Nested layers first, then the tasks: each layer's own tasks stop before its nested layer.
    for (let i = 1; i < n; i++) layers.push(layers[i - 1].child());
    for (const layer of layers) layer.spawnSlow(LAYER_TASKS);
    const tasks = LAYER_TASKS * n;
    await until(`${tasks} tasks to start`, () => count.started >= tasks);
    const t0 = performance.now();
    release();
    let timer;
    const capped = new Promise((resolve) => (timer = setTimeout(resolve, LAYERS_CAP_MS, 'capped')));
    const outcome = await Promise.race([root.shutdown(), capped]);
    const t1 = performance.now();
    clearTimeout(timer);
    if (outcome === 'capped') {
      // Still shutting down: report how far it got; the process exits without waiting for the rest.
      return { layersMs: null, cappedAtMs: LAYERS_CAP_MS, cleanupsAtCap: count.cleanups, tasks, idealMs: SLOW_MS * n };
    }
    check(count.cleanups === tasks, `shutdown resolved after ${count.cleanups} of ${tasks} cleanups`);
    return { layersMs: t1 - t0, idealMs: SLOW_MS * n, xIdeal: (t1 - t0) / (SLOW_MS * n), cleanups: count.cleanups };
  },
};

async function signalCost(reasonKind, n) {
  // Distinct listeners, as each task's `resolve` is distinct; made before anything is timed.
  let hits = 0;
  const listeners = Array.from({ length: n }, () => () => void hits++);
  const controllers = new Array(n);
  const signals = new Array(n);
  const h0 = heapUsed();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const controller = new AbortController();
    controllers[i] = controller;
    signals[i] = controller.signal;
  }
  const t1 = performance.now();
  const h1 = heapUsed();
  const t2 = performance.now();
  for (let i = 0; i < n; i++) signals[i].addEventListener('abort', listeners[i]);
  const t3 = performance.now();
  const h2 = heapUsed();
  const reason = new DOMException('shutting down', 'AbortError');
  const t4 = performance.now();
  if (reasonKind === 'shared') for (let i = 0; i < n; i++) controllers[i].abort(reason);
  else for (let i = 0; i < n; i++) controllers[i].abort();
  const t5 = performance.now();
  check(hits === n, `${hits} of ${n} abort listeners ran`);
  const ns = (a, b) => ((b - a) * 1e6) / n;
  return {
    createNsPerSignal: ns(t0, t1),
    listenNsPerSignal: ns(t2, t3),
    abortNsPerSignal: ns(t4, t5),
    totalNsPerSignal: ns(t0, t1) + ns(t2, t3) + ns(t4, t5),
    heapBytesPerSignal: (h1 - h0) / n,
    heapBytesPerListener: (h2 - h1) / n,
  };
}

try {
  let metrics;
  if (workload === 'signal-cost') {
    check(adapterName === 'shared' || adapterName === 'default', 'signal-cost takes `shared` or `default`');
    await signalCost(adapterName, 2_000); // warm the same code first
    metrics = await signalCost(adapterName, n);
  } else {
    const work = workloads[workload];
    if (!work) throw new Error(`unknown workload ${workload}`);
    const adapter = await import(`./adapters/${adapterName}.mjs`);
    metrics = await work(adapter);
  }
  process.stdout.write(JSON.stringify({ adapter: adapterName, workload, n, node: process.version, metrics }) + '\n');
  process.exit(0);
} catch (error) {
  console.error(error?.stack ?? error);
  process.exit(1);
}
