// Small pieces the specs share: a controllable promise, a logger that records, and a bounded wait.
import { after, before } from 'node:test';
import diagnosticsChannel from 'node:diagnostics_channel';
import { type Logger, Supervisor, type TaskRestartMessage, channels } from '../lib/index.js';

/**
 * Records every unhandledRejection and uncaughtException raised while the file's tests run (the
 * listeners come and go with the file's `before` and `after` hooks), for asserting there was none.
 */
export function recordUnexpected(): unknown[] {
  const unexpected: unknown[] = [];
  const onUnexpected = (error: unknown) => void unexpected.push(error);
  before(() => {
    process.on('unhandledRejection', onUnexpected);
    process.on('uncaughtException', onUnexpected);
  });
  after(() => {
    process.off('unhandledRejection', onUnexpected);
    process.off('uncaughtException', onUnexpected);
  });
  return unexpected;
}

/** The runtime running the specs: Node, or Bun or Deno through their Node compatibility. */
export const runtime: 'node' | 'bun' | 'deno' = process.versions.bun !== undefined ? 'bun' : process.versions.deno !== undefined ? 'deno' : 'node';

/** The runtime and its version, as skip reasons name it: "Bun 1.4.5". */
export const runtimeName = { node: `Node ${process.version}`, bun: `Bun ${process.versions.bun}`, deno: `Deno ${process.versions.deno}` }[runtime];

/**
 * What a spec needs that a platform or runtime may lack: for each, where it is lacking, why. Every
 * runtime entry is a gap found by running the spec there (scripts/runtimes.mjs) and shown to be the
 * runtime's; README.md's "Bun and Deno" table lists those a user of supervise meets.
 */
const lacking = {
  /** /proc and process groups as Linux has them. */
  linux: process.platform !== 'linux' && `${process.platform} has no /proc and no Linux process groups`,
  /** Signals sent to and caught by another process. */
  posixSignals: process.platform === 'win32' && 'win32 has no POSIX signals',
  /** `process.getActiveResourcesInfo()` listing the timers and handles that hold the event loop. */
  activeResources: runtime === 'bun' && `${runtimeName}'s process.getActiveResourcesInfo() returns an empty list, timers or not`,
  /** An http(s).Server#close() that leaves idle keep-alive connections to closeIdleConnections(), which closeServer defers. */
  httpCloseGrace:
    runtime === 'bun' &&
    `${runtimeName}'s http.Server#close() closes idle keep-alive connections itself, without calling closeIdleConnections(), and its sockets' bytesRead stays 0, so the drain cannot see a request arriving: under load, requests on keep-alive connections are lost`,
  /** Keep-alive connections over TLS drained under load, with a drainDelay, without a lost request. */
  tlsIdleDrain:
    runtime === 'deno' &&
    `${runtimeName}: over TLS, keep-alive connections under load lose the request sent after their last answer, which got no Connection: close (1 to 12 of 64 per shutdown with drainDelay 150 ms and a 50 ms handler; now and then 1 with drainDelay 0); the same runs over plain HTTP, and on Node, lose none`,
  /** net.Server#getConnections() counting the connections still open after close(). */
  netConnectionsAfterClose:
    runtime === 'bun' && `${runtimeName}'s net.Server#getConnections() counts 0 once the server is closed, with a connection still open`,
  /** node:http2's client as startHttp2Load relies on it. */
  http2Client:
    runtime === 'bun' &&
    `${runtimeName}'s node:http2 client reads rstCode 0 on a stream refused (REFUSED_STREAM) or cancelled, and startHttp2Load's sessions to a server in the same process get no answer`,
  /** Stack traces mapped through a script's source map (`--enable-source-maps`), as scripts/doctest.mjs runs blocks. */
  sourceMappedStacks:
    (runtime === 'bun' && `${runtimeName} prints a stack trace at the compiled file's positions: it ignores the file's source map`) ||
    (runtime === 'deno' && `${runtimeName} prints a stack trace at the generated .mts file, not at the Markdown its source map names`),
  /** A worker thread that dies of an uncaught error exiting with code 1. */
  workerErrorExitCode: runtime === 'bun' && `${runtimeName}: a worker thread that dies of an uncaught error exits with code 0, not 1`,
  /** A Worker whose threadId becomes -1 once it has exited, which is how stopWorker sees that it has. */
  workerThreadIdReset:
    runtime === 'deno' &&
    `${runtimeName} keeps a Worker's threadId once it has exited (Node sets -1): stopWorker cannot tell, and waits for its timeout before finding no thread to terminate`,
  /** A SIGINT sent to the test process reaching the listeners the spec installs. */
  sigintToTestProcess:
    runtime === 'deno' &&
    `deno test ${process.versions.deno} ends the whole run on a SIGINT to its own process ("Bail out! SIGINT received"), whatever listens to it`,
  /** process.moduleLoadList: Node's list of the built-in modules a process has loaded, in order. */
  moduleLoadList:
    runtime !== 'node' &&
    `${runtimeName}'s process.moduleLoadList is always empty${runtime === 'deno' ? ' (module.registerHooks sees loads there: health.test.ts checks node:http that way)' : ''}`,
  /** Seeing which built-in modules a program has loaded: process.moduleLoadList (Node) or module.registerHooks (Deno). */
  builtinModuleLoads:
    runtime === 'bun' &&
    `${runtimeName}'s process.moduleLoadList is always empty, it has no module.registerHooks, and a Bun.plugin onResolve never sees a built-in module: which built-in modules a program loaded cannot be observed`,
  /** NODE_DEBUG turning util.debuglog on. */
  nodeDebug: runtime === 'deno' && `${runtimeName}'s util.debuglog ignores NODE_DEBUG: no debug line is printed`,
  /** Error objects shaped as V8 makes them, which the ponyfill's differential test observes. */
  v8Errors:
    runtime === 'bun' &&
    `${runtimeName}'s (JavaScriptCore) errors have own line, column, sourceURL, originalLine and originalColumn keys, and message before stack: their shapes cannot be compared with V8's`,
  /** A native SuppressedError.prototype with its own keys in the spec's order (constructor, name, message), as V8 has it. */
  suppressedErrorKeyOrder:
    runtime === 'bun' && `${runtimeName}'s native SuppressedError.prototype has its own keys in another order: name, message, constructor`,
} satisfies Record<string, string | false>;

/** A need `needs` knows. */
export type Need = keyof typeof lacking;

/**
 * For node:test's `skip` option: false when this platform and runtime have everything `what`
 * names, else the reason of the first they lack.
 *
 * @example test('stops a process group', { skip: needs('linux') }, async () => {});
 */
export function needs(...what: Need[]): string | false {
  for (const need of what) {
    const reason = lacking[need];
    if (reason !== false) return reason;
  }
  return false;
}

/**
 * A regular expression source for how the default logger (console.error) prints an Error with its
 * stack: `Error: <message>` then an `at` line on Node and Deno; Bun prints the source lines around
 * the throw first, and a plain Error's name in lower case (`error: <message>`).
 */
export function printedError(message: string): string {
  const escaped = message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return runtime === 'bun' ? `(?:[^]*?\\n)?error: ${escaped}\\n\\s+at ` : `Error: ${escaped}\\n\\s+at `;
}

/** A root supervisor that neither listens to signals nor logs: what most specs need. */
export function quiet(options: ConstructorParameters<typeof Supervisor>[0] = {}): Supervisor {
  return new Supervisor({ signals: false, logger: false, ...options });
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A logger that keeps every line, for asserting what supervise said. */
export function recordingLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const record = (...data: unknown[]) => {
    lines.push(data.map((d) => (d instanceof Error ? `${d.name}: ${d.message}` : String(d))).join(' '));
  };
  return { lines, warn: record, error: record };
}

/** Resolves once the signal aborts; what a task that cooperates with cancellation awaits. */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Collects what the restart channel publishes while `body` runs. */
export async function recordRestarts<T>(body: (restarts: TaskRestartMessage[]) => Promise<T>): Promise<T> {
  const restarts: TaskRestartMessage[] = [];
  const onRestart = (message: unknown) => restarts.push(message as TaskRestartMessage);
  diagnosticsChannel.subscribe(channels.taskRestart, onRestart);
  try {
    return await body(restarts);
  } finally {
    diagnosticsChannel.unsubscribe(channels.taskRestart, onRestart);
  }
}

/** Lets pending promise reactions run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface Fixture {
  readonly child: ChildProcess;
  /** Everything the fixture printed on stdout so far. */
  stdout(): string;
  /** Everything the fixture printed on stderr so far. */
  stderr(): string;
  /** Resolves once stdout holds `text`; rejects after `timeoutMs` (a hang guard) or if the process exits first. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** Resolves when the process has exited; rejects after `timeoutMs` (a hang guard, which also kills it). */
  exited(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

const running = new Set<ChildProcess>();

/** Kills every fixture still running: for an `after` hook, so a failed assertion never leaves one behind. */
export function killFixtures(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** Starts `spec/fixtures/<name>.js` (compiled) as a real child process with extra environment variables. */
export function startFixture(name: string, env: Record<string, string> = {}): Fixture {
  return startProgram(new URL(`./fixtures/${name}.js`, import.meta.url), env);
}

/** Starts a compiled program (a URL relative to this file, e.g. of an example) as a real child process. */
export function startProgram(url: URL, env: Record<string, string> = {}): Fixture {
  const file = fileURLToPath(url);
  const name = file;
  const child = spawn(process.execPath, [file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.on('exit', () => running.delete(child));
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const check of waiters) check();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  // Set by the 'exit' event, not read from child.exitCode and signalCode: Deno's child.kill(signal)
  // sets signalCode at the call, while the child is still running.
  let hasExited = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      hasExited = true;
      for (const check of waiters) check();
      resolve({ code, signal });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor(text, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fixture ${name}: no "${text}" within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`));
        }, timeoutMs);
        const check = () => {
          if (out.includes(text)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          } else if (hasExited) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`fixture ${name} exited before "${text}"; stdout: ${out}; stderr: ${err}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    async exited(timeoutMs = 30_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`fixture ${name} did not exit within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`));
        }, timeoutMs);
      });
      try {
        const { code, signal } = await Promise.race([exit, timeout]);
        return { code, signal, stdout: out, stderr: err };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Sends `signal` to `child` by pid, as supervise's stopChildProcess does. Not `child.kill(signal)`:
 * under Deno, a child sent a signal that way reads as killed by it (`exit` gives code null and that
 * signal) even when it caught the signal and exited with its own code, which is what the specs
 * assert.
 */
export function sendSignal(child: ChildProcess, signal: NodeJS.Signals): void {
  process.kill(child.pid as number, signal);
}

/**
 * A function that runs a full garbage collection: V8's `gc` (Node, Deno), exposed at run time, or
 * `Bun.gc(true)` (JavaScriptCore has no `--expose-gc`).
 */
export function garbageCollector(): () => void {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun !== undefined) return () => bun.gc(true);
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Whether `pid` is in the process table at all: `kill(pid, 0)` only fails with ESRCH once it is gone. */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    return false;
  }
}

/** SIGKILLs each pid and its process group, ignoring those already gone: for an `after` hook. */
export function killPidsAndGroups(pids: Iterable<number>): void {
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
}

/** An Error-like value whose getters (by default `name` and `message`) throw: a hostile value a task may reject with. */
export function errorWithThrowingGetters(names: readonly string[] = ['name', 'message']): Error {
  const descriptors: PropertyDescriptorMap = {};
  for (const name of names) {
    descriptors[name] = {
      get() {
        throw new Error(name);
      },
    };
  }
  return Object.create(Error.prototype, descriptors) as Error;
}
