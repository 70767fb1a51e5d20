/**
 * `closeServer`: drains an `http`, `https`, `http2` or `net` server so that no request a client
 * has already sent is lost, which is what a rolling deploy behind a load balancer needs:
 *
 * 1. **Stop accepting.** New connections are refused at once; open ones stay open.
 * 2. **Close busy connections politely.** From the moment the drain begins, every HTTP/1
 *    response carries `Connection: close`, and its connection ends once it is written; the
 *    client reconnects, to another instance. HTTP/2 sessions are closed with a GOAWAY, and
 *    their streams in progress finish.
 * 3. **Close idle connections after a grace** (`idleGrace`), never while a request may be
 *    arriving on them.
 * 4. **At the deadline**, destroy what is left, and report it.
 *
 * Node's own `server.close()` instead closes every connection that is idle at that instant,
 * which under keep-alive load is most of them, each with its next request already on the wire.
 * The lifecycle of each connection is in `http-drain.ts`.
 *
 * Adopted with `sup.adopt(server, closeServer)`, it watches the server's connections from that
 * moment, so the drain knows every one of them. The drain begins when the disposer runs, not
 * when the shutdown begins: during a `drainDelay` the server serves as before, keep-alive
 * included. Answering `Connection: close` then would send clients back to this same instance
 * until it stops accepting, and every connection waiting in the kernel's accept queue at that
 * moment would be reset with its first request unanswered (an outcome the client cannot
 * interpret); a connection refused after the close is unambiguous. Called on a server it never
 * saw, it drains from the call, as well as the server's own API allows (see `http-drain.ts`).
 *
 * @module
 */
import type { Server as NetServer } from 'node:net';
import { type AdapterSpec, type GracePeriod, type GracePeriodOptions, beginStop, defineWith, hasMethods } from './graceful.js';
import { ServerDrain } from './http-drain.js';
import { checkTimeout } from './option-checks.js';
import { onAdopt } from './resources.js';

/**
 * Options for {@link closeServer}.
 *
 * @example
 * ```ts
 * import http from 'node:http';
 * import { Supervisor, closeServer, type CloseServerOptions } from 'supervise';
 * const sup = new Supervisor();
 * const options: CloseServerOptions = { timeout: 5_000, idleGrace: 1_000 };
 * sup.adopt(http.createServer((req, res) => res.end('hello')), closeServer.with(options)).listen(0, '127.0.0.1');
 * await sup.shutdown();   // drains, then closes: at most 5 s
 * ```
 */
export interface CloseServerOptions extends GracePeriodOptions {
  /**
   * Milliseconds a keep-alive connection must have been idle (no request in progress, nothing
   * received) before the drain closes it. A request that arrives within it is served, with
   * `Connection: close`. A client that waits longer than this between requests may race the
   * close, as with any HTTP/1.1 keep-alive server (RFC 9112 §9.6). It never extends the
   * deadline. `Infinity` leaves idle connections open until the deadline. Default: 1 000.
   */
  readonly idleGrace?: number;
}

/** What a keep-alive client needs between two requests, with a wide margin: see benchmarks/RESULTS.md. */
const defaultIdleGrace = 1_000;

const adapter: AdapterSpec<CloseServerOptions> = {
  name: 'closeServer',
  argument: 'server',
  expected: 'a net.Server (or an http, https or http2 server)',
  accepts: isServer,
  options: ['timeout', 'idleGrace'],
  checkOptions: (options, what) => void checkTimeout(options.idleGrace, defaultIdleGrace, `${what}.idleGrace`),
};

const drains = new WeakMap<NetServer, ServerDrain>();

/**
 * Drains `server` and resolves once it has closed. Without `timeout`, it forces the close just
 * before the deadline of the supervisor shutdown that calls it.
 *
 * @example
 * ```ts no_run
 * import http from 'node:http';
 * import { Supervisor, closeServer } from 'supervise';
 * const sup = new Supervisor({ drainDelay: 5_000 });
 * const server = sup.adopt(http.createServer((req, res) => {
 *   if (req.url === '/ready') res.writeHead(sup.signal.aborted ? 503 : 200).end();
 *   else res.end('hello');
 * }), closeServer);
 * server.listen(8080);
 * ```
 * @throws TypeError when `server` is not a `net.Server` (which `http`, `https` and `http2` servers
 * are), or an option is unknown or of the wrong type; RangeError when a number is out of range.
 */
export function closeServer(server: NetServer, options?: CloseServerOptions): Promise<void> {
  const { grace, options: checked } = beginStop(adapter, server, options);
  let drain = drains.get(server);
  if (drain === undefined) drains.set(server, (drain = new ServerDrain(server, checked.idleGrace ?? defaultIdleGrace, false)));
  return drainAndClose(server, drain, grace);
}

export declare namespace closeServer {
  /**
   * `closeServer` with options, for `adopt`. Unlike a wrapping arrow function, it still watches
   * the server's connections from adoption, and reports name it `closeServer`. The options are
   * checked here, at the call, not at shutdown.
   *
   * @example
   * ```ts
   * import http from 'node:http';
   * import { Supervisor, closeServer } from 'supervise';
   * const sup = new Supervisor();
   * sup.adopt(http.createServer(), closeServer.with({ timeout: 5_000, idleGrace: 2_000 })).listen(0, '127.0.0.1');
   * await sup.shutdown();
   * ```
   * @throws TypeError when `options` is not an object, or an option is unknown (the closest name
   * is suggested) or of the wrong type; RangeError when a number is out of range.
   */
  function withOptions(options: CloseServerOptions): (server: NetServer) => Promise<void>;
  export { withOptions as with };
}

defineWith(closeServer, adapter, (disposer, options) => {
  const idleGrace = options.idleGrace ?? defaultIdleGrace;
  Object.defineProperty(disposer, onAdopt, { value: (server: unknown) => watch(server, idleGrace) });
});

Object.defineProperty(closeServer, onAdopt, { value: (server: unknown) => watch(server, defaultIdleGrace) });

async function drainAndClose(server: NetServer, drain: ServerDrain, grace: GracePeriod): Promise<void> {
  const closed = stopAccepting(server);
  drain.begin();
  try {
    await grace.wait(closed, () => drain.destroyAll());
  } finally {
    drain.end();
    if (!drain.watched) drains.delete(server);
  }
}

/** From adoption: track the server's connections, so that the drain knows every one of them. */
function watch(server: unknown, idleGrace: number): void {
  if (isServer(server) && !drains.has(server)) drains.set(server, new ServerDrain(server, idleGrace, true));
}

/**
 * @internal `server.close()` without what Node's HTTP servers add to it (closing every idle
 * connection at once): it stops accepting, and resolves once the last connection has closed.
 */
export function stopAccepting(server: NetServer): Promise<void> {
  return new Promise((resolve) => {
    const own = Object.getOwnPropertyDescriptor(server, 'closeIdleConnections');
    const http = typeof (server as { closeIdleConnections?: unknown }).closeIdleConnections === 'function';
    // http(s).Server#close calls this.closeIdleConnections() before net.Server#close; it also
    // clears the server's request-timeout timer, which calling net.Server#close alone would leave.
    if (http) Object.defineProperty(server, 'closeIdleConnections', { value: keepIdleConnections, configurable: true, writable: true });
    try {
      server.close(() => resolve()); // also called, with ERR_SERVER_NOT_RUNNING, when it was not listening
    } finally {
      if (own !== undefined) Object.defineProperty(server, 'closeIdleConnections', own);
      else if (http) delete (server as { closeIdleConnections?: unknown }).closeIdleConnections;
    }
  });
}

function keepIdleConnections(): void {}

/** A net.Server by its shape: what the drain calls on it, so a look-alike fails at the call, not mid-drain. */
function isServer(value: unknown): value is NetServer {
  return hasMethods(value, 'close', 'listen', 'on', 'prependListener', 'removeListener', 'getConnections');
}
