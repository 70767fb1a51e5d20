/**
 * What is running, as a tree: `sup.tasks()` and the `dumpSignal` option, which prints the tree
 * to stderr without stopping anything (like Python 3.14's `asyncio pstree`). Both only read the
 * registry; nothing is recorded for them while tasks run.
 *
 * @module
 */
import type { Supervisor, SupervisorState } from './supervisor.js';
import type { Task, TaskState } from './task.js';

/**
 * One live task in {@link SupervisorTree}.
 *
 * @example
 * ```ts
 * for (const { name, ageMs } of sup.tasks().tasks) if (ageMs > 60_000) console.warn(`${name} runs for a minute`);
 * ```
 */
export interface TaskInfo {
  readonly id: number;
  readonly name: string;
  readonly state: TaskState;
  /** Milliseconds since spawn. */
  readonly ageMs: number;
  /** How many times its restart policy has started it again. */
  readonly restarts: number;
  readonly shielded: boolean;
}

/**
 * A supervisor's live tasks and its child supervisors, each with theirs.
 *
 * @example
 * ```ts
 * const tree = sup.tasks();
 * console.log(tree.name, tree.tasks.length, tree.children.map((child) => child.name));
 * ```
 */
export interface SupervisorTree {
  readonly name: string;
  readonly state: SupervisorState;
  /** Pending tasks, oldest first. */
  readonly tasks: readonly TaskInfo[];
  /** Child supervisors not stopped yet, oldest first. */
  readonly children: readonly SupervisorTree[];
}

/** @internal The tree below `sup`, as of `now`. Iterative: any depth of nesting fits the stack. */
export function taskTree(sup: Supervisor, now = performance.now()): SupervisorTree {
  const root = nodeOf(sup, now);
  const pending: [Supervisor, SupervisorTree[]][] = [[sup, root.children as SupervisorTree[]]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [parent, children] = next;
    for (const disposer of parent._disposers) {
      if (disposer.kind !== 'child') continue;
      const child = disposer.value as Supervisor;
      const node = nodeOf(child, now);
      children.push(node);
      pending.push([child, node.children as SupervisorTree[]]);
    }
  }
  return root;
}

/** One supervisor's own line of the tree: its tasks, oldest first, and an empty list for its children. */
function nodeOf(sup: Supervisor, now: number): SupervisorTree {
  const tasks = sup._tasks.map((task: Task) => ({
    id: task.id,
    name: task.name,
    state: task.state,
    ageMs: task._age(now),
    restarts: task.restarts,
    shielded: task.shielded,
  }));
  tasks.sort((a, b) => a.id - b.id);
  return { name: sup.name, state: sup.state, tasks, children: [] };
}

/** How deep the printed tree goes; deeper supervisors are counted on one line. */
const maxPrintedDepth = 32;

/**
 * @internal The tree as text, one line a task or supervisor, drawn with box characters.
 * Iterative, and at most {@link maxPrintedDepth} levels deep: what lies below is counted.
 */
export function formatTree(tree: SupervisorTree): string {
  const lines: string[] = [];
  type Item = { readonly node: SupervisorTree; readonly indent: string; readonly branch: string; readonly childIndent: string; readonly depth: number };
  const stack: Item[] = [{ node: tree, indent: '', branch: '', childIndent: '', depth: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { node, indent, branch, childIndent, depth } = item;
    lines.push(`${indent}${branch}supervisor "${node.name}" ${node.state}, ${node.tasks.length} task(s)`);
    const prefix = indent + childIndent;
    const count = node.tasks.length + node.children.length;
    node.tasks.forEach((task, index) => {
      const last = index === count - 1;
      lines.push(`${prefix}${last ? '└─ ' : '├─ '}#${task.id} "${task.name}" ${task.state}${task.shielded ? ' (shielded)' : ''}, ${task.ageMs} ms${task.restarts > 0 ? `, ${task.restarts} restart(s)` : ''}`);
    });
    if (node.children.length === 0) continue;
    if (depth + 1 >= maxPrintedDepth) {
      lines.push(`${prefix}└─ … ${countBelow(node)} supervisor(s) nested deeper`);
      continue;
    }
    // Pushed last child first, so the first child is printed first.
    for (let index = node.children.length - 1; index >= 0; index--) {
      const last = node.tasks.length + index === count - 1;
      stack.push({ node: node.children[index]!, indent: prefix, branch: last ? '└─ ' : '├─ ', childIndent: last ? '   ' : '│  ', depth: depth + 1 });
    }
  }
  return lines.join('\n');
}

/** How many supervisors lie below `node`, counted without recursion. */
function countBelow(node: SupervisorTree): number {
  let count = 0;
  const stack = [...node.children];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    count++;
    for (const child of next.children) stack.push(child);
  }
  return count;
}
