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

/** @internal The tree below `sup`, as of `now`. */
export function taskTree(sup: Supervisor, now = performance.now()): SupervisorTree {
  const tasks = sup._tasks.map((task: Task) => ({
    id: task.id,
    name: task.name,
    state: task.state,
    ageMs: task._age(now),
    restarts: task.restarts,
    shielded: task.shielded,
  }));
  tasks.sort((a, b) => a.id - b.id);
  const children: SupervisorTree[] = [];
  for (const disposer of sup._disposers) {
    if (disposer.kind === 'child') children.push(taskTree(disposer.value as Supervisor, now));
  }
  return { name: sup.name, state: sup.state, tasks, children };
}

/** @internal The tree as text, one line a task or supervisor, drawn with box characters. */
export function formatTree(tree: SupervisorTree): string {
  const lines: string[] = [];
  const walk = (node: SupervisorTree, indent: string, branch: string, childIndent: string) => {
    lines.push(`${indent}${branch}supervisor "${node.name}" ${node.state}, ${node.tasks.length} task(s)`);
    const items = [...node.tasks.map((task) => ({ task })), ...node.children.map((child) => ({ child }))];
    items.forEach((item, index) => {
      const last = index === items.length - 1;
      const prefix = indent + childIndent;
      if ('task' in item) {
        const { task } = item;
        lines.push(`${prefix}${last ? '└─ ' : '├─ '}#${task.id} "${task.name}" ${task.state}${task.shielded ? ' (shielded)' : ''}, ${task.ageMs} ms${task.restarts > 0 ? `, ${task.restarts} restart(s)` : ''}`);
      } else {
        walk(item.child, prefix, last ? '└─ ' : '├─ ', last ? '   ' : '│  ');
      }
    });
  };
  walk(tree, '', '', '');
  return lines.join('\n');
}
