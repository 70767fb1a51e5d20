// The names documentation fragments may use without defining them, for scripts/doctest.mjs: a
// fragment (a ```ts block that does not type-check on its own) is checked with this file and with
// every name the package exports in scope. Declarations only, typed with the published
// declarations ('supervise' is dist/lib/index.d.ts); nothing here runs. Keep it small: when an
// example needs a name that is not here, prefer writing the example so that it defines or imports
// it. A global script (no top-level import or export), so that every fragment sees these names.

// ---- the application around the examples ---------------------------------------------------------

/** A supervisor, as `new Supervisor()` or `run()`'s main receives it. */
declare const sup: import('supervise').Supervisor;

/** Task functions: they run until their signal aborts. */
declare function work(signal: AbortSignal): Promise<void>;
declare function consume(signal: AbortSignal): Promise<void>;
declare function poll(signal: AbortSignal): Promise<void>;
declare function flush(signal: AbortSignal): Promise<void>;
declare function flushLoop(signal: AbortSignal): Promise<void>;
declare function flushMetrics(): Promise<void>;
declare function pollOnce(options: { signal: AbortSignal }): Promise<void>;

/** `run()` mains: start the work on `sup` and return. */
declare function main(sup: import('supervise').Supervisor): Promise<void>;
declare function serve(sup: import('supervise').Supervisor): Promise<void>;

/** A database client, disposable, as `sup.use()` takes it. */
interface Database extends AsyncDisposable {
  query(sql: string, options?: { signal?: AbortSignal }): Promise<unknown[]>;
  close(): Promise<void>;
}
declare function openDatabase(): Promise<Database>;
declare const db: Database;
declare const sql: string;

/** A job queue and its handler. */
interface Job {
  readonly id: string;
}
declare const queue: { consume(options: { signal: AbortSignal }): AsyncIterable<Job> };
declare function handle(job: Job): Promise<void>;
declare function handle(db: Database, job: Job): Promise<void>;

/** An Express-style application: a request listener with routes. */
declare const app: import('node:http').RequestListener & {
  get(path: string, handler: (req: import('node:http').IncomingMessage, res: { status(code: number): { end(): void } }) => void): void;
};
declare const url: string;
/** An HTTP server, and two lookups one request makes. */
declare const server: import('node:http').Server;
declare function loadUser(signal: AbortSignal): Promise<{ readonly name: string }>;
declare function loadCart(signal: AbortSignal): Promise<readonly string[]>;
declare const id: string;

/** Service discovery, metrics and a structured logger. */
declare const registry: { deregister(): Promise<void> };
declare const metrics: {
  histogram(name: string, value: number, labels?: Record<string, string>): void;
  increment(name: string, labels?: Record<string, string>): void;
  gauge(name: string, value: number): void;
};
declare const log: { warn(message: string): void; error(message: string): void };

/** What the adapters stop: a child process and its arguments, a worker thread, a pool. */
declare const child: import('node:child_process').ChildProcess;
declare const args: string[];
declare const worker: import('node:worker_threads').Worker;
declare const pool: import('supervise').ClosablePool;
declare const filename: string;

/** A third-party logger (not a dependency of this repository): its factory, as the examples import it. */
declare module 'pino' {
  export default function pino(): { warn(...data: unknown[]): void; error(...data: unknown[]): void; info(...data: unknown[]): void };
}

// ---- Node's built-in modules, as the examples would import them -----------------------------------

declare const assert: typeof import('node:assert/strict');
declare const cluster: import('node:cluster').Cluster;
declare const diagnostics_channel: typeof import('node:diagnostics_channel');
declare const http: typeof import('node:http');
declare const once: typeof import('node:events').once;
declare const parentPort: typeof import('node:worker_threads').parentPort;
declare const sleep: typeof import('node:timers/promises').setTimeout;
declare const spawn: typeof import('node:child_process').spawn;
declare const Worker: typeof import('node:worker_threads').Worker;
