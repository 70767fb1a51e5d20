/**
 * Node's built-in modules, fetched with `process.getBuiltinModule` rather than imported: what
 * `import 'supervise'` costs at startup is paid by every process that uses it, a small CLI on every
 * start. Two costs are avoided:
 * - a built-in only some paths need is loaded the first time one of them runs. `node:cluster` alone
 *   costs ~5 ms at import (it loads child_process, net and the streams), though only a forked
 *   process ever asks whether it is a cluster worker; `node:fs` is for a process group's members,
 *   `node:assert/strict` (which loads the streams) for a timeline's failed assertion.
 * - an `import` of a built-in gives it an ESM facade, which reads every export once: the streams
 *   for `node:fs` (its `ReadStream`), `util.parseArgs` and `util.MIMEType` for `node:util`. A
 *   built-in fetched this way is the module object itself, and one loaded already costs nothing.
 *
 * `process.getBuiltinModule` is in every Node that package.json's `engines` admits (20.19+, 22.12+),
 * in Bun and in Deno. A fallback `require` would cost every process an import of `node:module`
 * (about 1 ms on Node 20): the engines that lack the function (22.0-22.2) get a clear error instead.
 *
 * @module
 */
/** @internal The built-ins supervise fetches, by id, as `require` returns them. */
export interface Builtins {
  readonly 'node:assert/strict': typeof import('node:assert/strict');
  readonly 'node:cluster': import('node:cluster').Cluster;
  readonly 'node:diagnostics_channel': typeof import('node:diagnostics_channel');
  readonly 'node:events': typeof import('node:events');
  readonly 'node:fs': typeof import('node:fs');
  readonly 'node:os': typeof import('node:os');
  readonly 'node:util': typeof import('node:util');
}

/** @internal The built-in module `id`, loaded now if nothing has loaded it yet. */
export function builtin<Id extends keyof Builtins>(id: Id): Builtins[Id] {
  if (typeof process.getBuiltinModule !== 'function') {
    throw new Error(`supervise needs process.getBuiltinModule(), which Node.js ${process.versions.node} lacks: use Node.js 20.19+ or 22.12+`);
  }
  return process.getBuiltinModule(id) as unknown as Builtins[Id];
}
