/**
 * When was task N spawned? Answered without a timestamp on every task: a stuck-task report is
 * rare, spawning is hot, and four bytes a task are a tenth of a Task handle.
 *
 * Task ids increase in spawn order, so one checkpoint (first id, time) per turn of the event
 * loop dates every task: the clock is read by the first spawn after a turn began, and only a
 * checkpoint at least a millisecond newer than the last one is kept. A task's spawn time is
 * that of the checkpoint at or before its id, at most one synchronous burst of spawning early.
 * The list stays short however long the process runs: once it is full, the older half is thinned
 * to every other checkpoint, so old tasks are dated more coarsely, new ones exactly.
 *
 * @module
 */

const capacity = 1024;
/** First task id of each checkpoint, increasing. */
const ids: number[] = [];
/** `performance.now()` at each checkpoint. */
const times: number[] = [];
let readThisTurn = false;

function nextTurn(): void {
  readThisTurn = false;
}

/** @internal Notes that task `id` is being spawned now. */
export function noteSpawn(id: number): void {
  if (readThisTurn) return;
  readThisTurn = true;
  queueMicrotask(nextTurn);
  const now = performance.now();
  const last = times.length - 1;
  if (last >= 0 && now - (times[last] as number) < 1) return;
  if (ids.length === capacity) thinOlderHalf();
  ids.push(id);
  times.push(now);
}

/** @internal Milliseconds since task `id` was spawned, as of `now`. */
export function ageOf(id: number, now: number): number {
  // The last checkpoint whose first id is at or before `id`.
  let low = 0;
  let high = ids.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if ((ids[middle] as number) <= id) low = middle;
    else high = middle - 1;
  }
  const spawnedAt = times[low];
  return spawnedAt === undefined ? 0 : Math.max(0, Math.round(now - spawnedAt));
}

function thinOlderHalf(): void {
  const half = capacity >> 1;
  let kept = 0;
  for (let i = 0; i < capacity; i++) {
    if (i < half && i % 2 === 1) continue;
    ids[kept] = ids[i] as number;
    times[kept] = times[i] as number;
    kept++;
  }
  ids.length = kept;
  times.length = kept;
}

/** @internal How many checkpoints are kept, for tests of the bound. */
export function checkpointCount(): number {
  return ids.length;
}
