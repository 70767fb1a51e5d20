/**
 * Where tasks were spawned, for the stuck-task report at a shutdown's deadline. Recorded only
 * when the root asks for it (`captureSpawnSites`, or `NODE_DEBUG=supervise`), and kept only as
 * long as the task lives.
 *
 * @module
 */

const sites = new WeakMap<object, Error>();

/**
 * Where supervise's own modules are, to leave their frames out of a spawn site: worked out at the
 * first stuck-task report, since the first read of `import.meta` costs every import of supervise.
 */
let ownDirectory: string | undefined;

/** @internal Records the stack of the call to `spawn` that made `task`, starting at `spawn`'s caller. */
export function recordSpawnSite(task: { readonly name: string }, spawn: (...args: never[]) => unknown): void {
  const site = new Error(`task "${task.name}" was spawned here`);
  Error.captureStackTrace(site, spawn);
  sites.set(task, site);
}

/**
 * @internal The spawn stacks of those of `tasks` whose id is in `ids`, by id, without
 * supervise's own frames (run() spawning main, say, tells nothing about who spawned it): one
 * pass, however many tasks are stuck.
 */
export function spawnSitesOf(tasks: readonly { readonly id: number }[], ids: ReadonlySet<number>): Map<number, string> {
  const found = new Map<number, string>();
  if (ids.size === 0) return found;
  for (const task of tasks) {
    if (!ids.has(task.id)) continue;
    const stack = sites.get(task)?.stack;
    if (stack === undefined) continue;
    ownDirectory ??= new URL('./', import.meta.url).href;
    const own = ownDirectory;
    const frames = stack
      .split('\n')
      .slice(1)
      .filter((frame) => !frame.includes(own));
    found.set(task.id, frames.join('\n'));
  }
  return found;
}
