/**
 * Health probes: what a supervisor's state means to a load balancer or an orchestrator such as
 * Kubernetes, as `(req, res)` handlers for `node:http` and express (and fastify, through
 * `reply.raw`).
 *
 * | state | readiness | liveness |
 * | --- | --- | --- |
 * | `running` | 200 `ready` | 200 `alive` |
 * | `stopping` (from the first moment: the drain delay, the tasks, the disposal) | 503 `shutting down` | 200 `alive, shutting down` |
 * | `stopped` | 503 `stopped` | 503 `stopped` |
 *
 * Readiness fails the moment shutdown begins, so the load balancer stops sending work during
 * `drainDelay` while the app still serves what arrives. Liveness holds through the whole
 * shutdown: the process is alive and draining, and an orchestrator that restarted it then would
 * cut the drain short. A handler reads the state when it answers and registers nothing on the
 * supervisor, so a supervisor whose probes nobody asks for pays nothing.
 *
 * A handler made for a child supervisor answers for it and its ancestors: the process is not
 * ready once any of them has begun to shut down (a child's own state changes only when its
 * parent's disposal reaches it), and it is stopped once any of them has stopped.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidArgType } from './errors.js';
import { Lifecycle, RUNNING, STOPPED, type Phase } from './lifecycle.js';
import { Supervisor } from './supervisor.js';

/**
 * A request handler of `node:http`, which express and connect take as they are (a `(req, res)`
 * function is a valid middleware); fastify hands it `request.raw` and `reply.raw`.
 *
 * @example
 * ```ts
 * import http from 'node:http';
 * import { Supervisor, readinessHandler, type HealthHandler } from 'supervise';
 * const sup = new Supervisor({ signals: false });
 * const ready: HealthHandler = readinessHandler(sup);
 * const server = http.createServer((req, res) => (req.url === '/readyz' ? ready(req, res) : res.end('hello')));
 * server.close();
 * ```
 */
export type HealthHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** One answer, made once: its status, its headers as Node's flat array, its body. */
interface Answer {
  readonly status: number;
  readonly headers: readonly string[];
  readonly body: Buffer;
}

function answer(status: number, text: string, ...extra: string[]): Answer {
  const body = Buffer.from(`${text}\n`);
  // `no-store`: a cached 200 would hide the 503 that shutdown is about.
  const headers = ['content-type', 'text/plain; charset=utf-8', 'cache-control', 'no-store', 'content-length', String(body.length), ...extra];
  return Object.freeze({ status, headers: Object.freeze(headers), body });
}

// Every answer is made here, once: a probe allocates nothing of its own.
const ready = answer(200, 'ready');
const notReady = answer(503, 'shutting down');
const alive = answer(200, 'alive');
const aliveStopping = answer(200, 'alive, shutting down');
const stopped = answer(503, 'stopped');
const notFound = answer(404, 'not found');
const methodNotAllowed = answer(405, 'method not allowed', 'allow', 'GET, HEAD');

/** @internal The lifecycles a probe reads: the supervisor's, then its ancestors', up to the root. */
export type ProbeTarget = readonly Lifecycle[];

/**
 * @internal Checks that `sup` is a Supervisor (by its brand, never through a Proxy's traps) and
 * returns the lifecycles a probe reads, taken now: a supervisor's parent never changes, and a
 * probe then reads only the library's own objects, never a getter of the value it was given.
 */
export function probeTarget(sup: unknown, call: string): ProbeTarget {
  const lives: Lifecycle[] = [];
  try {
    if (Supervisor._is(sup)) {
      for (let next: Supervisor | undefined = sup; next !== undefined; next = next._parent) {
        const life: unknown = next._life;
        if (!(life instanceof Lifecycle)) break;
        lives.push(life);
        if (next._parent === undefined) return lives;
      }
    }
  } catch {
    // A supervisor whose fields were redefined to throw: not one this library can read, said below.
  }
  throw invalidArgType(call, 'a Supervisor', sup);
}

/** The furthest phase along the chain: a child is stopping once its root is. */
function phaseOf(target: ProbeTarget): Phase {
  let phase: Phase = RUNNING;
  for (let i = 0; i < target.length; i++) {
    const next = (target[i] as Lifecycle).phase;
    if (next > phase) phase = next;
  }
  return phase;
}

/** @internal Answers a readiness probe for `target`. */
export function answerReadiness(target: ProbeTarget, req: IncomingMessage, res: ServerResponse): void {
  const phase = phaseOf(target);
  respond(req, res, phase === RUNNING ? ready : phase === STOPPED ? stopped : notReady);
}

/** @internal Answers a liveness probe for `target`. */
export function answerLiveness(target: ProbeTarget, req: IncomingMessage, res: ServerResponse): void {
  const phase = phaseOf(target);
  respond(req, res, phase === RUNNING ? alive : phase === STOPPED ? stopped : aliveStopping);
}

/** @internal Answers 404, for a path the health server does not serve. */
export function answerNotFound(req: IncomingMessage, res: ServerResponse): void {
  respond(req, res, notFound);
}

/**
 * Writes `reply`, or 405 for a method other than GET and HEAD; HEAD gets the headers only. A
 * response already answered, ended or destroyed (its client gone) is left as it is: a probe
 * never throws into the server that called it.
 */
function respond(req: IncomingMessage, res: ServerResponse, reply: Answer): void {
  try {
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    const method = req.method;
    const head = method === 'HEAD';
    if (!head && method !== 'GET') reply = methodNotAllowed;
    res.writeHead(reply.status, reply.headers as string[]);
    if (head) res.end();
    else res.end(reply.body);
  } catch {
    // A request or response that is not what Node makes (a look-alike, a socket torn down under
    // us): there is no one to tell, and a throw here would reach the app's server.
  }
}

/**
 * A readiness probe for `sup`: 200 `ready` while it runs, 503 `shutting down` from the moment its
 * shutdown begins (a signal's `drainDelay` included, while the app still serves), 503 `stopped`
 * once it has stopped. Mount it in the app's own server, or use {@link serveHealth} for a port
 * of its own. GET and HEAD are answered (HEAD without a body), any other method with 405;
 * responses are `text/plain` with `cache-control: no-store`.
 *
 * @example
 * ```ts no_run
 * import http from 'node:http';
 * import { closeServer, readinessHandler, run } from 'supervise';
 *
 * await run(async (sup) => {
 *   const ready = readinessHandler(sup);
 *   const server = sup.adopt(http.createServer((req, res) => {
 *     if (req.url === '/readyz') return ready(req, res);   // express: app.get('/readyz', ready)
 *     res.end('hello');
 *   }), closeServer);
 *   server.listen(8080);
 * }, { drainDelay: 10_000 });
 * ```
 * @throws TypeError (`ERR_INVALID_ARG_TYPE`) when `sup` is not a Supervisor.
 */
export function readinessHandler(sup: Supervisor): HealthHandler {
  const target = probeTarget(sup, 'readinessHandler(sup)');
  return (req, res) => answerReadiness(target, req, res);
}

/**
 * A liveness probe for `sup`: 200 `alive` while it runs, still 200 (`alive, shutting down`)
 * while it shuts down, since a restart then would cut the drain short, and 503 `stopped` once it
 * has stopped. GET and HEAD are answered (HEAD without a body), any other method with 405.
 *
 * @example
 * ```ts
 * import http from 'node:http';
 * import type { AddressInfo } from 'node:net';
 * import { Supervisor, closeServer, livenessHandler } from 'supervise';
 *
 * const sup = new Supervisor({ signals: false });
 * const live = livenessHandler(sup);
 * const server = sup.adopt(http.createServer(live), closeServer);
 * await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
 * const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/livez`);
 * console.log(response.status, await response.text());   // 200 alive
 * await sup.shutdown();
 * ```
 * @throws TypeError (`ERR_INVALID_ARG_TYPE`) when `sup` is not a Supervisor.
 */
export function livenessHandler(sup: Supervisor): HealthHandler {
  const target = probeTarget(sup, 'livenessHandler(sup)');
  return (req, res) => answerLiveness(target, req, res);
}
