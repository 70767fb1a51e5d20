/**
 * When was task N spawned? Answered without a timestamp on every task: a stuck-task report is
 * rare, spawning is hot, and eight bytes a task would be a sixth of a Task handle.
 *
 * Task ids increase in spawn order, so a list of checkpoints dates every task: a checkpoint is
 * the first task id of a span of time, with the span's first and last clock readings. The clock
 * is read once per turn of the event loop, by the first spawn of the turn: a reading within a
 * millisecond of the last checkpoint's first one only extends that checkpoint, any other starts
 * a new one. A task is dated to the middle of its checkpoint's span, so its age is right within
 * half the span, plus how far into its turn it was spawned.
 *
 * The list stays short however long the process runs and however fast it spawns: when it is
 * full, neighbouring checkpoints are merged wherever the merged span stays within 2 % of the
 * age of its newest reading, or within 2 ms. Ages only grow, so a merge that is accurate enough
 * now stays so. Every two checkpoints left then cover at least 2 % more of the past, so a day of
 * continuous spawning needs about 1 400 of them and a year about 2 000: ages are right within
 * max(1 % + one turn, 1 ms + one turn), and so within the stuck-task report's promise of
 * max(3 %, one turn + 2 ms) for any turn shorter than 2 % of the age. Past the capacity, the
 * tolerance doubles for that merge, so the bound on memory always holds.
 *
 * @module
 */

const capacity = 2048;
/** Relative tolerance: a merged span may be this fraction of the age of its newest reading. */
const relativeSpan = 0.02;
/** Absolute tolerance, for young checkpoints: a merged span of this many milliseconds is fine. */
const absoluteSpanMs = 2;
/** First task id of each checkpoint, increasing. */
const ids: number[] = [];
/** `performance.now()` at each checkpoint's first reading. */
const firsts: number[] = [];
/** `performance.now()` at each checkpoint's last reading. */
const lasts: number[] = [];
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
  const last = ids.length - 1;
  if (last >= 0 && now - (firsts[last] as number) < 1) {
    lasts[last] = now;
    return;
  }
  if (ids.length === capacity) merge(now);
  ids.push(id);
  firsts.push(now);
  lasts.push(now);
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
  if (ids.length === 0) return 0;
  const spawnedAt = ((firsts[low] as number) + (lasts[low] as number)) / 2;
  return Math.max(0, Math.round(now - spawnedAt));
}

/**
 * Merges neighbours, oldest first, wherever the merged span is within tolerance; doubles the
 * tolerance until a quarter of the list is free, so the list never grows past its capacity and
 * merging runs once per quarter-capacity new checkpoints at most (once per half a second or so
 * at the densest, since checkpoints are at least a millisecond apart).
 */
/**
 * @internal The ages of tasks whose ids are `sortedIds` (increasing), as of `now`, in one walk
 * over the checkpoints: O(n + checkpoints), for a report of a million stragglers.
 */
export function agesOf(sortedIds: ArrayLike<number>, now: number): number[] {
  const ages = new Array<number>(sortedIds.length);
  let checkpoint = 0;
  for (let i = 0; i < sortedIds.length; i++) {
    const id = sortedIds[i] as number;
    while (checkpoint + 1 < ids.length && (ids[checkpoint + 1] as number) <= id) checkpoint++;
    const spawnedAt = ids.length === 0 ? now : ((firsts[checkpoint] as number) + (lasts[checkpoint] as number)) / 2;
    ages[i] = Math.max(0, Math.round(now - spawnedAt));
  }
  return ages;
}

function merge(now: number): void {
  for (let factor = 1; ids.length > capacity - (capacity >> 2); factor *= 2) {
    let kept = 0;
    for (let i = 1; i < ids.length; i++) {
      const span = (lasts[i] as number) - (firsts[kept] as number);
      if (span <= factor * Math.max(absoluteSpanMs, relativeSpan * (now - (lasts[i] as number)))) {
        lasts[kept] = lasts[i] as number;
      } else {
        kept++;
        ids[kept] = ids[i] as number;
        firsts[kept] = firsts[i] as number;
        lasts[kept] = lasts[i] as number;
      }
    }
    ids.length = firsts.length = lasts.length = kept + 1;
  }
}

/** @internal How many checkpoints are kept, for tests of the bound. */
export function checkpointCount(): number {
  return ids.length;
}
