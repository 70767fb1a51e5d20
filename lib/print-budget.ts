/**
 * Printouts that stay readable at any size. A shutdown with 100 000 stuck tasks must not write
 * 100 000 lines: a host that allows little more than the deadline would kill the process while
 * it writes them, and the one report the operator needs would be lost. So the stuck-task log of a
 * whole shutdown (every supervisor of the tree together), the `dumpSignal` tree and `run()`'s
 * closing error lines group tasks by name, list the first few of each, and stop at a bound in
 * lines and bytes, counting what they left out. What is printed is grouped; `report.stragglers`,
 * `report.errors` and `sup.tasks()` stay complete.
 *
 * @module
 */

/** @internal How many of a name's tasks are listed by id (the first of them with its spawn stack). */
export const listedPerName = 3;

/** @internal The bound of one printout, with what is left of it and what it left out. */
export class PrintBudget {
  #lines: number;
  #bytes: number;
  /** Tasks (or errors) not listed by name because the bound was reached. */
  omitted = 0;
  /** Of those, the ones no printed line counted either: a closing line counts them. */
  silent = 0;
  /** Supervisors whose stuck tasks were not printed at all. */
  omittedSupervisors = 0;

  /** `reserve` lines of ~120 bytes are kept back for the closing line that counts the rest. */
  constructor(lines = 30, bytes = 8 * 1024, reserve = 1) {
    this.#lines = lines - reserve;
    this.#bytes = bytes - reserve * 120;
  }

  /**
   * Takes room for `line` if it fits with `keep` more lines (of ~120 bytes) left after it, and
   * says whether it did: a section keeps room for its own closing count.
   */
  take(line: string, keep = 0): boolean {
    if (this.#lines - keep <= 0 || line.length + 1 + keep * 120 > this.#bytes) return false;
    this.#lines--;
    this.#bytes -= line.length + 1;
    return true;
  }

  /** Takes room for all of `lines`, or for none of them. */
  takeAll(...lines: string[]): boolean {
    let bytes = 0;
    for (const line of lines) bytes += line.length + 1;
    if (this.#lines < lines.length || bytes > this.#bytes) return false;
    this.#lines -= lines.length;
    this.#bytes -= bytes;
    return true;
  }

  /** Whether anything at all can still be printed. */
  get exhausted(): boolean {
    return this.#lines <= 0 || this.#bytes <= 0;
  }
}

/** @internal Tasks of one name: how many, the oldest age, and the first few. */
export interface NameGroup<T extends { readonly id: number; readonly name: string; readonly ageMs: number }> {
  readonly name: string;
  count: number;
  oldestMs: number;
  readonly first: T[];
}

/**
 * @internal Groups `items` by name in one pass, largest group first (then the oldest): O(n) for
 * the items, O(g log g) for the g names.
 */
export function groupByName<T extends { readonly id: number; readonly name: string; readonly ageMs: number }>(items: readonly T[]): NameGroup<T>[] {
  const groups = new Map<string, NameGroup<T>>();
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as T;
    let group = groups.get(item.name);
    if (group === undefined) {
      group = { name: item.name, count: 0, oldestMs: 0, first: [] };
      groups.set(item.name, group);
    }
    group.count++;
    if (item.ageMs > group.oldestMs) group.oldestMs = item.ageMs;
    if (group.first.length < listedPerName) group.first.push(item);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || b.oldestMs - a.oldestMs);
}

/** @internal `n` with a space every three digits, as the logs print counts: `99 998`. */
export function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** @internal "1 task" / "3 tasks". */
export function plural(n: number, word: string): string {
  return `${count(n)} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * @internal One group on one line: `"worker" ×99 998, oldest 648 ms: #4, #5, #6, …`, or for a
 * name with one task, `"poller" (#2), 648 ms old`.
 */
export function describeGroup(group: NameGroup<{ readonly id: number; readonly name: string; readonly ageMs: number }>): string {
  const first = group.first[0] as { readonly id: number; readonly ageMs: number };
  if (group.count === 1) return `"${group.name}" (#${first.id}), ${first.ageMs} ms old`;
  const ids = group.first.map((item) => `#${item.id}`).join(', ');
  return `"${group.name}" ×${count(group.count)}, oldest ${group.oldestMs} ms: ${ids}${group.count > group.first.length ? ', …' : ''}`;
}
