/**
 * `closeServer`: drains an `http`, `https`, `http2` or `net` server the way a load-balanced
 * daemon needs. It stops accepting at once, closes idle keep-alive connections, lets in-flight
 * requests finish while answering them with `Connection: close` (HTTP/2: GOAWAY), and destroys
 * whatever is left when its time is up.
 *
 * Adopted with `sup.adopt(server, closeServer)`, it watches the server's connections from that
 * moment, so at shutdown it knows every in-flight response. Called on a server it never saw, it
 * still stops accepting and closes idle connections, and sweeps connections as they go idle.
 *
 * @module
 */
import type { Server as HttpServer, ServerResponse } from 'node:http';
import type { Http2Session } from 'node:http2';
import type { Server as NetServer, Socket } from 'node:net';
import { invalidArgType } from './errors.js';
import { type GracePeriodOptions, startGracePeriod } from './graceful.js';
import { onAdopt } from './resources.js';

/**
 * Options for {@link closeServer}.
 *
 * @example
 * ```ts
 * sup.adopt(server, closeServer.with({ timeout: 5_000 }));
 * ```
 */
export interface CloseServerOptions extends GracePeriodOptions {}

/** What `closeServer` knows of a server it watched from adoption. */
interface Watched {
  readonly sockets: Set<Socket>;
  readonly sessions: Set<Http2Session>;
}

const watched = new WeakMap<NetServer, Watched>();

/** How often an unwatched HTTP/1 server's connections are checked for having gone idle. */
const idleSweepMs = 50;

/**
 * Closes `server` gracefully; resolves once it has closed. Without `timeout`, it forces the
 * close just before the deadline of the supervisor shutdown that calls it.
 *
 * @example
 * ```ts
 * import http from 'node:http';
 * import { Supervisor, closeServer } from 'supervise';
 * const sup = new Supervisor({ drainDelay: 5_000 });
 * const server = sup.adopt(http.createServer((req, res) => {
 *   if (req.url === '/ready') res.writeHead(sup.signal.aborted ? 503 : 200).end();
 *   else res.end('hello');
 * }), closeServer);
 * server.listen(8080);
 * ```
 * @throws TypeError when `server` is not a `net.Server` (which `http`, `https` and `http2` servers are).
 */
export function closeServer(server: NetServer, options?: CloseServerOptions): Promise<void> {
  if (!isServer(server)) throw invalidArgType('closeServer(server)', 'a net.Server (or an http, https or http2 server)', server);
  const grace = startGracePeriod(options, 'closeServer');
  const known = watched.get(server);
  const http1 = isHttp1(server);

  // New requests on connections that stay open answer with Connection: close, then the socket closes.
  const closeAfterResponse = (_request: unknown, response: ServerResponse) => {
    if (!response.headersSent) response.setHeader('Connection', 'close');
  };
  if (http1) server.prependListener('request', closeAfterResponse);

  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  let sweep: NodeJS.Timeout | undefined;
  if (known !== undefined) {
    for (const socket of known.sockets) endAfterResponse(server, socket);
    for (const session of known.sessions) session.close();
  } else if (http1) {
    // Without a list of in-flight responses, close connections as soon as they go idle.
    sweep = setInterval(() => server.closeIdleConnections(), idleSweepMs);
  }

  return grace
    .wait(closed, () => {
      let open = 0;
      if (known !== undefined) {
        for (const session of known.sessions) if (!session.destroyed) (open++, session.destroy());
        for (const socket of known.sockets) if (!socket.destroyed && !isTlsTransport(socket)) (open++, socket.destroy());
      }
      if (http1) server.closeAllConnections();
      return `forced: ${open > 0 ? `${open} connection(s)` : 'open connections'} destroyed at the deadline`;
    })
    .then(() => undefined)
    .finally(() => {
      clearInterval(sweep);
      if (http1) server.removeListener('request', closeAfterResponse);
    });
}

/** Starts watching `server`'s connections (and HTTP/2 sessions) until it closes. */
function watch(server: NetServer): void {
  if (!isServer(server) || watched.has(server)) return;
  const entry: Watched = { sockets: new Set(), sessions: new Set() };
  watched.set(server, entry);
  const track = (socket: Socket) => {
    entry.sockets.add(socket);
    socket.once('close', () => entry.sockets.delete(socket));
  };
  server.on('connection', track);
  server.on('secureConnection', track); // https: responses live on the TLS socket, not the raw one
  server.on('session', (session: Http2Session) => {
    entry.sessions.add(session);
    session.once('close', () => entry.sessions.delete(session));
  });
}

Object.defineProperty(closeServer, onAdopt, { value: watch });

/**
 * `closeServer` with options, for `adopt`: `sup.adopt(server, closeServer.with({ timeout: 5_000 }))`.
 * Unlike a wrapping arrow function, it still watches the server's connections from adoption.
 *
 * @example
 * ```ts
 * sup.adopt(http.createServer(app), closeServer.with({ timeout: 5_000 }));
 * ```
 */
closeServer.with = function withOptions(options: CloseServerOptions): (server: NetServer) => Promise<void> {
  const close = (server: NetServer) => closeServer(server, options);
  Object.defineProperty(close, onAdopt, { value: watch });
  Object.defineProperty(close, 'name', { value: 'closeServer' }); // the disposer's name in reports
  return close;
};

/**
 * An HTTP/1 connection with a response in flight: answer it with Connection: close if its
 * headers are not out yet, else close the connection once the response has finished.
 */
function endAfterResponse(server: NetServer, socket: Socket): void {
  const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (response === undefined || response === null || response.writableFinished) return;
  if (!response.headersSent) response.setHeader('Connection', 'close');
  else response.once('finish', () => (server as HttpServer).closeIdleConnections?.());
}

/** A TLS socket rides on a raw socket that is tracked too: count each connection once. */
function isTlsTransport(socket: Socket): boolean {
  return (socket as Socket & { encrypted?: boolean }).encrypted === true;
}

function isServer(value: unknown): value is NetServer {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as NetServer).close === 'function' &&
    typeof (value as NetServer).listen === 'function' &&
    typeof (value as NetServer).on === 'function'
  );
}

/** `http` and `https` servers (and `http2` ones with `allowHTTP1`) can close idle and all connections. */
function isHttp1(server: NetServer): server is HttpServer {
  return typeof (server as HttpServer).closeAllConnections === 'function' && typeof (server as HttpServer).closeIdleConnections === 'function';
}
