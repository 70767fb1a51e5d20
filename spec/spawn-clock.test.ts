import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ageOf, checkpointCount, noteSpawn } from '../lib/spawn-clock.js';

// Ids far above any the other tests in this process use, increasing as task ids do.
let id = 1e9;

describe('spawn clock', { timeout: 60_000 }, () => {
  it('dates every task of a turn by the first spawn of that turn, and later turns later', async () => {
    const first = ++id;
    noteSpawn(first);
    const sameTurn = ++id;
    noteSpawn(sameTurn);
    await sleep(60);
    const later = ++id;
    noteSpawn(later);
    const now = performance.now();
    const ageFirst = ageOf(first, now);
    assert.equal(ageOf(sameTurn, now), ageFirst, 'one clock read for the whole turn');
    assert.ok(ageFirst >= 55, `first task is about 60 ms old (${ageFirst})`);
    assert.ok(ageOf(later, now) < ageFirst - 40, 'a later turn has its own checkpoint');
  });

  it('keeps a bounded list and still dates old and new tasks in order', async () => {
    const oldest = ++id;
    noteSpawn(oldest);
    await sleep(5);
    for (let turn = 0; turn < 3_000; turn++) {
      // A new turn and a new millisecond each time: every one of them wants a checkpoint.
      await new Promise((resolve) => setImmediate(resolve));
      const start = performance.now();
      while (performance.now() - start < 1.01);
      noteSpawn(++id);
    }
    assert.ok(checkpointCount() <= 1024, `bounded: ${checkpointCount()} checkpoints after 3 000 turns`);
    const now = performance.now();
    const ages = [oldest, id - 2_000, id - 10, id].map((taskId) => ageOf(taskId, now));
    assert.deepEqual([...ages].sort((a, b) => b - a), ages, `older tasks are older: ${ages}`);
    assert.ok(ages[3]! <= 5, `the newest task is dated by its own checkpoint (${ages[3]} ms)`);
    assert.ok(ages[0]! >= 3_000, `the oldest keeps an age at least as long as the run (${ages[0]} ms)`);
  });

  it('an id before every checkpoint gets the oldest checkpoint', () => {
    assert.ok(ageOf(0, performance.now()) >= 0);
  });
});
