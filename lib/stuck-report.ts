/**
 * What a shutdown says about the tasks still pending at its deadline: the stragglers, oldest
 * first, with their ages, and the bounded log of them, grouped by name.
 *
 * @module
 */
import type { SupervisorCore } from './core.js';
import { type NameGroup, type PrintBudget, describeGroup, groupByName, plural } from './print-budget.js';
import type { Straggler } from './report.js';
import { isHoldingProcess } from './signals.js';
import { agesOf } from './spawn-clock.js';
import { spawnSitesOf } from './spawn-sites.js';
import type { Task } from './task.js';

/** @internal The tasks of `tasks` as stragglers, oldest first, aged as of now. */
export function stragglersOf(pending: readonly Task[]): Straggler[] {
  // Oldest first. The registry is in spawn order but for the holes settled tasks left, filled
  // from its end: sorting an array that is mostly in order is close to one pass.
  const tasks = pending.slice();
  let sorted = true;
  for (let i = 1; i < tasks.length && sorted; i++) sorted = (tasks[i - 1] as Task).id < (tasks[i] as Task).id;
  if (!sorted) tasks.sort((a, b) => a.id - b.id);
  const ids = new Float64Array(tasks.length);
  for (let i = 0; i < tasks.length; i++) ids[i] = (tasks[i] as Task).id;
  const ages = agesOf(ids, performance.now());
  const list = new Array<Straggler>(tasks.length);
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i] as Task;
    list[i] = { id: task.id, name: task.name, ageMs: ages[i] as number };
  }
  return list;
}

/**
 * @internal What the log says at the deadline: the pending tasks grouped by name, largest group first, each
 * with its count, oldest age and first few ids, the first with where it was spawned when spawn
 * sites are captured; then what still holds the event loop open. Within `budget`, shared by the
 * whole tree; what does not fit is counted. Undefined when not even the first line fits.
 */
export function stuckTaskReport(sup: SupervisorCore, pending: readonly Straggler[], budget: PrintBudget): string | undefined {
  const header = `supervise: "${sup.name}" shutdown deadline passed with ${plural(pending.length, 'task')} still pending:`;
  const groups = groupByName(pending);
  // The header comes with at least its largest group, or not at all.
  if (!budget.takeAll(header, `  - ${describeGroup(groups[0] as NameGroup<Straggler>)}`)) {
    budget.omitted += pending.length;
    budget.silent += pending.length;
    budget.omittedSupervisors++;
    return undefined;
  }
  const lines = [header];
  const sites = sup._options.captureSpawnSites
    ? spawnSitesOf(sup._registry.tasks, new Set(groups.map((group) => (group.first[0] as Straggler).id)))
    : undefined;
  let listed = 0;
  let namesListed = 0;
  for (const group of groups) {
    const first = group.first[0] as Straggler;
    const line = `  - ${describeGroup(group)}`;
    // Room is kept for the line that counts the rest, when there is a rest.
    if (namesListed > 0 && !budget.take(line, 1)) break;
    lines.push(line);
    listed += group.count;
    namesListed++;
    const site = sites?.get(first.id);
    if (site === undefined) continue;
    for (const frame of site.split('\n').slice(0, 3)) {
      const text = `      ${frame.trim()}`;
      if (!budget.take(text, 1)) break;
      lines.push(text);
    }
  }
  if (listed < pending.length) {
    const rest = `  … and ${plural(pending.length - listed, 'more task')} under ${plural(groups.length - namesListed, 'other name')}`;
    budget.omitted += pending.length - listed;
    if (budget.take(rest)) lines.push(rest);
    else budget.silent += pending.length - listed;
  }
  const held = eventLoopHolders();
  if (held !== undefined && budget.take(held)) lines.push(held);
  return lines.join('\n');
}

/**
 * The report's line on what holds the event loop open: `process.getActiveResourcesInfo()` as
 * counts, less supervise's own keep-alive timer; undefined when nothing does. Bun has
 * the function but it returns an empty list, which must not read as "nothing holds it": when
 * supervise holds its keep-alive timer, a runtime that lists resources lists that timer, so a list
 * without it means the runtime cannot say, and the line says so.
 */
function eventLoopHolders(): string | undefined {
  const info = (process as { getActiveResourcesInfo?: () => string[] }).getActiveResourcesInfo;
  if (typeof info !== 'function') return "  the event loop's holders are unknown: this runtime has no process.getActiveResourcesInfo()";
  const counts = new Map<string, number>();
  for (const name of info.call(process)) counts.set(name, (counts.get(name) ?? 0) + 1);
  if (isHoldingProcess()) {
    const timeouts = counts.get('Timeout') ?? 0;
    if (timeouts === 0) return "  the event loop's holders are unknown: this runtime's process.getActiveResourcesInfo() lists none";
    if (timeouts > 1) counts.set('Timeout', timeouts - 1);
    else counts.delete('Timeout');
  }
  if (counts.size === 0) return undefined;
  return `  the event loop is still held by: ${[...counts].map(([name, count]) => (count > 1 ? `${name} x${count}` : name)).join(', ')}`;
}
