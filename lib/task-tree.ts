/**
 * What is running, as a tree: `sup.tasks()` and the `dumpSignal` option, which prints the tree
 * to stderr without stopping anything (like Python 3.14's `asyncio pstree`). Both only read the
 * registry; nothing is recorded for them while tasks run.
 *
 * @module
 */
import { type NameGroup, PrintBudget, describeGroup, groupByName, plural } from './print-budget.js';
import type { SubtreeCore, SupervisorCore } from './core.js';
import type { Disposer } from './resources.js';
import type { SupervisorState } from './lifecycle.js';
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
  /** For a restartable subtree (`sup.subtree()`): how many times it has been rebuilt. Between runs it shows as `stopped`, without tasks. */
  readonly restarts?: number;
}

/** @internal The tree below `sup`, as of `now`. Iterative: any depth of nesting fits the stack. */
export function taskTree(sup: SupervisorCore, now = performance.now()): SupervisorTree {
  const root = nodeOf(sup, now);
  const pending: [SupervisorCore, SupervisorTree[]][] = [[sup, root.children as SupervisorTree[]]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [parent, children] = next;
    const visit = (child: SupervisorCore) => {
      const node = nodeOf(child, now);
      children.push(node);
      pending.push([child, node.children as SupervisorTree[]]);
    };
    for (const disposer of parent._resources.entries) {
      if (!disposer.listed) continue;
      if (disposer.kind === 'child') visit(disposer.value as SupervisorCore);
      else if (disposer.kind === 'subtree') visitSubtree(disposer.value as SubtreeCore, children, pending, now);
    }
    // The child its parent's disposal is waiting for has left the list, and is still stopping.
    const inDisposal = parent._inDisposal?.child;
    if (inDisposal !== undefined) visit(inDisposal);
  }
  return root;
}

/** One supervisor's own line of the tree: its tasks, oldest first, and an empty list for its children. */
/** A subtree: its incarnation running now, with its restart count; between runs, a node without tasks. */
function visitSubtree(subtree: SubtreeCore, children: SupervisorTree[], pending: [SupervisorCore, SupervisorTree[]][], now: number): void {
  const current = subtree._current;
  const node: SupervisorTree =
    current === undefined
      ? { name: subtree.name, state: 'stopped', tasks: [], children: [], restarts: subtree.restarts }
      : { ...nodeOf(current, now), restarts: subtree.restarts };
  children.push(node);
  if (current !== undefined) pending.push([current, node.children as SupervisorTree[]]);
}

/** The supervisor a list entry holds: a child, or a subtree's incarnation running now. */
function childOf(disposer: Disposer): SupervisorCore | undefined {
  if (disposer.kind === 'child') return disposer.value as SupervisorCore;
  return disposer.kind === 'subtree' ? (disposer.value as SubtreeCore)._current : undefined;
}

function nodeOf(sup: SupervisorCore, now: number): SupervisorTree {
  const tasks = sup._registry.tasks.map((task: Task) => ({
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
/** A supervisor with more tasks than this has them printed grouped by name. */
const listedTasks = 5;

/**
 * @internal The tree as text, one line a task (or a name, for a supervisor with many tasks) or
 * supervisor, drawn with box characters. Iterative, at most {@link maxPrintedDepth} levels deep,
 * and within `budget` (50 lines and 8 KB by default): what is left out is counted on a last line.
 */
export function formatTree(tree: SupervisorTree, budget = new PrintBudget(50, 8 * 1024)): string {
  const lines: string[] = [];
  let hiddenTasks = 0;
  let hiddenSupervisors = 0;
  type Item = { readonly node: SupervisorTree; readonly indent: string; readonly branch: string; readonly childIndent: string; readonly depth: number };
  const stack: Item[] = [{ node: tree, indent: '', branch: '', childIndent: '', depth: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { node, indent, branch, childIndent, depth } = item;
    if (!budget.take(`${indent}${branch}supervisor "${node.name}" ${node.state}, ${plural(node.tasks.length, 'task')}`)) {
      const below = countBelow(node);
      hiddenSupervisors += 1 + below.supervisors;
      hiddenTasks += node.tasks.length + below.tasks;
      continue;
    }
    lines.push(`${indent}${branch}supervisor "${node.name}" ${node.state}, ${plural(node.tasks.length, 'task')}`);
    const prefix = indent + childIndent;
    const entries = node.tasks.length <= listedTasks ? node.tasks.map(taskLine) : groupByName(node.tasks).map(groupLine);
    const count = entries.length + node.children.length;
    let printed = 0;
    for (const [index, entry] of entries.entries()) {
      const line = `${prefix}${index === count - 1 ? '└─ ' : '├─ '}${entry.text}`;
      if (!budget.take(line)) break;
      lines.push(line);
      printed += entry.tasks;
    }
    hiddenTasks += node.tasks.length - printed;
    if (node.children.length === 0) continue;
    if (depth + 1 >= maxPrintedDepth) {
      const below = countBelow(node);
      const line = `${prefix}└─ … ${plural(below.supervisors, 'supervisor')} nested deeper, with ${plural(below.tasks, 'task')}`;
      if (budget.take(line)) lines.push(line);
      else (hiddenSupervisors += below.supervisors), (hiddenTasks += below.tasks);
      continue;
    }
    // Pushed last child first, so the first child is printed first.
    for (let index = node.children.length - 1; index >= 0; index--) {
      const last = entries.length + index === count - 1;
      stack.push({ node: node.children[index]!, indent: prefix, branch: last ? '└─ ' : '├─ ', childIndent: last ? '   ' : '│  ', depth: depth + 1 });
    }
  }
  if (hiddenTasks > 0 || hiddenSupervisors > 0) {
    lines.push(
      `… ${plural(hiddenTasks, 'more task')}${hiddenSupervisors > 0 ? ` and ${plural(hiddenSupervisors, 'more supervisor')}` : ''} not shown: the printout is bounded (sup.tasks() has them all)`,
    );
  }
  return lines.join('\n');
}

function taskLine(task: TaskInfo): { text: string; tasks: number } {
  return {
    text: `#${task.id} "${task.name}" ${task.state}${task.shielded ? ' (shielded)' : ''}, ${task.ageMs} ms${task.restarts > 0 ? `, ${task.restarts} restart(s)` : ''}`,
    tasks: 1,
  };
}

function groupLine(group: NameGroup<TaskInfo>): { text: string; tasks: number } {
  return { text: describeGroup(group), tasks: group.count };
}

/** How many supervisors and tasks lie below `node`, counted without recursion. */
function countBelow(node: SupervisorTree): { supervisors: number; tasks: number } {
  let supervisors = 0;
  let tasks = 0;
  const stack = [...node.children];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    supervisors++;
    tasks += next.tasks.length;
    for (const child of next.children) stack.push(child);
  }
  return { supervisors, tasks };
}

/**
 * @internal What a forced exit cuts short, for its log line: the pending tasks of the whole tree
 * grouped by name, and the disposers being waited for; bounded as the stuck-task log is. Empty
 * when nothing is pending.
 */
export function formatCutShort(sup: SupervisorCore, budget = new PrintBudget()): string {
  const now = performance.now();
  const tasks: TaskInfo[] = [];
  const disposals: string[] = [];
  const stack: SupervisorCore[] = [sup];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    for (const task of next._registry.tasks)
      tasks.push({ id: task.id, name: task.name, state: task.state, ageMs: task._age(now), restarts: task.restarts, shielded: task.shielded });
    const inDisposal = next._inDisposal;
    if (inDisposal !== undefined) {
      if (inDisposal.child !== undefined) stack.push(inDisposal.child);
      else disposals.push(`  - disposer "${inDisposal.name}" of "${next.name}", running for ${Math.round(now - inDisposal.calledAt)} ms`);
    }
    for (const disposer of next._resources.entries) {
      const child = disposer.listed ? childOf(disposer) : undefined;
      if (child !== undefined) stack.push(child);
    }
  }
  if (tasks.length === 0 && disposals.length === 0) return '';
  tasks.sort((a, b) => a.id - b.id);
  const lines = [`; still pending: ${plural(tasks.length, 'task')}${disposals.length > 0 ? `, ${plural(disposals.length, 'disposer')}` : ''}`];
  for (const line of disposals) if (budget.take(line, 1)) lines.push(line);
  const groups = groupByName(tasks);
  let listed = 0;
  let names = 0;
  for (const group of groups) {
    const line = `  - ${describeGroup(group)}`;
    if (!budget.take(line, 1)) break;
    lines.push(line);
    listed += group.count;
    names++;
  }
  if (listed < tasks.length) lines.push(`  … and ${plural(tasks.length - listed, 'more task')} under ${plural(groups.length - names, 'other name')}`);
  return lines.join('\n');
}
