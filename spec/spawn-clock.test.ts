// The spawn clock dates every task from a bounded list of checkpoints. These tests drive it with
// a fake `performance.now()`, one spawn turn at a time (a microtask between turns, as between
// turns of the event loop), and compare every age it gives with the true one: the promise is
// max(3 %, one turn + 2 ms); a simulated turn takes no time, so here that is max(3 %, 2 ms).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Supervisor } from '../lib/index.js';
import { ageOf, agesOf, checkpointCount, noteSpawn } from '../lib/spawn-clock.js';

const realNow = performance.now;
let fakeNow = 0;
let nextId = 1e9; // far above the ids of the real tasks these tests spawn first

/** Starts a simulated scenario well after everything before it: the clock never goes back. */
function startFakeClock(): void {
  fakeNow = Math.max(fakeNow, realNow.call(performance)) + 1e12;
  performance.now = () => fakeNow;
}

afterEach(() => {
  performance.now = realNow;
});

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Spawns `count` tasks in one turn at the fake time, and records when; returns the first id. */
async function turn(spawnedAt: Map<number, number>, count = 1): Promise<number> {
  const first = nextId;
  for (let i = 0; i < count; i++) {
    noteSpawn(nextId);
    spawnedAt.set(nextId++, fakeNow);
  }
  await undefined; // the turn ends: the next spawn reads the clock again
  return first;
}

function allowedError(trueAge: number): number {
  return Math.max(0.03 * trueAge, 2);
}

/** Checks every recorded task (or every `stride`th) against the clock's answer at the fake now. */
function checkAges(spawnedAt: Map<number, number>, stride = 1): { checked: number; worst: number } {
  let checked = 0;
  let worst = 0;
  let index = 0;
  for (const [id, at] of spawnedAt) {
    if (index++ % stride !== 0) continue;
    const trueAge = fakeNow - at;
    const error = Math.abs(ageOf(id, fakeNow) - trueAge);
    assert.ok(error <= allowedError(trueAge), `task ${id}: true age ${trueAge} ms, dated ${ageOf(id, fakeNow)} ms (error ${error} ms)`);
    worst = Math.max(worst, error / trueAge || 0);
    checked++;
  }
  return { checked, worst };
}

// First, with the real clock: the simulated scenarios below move the clock far ahead. Task ids
// only grow, and the clock relies on it: the real tasks first, then the made-up ids from 1e9 up.
describe('spawn clock, with the real clock', { timeout: 60_000 }, () => {
  it("through the public API: a stuck task's age in sup.tasks() and in the report is its real age", async () => {
    const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 50, disposeReserve: 0 });
    const before = sup.spawn(() => new Promise((resolve) => setTimeout(resolve, 1)), { name: 'brief' });
    await before;
    const spawnedAt = performance.now();
    sup.spawn(() => new Promise(() => {}), { name: 'stuck' });
    // Short tasks, one every turn, for a while.
    const until = performance.now() + 300;
    while (performance.now() < until) await sup.spawn(() => new Promise((resolve) => setImmediate(resolve)), { name: 'brief' });
    const listed = sup.tasks().tasks.find((task) => task.name === 'stuck')!;
    const trueAge = performance.now() - spawnedAt;
    assert.ok(Math.abs(listed.ageMs - trueAge) <= Math.max(0.03 * trueAge, 20), `listed ${listed.ageMs} ms, true ${trueAge} ms`);
    const report = await sup.shutdown();
    const straggler = report.stragglers.find((task) => task.name === 'stuck')!;
    const reportedAge = performance.now() - spawnedAt;
    assert.ok(straggler.ageMs <= reportedAge + 2 && straggler.ageMs >= trueAge - 2, `reported ${straggler.ageMs} ms, between ${trueAge} and ${reportedAge} ms`);
  });

  it('dates every task of a turn by the first spawn of that turn, and later turns later', async () => {
    const first = nextId++;
    noteSpawn(first);
    const sameTurn = nextId++;
    noteSpawn(sameTurn);
    await new Promise((resolve) => setTimeout(resolve, 60));
    const later = nextId++;
    noteSpawn(later);
    const now = performance.now();
    const ageFirst = ageOf(first, now);
    assert.equal(ageOf(sameTurn, now), ageFirst, 'one clock read for the whole turn');
    assert.ok(ageFirst >= 55, `first task is about 60 ms old (${ageFirst})`);
    assert.ok(ageOf(later, now) < ageFirst - 40, 'a later turn has its own checkpoint');
  });
});

describe('spawn clock: the age of every task, from a bounded list of checkpoints', { timeout: 120_000 }, () => {
  it('a daemon spawning a short task every 1 to 2 ms: a task stuck for 6 s is dated 6 s (it used to be 12 s)', async () => {
    startFakeClock();
    const next = random(1);
    const spawnedAt = new Map<number, number>();
    const spawnFor = async (ms: number) => {
      const until = fakeNow + ms;
      while (fakeNow < until) {
        await turn(spawnedAt);
        fakeNow += 1 + next();
      }
    };
    await spawnFor(6_000);
    const stuck = await turn(spawnedAt);
    const stuckAt = fakeNow;
    await spawnFor(6_000);
    const age = ageOf(stuck, fakeNow);
    assert.ok(Math.abs(age - (fakeNow - stuckAt)) <= allowedError(fakeNow - stuckAt), `stuck task dated ${age} ms, true age ${fakeNow - stuckAt} ms`);
    checkAges(spawnedAt);
    assert.ok(checkpointCount() <= 2048);
  });

  it('random schedules (bursts, gaps from microseconds to hours): every age within max(3 %, 2 ms), the list bounded', async () => {
    for (const seed of [2, 3, 4, 5, 6]) {
      startFakeClock();
      const next = random(seed);
      const spawnedAt = new Map<number, number>();
      for (let i = 0; i < 20_000; i++) {
        await turn(spawnedAt, next() < 0.05 ? 1 + Math.floor(next() * 50) : 1);
        // Log-uniform gaps from 10 µs to about 1 hour, mostly short.
        fakeNow += 10 ** (-2 + next() * (next() < 0.9 ? 3 : 8.5));
        if (i % 5_000 === 4_999) checkAges(spawnedAt, 7);
        assert.ok(checkpointCount() <= 2048, `${checkpointCount()} checkpoints`);
      }
      checkAges(spawnedAt);
      // The one-walk form a report of many stragglers uses gives the same ages.
      const ids = [...spawnedAt.keys()];
      assert.deepEqual(
        agesOf(ids, fakeNow),
        ids.map((id) => ageOf(id, fakeNow)),
      );
    }
  });

  it('300 000 tasks spawned over a simulated week: the list stays within its capacity, and ages stay right', async () => {
    startFakeClock();
    const next = random(7);
    const spawnedAt = new Map<number, number>();
    const week = 7 * 24 * 3_600_000;
    const start = fakeNow;
    for (let i = 0; i < 300_000; i++) {
      await turn(spawnedAt);
      // Mostly one turn a millisecond; now and then the daemon is quiet for a while.
      fakeNow += next() < 0.999 ? 1 + next() : (week / 300) * next() * 2;
      assert.ok(checkpointCount() <= 2048);
    }
    assert.ok(fakeNow - start > week / 2);
    const { checked } = checkAges(spawnedAt, 31);
    assert.ok(checked > 9_000);
  });
});
