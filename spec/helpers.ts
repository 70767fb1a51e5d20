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
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
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
          } else if (child.exitCode !== null || child.signalCode !== null) {
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
