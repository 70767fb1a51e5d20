/**
 * What a supervisor disposes after its tasks: resources from `use`, values from `adopt`,
 * callbacks from `defer` and child supervisors, in one last-in-first-out list.
 *
 * The rules are those of `AsyncDisposableStack` (the dispose method is looked up once, at
 * registration; a resource with only `Symbol.dispose` is called and its result not awaited;
 * `use(null)` and `use(undefined)` register nothing), with one difference a long-running
 * process needs: a child supervisor that stops on its own leaves the list, so a daemon that
 * opens and closes child scopes per request does not grow it.
 *
 * @module
 */
import { invalidArgType } from './errors.js';
import { asyncDisposeSymbol, disposeSymbol } from './ponyfill.js';
import { nextId } from './task.js';

/**
 * @internal How one registered thing is disposed: `async`, `method.call(value)` awaited; `sync`,
 * a `Symbol.dispose` fallback, called and not awaited; `adopt`, `method(value)` awaited;
 * `defer`, `method()` awaited; `child`, a child supervisor's whole shutdown; `subtree`, a
 * restartable subtree's end (see `SubtreeCore`).
 */
export type DisposeKind = 'async' | 'sync' | 'adopt' | 'defer' | 'child' | 'subtree';

/** @internal One registered disposer. */
export class Disposer {
  readonly id = nextId();
  /**
   * True while it is on its supervisor's list. A child that stops on its own leaves the list by
   * clearing this (a tombstone, so leaving costs O(1) whatever its place), and the supervisor
   * compacts the list once most of it is tombstones.
   */
  listed = true;
  constructor(
    readonly kind: DisposeKind,
    readonly name: string,
    readonly value: unknown,
    readonly method: ((this: unknown, value?: unknown) => unknown) | undefined,
  ) {}

  /** Runs the disposer once; returns what must be awaited, if anything. */
  run(): unknown {
    const method = this.method as (this: unknown, value?: unknown) => unknown;
    switch (this.kind) {
      case 'async':
        return method.call(this.value);
      case 'sync':
        method.call(this.value);
        return undefined;
      case 'adopt':
        return method.call(undefined, this.value);
      default:
        return method.call(undefined);
    }
  }
}

/**
 * @internal A supervisor's disposers, newest last. A child that stops on its own leaves by
 * clearing its `listed` flag; the list is compacted once more than half of it has left, so each
 * departure costs O(1) amortized, however many children come and go.
 */
export class DisposerList {
  #list: Disposer[] = [];
  /** How many entries are children that left since the last compaction. */
  #departed = 0;

  /** Every entry, newest last; a child that left is still there, unlisted, until compaction. */
  get entries(): readonly Disposer[] {
    return this.#list;
  }

  add(disposer: Disposer): void {
    this.#list.push(disposer);
  }

  /** Adds `disposer` under every other entry, those added later included: it is taken last. */
  addLast(disposer: Disposer): void {
    this.#list.unshift(disposer);
  }

  /** The newest disposer still listed, taken off the list; undefined when none is left. */
  take(): Disposer | undefined {
    for (let disposer = this.#list.pop(); disposer !== undefined; disposer = this.#list.pop()) {
      if (!disposer.listed) continue; // a child that stopped on its own and left
      disposer.listed = false;
      return disposer;
    }
    return undefined;
  }

  /** `disposer`, a child's entry, leaves the list. */
  leave(disposer: Disposer): void {
    disposer.listed = false;
    this.#departed++;
    const list = this.#list;
    // The usual case, a scope that ends before anything is registered after it: it was the last.
    while (list.length > 0 && !(list.at(-1) as Disposer).listed) {
      list.pop();
      this.#departed--;
    }
    if (this.#departed <= 32 || this.#departed * 2 <= list.length) return;
    this.#list = list.filter((entry) => entry.listed);
    this.#departed = 0;
  }
}

/** @internal Builds the disposer for `use(value)`, or returns undefined for null and undefined. */
export function disposerForUse(value: unknown): Disposer | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'object' && typeof value !== 'function') {
    throw invalidArgType('use(resource)', 'an object with [Symbol.asyncDispose] or [Symbol.dispose], null or undefined', value);
  }
  const target = value as { [asyncDisposeSymbol]?: unknown; [disposeSymbol]?: unknown };
  const asyncMethod = target[asyncDisposeSymbol];
  if (typeof asyncMethod === 'function') return new Disposer('async', nameOf(value, undefined), value, asyncMethod as () => unknown);
  const syncMethod = target[disposeSymbol];
  if (typeof syncMethod === 'function') return new Disposer('sync', nameOf(value, undefined), value, syncMethod as () => unknown);
  if (asyncMethod !== undefined && asyncMethod !== null) {
    throw invalidArgType('use(resource)[Symbol.asyncDispose]', 'a function', asyncMethod);
  }
  throw invalidArgType('use(resource)', 'an object with [Symbol.asyncDispose] or [Symbol.dispose], null or undefined', value);
}

/**
 * @internal An adapter passed to `adopt` may carry this method, `(value) => void`, to start
 * watching its value once it is registered, long before disposal: `closeServer` tracks
 * connections from then on, so that at shutdown it knows every in-flight response.
 */
export const onAdopt: unique symbol = Symbol('supervise.onAdopt');

/** @internal What `adopt(value, onDispose)` registers, and the adapter's watch hook, if any. */
export interface Adoption {
  readonly disposer: Disposer;
  readonly watch: ((this: unknown, value: unknown) => void) | undefined;
}

/** @internal Builds the disposer for `adopt(value, onDispose)`, and looks the hook up before anything is registered. */
export function disposerForAdopt(value: unknown, onDispose: unknown): Adoption {
  if (typeof onDispose !== 'function') throw invalidArgType('adopt(value, onDispose): onDispose', 'a function', onDispose);
  const watch = hookOf(onDispose);
  return {
    disposer: new Disposer('adopt', nameOf(value, onDispose), value, onDispose as (value: unknown) => unknown),
    watch: typeof watch === 'function' ? (watch as Adoption['watch']) : undefined,
  };
}

/** @internal Builds the disposer for `defer(onDispose)`. */
export function disposerForDefer(onDispose: unknown): Disposer {
  if (typeof onDispose !== 'function') throw invalidArgType('defer(onDispose)', 'a function', onDispose);
  return new Disposer('defer', (onDispose as () => unknown).name || 'deferred', undefined, onDispose as () => unknown);
}

/** The adapter's watch hook; a callback that cannot be read (a revoked Proxy) has none, as `adopt` of the ERM stack asks nothing of it. */
function hookOf(onDispose: unknown): unknown {
  try {
    return (onDispose as { [onAdopt]?: unknown })[onAdopt];
  } catch {
    return undefined;
  }
}

/**
 * A readable name for logs and stragglers: the callback's name, else the value's class. Never
 * throws: `adopt` must accept any value, as `AsyncDisposableStack.adopt` does, a revoked Proxy
 * or one with throwing getters included.
 */
function nameOf(value: unknown, callback: unknown): string {
  try {
    const callbackName = typeof callback === 'function' ? callback.name : '';
    if (typeof callbackName === 'string' && callbackName !== '') return callbackName;
    if (typeof value === 'function' && typeof value.name === 'string' && value.name !== '') return value.name;
    const className = (value as { constructor?: { name?: unknown } } | null | undefined)?.constructor?.name;
    return typeof className === 'string' && className !== '' && className !== 'Object' ? className : 'resource';
  } catch {
    return 'resource';
  }
}
