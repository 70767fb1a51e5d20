/**
 * `serveHealth`: a small HTTP server on a port of its own that answers the probes of
 * `health.ts` (`/readyz`, `/livez`), for a daemon whose app server should not carry them, or
 * that has none.
 *
 * It belongs to the supervisor, and is the last thing its shutdown closes: it answers through
 * the drain delay (readiness 503, liveness 200), the tasks and the disposal of every other
 * resource, those registered after it included, and closes just before the supervisor stops.
 * "Last" is not left to the order of the calls, which in a real program depends on which
 * `await` finishes first: the server sits under everything else on the supervisor's list.
 *
 * Its close is `closeServer`'s drain with no idle grace: it stops accepting, answers what each
 * connection has already received (with `Connection: close`), closes idle keep-alive
 * connections at once, and after a short bound destroys what is left, a client that does not
 * read its answer, say, without reporting it: the app had stopped cleanly by then, and a probe
 * client's manners must not turn that into exit code 124.
 *
 * `node:http` is loaded when the server is started, not when supervise is imported.
 *
 * @module
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stopAccepting } from './close-server.js';
import { currentDisposal } from './disposal-context.js';
import { invalidArgType, invalidArgValue, loggable, outOfRange } from './errors.js';
import { type ProbeTarget, answerLiveness, answerNotFound, answerReadiness, probeTarget } from './health.js';
import { ServerDrain } from './http-drain.js';
import { LongTimeout } from './long-timeout.js';
import { checkKnownKeys, checkOptionsObject } from './option-checks.js';
import type { Supervisor } from './supervisor.js';

/**
 * Options for {@link serveHealth}.
 *
 * @example
 * ```ts
 * import { Supervisor, serveHealth, type HealthServerOptions } from 'supervise';
 * const sup = new Supervisor({ signals: false });
 * const options: HealthServerOptions = { port: 0, host: '127.0.0.1', readinessPath: '/ready', livenessPath: '/live' };
 * const health = await serveHealth(sup, options);
 * console.log(health.port > 0);   // true
 * await sup.shutdown();
 * ```
 */
export interface HealthServerOptions {
  /** The TCP port to listen on: an integer from 0 to 65535; 0 picks a free one (see `HealthServer.port`). */
  readonly port: number;
  /**
   * The address to listen on. Default: every interface, as Node's `server.listen` does, which is
   * what a Kubernetes probe needs (the kubelet connects to the pod's IP, not to 127.0.0.1).
   */
  readonly host?: string;
  /** The path of the readiness probe. Default: `'/readyz'`. */
  readonly readinessPath?: string;
  /** The path of the liveness probe. Default: `'/livez'`. */
  readonly livenessPath?: string;
}

/**
 * A health server {@link serveHealth} started, listening.
 *
 * @example
 * ```ts
 * import { Supervisor, serveHealth } from 'supervise';
 * const sup = new Supervisor({ signals: false });
 * const { port, address } = await serveHealth(sup, { port: 0, host: '127.0.0.1' });
 * console.log(`probes on http://${address}:${port}/readyz`);
 * await sup.shutdown();
 * ```
 */
export interface HealthServer {
  /** The port it listens on: the one asked for, or the one the system picked for 0. */
  readonly port: number;
  /** The address it listens on, as `server.address()` says (`'::'` for every interface). */
  readonly address: string;
  /**
   * The `node:http` server, to add routes (a `'request'` listener that answers other paths
   * before the 404) or read its connections. Its supervisor closes it: do not close it yourself.
   */
  readonly server: Server;
}

const optionNames = ['port', 'host', 'readinessPath', 'livenessPath'];

/**
 * How long the close waits for the probes it is answering before it destroys their connections:
 * a probe's answer is a few bytes written at once, so only a client that does not read is still
 * there by then.
 */
const closeBound = 500;

/** The server and its state, from the call: the supervisor holds it before `node:http` is loaded. */
class Probes {
  server: Server | undefined = undefined;
  drain: ServerDrain | undefined = undefined;
  /** Disposal reached it: a start still under way stops there. */
  closing = false;
  started!: Promise<HealthServer>;
}

/**
 * Starts a health server on its own port, answering `GET`/`HEAD` `/readyz` (readiness) and
 * `/livez` (liveness) as {@link readinessHandler} and {@link livenessHandler} do, 404 elsewhere.
 * `sup` adopts it at the call, to close it last: after every other resource of its list,
 * those registered after it included, so the probes answer through the whole shutdown. The
 * server never keeps the process alive by itself. Resolves once it listens.
 *
 * @example
 * ```ts no_run
 * import http from 'node:http';
 * import { closeServer, run, serveHealth } from 'supervise';
 *
 * await run(async (sup) => {
 *   await serveHealth(sup, { port: 9000 });    // /readyz and /livez on :9000, closed last
 *   sup.adopt(http.createServer((req, res) => res.end('hello')), closeServer).listen(8080);
 * }, { drainDelay: 10_000, shutdownTimeout: 15_000 });
 * ```
 * @throws TypeError (`ERR_INVALID_ARG_TYPE`) when `sup` is not a Supervisor or `options` is not
 * an object, or an option is of the wrong type; TypeError (`ERR_INVALID_ARG_VALUE`) for an
 * unknown option (naming the closest known one) or a path that is not `/…`, or two probes on
 * one path; RangeError (`ERR_OUT_OF_RANGE`) for a port outside 0 to 65535;
 * `SupervisorClosedError` once `sup`'s disposal has begun. The promise rejects when the server
 * cannot listen (`EADDRINUSE`, `EACCES`).
 */
export function serveHealth(sup: Supervisor, options: HealthServerOptions): Promise<HealthServer> {
  const target = probeTarget(sup, 'serveHealth(sup)');
  const checked = checkOptions(options);
  const probes = new Probes();
  sup._adoptLast(probes, closeHealthServer, 'serve health probes');
  probes.started = start(sup, probes, target, checked);
  // The disposer waits for the start however it ends; the caller gets its rejection.
  probes.started.catch(() => {});
  return probes.started;
}

/** The options as checked, defaults applied. */
interface Checked {
  readonly port: number;
  readonly host: string | undefined;
  readonly readinessPath: string;
  readonly livenessPath: string;
}

async function start(sup: Supervisor, probes: Probes, target: ProbeTarget, { port, host, readinessPath, livenessPath }: Checked): Promise<HealthServer> {
  const { createServer } = await import('node:http');
  if (probes.closing) throw sup._life.refusal(sup.name, 'serve health probes');
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    if (path === readinessPath) answerReadiness(target, req, res);
    else if (path === livenessPath) answerLiveness(target, req, res);
    else answerNotFound(req, res);
  });
  // Watched from the start, as closeServer watches an adopted server, so its close knows every connection.
  probes.drain = new ServerDrain(server, 0, true);
  probes.server = server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.unref();
  // Past the start, an error of the listening socket (EMFILE on accept) is the probes' alone: logged, never thrown into the process.
  server.on('error', (error) => sup._log('error', `supervise: "${sup.name}" health server:`, loggable(error)));
  const address = server.address() as AddressInfo;
  return Object.freeze({ port: address.port, address: address.address, server });
}

/** The disposer: once the start has ended, drains and closes the server, destroying what is left after `closeBound`. */
async function closeHealthServer(probes: Probes): Promise<void> {
  // Read before the first await, as every adapter does: the shutdown sets it for the synchronous part only.
  const context = currentDisposal();
  const startedAt = performance.now();
  probes.closing = true;
  const listening = await probes.started.then(
    () => true,
    () => false,
  );
  const { server, drain } = probes;
  if (!listening || server === undefined || drain === undefined) return;
  const closed = stopAccepting(server);
  drain.begin();
  // Never past the calling shutdown's deadline: the process may exit then.
  const deadlineAt = context === undefined ? Infinity : context.deadlineAt;
  const forceAt = Math.min(startedAt + closeBound, deadlineAt);
  let timer: LongTimeout | undefined;
  const bound = new Promise<false>((resolve) => (timer = new LongTimeout(forceAt, () => resolve(false))));
  try {
    if (await Promise.race([closed.then(() => true), bound])) return;
    await drain.destroyAll();
    await closed;
  } finally {
    timer?.clear();
    drain.end();
  }
}

function checkOptions(options: HealthServerOptions): Checked {
  checkOptionsObject(options, 'serveHealth(sup, options)');
  const copy = { ...options };
  const what = 'serveHealth(sup, options): options';
  checkKnownKeys(copy, optionNames, what);
  const { port, host, readinessPath = '/readyz', livenessPath = '/livez' } = copy;
  if (typeof port !== 'number') throw invalidArgType(`${what}.port`, 'a number', port);
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw outOfRange(`${what}.port`, 'an integer >= 0 and <= 65535', port);
  if (host !== undefined && (typeof host !== 'string' || host === '')) throw invalidArgType(`${what}.host`, 'a non-empty string', host);
  checkPath(readinessPath, `${what}.readinessPath`);
  checkPath(livenessPath, `${what}.livenessPath`);
  if (readinessPath === livenessPath) throw invalidArgValue(`${what}.livenessPath`, 'a path other than readinessPath', livenessPath);
  return { port, host, readinessPath, livenessPath };
}

/** A path a request line can carry as it is: `/`, then visible characters, no query or fragment. */
function checkPath(path: unknown, what: string): asserts path is string {
  if (typeof path !== 'string') throw invalidArgType(what, 'a string', path);
  if (!/^\/[!-~]*$/.test(path) || /[?#]/.test(path)) throw invalidArgValue(what, 'a path such as /readyz (no query, fragment or space)', path);
}
