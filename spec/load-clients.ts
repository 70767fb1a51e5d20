// Counting load clients: they keep requests flowing at a server and count, per request, whether it was
// answered, refused before the server took it, or lost after it did; what the graceful-shutdown specs and
// benchmarks assert on. The HTTP/1.1 client speaks raw node:net / node:tls so that nothing (no agent, no
// retry, no pool) hides what happens on the wire; the HTTP/2 client is node:http2's own.
import http2 from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';

/** How to load a server with HTTP/1.1 keep-alive connections, each sending one request at a time. */
export interface Http1LoadOptions {
  readonly port: number;
  readonly host?: string; // default '127.0.0.1'
  readonly connections: number; // concurrent keep-alive connections
  readonly path?: string; // default '/'
  readonly method?: 'GET' | 'POST'; // default 'GET'; POST sends a small body with Content-Length
  /**
   * https: connect with node:tls; `ca` is the PEM of the server's self-signed cert. `servername` is the SNI
   * name and the name checked against the certificate; without it none is sent and the certificate must
   * carry the host's IP (spec/fixtures/tls-cert.pem carries IP:127.0.0.1 and no DNS name).
   */
  readonly tls?: { readonly ca: string | Buffer; readonly servername?: string };
  /** ms to wait before reconnecting after ECONNREFUSED (default 5). */
  readonly retryDelayMs?: number;
}

/** What an HTTP/1.1 load run saw: every request is answered, lost, reset before its first answer, or still outstanding. */
export interface Http1LoadCounts {
  readonly connectionsOpened: number; // TCP (or TLS) connections that were established
  readonly requestsSent: number;
  readonly answered: number; // complete responses received (any status)
  readonly non2xx: number; // of `answered`, how many had a status outside 200-299 (e.g. fastify's 503 while closing)
  readonly closeResponses: number; // of `answered`, how many carried `Connection: close`
  /** Requests written on a connection that had already been answered at least once, and never answered (the connection closed or reset under them). MUST be 0 for a good drain. */
  readonly lost: number;
  /** Connections that closed or reset with their FIRST request unanswered (cannot tell whether the server ever accepted them). */
  readonly resetBeforeFirst: number;
  /** connect() attempts refused (ECONNREFUSED): never accepted, fine. Also a connection reset before it was established (over TLS: during its handshake), before any request. */
  readonly refused: number;
  /** Per connection (index = connection slot, in order of establishment across reconnects): answered and lost. */
  readonly perConnection: ReadonlyArray<{ readonly answered: number; readonly lost: number }>;
  /** Anything unexpected (parse errors, other error codes), as short strings; should normally be empty. */
  readonly anomalies: readonly string[];
}

/** A running load: its counts so far, a wait for progress, and a stop that settles every request. */
export interface LoadRun<C> {
  /** Live counts so far (a snapshot). */
  counts(): C;
  /** Resolves once at least `n` responses have been answered in total (hang guard: rejects after timeoutMs, default 30 000). */
  answeredAtLeast(n: number, timeoutMs?: number): Promise<void>;
  /** Stops: no new requests or connections; waits (at most graceMs, default 5 000) for outstanding requests to be answered or their connections to close; then closes every socket and resolves the final counts. A request still outstanding at the end on a connection already answered once counts as lost. */
  stop(graceMs?: number): Promise<C>;
}

/** How to load a server with HTTP/2 sessions (h2c, or h2 over TLS), each keeping a number of streams in flight. */
export interface Http2LoadOptions {
  readonly port: number;
  readonly host?: string; // default '127.0.0.1'
  readonly sessions: number; // concurrent sessions (connections)
  readonly streamsPerSession: number; // concurrent streams kept open on each session
  readonly path?: string; // default '/'
  readonly tls?: { readonly ca: string | Buffer; readonly servername?: string }; // https (h2 over TLS), else h2c (http://)
  readonly retryDelayMs?: number; // default 5
}

/** What an HTTP/2 load run saw: every stream started is answered, refused (safe to retry) or dropped (lost work). */
export interface Http2LoadCounts {
  readonly sessionsOpened: number;
  readonly streamsStarted: number; // session.request() calls that returned a stream
  readonly answered: number; // streams that got a response and ended
  /** Streams the server refused: closed with rstCode NGHTTP2_REFUSED_STREAM (7), or with an id above the last-stream-id of a GOAWAY the session received. The client may retry them safely. */
  readonly refused: number;
  /** Streams the server had accepted (not refused as above) that closed without a complete response: lost work. MUST be 0. */
  readonly dropped: number;
  readonly goaways: number; // GOAWAY frames received across sessions
  readonly connectRefused: number; // ECONNREFUSED (also a reset before the session was established, e.g. in the TLS handshake)
  readonly anomalies: readonly string[];
}

const DEFAULT_ANSWER_TIMEOUT_MS = 30_000;
const DEFAULT_GRACE_MS = 5_000;
/** How long stop() waits for destroyed sockets and sessions to report 'close'. */
const CLOSE_WAIT_MS = 2_000;
const MAX_ANOMALIES = 50;
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_LINE_BYTES = 8 * 1024;
const POST_BODY = 'supervise load client body\n';
/** Errors a connection meets when a server closes or resets it: what the counts are about, not anomalies. */
const CONNECTION_ERRORS: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ECONNABORTED']);

// ---------------------------------------------------------------------------------------------------------
// Shared pieces

function errorCode(error: unknown): string {
  if (error instanceof Error) return (error as NodeJS.ErrnoException).code ?? error.message;
  return String(error);
}

/** Anomalies, kept short: the first MAX_ANOMALIES and a count of the rest. */
class Anomalies {
  readonly #items: string[] = [];
  #more = 0;
  add(text: string): void {
    if (this.#items.length < MAX_ANOMALIES) this.#items.push(text);
    else this.#more++;
  }
  list(): string[] {
    return this.#more === 0 ? [...this.#items] : [...this.#items, `... and ${this.#more} more`];
  }
}

/** Bounded waits on a condition, re-checked whenever the load makes progress. */
class Watch {
  readonly #waiting = new Set<{ check(): void; cancel(): void }>();

  notify(): void {
    for (const waiter of [...this.#waiting]) waiter.check();
  }

  /** Resolves true once `condition()` holds, false after `timeoutMs` or at cancelAll(). */
  until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (met: boolean) => {
        clearTimeout(timer);
        this.#waiting.delete(waiter);
        resolve(met);
      };
      const waiter = {
        check: () => {
          if (condition()) finish(true);
        },
        cancel: () => finish(condition()),
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.#waiting.add(waiter);
    });
  }

  /** Settles every wait now (with whether its condition holds): stop() leaves no timer behind. */
  cancelAll(): void {
    for (const waiter of [...this.#waiting]) waiter.cancel();
  }
}

/** Timers the load set (reconnect delays), all cleared at stop(). */
class Timers {
  readonly #pending = new Set<NodeJS.Timeout>();
  after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#pending.delete(timer);
      fn();
    }, ms);
    this.#pending.add(timer);
  }
  clear(): void {
    for (const timer of this.#pending) clearTimeout(timer);
    this.#pending.clear();
  }
}

function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}

function checkCommon(port: number, path: string, retryDelayMs: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new RangeError(`port must be 1..65535, got ${port}`);
  if (!/^\/[\x21-\x7e]*$/.test(path)) throw new TypeError(`path must start with / and hold no spaces or control characters: ${JSON.stringify(path)}`);
  if (!Number.isFinite(retryDelayMs) || retryDelayMs < 0) throw new RangeError(`retryDelayMs must be >= 0, got ${retryDelayMs}`);
}

function hostForUrl(host: string): string {
  return net.isIPv6(host) ? `[${host}]` : host;
}

function answeredAtLeast(watch: Watch, answered: () => number, stopped: boolean, n: number, timeoutMs: number): Promise<void> {
  // Once stopped, no more answers come: settle at once rather than leave a timer running.
  const met = stopped ? Promise.resolve(answered() >= n) : watch.until(() => answered() >= n, timeoutMs);
  return met.then((met) => {
    if (!met) throw new Error(`load: ${answered()} of ${n} responses answered (timed out after ${timeoutMs} ms or stopped)`);
  });
}

// ---------------------------------------------------------------------------------------------------------
// HTTP/1.1 response parsing, incremental

class ParseError extends Error {}

interface ResponseHead {
  readonly status: number;
  /** The response carried `Connection: close`. */
  readonly closeHeader: boolean;
  /** The connection ends after this response (Connection: close, HTTP/1.0 without keep-alive, or a body delimited by EOF). */
  readonly mustClose: boolean;
  readonly framing: 'none' | 'length' | 'chunked' | 'eof';
  readonly length: number;
}

interface ParsedResponse {
  readonly status: number;
  readonly closeHeader: boolean;
  readonly mustClose: boolean;
  /** Bytes that followed the complete response in the same chunk (not parsed: no request asked for them). */
  readonly extraBytes: number;
}

function parseHead(text: string): ResponseHead & { readonly interim: boolean } {
  const lines = text.split('\r\n');
  const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/.exec(lines[0] ?? '');
  if (statusLine === null) throw new ParseError(`bad status line ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`);
  const minor = statusLine[1];
  const status = Number(statusLine[2]);
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line[0] === ' ' || line[0] === '\t') throw new ParseError(`bad header line ${JSON.stringify(line.slice(0, 40))}`);
    const name = line.slice(0, colon).toLowerCase();
    const values = headers.get(name) ?? [];
    values.push(line.slice(colon + 1).trim());
    headers.set(name, values);
  }
  const tokens = (name: string) =>
    (headers.get(name) ?? [])
      .flatMap((v) => v.split(','))
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== '');
  const connection = tokens('connection');
  const closeHeader = connection.includes('close');
  const keepAlive = minor === '1' ? !closeHeader : connection.includes('keep-alive') && !closeHeader;
  if (status === 101) throw new ParseError('unexpected 101 Switching Protocols');
  if (status >= 100 && status < 200) {
    return { status, closeHeader, mustClose: false, framing: 'none', length: 0, interim: true };
  }
  let framing: ResponseHead['framing'];
  let length = 0;
  const transferEncoding = tokens('transfer-encoding');
  const contentLength = tokens('content-length');
  if (status === 204 || status === 304) framing = 'none';
  else if (transferEncoding.length > 0) framing = transferEncoding[transferEncoding.length - 1] === 'chunked' ? 'chunked' : 'eof';
  else if (contentLength.length > 0) {
    if (!contentLength.every((v) => /^\d{1,15}$/.test(v) && v === contentLength[0])) {
      throw new ParseError(`bad Content-Length ${JSON.stringify(contentLength.join(','))}`);
    }
    framing = 'length';
    length = Number(contentLength[0]);
  } else framing = 'eof';
  return { status, closeHeader, mustClose: !keepAlive || framing === 'eof', framing, length, interim: false };
}

/** Reads HTTP/1.1 responses from the chunks of one connection, however they are split. */
class ResponseParser {
  #phase: 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'eof' = 'head';
  #stash: Buffer | undefined;
  #remaining = 0;
  #head: ResponseHead | undefined;

  /**
   * Parses `chunk`; returns the response it completes, if any, and stops there (what follows it is only
   * counted, in extraBytes). Throws a ParseError for what is not an HTTP/1.1 response.
   */
  feed(chunk: Buffer): ParsedResponse | undefined {
    const data = this.#stash === undefined ? chunk : Buffer.concat([this.#stash, chunk]);
    this.#stash = undefined;
    let at = 0;
    const line = (): string | undefined => {
      const end = data.indexOf('\r\n', at, 'latin1');
      if (end < 0) {
        if (data.length - at > MAX_LINE_BYTES) throw new ParseError('line too long');
        this.#stash = data.subarray(at);
        return undefined;
      }
      const text = data.toString('latin1', at, end);
      at = end + 2;
      return text;
    };
    while (at < data.length) {
      switch (this.#phase) {
        case 'head': {
          const end = data.indexOf('\r\n\r\n', at, 'latin1');
          if (end < 0) {
            if (data.length - at > MAX_HEAD_BYTES) throw new ParseError('response head too long');
            this.#stash = data.subarray(at);
            return undefined;
          }
          const head = parseHead(data.toString('latin1', at, end));
          at = end + 4;
          if (head.interim) continue; // a 1xx: the real response head follows
          this.#head = head;
          if (head.framing === 'none' || (head.framing === 'length' && head.length === 0)) return this.#complete(data.length - at);
          if (head.framing === 'length') {
            this.#remaining = head.length;
            this.#phase = 'length';
          } else this.#phase = head.framing === 'chunked' ? 'chunk-size' : 'eof';
          break;
        }
        case 'length':
        case 'chunk-data': {
          const take = Math.min(this.#remaining, data.length - at);
          at += take;
          this.#remaining -= take;
          if (this.#remaining === 0) {
            if (this.#phase === 'length') return this.#complete(data.length - at);
            this.#phase = 'chunk-end';
          }
          break;
        }
        case 'chunk-size': {
          const text = line();
          if (text === undefined) return undefined;
          const size = (text.split(';')[0] ?? '').trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(size)) throw new ParseError(`bad chunk size ${JSON.stringify(text.slice(0, 20))}`);
          this.#remaining = parseInt(size, 16);
          this.#phase = this.#remaining === 0 ? 'trailers' : 'chunk-data';
          break;
        }
        case 'chunk-end': {
          if (data.length - at < 2) {
            this.#stash = data.subarray(at);
            return undefined;
          }
          if (data[at] !== 0x0d || data[at + 1] !== 0x0a) throw new ParseError('chunk data not followed by CRLF');
          at += 2;
          this.#phase = 'chunk-size';
          break;
        }
        case 'trailers': {
          const text = line();
          if (text === undefined) return undefined;
          if (text === '') return this.#complete(data.length - at);
          break; // a trailer field: not needed
        }
        case 'eof':
          at = data.length; // the body runs to the end of the connection
          break;
      }
    }
    return undefined;
  }

  /** The connection ended: the response it completes (one whose body runs to EOF), if any. */
  eof(): ParsedResponse | undefined {
    return this.#phase === 'eof' ? this.#complete(0) : undefined;
  }

  #complete(extraBytes: number): ParsedResponse {
    const head = this.#head!;
    this.#head = undefined;
    this.#phase = 'head';
    this.#remaining = 0;
    return { status: head.status, closeHeader: head.closeHeader, mustClose: head.mustClose, extraBytes };
  }
}

// ---------------------------------------------------------------------------------------------------------
// HTTP/1.1 load

/**
 * Starts `connections` raw HTTP/1.1 keep-alive connections, each sending one request, reading the whole
 * response and sending the next at once; measures how many requests were answered, lost after the
 * connection had served one, reset before the first answer, or refused at connect (see Http1LoadCounts).
 */
export function startHttp1Load(options: Http1LoadOptions): LoadRun<Http1LoadCounts> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/';
  const method = options.method ?? 'GET';
  const retryDelayMs = options.retryDelayMs ?? 5;
  checkCount('connections', options.connections);
  checkCommon(options.port, path, retryDelayMs);
  const head = `${method} ${path} HTTP/1.1\r\nHost: ${hostForUrl(host)}\r\n`;
  const request = Buffer.from(
    method === 'POST' ? `${head}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(POST_BODY)}\r\n\r\n${POST_BODY}` : `${head}\r\n`,
    'latin1',
  );

  const counts = { connectionsOpened: 0, requestsSent: 0, answered: 0, non2xx: 0, closeResponses: 0, lost: 0, resetBeforeFirst: 0, refused: 0 };
  const perConnection: { answered: number; lost: number }[] = [];
  const anomalies = new Anomalies();
  const watch = new Watch();
  const timers = new Timers();
  /** Live sockets (connecting, too), and whether each has a request outstanding. */
  const sockets = new Map<net.Socket, { outstanding: boolean }>();
  let stopped = false;
  let stopping: Promise<Http1LoadCounts> | undefined;

  const outstanding = () => {
    let n = 0;
    for (const state of sockets.values()) if (state.outstanding) n++;
    return n;
  };

  const open = (): void => {
    if (stopped) return;
    const socket =
      options.tls === undefined
        ? net.connect({ host, port: options.port })
        : tls.connect({
            host,
            port: options.port,
            ca: options.tls.ca,
            ...(options.tls.servername === undefined ? {} : { servername: options.tls.servername }),
          });
    const state = { outstanding: false };
    sockets.set(socket, state);
    const parser = new ResponseParser();
    let connection: { answered: number; lost: number } | undefined; // set once established
    let failure: string | undefined;

    const send = () => {
      if (!socket.writable) {
        socket.destroy(); // closing under us while idle: nothing outstanding, the slot reconnects
        return;
      }
      state.outstanding = true;
      counts.requestsSent++;
      socket.write(request);
    };

    const answer = (response: ParsedResponse) => {
      state.outstanding = false;
      counts.answered++;
      connection!.answered++;
      if (response.status < 200 || response.status > 299) counts.non2xx++;
      if (response.closeHeader) counts.closeResponses++;
      watch.notify();
      if (response.extraBytes > 0) {
        anomalies.add(`${response.extraBytes} bytes after a complete response (a second response to one request?)`);
        socket.destroy();
      } else if (response.mustClose || stopped) socket.destroy();
      else send();
    };

    socket.once(options.tls === undefined ? 'connect' : 'secureConnect', () => {
      counts.connectionsOpened++;
      connection = { answered: 0, lost: 0 };
      perConnection.push(connection);
      socket.setNoDelay(true);
      if (stopped) socket.destroy();
      else send();
    });
    socket.on('data', (chunk: Buffer) => {
      if (!state.outstanding) {
        anomalies.add(`${chunk.length} bytes received with no request outstanding`);
        socket.destroy();
        return;
      }
      let response: ParsedResponse | undefined;
      try {
        response = parser.feed(chunk);
      } catch (error) {
        anomalies.add(`parse error: ${error instanceof Error ? error.message : String(error)}`);
        socket.destroy();
        return;
      }
      if (response !== undefined) answer(response);
    });
    socket.on('end', () => {
      const response = parser.eof();
      if (response !== undefined && state.outstanding) answer(response);
    });
    socket.on('error', (error: Error) => {
      failure = errorCode(error);
      if (!CONNECTION_ERRORS.has(failure)) anomalies.add(`socket error ${failure}`);
    });
    socket.on('close', () => {
      sockets.delete(socket);
      if (state.outstanding) {
        state.outstanding = false;
        if (connection !== undefined && connection.answered > 0) {
          counts.lost++;
          connection.lost++;
        } else counts.resetBeforeFirst++;
      } else if (connection === undefined && !stopped) {
        // Never established: refused (or, over TLS, reset in the handshake); anything else is an anomaly already.
        if (failure === undefined || CONNECTION_ERRORS.has(failure)) counts.refused++;
      }
      watch.notify();
      if (stopped) return;
      if (connection === undefined) timers.after(retryDelayMs, open);
      else open();
    });
  };

  const snapshot = (): Http1LoadCounts => ({
    ...counts,
    perConnection: perConnection.map((c) => ({ answered: c.answered, lost: c.lost })),
    anomalies: anomalies.list(),
  });

  for (let i = 0; i < options.connections; i++) open();

  return {
    counts: snapshot,
    answeredAtLeast: (n, timeoutMs = DEFAULT_ANSWER_TIMEOUT_MS) => answeredAtLeast(watch, () => counts.answered, stopped, n, timeoutMs),
    stop(graceMs = DEFAULT_GRACE_MS) {
      stopping ??= (async () => {
        stopped = true;
        timers.clear();
        for (const [socket, state] of sockets) if (!state.outstanding) socket.destroy(); // idle or still connecting
        await watch.until(() => outstanding() === 0, graceMs);
        for (const socket of sockets.keys()) socket.destroy(); // outstanding ones count as lost in 'close'
        if (!(await watch.until(() => sockets.size === 0, CLOSE_WAIT_MS))) {
          anomalies.add(`${sockets.size} socket(s) did not close within ${CLOSE_WAIT_MS} ms of being destroyed`);
        }
        watch.cancelAll();
        return snapshot();
      })();
      return stopping;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// HTTP/2 load

/** Stream errors that only say how a stream ended (the counts classify it); anything else is an anomaly. */
const STREAM_ERRORS: ReadonlySet<string> = new Set([
  'ERR_HTTP2_STREAM_ERROR', // closed by RST_STREAM with a code other than NO_ERROR / CANCEL
  'ERR_HTTP2_STREAM_CANCEL',
  'ERR_HTTP2_SESSION_ERROR', // the session got a GOAWAY with an error code (itself an anomaly)
  'ERR_HTTP2_GOAWAY_SESSION',
  'ECONNRESET',
  'EPIPE',
]);

interface SessionSlot {
  readonly session: ClientHttp2Session;
  /** Our own socket under the session: after a peer's GOAWAY Node closes the session gracefully and then keeps
   * its socket until the peer closes it, even through session.destroy(); stop() destroys it here. */
  readonly socket: net.Socket;
  readonly streams: Set<ClientHttp2Stream>;
  connected: boolean;
  /** Replaced by a new session (after a GOAWAY or its close): no new streams here. */
  retired: boolean;
  /** The lowest last-stream-id of the GOAWAYs this session received. */
  goawayLast: number | undefined;
}

/**
 * Starts `sessions` HTTP/2 sessions with `streamsPerSession` GETs in flight on each, starting a new stream as
 * soon as one ends and a new session when one receives GOAWAY or closes; measures streams answered, refused
 * by the server (safe to retry) and dropped after it accepted them (see Http2LoadCounts).
 */
export function startHttp2Load(options: Http2LoadOptions): LoadRun<Http2LoadCounts> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/';
  const retryDelayMs = options.retryDelayMs ?? 5;
  checkCount('sessions', options.sessions);
  checkCount('streamsPerSession', options.streamsPerSession);
  checkCommon(options.port, path, retryDelayMs);
  const authority = `${options.tls === undefined ? 'http' : 'https'}://${hostForUrl(host)}:${options.port}`;
  const tlsOptions = options.tls;
  const connect = (): net.Socket =>
    tlsOptions === undefined
      ? net.connect({ host, port: options.port })
      : tls.connect({
          host,
          port: options.port,
          ca: tlsOptions.ca,
          ALPNProtocols: ['h2'],
          ...(tlsOptions.servername === undefined ? {} : { servername: tlsOptions.servername }),
        });
  const { NGHTTP2_REFUSED_STREAM, NGHTTP2_NO_ERROR } = http2.constants;

  const counts = { sessionsOpened: 0, streamsStarted: 0, answered: 0, refused: 0, dropped: 0, goaways: 0, connectRefused: 0 };
  const anomalies = new Anomalies();
  const watch = new Watch();
  const timers = new Timers();
  const slots = new Set<SessionSlot>();
  let stopped = false;
  let stopping: Promise<Http2LoadCounts> | undefined;

  const inFlight = () => {
    let n = 0;
    for (const slot of slots) n += slot.streams.size;
    return n;
  };

  const usable = (slot: SessionSlot) => !stopped && slot.connected && !slot.retired && !slot.session.closed && !slot.session.destroyed;

  const retire = (slot: SessionSlot) => {
    if (slot.retired) return;
    slot.retired = true;
    if (stopped) return;
    if (slot.connected) open();
    else timers.after(retryDelayMs, open);
  };

  const startStream = (slot: SessionSlot) => {
    let stream: ClientHttp2Stream;
    try {
      stream = slot.session.request({ ':path': path });
    } catch (error) {
      anomalies.add(`request() threw ${errorCode(error)}`);
      retire(slot);
      return;
    }
    counts.streamsStarted++;
    slot.streams.add(stream);
    let responded = false;
    // Whether the whole response arrived. With a content-length, the body's bytes say so: over TLS,
    // a stream whose session is closing can emit 'close' before the 'end' of a complete body.
    // Without one, 'end' while the stream is still open: Node's client also emits 'end' on a stream
    // closed under it (RST_STREAM NO_ERROR/CANCEL, its session destroyed), but only after marking it closed.
    let contentLength: number | undefined;
    let received = 0;
    let endedOpen = false;
    stream.on('response', (headers) => {
      responded = true;
      const length = Number(headers['content-length']);
      if (Number.isInteger(length) && length >= 0) contentLength = length;
    });
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    stream.on('end', () => {
      endedOpen = !stream.closed;
    });
    stream.on('error', (error: Error) => {
      const code = errorCode(error);
      if (!STREAM_ERRORS.has(code)) anomalies.add(`stream error ${code}`);
    });
    const complete = () => responded && (contentLength === undefined ? endedOpen : received === contentLength && stream.rstCode === NGHTTP2_NO_ERROR);
    const classify = () => {
      const id = stream.id;
      if (complete()) counts.answered++;
      else if (id === undefined || stream.rstCode === NGHTTP2_REFUSED_STREAM || (slot.goawayLast !== undefined && id > slot.goawayLast)) {
        counts.refused++; // never sent, refused by RST_STREAM, or above the GOAWAY's last stream id
      } else counts.dropped++;
      slot.streams.delete(stream);
      watch.notify();
      fill(slot);
    };
    stream.on('close', () => {
      // Body bytes still in the stream's buffer are delivered within the turn: look after it.
      if (complete() || !responded) classify();
      else setImmediate(classify);
    });
  };

  const fill = (slot: SessionSlot) => {
    while (usable(slot) && slot.streams.size < options.streamsPerSession) startStream(slot);
  };

  const open = (): void => {
    if (stopped) return;
    let socket: net.Socket | undefined;
    const session = http2.connect(authority, { createConnection: () => (socket = connect()) });
    if (socket === undefined) throw new Error('http2.connect() did not call createConnection() synchronously');
    const slot: SessionSlot = { session, socket, streams: new Set(), connected: false, retired: false, goawayLast: undefined };
    slots.add(slot);
    session.on('connect', () => {
      slot.connected = true;
      counts.sessionsOpened++;
      if (stopped) {
        session.destroy();
        slot.socket.destroy();
      } else fill(slot);
    });
    session.on('goaway', (errorCode: number, lastStreamID: number) => {
      counts.goaways++;
      slot.goawayLast = Math.min(slot.goawayLast ?? lastStreamID, lastStreamID);
      if (errorCode !== NGHTTP2_NO_ERROR) anomalies.add(`GOAWAY with error code ${errorCode}`);
      retire(slot); // Node closes the session to new streams; its streams may still finish
    });
    session.on('frameError', (type: number, code: number, id: number) => {
      anomalies.add(`frameError type ${type} code ${code} stream ${id}`);
    });
    session.on('error', (error: Error) => {
      const code = errorCode(error);
      if (!slot.connected && (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE')) counts.connectRefused++;
      else if (!STREAM_ERRORS.has(code)) anomalies.add(`session error ${code}`);
    });
    session.on('close', () => {
      slots.delete(slot);
      watch.notify();
      retire(slot);
    });
  };

  const snapshot = (): Http2LoadCounts => ({ ...counts, anomalies: anomalies.list() });

  for (let i = 0; i < options.sessions; i++) open();

  return {
    counts: snapshot,
    answeredAtLeast: (n, timeoutMs = DEFAULT_ANSWER_TIMEOUT_MS) => answeredAtLeast(watch, () => counts.answered, stopped, n, timeoutMs),
    stop(graceMs = DEFAULT_GRACE_MS) {
      stopping ??= (async () => {
        stopped = true;
        timers.clear();
        const close = (slot: SessionSlot) => {
          slot.session.destroy(); // streams still open count as dropped (or refused)
          slot.socket.destroy();
        };
        for (const slot of slots) if (slot.streams.size === 0) close(slot); // idle, draining after a GOAWAY, or connecting
        await watch.until(() => inFlight() === 0, graceMs);
        for (const slot of slots) close(slot);
        if (!(await watch.until(() => slots.size === 0, CLOSE_WAIT_MS))) {
          anomalies.add(`${slots.size} session(s) did not close within ${CLOSE_WAIT_MS} ms of being destroyed`);
        }
        watch.cancelAll();
        return snapshot();
      })();
      return stopping;
    },
  };
}
