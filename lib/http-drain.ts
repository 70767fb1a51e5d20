/**
 * The drain of one server's connections: what `closeServer` does between "stop accepting" and
 * "closed", one connection at a time, so that no request a client has already sent is lost.
 *
 * Node's own `server.close()` closes every connection that is idle in Node's view, which is the
 * whole time between a response and the parsing of the next request. Under keep-alive load a
 * connection spends most of its time there, with its next request already on the wire: that
 * request is lost, and the client cannot tell whether it ran. The drain here never closes a
 * connection a request may be arriving on. Each HTTP/1 connection goes through four states:
 *
 * 1. **busy**: a response is in flight, or bytes arrived since the last look (a request on
 *    its way). Every response whose headers are written once the drain has begun carries
 *    `Connection: close`, and Node ends the connection once it is written.
 * 2. **idle, within its grace**: nothing in flight and nothing received, for less than
 *    `idleGrace`. A request that arrives now is served, with `Connection: close`.
 * 3. **closing**: ended by Node after a `Connection: close` response, or closed by the drain
 *    once idle for the whole grace. The decision to close is made after the event loop has
 *    read what the socket received, so a request already in this process's socket buffer wins.
 * 4. **destroyed at the deadline**, with whatever else is left, and reported.
 *
 * An upgraded connection (WebSocket, CONNECT) is the application's: it is only destroyed at the
 * deadline. An HTTP/2 session is closed gracefully instead (see {@link closeSession}).
 *
 * A server adopted with `closeServer` is watched from adoption, so the drain knows every
 * connection. For a server it never saw, it does what the server's own API allows: answers with
 * `Connection: close` from then on, and closes what Node calls idle with `closeIdleConnections()`
 * once per grace, which can race a client's next request on a connection whose response was
 * already in flight when the drain began.
 *
 * @module
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Http2Session, ServerHttp2Stream } from 'node:http2';
import type { Server as NetServer, Socket } from 'node:net';

/** Where an HTTP/1 connection is in the drain; derived from its socket at each look, never stored. */
const BUSY = 0;
const IDLE = 1;
const EXPIRED = 2; // idle for the whole grace: close it
const CLOSING = 3;
const DETACHED = 4; // upgraded or CONNECT: the application's until the deadline
type ConnectionState = typeof BUSY | typeof IDLE | typeof EXPIRED | typeof CLOSING | typeof DETACHED;

/** One HTTP/1 connection of a watched server. */
class Http1Connection {
  /** The last response on this connection: with pipelining, the one written last. */
  response: ServerResponse | undefined = undefined;
  #bytesRead = -1;
  #idleSince = NaN;

  constructor(readonly socket: Socket) {}

  /** Looks at the socket now: busy while anything is in flight or arriving, else idle since the first look that found it so. */
  state(now: number, idleGrace: number): ConnectionState {
    const socket = this.socket as Socket & { parser?: unknown };
    if (socket.parser === null) return DETACHED;
    if (socket.writableEnded) return CLOSING;
    const bytesRead = socket.bytesRead;
    if (bytesRead !== this.#bytesRead || (this.response !== undefined && !this.response.writableFinished)) {
      this.#bytesRead = bytesRead;
      this.#idleSince = NaN;
      return BUSY;
    }
    if (Number.isNaN(this.#idleSince)) this.#idleSince = now;
    return now - this.#idleSince >= idleGrace ? EXPIRED : IDLE;
  }

  /** Once the drain has begun, the next response to write its headers says `Connection: close`. */
  closeAfterResponse(): void {
    const response = this.response;
    if (response !== undefined && !response.headersSent && !response.writableFinished) markClose(response);
  }
}

/**
 * @internal The drain of one server: it tracks the server's connections (from adoption when
 * `watched`), and once {@link ServerDrain.begin} is called, drains them as the module doc says.
 */
export class ServerDrain {
  readonly #server: NetServer;
  readonly #watched: boolean;
  readonly #idleGrace: number;
  /** Every accepted socket, raw and TLS, to destroy at the deadline. */
  readonly #sockets = new Set<Socket>();
  /**
   * The sockets of 'connection', one per TCP connection: what the deadline counts, whatever rides on
   * them. Node gives a TLS server's 'secureConnection' a TLS socket over that raw one; Bun gives
   * both events the same socket.
   */
  readonly #accepted = new WeakSet<Socket>();
  readonly #connections = new Map<Socket, Http1Connection>();
  readonly #sessions = new Set<Http2Session>();
  #draining = false;
  #sweep: NodeJS.Timeout | undefined;
  #lastSweepAt = 0;

  constructor(server: NetServer, idleGrace: number, watched: boolean) {
    this.#server = server;
    this.#idleGrace = idleGrace;
    this.#watched = watched;
    server.prependListener('request', this.#onRequest);
    server.on('stream', this.#onStream);
    if (!watched) return;
    server.on('connection', this.#onConnection);
    server.on('secureConnection', this.#onSecureConnection);
    server.on('session', this.#onSession);
  }

  /** Whether the drain knew the server's connections from the start. */
  get watched(): boolean {
    return this.#watched;
  }

  /** Starts the drain; idempotent. Accepting is the caller's to stop: during a `drainDelay` it goes on. */
  begin(): void {
    if (this.#draining) return;
    this.#draining = true;
    for (const connection of this.#connections.values()) connection.closeAfterResponse();
    for (const session of this.#sessions) closeSession(session);
    if (this.#idleGrace === Infinity) return;
    const period = Math.max(5, Math.min(250, this.#idleGrace / 4));
    this.#lastSweepAt = performance.now();
    this.#sweep = setInterval(this.#onSweep, period);
    this.#sweep.unref(); // the connections themselves keep the process alive while they last
    this.#onSweep();
  }

  /**
   * At the deadline: destroys every connection and session that is left and says what it did,
   * or undefined when nothing was open. Unwatched, it says what the server's own API allowed.
   */
  async destroyAll(): Promise<string | undefined> {
    let open = 0;
    for (const session of this.#sessions) if (!session.destroyed) session.destroy();
    for (const socket of this.#sockets) if (!socket.destroyed && this.#accepted.has(socket)) open++;
    for (const socket of this.#sockets) if (!socket.destroyed) socket.destroy();
    const server = this.#server as Partial<HttpServer>;
    if (typeof server.closeAllConnections === 'function') {
      // Connections Node knows and this drain never saw: all of them for an unwatched server.
      const before = this.#watched ? 0 : await connectionCount(this.#server);
      server.closeAllConnections();
      if (!this.#watched)
        return `forced: closeAllConnections() at the deadline on a server closeServer never watched${before > 0 ? ` (${before} connection(s) were open)` : ''}`;
    } else if (!this.#watched) {
      const left = await connectionCount(this.#server);
      if (left > 0) return `forced: ${left} connection(s) still open at the deadline could not be destroyed: the server was not adopted with closeServer`;
      return undefined;
    }
    return open > 0 ? `forced: ${open} connection(s) destroyed at the deadline` : undefined;
  }

  /** Ends the drain once the server has closed (or was forced): no timer or listener stays behind it. */
  end(): void {
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    if (this.#watched) return;
    this.#server.removeListener('request', this.#onRequest);
    this.#server.removeListener('stream', this.#onStream);
  }

  readonly #onConnection = (socket: Socket): void => {
    this.#accepted.add(socket);
    this.#track(socket);
    // A plain HTTP/1 server parses on this socket; a TLS server on the TLS socket of 'secureConnection'.
    if (!isTlsServer(this.#server) && isHttp1Server(this.#server)) this.#addConnection(socket);
  };

  readonly #onSecureConnection = (socket: Socket): void => {
    this.#track(socket);
    if ((socket as Socket & { alpnProtocol?: unknown }).alpnProtocol !== 'h2' && isHttp1Server(this.#server)) this.#addConnection(socket);
  };

  readonly #onSession = (session: Http2Session): void => {
    this.#sessions.add(session);
    session.once('close', () => this.#sessions.delete(session));
    if (this.#draining) closeSession(session);
  };

  readonly #onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    if (request.httpVersionMajor >= 2) return; // HTTP/2 compatibility API: the session drains
    const connection = this.#connections.get(request.socket);
    if (connection !== undefined) connection.response = response;
    if (this.#draining) markClose(response);
  };

  readonly #onStream = (stream: ServerHttp2Stream): void => {
    // An unwatched server's sessions are learnt from their streams.
    if (this.#draining && !this.#watched && !this.#sessions.has(stream.session!)) {
      const session = stream.session!;
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
      closeSession(session);
    }
  };

  readonly #onSweep = (): void => {
    const now = performance.now();
    let expired: Http1Connection[] | undefined;
    for (const connection of this.#connections.values()) {
      if (connection.state(now, this.#idleGrace) === EXPIRED) (expired ??= []).push(connection);
    }
    if (expired !== undefined) setImmediate(closeIfStillIdle, expired, this.#idleGrace);
    if (!this.#watched && now - this.#lastSweepAt >= this.#idleGrace) {
      // Unwatched: Node's own idea of idle, once per grace; see the module doc for the race.
      this.#lastSweepAt = now;
      setImmediate(closeIdle, this.#server);
    }
  };

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#connections.delete(socket);
    });
  }

  #addConnection(socket: Socket): void {
    const connection = new Http1Connection(socket);
    this.#connections.set(socket, connection);
    if (this.#draining) connection.state(performance.now(), this.#idleGrace);
  }
}

/**
 * Runs in the check phase, after the event loop has polled for I/O: a connection that received
 * a request since the sweep looked at it is busy again, and stays open.
 */
function closeIfStillIdle(expired: readonly Http1Connection[], idleGrace: number): void {
  const now = performance.now();
  for (const connection of expired) if (connection.state(now, idleGrace) === EXPIRED) connection.socket.destroy();
}

function closeIdle(server: NetServer): void {
  (server as Partial<HttpServer>).closeIdleConnections?.();
}

/** `Connection: close` on a response whose headers are not written yet: Node then ends the connection after it. */
function markClose(response: ServerResponse): void {
  if (!response.headersSent) response.setHeader('Connection', 'close');
}

/**
 * Closes an HTTP/2 session gracefully: a GOAWAY with the last stream the session has received,
 * after which the streams in progress finish and the session closes.
 *
 * Not the two-step GOAWAY of RFC 9113 §6.8 (first the largest stream id, then the real one a
 * round trip later), which would also serve the streams a client sent while the first GOAWAY
 * was on its way. Node (20 to 26) cannot send that first step: any GOAWAY it sends makes
 * nghttp2 ignore every new stream and, once no stream is open, stop reading the socket, so a
 * PING's acknowledgement is never read either (nghttp2 has a separate call for the first step,
 * `nghttp2_submit_shutdown_notice`, which Node does not expose). A stream on the wire when the
 * GOAWAY goes out has an id above its last stream id: the client sees it refused, never
 * processed, and may retry it safely (RFC 9113 §8.7). No stream the session accepted is dropped.
 */
function closeSession(session: Http2Session): void {
  if (session.closed || session.destroyed) return;
  try {
    session.close();
  } catch {
    // destroyed under us: nothing left to close
  }
}

/** Open connections the server counts, TLS handshakes and upgraded sockets included. */
function connectionCount(server: NetServer): Promise<number> {
  return new Promise((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)));
}

function isTlsServer(server: NetServer): boolean {
  return typeof (server as NetServer & { addContext?: unknown }).addContext === 'function';
}

/** `http` and `https` servers, and `http2` secure servers with `allowHTTP1`, can close idle and all connections. */
export function isHttp1Server(server: NetServer): server is HttpServer {
  return typeof (server as HttpServer).closeAllConnections === 'function' && typeof (server as HttpServer).closeIdleConnections === 'function';
}
