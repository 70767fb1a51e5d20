#!/usr/bin/env node
// Where a system's spawn time goes: spawns N pending tasks R times under the V8 CPU profiler (a new
// system each round, never shut down, so that the profile holds spawn and the GC it causes) and
// prints self time by function, with the share spent in the garbage collector.
//
//   node benchmarks/profile.mjs <adapter> [n=100000] [rounds=10]       (run `npm run build` first)
//   "$(node scripts/ensure-node.mjs 24)" benchmarks/profile.mjs supervise-nosignal
//
// The raw profile is written to benchmarks/profiles/<adapter>-node<major>.cpuprofile (gitignored),
// for Chrome DevTools or speedscope.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBodies } from './lib/bodies.mjs';
import { newGate } from './lib/gate.mjs';

const [adapterName, nArg = '100000', roundsArg = '10'] = process.argv.slice(2);
if (!adapterName) {
  console.error('usage: node benchmarks/profile.mjs <adapter> [n] [rounds]');
  process.exit(2);
}
const n = Number(nArg);
const rounds = Number(roundsArg);
const adapter = await import(`./adapters/${adapterName}.mjs`);
const count = { started: 0, cleanups: 0, finished: 0 };
const shared = { gate: newGate().promise, batch: undefined };
const env = { count, shared, bodies: makeBodies(count, shared, 20), slowMs: 20 };

adapter.create(env).spawnPending(2_000); // warm-up

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 50 });
await session.post('Profiler.start');
const t0 = performance.now();
for (let r = 0; r < rounds; r++) adapter.create(env).spawnPending(n);
const t1 = performance.now();
const { profile } = await session.post('Profiler.stop');
session.disconnect();

const out = join(dirname(fileURLToPath(import.meta.url)), 'profiles', `${adapterName}-node${process.versions.node.split('.')[0]}.cpuprofile`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(profile));

const time = new Map();
for (let i = 0; i < profile.samples.length; i++) time.set(profile.samples[i], (time.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
const self = new Map();
let total = 0;
for (const node of profile.nodes) {
  const t = time.get(node.id) ?? 0;
  total += t;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? ` ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}` : '';
  const key = `${functionName || '(anonymous)'}${where}`;
  self.set(key, (self.get(key) ?? 0) + t);
}
console.log(`${adapterName} on Node ${process.version}: ${rounds} x ${n} spawns, ${(((t1 - t0) * 1e6) / (n * rounds)).toFixed(0)} ns/spawn (profiled)`);
console.log(`self time by function, ns per spawn (share of the profile):`);
for (const [key, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  console.log(`${((t * 1e3) / (n * rounds)).toFixed(0).padStart(7)}  ${((100 * t) / total).toFixed(1).padStart(5)} %  ${key}`);
}
console.log(`profile: ${out}`);
process.exit(0);
